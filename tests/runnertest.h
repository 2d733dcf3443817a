/* runnertest.h - helpers shared by the runner tests (test_runner.c,
 * test_runner_conc.c, test_runner_server.c): a scratch run directory and its
 * removal, loading the journal a run wrote, adaptive stopping as the CLI
 * passes it, running a spec over a runner_io, the check that every planned
 * trial is journaled once, and the fake networks' common parts (their
 * whitespace and punctuation tokenizer, the chat template, a reply's fields,
 * the check of replayed history), and one test's run as a cmocka
 * setup/teardown pair (runnertest_case: directory, spec, network, summary,
 * journal) with the checks of a stopped, resumed or capped run.
 * Header-only (static inline) because every tests/test_*.c is its own
 * executable. */
#ifndef KV_RUNNERTEST_H
#define KV_RUNNERTEST_H

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

#include "common/util.h"
#include "experiments/journal.h"
#include "experiments/plan.h"
#include "experiments/runner.h"
#include "experiments/spec.h"
#include "jsonlcheck.h"
#include "net/client.h"
#include "server/refsrv.h"
#include "stats/stopping.h"

/* Creates a fresh directory /tmp/kvproof-<tag>-XXXXXX into buf. */
static inline void runnertest_tmpdir(char *buf, size_t n, const char *tag)
{
    snprintf(buf, n, "/tmp/kvproof-%s-XXXXXX", tag);
    assert_non_null(mkdtemp(buf));
}

static inline void runnertest_rmrf(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* Loads DIR/journal.jsonl; fails the test when it cannot, or when a line
 * is not strict UTF-8 and valid JSON (jsonlcheck.h). */
static inline journal_data *runnertest_load(const char *dir)
{
    char path[512], err[KV_ERRLEN] = "";
    snprintf(path, sizeof path, "%s/journal.jsonl", dir);
    jsonlcheck_file(path);
    journal_data *d = NULL;
    if (journal_load(path, &d, err) != KV_OK)
        fail_msg("journal: %s", err);
    return d;
}

/* Adaptive stopping for runner_options.cell_done, as the CLI passes it. */
static inline bool runnertest_cell_done(void *ctx, const double *ttft_ms, size_t n,
                                        double target_rel_ci, long min_repetitions)
{
    (void)ctx;
    return stopping_cell_done(ttft_ms, n, target_rel_ci, min_repetitions);
}

/* The fake servers' tokenizer: a run of letters and digits is one token,
 * any other non-space byte is one. Appends the first max tokens' hashes to
 * out and counts all of them in *n. */
static inline void runnertest_scan(const char *s, uint64_t *out, size_t *n, size_t max)
{
    while (*s) {
        if (isspace((unsigned char)*s)) {
            s++;
            continue;
        }
        const char *st = s;
        if (isalnum((unsigned char)*s))
            while (*s && isalnum((unsigned char)*s))
                s++;
        else
            s++;
        if (*n < max)
            out[*n] = kv_hash64(st, (size_t)(s - st), 1);
        (*n)++;
    }
}

/* How many tokens runnertest_scan finds in s. */
static inline long runnertest_text_tokens(const char *s)
{
    size_t n = 0;
    runnertest_scan(s, NULL, &n, 0);
    return (long)n;
}

/* Runs s over io into dir, with adaptive stopping as the CLI passes it. */
static inline kv_status runnertest_run(const spec *s, runner_io *io, const char *dir, bool resume,
                                       runner_summary *sum, char *err)
{
    runner_options o = {
        .out_dir = dir, .resume = resume, .io = io, .cell_done = runnertest_cell_done};
    runner_clear_stop();
    return runner_run(s, &o, sum, err);
}

/* Every plan index appears exactly once, no line is torn or doubled. */
static inline void runnertest_assert_each_trial_once(const spec *s, const journal_data *d)
{
    plan *p = NULL;
    char err[KV_ERRLEN] = "";
    assert_int_equal(plan_build(s, s->seed, &p, err), KV_OK);
    assert_int_equal(d->torn_lines, 0);
    assert_int_equal(d->duplicate_trials, 0);
    assert_int_equal(d->n_trials, p->n_trials);
    bool *seen = calloc(p->n_trials, 1);
    assert_non_null(seen);
    for (size_t i = 0; i < d->n_trials; i++) {
        size_t k = d->trials[i].plan_index;
        assert_true(k < p->n_trials);
        assert_false(seen[k]);
        seen[k] = true;
        assert_string_equal(d->trials[i].id, p->trials[k].id);
    }
    free(seen);
    plan_free(p);
}

/* ---- the fake networks' common parts --------------------------------------- */

/* runner_io tokenize of a fake that always answers: runnertest_scan's count. */
static inline kv_status runnertest_io_tokenize(void *ctx, const spec_target *t, spec_api api,
                                               const char *text, long *n, char *err)
{
    (void)ctx;
    (void)t;
    (void)api;
    (void)err;
    *n = runnertest_text_tokens(text);
    return KV_OK;
}

/* A fake reply before the server decides: one attempt, nothing known. */
static inline void runnertest_reply_unknown(trial_request *out)
{
    int turn = out->turn;
    memset(out, 0, sizeof *out);
    out->turn = turn;
    out->attempts = 1;
    out->prompt_tokens = out->cached_tokens = out->prefix_tokens = out->output_tokens = -1;
    out->ttfb_ms = out->ttft_ms = out->first_content_ms = out->last_token_ms = NAN;
    out->total_ms = out->gap_median_ms = out->gap_p99_ms = NAN;
    out->server_prefill_ms = out->server_overhead_us = NAN;
}

/* The fake template's tokens of rq into cur (room for max + 3 + 4 per
 * message): <|im_start|> role \n content <|im_end|> per message, then the
 * generation prompt. Returns how many. */
static inline size_t runnertest_template(const client_request *rq, uint64_t *cur, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < rq->n_messages; i++) {
        cur[n++] = 1;
        cur[n++] = kv_hash64(rq->messages[i].role, strlen(rq->messages[i].role), 2);
        cur[n++] = 3;
        runnertest_scan(rq->messages[i].content, cur, &n, max);
        cur[n++] = 2;
    }
    cur[n++] = 1;
    cur[n++] = 4;
    cur[n++] = 3;
    return n;
}

/* How many of rq's assistant messages are none of the replies given. */
static inline long runnertest_unknown_history(const client_request *rq, char *const *replies,
                                              long n_replies)
{
    long bad = 0;
    for (size_t i = 0; i < rq->n_messages; i++) {
        if (strcmp(rq->messages[i].role, "assistant") != 0)
            continue;
        bool known = false;
        for (long k = 0; k < n_replies && !known; k++)
            known = strcmp(replies[k], rq->messages[i].content) == 0;
        bad += !known;
    }
    return bad;
}

/* A fake success: n prompt tokens of which `cached` reused (-1: not
 * reported), one output token, a TTFT that grows with the uncached tokens,
 * and the reply text (a copy) when the runner asks for it. */
static inline void runnertest_reply_ok(trial_request *out, size_t n, long cached, size_t common,
                                       const char *text, char **reply)
{
    out->ok = true;
    out->prompt_tokens = (long)n;
    out->cached_tokens = cached;
    out->output_tokens = 1;
    out->ttfb_ms = 0.2;
    out->ttft_ms = 0.5 + 0.001 * (double)(n - common);
    out->total_ms = out->ttft_ms + 1;
    out->raw = strdup("{\"fake\":true}");
    if (reply)
        *reply = strdup(text);
}

/* The real client over a reference server, each reply's counts handed to
 * check with what the server saw of the request (refsrv_last). c first:
 * tu_io_tokenize and tu_io_reset use it; a test's own context starts with
 * this struct. */
typedef struct runnertest_truth runnertest_truth;
struct runnertest_truth {
    client *c;
    refsrv *srv;
    long sends;
    void (*check)(runnertest_truth *t, const client_request *rq, const trial_request *out,
                  const refsrv_truth *tr);
};

/* runner_io send over a runnertest_truth (ctx). */
static inline kv_status runnertest_truth_send(void *ctx, const client_request *rq,
                                              trial_request *out, char **reply, char *err)
{
    runnertest_truth *t = ctx;
    kv_status st = client_send(t->c, rq, out, reply, err);
    if (st != KV_OK)
        return st;
    refsrv_truth tr;
    assert_true(refsrv_last(t->srv, &tr));
    t->sends++;
    t->check(t, rq, out, &tr);
    return KV_OK;
}

/* ---- one test's run of the runner ---------------------------------------- */

/* A test's run: its scratch directory, its spec (owned), the network the
 * runner talks to (io, over the fake `net` that net_free frees), the last
 * run's summary and error, and the journal last loaded (owned). Made as the
 * cmocka state by runnertest_case_setup, freed by runnertest_case_teardown. */
typedef struct runnertest_case {
    char dir[64];
    char err[KV_ERRLEN];
    spec *s;
    runner_io io;
    void *net;
    void (*net_free)(void *net);
    runner_summary sum;
    journal_data *d;
} runnertest_case;

/* cmocka setup: a case in *state with a fresh /tmp/kvproof-TAG-XXXXXX, no
 * spec yet, io over net. */
static inline int runnertest_case_setup(void **state, const char *tag, runner_io io, void *net,
                                        void (*net_free)(void *net))
{
    runnertest_case *c = calloc(1, sizeof *c);
    assert_non_null(c);
    runnertest_tmpdir(c->dir, sizeof c->dir, tag);
    c->io = io;
    c->net = net;
    c->net_free = net_free;
    *state = c;
    return 0;
}

/* Frees the loaded journal, the spec and the network; removes the directory. */
static inline void runnertest_case_clear(runnertest_case *c)
{
    journal_data_free(c->d);
    c->d = NULL;
    spec_free(c->s);
    c->s = NULL;
    c->net_free(c->net);
    runnertest_rmrf(c->dir);
}

/* cmocka teardown of runnertest_case_setup. */
static inline int runnertest_case_teardown(void **state)
{
    runnertest_case *c = *state;
    runnertest_case_clear(c);
    free(c);
    return 0;
}

/* Starts over within one test: everything cleared, a new directory under the
 * same tag, io over a new net. */
static inline void runnertest_case_again(runnertest_case *c, const char *tag, runner_io io,
                                         void *net)
{
    runnertest_case_clear(c);
    runnertest_tmpdir(c->dir, sizeof c->dir, tag);
    c->io = io;
    c->net = net;
}

/* Runs the case's spec into its directory (runnertest_run). */
static inline kv_status runnertest_case_run(runnertest_case *c, bool resume)
{
    return runnertest_run(c->s, &c->io, c->dir, resume, &c->sum, c->err);
}

/* runnertest_case_run that fails the test, with the runner's message,
 * unless the run succeeds. */
static inline void runnertest_case_run_ok(runnertest_case *c, bool resume)
{
    if (runnertest_case_run(c, resume) != KV_OK)
        fail_msg("%s", c->err);
}

/* Loads the journal the case's run wrote (runnertest_load) in place of the
 * one loaded before; the case owns it. */
static inline journal_data *runnertest_case_load(runnertest_case *c)
{
    journal_data_free(c->d);
    c->d = runnertest_load(c->dir);
    return c->d;
}

/* A run stopped on request: it ran some but not all of the plan. */
static inline void runnertest_assert_interrupted(const runner_summary *sum)
{
    assert_true(sum->interrupted);
    assert_true(sum->ran > 0);
    assert_true(sum->ran < sum->planned);
}

/* A resumed run that finished the plan: `first` trials were done before. */
static inline void runnertest_assert_resumed(const runner_summary *sum, size_t first)
{
    assert_int_equal(sum->done_before, first);
    assert_int_equal(sum->done_before + sum->ran, sum->planned);
}

/* The journal holds what the run ran, no line torn. */
static inline void runnertest_assert_journal_of_run(const journal_data *d,
                                                    const runner_summary *sum)
{
    assert_int_equal(d->torn_lines, 0);
    assert_int_equal(d->n_trials, sum->ran);
}

/* A max_trials cap of `cap`: the journal holds exactly cap measured trials
 * and the rest of the plan was skipped. */
static inline void runnertest_assert_capped(runnertest_case *c, size_t cap)
{
    journal_data *d = runnertest_case_load(c);
    size_t measured = 0;
    for (size_t i = 0; i < d->n_trials; i++)
        measured += d->trials[i].kind == PLAN_MEASURE;
    assert_int_equal(measured, cap);
    assert_int_equal(c->sum.ran + c->sum.skipped, c->sum.planned);
}

#endif
