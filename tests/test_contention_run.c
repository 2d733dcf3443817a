/* test_contention_run.c - kvproof run executes a spec's contention plan
 * against the reference server, in this process on an ephemeral port: with
 * S slots each holding one prompt (S = 1, 2, 4) and K = 1 .. S+1 agents
 * round robin, every request at position >= 1 is a full hit for K <= S and a
 * miss for K = S+1; with the host-RAM tier on, prefixes that came back are
 * "restored", never "miss". Asserted from the journal's hit classes and the
 * server's own counts (every reported cached count equals the server's
 * truth), never from timing. Also: resume continues a partly journaled group
 * and marks each agent's first request after it; with concurrency 2 each
 * agent's requests keep their order; the plan's JSON lists every request.
 * The statistics' warm capacity from those journals equals S (S = 1, 2, 4)
 * with both Wilson bounds S. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/client.h"
#include "experiments/contention.h"
#include "experiments/journal.h"
#include "experiments/runner.h"
#include "experiments/spec.h"
#include "stats/warm.h"
#include "runnertest.h"
#include "server/refsrv.h"
#include "tests/testutil.h"

/* The real client; every reply's counts compared with the server's truth. */
typedef struct truth_io {
    runnertest_truth base; /* first: runnertest_truth_send uses it */
    long mismatches, restored, slots_calls;
} truth_io;

static void truth_check(runnertest_truth *base, const client_request *rq, const trial_request *out,
                        const refsrv_truth *tr)
{
    truth_io *t = (truth_io *)base;
    (void)rq;
    if (out->cached_tokens != tr->cached_tokens || out->prompt_tokens != tr->prompt_tokens)
        t->mismatches++;
    t->restored += tr->restored_tokens > 0;
}

static kv_status truth_slots(void *ctx, const spec_target *tg, char **body, char *err)
{
    truth_io *t = ctx;
    int status = 0;
    t->slots_calls++;
    kv_status st = client_call(t->base.c, tg, "/slots", NULL, 10.0, &status, body, err);
    if (st == KV_OK && status != 200) {
        free(*body);
        *body = NULL;
        return KV_ERR_UNSUPPORTED;
    }
    return st;
}

/* A worker's own context: its own client, the same server. */
static kv_status truth_worker_new(void *ctx, void **out, char *err)
{
    truth_io *w = calloc(1, sizeof *w);
    if (!w)
        return KV_ERR_NOMEM;
    w->base.srv = ((truth_io *)ctx)->base.srv;
    w->base.check = truth_check;
    kv_status st = client_new(&w->base.c, err);
    if (st != KV_OK) {
        free(w);
        return st;
    }
    *out = w;
    return KV_OK;
}

static void truth_worker_free(void *ctx)
{
    truth_io *w = ctx;
    client_free(w->base.c);
    free(w);
}

typedef struct rig {
    truth_io t;
    spec *s;
    char dir[64];
    runner_summary sum; /* of the last rig_journal */
    journal_data *d;    /* the journal rig_journal loaded (rig_stop frees it) */
} rig;

static void rig_start(rig *g, int slots, long ram_tokens, const char *agents, long conc,
                      long per_agent)
{
    memset(g, 0, sizeof *g);
    refsrv_config cfg;
    refsrv_config_default(&cfg);
    cfg.port = 0;
    cfg.dialect = REFSRV_LLAMACPP;
    assert_true(costmodel_preset("flat", &cfg.cost));
    cfg.cost.cv = 0;
    cfg.cost.time_scale = 0.002;
    cfg.reply_tokens = 4;
    cfg.slots = slots;
    assert_true(refsrv_cache_preset(ram_tokens > 0 ? "llama.cpp-ram" : "llama.cpp", &cfg));
    cfg.ram_cache_tokens = ram_tokens;
    char err[KV_ERRLEN] = "";
    assert_int_equal(refsrv_start(&cfg, &g->t.base.srv, err), KV_OK);
    g->t.base.check = truth_check;
    assert_int_equal(client_new(&g->t.base.c, err), KV_OK);
    char text[1024];
    snprintf(text, sizeof text,
             "{\"name\": \"contention\", \"seed\": 9,"
             " \"targets\": [{\"name\": \"ref\", \"base_url\": \"http://127.0.0.1:%d\","
             " \"api\": \"llama.cpp\"}],"
             " \"workload\": {\"system_prompt_tokens\": [300], \"query_tokens\": [9],"
             " \"max_output_tokens\": 2},"
             " \"cache_modes\": [\"warm\"], \"repetitions\": 1, \"warmup_requests\": 0,"
             " \"contention\": {\"agents\": %s, \"requests_per_agent\": %ld,"
             " \"concurrency\": %ld}}",
             refsrv_port(g->t.base.srv), agents, per_agent, conc);
    if (spec_parse(text, strlen(text), "contention.json", &g->s, err) != KV_OK)
        fail_msg("%s", err);
    runnertest_tmpdir(g->dir, sizeof g->dir, "crun");
}

static void rig_run(rig *g, bool resume, runner_summary *sum)
{
    runner_io io = {&g->t,       runnertest_truth_send, tu_io_tokenize,
                    tu_io_reset, truth_worker_new,      truth_worker_free,
                    NULL};
    runner_options o;
    memset(&o, 0, sizeof o);
    o.out_dir = g->dir;
    o.io = &io;
    o.slots = truth_slots;
    o.simulated = true;
    o.resume = resume;
    char err[KV_ERRLEN] = "";
    runner_clear_stop();
    if (runner_run(g->s, &o, sum, err) != KV_OK)
        fail_msg("run: %s", err);
}

static void rig_stop(rig *g)
{
    journal_data_free(g->d);
    client_free(g->t.base.c);
    refsrv_stop(g->t.base.srv);
    spec_free(g->s);
    runnertest_rmrf(g->dir);
}

/* Starts the rig (rig_start) and runs it from the start with no trial
 * failing; the journal it wrote (g->d, its summary in g->sum). */
static journal_data *rig_journal(rig *g, int slots, long ram_tokens, const char *agents, long conc,
                                 long per_agent)
{
    rig_start(g, slots, ram_tokens, agents, conc, per_agent);
    rig_run(g, false, &g->sum);
    assert_int_equal(g->sum.failed, 0);
    g->d = runnertest_load(g->dir);
    return g->d;
}

/* The request of a contention line; NULL for any other line. */
static const trial_request *contention_request(const trial_record *t)
{
    return t->kind == PLAN_CONTENTION ? &t->turns[0] : NULL;
}

/* The agents list [1, 2, .., max] into buf. */
static void agents_upto(char *buf, size_t n, int max)
{
    snprintf(buf, n, "[");
    for (int k = 1; k <= max; k++)
        snprintf(buf + strlen(buf), n - strlen(buf), "%s%d", k > 1 ? ", " : "", k);
    snprintf(buf + strlen(buf), n - strlen(buf), "]");
}

/* The contention group of a journal line. */
static long line_agents(const trial_record *t)
{
    const char *k = strstr(t->id, "/k");
    return k ? strtol(k + 2, NULL, 10) : -1;
}

static void warm_capacity_should_equal_the_slots(int slots)
{
    rig g;
    char agents[64];
    agents_upto(agents, sizeof agents, slots + 1);
    journal_data *d = rig_journal(&g, slots, 0, agents, 0, 4);
    assert_int_equal(g.t.mismatches, 0);
    size_t lines = 0, checked = 0;
    for (size_t i = 0; i < d->n_trials; i++) {
        const trial_record *t = &d->trials[i];
        const trial_request *q = contention_request(t);
        if (!q)
            continue;
        lines++;
        assert_int_equal(t->n_turns, 1);
        assert_true(q->in_contention);
        assert_true(q->cached_tokens >= 0);
        assert_true(q->slot_held != TRIAL_SLOT_UNKNOWN);
        if (q->agent_position == 0) {
            assert_int_equal(q->hit, TRIAL_HIT_MISS);
            continue;
        }
        checked++;
        long k = line_agents(t);
        if (k <= slots) {
            if (q->hit != TRIAL_HIT_FULL || q->slot_held != TRIAL_SLOT_OWN)
                fail_msg("S=%d K=%ld %s: hit %s, slot %s, cached %ld of %ld", slots, k, t->id,
                         trial_hit_name(q->hit), trial_slot_held_name(q->slot_held),
                         q->cached_tokens, q->prefix_tokens);
        } else if (q->hit != TRIAL_HIT_MISS || q->slot_held != TRIAL_SLOT_OTHER) {
            fail_msg("S=%d K=%ld %s: hit %s, slot %s, cached %ld", slots, k, t->id,
                     trial_hit_name(q->hit), trial_slot_held_name(q->slot_held), q->cached_tokens);
        }
    }
    size_t expected = 0;
    for (int k = 1; k <= slots + 1; k++)
        expected += (size_t)k * 4;
    assert_int_equal(lines, expected);
    assert_int_equal(checked, expected - (size_t)((slots + 1) * (slots + 2) / 2));
    assert_int_equal(d->header.planned_trials, g.sum.planned);
    rig_stop(&g);
}

static void contention_should_keep_s_agents_warm_on_s_slots_and_none_of_s_plus_1(void **state)
{
    (void)state;
    warm_capacity_should_equal_the_slots(1);
    warm_capacity_should_equal_the_slots(2);
    warm_capacity_should_equal_the_slots(4);
}

/* The warm capacity the statistics measure from S = 1, 2, 4 slots' journals
 * (K = 1 .. S+1 agents round robin, 36 requests per agent, so that a K that
 * stays warm has 35 scored requests per agent and a Wilson lower bound above
 * 0.9) equals S, with both bounds S, and the hit rate falls below 50% at
 * S+1. */
static void measured_capacity_should_equal_the_slots(int slots)
{
    rig g;
    char agents[64];
    agents_upto(agents, sizeof agents, slots + 1);
    journal_data *d = rig_journal(&g, slots, 0, agents, 0, 36);
    warm_req *r = NULL;
    size_t n = 0;
    char err[KV_ERRLEN] = "";
    if (warm_from_journal(d, &r, &n, err) != KV_OK)
        fail_msg("%s", err);
    warm_result res;
    if (warm_compute(r, n, 0.95, &res, err) != KV_OK)
        fail_msg("%s", err);
    const warm_capacity *cap = warm_capacity_find(&res, 0, 300);
    assert_non_null(cap);
    if (cap->capacity != slots || cap->low != slots || cap->high != slots || cap->high_open ||
        cap->cold_from != slots + 1)
        fail_msg("S=%d: capacity %ld [%ld, %ld]%s, cold from %ld", slots, cap->capacity, cap->low,
                 cap->high, cap->high_open ? " open" : "", cap->cold_from);
    warm_result_free(&res);
    free(r);
    rig_stop(&g);
}

static void warm_capacity_should_equal_the_configured_slots_inside_its_bounds(void **state)
{
    (void)state;
    measured_capacity_should_equal_the_slots(1);
    measured_capacity_should_equal_the_slots(2);
    measured_capacity_should_equal_the_slots(4);
}

static void contention_should_class_prefixes_from_the_ram_tier_as_restored(void **state)
{
    (void)state;
    rig g;
    journal_data *d = rig_journal(&g, 1, 262144, "[2, 3]", 0, 4);
    assert_int_equal(g.t.mismatches, 0);
    long restored = 0;
    for (size_t i = 0; i < d->n_trials; i++) {
        const trial_request *q = contention_request(&d->trials[i]);
        if (!q || q->agent_position == 0)
            continue;
        assert_int_not_equal(q->hit, TRIAL_HIT_MISS);
        assert_int_equal(q->hit, TRIAL_HIT_RESTORED);
        assert_int_equal(q->slot_held, TRIAL_SLOT_OTHER);
        restored++;
    }
    assert_int_equal(restored, 2 * 3 + 3 * 3);
    assert_int_equal(g.t.restored, restored); /* the server restored exactly those */
    rig_stop(&g);
}

/* Keeps the header and the first n trial lines of DIR/journal.jsonl. */
static void journal_keep(const char *dir, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/journal.jsonl", dir);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    kv_buf b = {0};
    char line[1 << 16];
    size_t kept = 0;
    while (kept < n + 1 && fgets(line, sizeof line, f)) {
        assert_int_equal(kv_buf_append(&b, line, strlen(line)), KV_OK);
        kept++;
    }
    fclose(f);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b.data, 1, b.len, f), b.len);
    fclose(f);
    kv_buf_free(&b);
}

static void resume_should_continue_a_group_and_mark_each_agents_first_request(void **state)
{
    (void)state;
    rig g;
    rig_start(&g, 2, 0, "[2]", 0, 4);
    runner_summary sum;
    rig_run(&g, false, &sum);
    assert_int_equal(sum.planned, 1 + 8);
    journal_keep(g.dir, 1 + 5); /* the trial, then i0 .. i4 */
    rig_run(&g, true, &sum);
    assert_int_equal(sum.done_before, 6);
    assert_int_equal(sum.ran, 3);
    journal_data *d = runnertest_load(g.dir);
    assert_int_equal(d->n_trials, 9);
    bool seen[9] = {false};
    for (size_t i = 0; i < d->n_trials; i++) {
        const trial_record *t = &d->trials[i];
        assert_false(seen[t->plan_index]);
        seen[t->plan_index] = true;
        assert_int_equal(t->run_position, i);
        const trial_request *q = contention_request(t);
        if (!q)
            continue;
        bool first_after = strcmp(t->id, "ref/contention/k2/s300/i5") == 0 ||
                           strcmp(t->id, "ref/contention/k2/s300/i6") == 0;
        if (q->after_resume != first_after)
            fail_msg("%s: after_resume %d", t->id, q->after_resume);
        if (first_after)
            assert_int_equal(q->slot_held, TRIAL_SLOT_UNKNOWN);
        else if (q->agent_position > 0)
            assert_int_equal(q->hit, TRIAL_HIT_FULL);
    }
    journal_data_free(d);
    rig_stop(&g);
}

static void concurrency_should_keep_each_agents_order(void **state)
{
    (void)state;
    rig g;
    journal_data *d = rig_journal(&g, 2, 0, "[2, 3]", 2, 4);
    assert_int_equal(g.sum.ran, 1 + 8 + 12);
    assert_int_equal(g.t.slots_calls, 0);
    long next[2][3] = {{0}};
    for (size_t i = 0; i < d->n_trials; i++) {
        const trial_record *t = &d->trials[i];
        const trial_request *q = contention_request(t);
        if (!q)
            continue;
        int grp = line_agents(t) == 2 ? 0 : 1;
        assert_true(q->ok);
        assert_int_equal(q->slot_held, TRIAL_SLOT_UNKNOWN);
        assert_int_equal(q->agent_position, next[grp][q->agent]++); /* journal order */
    }
    rig_stop(&g);
}

static void plan_json_should_list_every_contention_request_with_its_journal_id(void **state)
{
    (void)state;
    rig g;
    rig_start(&g, 1, 0, "[1, 3]", 0, 4);
    contention_plan *cp = NULL;
    char err[KV_ERRLEN] = "";
    assert_int_equal(contention_build(g.s, g.s->seed, &cp, err), KV_OK);
    cJSON *j = contention_to_json(g.s, cp);
    assert_non_null(j);
    const cJSON *reqs = cJSON_GetObjectItemCaseSensitive(j, "requests");
    assert_int_equal(cJSON_GetArraySize(reqs), 16);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "groups")), 2);
    const cJSON *last = cJSON_GetArrayItem(reqs, 15);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(last, "id")->valuestring,
                        "ref/contention/k3/s300/i11");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(last, "agent")->valueint, 2);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(last, "position")->valueint, 3);
    cJSON_Delete(j);
    contention_free(cp);
    rig_stop(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(contention_should_keep_s_agents_warm_on_s_slots_and_none_of_s_plus_1),
        cmocka_unit_test(warm_capacity_should_equal_the_configured_slots_inside_its_bounds),
        cmocka_unit_test(contention_should_class_prefixes_from_the_ram_tier_as_restored),
        cmocka_unit_test(resume_should_continue_a_group_and_mark_each_agents_first_request),
        cmocka_unit_test(concurrency_should_keep_each_agents_order),
        cmocka_unit_test(plan_json_should_list_every_contention_request_with_its_journal_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
