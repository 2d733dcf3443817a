/* test_runner_conc.c - the runner with spec.concurrency > 1: against a
 * thread-safe fake server (runner_io with a context per worker) that holds
 * its first requests until four are in flight, and against the reference
 * server with four slots over real HTTP. Every planned trial is journaled
 * exactly once with no torn line, prompt token counts stay exact, warm
 * trials stay verified, requests really overlap, a stop request ends every
 * worker with a resumable journal, and caps and adaptive stopping hold. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/util.h"
#include "net/client.h"
#include "experiments/journal.h"
#include "experiments/plan.h"
#include "experiments/runner.h"
#include "experiments/spec.h"
#include "runnertest.h"
#include "server/refsrv.h"
#include "tests/testutil.h"

/* ---- the fake server -------------------------------------------------------- */

#define FAKE_MAX_TOK 4096
#define FAKE_SLOTS 64
#define FAKE_MAX_REPLIES 8192

typedef struct fake {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    long sends;         /* chat requests received */
    long in_flight;     /* requests inside fake_send now */
    long max_in_flight; /* most at once */
    long gate;          /* hold requests until this many are in flight (0 = never) */
    long gate_after;    /* ... from the request after this one (the warm-ups run first) */
    bool gate_open;
    long stop_at;               /* ask the runner to stop at this request (0 = never) */
    long resets;                /* cache reset calls */
    long workers_made;          /* worker contexts made */
    long thread_changes;        /* a worker context used from a second thread */
    long bad_history;           /* assistant messages that are not an earlier reply */
    uint64_t *slot[FAKE_SLOTS]; /* a prefix cache of the last FAKE_SLOTS prompts */
    size_t slot_n[FAKE_SLOTS];
    size_t next_slot;
    char *replies[FAKE_MAX_REPLIES];
    long n_replies;
    struct fake_ctx *main_ctx; /* the shared context, runner_io's ctx */
} fake;

/* A network context: the shared (main) one or one worker's. */
typedef struct fake_ctx {
    fake *f;
    bool worker;
    bool owned;
    pthread_t owner;
} fake_ctx;

static void sleep_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000L};
    nanosleep(&ts, NULL);
}

/* Holds the first measured requests until f->gate are in flight at once (lock held);
 * gives up after 5 s so a sequential runner fails the test, not hangs it. */
static void gate_wait(fake *f, long me)
{
    if (f->gate <= 0 || f->gate_open || me <= f->gate_after)
        return;
    if (f->in_flight >= f->gate) {
        f->gate_open = true;
        pthread_cond_broadcast(&f->cv);
        return;
    }
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 5;
    while (!f->gate_open)
        if (pthread_cond_timedwait(&f->cv, &f->mu, &until) == ETIMEDOUT)
            f->gate_open = true;
}

static kv_status fake_send(void *ctx, const client_request *rq, trial_request *out, char **reply,
                           char *err)
{
    fake_ctx *fc = ctx;
    fake *f = fc->f;
    uint64_t *cur = malloc((FAKE_MAX_TOK + 64) * sizeof *cur);
    assert_non_null(cur);
    runnertest_reply_unknown(out);
    size_t n = runnertest_template(rq, cur, FAKE_MAX_TOK);
    assert_true(n <= FAKE_MAX_TOK);

    pthread_mutex_lock(&f->mu);
    if (fc->worker) {
        if (!fc->owned) {
            fc->owned = true;
            fc->owner = pthread_self();
        } else if (!pthread_equal(fc->owner, pthread_self())) {
            f->thread_changes++;
        }
    }
    long me = ++f->sends;
    f->in_flight++;
    if (f->in_flight > f->max_in_flight)
        f->max_in_flight = f->in_flight;
    if (f->stop_at > 0 && me == f->stop_at)
        runner_request_stop();
    gate_wait(f, me);
    f->bad_history += runnertest_unknown_history(rq, f->replies, f->n_replies);
    size_t common = 0;
    if (!rq->no_cache)
        for (size_t sl = 0; sl < FAKE_SLOTS; sl++) {
            size_t c = 0;
            while (c < n && c < f->slot_n[sl] && cur[c] == f->slot[sl][c])
                c++;
            if (c > common)
                common = c;
        }
    if (common >= n)
        common = n - 1;
    size_t sl = f->next_slot++ % FAKE_SLOTS;
    free(f->slot[sl]);
    f->slot[sl] = cur;
    f->slot_n[sl] = n;
    char text[64];
    snprintf(text, sizeof text, "Reply number %ld.", me);
    if (f->n_replies < FAKE_MAX_REPLIES)
        f->replies[f->n_replies++] = strdup(text);
    pthread_mutex_unlock(&f->mu);

    sleep_us(300); /* outside the lock: requests interleave */
    runnertest_reply_ok(out, n, (long)common, common, text, reply);
    (void)err;

    pthread_mutex_lock(&f->mu);
    f->in_flight--;
    pthread_mutex_unlock(&f->mu);
    return KV_OK;
}

static kv_status fake_reset(void *ctx, const spec_target *t, spec_api api, char *err)
{
    fake_ctx *fc = ctx;
    (void)t;
    (void)api;
    pthread_mutex_lock(&fc->f->mu);
    fc->f->resets++;
    pthread_mutex_unlock(&fc->f->mu);
    return kv_fail(err, KV_ERR_UNSUPPORTED, "no reset");
}

static kv_status fake_worker_new(void *ctx, void **out, char *err)
{
    fake_ctx *main_ctx = ctx;
    fake_ctx *w = calloc(1, sizeof *w);
    if (!w)
        return kv_fail(err, KV_ERR_NOMEM, "out of memory");
    w->f = main_ctx->f;
    w->worker = true;
    pthread_mutex_lock(&w->f->mu);
    w->f->workers_made++;
    pthread_mutex_unlock(&w->f->mu);
    *out = w;
    return KV_OK;
}

static void fake_worker_free(void *ctx)
{
    free(ctx);
}

static fake *fake_new(void)
{
    fake *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->main_ctx = calloc(1, sizeof *f->main_ctx);
    assert_non_null(f->main_ctx);
    f->main_ctx->f = f;
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    f->gate_after = 2; /* make_spec's warm-up requests */
    return f;
}

static void fake_free(void *net)
{
    fake *f = net;
    for (size_t i = 0; i < FAKE_SLOTS; i++)
        free(f->slot[i]);
    for (long k = 0; k < f->n_replies; k++)
        free(f->replies[k]);
    pthread_cond_destroy(&f->cv);
    pthread_mutex_destroy(&f->mu);
    free(f->main_ctx);
    free(f);
}

/* ---- helpers ------------------------------------------------------------------ */

static spec *make_spec(const char *api, int port, int reps, long concurrency, const char *extra)
{
    char text[4096];
    snprintf(text, sizeof text,
             "{\"name\": \"conc-test\", \"seed\": 7,"
             " \"targets\": [{\"name\": \"t\", \"base_url\": \"http://127.0.0.1:%d\","
             " \"api\": \"%s\", \"model\": \"kvproof-reference\"}],"
             " \"workload\": {\"system_prompt_tokens\": [0, 64, 300], \"query_tokens\": [5],"
             "   \"max_output_tokens\": 2},"
             " \"sessions\": {\"query_counts\": [1, 3], \"system_prompt_tokens\": [64]},"
             " \"cache_modes\": [\"cold\", \"warm\"], \"repetitions\": %d,"
             " \"warmup_requests\": 2, \"concurrency\": %ld%s}",
             port, api, reps, concurrency, extra);
    spec *s = NULL;
    char err[KV_ERRLEN] = "";
    if (spec_parse(text, strlen(text), "conc-spec.json", &s, err) != KV_OK)
        fail_msg("spec: %s", err);
    return s;
}

static runner_io fake_io(fake *f)
{
    return (runner_io){f->main_ctx, fake_send,       runnertest_io_tokenize,
                       fake_reset,  fake_worker_new, fake_worker_free,
                       NULL};
}

/* cmocka setup: a runnertest_case over a new fake that holds no request. */
static int setup(void **state)
{
    fake *f = fake_new();
    return runnertest_case_setup(state, "conc", fake_io(f), f, fake_free);
}

/* The case's spec (the case owns it) and its fake, holding its first
 * measured requests until `gate` are in flight (0: never). */
static fake *with_spec(runnertest_case *c, spec *s, long gate)
{
    spec_free(c->s);
    c->s = s;
    fake *f = c->net;
    f->gate = gate;
    return f;
}

/* Turn 1's prompt: 4 template tokens per message + content + 3. */
static long want_turn1_tokens(const trial_record *t)
{
    if (t->system_prompt_tokens > 0)
        return 4 + t->system_prompt_tokens + 4 + t->query_tokens + 3;
    return 4 + t->query_tokens + 3; /* a cold nonce is part of the question */
}

/* The measured trials' cache checks all verified, turn 1 counted exactly. */
static void assert_exact_and_verified(const journal_data *d)
{
    for (size_t i = 0; i < d->n_trials; i++) {
        const trial_record *t = &d->trials[i];
        assert_true(t->ok);
        assert_int_equal(t->turns[0].prompt_tokens, want_turn1_tokens(t));
        if (t->kind != PLAN_MEASURE)
            continue;
        for (size_t k = 0; k < t->n_turns; k++)
            if (t->turns[k].cache_state != TRIAL_CACHE_VERIFIED)
                fail_msg("%s turn %zu: cache state %d, cached %ld of prefix %ld", t->id, k + 1,
                         (int)t->turns[k].cache_state, t->turns[k].cached_tokens,
                         t->turns[k].prefix_tokens);
    }
}

/* Every planned trial of s once in d, counted exactly and verified. */
static void assert_exact_once(const spec *s, const journal_data *d)
{
    runnertest_assert_each_trial_once(s, d);
    assert_exact_and_verified(d);
}

/* The case's run ran its whole plan with at most in_flight requests at once
 * over `workers` worker contexts of f. */
static void assert_ran_whole_plan(const runnertest_case *c, const fake *f, long in_flight,
                                  long workers)
{
    assert_int_equal(c->sum.ran, c->sum.planned);
    assert_int_equal(f->max_in_flight, in_flight);
    assert_int_equal(f->workers_made, workers);
}

/* The case's journal: every planned trial once, line i holding the trial at
 * run position i or, by_plan, the trial of plan index i. */
static const journal_data *load_in_order(runnertest_case *c, bool by_plan)
{
    const journal_data *d = runnertest_case_load(c);
    runnertest_assert_each_trial_once(c->s, d);
    for (size_t i = 0; i < d->n_trials; i++)
        assert_int_equal(by_plan ? d->trials[i].plan_index : d->trials[i].run_position, i);
    return d;
}

/* ---- tests: the fake server ------------------------------------------------- */

static void runner_should_run_four_trials_at_once_and_journal_each_exactly_once(void **state)
{
    runnertest_case *c = *state;
    fake *f = with_spec(c, make_spec("openai-chat", 9, 4, 4, ""), 4);
    runnertest_case_run_ok(c, false);
    assert_ran_whole_plan(c, f, 4, 4);
    assert_int_equal(c->sum.failed, 0);
    assert_int_equal(c->sum.contaminated, 0);
    assert_int_equal(f->thread_changes, 0);
    assert_int_equal(f->bad_history, 0);
    assert_int_equal(f->resets, 0); /* no cache reset while other trials run */
    /* run_position is the order of completion, which is the journal's order. */
    assert_exact_and_verified(load_in_order(c, false));
}

static void runner_should_run_concurrency_one_on_the_calling_thread_in_plan_order(void **state)
{
    runnertest_case *c = *state;
    fake *f = with_spec(c, make_spec("openai-chat", 9, 2, 1, ""), 0);
    runnertest_case_run_ok(c, false);
    assert_ran_whole_plan(c, f, 1, 0);
    assert_true(f->resets > 0); /* one at a time, cold trials try a reset */
    load_in_order(c, true);
}

static void runner_should_stop_every_worker_on_request_and_resume_to_the_plan(void **state)
{
    runnertest_case *c = *state;
    fake *f = with_spec(c, make_spec("openai-chat", 9, 4, 4, ""), 4);
    f->stop_at = 20;
    assert_int_equal(runnertest_case_run(c, false), KV_ERR_INTERRUPT);
    runnertest_assert_interrupted(&c->sum);
    long sends_at_stop = f->sends;
    /* Only the trials in flight went on: at most 4 sessions of 3 turns plus
     * primes after the request that asked to stop. */
    assert_true(sends_at_stop <= f->stop_at + 4 * 4);
    runnertest_assert_journal_of_run(runnertest_case_load(c), &c->sum);
    size_t first = c->sum.ran;
    f->stop_at = 0;
    runnertest_case_run_ok(c, true);
    runnertest_assert_resumed(&c->sum, first);
    journal_data *d = runnertest_case_load(c);
    assert_exact_once(c->s, d);
}

static void runner_should_honour_caps_and_adaptive_stopping_under_concurrency(void **state)
{
    runnertest_case *c = *state;

    /* max_trials counts the trials in flight: never exceeded. */
    with_spec(c,
              make_spec("openai-chat", 9, 4, 4,
                        ", \"stop\": {\"target_rel_ci\": 0.01, \"max_trials\": 5}"),
              0);
    runnertest_case_run_ok(c, false);
    runnertest_assert_capped(c, 5);

    /* Rounds: every cell's median is known long before 20 repetitions. */
    fake *f = fake_new();
    runnertest_case_again(c, "conc", fake_io(f), f);
    with_spec(c,
              make_spec("openai-chat", 9, 20, 4,
                        ", \"stop\": {\"target_rel_ci\": 0.5, \"min_repetitions\": 8}"),
              4);
    runnertest_case_run_ok(c, false);
    assert_true(c->sum.skipped > 0);
    assert_int_equal(c->sum.ran + c->sum.skipped, c->sum.planned);
    assert_true(f->max_in_flight > 1);
    runnertest_assert_journal_of_run(runnertest_case_load(c), &c->sum);
}

/* ---- tests: the reference server with four slots ------------------------- */

/* Real clients, one per worker, counting requests in flight and checking
 * every prompt count against the server's tokenizer. */
typedef struct ref_io {
    pthread_mutex_t mu;
    client *main;
    long in_flight, max_in_flight, sends, bad_counts, workers_made;
} ref_io;

typedef struct ref_ctx {
    client *c; /* first: tu_io_tokenize and tu_io_reset use it */
    ref_io *shared;
} ref_ctx;

static kv_status ref_send(void *ctx, const client_request *rq, trial_request *out, char **reply,
                          char *err)
{
    ref_ctx *rc = ctx;
    ref_io *t = rc->shared;
    pthread_mutex_lock(&t->mu);
    t->sends++;
    if (++t->in_flight > t->max_in_flight)
        t->max_in_flight = t->in_flight;
    pthread_mutex_unlock(&t->mu);
    kv_status st = client_send(rc->c, rq, out, reply, err);
    long content = 0;
    for (size_t i = 0; i < rq->n_messages; i++)
        content += refsrv_count_tokens(rq->messages[i].content);
    pthread_mutex_lock(&t->mu);
    t->in_flight--;
    if (st == KV_OK && out->prompt_tokens != refsrv_chat_tokens((long)rq->n_messages, content))
        t->bad_counts++;
    pthread_mutex_unlock(&t->mu);
    return st;
}

static kv_status ref_worker_new(void *ctx, void **out, char *err)
{
    ref_ctx *w = calloc(1, sizeof *w);
    if (!w)
        return kv_fail(err, KV_ERR_NOMEM, "out of memory");
    w->shared = ((const ref_ctx *)ctx)->shared;
    kv_status st = client_new(&w->c, err);
    if (st != KV_OK) {
        free(w);
        return st;
    }
    w->shared->workers_made++;
    *out = w;
    return KV_OK;
}

static void ref_worker_free(void *ctx)
{
    ref_ctx *w = ctx;
    if (!w)
        return;
    client_free(w->c);
    free(w);
}

static refsrv *start_ref(void)
{
    refsrv_config cfg;
    refsrv_config_default(&cfg);
    cfg.port = 0;
    cfg.slots = 4;
    assert_true(costmodel_preset("laptop", &cfg.cost));
    cfg.cost.time_scale = 0.01;
    refsrv *srv = NULL;
    char err[KV_ERRLEN] = "";
    if (refsrv_start(&cfg, &srv, err) != KV_OK)
        fail_msg("%s", err);
    return srv;
}

/* Runs s into dir (io NULL: over the runner's own real clients); fails the
 * test unless the run succeeds. */
static void run_ref(const spec *s, runner_io *io, bool simulated, const char *dir,
                    runner_summary *sum)
{
    char err[KV_ERRLEN] = "";
    runner_options o;
    memset(&o, 0, sizeof o);
    o.out_dir = dir;
    o.io = io;
    o.simulated = simulated;
    runner_clear_stop();
    if (runner_run(s, &o, sum, err) != KV_OK)
        fail_msg("%s", err);
}

/* The journal in dir, checked by assert_exact_once. The caller frees it. */
static journal_data *load_exact(const spec *s, const char *dir)
{
    journal_data *d = runnertest_load(dir);
    assert_exact_once(s, d);
    return d;
}

static void runner_should_overlap_requests_on_a_four_slot_reference_server(void **state)
{
    (void)state;
    refsrv *srv = start_ref();
    char dir[64], err[KV_ERRLEN] = "";
    runnertest_tmpdir(dir, sizeof dir, "conc");
    spec *s = make_spec("llama.cpp", refsrv_port(srv), 3, 4, "");
    ref_io t;
    memset(&t, 0, sizeof t);
    pthread_mutex_init(&t.mu, NULL);
    ref_ctx main_ctx = {NULL, &t};
    assert_int_equal(client_new(&main_ctx.c, err), KV_OK);
    runner_io io = {&main_ctx,       ref_send, tu_io_tokenize, tu_io_reset, ref_worker_new,
                    ref_worker_free, NULL};
    runner_summary sum;
    run_ref(s, &io, true, dir, &sum);
    if (getenv("KVPROOF_TEST_VERBOSE"))
        fprintf(stderr, "reference server: %ld requests, at most %ld in flight\n", t.sends,
                t.max_in_flight);
    assert_int_equal(sum.ran, sum.planned);
    assert_int_equal(sum.failed, 0);
    assert_int_equal(t.workers_made, 4);
    assert_int_equal(t.bad_counts, 0);
    assert_true(t.max_in_flight > 1);
    assert_int_equal(refsrv_requests(srv), t.sends);
    journal_data_free(load_exact(s, dir));
    client_free(main_ctx.c);
    pthread_mutex_destroy(&t.mu);
    spec_free(s);
    runnertest_rmrf(dir);
    refsrv_stop(srv);
}

/* Trial [start, start + its requests' client time]: an underestimate of the
 * trial's span, so an overlap found here is real. */
static double trial_end(const trial_record *t)
{
    double ms = 0;
    for (size_t k = 0; k < t->n_turns; k++)
        if (isfinite(t->turns[k].total_ms))
            ms += t->turns[k].total_ms;
    return t->started_unix + ms / 1e3;
}

static void runner_should_give_each_worker_its_own_real_client(void **state)
{
    (void)state;
    refsrv *srv = start_ref();
    char dir[64];
    runnertest_tmpdir(dir, sizeof dir, "conc");
    spec *s = make_spec("llama.cpp", refsrv_port(srv), 3, 4, "");
    runner_summary sum;
    run_ref(s, NULL, false, dir, &sum);
    assert_int_equal(sum.ran, sum.planned);
    assert_int_equal(sum.failed, 0);
    journal_data *d = load_exact(s, dir);
    size_t overlaps = 0;
    for (size_t i = 0; i < d->n_trials; i++)
        for (size_t j = i + 1; j < d->n_trials; j++)
            overlaps += d->trials[j].started_unix < trial_end(&d->trials[i]) &&
                        d->trials[i].started_unix < trial_end(&d->trials[j]);
    if (getenv("KVPROOF_TEST_VERBOSE"))
        fprintf(stderr, "real clients: %zu overlapping trial pairs of %zu trials\n", overlaps,
                d->n_trials);
    assert_true(overlaps > 0);
    journal_data_free(d);
    spec_free(s);
    runnertest_rmrf(dir);
    refsrv_stop(srv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            runner_should_run_four_trials_at_once_and_journal_each_exactly_once, setup,
            runnertest_case_teardown),
        cmocka_unit_test_setup_teardown(
            runner_should_run_concurrency_one_on_the_calling_thread_in_plan_order, setup,
            runnertest_case_teardown),
        cmocka_unit_test_setup_teardown(
            runner_should_stop_every_worker_on_request_and_resume_to_the_plan, setup,
            runnertest_case_teardown),
        cmocka_unit_test_setup_teardown(
            runner_should_honour_caps_and_adaptive_stopping_under_concurrency, setup,
            runnertest_case_teardown),
        cmocka_unit_test(runner_should_overlap_requests_on_a_four_slot_reference_server),
        cmocka_unit_test(runner_should_give_each_worker_its_own_real_client),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
