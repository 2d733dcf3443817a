/* cmd_demo.c - 'kvproof demo': the built-in experiment
 * (data/experiments/kv-cache-hypothesis.json) against the reference server
 * started in process on an ephemeral port, with a time scale that makes the
 * run take about a minute. Everything it writes says SIMULATED TARGET. An
 * earlier demo directory is moved aside (DIR.1, DIR.2, ...), never deleted. */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/run_common.h"
#include "common/status.h"
#include "experiments/plan.h"
#include "experiments/runner.h"
#include "experiments/spec.h"
#include "server/costmodel.h"
#include "server/refsrv.h"

#define DEMO_SPEC "data/experiments/kv-cache-hypothesis.json"
#define DEMO_DIR "kvproof-demo"
/* Seconds of simulated server time the demo aims for. */
#define DEMO_TARGET_S 35.0

static void demo_usage(FILE *f)
{
    fprintf(f, "usage: kvproof demo [--out DIR] [--time-scale F] [--dialect llama.cpp|openai]\n"
               "                    [--keep-going] [--quiet]\n\n"
               "Starts kvproof's reference server (a SIMULATED target whose true costs are\n"
               "known) on 127.0.0.1, runs the built-in experiment\n"
               "(" DEMO_SPEC ") against it and writes the journal,\n"
               "results.json and report.pdf to DIR (default " DEMO_DIR "). An existing DIR is\n"
               "moved aside to DIR.1, DIR.2, ... first.\n\n"
               "options:\n"
               "  --out DIR         output directory (default " DEMO_DIR ")\n"
               "  --time-scale F    multiply every simulated duration by F (default: chosen so\n"
               "                    the run takes about a minute)\n"
               "  --dialect D       the server's wire format: llama.cpp (default) or openai\n"
               "  --keep-going      run every trial even after one fails (default: stop, since\n"
               "                    a failure against the built-in server means a bug)\n"
               "  --quiet           no progress on stderr\n");
}

static bool file_exists(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0;
}

static bool find_spec(char *out, size_t n)
{
    if (file_exists(DEMO_SPEC)) {
        snprintf(out, n, "%s", DEMO_SPEC);
        return true;
    }
    const char *roots[2] = {getenv("KVPROOF_SOURCE_DIR"), KVPROOF_SOURCE_DIR};
    for (int i = 0; i < 2; i++) {
        if (!roots[i] || !*roots[i])
            continue;
        snprintf(out, n, "%s/%s", roots[i], DEMO_SPEC);
        if (file_exists(out))
            return true;
    }
    return false;
}

/* Moves an existing output directory to DIR.1, DIR.2, ... */
static kv_status move_aside(const char *dir, char *moved, size_t n, char *err)
{
    moved[0] = '\0';
    if (!file_exists(dir))
        return KV_OK;
    for (int k = 1; k < 10000; k++) {
        snprintf(moved, n, "%s.%d", dir, k);
        if (file_exists(moved))
            continue;
        if (rename(dir, moved) != 0)
            return kv_fail(err, KV_ERR_IO, "cannot move the earlier %s to %s: %s", dir, moved,
                           strerror(errno));
        return KV_OK;
    }
    return kv_fail(err, KV_ERR_IO, "%s.1 ... %s.9999 all exist; remove old demo runs", dir, dir);
}

/* Nominal server time of the whole plan in ms at time scale 1. */
static double plan_cost_ms(const spec *s, const plan *p, const costmodel_params *cp)
{
    double ms = 0;
    for (size_t i = 0; i < p->n_trials; i++) {
        const plan_trial *t = &p->trials[i];
        long long all = 0, fresh = 0;
        plan_trial_tokens(s, t, &all, &fresh);
        long req = t->requests > 0 ? t->requests : 1;
        double per_all = (double)all / (double)req;
        bool warm = t->kind == PLAN_MEASURE && t->mode == SPEC_WARM;
        if (warm) {
            double per_fresh = (double)fresh / (double)req;
            ms += costmodel_prefill_ms(cp, (double)(t->system_prompt_tokens + t->query_tokens), 0);
            ms += (double)(req - 1) *
                  costmodel_prefill_ms(cp, per_fresh, (double)t->system_prompt_tokens);
        } else {
            ms += (double)req * costmodel_prefill_ms(cp, per_all, 0);
        }
        ms += (double)req * (double)s->max_output_tokens * costmodel_decode_ms(cp, per_all);
    }
    return ms;
}

typedef struct demo_config {
    const char *out;
    double scale; /* NaN: chosen from the plan's nominal cost */
    refsrv_dialect dialect;
    spec_api api;
    bool keep_going, quiet;
} demo_config;

static kv_status demo_dialect(void *cfg, const char *arg, char *err)
{
    demo_config *c = cfg;
    if (strcmp(arg, "llama.cpp") == 0 || strcmp(arg, "llamacpp") == 0) {
        c->dialect = REFSRV_LLAMACPP;
        c->api = SPEC_API_LLAMACPP;
    } else if (strcmp(arg, "openai") == 0) {
        c->dialect = REFSRV_OPENAI;
        c->api = SPEC_API_OPENAI_CHAT;
    } else {
        return kv_fail(err, KV_ERR_USAGE, "--dialect %s: expected llama.cpp or openai", arg);
    }
    return KV_OK;
}

static const args_opt demo_opts[] = {
    {"out", 'o', ARGS_STR, offsetof(demo_config, out), 0, 0, NULL},
    {"time-scale", 't', ARGS_POS, offsetof(demo_config, scale), 0, 0, NULL},
    {"dialect", 'd', ARGS_FN, 0, 0, 0, demo_dialect},
    {"keep-going", 'k', ARGS_FLAG, offsetof(demo_config, keep_going), 0, 0, NULL},
    {"quiet", 'q', ARGS_FLAG, offsetof(demo_config, quiet), 0, 0, NULL},
    {NULL, 0, ARGS_FLAG, 0, 0, 0, NULL},
};

static void demo_defaults(void *cfg)
{
    demo_config *c = cfg;
    c->out = DEMO_DIR;
    c->scale = NAN;
    c->dialect = REFSRV_LLAMACPP;
    c->api = SPEC_API_LLAMACPP;
}

static args_verdict demo_check(void *cfg, int npos, char **pos, char *err)
{
    (void)cfg;
    if (npos > 0) {
        snprintf(err, KV_ERRLEN, "unexpected argument '%s' (see --help)", pos[0]);
        return ARGS_BAD;
    }
    return ARGS_OK;
}

/* The built-in spec, loaded; NULL after a message with *code set. */
static spec *demo_load_spec(int *code)
{
    char err[KV_ERRLEN] = "";
    char spec_path[4096];
    spec *s = NULL;
    if (!find_spec(spec_path, sizeof spec_path)) {
        fprintf(stderr,
                "kvproof demo: cannot find %s (run from the source tree or set "
                "KVPROOF_SOURCE_DIR)\n",
                DEMO_SPEC);
        *code = KV_EXIT_INPUT;
        return NULL;
    }
    kv_status st = spec_load(spec_path, &s, err);
    if (st != KV_OK) {
        fprintf(stderr, "kvproof demo: %s\n", err);
        *code = kv_exit_code(st);
        return NULL;
    }
    return s;
}

/* The reference server's configuration: realistic noise (stalls, a slow
 * first request, drift - the report shows how they are found and handled)
 * and a time scale that makes the run take about a minute. */
static int demo_server_config(const demo_config *c, const spec *s, refsrv_config *cfg)
{
    char err[KV_ERRLEN] = "";
    refsrv_config_default(cfg);
    cfg->host = "127.0.0.1";
    cfg->port = 0;
    cfg->dialect = c->dialect;
    cfg->seed = s->seed;
    if (!costmodel_preset("laptop", &cfg->cost) ||
        !costmodel_noise_preset("realistic", &cfg->cost)) {
        fprintf(stderr, "kvproof demo: the cost model has no 'laptop' preset\n");
        return KV_EXIT_FAILURE;
    }
    double scale = c->scale;
    if (!isfinite(scale)) {
        plan *p = NULL;
        kv_status st = plan_build(s, s->seed, &p, err);
        if (st != KV_OK) {
            fprintf(stderr, "kvproof demo: %s\n", err);
            return kv_exit_code(st);
        }
        cfg->cost.time_scale = 1.0;
        double ms = plan_cost_ms(s, p, &cfg->cost);
        scale = ms > 0 ? DEMO_TARGET_S * 1000.0 / ms : 1.0;
        scale = scale > 1.0 ? 1.0 : scale < 1e-4 ? 1e-4 : scale;
        if (!c->quiet)
            fprintf(stderr,
                    "kvproof demo: %zu trials, %.0f s of nominal server time; time scale %.4g\n",
                    p->n_trials, ms / 1000.0, scale);
        plan_free(p);
    }
    cfg->cost.time_scale = scale;
    return -1;
}

/* Moves the earlier DIR aside, starts the server, points the targets at it. */
static int demo_start(const demo_config *c, refsrv_config *cfg, spec *s, refsrv **srv)
{
    char err[KV_ERRLEN] = "", moved[4096];
    kv_status st = move_aside(c->out, moved, sizeof moved, err);
    if (st != KV_OK) {
        fprintf(stderr, "kvproof demo: %s\n", err);
        return kv_exit_code(st);
    }
    if (moved[0] && !c->quiet)
        fprintf(stderr, "kvproof demo: moved the earlier %s to %s\n", c->out, moved);
    st = refsrv_start(cfg, srv, err);
    if (st != KV_OK) {
        fprintf(stderr, "kvproof demo: cannot start the reference server: %s\n", err);
        return kv_exit_code(st);
    }
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", refsrv_port(*srv));
    for (size_t i = 0; i < s->n_targets; i++) {
        char *u = strdup(url);
        if (!u) {
            fprintf(stderr, "kvproof demo: out of memory\n");
            return KV_EXIT_FAILURE;
        }
        free(s->targets[i].base_url);
        s->targets[i].base_url = u;
        s->targets[i].api = c->api;
    }
    if (!c->quiet)
        fprintf(stderr, "kvproof demo: SIMULATED TARGET: reference server (%s dialect) at %s\n",
                refsrv_dialect_name(c->dialect), url);
    return -1;
}

static int demo_exec(void *cfg)
{
    const demo_config *c = cfg;
    int code = KV_EXIT_FAILURE;
    refsrv *srv = NULL;
    spec *s = demo_load_spec(&code);
    if (!s)
        return code;
    refsrv_config rc;
    code = demo_server_config(c, s, &rc);
    if (code < 0)
        code = demo_start(c, &rc, s, &srv);
    if (code < 0) {
        runner_options ro;
        memset(&ro, 0, sizeof ro);
        ro.out_dir = c->out;
        ro.simulated = true;
        ro.stop_on_failure = !c->keep_going;
        ro.backoff_base_s = 0.05;
        ro.backoff_cap_s = 0.5;
        runner_summary sum;
        cli_outputs outs;
        char err[KV_ERRLEN] = "";
        kv_status st = run_common_with_progress(s, &ro, c->quiet, &sum, &outs, err);
        code = run_common_report(stdout, stderr, "demo", NULL, st, &sum, &outs, err, true);
    }
    refsrv_stop(srv);
    spec_free(s);
    return code;
}

const args_cmd cmd_demo =
    ARGS_CMD(demo, demo_config, demo_opts, .defaults = demo_defaults, .unknown = ARGS_SEE_HELP);
