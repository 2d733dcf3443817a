/* test_llama_contamination_real.c - cache contamination on a real llama.cpp
 * llama-server with its host-RAM prompt cache on (--cache-ram 1024), label
 * `real`. The group starts the server with scripts/real-engine/ on an
 * ephemeral port and stops it by its PID.
 *
 * A "cold" request made only by erasing the slot (POST /slots/0?action=erase,
 * no cache_prompt:false, no nonce) is not cold: once another prompt has
 * pushed the first into the RAM cache, the erased slot restores it. Driven at
 * the client level, that request is judged by the runner's own rule
 * (cachecheck_state) and must come out contaminated; the same sequence with
 * cache_prompt:false must come out verified cold. Then `kvproof run
 * data/experiments/real-llama-contamination.json` against the same server
 * must verify every cold and warm trial.
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

#include "experiments/cachecheck.h"
#include "net/client.h"
#include "experiments/journal.h"
#include "jsonlcheck.h"
#include "realtest.h"
#include "tests/testutil.h"

#define CORPUS "data/corpus/engineering-notes.txt"
#define CONTAM_SPEC "data/experiments/real-llama-contamination.json"
#define SLICE 4000 /* characters of corpus per system prompt (~900 tokens) */

typedef struct fixture {
    realsrv srv;
    client *c;
    char *corpus;
    size_t corpus_len;
    char name[16];
    spec_target target;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    char err[KV_ERRLEN] = "";
    if (!f)
        return -1;
    *state = f;
    if (kv_read_file(CORPUS, &f->corpus, &f->corpus_len, err) != KV_OK ||
        f->corpus_len < 3 * SLICE) {
        fprintf(stderr, "[real] %s\n", err[0] ? err : "corpus too short");
        return -1;
    }
    if (client_new(&f->c, err) != KV_OK) {
        fprintf(stderr, "[real] %s\n", err);
        return -1;
    }
    /* A server that cannot be built or started fails the group (never a skip). */
    if (realsrv_start(&f->srv, "--cache-ram 1024") != 0)
        return -1;
    snprintf(f->name, sizeof f->name, "llama");
    f->target.name = f->name;
    f->target.base_url = f->srv.url;
    f->target.api = SPEC_API_LLAMACPP;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (f) {
        realsrv_stop(&f->srv);
        client_free(f->c);
        free(f->corpus);
    }
    free(f);
    return 0;
}

/* One chat request: system = corpus[at, at+SLICE), a fixed question. */
static void send_prompt(fixture *f, size_t at, bool no_cache, trial_request *q)
{
    char sys[SLICE + 1];
    memcpy(sys, f->corpus + at, SLICE);
    sys[SLICE] = '\0';
    client_message msgs[] = {{"system", sys}, {"user", "What does a prefix cache keep?"}};
    client_request rq = {&f->target, SPEC_API_LLAMACPP, msgs, 2, 1, 0.0, no_cache, 10, 300, 400, 1,
                         false};
    char err[KV_ERRLEN] = "";
    memset(q, 0, sizeof *q);
    q->turn = 1;
    if (client_send(f->c, &rq, q, NULL, err) != KV_OK)
        fail_msg("request failed: %s (%s)", err, q->error);
    assert_true(q->ok);
    assert_true(q->cached_tokens >= 0);
}

static void erase_slot(fixture *f)
{
    char err[KV_ERRLEN] = "";
    if (client_reset_cache(f->c, &f->target, SPEC_API_LLAMACPP, err) != KV_OK)
        fail_msg("slot erase failed: %s", err);
}

/* A cache state as the journal names it. */
static const char *state_name(trial_cache_state s)
{
    static const char *const names[] = {"unknown", "verified", "inferred", "contaminated"};
    return (size_t)s < sizeof names / sizeof names[0] ? names[s] : "unknown";
}

/* Prompt A (at offset a of the text) into the slot, B (at b) after it, so
 * that A goes to the RAM cache, a slot erase, then A again as a cold
 * request (no_cache: with cache_prompt:false). The cold request's cache
 * state as the runner judges it; prime and cold are the caller's to free
 * (their raw). */
static trial_cache_state cold_after_erase(fixture *f, size_t a, size_t b, bool no_cache,
                                          trial_request *prime, trial_request *cold)
{
    trial_request other;
    send_prompt(f, a, false, prime);
    send_prompt(f, b, false, &other);
    free(other.raw);
    erase_slot(f);
    send_prompt(f, a, no_cache, cold);
    return cachecheck_state(SPEC_API_LLAMACPP, true, cold->ok, cold->cached_tokens, 0);
}

static void
slot_erase_cold_should_be_flagged_contaminated_when_the_ram_cache_restores_it(void **state)
{
    fixture *f = *state;
    trial_request prime, cold;
    /* "cold" by slot erase only */
    trial_cache_state st = cold_after_erase(f, 0, 2 * SLICE, false, &prime, &cold);
    print_message("[real] cold by slot erase only: %ld of %ld prompt tokens restored from the "
                  "RAM cache, ttft %.1f ms (first sending %.1f ms): %s\n",
                  cold.cached_tokens, cold.prompt_tokens, cold.ttft_ms, prime.ttft_ms,
                  state_name(st));
    assert_true(cold.prompt_tokens == prime.prompt_tokens);
    assert_true(cold.cached_tokens > cold.prompt_tokens / 2);
    assert_int_equal(st, TRIAL_CACHE_CONTAMINATED);
    free(prime.raw);
    free(cold.raw);
}

static void cache_prompt_false_cold_should_stay_cold_with_the_ram_cache_on(void **state)
{
    fixture *f = *state;
    trial_request prime, cold;
    trial_cache_state st = cold_after_erase(f, SLICE, 2 * SLICE + 500, true, &prime, &cold);
    print_message("[real] cold with cache_prompt:false: %ld of %ld prompt tokens cached, ttft "
                  "%.1f ms: %s\n",
                  cold.cached_tokens, cold.prompt_tokens, cold.ttft_ms, state_name(st));
    assert_true(cold.cached_tokens == 0);
    assert_int_equal(st, TRIAL_CACHE_VERIFIED);
    free(prime.raw);
    free(cold.raw);
}

static void runner_trials_should_be_verified_with_the_ram_cache_on(void **state)
{
    fixture *f = *state;
    char dir[400], cmd[1600];
    snprintf(dir, sizeof dir, "%s/run", f->srv.dir);
    snprintf(cmd, sizeof cmd, "'%s' run '%s' --out '%s' --url 'llama=%s'", realtest_bin(),
             CONTAM_SPEC, dir, f->srv.url);
    fprintf(stderr, "[real] %s\n", cmd);
    kv_buf out = {0};
    int rc = realtest_sh(cmd, &out);
    print_message("%s", out.data ? out.data : "");
    kv_buf_free(&out);

    journal_data *d = realtest_load_run(dir, rc);
    size_t cold = 0, warm = 0;
    for (size_t i = 0; i < d->n_trials; i++) {
        const trial_record *t = &d->trials[i];
        if (!t->ok)
            fail_msg("%s failed: %s", t->id, t->error);
        const trial_request *q = &t->turns[0];
        print_message("[real] %s: %ld of %ld tokens cached (prefix %ld), %s\n", t->id,
                      q->cached_tokens, q->prompt_tokens, q->prefix_tokens,
                      state_name(q->cache_state));
        assert_false(t->contaminated);
        assert_int_equal(q->cache_state, TRIAL_CACHE_VERIFIED);
        if (t->mode == SPEC_COLD) {
            assert_true(q->cached_tokens == 0);
            cold++;
        } else {
            assert_true((double)q->cached_tokens >= 0.9 * (double)q->prefix_tokens);
            warm++;
        }
    }
    assert_int_equal(cold, 2);
    assert_int_equal(warm, 2);
    journal_data_free(d);
    /* The outputs (results.json, report.pdf) are test_llama_real's concern;
     * here only the journal and the trials' cache states matter. */
    if (rc != 0)
        print_message("[real] note: kvproof run exited %d (outputs; the journal is complete)\n",
                      rc);
    assert_true(rc == 0 || rc == 1);
}

TU_MAIN(
    setup, teardown,
    cmocka_unit_test(slot_erase_cold_should_be_flagged_contaminated_when_the_ram_cache_restores_it),
    cmocka_unit_test(cache_prompt_false_cold_should_stay_cold_with_the_ram_cache_on),
    cmocka_unit_test(runner_trials_should_be_verified_with_the_ram_cache_on))
