/* test_runner_server.c - the runner against the reference server, in this
 * process on an ephemeral port: for every dialect a small spec completes and
 * every reported prompt and cached token count equals the server's ground
 * truth (with sessions, so replies are replayed); for every fault kind the
 * run finishes, each failed trial carries its reason and retries are bounded. */
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
#include "experiments/journal.h"
#include "experiments/plan.h"
#include "experiments/runner.h"
#include "experiments/spec.h"
#include "runnertest.h"
#include "server/refsrv.h"
#include "tests/testutil.h"

/* The real client, with each reply compared against the server's truth. */
typedef struct truth_io {
    runnertest_truth base; /* first: runnertest_truth_send uses it */
    long mismatches, cached_reported;
    char first[256];
} truth_io;

static void truth_check(runnertest_truth *base, const client_request *rq, const trial_request *out,
                        const refsrv_truth *tr)
{
    truth_io *t = (truth_io *)base;
    bool bad = out->prompt_tokens != tr->prompt_tokens;
    if (out->cached_tokens >= 0) {
        t->cached_reported++;
        bad = bad || out->cached_tokens != tr->cached_tokens;
    }
    if (bad && t->mismatches++ == 0)
        snprintf(t->first, sizeof t->first,
                 "prompt %ld (truth %ld), cached %ld (truth %ld), %zu messages", out->prompt_tokens,
                 tr->prompt_tokens, out->cached_tokens, tr->cached_tokens, rq->n_messages);
}

static const char *api_for(refsrv_dialect d)
{
    switch (d) {
    case REFSRV_LLAMACPP:
        return "llama.cpp";
    case REFSRV_OLLAMA:
        return "ollama";
    case REFSRV_LMSTUDIO:
        return "lmstudio";
    case REFSRV_ANTHROPIC:
        return "anthropic";
    default:
        return "openai-chat";
    }
}

static spec *small_spec(int port, const char *api, const char *extra)
{
    char text[2048];
    snprintf(text, sizeof text,
             "{\"name\": \"dialects\", \"seed\": 5,"
             " \"targets\": [{\"name\": \"ref\", \"base_url\": \"http://127.0.0.1:%d\","
             " \"api\": \"%s\", \"model\": \"kvproof-reference\"}],"
             " \"workload\": {\"system_prompt_tokens\": [0, 200], \"query_tokens\": [7],"
             " \"max_output_tokens\": 3},"
             " \"sessions\": {\"query_counts\": [1, 3], \"system_prompt_tokens\": [200]},"
             " \"cache_modes\": [\"cold\", \"warm\"], \"repetitions\": 2,"
             " \"warmup_requests\": 1%s}",
             port, api, extra);
    return tu_spec(text, "dialects.json");
}

static void runner_should_record_the_ground_truth_token_counts_in_every_dialect(void **state)
{
    (void)state;
    for (int d = 0; d < REFSRV_DIALECT_COUNT; d++) {
        refsrv_config cfg;
        tu_refsrv_config(&cfg, 0.001);
        cfg.dialect = (refsrv_dialect)d;
        char err[KV_ERRLEN] = "";
        truth_io t = {.base = {.srv = tu_refsrv_start(&cfg), .check = truth_check}};
        assert_int_equal(client_new(&t.base.c, err), KV_OK);
        spec *s = small_spec(refsrv_port(t.base.srv), api_for((refsrv_dialect)d), "");
        char dir[64];
        runnertest_tmpdir(dir, sizeof dir, "rsrv");
        runner_io io = {&t, runnertest_truth_send, tu_io_tokenize, tu_io_reset, NULL, NULL, NULL};
        runner_options o = {.out_dir = dir, .io = &io, .simulated = true};
        runner_summary sum;
        runner_clear_stop();
        kv_status st = runner_run(s, &o, &sum, err);
        if (st != KV_OK)
            fail_msg("%s: %s", refsrv_dialect_name((refsrv_dialect)d), err);
        if (sum.failed != 0 || t.mismatches != 0)
            fail_msg("%s: %zu failed, %ld of %ld replies differ from the truth (first: %s)",
                     refsrv_dialect_name((refsrv_dialect)d), sum.failed, t.mismatches, t.base.sends,
                     t.first);
        assert_int_equal(sum.ran, sum.planned);
        journal_data *jd = runnertest_load(dir);
        assert_int_equal(jd->n_trials, sum.planned);
        for (size_t i = 0; i < jd->n_trials; i++) {
            const trial_record *tr = &jd->trials[i];
            assert_true(tr->ok);
            for (size_t k = 0; k < tr->n_turns && tr->kind == PLAN_MEASURE; k++) {
                trial_cache_state cs = tr->turns[k].cache_state;
                if (tr->turns[k].cached_tokens < 0)
                    assert_int_equal(cs, TRIAL_CACHE_INFERRED);
                else if (cs != TRIAL_CACHE_VERIFIED)
                    fail_msg("%s: %s turn %zu: cache %d, cached %ld of prefix %ld",
                             refsrv_dialect_name((refsrv_dialect)d), tr->id, k + 1, (int)cs,
                             tr->turns[k].cached_tokens, tr->turns[k].prefix_tokens);
            }
        }
        journal_data_free(jd);
        runnertest_rmrf(dir);
        spec_free(s);
        client_free(t.base.c);
        refsrv_stop(t.base.srv);
    }
}

static void runner_should_finish_and_record_reasons_under_every_fault(void **state)
{
    (void)state;
    for (int f = 0; f < REFSRV_FAULT_COUNT; f++) {
        refsrv_config cfg;
        tu_refsrv_config(&cfg, 0.001);
        cfg.fault_p[f] = 0.25;
        cfg.fault_stall_ms = 600;
        cfg.fault_drip_ms = 0.05;
        cfg.seed = 3 + (uint64_t)f;
        char err[KV_ERRLEN] = "";
        refsrv *srv = tu_refsrv_start(&cfg);
        spec *s = small_spec(refsrv_port(srv), "llama.cpp",
                             ", \"retries\": 2, \"timeouts\": {\"connect\": 2, "
                             "\"first_token\": 0.2, \"total\": 5}");
        char dir[64];
        runnertest_tmpdir(dir, sizeof dir, "rsrv");
        runner_options o;
        memset(&o, 0, sizeof o);
        o.out_dir = dir;
        o.backoff_base_s = 0.01;
        o.backoff_cap_s = 0.05;
        runner_summary sum;
        runner_clear_stop();
        kv_status st = runner_run(s, &o, &sum, err);
        if (st != KV_OK)
            fail_msg("fault %s: %s", refsrv_fault_name((refsrv_fault)f), err);
        if (getenv("KVPROOF_TEST_VERBOSE"))
            fprintf(stderr, "fault %-12s %zu of %zu trials failed\n",
                    refsrv_fault_name((refsrv_fault)f), sum.failed, sum.ran);
        assert_int_equal(sum.ran, sum.planned);
        journal_data *jd = runnertest_load(dir);
        assert_int_equal(jd->n_trials, sum.planned);
        for (size_t i = 0; i < jd->n_trials; i++) {
            const trial_record *tr = &jd->trials[i];
            if (!tr->ok && tr->error[0] == '\0')
                fail_msg("fault %s: %s failed without a reason", refsrv_fault_name((refsrv_fault)f),
                         tr->id);
            for (size_t k = 0; k < tr->n_turns; k++)
                assert_true(tr->turns[k].attempts <= 1 + s->retries);
        }
        journal_data_free(jd);
        runnertest_rmrf(dir);
        spec_free(s);
        refsrv_stop(srv);
    }
}

TU_MAIN(NULL, NULL,
        cmocka_unit_test(runner_should_record_the_ground_truth_token_counts_in_every_dialect),
        cmocka_unit_test(runner_should_finish_and_record_reasons_under_every_fault))
