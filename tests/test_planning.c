/* test_planning.c - 'kvproof plan SPEC --pilot JOURNAL --target-rel-ci E'
 * through the CLI: a pilot journal for data/experiments/smoke.json is written
 * with journal_open/journal_append from the reference server's cost model,
 * then the command's text output and exit codes are checked, also for a
 * missing journal and a bad --target-rel-ci. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gsl/gsl_rng.h>

#include "experiments/journal.h"
#include "experiments/spec.h"
#include "server/costmodel.h"
#include "tests/testutil.h"

/* Writes a pilot journal for smoke.json (0 and 550 system tokens, 25 query
 * tokens, cold and warm) with `reps` repetitions per cell. */
static void write_pilot(const char *path, long reps)
{
    char err[KV_ERRLEN] = "";
    journal_target_meta tm = {0};
    tm.name = (char *)(uintptr_t) "reference";
    tm.base_url = (char *)(uintptr_t) "http://127.0.0.1:8080";
    tm.dialect = (char *)(uintptr_t) "openai-chat";
    tm.model = (char *)(uintptr_t) "kvproof-reference";
    tm.simulated = true;
    journal_header h = {0};
    h.kvproof_version = (char *)(uintptr_t) "0.1.0";
    h.spec_name = (char *)(uintptr_t) "smoke";
    h.spec_path = (char *)(uintptr_t) "data/experiments/smoke.json";
    spec *sp = NULL;
    if (spec_load("data/experiments/smoke.json", &sp, err) != KV_OK)
        fail_msg("spec_load: %s", err);
    h.spec_json = sp->canonical;
    h.spec_hash = sp->hash;
    h.seed = 7;
    h.planned_trials = (size_t)(4 * reps);
    h.created_unix = 1735689600;
    h.client_host = (char *)(uintptr_t) "test-host; cpu; Linux";
    h.targets = &tm;
    h.n_targets = 1;
    remove(path);
    journal *j = NULL;
    kv_status st = journal_open(path, &h, false, NULL, &j, err);
    if (st != KV_OK)
        fail_msg("journal_open: %s", err);
    costmodel_params p;
    assert_true(costmodel_preset("laptop", &p));
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 11);
    const long sys[2] = {0, 550};
    size_t index = 0;
    for (long rep = 0; rep < reps; rep++) {
        for (size_t cell = 0; cell < 4; cell++) {
            trial_record t;
            trial_request q;
            spec_cache_mode mode = cell % 2 ? SPEC_WARM : SPEC_COLD;
            tu_trial(&t, &q, index, "reference", cell, sys[cell / 2], 25, mode, rep);
            long prompt = q.prompt_tokens, cached = q.cached_tokens;
            double stall;
            double f =
                costmodel_noise_factor(&p, gsl_rng_uniform_pos(r), gsl_rng_uniform_pos(r),
                                       gsl_rng_uniform_pos(r), gsl_rng_uniform_pos(r), &stall);
            q.ttft_ms = costmodel_prefill_ms(&p, (double)(prompt - cached), (double)cached) * f;
            q.server_prefill_ms = q.ttft_ms * 0.97;
            q.total_ms = q.ttft_ms + 5;
            q.ttfb_ms = q.first_content_ms = q.last_token_ms = q.ttft_ms;
            st = journal_append(j, &t, err);
            if (st != KV_OK)
                fail_msg("journal_append: %s", err);
            index++;
        }
    }
    gsl_rng_free(r);
    journal_close(j);
    spec_free(sp);
}

/* Runs `kvproof plan ARGS`, capturing stdout and stderr in *out. */
static int run_plan(const char *args, kv_buf *out)
{
    int code = tu_kvproof(out, "plan %s 2>&1", args);
    assert_true(code >= 0);
    return code;
}

static void pilot_path(char *buf, size_t size)
{
    snprintf(buf, size, "build-test-planning-%ld.jsonl", (long)getpid());
}

static void plan_pilot_should_print_repetitions_per_cell_and_server_time(void **state)
{
    (void)state;
    char path[128], args[512];
    pilot_path(path, sizeof path);
    write_pilot(path, 6);
    snprintf(args, sizeof args, "data/experiments/smoke.json --pilot %s --target-rel-ci 0.05",
             path);
    kv_buf out = {0};
    int rc = run_plan(args, &out);
    if (rc != 0)
        fail_msg("exit %d: %s", rc, out.data);
    assert_non_null(strstr(out.data, "target relative 95% CI half-width 0.05"));
    /* one row per cell of smoke.json: cold and warm at 0 and 550 tokens */
    assert_non_null(strstr(out.data, "reps"));
    int rows = 0;
    for (const char *l = out.data; l; l = strchr(l, '\n')) {
        if (*l == '\n')
            l++;
        char mode[8];
        long sys = -1, query = -1;
        if (sscanf(l, "%7s %ld %ld", mode, &sys, &query) == 3 &&
            (strcmp(mode, "cold") == 0 || strcmp(mode, "warm") == 0) && (sys == 0 || sys == 550) &&
            query == 25)
            rows++;
    }
    assert_int_equal(rows, 4);
    const char *rec = strstr(out.data, "recommended repetitions: ");
    assert_non_null(rec);
    long reps = strtol(rec + strlen("recommended repetitions: "), NULL, 10);
    assert_true(reps >= 6); /* an exact 95% median interval needs 6 */
    assert_non_null(strstr(out.data, "expected server time of the full run: "));
    assert_non_null(strstr(out.data, "repetitions for every cell's median: "));
    kv_buf_free(&out);

    /* a tighter target asks for at least as many repetitions */
    snprintf(args, sizeof args, "data/experiments/smoke.json --pilot %s --target-rel-ci 0.01",
             path);
    kv_buf tight = {0};
    assert_int_equal(run_plan(args, &tight), 0);
    rec = strstr(tight.data, "recommended repetitions: ");
    assert_non_null(rec);
    assert_true(strtol(rec + strlen("recommended repetitions: "), NULL, 10) >= reps);
    kv_buf_free(&tight);
    remove(path);
}

static void plan_pilot_should_name_a_missing_journal_and_fail(void **state)
{
    (void)state;
    kv_buf out = {0};
    int rc = run_plan("data/experiments/smoke.json --pilot tests/fixtures/journals/none.jsonl "
                      "--target-rel-ci 0.05",
                      &out);
    assert_true(rc != 0);
    assert_non_null(strstr(out.data, "tests/fixtures/journals/none.jsonl"));
    assert_null(strstr(out.data, "recommended repetitions"));
    kv_buf_free(&out);
}

static void plan_pilot_should_refuse_a_target_that_is_not_positive(void **state)
{
    (void)state;
    char path[128], args[512];
    pilot_path(path, sizeof path);
    write_pilot(path, 3);
    const char *bad[] = {"0", "-0.05", "1", "abc"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(args, sizeof args, "data/experiments/smoke.json --pilot %s --target-rel-ci %s",
                 path, bad[i]);
        kv_buf out = {0};
        assert_int_equal(run_plan(args, &out), 2);
        assert_non_null(strstr(out.data, "--target-rel-ci"));
        kv_buf_free(&out);
    }
    remove(path);
}

TU_MAIN(NULL, NULL, cmocka_unit_test(plan_pilot_should_print_repetitions_per_cell_and_server_time),
        cmocka_unit_test(plan_pilot_should_name_a_missing_journal_and_fail),
        cmocka_unit_test(plan_pilot_should_refuse_a_target_that_is_not_positive))
