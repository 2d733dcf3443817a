/* wiretest.h - helpers for the golden-wire tests: replay a fixture directory
 * (server/replay.h), run a small spec through `kvproof run` (KVPROOF_BIN)
 * against it, load the journal, and check it against what the replay
 * reported. Header-only (static inline) because every tests/test_*.c is its
 * own executable.
 *
 * A fixture test is, in short:
 *
 *   wire_case wc;
 *   wire_case_init(&wc, "tests/fixtures/wire/vllm/v0.11-prompt-tokens-details", "auto");
 *   wire_run_spec(&wc, WIRE_SPEC_WARMUP);      // starts the replay, runs, loads
 *   wire_check_common(&wc);                    // TTFT >= delay, no failures, ...
 *   wire_check_counts(&wc, true, true);        // prompt/cached tokens as replayed
 *   wire_case_free(&wc);
 *
 * The spec: system prompts of 0 and 1,024 tokens, query 16 tokens, cold and
 * warm, 2 repetitions, max_output_tokens WIRE_MAX_OUT; WIRE_SPEC_WARMUP adds
 * a warm-up request and random order, WIRE_SPEC_COLD_FIRST has no warm-up and
 * runs cell by cell (the 0-token cold cell first).
 */
#ifndef KV_WIRETEST_H
#define KV_WIRETEST_H

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "experiments/journal.h"
#include "experiments/runner.h"
#include "server/replay.h"
#include "tests/testutil.h"

/* Output tokens the spec asks for: tells measured requests apart from the
 * calibration and priming requests (max_tokens 1) in the replay's log. */
#define WIRE_MAX_OUT 7
#define WIRE_DELAY_MS 20.0
#define WIRE_LOG_CAP 4096

typedef enum wire_spec_kind { WIRE_SPEC_WARMUP = 0, WIRE_SPEC_COLD_FIRST } wire_spec_kind;

typedef struct wire_case {
    const char *fixture; /* directory, relative to the source tree */
    const char *api;     /* the spec's "api" ("auto", "lmstudio", ...) */
    replay_options ro;
    replay *rp;
    char dir[256]; /* scratch directory (spec, out/) */
    int exit_code; /* of `kvproof run` */
    journal_data *jd;
    replay_entry *log; /* the replay's log after the run */
    size_t n_log;
} wire_case;

static inline void wire_case_init(wire_case *wc, const char *fixture, const char *api)
{
    memset(wc, 0, sizeof *wc);
    wc->fixture = fixture;
    wc->api = api;
    replay_options_default(&wc->ro);
    wc->ro.first_token_delay_ms = WIRE_DELAY_MS;
}

static inline void wire_case_free(wire_case *wc)
{
    replay_stop(wc->rp);
    journal_data_free(wc->jd);
    free(wc->log);
    if (wc->dir[0]) {
        char cmd[512];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", wc->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", wc->dir);
    }
    memset(wc, 0, sizeof *wc);
}

/* Starts the replay of wc->fixture (fails the test on a bad fixture). */
static inline void wire_start(wire_case *wc)
{
    char err[KV_ERRLEN] = "";
    kv_status st = replay_start(wc->fixture, &wc->ro, &wc->rp, err);
    if (st != KV_OK)
        fail_msg("replay %s: %s", wc->fixture, err);
}

static inline void wire_write_spec(const wire_case *wc, wire_spec_kind kind, const char *path)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f,
            "{\"name\":\"wire\",\"seed\":5,\"targets\":[{\"name\":\"t\",\"base_url\":"
            "\"http://127.0.0.1:%d\",\"api\":\"%s\"}],"
            "\"workload\":{\"system_prompt_tokens\":[0,1024],\"query_tokens\":[16],"
            "\"max_output_tokens\":%d},\"cache_modes\":[\"cold\",\"warm\"],"
            "\"repetitions\":2,\"warmup_requests\":%d,\"order\":\"%s\","
            "\"timeouts\":{\"connect\":5,\"first_token\":30,\"total\":60},\"retries\":0}\n",
            replay_port(wc->rp), wc->api, WIRE_MAX_OUT, kind == WIRE_SPEC_WARMUP ? 1 : 0,
            kind == WIRE_SPEC_WARMUP ? "random" : "blocked");
    fclose(f);
}

/* Starts the replay, runs the spec through `kvproof run`, loads the journal
 * and the replay's log into wc. */
static inline void wire_run_spec(wire_case *wc, wire_spec_kind kind)
{
    const char *bin = getenv("KVPROOF_BIN");
    assert_non_null(bin);
    if (!wc->rp)
        wire_start(wc);
    snprintf(wc->dir, sizeof wc->dir, "/tmp/kvproof-wire-XXXXXX");
    assert_non_null(mkdtemp(wc->dir));
    char spec_path[320], out[320], cmd[1400], jpath[400], err[KV_ERRLEN] = "";
    snprintf(spec_path, sizeof spec_path, "%s/spec.json", wc->dir);
    snprintf(out, sizeof out, "%s/out", wc->dir);
    wire_write_spec(wc, kind, spec_path);
    snprintf(cmd, sizeof cmd, "'%s' run '%s' --out '%s' --quiet > '%s/log' 2>&1", bin, spec_path,
             out, wc->dir);
    int rc = system(cmd);
    wc->exit_code = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    snprintf(jpath, sizeof jpath, "%s/journal.jsonl", out);
    if (journal_load(jpath, &wc->jd, err) != KV_OK) {
        snprintf(cmd, sizeof cmd, "cat '%s/log' >&2", wc->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "(no log)\n");
        fail_msg("%s: no journal after kvproof run (exit %d): %s", wc->fixture, wc->exit_code, err);
    }
    size_t n = replay_log(wc->rp, 0, NULL, 0);
    wc->log = calloc(n ? n : 1, sizeof *wc->log);
    assert_non_null(wc->log);
    wc->n_log = replay_log(wc->rp, 0, wc->log, n);
    if (wc->n_log > n)
        wc->n_log = n;
}

/* The replay's log entries of the measured turns (max_tokens WIRE_MAX_OUT),
 * in order: with concurrency 1 they are the journal's turns in run order. */
static inline size_t wire_measured(const wire_case *wc, const replay_entry **out, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < wc->n_log && k < cap; i++)
        if (wc->log[i].generate && wc->log[i].max_tokens == WIRE_MAX_OUT)
            out[k++] = &wc->log[i];
    return k;
}

/* Every trial ok, every turn's TTFT >= the injected delay, the journal in
 * run order, and no cold turn served from the replay's cache (the replay's
 * own count, whether or not the server reports it). */
static inline void wire_check_common(const wire_case *wc)
{
    const journal_data *d = wc->jd;
    assert_true(d->n_trials > 0);
    const replay_entry **m = calloc(WIRE_LOG_CAP, sizeof *m);
    assert_non_null(m);
    size_t nm = wire_measured(wc, m, WIRE_LOG_CAP), k = 0;
    for (size_t i = 0; i < d->n_trials; i++) {
        const trial_record *t = &d->trials[i];
        if (!t->ok)
            fail_msg("%s: trial %s failed: %s", wc->fixture, t->id, t->error);
        assert_int_equal(t->run_position, i);
        for (size_t q = 0; q < t->n_turns; q++, k++) {
            const trial_request *tr = &t->turns[q];
            if (!(tr->ttft_ms >= WIRE_DELAY_MS))
                fail_msg("%s: %s turn %zu: ttft %.3f ms < injected %.1f ms", wc->fixture, t->id,
                         q + 1, tr->ttft_ms, WIRE_DELAY_MS);
            if (k >= nm)
                fail_msg("%s: %s: more journaled turns than measured requests (%zu)", wc->fixture,
                         t->id, nm);
            bool cold = t->kind != PLAN_MEASURE || t->mode == SPEC_COLD;
            if (cold && m[k]->cached_tokens > CACHECHECK_COLD_SLACK)
                fail_msg("%s: cold %s turn %zu was served %ld tokens from the cache", wc->fixture,
                         t->id, q + 1, m[k]->cached_tokens);
        }
    }
    assert_int_equal(k, nm);
    free(m);
    assert_int_equal(wc->exit_code, 0);
}

/* With reports_prompt, journaled prompt tokens equal what the replay
 * reported; with reports_cached, so do cached tokens, and the cache state of
 * measured turns is verified (contaminated for a warm turn the replay did
 * not serve from its cache). */
static inline void wire_check_counts(const wire_case *wc, bool reports_prompt, bool reports_cached)
{
    const journal_data *d = wc->jd;
    const replay_entry **m = calloc(WIRE_LOG_CAP, sizeof *m);
    assert_non_null(m);
    size_t nm = wire_measured(wc, m, WIRE_LOG_CAP), k = 0;
    for (size_t i = 0; i < d->n_trials; i++) {
        const trial_record *t = &d->trials[i];
        for (size_t q = 0; q < t->n_turns && k < nm; q++, k++) {
            const trial_request *tr = &t->turns[q];
            if (reports_prompt && tr->prompt_tokens != m[k]->prompt_tokens)
                fail_msg("%s: %s turn %zu: prompt_tokens %ld, replay reported %ld", wc->fixture,
                         t->id, q + 1, tr->prompt_tokens, m[k]->prompt_tokens);
            if (!reports_cached || t->kind != PLAN_MEASURE)
                continue;
            if (tr->cached_tokens != m[k]->cached_tokens)
                fail_msg("%s: %s turn %zu: cached_tokens %ld, replay reported %ld", wc->fixture,
                         t->id, q + 1, tr->cached_tokens, m[k]->cached_tokens);
            /* Verified unless the replay really served a warm turn uncached
             * (a layout that never caches): then contaminated is the truth. */
            double need = CACHECHECK_WARM_MIN_FRACTION * (double)tr->prefix_tokens;
            bool good = t->mode == SPEC_COLD || (double)m[k]->cached_tokens >= need;
            trial_cache_state want = good ? TRIAL_CACHE_VERIFIED : TRIAL_CACHE_CONTAMINATED;
            if (tr->cache_state != want)
                fail_msg("%s: %s turn %zu: cache state %d, expected %d", wc->fixture, t->id, q + 1,
                         (int)tr->cache_state, (int)want);
        }
    }
    free(m);
}

/* Every measured turn's server prefill time equals the injected delay in ms
 * (the replay reports it in the fixture's unit). */
static inline void wire_check_prefill(const wire_case *wc)
{
    const journal_data *d = wc->jd;
    for (size_t i = 0; i < d->n_trials; i++)
        for (size_t q = 0; q < d->trials[i].n_turns; q++) {
            double p = d->trials[i].turns[q].server_prefill_ms;
            if (!(fabs(p - WIRE_DELAY_MS) < 0.01))
                fail_msg("%s: %s turn %zu: server_prefill_ms %.4f, expected %.1f", wc->fixture,
                         d->trials[i].id, q + 1, p, WIRE_DELAY_MS);
        }
}

/* A fixture's stream read through both specs: what the stream reports
 * (prompt and cached counts, the server's prefill time) and a check of the
 * fixture's own on each run (NULL: none), after the common ones. */
typedef struct wire_both {
    const char *fixture, *api;
    bool reports_prompt, reports_cached, prefill;
    void (*also)(const wire_case *wc);
} wire_both;

/* One spec of wire_both_specs: the fixture read through the spec of kind. */
static inline void wire_read_spec(const wire_both *b, wire_spec_kind kind)
{
    wire_case wc;
    wire_case_init(&wc, b->fixture, b->api);
    wire_run_spec(&wc, kind);
    wire_check_common(&wc);
    wire_check_counts(&wc, b->reports_prompt, b->reports_cached);
    if (b->prefill)
        wire_check_prefill(&wc);
    if (b->also)
        b->also(&wc);
    wire_case_free(&wc);
}

static inline void wire_both_specs(const wire_both *b)
{
    wire_read_spec(b, WIRE_SPEC_WARMUP);
    wire_read_spec(b, WIRE_SPEC_COLD_FIRST);
}

/* A cmocka test of the wire_both in *state (a TU_CASE row). */
static inline void wire_both_test(void **state)
{
    wire_both_specs(*state);
}

/* Runs `kvproof probe URL --format json` (extra: more options, may be "")
 * against the replay (started here if needed); returns the parsed JSON (the
 * caller deletes it) and the exit code in *code. */
static inline cJSON *wire_probe(wire_case *wc, const char *extra, int *code)
{
    if (!wc->rp)
        wire_start(wc);
    kv_buf out = {0};
    *code = tu_kvproof(&out, "probe http://127.0.0.1:%d --format json %s 2>/dev/null",
                       replay_port(wc->rp), extra ? extra : "");
    cJSON *j = cJSON_Parse(out.data);
    if (!j)
        fail_msg("%s: kvproof probe printed no JSON (exit %d): %s", wc->fixture, *code, out.data);
    kv_buf_free(&out);
    return j;
}

/* The string at a dotted path of j, or "" when absent. */
static inline const char *wire_jstr(const cJSON *j, const char *a, const char *b)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, a);
    if (b)
        v = cJSON_GetObjectItemCaseSensitive(v, b);
    return cJSON_IsString(v) ? v->valuestring : "";
}

/* true when j[a][b] is JSON true. */
static inline bool wire_jtrue(const cJSON *j, const char *a, const char *b)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, a);
    if (b)
        v = cJSON_GetObjectItemCaseSensitive(v, b);
    return cJSON_IsTrue(v);
}

/* What `kvproof probe --format json EXTRA` must say of a fixture's server
 * (wire_probe_says): exit 0, the strings named (NULL: not checked), the
 * flags that are true here, and more checks of the JSON (NULL: none). */
typedef struct wire_probe_want {
    const char *fixture, *extra;
    const char *server, *dialect, *model;
    bool tokenizes, reports_cached, cache_works;
    void (*also)(const cJSON *j);
} wire_probe_want;

static inline void wire_expect_str(const char *fixture, const cJSON *j, const char *key,
                                   const char *want)
{
    if (want && strcmp(wire_jstr(j, key, NULL), want) != 0)
        fail_msg("%s: probe said %s %s, expected %s", fixture, key, wire_jstr(j, key, NULL), want);
}

static inline void wire_expect_true(const char *fixture, const cJSON *j, bool want, const char *a,
                                    const char *b)
{
    if (want && !wire_jtrue(j, a, b))
        fail_msg("%s: probe's %s%s%s is not true", fixture, a, b ? "." : "", b ? b : "");
}

/* Probes the replay of w->fixture; every failure names the fixture. */
static inline void wire_probe_says(const wire_probe_want *w)
{
    wire_case wc;
    wire_case_init(&wc, w->fixture, "auto");
    int code = -1;
    cJSON *j = wire_probe(&wc, w->extra, &code);
    if (code != 0)
        fail_msg("%s: kvproof probe exited %d", w->fixture, code);
    wire_expect_str(w->fixture, j, "server", w->server);
    wire_expect_str(w->fixture, j, "dialect", w->dialect);
    wire_expect_str(w->fixture, j, "model", w->model);
    wire_expect_true(w->fixture, j, w->tokenizes, "tokenizes", NULL);
    wire_expect_true(w->fixture, j, w->reports_cached, "cache_check", "reports_cached");
    wire_expect_true(w->fixture, j, w->cache_works, "cache_check", "cache_works");
    if (w->also)
        w->also(j);
    cJSON_Delete(j);
    wire_case_free(&wc);
}

/* A cmocka test of the wire_probe_want in *state (a TU_CASE row). */
static inline void wire_probe_test(void **state)
{
    wire_probe_says(*state);
}

#endif
