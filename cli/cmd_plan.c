/* cmd_plan.c - 'kvproof plan': expands a spec into its trial plan and prints
 * its size and cost (text) or the whole plan (JSON).
 *
 * Divided into: the option table (cli/args.h; adding an option is one
 * table row and one config field) and its check step, the text summary,
 * and the command itself.
 */
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "experiments/contention.h"
#include "common/status.h"
#include "common/util.h"
#include "experiments/plan.h"
#include "experiments/journal.h"
#include "experiments/spec.h"
#include "stats/planning.h"

#include <cjson/cJSON.h>

typedef struct plan_opts {
    const char *spec_path;
    args_u64 seed;
    bool json;
    bool list;
    double prefill_tps; /* 0 = no estimate */
    const char *pilot;  /* pilot journal for repetition planning, or NULL */
    double target_rel_ci;
} plan_opts;

static kv_status plan_format(void *cfg, const char *arg, char *err)
{
    return args_pick(arg, "json", "text", &((plan_opts *)cfg)->json)
               ? KV_OK
               : kv_fail(err, KV_ERR_USAGE, "--format expects text or json, got '%s'", arg);
}

static const args_opt plan_options[] = {
    {"seed", 0, ARGS_U64, offsetof(plan_opts, seed), 0, 0, NULL},
    {"format", 0, ARGS_FN, 0, 0, 0, plan_format},
    {"assume-prefill-tps", 0, ARGS_POS, offsetof(plan_opts, prefill_tps), 0, 0, NULL},
    {"list", 0, ARGS_FLAG, offsetof(plan_opts, list), 0, 0, NULL},
    {"pilot", 0, ARGS_STR, offsetof(plan_opts, pilot), 0, 0, NULL},
    {"target-rel-ci", 0, ARGS_POS, offsetof(plan_opts, target_rel_ci), 0, 1, NULL},
    {NULL, 0, ARGS_FLAG, 0, 0, 0, NULL},
};

static void plan_usage(FILE *f)
{
    fprintf(f, "usage: kvproof plan SPEC.json [--seed N] [--format text|json]\n"
               "                    [--assume-prefill-tps N] [--list]\n"
               "\n"
               "Expands an experiment spec (docs/spec.md) into its trials: cells x\n"
               "repetitions plus warm-up trials, in the seeded order a run will use. Nothing\n"
               "is sent to any server.\n"
               "\n"
               "options:\n"
               "  --seed N                  draw the order with seed N instead of the spec's\n"
               "                            seed (0 .. 2^64-1); the same seed gives the same\n"
               "                            order on every machine\n"
               "  --format text|json        text (default): counts, prompt tokens and an\n"
               "                            estimate; json: the whole plan with every trial\n"
               "  --assume-prefill-tps N    estimate the duration assuming the server prefills\n"
               "                            N prompt tokens per second (decode not included)\n"
               "  --list                    text format: also list every trial in run order\n"
               "  --pilot JOURNAL           from a pilot run's journal: repetitions per cell for\n"
               "                            the median target, for the cold slope, the cheapest\n"
               "                            set of lengths for the slope, expected server time\n"
               "  --target-rel-ci E         target relative 95%% CI half-width (default 0.05)\n"
               "  -h, --help                show this help\n"
               "\n"
               "exit codes: 0 ok, 2 usage error, 3 invalid spec (one line per error on\n"
               "stderr, each 'file:line:column: $.json.path: message').\n");
}

static args_verdict plan_check(void *cfg, int npos, char **pos, char *err)
{
    plan_opts *o = cfg;
    if (!args_npos(npos, 1, "expected exactly one SPEC.json (see 'kvproof plan --help')", err))
        return ARGS_BAD;
    o->spec_path = pos[0];
    return ARGS_OK;
}

static void print_duration(double seconds);

/* --pilot: repetitions needed, from stats/planning.h. */
static int print_pilot(const spec *s, const plan_opts *o)
{
    char err[KV_ERRLEN] = "";
    journal_data *d = NULL;
    planning_result *r = NULL;
    double e = o->target_rel_ci > 0 ? o->target_rel_ci : 0.05;
    kv_status st = journal_load(o->pilot, &d, err);
    if (st == KV_OK)
        st = planning_compute(d, s, e, &r, err);
    if (st != KV_OK) {
        fprintf(stderr, "kvproof plan: %s\n", err);
        journal_data_free(d);
        return kv_exit_code(st);
    }
    printf("\npilot %s: target relative 95%% CI half-width %.3g\n", o->pilot, e);
    printf("%-8s %8s %8s %6s %6s %10s %10s %6s\n", "mode", "system", "query", "turns", "n",
           "median ms", "MAD ms", "reps");
    for (size_t i = 0; i < r->n_cells; i++) {
        const planning_cell *c = &r->cells[i];
        printf("%-8s %8ld %8ld %6ld %6zu %10.4g %10.4g %6ld\n",
               c->mode == SPEC_WARM ? "warm" : "cold", c->system_prompt_tokens, c->query_tokens,
               c->query_count, c->pilot_n, c->median_ms, c->mad_ms, c->repetitions);
    }
    printf("repetitions for every cell's median: %ld\n", r->reps_median);
    if (r->reps_slope > 0) {
        printf("cold slope %.4g ms/token (residual sd %.4g ms): %ld repetitions at the spec's "
               "lengths\n",
               r->slope_ms_per_token, r->residual_sd_ms, r->reps_slope);
        printf("cheapest lengths for the slope target:");
        for (size_t i = 0; i < r->n_best; i++)
            printf(" %ld", r->best_lengths[i]);
        printf(" with %ld repetitions each (about ", r->reps_best);
        print_duration(r->best_cost_s);
        printf(" of cold prefill)\n");
    }
    if (r->note[0])
        printf("note: %s\n", r->note);
    printf("recommended repetitions: %ld; expected server time of the full run: ", r->repetitions);
    print_duration(r->expected_server_s);
    printf("\n");
    planning_free(r);
    journal_data_free(d);
    return -1;
}

static void print_duration(double seconds)
{
    long long s = (long long)llround(seconds);
    if (s >= 3600)
        printf("%lldh %02lldm %02llds", s / 3600, s / 60 % 60, s % 60);
    else if (s >= 60)
        printf("%lldm %02llds", s / 60, s % 60);
    else
        printf("%.1f s", seconds);
}

/* The contention groups: agents, order, nominal tokens and time. */
static void print_contention_group(const spec *s, const contention_plan *cp, size_t g,
                                   const plan_opts *o)
{
    const contention_group *grp = &cp->groups[g];
    long long all = 0, fresh = 0;
    char order[64] = "";
    size_t used = 0;
    for (size_t i = 0; i < grp->n; i++) {
        const contention_req *q = &cp->reqs[grp->first + i];
        long long n = grp->system_prompt_tokens + grp->query_tokens;
        all += n;
        fresh += q->position == 0 ? n : grp->query_tokens;
        if (used + 6 < sizeof order) {
            int w = snprintf(order + used, sizeof order - used, "%s%ld", i ? " " : "", q->agent);
            used += w > 0 ? (size_t)w : 0;
        } else if (used + 4 < sizeof order) {
            used += (size_t)snprintf(order + used, sizeof order - used, " ...");
        }
    }
    printf("  %-16s %6ld %8ld %8zu %12lld %12lld", s->targets[grp->target].name, grp->agents,
           grp->system_prompt_tokens, grp->n, all, fresh);
    if (o->prefill_tps > 0)
        printf(" %9.1f s %9.1f s", (double)fresh / o->prefill_tps, (double)all / o->prefill_tps);
    printf("  %s\n", order);
}

static void print_contention(const spec *s, const plan *p, const plan_opts *o)
{
    const spec_contention *c = &s->contention;
    contention_plan *cp = NULL;
    char err[KV_ERRLEN] = "";
    if (!c->enabled)
        return;
    if (contention_build(s, p->seed, &cp, err) != KV_OK) {
        fprintf(stderr, "kvproof plan: %s\n", err);
        return;
    }
    printf("\ncontention: pattern %s", spec_contention_pattern_name(c->pattern));
    if (c->pattern == SPEC_PATTERN_MAIN_WITH_SUBAGENTS)
        printf(" (main share %.15g)", c->main_share);
    if (c->pattern == SPEC_PATTERN_TRACE)
        printf(" (%s, %zu requests)", c->trace, c->n_trace);
    else
        printf(", %ld requests per agent", c->requests_per_agent);
    printf(", concurrency %ld%s\n", c->concurrency,
           c->concurrency == 0 ? " (one request at a time, interleaved)" : " agents in flight");
    printf("requests:  %zu in %zu groups; prompt tokens to prefill: %lld if nothing is cached, "
           "%lld when every agent stays warm\n",
           cp->n_reqs, cp->n_groups, cp->prompt_tokens, cp->new_prompt_tokens);
    printf("  %-16s %6s %8s %8s %12s %12s%s  %s\n", "target", "agents", "system", "requests",
           "tokens cold", "tokens warm", o->prefill_tps > 0 ? "   time warm   time cold" : "",
           "agent order");
    for (size_t g = 0; g < cp->n_groups; g++)
        print_contention_group(s, cp, g, o);
    printf("all:       %lld requests (%lld of trials, %zu contention); prompt tokens to prefill: "
           "%lld if nothing is cached, %lld when warm prefixes hit and every agent stays warm\n",
           p->n_requests + (long long)cp->n_reqs, p->n_requests, cp->n_reqs,
           p->prompt_tokens + cp->prompt_tokens, p->new_prompt_tokens + cp->new_prompt_tokens);
    if (o->prefill_tps > 0) {
        printf("estimated prefill time at %.15g tokens/s, all: ", o->prefill_tps);
        print_duration((double)(p->new_prompt_tokens + cp->new_prompt_tokens) / o->prefill_tps);
        printf(" with the cache working, ");
        print_duration((double)(p->prompt_tokens + cp->prompt_tokens) / o->prefill_tps);
        printf(" without\n");
    }
    if (o->list) {
        printf("\n%6s %6s %6s %8s %16s\n", "group", "index", "agent", "position", "nonce");
        for (size_t i = 0; i < cp->n_reqs; i++) {
            const contention_req *q = &cp->reqs[i];
            printf("%6zu %6zu %6ld %8ld %016llx\n", q->group, q->index, q->agent, q->position,
                   (unsigned long long)q->nonce);
        }
    }
    contention_free(cp);
}

/* The plan as JSON (plan_to_json), with "contention" (its groups and
 * requests, contention_to_json) when the spec has the block. */
static kv_status print_json(const spec *s, const plan *p, char **out)
{
    kv_status st = plan_to_json(s, p, out);
    if (st != KV_OK || !s->contention.enabled)
        return st;
    contention_plan *cp = NULL;
    char err[KV_ERRLEN] = "";
    cJSON *root = cJSON_Parse(*out);
    free(*out);
    *out = NULL;
    st = root ? contention_build(s, p->seed, &cp, err) : KV_ERR_NOMEM;
    cJSON *c = st == KV_OK ? contention_to_json(s, cp) : NULL;
    bool added = c && cJSON_AddItemToObject(root, "contention", c);
    if (!added)
        cJSON_Delete(c);
    char *text = added ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    contention_free(cp);
    size_t n = text ? strlen(text) : 0;
    *out = text ? malloc(n + 2) : NULL;
    if (*out) {
        memcpy(*out, text, n);
        memcpy(*out + n, "\n", 2);
    }
    cJSON_free(text);
    return *out ? KV_OK : KV_ERR_NOMEM;
}

static void print_text(const spec *s, const plan *p, const plan_opts *o)
{
    size_t modes = (size_t)s->cold + (size_t)s->warm;
    long long priming = 0, warmup_requests = 0;
    for (size_t i = 0; i < p->n_trials; i++) {
        if (p->trials[i].kind == PLAN_WARMUP)
            warmup_requests += p->trials[i].requests;
        else if (p->trials[i].mode == SPEC_WARM)
            priming++;
    }
    printf("spec:      %s (%s, hash %016llx)\n", s->name, s->path, (unsigned long long)s->hash);
    printf("seed:      %llu (order %s)\n", (unsigned long long)p->seed,
           s->order == SPEC_ORDER_BLOCKED ? "blocked: cell order" : "random");
    printf("cells:     %zu (%zu target%s x %zu system prompt lengths x %zu query lengths x "
           "%zu session lengths x %zu cache modes%s)\n",
           p->n_cells, s->n_targets, s->n_targets == 1 ? "" : "s", s->n_system_prompt_tokens,
           s->n_query_tokens, s->n_query_counts, modes,
           s->n_session_system_prompt_tokens || s->n_session_query_tokens
               ? ", longer sessions only where $.sessions allows"
               : "");
    printf("trials:    %zu (%zu measured = %zu cells x %ld repetitions, %zu warm-up)\n",
           p->n_trials, p->n_measured, p->n_cells, s->repetitions, p->n_trials - p->n_measured);
    printf("requests:  %lld (%lld measured turns, %lld priming, %lld warm-up)\n", p->n_requests,
           p->n_requests - priming - warmup_requests, priming, warmup_requests);
    printf("prompt tokens to prefill: %lld if nothing is cached, %lld when warm prefixes hit\n",
           p->prompt_tokens, p->new_prompt_tokens);
    if (o->prefill_tps > 0) {
        printf("estimated prefill time at %.15g tokens/s: ", o->prefill_tps);
        print_duration((double)p->new_prompt_tokens / o->prefill_tps);
        printf(" with the cache working, ");
        print_duration((double)p->prompt_tokens / o->prefill_tps);
        printf(" without (decode and network not included)\n");
    }
    if (s->stop.enabled)
        printf("adaptive stop: target relative CI %.15g, at least %ld repetitions per cell "
               "(the counts above are the maximum)\n",
               s->stop.target_rel_ci, s->stop.min_repetitions);
    print_contention(s, p, o);
    if (!o->list)
        return;
    printf("\n%6s  %-44s %8s %6s %4s %8s\n", "index", "id", "kind", "cell", "reqs", "nonce");
    for (size_t i = 0; i < p->n_trials; i++) {
        const plan_trial *t = &p->trials[i];
        printf("%6zu  %-44s %8s %6zu %4ld %016llx\n", t->index, t->id,
               t->kind == PLAN_WARMUP ? "warmup" : "measure", t->cell, t->requests,
               (unsigned long long)t->nonce);
    }
}

static int plan_exec(void *cfg)
{
    const plan_opts o = *(const plan_opts *)cfg;
    int rc = KV_EXIT_OK;
    char err[KV_ERRLEN] = "";
    spec *s = NULL;
    plan *p = NULL;
    char *json = NULL;
    kv_buf all = {0};
    kv_status st = spec_load_all(o.spec_path, &s, err, &all);
    if (st != KV_OK) {
        if (all.len)
            fputs(all.data, stderr);
        else
            fprintf(stderr, "kvproof plan: %s\n", err);
        rc = kv_exit_code(st);
        goto out;
    }
    st = plan_build(s, o.seed.set ? o.seed.v : s->seed, &p, err);
    if (st != KV_OK) {
        fprintf(stderr, "kvproof plan: %s\n", err);
        rc = kv_exit_code(st);
        goto out;
    }
    if (o.json) {
        st = print_json(s, p, &json);
        if (st != KV_OK) {
            fprintf(stderr, "kvproof plan: %s\n", kv_strerror(st));
            rc = kv_exit_code(st);
            goto out;
        }
        fputs(json, stdout);
    } else {
        print_text(s, p, &o);
        if (o.pilot) {
            rc = print_pilot(s, &o);
            if (rc >= 0)
                goto out;
        }
    }
    rc = fflush(stdout) == 0 ? KV_EXIT_OK : KV_EXIT_FAILURE;
out:
    free(json);
    kv_buf_free(&all);
    plan_free(p);
    spec_free(s);
    return rc;
}

const args_cmd cmd_plan = ARGS_CMD(plan, plan_opts, plan_options,
                                   .unknown = "unknown option '%s' (see 'kvproof plan --help')",
                                   .novalue = "option '%s' needs a value", .help_in_order = true);
