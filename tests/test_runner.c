/* test_runner.c - the runner's scheduling against a fake server (runner_io):
 * every planned trial journaled once, resume, failures with reasons, cache
 * checks (verified, contaminated, inferred), session replay, adaptive
 * stopping and exact prompt lengths with and without /tokenize. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "experiments/journal.h"
#include "experiments/plan.h"
#include "experiments/runner.h"
#include "experiments/spec.h"
#include "runnertest.h"

/* ---- the fake server ------------------------------------------------------ */

#define FAKE_MAX_TOK 200000
#define FAKE_MAX_REPLIES 4096

typedef struct fake {
    long sends;           /* chat requests received */
    long fail_every;      /* every k-th request answers HTTP 500 (0 = never) */
    long stop_at;         /* ask the runner to stop at this request (0 = never) */
    bool no_cached;       /* report no cached count */
    bool no_tokenize;     /* no /tokenize endpoint */
    bool never_reuse;     /* a broken cache: nothing is ever reused */
    bool ignore_no_cache; /* reuse even when asked not to */
    uint64_t *prev;       /* the previous prompt's tokens */
    size_t n_prev;
    uint64_t *cur;
    char *replies[FAKE_MAX_REPLIES];
    long n_replies;
    long bad_history;  /* assistant messages that are not an earlier reply */
    long max_messages; /* most messages in one request */
    long resets;
} fake;

static kv_status fake_send(void *ctx, const client_request *rq, trial_request *out, char **reply,
                           char *err)
{
    fake *f = ctx;
    f->sends++;
    runnertest_reply_unknown(out);
    if (f->stop_at > 0 && f->sends == f->stop_at)
        runner_request_stop();
    if (f->fail_every > 0 && f->sends % f->fail_every == 0) {
        out->http_status = 500;
        snprintf(out->error, sizeof out->error, "HTTP 500: simulated failure");
        return kv_fail(err, KV_ERR_HTTP, "HTTP 500: simulated failure");
    }
    if ((long)rq->n_messages > f->max_messages)
        f->max_messages = (long)rq->n_messages;
    f->bad_history += runnertest_unknown_history(rq, f->replies, f->n_replies);
    size_t n = runnertest_template(rq, f->cur, FAKE_MAX_TOK);
    size_t common = 0;
    bool reuse = !f->never_reuse && (!rq->no_cache || f->ignore_no_cache);
    if (reuse)
        while (common < n && common < f->n_prev && f->cur[common] == f->prev[common])
            common++;
    if (common >= n)
        common = n - 1;
    memcpy(f->prev, f->cur, n * sizeof *f->cur);
    f->n_prev = n;
    char text[64];
    snprintf(text, sizeof text, "Reply number %ld.", f->sends);
    if (f->n_replies < FAKE_MAX_REPLIES)
        f->replies[f->n_replies++] = strdup(text);
    runnertest_reply_ok(out, n, f->no_cached ? -1 : (long)common, common, text, reply);
    return KV_OK;
}

static kv_status fake_tokenize(void *ctx, const spec_target *t, spec_api api, const char *text,
                               long *n, char *err)
{
    fake *f = ctx;
    (void)t;
    (void)api;
    if (f->no_tokenize)
        return kv_fail(err, KV_ERR_UNSUPPORTED, "no /tokenize");
    *n = runnertest_text_tokens(text);
    return KV_OK;
}

static kv_status fake_reset(void *ctx, const spec_target *t, spec_api api, char *err)
{
    fake *f = ctx;
    (void)t;
    (void)api;
    f->resets++;
    return kv_fail(err, KV_ERR_UNSUPPORTED, "no reset");
}

static fake *fake_new(void)
{
    fake *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->prev = calloc(FAKE_MAX_TOK + 64, sizeof *f->prev);
    f->cur = calloc(FAKE_MAX_TOK + 64, sizeof *f->cur);
    assert_non_null(f->prev);
    assert_non_null(f->cur);
    return f;
}

static void fake_free(fake *f)
{
    for (long k = 0; k < f->n_replies; k++)
        free(f->replies[k]);
    free(f->prev);
    free(f->cur);
    free(f);
}

/* ---- helpers ------------------------------------------------------------------ */

#define BASE_SPEC                                                                                  \
    "{\"name\": \"runner-test\", \"seed\": 3,"                                                     \
    " \"targets\": [{\"name\": \"fake\", \"base_url\": \"http://127.0.0.1:9\", \"api\": \"%s\"}]," \
    " \"workload\": {\"system_prompt_tokens\": [0, 64, 300], \"query_tokens\": [5],"               \
    "   \"max_output_tokens\": 1},"                                                                \
    " %s"                                                                                          \
    " \"cache_modes\": [\"cold\", \"warm\"], \"repetitions\": %d, \"warmup_requests\": 1%s}"

static spec *make_spec(const char *api, const char *sessions, int reps, const char *extra)
{
    char text[4096];
    snprintf(text, sizeof text, BASE_SPEC, api, sessions, reps, extra);
    spec *s = NULL;
    char err[KV_ERRLEN] = "";
    kv_status st = spec_parse(text, strlen(text), "test-spec.json", &s, err);
    if (st != KV_OK)
        fail_msg("spec: %s", err);
    return s;
}

static kv_status run_with(const spec *s, fake *f, const char *dir, bool resume, runner_summary *sum,
                          char *err)
{
    runner_io io = {f, fake_send, fake_tokenize, fake_reset, NULL, NULL, NULL};
    return runnertest_run(s, &io, dir, resume, sum, err);
}

/* ---- tests ---------------------------------------------------------------- */

static void runner_should_journal_every_planned_trial_once_with_exact_lengths(void **state)
{
    (void)state;
    char dir[64], err[KV_ERRLEN] = "";
    runnertest_tmpdir(dir, sizeof dir, "runner");
    spec *s = make_spec("openai-chat", "", 3, "");
    fake *f = fake_new();
    runner_summary sum;
    assert_int_equal(run_with(s, f, dir, false, &sum, err), KV_OK);
    assert_int_equal(sum.ran, sum.planned);
    assert_int_equal(sum.failed, 0);
    assert_int_equal(sum.contaminated, 0);
    journal_data *d = runnertest_load(dir);
    runnertest_assert_each_trial_once(s, d);
    for (size_t i = 0; i < d->n_trials; i++) {
        const trial_record *t = &d->trials[i];
        assert_true(t->ok);
        assert_int_equal(t->n_turns, 1);
        const trial_request *q = &t->turns[0];
        /* system: 4 + L, query: 4 + 5, generation prompt 3 */
        long want = (t->system_prompt_tokens > 0 ? 4 + t->system_prompt_tokens : 0) + 4 + 5 + 3;
        if (t->kind == PLAN_MEASURE && t->system_prompt_tokens == 0 && t->mode == SPEC_COLD)
            want = 4 + 5 + 3; /* the nonce is part of the 5-token question */
        assert_int_equal(q->prompt_tokens, want);
        if (t->kind != PLAN_MEASURE)
            continue;
        assert_int_equal(q->cache_state, TRIAL_CACHE_VERIFIED);
        if (t->mode == SPEC_COLD) {
            assert_true(q->cached_tokens <= CACHECHECK_COLD_SLACK);
        } else {
            assert_true((double)q->cached_tokens >= 0.9 * (double)q->prefix_tokens);
            assert_int_equal(q->prefix_tokens, t->system_prompt_tokens);
            assert_non_null(q->raw);
            assert_non_null(strstr(q->raw, "\"prime\""));
        }
    }
    journal_data_free(d);
    /* Without --resume an existing journal is never touched. */
    assert_int_equal(run_with(s, f, dir, false, &sum, err), KV_ERR_USAGE);
    assert_non_null(strstr(err, "--resume"));
    fake_free(f);
    spec_free(s);
    runnertest_rmrf(dir);
}

static void runner_should_stop_on_request_and_resume_without_repeating_trials(void **state)
{
    (void)state;
    char dir[64], err[KV_ERRLEN] = "";
    runnertest_tmpdir(dir, sizeof dir, "runner");
    spec *s = make_spec("openai-chat", "", 4, "");
    fake *f = fake_new();
    f->stop_at = 9;
    runner_summary sum;
    assert_int_equal(run_with(s, f, dir, false, &sum, err), KV_ERR_INTERRUPT);
    assert_true(sum.interrupted);
    assert_true(sum.ran > 0);
    assert_true(sum.ran < sum.planned);
    size_t first = sum.ran;
    f->stop_at = 0;
    err[0] = '\0';
    assert_int_equal(run_with(s, f, dir, true, &sum, err), KV_OK);
    assert_int_equal(sum.done_before, first);
    assert_int_equal(sum.done_before + sum.ran, sum.planned);
    journal_data *d = runnertest_load(dir);
    runnertest_assert_each_trial_once(s, d);
    journal_data_free(d);
    /* A finished journal resumes to nothing. */
    assert_int_equal(run_with(s, f, dir, true, &sum, err), KV_OK);
    assert_int_equal(sum.ran, 0);
    fake_free(f);
    spec_free(s);
    runnertest_rmrf(dir);
}

static void runner_should_journal_failed_trials_with_their_reason(void **state)
{
    (void)state;
    char dir[64], err[KV_ERRLEN] = "";
    runnertest_tmpdir(dir, sizeof dir, "runner");
    spec *s = make_spec("openai-chat", "", 3, "");
    fake *f = fake_new();
    f->fail_every = 4;
    runner_summary sum;
    assert_int_equal(run_with(s, f, dir, false, &sum, err), KV_OK);
    assert_true(sum.failed > 0);
    journal_data *d = runnertest_load(dir);
    runnertest_assert_each_trial_once(s, d);
    size_t failed = 0;
    for (size_t i = 0; i < d->n_trials; i++) {
        if (d->trials[i].ok)
            continue;
        failed++;
        assert_non_null(strstr(d->trials[i].error, "HTTP 500"));
    }
    assert_int_equal(failed, sum.failed);
    journal_data_free(d);
    fake_free(f);
    spec_free(s);
    runnertest_rmrf(dir);
}

static void runner_should_flag_contaminated_and_inferred_cache_states(void **state)
{
    (void)state;
    char dir[64], err[KV_ERRLEN] = "";
    runner_summary sum;
    spec *s = make_spec("openai-chat", "", 2, "");

    /* A cache that never reuses anything: every warm trial is contaminated. */
    runnertest_tmpdir(dir, sizeof dir, "runner");
    fake *f = fake_new();
    f->never_reuse = true;
    assert_int_equal(run_with(s, f, dir, false, &sum, err), KV_OK);
    journal_data *d = runnertest_load(dir);
    for (size_t i = 0; i < d->n_trials; i++) {
        const trial_record *t = &d->trials[i];
        if (t->kind != PLAN_MEASURE)
            continue;
        bool should = t->mode == SPEC_WARM && t->system_prompt_tokens > 0;
        assert_int_equal(t->contaminated, should);
        assert_int_equal(t->turns[0].cache_state,
                         should ? TRIAL_CACHE_CONTAMINATED : TRIAL_CACHE_VERIFIED);
    }
    assert_true(sum.contaminated > 0);
    journal_data_free(d);
    fake_free(f);
    runnertest_rmrf(dir);

    /* A llama.cpp server ignoring cache_prompt:false shares template tokens. */
    spec *sl = make_spec("llama.cpp", "", 2, "");
    runnertest_tmpdir(dir, sizeof dir, "runner");
    f = fake_new();
    f->ignore_no_cache = true;
    assert_int_equal(run_with(sl, f, dir, false, &sum, err), KV_OK);
    d = runnertest_load(dir);
    size_t cold_bad = 0;
    for (size_t i = 0; i < d->n_trials; i++)
        if (d->trials[i].kind == PLAN_MEASURE && d->trials[i].mode == SPEC_COLD)
            cold_bad += d->trials[i].turns[0].cache_state == TRIAL_CACHE_CONTAMINATED;
    assert_true(cold_bad > 0);
    journal_data_free(d);
    fake_free(f);
    spec_free(sl);
    runnertest_rmrf(dir);

    /* No cached count reported: inferred, never verified. */
    runnertest_tmpdir(dir, sizeof dir, "runner");
    f = fake_new();
    f->no_cached = true;
    assert_int_equal(run_with(s, f, dir, false, &sum, err), KV_OK);
    d = runnertest_load(dir);
    for (size_t i = 0; i < d->n_trials; i++)
        if (d->trials[i].kind == PLAN_MEASURE)
            assert_int_equal(d->trials[i].turns[0].cache_state, TRIAL_CACHE_INFERRED);
    journal_data_free(d);
    fake_free(f);
    spec_free(s);
    runnertest_rmrf(dir);
}

static void runner_should_replay_sessions_with_the_actual_replies(void **state)
{
    (void)state;
    char dir[64], err[KV_ERRLEN] = "";
    runnertest_tmpdir(dir, sizeof dir, "runner");
    spec *s = make_spec("openai-chat", "\"sessions\": {\"query_counts\": [1, 3]},", 2, "");
    fake *f = fake_new();
    runner_summary sum;
    assert_int_equal(run_with(s, f, dir, false, &sum, err), KV_OK);
    assert_int_equal(sum.failed, 0);
    assert_int_equal(f->bad_history, 0);
    assert_int_equal(f->max_messages, 1 + 3 + 2); /* system, 3 questions, 2 answers */
    journal_data *d = runnertest_load(dir);
    size_t sessions = 0;
    for (size_t i = 0; i < d->n_trials; i++) {
        const trial_record *t = &d->trials[i];
        if (t->kind != PLAN_MEASURE || t->query_count != 3)
            continue;
        sessions++;
        assert_int_equal(t->n_turns, 3);
        for (size_t k = 0; k < 3; k++) {
            assert_int_equal(t->turns[k].turn, (int)k + 1);
            assert_true(t->turns[k].ok);
            assert_true(isfinite(t->turns[k].ttft_ms));
            assert_int_equal(t->turns[k].cache_state, TRIAL_CACHE_VERIFIED);
            if (k > 0)
                assert_true(t->turns[k].prompt_tokens > t->turns[k - 1].prompt_tokens);
        }
    }
    assert_true(sessions > 0);
    journal_data_free(d);
    fake_free(f);
    spec_free(s);
    runnertest_rmrf(dir);
}

static void runner_should_stop_repeating_cells_whose_median_is_known(void **state)
{
    (void)state;
    char dir[64], err[KV_ERRLEN] = "";
    runnertest_tmpdir(dir, sizeof dir, "runner");
    spec *s = make_spec("openai-chat", "", 20,
                        ", \"stop\": {\"target_rel_ci\": 0.5, "
                        "\"min_repetitions\": 8}");
    assert_true(s->stop.enabled);
    fake *f = fake_new();
    runner_summary sum;
    assert_int_equal(run_with(s, f, dir, false, &sum, err), KV_OK);
    assert_true(sum.skipped > 0);
    assert_int_equal(sum.ran + sum.skipped, sum.planned);
    journal_data *d = runnertest_load(dir);
    for (size_t i = 0; i < d->n_trials; i++)
        assert_true(d->trials[i].repetition < 20);
    assert_true(d->n_trials < sum.planned);
    journal_data_free(d);
    fake_free(f);
    spec_free(s);
    runnertest_rmrf(dir);
}

static void runner_should_calibrate_lengths_without_a_tokenizer(void **state)
{
    (void)state;
    char dir[64], err[KV_ERRLEN] = "";
    runnertest_tmpdir(dir, sizeof dir, "runner");
    spec *s = make_spec("openai-chat", "", 2, "");
    fake *f = fake_new();
    f->no_tokenize = true;
    runner_summary sum;
    assert_int_equal(run_with(s, f, dir, false, &sum, err), KV_OK);
    assert_int_equal(sum.failed, 0);
    journal_data *d = runnertest_load(dir);
    for (size_t i = 0; i < d->n_trials; i++) {
        const trial_record *t = &d->trials[i];
        if (t->kind != PLAN_MEASURE || t->system_prompt_tokens == 0)
            continue;
        assert_int_equal(t->turns[0].prompt_tokens, 4 + t->system_prompt_tokens + 4 + 5 + 3);
    }
    journal_data_free(d);
    fake_free(f);
    spec_free(s);
    runnertest_rmrf(dir);
}

static void runner_should_honour_the_max_trials_cap(void **state)
{
    (void)state;
    char dir[64], err[KV_ERRLEN] = "";
    runnertest_tmpdir(dir, sizeof dir, "runner");
    spec *s =
        make_spec("openai-chat", "", 4, ", \"stop\": {\"target_rel_ci\": 0.01, \"max_trials\": 5}");
    fake *f = fake_new();
    runner_summary sum;
    assert_int_equal(run_with(s, f, dir, false, &sum, err), KV_OK);
    journal_data *d = runnertest_load(dir);
    size_t measured = 0;
    for (size_t i = 0; i < d->n_trials; i++)
        measured += d->trials[i].kind == PLAN_MEASURE;
    assert_int_equal(measured, 5);
    assert_int_equal(sum.ran + sum.skipped, sum.planned);
    journal_data_free(d);
    /* Resuming does not exceed the cap either. */
    assert_int_equal(run_with(s, f, dir, true, &sum, err), KV_OK);
    assert_int_equal(sum.ran, 0);
    fake_free(f);
    spec_free(s);
    runnertest_rmrf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(runner_should_journal_every_planned_trial_once_with_exact_lengths),
        cmocka_unit_test(runner_should_stop_on_request_and_resume_without_repeating_trials),
        cmocka_unit_test(runner_should_journal_failed_trials_with_their_reason),
        cmocka_unit_test(runner_should_flag_contaminated_and_inferred_cache_states),
        cmocka_unit_test(runner_should_replay_sessions_with_the_actual_replies),
        cmocka_unit_test(runner_should_stop_repeating_cells_whose_median_is_known),
        cmocka_unit_test(runner_should_calibrate_lengths_without_a_tokenizer),
        cmocka_unit_test(runner_should_honour_the_max_trials_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
