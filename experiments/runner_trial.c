/* runner_trial.c - one trial of the plan (runner_state.h): its prompts, the
 * priming request of a warm session, every turn sent through the worker's
 * runner_io, and the per-request cache check (cachecheck.h).
 */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "common/utf8.h"
#include "common/util.h"
#include "experiments/cachecheck.h"
#include "experiments/plan.h"
#include "experiments/prompt.h"
#include "experiments/runner.h"
#include "experiments/runner_state.h"

static uint64_t turn_nonce(uint64_t nonce, long turn)
{
    if (turn <= 1)
        return nonce;
    uint64_t key[2] = {nonce, (uint64_t)turn};
    return kv_hash64(key, sizeof key, 0x6e6f6e6365ULL);
}

/* dst (TRIAL_REASON_LEN bytes) = prefix + msg, cut to fit. */
void runner_trial_reason(char *dst, const char *prefix, const char *msg)
{
    char full[2 * TRIAL_REASON_LEN];
    /* Longer texts are cut below; testing the result keeps
     * -Wformat-truncation from warning about it. */
    if (snprintf(full, sizeof full, "%s%s", prefix, msg) < 0)
        full[0] = '\0';
    size_t n = kv_utf8_cut(full, strlen(full), TRIAL_REASON_LEN - 1); /* whole characters */
    memcpy(dst, full, n);
    dst[n] = '\0';
}

void runner_trial_turn_reason(char *dst, long turn, const char *msg)
{
    char prefix[32];
    snprintf(prefix, sizeof prefix, "turn %ld: ", turn);
    runner_trial_reason(dst, prefix, msg);
}

void runner_trial_request_init(trial_request *q, int turn)
{
    trial_request_init(q, turn);
    snprintf(q->error, sizeof q->error, "not run: an earlier request of the session failed");
}

cJSON *runner_trial_raw_open(const trial_request *q)
{
    cJSON *root = q->raw ? cJSON_Parse(q->raw) : NULL;
    if (cJSON_IsObject(root))
        return root;
    cJSON_Delete(root);
    return cJSON_CreateObject();
}

void runner_trial_raw_save(trial_request *q, cJSON *root)
{
    char *txt = root ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (!txt)
        return;
    free(q->raw);
    q->raw = strdup(txt);
    cJSON_free(txt);
}

/* Adds {"prime": {...}} to the first turn's raw JSON. */
static void attach_prime(trial_request *turn1, const trial_request *prime)
{
    cJSON *root = runner_trial_raw_open(turn1);
    if (!root)
        return;
    cJSON *pj = cJSON_CreateObject();
    if (!pj) {
        cJSON_Delete(root);
        return;
    }
    cJSON_AddBoolToObject(pj, "ok", prime->ok);
    cJSON_AddNumberToObject(pj, "attempts", prime->attempts);
    cJSON_AddNumberToObject(pj, "prompt_tokens", (double)prime->prompt_tokens);
    cJSON_AddNumberToObject(pj, "cached_tokens", (double)prime->cached_tokens);
    if (isfinite(prime->ttft_ms))
        cJSON_AddNumberToObject(pj, "ttft_ms", prime->ttft_ms);
    if (isfinite(prime->total_ms))
        cJSON_AddNumberToObject(pj, "total_ms", prime->total_ms);
    cJSON_AddItemToObject(root, "prime", pj);
    runner_trial_raw_save(turn1, root);
}

typedef struct session {
    char **queries;  /* query text per turn (0-based) */
    long *q_counted; /* their token counts */
    char **replies;  /* reply text per finished turn */
    size_t n;
} session;

static void session_free(session *se)
{
    for (size_t i = 0; i < se->n; i++) {
        free(se->queries[i]);
        free(se->replies[i]);
    }
    free(se->queries);
    free(se->q_counted);
    free(se->replies);
    memset(se, 0, sizeof *se);
}

/* A prompt of exact length, its tokens counted with the calling worker's
 * network context: no lock is held during a /tokenize round trip (the
 * synthesiser guards its own cache; runner_target.c's count_usage takes the synth lock). */
kv_status runner_trial_synth(target_state *ts, const runner_io *io, prompt_role role, long n_tokens,
                             uint64_t nonce, long variant, char **out, long *counted, char *err)
{
    synth_ctx k = {ts, io};
    return prompt_make_with(ts->ps, &k, role, n_tokens, nonce, variant, out, counted, err);
}

/* The head text of a turn: the system prompt, or (no system prompt, cold)
 * the first question with the turn's nonce at token 0. */
static kv_status head_text(target_state *ts, const runner_io *io, const plan_trial *pt,
                           uint64_t nonce, char **out, long *counted, char *err)
{
    if (pt->system_prompt_tokens > 0)
        return runner_trial_synth(ts, io, PROMPT_SYSTEM, pt->system_prompt_tokens, nonce, 0, out,
                                  counted, err);
    return runner_trial_synth(ts, io, PROMPT_SYSTEM, pt->query_tokens, nonce, 0, out, counted, err);
}

/* After a complete reply: learns that the server reports cached counts, and
 * reads a missing count as 0 once it has (vLLM: prompt_tokens_details only
 * `if enable_prompt_tokens_details and num_cached_tokens`). */
void runner_trial_note_cached(target_state *ts, trial_request *q)
{
    if (ts->api != SPEC_API_OPENAI_CHAT && ts->api != SPEC_API_OPENAI_COMPLETIONS)
        return;
    if (q->cached_tokens >= 0)
        atomic_store(&ts->shows_cached, true);
    else if (q->prompt_tokens >= 0 && atomic_load(&ts->shows_cached))
        q->cached_tokens = 0;
}

client_request runner_trial_request(const spec *s, const target_state *ts,
                                    const client_message *msgs, size_t n, long max_out,
                                    bool no_cache)
{
    client_request rq = {ts->t,
                         ts->api,
                         msgs,
                         n,
                         max_out,
                         s->temperature_set ? s->temperature : NAN,
                         no_cache,
                         s->timeout_connect_s,
                         s->timeout_first_token_s,
                         s->timeout_total_s,
                         s->retries,
                         false};
    return rq;
}

/* Sends one request through io and fills q; the reply text goes to *reply.
 * A cold request first resets the server's cache where it can, but only
 * when trials run one at a time: with concurrency > 1 a reset would wipe the
 * prefixes other workers' warm sessions are measuring (the nonce at token 0
 * still keeps a cold prefix unshared). */
kv_status runner_trial_send(run *r, const runner_io *io, target_state *ts,
                            const client_message *msgs, size_t n, bool cold, long max_out,
                            trial_request *q, char **reply)
{
    const spec *s = r->s;
    client_request rq = runner_trial_request(s, ts, msgs, n, max_out, cold);
    int turn = q->turn;
    char err[KV_ERRLEN] = "";
    if (cold && ts->reset >= 0 && s->concurrency <= 1) {
        kv_status rs = io->reset_cache(io->ctx, ts->t, ts->api, err);
        ts->reset = rs == KV_OK ? 1 : (rs == KV_ERR_UNSUPPORTED ? -1 : ts->reset);
        if (rs == KV_ERR_UNSUPPORTED)
            snprintf(ts->reset_note, sizeof ts->reset_note, "%s", err);
        err[0] = '\0';
    }
    kv_status st = io->send(io->ctx, &rq, q, reply, err);
    q->turn = turn;
    if (st != KV_OK) {
        q->ok = false;
        if (!q->error[0] || strncmp(q->error, "not run", 7) == 0)
            runner_trial_reason(q->error, "", err[0] ? err : kv_strerror(st));
        if (q->attempts < 1)
            q->attempts = 1;
        return st;
    }
    q->ok = true;
    q->error[0] = '\0';
    runner_trial_note_cached(ts, q);
    return KV_OK;
}

static void check_cache(const target_state *ts, bool cold, trial_request *q)
{
    q->cache_state = cachecheck_state(ts->api, cold, q->ok, q->cached_tokens, q->prefix_tokens);
}

/* One trial in progress: what its steps share. */
typedef struct trial_ctx {
    run *r;
    const runner_io *io; /* the worker's */
    const plan_trial *pt;
    target_state *ts;
    trial_record *rec;
    bool warm, measured; /* a cold trial is one that is not warm */
    bool sys;            /* the trial has a system prompt */
    long turns;
    session se;
    trial_request prime; /* a warm session's priming request */
    bool has_prime;      /* prime still to be attached to turn 1's raw */
    char *head;          /* the head text (head_text) */
    long head_counted;   /* its tokens */
    char *prime_q;       /* the priming question */
    client_message *msgs;
    char perr[KV_ERRLEN];
} trial_ctx;

/* The trial's record as planned: id, cell, lengths, mode, start time. */
static void trial_begin(trial_ctx *t, run *r, const runner_io *io, const plan_trial *pt,
                        trial_record *rec)
{
    memset(t, 0, sizeof *t);
    t->r = r;
    t->io = io;
    t->pt = pt;
    t->ts = &r->tg[pt->target];
    t->rec = rec;
    t->warm = pt->kind == PLAN_MEASURE && pt->mode == SPEC_WARM;
    t->measured = pt->kind == PLAN_MEASURE;
    t->sys = pt->system_prompt_tokens > 0;
    t->turns = pt->query_count > 0 ? pt->query_count : 1;
    runner_trial_request_init(&t->prime, 0);
    memset(rec, 0, sizeof *rec);
    rec->plan_index = pt->index;
    snprintf(rec->id, sizeof rec->id, "%s", pt->id);
    rec->kind = pt->kind;
    rec->target = pt->target;
    snprintf(rec->target_name, sizeof rec->target_name, "%s", t->ts->t->name);
    rec->cell = pt->cell;
    rec->system_prompt_tokens = pt->system_prompt_tokens;
    rec->query_tokens = pt->query_tokens;
    rec->query_count = t->turns;
    rec->mode = pt->mode;
    rec->repetition = pt->repetition;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    rec->started_unix = (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

/* The turns, the session's texts and the message array. */
static kv_status trial_alloc(trial_ctx *t, char *err)
{
    trial_record *rec = t->rec;
    size_t turns = (size_t)t->turns;
    rec->turns = calloc(turns, sizeof *rec->turns);
    t->se.queries = calloc(turns, sizeof *t->se.queries);
    t->se.q_counted = calloc(turns, sizeof *t->se.q_counted);
    t->se.replies = calloc(turns, sizeof *t->se.replies);
    t->msgs = calloc(2 * turns + 2, sizeof *t->msgs);
    if (!rec->turns || !t->se.queries || !t->se.q_counted || !t->se.replies || !t->msgs)
        return kv_fail(err, KV_ERR_NOMEM, "out of memory running a trial");
    t->se.n = turns;
    rec->n_turns = turns;
    for (long k = 0; k < t->turns; k++)
        runner_trial_request_init(&rec->turns[k], (int)k + 1);
    return KV_OK;
}

/* Prompts: the questions per turn and the head text; false (the reason in
 * the record) when one cannot be made. */
static bool trial_prompts(trial_ctx *t)
{
    const plan_trial *pt = t->pt;
    for (long k = 0; k < t->turns; k++) {
        if (runner_trial_synth(t->ts, t->io, PROMPT_QUERY, pt->query_tokens, pt->nonce, k + 1,
                               &t->se.queries[k], &t->se.q_counted[k], t->perr) != KV_OK) {
            runner_trial_reason(t->rec->error, "prompt synthesis: ", t->perr);
            return false;
        }
    }
    if ((t->sys || !t->warm) &&
        head_text(t->ts, t->io, pt, pt->nonce, &t->head, &t->head_counted, t->perr) != KV_OK) {
        runner_trial_reason(t->rec->error, "prompt synthesis: ", t->perr);
        return false;
    }
    return true;
}

/* A warm session's priming request: the same system prompt and a different
 * short question; false (the reason in the record) when it fails. */
static bool trial_prime(trial_ctx *t)
{
    if (!t->warm)
        return true;
    const plan_trial *pt = t->pt;
    long plen = pt->query_tokens < 16 ? pt->query_tokens : 16;
    t->has_prime = true;
    if (runner_trial_synth(t->ts, t->io, PROMPT_PRIME, plen, pt->nonce, 0, &t->prime_q, NULL,
                           t->perr) != KV_OK) {
        runner_trial_reason(t->rec->error, "prompt synthesis: ", t->perr);
        return false;
    }
    size_t n = 0;
    if (t->sys)
        t->msgs[n++] = (client_message){"system", t->head};
    t->msgs[n++] = (client_message){"user", t->prime_q};
    if (runner_trial_send(t->r, t->io, t->ts, t->msgs, n, false, 1, &t->prime, NULL) != KV_OK) {
        runner_trial_reason(t->rec->error, "priming request: ", t->prime.error);
        runner_trial_reason(t->rec->turns[0].error, "not run: ", t->rec->error);
        return false;
    }
    return true;
}

/* Turn k's messages: the system prompt h, then every question so far with
 * the replies between them; *content gets their counted tokens. */
static size_t turn_messages(trial_ctx *t, long k, const char *h, long h_counted, long *content)
{
    size_t n = 0;
    if (t->sys) {
        t->msgs[n++] = (client_message){"system", h};
        *content += h_counted;
    }
    for (long i = 0; i <= k; i++) {
        /* Without a system prompt a cold session's first question carries the nonce. */
        const char *qt = (!t->sys && !t->warm && i == 0) ? h : t->se.queries[i];
        t->msgs[n++] = (client_message){"user", qt};
        *content += t->se.q_counted[i];
        if (i < k)
            t->msgs[n++] = (client_message){"assistant", t->se.replies[i] ? t->se.replies[i] : ""};
    }
    return n;
}

/* Sends turn k (a cold turn after the first gets its own nonce) and checks
 * its cache state; *prefix is the prefix a warm turn shares with the one
 * before. False (the reason in the record) when the turn failed. */
static bool trial_turn(trial_ctx *t, long k, long *prefix)
{
    trial_record *rec = t->rec;
    trial_request *q = &rec->turns[k];
    char *turn_head = NULL;
    long turn_head_counted = t->head_counted;
    uint64_t nonce = turn_nonce(t->pt->nonce, k + 1);
    if (!t->warm && k > 0 &&
        head_text(t->ts, t->io, t->pt, nonce, &turn_head, &turn_head_counted, t->perr) != KV_OK) {
        runner_trial_reason(q->error, "prompt synthesis: ", t->perr);
        runner_trial_turn_reason(rec->error, k + 1, q->error);
        return false;
    }
    long content = 0;
    size_t n = turn_messages(t, k, turn_head ? turn_head : t->head, turn_head_counted, &content);
    char *reply_text = NULL;
    kv_status st = runner_trial_send(t->r, t->io, t->ts, t->msgs, n, !t->warm,
                                     t->r->s->max_output_tokens, q, &reply_text);
    q->prefix_tokens = t->warm ? *prefix : 0;
    free(turn_head);
    if (t->has_prime && k == 0) {
        attach_prime(q, &t->prime);
        t->has_prime = false;
    }
    t->se.replies[k] = reply_text;
    if (q->ok && q->prompt_tokens < 0)
        q->prompt_tokens = content;
    if (t->measured)
        check_cache(t->ts, !t->warm, q);
    if (st != KV_OK) {
        runner_trial_turn_reason(rec->error, k + 1, q->error);
        return false;
    }
    if (q->cache_state == TRIAL_CACHE_CONTAMINATED)
        rec->contaminated = true;
    *prefix += t->se.q_counted[k];
    return true;
}

/* A failed trial keeps its priming request and its contaminated turns. */
static void trial_failed(trial_ctx *t)
{
    trial_record *rec = t->rec;
    rec->ok = false;
    if (t->has_prime && rec->n_turns > 0)
        attach_prime(&rec->turns[0], &t->prime);
    for (size_t k = 0; k < rec->n_turns; k++)
        if (rec->turns[k].cache_state == TRIAL_CACHE_CONTAMINATED)
            rec->contaminated = true;
}

static void trial_end(trial_ctx *t)
{
    free(t->prime.raw);
    session_free(&t->se);
    free(t->head);
    free(t->prime_q);
    free(t->msgs);
}

/* Runs one planned trial into rec, its requests through io (the worker's).
 * Only allocation failures return an error; everything the server or the
 * prompts do wrong is the trial's reason. rec->run_position is left 0. */
kv_status runner_trial_run(run *r, const runner_io *io, const plan_trial *pt, trial_record *rec,
                           char *err)
{
    trial_ctx t;
    trial_begin(&t, r, io, pt, rec);
    kv_status st = trial_alloc(&t, err);
    if (st == KV_OK) {
        bool ok = trial_prompts(&t) && trial_prime(&t);
        long prefix = t.sys ? t.head_counted : 0;
        for (long k = 0; ok && k < t.turns; k++)
            ok = trial_turn(&t, k, &prefix);
        if (ok)
            rec->ok = true;
        else
            trial_failed(&t);
    }
    trial_end(&t);
    return st;
}
