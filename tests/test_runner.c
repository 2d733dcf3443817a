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

static void fake_free(void *net)
{
    fake *f = net;
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

static runner_io fake_io(fake *f)
{
    return (runner_io){f, fake_send, fake_tokenize, fake_reset, NULL, NULL, NULL};
}

/* cmocka setup: a runnertest_case over a new fake, no spec yet. */
static int setup(void **state)
{
    fake *f = fake_new();
    return runnertest_case_setup(state, "runner", fake_io(f), f, fake_free);
}

/* The case's spec (the case owns it) and its fake. */
static fake *with_spec(runnertest_case *c, spec *s)
{
    spec_free(c->s);
    c->s = s;
    return c->net;
}

/* A fresh directory and fake for the next part of a test. */
static fake *again(runnertest_case *c)
{
    fake *f = fake_new();
    runnertest_case_again(c, "runner", fake_io(f), f);
    return f;
}

/* ---- tests ---------------------------------------------------------------- */

static void runner_should_journal_every_planned_trial_once_with_exact_lengths(void **state)
{
    runnertest_case *c = *state;
    with_spec(c, make_spec("openai-chat", "", 3, ""));
    assert_int_equal(runnertest_case_run(c, false), KV_OK);
    assert_int_equal(c->sum.ran, c->sum.planned);
    assert_int_equal(c->sum.failed, 0);
    assert_int_equal(c->sum.contaminated, 0);
    journal_data *d = runnertest_case_load(c);
    runnertest_assert_each_trial_once(c->s, d);
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
    /* Without --resume an existing journal is never touched. */
    assert_int_equal(runnertest_case_run(c, false), KV_ERR_USAGE);
    assert_non_null(strstr(c->err, "--resume"));
}

static void runner_should_stop_on_request_and_resume_without_repeating_trials(void **state)
{
    runnertest_case *c = *state;
    fake *f = with_spec(c, make_spec("openai-chat", "", 4, ""));
    f->stop_at = 9;
    assert_int_equal(runnertest_case_run(c, false), KV_ERR_INTERRUPT);
    runnertest_assert_interrupted(&c->sum);
    size_t first = c->sum.ran;
    f->stop_at = 0;
    c->err[0] = '\0';
    assert_int_equal(runnertest_case_run(c, true), KV_OK);
    runnertest_assert_resumed(&c->sum, first);
    runnertest_assert_each_trial_once(c->s, runnertest_case_load(c));
    /* A finished journal resumes to nothing. */
    assert_int_equal(runnertest_case_run(c, true), KV_OK);
    assert_int_equal(c->sum.ran, 0);
}

static void runner_should_journal_failed_trials_with_their_reason(void **state)
{
    runnertest_case *c = *state;
    with_spec(c, make_spec("openai-chat", "", 3, ""))->fail_every = 4;
    assert_int_equal(runnertest_case_run(c, false), KV_OK);
    assert_true(c->sum.failed > 0);
    journal_data *d = runnertest_case_load(c);
    runnertest_assert_each_trial_once(c->s, d);
    size_t failed = 0;
    for (size_t i = 0; i < d->n_trials; i++) {
        if (d->trials[i].ok)
            continue;
        failed++;
        assert_non_null(strstr(d->trials[i].error, "HTTP 500"));
    }
    assert_int_equal(failed, c->sum.failed);
}

static void runner_should_flag_contaminated_and_inferred_cache_states(void **state)
{
    runnertest_case *c = *state;

    /* A cache that never reuses anything: every warm trial is contaminated. */
    with_spec(c, make_spec("openai-chat", "", 2, ""))->never_reuse = true;
    assert_int_equal(runnertest_case_run(c, false), KV_OK);
    journal_data *d = runnertest_case_load(c);
    for (size_t i = 0; i < d->n_trials; i++) {
        const trial_record *t = &d->trials[i];
        if (t->kind != PLAN_MEASURE)
            continue;
        bool should = t->mode == SPEC_WARM && t->system_prompt_tokens > 0;
        assert_int_equal(t->contaminated, should);
        assert_int_equal(t->turns[0].cache_state,
                         should ? TRIAL_CACHE_CONTAMINATED : TRIAL_CACHE_VERIFIED);
    }
    assert_true(c->sum.contaminated > 0);

    /* A llama.cpp server ignoring cache_prompt:false shares template tokens. */
    again(c);
    with_spec(c, make_spec("llama.cpp", "", 2, ""))->ignore_no_cache = true;
    assert_int_equal(runnertest_case_run(c, false), KV_OK);
    d = runnertest_case_load(c);
    size_t cold_bad = 0;
    for (size_t i = 0; i < d->n_trials; i++)
        if (d->trials[i].kind == PLAN_MEASURE && d->trials[i].mode == SPEC_COLD)
            cold_bad += d->trials[i].turns[0].cache_state == TRIAL_CACHE_CONTAMINATED;
    assert_true(cold_bad > 0);

    /* No cached count reported: inferred, never verified. */
    again(c);
    with_spec(c, make_spec("openai-chat", "", 2, ""))->no_cached = true;
    assert_int_equal(runnertest_case_run(c, false), KV_OK);
    d = runnertest_case_load(c);
    for (size_t i = 0; i < d->n_trials; i++)
        if (d->trials[i].kind == PLAN_MEASURE)
            assert_int_equal(d->trials[i].turns[0].cache_state, TRIAL_CACHE_INFERRED);
}

static void runner_should_replay_sessions_with_the_actual_replies(void **state)
{
    runnertest_case *c = *state;
    fake *f =
        with_spec(c, make_spec("openai-chat", "\"sessions\": {\"query_counts\": [1, 3]},", 2, ""));
    assert_int_equal(runnertest_case_run(c, false), KV_OK);
    assert_int_equal(c->sum.failed, 0);
    assert_int_equal(f->bad_history, 0);
    assert_int_equal(f->max_messages, 1 + 3 + 2); /* system, 3 questions, 2 answers */
    journal_data *d = runnertest_case_load(c);
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
}

static void runner_should_stop_repeating_cells_whose_median_is_known(void **state)
{
    runnertest_case *c = *state;
    with_spec(c, make_spec("openai-chat", "", 20,
                           ", \"stop\": {\"target_rel_ci\": 0.5, "
                           "\"min_repetitions\": 8}"));
    assert_true(c->s->stop.enabled);
    assert_int_equal(runnertest_case_run(c, false), KV_OK);
    assert_true(c->sum.skipped > 0);
    assert_int_equal(c->sum.ran + c->sum.skipped, c->sum.planned);
    journal_data *d = runnertest_case_load(c);
    for (size_t i = 0; i < d->n_trials; i++)
        assert_true(d->trials[i].repetition < 20);
    assert_true(d->n_trials < c->sum.planned);
}

static void runner_should_calibrate_lengths_without_a_tokenizer(void **state)
{
    runnertest_case *c = *state;
    with_spec(c, make_spec("openai-chat", "", 2, ""))->no_tokenize = true;
    assert_int_equal(runnertest_case_run(c, false), KV_OK);
    assert_int_equal(c->sum.failed, 0);
    journal_data *d = runnertest_case_load(c);
    for (size_t i = 0; i < d->n_trials; i++) {
        const trial_record *t = &d->trials[i];
        if (t->kind != PLAN_MEASURE || t->system_prompt_tokens == 0)
            continue;
        assert_int_equal(t->turns[0].prompt_tokens, 4 + t->system_prompt_tokens + 4 + 5 + 3);
    }
}

static void runner_should_honour_the_max_trials_cap(void **state)
{
    runnertest_case *c = *state;
    with_spec(c, make_spec("openai-chat", "", 4,
                           ", \"stop\": {\"target_rel_ci\": 0.01, \"max_trials\": 5}"));
    assert_int_equal(runnertest_case_run(c, false), KV_OK);
    runnertest_assert_capped(c, 5);
    /* Resuming does not exceed the cap either. */
    assert_int_equal(runnertest_case_run(c, true), KV_OK);
    assert_int_equal(c->sum.ran, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            runner_should_journal_every_planned_trial_once_with_exact_lengths, setup,
            runnertest_case_teardown),
        cmocka_unit_test_setup_teardown(
            runner_should_stop_on_request_and_resume_without_repeating_trials, setup,
            runnertest_case_teardown),
        cmocka_unit_test_setup_teardown(runner_should_journal_failed_trials_with_their_reason,
                                        setup, runnertest_case_teardown),
        cmocka_unit_test_setup_teardown(runner_should_flag_contaminated_and_inferred_cache_states,
                                        setup, runnertest_case_teardown),
        cmocka_unit_test_setup_teardown(runner_should_replay_sessions_with_the_actual_replies,
                                        setup, runnertest_case_teardown),
        cmocka_unit_test_setup_teardown(runner_should_stop_repeating_cells_whose_median_is_known,
                                        setup, runnertest_case_teardown),
        cmocka_unit_test_setup_teardown(runner_should_calibrate_lengths_without_a_tokenizer, setup,
                                        runnertest_case_teardown),
        cmocka_unit_test_setup_teardown(runner_should_honour_the_max_trials_cap, setup,
                                        runnertest_case_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
