/* test_llama_contention_real.c - contention on a real llama.cpp llama-server
 * (label `real`): two agents round robin, 20 requests each (38 at positions
 * >= 1), small prompts, `kvproof run` with a spec written here. Each test
 * starts its own server with scripts/real-engine/ and stops it by its PID.
 *
 * - `-np 1 --cache-ram 0`: the slot holds the other agent's prompt every
 *   time, so the hit rate's 95% Wilson interval (as the run's own results.json
 *   gives it) lies entirely below 10%;
 * - `-np 2`: each agent keeps a slot, the interval lies entirely above 90%;
 * - `-np 1 --cache-ram 256`: the prefixes come back from the host-RAM
 *   cache: classed "restored" (GET /slots shows the slot served the other
 *   agent last), never "miss".
 * For every request the journal's hit class is what the server's own
 * timings.cache_n / prompt_n (kept in the line's raw) give by the rule.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/util.h"
#include "experiments/journal.h"
#include "experiments/runner.h"
#include "jsonlcheck.h"
#include "realtest.h"
#include "tests/testutil.h"

#define PER_AGENT 20

typedef struct tally {
    size_t n[TRIAL_HIT_COUNT]; /* hit classes at positions >= 1 */
    size_t positions;          /* requests at positions >= 1 */
} tally;

/* The hit rate's interval of the run's only contention group, as kvproof's
 * statistics put it in DIR/results.json (contention.groups[0].hit_rate). */
static void results_hit_rate(const char *dir, double *lo, double *hi)
{
    char path[512], err[KV_ERRLEN] = "";
    snprintf(path, sizeof path, "%s/results.json", dir);
    char *text = NULL;
    size_t len = 0;
    if (kv_read_file(path, &text, &len, err) != KV_OK)
        fail_msg("%s", err);
    cJSON *root = cJSON_ParseWithLength(text, len);
    assert_non_null(root);
    const cJSON *groups = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(root, "contention"), "groups");
    assert_int_equal(cJSON_GetArraySize(groups), 1);
    const cJSON *ci = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(groups, 0), "hit_rate"), "ci");
    assert_int_equal(cJSON_GetArraySize(ci), 2);
    *lo = cJSON_GetArrayItem(ci, 0)->valuedouble;
    *hi = cJSON_GetArrayItem(ci, 1)->valuedouble;
    cJSON_Delete(root);
    free(text);
}

static void write_spec(const char *path, const char *url)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f,
            "{\"name\": \"real-contention\", \"seed\": 7,"
            " \"targets\": [{\"name\": \"llama\", \"base_url\": \"%s\", \"api\": \"llama.cpp\"}],"
            " \"workload\": {\"system_prompt_tokens\": [240], \"query_tokens\": [8],"
            " \"max_output_tokens\": 1},"
            " \"cache_modes\": [\"warm\"], \"repetitions\": 1, \"warmup_requests\": 0,"
            " \"contention\": {\"agents\": [2], \"pattern\": \"round_robin\","
            " \"requests_per_agent\": %d, \"concurrency\": 0}}\n",
            url, PER_AGENT);
    assert_int_equal(fclose(f), 0);
}

/* The server's own counts, from the line's raw timings; the template slack
 * the runner used (raw contention.template_tokens, else CACHECHECK_COLD_SLACK). */
static void server_counts(const trial_request *q, long *cache_n, long *prompt_n, long *slack)
{
    cJSON *raw = q->raw ? cJSON_Parse(q->raw) : NULL;
    double c = realtest_num(raw, "timings.cache_n"), p = realtest_num(raw, "timings.prompt_n");
    double s = realtest_num(raw, "contention.template_tokens");
    cJSON_Delete(raw);
    if (isnan(c) || isnan(p))
        fail_msg("no timings.cache_n / prompt_n in raw: %s", q->raw ? q->raw : "(null)");
    *cache_n = (long)c;
    *prompt_n = (long)p;
    *slack = isnan(s) ? CACHECHECK_COLD_SLACK : (long)s;
}

static void check_line(const trial_record *t, tally *ty)
{
    if (!t->ok)
        fail_msg("%s failed: %s", t->id, t->error);
    const trial_request *q = &t->turns[0];
    long cache_n, prompt_n, slack;
    server_counts(q, &cache_n, &prompt_n, &slack);
    assert_int_equal(q->cached_tokens, cache_n);
    assert_int_equal(q->prompt_tokens, cache_n + prompt_n);
    trial_hit want = trial_hit_classify(q->prefix_tokens, cache_n, slack, q->slot_held, NAN, NAN);
    print_message(
        "[real] %s agent %ld pos %ld: cache_n %ld prompt_n %ld prefix %ld slot %s -> %s\n", t->id,
        q->agent, q->agent_position, cache_n, prompt_n, q->prefix_tokens,
        trial_slot_held_name(q->slot_held), trial_hit_name(q->hit));
    assert_int_equal(q->hit, want);
    assert_int_not_equal(q->slot_held, TRIAL_SLOT_UNKNOWN); /* llama-server serves /slots */
    if (q->agent_position == 0)
        return;
    ty->positions++;
    ty->n[q->hit]++;
}

/* Starts llama-server with args, runs the spec, tallies the contention lines. */
static void run_contention(const char *args, tally *ty, double *lo, double *hi)
{
    realsrv srv;
    memset(ty, 0, sizeof *ty);
    if (realsrv_start(&srv, args) != 0)
        fail_msg("llama-server %s did not start", args);
    char spec_path[400], dir[400], cmd[1600];
    snprintf(spec_path, sizeof spec_path, "%s/contention.json", srv.dir);
    snprintf(dir, sizeof dir, "%s/run", srv.dir);
    write_spec(spec_path, srv.url);
    snprintf(cmd, sizeof cmd, "'%s' run '%s' --out '%s'", realtest_bin(), spec_path, dir);
    fprintf(stderr, "[real] %s\n", cmd);
    int rc = realtest_sh(cmd, NULL);
    journal_data *d = realtest_load_run(dir, rc);
    size_t lines = 0;
    for (size_t i = 0; i < d->n_trials; i++)
        if (d->trials[i].kind == PLAN_CONTENTION) {
            check_line(&d->trials[i], ty);
            lines++;
        }
    assert_int_equal(lines, 2 * PER_AGENT);
    assert_int_equal(ty->positions, 2 * PER_AGENT - 2);
    journal_data_free(d);
    results_hit_rate(dir, lo, hi);
    realsrv_stop(&srv);
    assert_true(rc == 0 || rc == 1); /* 1: outputs only; the journal is complete */
}

/* A server setup under which every position >= 1 gets one hit class: a miss
 * each time (the hit rate's interval lies below 10%) or a full hit each time
 * (above 90%). */
typedef struct one_class {
    const char *args; /* llama-server's arguments */
    trial_hit every;  /* TRIAL_HIT_MISS or TRIAL_HIT_FULL */
} one_class;

static void every_position_should_have_one_class(void **state)
{
    const one_class *c = *state;
    tally ty;
    double lo, hi;
    run_contention(c->args, &ty, &lo, &hi);
    size_t hits = ty.n[TRIAL_HIT_FULL] + ty.n[TRIAL_HIT_RESTORED];
    print_message("[real] %s: %zu of %zu hits, results.json 95%% Wilson [%.3f, %.3f]\n", c->args,
                  hits, ty.positions, lo, hi);
    if (c->every == TRIAL_HIT_MISS)
        assert_true(hi < 0.10);
    else
        assert_true(lo > 0.90);
    assert_int_equal(ty.n[c->every], ty.positions);
}

static void ram_cache_should_restore_and_never_miss(void **state)
{
    (void)state;
    tally ty;
    double lo, hi;
    run_contention("-np 1 --cache-ram 256", &ty, &lo, &hi);
    assert_true(lo > 0.90); /* restored prefixes count as hits */
    print_message("[real] -np 1 --cache-ram 256: %zu restored, %zu full, %zu partial, %zu miss of "
                  "%zu\n",
                  ty.n[TRIAL_HIT_RESTORED], ty.n[TRIAL_HIT_FULL], ty.n[TRIAL_HIT_PARTIAL],
                  ty.n[TRIAL_HIT_MISS], ty.positions);
    assert_int_equal(ty.n[TRIAL_HIT_MISS], 0);
    assert_int_equal(ty.n[TRIAL_HIT_RESTORED], ty.positions);
}

TU_MAIN(NULL, NULL,
        TU_CASE(one_slot_without_ram_cache_should_miss_at_every_position,
                every_position_should_have_one_class, one_class, "-np 1 --cache-ram 0",
                TRIAL_HIT_MISS),
        TU_CASE(two_slots_should_keep_both_agents_warm, every_position_should_have_one_class,
                one_class, "-np 2", TRIAL_HIT_FULL),
        cmocka_unit_test(ram_cache_should_restore_and_never_miss))
