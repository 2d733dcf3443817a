/* runner.c - runs a spec's trial plan and journals every trial (runner.h).
 *
 * Divided into: the stop flag and signals; the real client as a runner_io;
 * per-target state (dialect, token counter, prompt synthesiser, cache reset);
 * one trial (warm-up, cold or warm session, priming, cache checks); the
 * schedule (rounds for adaptive stopping, caps, resume, and the workers that
 * run `concurrency` trials at once); and the journal header. The analysis
 * and the report are later stages: the CLI chains them after runner_run.
 *
 * Threads (concurrency > 1): each worker owns its network context and counts
 * its prompts' tokens with it (the synthesiser guards its own cache, so no
 * lock is held during a /tokenize round trip); the run's lock guards the
 * queue, the counters, the samples, the progress callback and the pending
 * trials; one writer thread journals the pending trials in batches (group
 * commit) without that lock while their workers wait. The synth lock guards
 * the usage-calibration state and the main network context it uses (servers
 * without /tokenize). With concurrency 1 the single worker runs on the
 * calling thread and journals each trial itself (no thread is started).
 */
#include "experiments/runner.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "common/utf8.h"
#include "common/util.h"
#include "experiments/cachecheck.h"
#include "experiments/contention.h"
#include "experiments/dialect.h"
#include "experiments/journal.h"
#include "experiments/journal_cols.h"
#include "experiments/plan.h"
#include "experiments/probe.h"
#include "experiments/prompt.h"

/* ---- stop flag ------------------------------------------------------------ */

/* _Atomic as well as volatile: set by a signal handler or by any worker
 * thread, read by every worker (a lock-free atomic is async-signal-safe). */
static volatile _Atomic sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

void runner_install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: a blocking wait returns early */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

void runner_request_stop(void)
{
    stop_requested = 1;
}

void runner_clear_stop(void)
{
    stop_requested = 0;
}

/* ---- the real client as a runner_io ------------------------------------- */

static kv_status real_send(void *ctx, const client_request *rq, trial_request *out, char **reply,
                           char *err)
{
    return client_send(ctx, rq, out, reply, err);
}

static kv_status real_tokenize(void *ctx, const spec_target *t, spec_api api, const char *text,
                               long *n, char *err)
{
    return client_tokenize(ctx, t, api, text, n, err);
}

static kv_status real_reset(void *ctx, const spec_target *t, spec_api api, char *err)
{
    return client_reset_cache(ctx, t, api, err);
}

static kv_status real_count(void *ctx, const client_request *rq, long *n, char *err)
{
    return client_count(ctx, rq, n, err);
}

static kv_status real_slots(void *ctx, const spec_target *t, char **body, char *err)
{
    int status = 0;
    *body = NULL;
    kv_status st = client_call(ctx, t, "/slots", NULL, 10.0, &status, body, err);
    if (st != KV_OK)
        return st;
    if (status != 200 || !*body || (*body)[0] != '[') {
        kv_fail(err, KV_ERR_UNSUPPORTED, "HTTP %d", status);
        free(*body);
        *body = NULL;
        return KV_ERR_UNSUPPORTED;
    }
    return KV_OK;
}

static kv_status real_client_new(const runner_options *o, client **out, char *err)
{
    kv_status st = client_new(out, err);
    if (st == KV_OK && o->backoff_base_s > 0)
        client_set_backoff(*out, o->backoff_base_s, o->backoff_cap_s);
    return st;
}

/* ---- per-target state ----------------------------------------------------- */

typedef struct run run;
typedef struct target_state target_state;

/* The count callback's context: the target and the network context of the
 * thread that asks for a prompt. */
typedef struct synth_ctx {
    target_state *ts;
    const runner_io *io;
} synth_ctx;

typedef struct target_state {
    run *r;
    const spec_target *t;
    spec_api api;
    bool has_tokenize;          /* the server counts tokens (/tokenize) */
    bool stream_uncounted;      /* its streams carry no prompt count: calibrate non-streamed */
    long usage_base;            /* prompt_tokens of a one-word calibration request, -1 unknown */
    int reset;                  /* 1 works, 0 untried, -1 unsupported (never tried again) */
    char reset_note[KV_ERRLEN]; /* why the reset is unsupported, or "" */
    prompt_synth *ps;
    synth_ctx main_count; /* the count context on the main network context */
    spec_target copy;     /* the spec's target with the probed model filled in */
    probe_info info;      /* what probe_detect found (zeroed when not probed) */
    bool probed;
    /* The server has reported a cached-token count (OpenAI-style dialects).
     * vLLM leaves usage.prompt_tokens_details out when nothing was cached, so
     * from then on a reply with usage but no count means 0 cached. */
    atomic_bool shows_cached;
    int slots; /* GET /slots: 1 served, 0 untried, -1 not served (never asked again) */
} target_state;

struct run {
    const spec *s;
    const runner_options *o;
    runner_io io; /* the main context: probing, prompt synthesis, concurrency 1 */
    plan *p;
    contention_plan *cp;   /* its requests follow the plan's trials in `done` */
    runner_slots_fn slots; /* GET /slots, or NULL */
    target_state *tg;
    int64_t t0_ns;
    size_t n_workers;           /* worker threads (1: the calling thread) */
    pthread_mutex_t synth_lock; /* prompt synthesis and io.ctx while workers run */
    pthread_mutex_t lock;       /* everything below */
    pthread_cond_t cv;          /* a trial finished or the run halts */
    journal *j;
    bool *done;         /* per plan index: journaled */
    bool *cell_stopped; /* per cell: adaptive stopping says enough */
    double **samples;   /* per cell: session ttft totals of good trials */
    size_t *n_samples, *cap_samples;
    size_t measured_done;      /* measured trials in the journal */
    size_t measured_in_flight; /* measured trials started and not journaled */
    size_t run_position;       /* next trial's place in completion order */
    double trial_s_sum;        /* seconds spent in this run's trials */
    size_t units_done;         /* HTTP requests of this run's finished trials */
    size_t units_left;         /* ... of the trials and contention requests still to run */
    size_t *queue;             /* plan indices of the current round, in plan order */
    size_t q_len, q_next;
    size_t *warmups_left; /* per target: warm-up trials of the round not yet finished */
    bool halt;            /* start no more trials */
    kv_status fail_st;    /* the first error a worker hit */
    char fail_err[KV_ERRLEN];
    runner_summary *sum;
    /* Group commit (worker threads): finished trials wait in `pending`, in
     * completion order, until the writer journals them as one batch. */
    bool group;               /* the writer thread runs */
    bool writer_quit;         /* the workers are done: the writer ends */
    pthread_cond_t writer_cv; /* pending trials or writer_quit */
    struct worker **pending;  /* n_workers slots */
    struct worker **batch;    /* the writer's batch, n_workers slots */
    size_t n_pending;
};

/* One worker: the network context its trials use, and its finished trial
 * while it waits for the writer (group commit). */
typedef struct worker {
    run *r;
    runner_io io;
    void *own_ctx; /* made by io.worker_new, or NULL */
    client *c;     /* this worker's real client, or NULL */
    pthread_t th;
    const trial_record *rec; /* queued for the writer */
    bool durable;            /* the writer has journaled it (or failed) */
    kv_status commit_st;
    char commit_err[KV_ERRLEN];
    pthread_cond_t durable_cv; /* durable became true */
} worker;

static void progress(run *r, const char *current, const char *message)
{
    if (!r->o->progress)
        return;
    runner_progress pr;
    memset(&pr, 0, sizeof pr);
    pr.planned = r->sum->planned;
    pr.done = r->sum->done_before + r->sum->ran;
    pr.failed = r->sum->failed;
    pr.contaminated = r->sum->contaminated;
    pr.skipped = r->sum->skipped;
    pr.elapsed_s = (double)(kv_now_ns() - r->t0_ns) / 1e9;
    pr.eta_s = r->units_done > 0 ? r->trial_s_sum / (double)r->units_done * (double)r->units_left /
                                       (double)(r->n_workers ? r->n_workers : 1)
                                 : NAN;
    pr.current = current;
    pr.message = message;
    r->o->progress(r->o->progress_ctx, &pr);
}

/* Token counter: the server's /tokenize, on the calling worker's context. */
static kv_status count_tokenize(void *ctx, const char *text, long *n, char *err)
{
    const synth_ctx *k = ctx;
    return k->io->tokenize(k->io->ctx, k->ts->t, k->ts->api, text, n, err);
}

/* Calibration texts start with this line, which no measured prompt starts
 * with: the server's prefix cache keeps every calibration request, and a
 * measured request must not find its own text there (a cold trial would be
 * served warm). The salt is in both texts of a difference, so it cancels. */
#define CALIBRATION_SALT "Token count calibration.\n\n"

/* Token counter without /tokenize: a one-message request with max_tokens 1,
 * calibrated against a one-word request (the template's tokens cancel). The
 * text is salted (CALIBRATION_SALT). When a stream carries no prompt count
 * (LM Studio), the same request is sent non-streamed (runner_io.count). */
static kv_status usage_tokens(target_state *ts, const char *text, long *n, char *err)
{
    const spec *s = ts->r->s;
    kv_buf salted = {0};
    if (kv_buf_append(&salted, CALIBRATION_SALT, strlen(CALIBRATION_SALT)) != KV_OK ||
        kv_buf_append(&salted, text, strlen(text)) != KV_OK) {
        kv_buf_free(&salted);
        return kv_fail(err, KV_ERR_NOMEM, "out of memory");
    }
    client_message m = {"user", salted.data};
    client_request rq = {ts->t,
                         ts->api,
                         &m,
                         1,
                         1,
                         s->temperature_set ? s->temperature : NAN,
                         true,
                         s->timeout_connect_s,
                         s->timeout_first_token_s,
                         s->timeout_total_s,
                         s->retries,
                         false};
    trial_request out;
    memset(&out, 0, sizeof out);
    out.prompt_tokens = -1;
    kv_status st = KV_OK;
    if (!ts->stream_uncounted) {
        st = ts->r->io.send(ts->r->io.ctx, &rq, &out, NULL, err);
        free(out.raw);
        ts->stream_uncounted = st == KV_OK && out.prompt_tokens < 0 && ts->r->io.count;
        if (ts->stream_uncounted)
            progress(ts->r, ts->t->name,
                     "the stream reports no prompt token count: calibrating with non-streamed "
                     "requests");
    }
    if (st == KV_OK && ts->stream_uncounted)
        st = ts->r->io.count(ts->r->io.ctx, &rq, &out.prompt_tokens, err);
    kv_buf_free(&salted);
    if (st != KV_OK)
        return st;
    if (out.prompt_tokens < 0)
        return kv_fail(err, KV_ERR_UNSUPPORTED,
                       "%s: the server has no /tokenize and reports no prompt token count, so "
                       "prompts of an exact length cannot be made",
                       ts->t->name);
    *n = out.prompt_tokens;
    return KV_OK;
}

/* Token counter without /tokenize: under the synth lock, on the main context
 * (the calibration state and that context are shared). */
static kv_status count_usage_locked(target_state *ts, const char *text, long *n, char *err)
{
    kv_status st;
    if (ts->usage_base < 0) {
        st = usage_tokens(ts, "a", &ts->usage_base, err);
        if (st != KV_OK)
            return st;
    }
    long total = 0;
    st = usage_tokens(ts, *text ? text : "a", &total, err);
    if (st != KV_OK)
        return st;
    *n = *text ? total - ts->usage_base + 1 : 0;
    if (*n < 0)
        *n = 0;
    return KV_OK;
}

static kv_status count_usage(void *ctx, const char *text, long *n, char *err)
{
    target_state *ts = ((const synth_ctx *)ctx)->ts;
    pthread_mutex_lock(&ts->r->synth_lock);
    kv_status st = count_usage_locked(ts, text, n, err);
    pthread_mutex_unlock(&ts->r->synth_lock);
    return st;
}

/* After a complete reply: learns that the server reports cached counts, and
 * reads a missing count as 0 once it has (vLLM: prompt_tokens_details only
 * `if enable_prompt_tokens_details and num_cached_tokens`). */
static void note_cached(target_state *ts, trial_request *q)
{
    if (ts->api != SPEC_API_OPENAI_CHAT && ts->api != SPEC_API_OPENAI_COMPLETIONS)
        return;
    if (q->cached_tokens >= 0)
        atomic_store(&ts->shows_cached, true);
    else if (q->prompt_tokens >= 0 && atomic_load(&ts->shows_cached))
        q->cached_tokens = 0;
}

/* Before any trial of a probed OpenAI-style target: one short text (its own
 * words, shared with no measured prompt) sent twice with max_tokens 1, so a
 * server that reports cached counts only when they are above 0 shows it
 * before the first cold trial. */
static void cached_report_check(run *r, target_state *ts)
{
    if (!ts->probed || (ts->api != SPEC_API_OPENAI_CHAT && ts->api != SPEC_API_OPENAI_COMPLETIONS))
        return;
    static const char *const words[] = {"ledger", "quota",  "vector", "pillar", "hinge",  "socket",
                                        "tablet", "fabric", "signal", "kernel", "margin", "thread"};
    kv_buf text = {0};
    kv_status st = kv_buf_append(&text, "Cache report check.\n\n", 21);
    for (int i = 0; st == KV_OK && i < 240; i++)
        st = kv_buf_appendf(&text, "%s%s", i ? " " : "", words[(i * 7 + i / 12) % 12]);
    const spec *s = r->s;
    client_message m = {"user", text.data};
    client_request rq = {ts->t,
                         ts->api,
                         &m,
                         1,
                         1,
                         s->temperature_set ? s->temperature : NAN,
                         false,
                         s->timeout_connect_s,
                         s->timeout_first_token_s,
                         s->timeout_total_s,
                         s->retries,
                         false};
    for (int i = 0; st == KV_OK && i < 2 && !atomic_load(&ts->shows_cached); i++) {
        trial_request out;
        char err[KV_ERRLEN] = "";
        memset(&out, 0, sizeof out);
        out.cached_tokens = out.prompt_tokens = -1;
        if (r->io.send(r->io.ctx, &rq, &out, NULL, err) == KV_OK)
            note_cached(ts, &out);
        free(out.raw);
    }
    kv_buf_free(&text);
    if (atomic_load(&ts->shows_cached))
        progress(r, ts->t->name,
                 "the server reports cached tokens: a reply without a count means 0 cached");
}

static kv_status target_setup(run *r, target_state *ts, const spec_target *t, const char *corpus,
                              size_t corpus_len, uint64_t seed, char *err)
{
    (void)t;
    ts->usage_base = -1;
    cached_report_check(r, ts);
    long n = 0;
    char tmp[KV_ERRLEN] = "";
    kv_status st = r->io.tokenize(r->io.ctx, t, ts->api, "kvproof counts tokens", &n, tmp);
    ts->has_tokenize = st == KV_OK && n > 0;
    if (!ts->has_tokenize) {
        char msg[KV_ERRLEN + 128];
        snprintf(msg, sizeof msg,
                 "%s: no usable /tokenize (%s); calibrating lengths with usage.prompt_tokens",
                 t->name, st == KV_OK ? "it counted no tokens" : tmp);
        progress(r, t->name, msg);
    }
    ts->main_count = (synth_ctx){ts, &r->io};
    return prompt_synth_new(corpus, corpus_len, seed,
                            ts->has_tokenize ? count_tokenize : count_usage, &ts->main_count,
                            ts->has_tokenize, &ts->ps, err);
}

/* ---- one trial ------------------------------------------------------------ */

static uint64_t turn_nonce(uint64_t nonce, long turn)
{
    if (turn <= 1)
        return nonce;
    uint64_t key[2] = {nonce, (uint64_t)turn};
    return kv_hash64(key, sizeof key, 0x6e6f6e6365ULL);
}

/* dst (TRIAL_REASON_LEN bytes) = prefix + msg, cut to fit. */
static void set_reason(char *dst, const char *prefix, const char *msg)
{
    char full[2 * TRIAL_REASON_LEN];
    snprintf(full, sizeof full, "%s%s", prefix, msg);
    size_t n = kv_utf8_cut(full, strlen(full), TRIAL_REASON_LEN - 1); /* whole characters */
    memcpy(dst, full, n);
    dst[n] = '\0';
}

static void turn_reason(char *dst, long turn, const char *msg)
{
    char prefix[32];
    snprintf(prefix, sizeof prefix, "turn %ld: ", turn);
    set_reason(dst, prefix, msg);
}

static void request_init(trial_request *q, int turn)
{
    memset(q, 0, sizeof *q);
    q->turn = turn;
    q->prompt_tokens = -1;
    q->cached_tokens = -1;
    q->prefix_tokens = -1;
    q->output_tokens = -1;
    q->cache_state = TRIAL_CACHE_UNKNOWN;
    q->ttfb_ms = q->ttft_ms = q->first_content_ms = q->last_token_ms = NAN;
    q->total_ms = q->gap_median_ms = q->gap_p99_ms = NAN;
    q->server_prefill_ms = q->server_overhead_us = NAN;
    snprintf(q->error, sizeof q->error, "not run: an earlier request of the session failed");
}

/* Adds {"prime": {...}} to the first turn's raw JSON. */
static void attach_prime(trial_request *turn1, const trial_request *prime)
{
    cJSON *root = turn1->raw ? cJSON_Parse(turn1->raw) : NULL;
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        root = cJSON_CreateObject();
        if (!root)
            return;
    }
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
    char *txt = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!txt)
        return;
    free(turn1->raw);
    turn1->raw = strdup(txt);
    cJSON_free(txt);
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
 * synthesiser guards its own cache; count_usage takes the synth lock). */
static kv_status synth_make(target_state *ts, const runner_io *io, prompt_role role, long n_tokens,
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
        return synth_make(ts, io, PROMPT_SYSTEM, pt->system_prompt_tokens, nonce, 0, out, counted,
                          err);
    return synth_make(ts, io, PROMPT_SYSTEM, pt->query_tokens, nonce, 0, out, counted, err);
}

/* Sends one request through io and fills q; the reply text goes to *reply.
 * A cold request first resets the server's cache where it can, but only
 * when trials run one at a time: with concurrency > 1 a reset would wipe the
 * prefixes other workers' warm sessions are measuring (the nonce at token 0
 * still keeps a cold prefix unshared). */
static kv_status send_turn(run *r, const runner_io *io, target_state *ts,
                           const client_message *msgs, size_t n, bool cold, long max_out,
                           trial_request *q, char **reply)
{
    const spec *s = r->s;
    client_request rq = {ts->t,
                         ts->api,
                         msgs,
                         n,
                         max_out,
                         s->temperature_set ? s->temperature : NAN,
                         cold,
                         s->timeout_connect_s,
                         s->timeout_first_token_s,
                         s->timeout_total_s,
                         s->retries,
                         false};
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
            set_reason(q->error, "", err[0] ? err : kv_strerror(st));
        if (q->attempts < 1)
            q->attempts = 1;
        return st;
    }
    q->ok = true;
    q->error[0] = '\0';
    note_cached(ts, q);
    return KV_OK;
}

static void check_cache(const target_state *ts, bool cold, trial_request *q)
{
    q->cache_state = cachecheck_state(ts->api, cold, q->ok, q->cached_tokens, q->prefix_tokens);
}

/* Runs one planned trial into rec, its requests through io (the worker's).
 * Only allocation failures return an error; everything the server or the
 * prompts do wrong is the trial's reason. rec->run_position is left 0. */
static kv_status run_trial(run *r, const runner_io *io, const plan_trial *pt, trial_record *rec,
                           char *err)
{
    target_state *ts = &r->tg[pt->target];
    const spec *s = r->s;
    bool warm = pt->kind == PLAN_MEASURE && pt->mode == SPEC_WARM;
    bool cold = !warm;
    bool measured = pt->kind == PLAN_MEASURE;
    long turns = pt->query_count > 0 ? pt->query_count : 1;
    kv_status st = KV_OK;
    session se = {0};
    trial_request prime;
    bool has_prime = false;
    char *head = NULL, *prime_q = NULL;
    client_message *msgs = NULL;
    char perr[KV_ERRLEN] = "";

    request_init(&prime, 0);
    memset(rec, 0, sizeof *rec);
    rec->plan_index = pt->index;
    snprintf(rec->id, sizeof rec->id, "%s", pt->id);
    rec->kind = pt->kind;
    rec->target = pt->target;
    snprintf(rec->target_name, sizeof rec->target_name, "%s", ts->t->name);
    rec->cell = pt->cell;
    rec->system_prompt_tokens = pt->system_prompt_tokens;
    rec->query_tokens = pt->query_tokens;
    rec->query_count = turns;
    rec->mode = pt->mode;
    rec->repetition = pt->repetition;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    rec->started_unix = (double)now.tv_sec + (double)now.tv_nsec / 1e9;
    rec->turns = calloc((size_t)turns, sizeof *rec->turns);
    se.queries = calloc((size_t)turns, sizeof *se.queries);
    se.q_counted = calloc((size_t)turns, sizeof *se.q_counted);
    se.replies = calloc((size_t)turns, sizeof *se.replies);
    msgs = calloc(2 * (size_t)turns + 2, sizeof *msgs);
    if (!rec->turns || !se.queries || !se.q_counted || !se.replies || !msgs) {
        st = kv_fail(err, KV_ERR_NOMEM, "out of memory running a trial");
        goto out;
    }
    se.n = (size_t)turns;
    rec->n_turns = (size_t)turns;
    for (long k = 0; k < turns; k++)
        request_init(&rec->turns[k], (int)k + 1);

    /* Prompts: questions per turn, the head text, the priming question. */
    for (long k = 0; k < turns; k++) {
        if (synth_make(ts, io, PROMPT_QUERY, pt->query_tokens, pt->nonce, k + 1, &se.queries[k],
                       &se.q_counted[k], perr) != KV_OK) {
            set_reason(rec->error, "prompt synthesis: ", perr);
            goto failed;
        }
    }
    long head_counted = 0;
    bool sys = pt->system_prompt_tokens > 0;
    if ((sys || cold) && head_text(ts, io, pt, pt->nonce, &head, &head_counted, perr) != KV_OK) {
        set_reason(rec->error, "prompt synthesis: ", perr);
        goto failed;
    }

    long prefix = sys ? head_counted : 0;
    if (warm) {
        long plen = pt->query_tokens < 16 ? pt->query_tokens : 16;
        has_prime = true;
        if (synth_make(ts, io, PROMPT_PRIME, plen, pt->nonce, 0, &prime_q, NULL, perr) != KV_OK) {
            set_reason(rec->error, "prompt synthesis: ", perr);
            goto failed;
        }
        size_t n = 0;
        if (sys)
            msgs[n++] = (client_message){"system", head};
        msgs[n++] = (client_message){"user", prime_q};
        kv_status ps = send_turn(r, io, ts, msgs, n, false, 1, &prime, NULL);
        if (ps != KV_OK) {
            set_reason(rec->error, "priming request: ", prime.error);
            set_reason(rec->turns[0].error, "not run: ", rec->error);
            goto failed;
        }
    }

    for (long k = 0; k < turns; k++) {
        trial_request *q = &rec->turns[k];
        char *turn_head = NULL;
        long turn_head_counted = head_counted;
        uint64_t nonce = turn_nonce(pt->nonce, k + 1);
        if (cold && k > 0 &&
            head_text(ts, io, pt, nonce, &turn_head, &turn_head_counted, perr) != KV_OK) {
            set_reason(q->error, "prompt synthesis: ", perr);
            turn_reason(rec->error, k + 1, q->error);
            goto failed;
        }
        const char *h = turn_head ? turn_head : head;
        size_t n = 0;
        long content = 0;
        if (sys) {
            msgs[n++] = (client_message){"system", h};
            content += turn_head_counted;
        }
        for (long i = 0; i <= k; i++) {
            /* Without a system prompt a cold session's first question carries the nonce. */
            const char *qt = (!sys && cold && i == 0) ? h : se.queries[i];
            msgs[n++] = (client_message){"user", qt};
            content += se.q_counted[i];
            if (i < k)
                msgs[n++] = (client_message){"assistant", se.replies[i] ? se.replies[i] : ""};
        }
        char *reply_text = NULL;
        kv_status ts_st = send_turn(r, io, ts, msgs, n, cold, s->max_output_tokens, q, &reply_text);
        q->prefix_tokens = warm ? prefix : 0;
        free(turn_head);
        if (has_prime && k == 0) {
            attach_prime(q, &prime);
            has_prime = false;
        }
        se.replies[k] = reply_text;
        if (q->ok && q->prompt_tokens < 0)
            q->prompt_tokens = content;
        if (measured)
            check_cache(ts, cold, q);
        if (ts_st != KV_OK) {
            turn_reason(rec->error, k + 1, q->error);
            goto failed;
        }
        if (q->cache_state == TRIAL_CACHE_CONTAMINATED)
            rec->contaminated = true;
        prefix += se.q_counted[k];
    }
    rec->ok = true;
    goto out;
failed:
    rec->ok = false;
    if (has_prime && rec->n_turns > 0)
        attach_prime(&rec->turns[0], &prime);
    for (size_t k = 0; k < rec->n_turns; k++)
        if (rec->turns[k].cache_state == TRIAL_CACHE_CONTAMINATED)
            rec->contaminated = true;
out:
    free(prime.raw);
    session_free(&se);
    free(head);
    free(prime_q);
    free(msgs);
    return st;
}

/* ---- adaptive stopping ---------------------------------------------------- */

/* The session's time to first token summed over its turns; NAN if unusable. */
static double session_ttft(const trial_record *t)
{
    if (t->kind != PLAN_MEASURE || !t->ok || t->contaminated || t->n_turns == 0)
        return NAN;
    double sum = 0;
    for (size_t k = 0; k < t->n_turns; k++) {
        if (!isfinite(t->turns[k].ttft_ms))
            return NAN;
        sum += t->turns[k].ttft_ms;
    }
    return sum;
}

static kv_status note_sample(run *r, size_t plan_index, const trial_record *t, char *err)
{
    if (plan_index >= r->p->n_trials)
        return KV_OK;
    size_t cell = r->p->trials[plan_index].cell;
    double v = session_ttft(t);
    if (!isfinite(v) || cell >= r->p->n_cells)
        return KV_OK;
    if (r->n_samples[cell] == r->cap_samples[cell]) {
        size_t cap = r->cap_samples[cell] ? 2 * r->cap_samples[cell] : 16;
        double *ns = realloc(r->samples[cell], cap * sizeof *ns);
        if (!ns)
            return kv_fail(err, KV_ERR_NOMEM, "out of memory");
        r->samples[cell] = ns;
        r->cap_samples[cell] = cap;
    }
    r->samples[cell][r->n_samples[cell]++] = v;
    return KV_OK;
}

/* ---- journal header ------------------------------------------------------- */

static char *client_host_text(void)
{
    char host[256] = "unknown";
    char cpu[256] = "unknown CPU";
    char os[512] = "unknown OS";
    if (gethostname(host, sizeof host - 1) != 0)
        snprintf(host, sizeof host, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        char line[512];
        while (fgets(line, sizeof line, f)) {
            if (strncmp(line, "model name", 10) == 0) {
                const char *c = strchr(line, ':');
                if (c) {
                    c++;
                    while (*c == ' ')
                        c++;
                    snprintf(cpu, sizeof cpu, "%.*s", (int)strcspn(c, "\n"), c);
                }
                break;
            }
        }
        fclose(f);
    }
    struct utsname u;
    if (uname(&u) == 0)
        snprintf(os, sizeof os, "%s %s %s", u.sysname, u.release, u.machine);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    size_t n = strlen(host) + strlen(cpu) + strlen(os) + 64;
    char *out = malloc(n);
    if (out)
        snprintf(out, n, "%s; %s x%ld; %s", host, cpu, ncpu, os);
    return out;
}

/* Tries each target's cache reset once before the journal is written, so
 * that its header says how cold trials are kept cold; a reset the server
 * does not offer (llama-server answers 501 to a slot erase unless started
 * with --slot-save-path) is never tried again. Only when cold trials run one
 * at a time (send_turn). */
static void reset_check(run *r)
{
    if (!r->s->cold || r->s->concurrency > 1)
        return;
    for (size_t i = 0; i < r->s->n_targets; i++) {
        target_state *ts = &r->tg[i];
        char e[KV_ERRLEN] = "";
        kv_status st = r->io.reset_cache(r->io.ctx, ts->t, ts->api, e);
        ts->reset = st == KV_OK ? 1 : (st == KV_ERR_UNSUPPORTED ? -1 : 0);
        if (st == KV_ERR_UNSUPPORTED) {
            snprintf(ts->reset_note, sizeof ts->reset_note, "%s", e);
            char msg[KV_ERRLEN + 128];
            snprintf(msg, sizeof msg, "%s: cache reset unsupported (%s); cold trials use %s",
                     ts->t->name, e,
                     dialect_honours_no_cache(ts->api) ? "cache_prompt:false and a nonce"
                                                       : "a nonce");
            progress(r, ts->t->name, msg);
        }
    }
}

/* How a target's cold trials are kept cold, for the journal header (malloc'd;
 * NULL when the spec has no cold trials or out of memory). */
static char *cold_method_text(const run *r, const target_state *ts)
{
    if (!r->s->cold)
        return NULL;
    char text[KV_ERRLEN + 160];
    bool llama = dialect_honours_no_cache(ts->api);
    const char *np = llama ? "cache_prompt:false + " : "";
    const char *reset = llama ? "slot erase" : "cache reset";
    if (r->s->concurrency > 1)
        snprintf(text, sizeof text, "%snonce (no %s while trials run concurrently)", np, reset);
    else if (ts->reset > 0)
        snprintf(text, sizeof text, "%s%s + nonce", np, reset);
    else if (ts->reset < 0)
        snprintf(text, sizeof text, "%snonce (%s unsupported: %s)", np, reset, ts->reset_note);
    else
        snprintf(text, sizeof text, "%snonce (%s failed; tried again before each cold trial)", np,
                 reset);
    return kv_strdup(text);
}

static kv_status header_build(const run *r, uint64_t seed, journal_header *h, char *err)
{
    const spec *s = r->s;
    memset(h, 0, sizeof *h);
    h->kvproof_version = strdup(KVPROOF_VERSION);
    h->spec_name = kv_strdup(s->name);
    h->spec_path = kv_strdup(s->path);
    h->spec_json = kv_strdup(s->canonical);
    h->spec_hash = s->hash;
    h->seed = seed;
    h->planned_trials = r->p->n_trials + r->cp->n_reqs;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    h->created_unix = (double)now.tv_sec + (double)now.tv_nsec / 1e9;
    h->client_host = client_host_text();
    h->targets = calloc(s->n_targets ? s->n_targets : 1, sizeof *h->targets);
    if (!h->kvproof_version || !h->client_host || !h->targets)
        return kv_fail(err, KV_ERR_NOMEM, "out of memory");
    h->n_targets = s->n_targets;
    for (size_t i = 0; i < s->n_targets; i++) {
        journal_target_meta *m = &h->targets[i];
        const target_state *ts = &r->tg[i];
        m->name = kv_strdup(s->targets[i].name);
        m->base_url = kv_strdup(s->targets[i].base_url);
        m->dialect =
            kv_strdup(ts->probed && ts->info.server[0] ? ts->info.server : spec_api_name(ts->api));
        m->model = kv_strdup(ts->t->model);
        m->simulated = r->o->simulated || ts->info.simulated;
        m->server_version = kv_strdup(ts->info.server_version);
        m->props = kv_strdup(ts->info.props);
        m->cold_method = cold_method_text(r, ts);
        if (!m->name || !m->dialect)
            return kv_fail(err, KV_ERR_NOMEM, "out of memory");
    }
    return KV_OK;
}

/* ---- the schedule --------------------------------------------------------- */

static void run_free(run *r, client *c)
{
    if (r->tg)
        for (size_t i = 0; i < r->s->n_targets; i++) {
            prompt_synth_free(r->tg[i].ps);
            probe_info_clear(&r->tg[i].info);
        }
    free(r->tg);
    if (r->samples && r->p)
        for (size_t i = 0; i < r->p->n_cells; i++)
            free(r->samples[i]);
    free(r->samples);
    free(r->n_samples);
    free(r->cap_samples);
    free(r->cell_stopped);
    free(r->done);
    free(r->queue);
    free(r->warmups_left);
    free(r->pending);
    free(r->batch);
    journal_close(r->j);
    contention_free(r->cp);
    plan_free(r->p);
    client_free(c);
}

static kv_status sample_seen(void *ctx, trial_record *t, const char *where, char *err)
{
    (void)where;
    return note_sample(ctx, t->plan_index, t, err);
}

/* Loads earlier trials' samples for adaptive stopping (resume), one pass
 * through the journal reader, no record kept. */
static kv_status load_samples(run *r, char *err)
{
    journal_header h = {0};
    journal_cols_scan_info info;
    journal_cols_scan_opts o = {.trial = sample_seen, .ctx = r, .empty_ok = true};
    char e[KV_ERRLEN] = "";
    kv_status st = journal_cols_scan(r->sum->journal_path, &o, &h, &info, e);
    journal_header_clear(&h);
    /* a bad journal: journal_open reports what is wrong with it */
    return st == KV_ERR_NOMEM ? kv_fail(err, st, "%s", e) : KV_OK;
}

static bool file_nonempty(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && sb.st_size > 0;
}

/* A trial is on disk (lock held): counts it and tells the progress callback. */
static kv_status trial_recorded(run *r, const plan_trial *pt, const trial_record *rec, int64_t t0,
                                char *err)
{
    r->done[pt->index] = true;
    r->sum->ran++;
    r->trial_s_sum += (double)(kv_now_ns() - t0) / 1e9;
    r->units_done += (size_t)pt->requests;
    r->units_left -= r->units_left > (size_t)pt->requests ? (size_t)pt->requests : r->units_left;
    if (pt->kind == PLAN_MEASURE)
        r->measured_done++;
    if (!rec->ok)
        r->sum->failed++;
    if (rec->contaminated)
        r->sum->contaminated++;
    kv_status st = note_sample(r, pt->index, rec, err);
    char msg[TRIAL_REASON_LEN + 160];
    if (!rec->ok)
        snprintf(msg, sizeof msg, "%s failed: %s", rec->id, rec->error);
    else if (rec->contaminated)
        snprintf(msg, sizeof msg, "%s: cache contaminated (counted, flagged)", rec->id);
    progress(r, pt->id, (!rec->ok || rec->contaminated) ? msg : NULL);
    return st;
}

/* Hands the trial to the writer and waits until its batch is on disk (lock
 * held; the wait releases it). */
static kv_status commit_wait(run *r, worker *w, const trial_record *rec, char *err)
{
    w->rec = rec;
    w->durable = false;
    r->pending[r->n_pending++] = w;
    pthread_cond_signal(&r->writer_cv);
    while (!w->durable)
        pthread_cond_wait(&w->durable_cv, &r->lock);
    w->rec = NULL;
    if (w->commit_st != KV_OK)
        return kv_fail(err, w->commit_st, "%s", w->commit_err);
    return KV_OK;
}

/* Journals a finished trial (lock held): itself with one worker, through the
 * writer's group commit with several. Sets r->halt when the run must end. */
static kv_status finish_trial(run *r, worker *w, const plan_trial *pt, trial_record *rec,
                              int64_t t0, char *err)
{
    if (stop_requested && !rec->ok) {
        /* Interrupted mid-trial: not journaled, so --resume runs it again. */
        r->halt = true;
        return KV_OK;
    }
    rec->run_position = r->run_position++;
    kv_status st = r->group ? commit_wait(r, w, rec, err) : journal_append(r->j, rec, err);
    if (st == KV_OK)
        st = trial_recorded(r, pt, rec, t0, err);
    else if (!r->group)
        r->run_position--;
    if ((!rec->ok && r->o->stop_on_failure) || stop_requested)
        r->halt = true;
    return st;
}

/* The writer thread: journals the pending trials as one batch (one write,
 * one fdatasync) without the run's lock, then wakes their workers. */
static void writer_loop(run *r)
{
    const trial_record **recs = malloc(r->n_workers * sizeof *recs);
    pthread_mutex_lock(&r->lock);
    for (;;) {
        while (r->n_pending == 0 && !r->writer_quit)
            pthread_cond_wait(&r->writer_cv, &r->lock);
        if (r->n_pending == 0)
            break;
        size_t n = r->n_pending;
        struct worker **b = r->pending;
        r->pending = r->batch;
        r->batch = b;
        r->n_pending = 0;
        pthread_mutex_unlock(&r->lock);
        char err[KV_ERRLEN] = "";
        kv_status st = KV_ERR_NOMEM;
        if (recs) {
            for (size_t i = 0; i < n; i++)
                recs[i] = b[i]->rec;
            st = journal_append_batch(r->j, recs, n, err);
        } else {
            snprintf(err, sizeof err, "out of memory");
        }
        pthread_mutex_lock(&r->lock);
        for (size_t i = 0; i < n; i++) {
            b[i]->commit_st = st;
            snprintf(b[i]->commit_err, sizeof b[i]->commit_err, "%s", err);
            b[i]->durable = true;
            pthread_cond_signal(&b[i]->durable_cv);
        }
    }
    pthread_mutex_unlock(&r->lock);
    free(recs);
}

static void *writer_main(void *arg)
{
    writer_loop(arg);
    return NULL;
}

/* The next trial of the round's queue to run (lock held), or NULL when none
 * is left or the run halts. Counts the measured trials a cap or adaptive
 * stopping skips; a measured trial waits until its target's warm-ups of the
 * round have finished (they come first in the queue, so they are running). */
static const plan_trial *next_trial(run *r)
{
    const spec *s = r->s;
    for (;;) {
        if (stop_requested)
            r->halt = true;
        if (r->halt || r->q_next >= r->q_len)
            return NULL;
        const plan_trial *pt = &r->p->trials[r->queue[r->q_next]];
        if (pt->kind != PLAN_MEASURE) {
            r->q_next++;
            return pt;
        }
        double minutes = (double)(kv_now_ns() - r->t0_ns) / 60e9;
        size_t measured = r->measured_done + r->measured_in_flight;
        if (r->cell_stopped[pt->cell] ||
            (s->stop.max_trials > 0 && (long)measured >= s->stop.max_trials) ||
            (s->stop.max_minutes > 0 && minutes >= s->stop.max_minutes)) {
            r->sum->skipped++;
            r->units_left -=
                r->units_left > (size_t)pt->requests ? (size_t)pt->requests : r->units_left;
            r->q_next++;
            continue;
        }
        if (r->warmups_left[pt->target] > 0) {
            pthread_cond_wait(&r->cv, &r->lock);
            continue;
        }
        r->measured_in_flight++;
        r->q_next++;
        return pt;
    }
}

/* Runs trials from the round's queue until it is empty or the run halts. */
static void worker_loop(worker *w)
{
    run *r = w->r;
    pthread_mutex_lock(&r->lock);
    for (;;) {
        const plan_trial *pt = next_trial(r);
        if (!pt)
            break;
        progress(r, pt->id, NULL);
        pthread_mutex_unlock(&r->lock);
        trial_record rec;
        char err[KV_ERRLEN] = "";
        int64_t t0 = kv_now_ns();
        kv_status st = run_trial(r, &w->io, pt, &rec, err);
        pthread_mutex_lock(&r->lock);
        if (st == KV_OK)
            st = finish_trial(r, w, pt, &rec, t0, err);
        trial_record_clear(&rec);
        if (pt->kind == PLAN_MEASURE)
            r->measured_in_flight--;
        else if (r->warmups_left[pt->target] > 0)
            r->warmups_left[pt->target]--;
        if (st != KV_OK) {
            if (r->fail_st == KV_OK) {
                r->fail_st = st;
                snprintf(r->fail_err, sizeof r->fail_err, "%s", err);
            }
            r->halt = true;
        }
        pthread_cond_broadcast(&r->cv);
    }
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->lock);
}

static void *worker_main(void *arg)
{
    worker_loop(arg);
    return NULL;
}

/* Starts n worker threads and the writer (group commit); returns how many
 * workers started. Without a writer, workers journal under the lock. */
static size_t threads_start(run *r, worker *ws, size_t n, pthread_t *writer)
{
    r->writer_quit = false;
    r->n_pending = 0;
    r->group = pthread_create(writer, NULL, writer_main, r) == 0;
    size_t started = 0;
    for (; started < n; started++)
        if (pthread_create(&ws[started].th, NULL, worker_main, &ws[started]) != 0)
            break;
    return started;
}

static void writer_stop(run *r, pthread_t writer)
{
    if (!r->group)
        return;
    pthread_mutex_lock(&r->lock);
    r->writer_quit = true;
    pthread_cond_signal(&r->writer_cv);
    pthread_mutex_unlock(&r->lock);
    pthread_join(writer, NULL);
    r->group = false;
}

/* Runs the queued trials on the workers: on the calling thread with one
 * worker, else on threads that block SIGINT/SIGTERM (the calling thread
 * takes them, and the stop flag reaches every worker). */
static kv_status run_queue(run *r, worker *ws, char *err)
{
    if (r->q_len == 0)
        return KV_OK;
    size_t n = r->n_workers < r->q_len ? r->n_workers : r->q_len;
    if (n <= 1) {
        worker_loop(&ws[0]);
    } else {
        sigset_t block, old;
        sigemptyset(&block);
        sigaddset(&block, SIGINT);
        sigaddset(&block, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &block, &old);
        pthread_t writer;
        size_t started = threads_start(r, ws, n, &writer);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (started == 0) {
            writer_stop(r, writer);
            worker_loop(&ws[0]); /* no thread could start: run them here */
        }
        for (size_t i = 0; i < started; i++)
            pthread_join(ws[i].th, NULL);
        writer_stop(r, writer);
    }
    if (r->fail_st != KV_OK)
        return kv_fail(err, r->fail_st, "%s", r->fail_err);
    return KV_OK;
}

/* Queues the round's trials not yet journaled, in plan order. */
static void queue_round(run *r, bool rounds, long round)
{
    r->q_len = r->q_next = 0;
    memset(r->warmups_left, 0, r->s->n_targets * sizeof *r->warmups_left);
    for (size_t i = 0; i < r->p->n_trials; i++) {
        const plan_trial *pt = &r->p->trials[i];
        bool measure = pt->kind == PLAN_MEASURE;
        if (rounds && (measure ? pt->repetition != round : round != 0))
            continue;
        if (r->done[i])
            continue;
        r->queue[r->q_len++] = i;
        if (!measure && pt->target < r->s->n_targets)
            r->warmups_left[pt->target]++;
    }
}

/* Makes the workers: one using the main context when the spec's concurrency
 * is 1, else one per concurrent trial (at most the trials left), each with
 * its own context where the io can make one. Called on the calling thread,
 * before any worker runs (curl's global set-up is not thread-safe). */
static kv_status workers_new(run *r, bool real, worker **out, char *err)
{
    size_t left = 0;
    for (size_t i = 0; i < r->p->n_trials; i++)
        left += !r->done[i];
    size_t n = r->s->concurrency > 1 ? (size_t)r->s->concurrency : 1;
    if (n > left)
        n = left > 0 ? left : 1;
    worker *ws = calloc(n, sizeof *ws);
    r->pending = calloc(n, sizeof *r->pending);
    r->batch = calloc(n, sizeof *r->batch);
    if (!ws || !r->pending || !r->batch) {
        free(ws);
        return kv_fail(err, KV_ERR_NOMEM, "out of memory");
    }
    *out = ws;
    r->n_workers = n;
    for (size_t i = 0; i < n; i++) {
        ws[i].r = r;
        ws[i].io = r->io;
        pthread_cond_init(&ws[i].durable_cv, NULL);
    }
    if (r->s->concurrency <= 1)
        return KV_OK;
    for (size_t i = 0; i < n; i++) {
        kv_status st = KV_OK;
        if (real) {
            st = real_client_new(r->o, &ws[i].c, err);
            ws[i].io.ctx = ws[i].c;
        } else if (r->io.worker_new) {
            st = r->io.worker_new(r->io.ctx, &ws[i].own_ctx, err);
            ws[i].io.ctx = ws[i].own_ctx;
        }
        if (st != KV_OK)
            return st;
    }
    return KV_OK;
}

static void workers_free(run *r, worker *ws)
{
    if (!ws)
        return;
    for (size_t i = 0; i < r->n_workers; i++) {
        client_free(ws[i].c);
        if (ws[i].own_ctx && r->io.worker_free)
            r->io.worker_free(ws[i].own_ctx);
        pthread_cond_destroy(&ws[i].durable_cv);
    }
    free(ws);
}

/* ---- the contention plan -------------------------------------------------- */

/* Contention requests (experiments/contention.h) run after the trials, one
 * group after another. Each is journaled as its own trial line of kind
 * PLAN_CONTENTION at plan index p->n_trials + its index in cp->reqs
 * (docs/journal.md, "Contention requests"). With the contention block's
 * concurrency 0 or 1 they run one at a time on the calling thread, GET
 * /slots read before (what the slots held) and after (which slot served);
 * with N > 1, N threads keep up to N requests of distinct agents in flight,
 * started in the group's order (each agent's requests in its own order), and
 * no slots are read (a reply could not be matched to its request). */

typedef struct cagent {
    char *sys;          /* its system prompt, made at its first request ("" = none) */
    long sys_counted;   /* its tokens */
    long last_task;     /* id_task of the slot that served its last request, -1 unknown */
    char prefix_id[17]; /* that slot's kvproof_prefix_id, "" unknown */
    bool busy;          /* a request of it is in flight */
    bool resumed;       /* requests of it were journaled by an earlier run */
} cagent;

typedef struct cgroup {
    run *r;
    const contention_group *g;
    cagent *agents;
    double *cold_ttft; /* TTFT of the group's finished position-0 requests */
    size_t n_cold;
    long slack;  /* template tokens agents share: the most a position-0 request had cached */
    size_t next; /* the group's next request to start */
    bool slots;  /* read GET /slots around each request */
} cgroup;

typedef struct cworker {
    cgroup *cg;
    runner_io io;
    pthread_t th;
} cworker;

static size_t creq_index(const run *r, const contention_req *q)
{
    return r->p->n_trials + (size_t)(q - r->cp->reqs);
}

/* GET /slots through io into *body (NULL when the target serves none). */
static void slots_get(run *r, const runner_io *io, target_state *ts, char **body)
{
    *body = NULL;
    if (!r->slots || ts->slots < 0)
        return;
    char e[KV_ERRLEN] = "";
    kv_status st = r->slots(io->ctx, ts->t, body, e);
    if (st == KV_OK) {
        ts->slots = 1;
        return;
    }
    free(*body);
    *body = NULL;
    if (st == KV_ERR_UNSUPPORTED && ts->slots == 0) {
        ts->slots = -1;
        char msg[KV_ERRLEN + 128];
        snprintf(msg, sizeof msg, "%s: no GET /slots (%s); contention slot_held is \"unknown\"",
                 ts->t->name, e);
        pthread_mutex_lock(&r->lock);
        progress(r, ts->t->name, msg);
        pthread_mutex_unlock(&r->lock);
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Half the median TTFT of the group's cold (position 0) requests (lock held). */
static double cold_threshold(const cgroup *cg)
{
    if (cg->n_cold == 0)
        return NAN;
    double *v = malloc(cg->n_cold * sizeof *v);
    if (!v)
        return NAN;
    memcpy(v, cg->cold_ttft, cg->n_cold * sizeof *v);
    qsort(v, cg->n_cold, sizeof *v, cmp_double);
    size_t n = cg->n_cold;
    double m = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    free(v);
    return m / 2;
}

/* Adds {"contention": {"ttft_threshold_ms": thr}} (thr finite) and
 * {"contention": {"template_tokens": slack}} (slack above RUNNER_COLD_SLACK)
 * to the request's raw JSON. */
static void attach_basis(trial_request *q, double thr, long slack)
{
    if (!isfinite(thr) && slack <= RUNNER_COLD_SLACK)
        return;
    cJSON *root = q->raw ? cJSON_Parse(q->raw) : NULL;
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        root = cJSON_CreateObject();
    }
    cJSON *o = root ? cJSON_AddObjectToObject(root, "contention") : NULL;
    bool ok = o && (!isfinite(thr) || cJSON_AddNumberToObject(o, "ttft_threshold_ms", thr)) &&
              (slack <= RUNNER_COLD_SLACK ||
               cJSON_AddNumberToObject(o, "template_tokens", (double)slack));
    char *txt = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (!txt)
        return;
    free(q->raw);
    q->raw = strdup(txt);
    cJSON_free(txt);
}

/* The hit class of a finished request (docs/journal.md, "Contention fields"). */
static void creq_classify(cgroup *cg, const contention_req *q, trial_request *t)
{
    t->in_contention = true;
    t->agent = q->agent;
    t->agent_position = q->position;
    if (!t->ok) {
        t->hit = TRIAL_HIT_NONE;
        t->cache_state = TRIAL_CACHE_UNKNOWN;
        return;
    }
    t->cache_state = t->cached_tokens >= 0 ? TRIAL_CACHE_VERIFIED : TRIAL_CACHE_INFERRED;
    pthread_mutex_lock(&cg->r->lock);
    if (q->position == 0 && isfinite(t->ttft_ms))
        cg->cold_ttft[cg->n_cold++] = t->ttft_ms;
    if (q->position == 0 && t->cached_tokens > cg->slack && t->cached_tokens < t->prefix_tokens / 2)
        cg->slack = t->cached_tokens;
    double thr = t->cached_tokens < 0 ? cold_threshold(cg) : NAN;
    long slack = cg->slack;
    pthread_mutex_unlock(&cg->r->lock);
    t->hit = trial_hit_classify(t->prefix_tokens, t->cached_tokens, slack, t->slot_held, t->ttft_ms,
                                thr);
    attach_basis(t, thr, slack);
}

static void creq_record_init(const cgroup *cg, const contention_req *q, trial_record *rec)
{
    const run *r = cg->r;
    memset(rec, 0, sizeof *rec);
    rec->plan_index = creq_index(r, q);
    contention_req_id(r->s, r->cp, q, rec->id, sizeof rec->id);
    rec->kind = PLAN_CONTENTION;
    rec->target = cg->g->target;
    snprintf(rec->target_name, sizeof rec->target_name, "%s", r->s->targets[rec->target].name);
    rec->cell = q->group;
    rec->system_prompt_tokens = cg->g->system_prompt_tokens;
    rec->query_tokens = cg->g->query_tokens;
    rec->query_count = 1;
    rec->mode = SPEC_WARM;
    rec->repetition = (long)q->index;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    rec->started_unix = (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

/* The agent's system prompt (made once) and the request's query. */
static bool creq_prompts(cgroup *cg, const runner_io *io, target_state *ts, cagent *a,
                         const contention_req *q, char **query, long *qc, char *reason)
{
    char perr[KV_ERRLEN] = "";
    long sys = cg->g->system_prompt_tokens;
    if (!a->sys && sys > 0 &&
        synth_make(ts, io, PROMPT_SYSTEM, sys, q->agent_nonce, 0, &a->sys, &a->sys_counted, perr) !=
            KV_OK) {
        set_reason(reason, "prompt synthesis: ", perr);
        return false;
    }
    if (synth_make(ts, io, PROMPT_QUERY, cg->g->query_tokens, q->nonce, 1, query, qc, perr) !=
        KV_OK) {
        set_reason(reason, "prompt synthesis: ", perr);
        return false;
    }
    return true;
}

/* Runs one contention request into rec (its agent is marked busy). */
static kv_status creq_run(cgroup *cg, const runner_io *io, const contention_req *q,
                          trial_record *rec, char *err)
{
    run *r = cg->r;
    target_state *ts = &r->tg[cg->g->target];
    cagent *a = &cg->agents[q->agent];
    creq_record_init(cg, q, rec);
    rec->turns = calloc(1, sizeof *rec->turns);
    if (!rec->turns)
        return kv_fail(err, KV_ERR_NOMEM, "out of memory running a contention request");
    rec->n_turns = 1;
    trial_request *t = &rec->turns[0];
    request_init(t, 1);
    char *query = NULL, *body = NULL;
    long qc = 0;
    if (!creq_prompts(cg, io, ts, a, q, &query, &qc, t->error)) {
        t->in_contention = true;
        t->agent = q->agent;
        t->agent_position = q->position;
        turn_reason(rec->error, 1, t->error);
        return KV_OK;
    }
    client_message msgs[2];
    size_t n = 0;
    if (a->sys && a->sys[0])
        msgs[n++] = (client_message){"system", a->sys};
    msgs[n++] = (client_message){"user", query};
    if (cg->slots)
        slots_get(r, io, ts, &body);
    trial_slot_held held = contention_slot_held_by(body, a->prefix_id, a->last_task);
    free(body);
    send_turn(r, io, ts, msgs, n, false, r->s->max_output_tokens, t, NULL);
    free(query);
    t->slot_held = a->resumed || !cg->slots ? TRIAL_SLOT_UNKNOWN : held;
    t->after_resume = a->resumed;
    a->resumed = false;
    t->prefix_tokens = a->sys ? a->sys_counted : 0;
    if (t->ok && t->prompt_tokens < 0)
        t->prompt_tokens = t->prefix_tokens + qc;
    if (cg->slots) {
        slots_get(r, io, ts, &body);
        a->last_task = contention_slot_last_task(body, a->prefix_id);
        free(body);
    }
    creq_classify(cg, q, t);
    rec->ok = t->ok;
    if (!t->ok)
        turn_reason(rec->error, 1, t->error);
    return KV_OK;
}

/* Journals a finished contention request (lock held). */
static kv_status creq_finish(cgroup *cg, const contention_req *q, trial_record *rec, int64_t t0,
                             char *err)
{
    run *r = cg->r;
    if (stop_requested && !rec->ok) {
        r->halt = true; /* interrupted mid-request: --resume runs it again */
        return KV_OK;
    }
    rec->run_position = r->run_position++;
    kv_status st = journal_append(r->j, rec, err);
    if (st != KV_OK) {
        r->run_position--;
        r->halt = true;
        return st;
    }
    r->done[creq_index(r, q)] = true;
    r->sum->ran++;
    r->trial_s_sum += (double)(kv_now_ns() - t0) / 1e9;
    r->units_done++;
    if (r->units_left > 0)
        r->units_left--;
    if (!rec->ok)
        r->sum->failed++;
    char msg[TRIAL_REASON_LEN + 160];
    if (!rec->ok)
        snprintf(msg, sizeof msg, "%s failed: %s", rec->id, rec->error);
    progress(r, rec->id, rec->ok ? NULL : msg);
    if ((!rec->ok && r->o->stop_on_failure) || stop_requested)
        r->halt = true;
    return KV_OK;
}

/* The next request of the group to start (lock held): the first not
 * journaled, once its agent has none in flight; NULL when none is left or
 * the run halts. */
static const contention_req *creq_next(cgroup *cg)
{
    run *r = cg->r;
    for (;;) {
        if (stop_requested)
            r->halt = true;
        if (r->halt || cg->next >= cg->g->n)
            return NULL;
        const contention_req *q = &r->cp->reqs[cg->g->first + cg->next];
        if (r->done[creq_index(r, q)]) {
            cg->next++;
            continue;
        }
        if (cg->agents[q->agent].busy) {
            pthread_cond_wait(&r->cv, &r->lock);
            continue;
        }
        cg->agents[q->agent].busy = true;
        cg->next++;
        return q;
    }
}

static void cworker_loop(cworker *w)
{
    cgroup *cg = w->cg;
    run *r = cg->r;
    pthread_mutex_lock(&r->lock);
    for (;;) {
        const contention_req *q = creq_next(cg);
        if (!q)
            break;
        char id[PLAN_ID_LEN];
        contention_req_id(r->s, r->cp, q, id, sizeof id);
        progress(r, id, NULL);
        pthread_mutex_unlock(&r->lock);
        trial_record rec;
        char err[KV_ERRLEN] = "";
        int64_t t0 = kv_now_ns();
        kv_status st = creq_run(cg, &w->io, q, &rec, err);
        pthread_mutex_lock(&r->lock);
        if (st == KV_OK)
            st = creq_finish(cg, q, &rec, t0, err);
        trial_record_clear(&rec);
        cg->agents[q->agent].busy = false;
        if (st != KV_OK && r->fail_st == KV_OK) {
            r->fail_st = st;
            snprintf(r->fail_err, sizeof r->fail_err, "%s", err);
            r->halt = true;
        }
        pthread_cond_broadcast(&r->cv);
    }
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->lock);
}

static void *cworker_main(void *arg)
{
    cworker_loop(arg);
    return NULL;
}

/* Runs the group's requests on n workers (threads when n > 1). */
static void cgroup_workers(cworker *ws, size_t n)
{
    if (n <= 1) {
        cworker_loop(&ws[0]);
        return;
    }
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    size_t started = 0;
    for (; started < n; started++)
        if (pthread_create(&ws[started].th, NULL, cworker_main, &ws[started]) != 0)
            break;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (started == 0)
        cworker_loop(&ws[0]);
    for (size_t i = 0; i < started; i++)
        pthread_join(ws[i].th, NULL);
}

/* Runs the not yet journaled requests of group gi; agents with requests
 * journaled before this run are marked resumed. */
static kv_status cgroup_run(run *r, size_t gi, cworker *ws, size_t n_ws, char *err)
{
    const contention_group *g = &r->cp->groups[gi];
    cgroup cg = {r, g, NULL, NULL, 0, RUNNER_COLD_SLACK, 0, n_ws <= 1};
    cg.agents = calloc((size_t)g->agents, sizeof *cg.agents);
    cg.cold_ttft = calloc(g->n ? g->n : 1, sizeof *cg.cold_ttft);
    kv_status st = KV_OK;
    if (!cg.agents || !cg.cold_ttft) {
        st = kv_fail(err, KV_ERR_NOMEM, "out of memory");
        goto out;
    }
    size_t left = 0;
    for (long a = 0; a < g->agents; a++)
        cg.agents[a].last_task = -1;
    for (size_t i = 0; i < g->n; i++) {
        const contention_req *q = &r->cp->reqs[g->first + i];
        if (r->done[creq_index(r, q)])
            cg.agents[q->agent].resumed = true;
        else
            left++;
    }
    if (left == 0)
        goto out;
    for (size_t i = 0; i < n_ws; i++)
        ws[i].cg = &cg;
    cgroup_workers(ws, n_ws < left ? n_ws : left);
    if (r->fail_st != KV_OK)
        st = kv_fail(err, r->fail_st, "%s", r->fail_err);
out:
    if (cg.agents)
        for (long a = 0; a < g->agents; a++)
            free(cg.agents[a].sys);
    free(cg.agents);
    free(cg.cold_ttft);
    return st;
}

/* The contention workers' network contexts: the main one for one at a
 * time, else one each (a real client, or io.worker_new). */
static kv_status cworkers_new(run *r, bool real, cworker **out, size_t *n, void ***ctxs, char *err)
{
    long conc = r->s->contention.concurrency;
    *n = conc > 1 ? (size_t)conc : 1;
    *out = calloc(*n, sizeof **out);
    *ctxs = calloc(*n, sizeof **ctxs);
    if (!*out || !*ctxs)
        return kv_fail(err, KV_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < *n; i++) {
        (*out)[i].io = r->io;
        if (*n == 1)
            continue;
        kv_status st = KV_OK;
        if (real) {
            client *c = NULL;
            st = real_client_new(r->o, &c, err);
            (*ctxs)[i] = c;
            (*out)[i].io.ctx = c;
        } else if (r->io.worker_new) {
            st = r->io.worker_new(r->io.ctx, &(*ctxs)[i], err);
            (*out)[i].io.ctx = (*ctxs)[i];
        }
        if (st != KV_OK)
            return st;
    }
    return KV_OK;
}

static void cworkers_free(run *r, bool real, cworker *ws, size_t n, void **ctxs)
{
    for (size_t i = 0; ctxs && i < n; i++) {
        if (real)
            client_free(ctxs[i]);
        else if (ctxs[i] && r->io.worker_free)
            r->io.worker_free(ctxs[i]);
    }
    free(ctxs);
    free(ws);
}

/* Runs the contention plan's requests not yet journaled, group by group. */
static kv_status contention_run(run *r, bool real, char *err)
{
    if (r->cp->n_reqs == 0 || r->halt)
        return KV_OK;
    cworker *ws = NULL;
    void **ctxs = NULL;
    size_t n = 0;
    kv_status st = cworkers_new(r, real, &ws, &n, &ctxs, err);
    for (size_t g = 0; st == KV_OK && g < r->cp->n_groups && !r->halt; g++)
        st = cgroup_run(r, g, ws, n, err);
    cworkers_free(r, real, ws, n, ctxs);
    return st;
}

/* Detects each target (real client only): the dialect for `api: auto`, the
 * model when the spec names none, version and properties for the journal. */
static kv_status probe_targets(run *r, client *c, char *err)
{
    for (size_t i = 0; i < r->s->n_targets; i++) {
        target_state *ts = &r->tg[i];
        const spec_target *t = &r->s->targets[i];
        char e[KV_ERRLEN] = "";
        kv_status st = probe_detect_target(c, t, &ts->info, e);
        if (st != KV_OK) {
            probe_info_clear(&ts->info);
            memset(&ts->info, 0, sizeof ts->info);
            if (t->api == SPEC_API_AUTO)
                return kv_fail(err, st == KV_ERR_NOMEM ? st : KV_ERR_NET,
                               "target %s (%s): cannot detect its dialect for api \"auto\": %s",
                               t->name, t->base_url, e);
            char msg[KV_ERRLEN + 128];
            snprintf(msg, sizeof msg, "target %s: probe failed (%s); using the spec's dialect",
                     t->name, e);
            progress(r, t->name, msg);
            continue;
        }
        ts->probed = true;
        if (t->api == SPEC_API_AUTO)
            ts->api = ts->info.api;
        if (!ts->copy.model && ts->info.model)
            ts->copy.model = ts->info.model;
        ts->copy.openai_hosted = strcmp(ts->info.server, "openai") == 0;
        if (ts->info.simulated)
            r->sum->simulated = true;
    }
    return KV_OK;
}

kv_status runner_run(const spec *s, const runner_options *o, runner_summary *sum, char *err)
{
    run r;
    client *c = NULL;
    worker *ws = NULL;
    char *corpus = NULL;
    size_t corpus_len = 0;
    journal_header h;
    kv_status st = KV_OK;
    memset(&r, 0, sizeof r);
    memset(&h, 0, sizeof h);
    memset(sum, 0, sizeof *sum);
    r.s = s;
    r.o = o;
    r.sum = sum;
    r.t0_ns = kv_now_ns();
    pthread_mutex_init(&r.lock, NULL);
    pthread_mutex_init(&r.synth_lock, NULL);
    pthread_cond_init(&r.cv, NULL);
    pthread_cond_init(&r.writer_cv, NULL);
    sum->simulated = o->simulated;
    uint64_t seed = o->seed_set ? o->seed : s->seed;

    snprintf(sum->journal_path, sizeof sum->journal_path, "%s/journal.jsonl", o->out_dir);
    bool resume = o->resume && file_nonempty(sum->journal_path);
    if (!o->resume && file_nonempty(sum->journal_path)) {
        st = kv_fail(err, KV_ERR_USAGE,
                     "%s already holds measured trials: continue it with --resume, or choose "
                     "another --out directory",
                     sum->journal_path);
        goto out;
    }
    st = kv_mkdirs(o->out_dir, err);
    if (st != KV_OK)
        goto out;
    st = plan_build(s, seed, &r.p, err);
    if (st == KV_OK)
        st = contention_build(s, seed, &r.cp, err);
    if (st != KV_OK)
        goto out;
    size_t n_all = r.p->n_trials + r.cp->n_reqs; /* trials, then contention requests */
    sum->planned = n_all;

    r.slots = o->io ? o->slots : real_slots;
    if (o->io) {
        r.io = *o->io;
    } else {
        st = real_client_new(o, &c, err);
        if (st != KV_OK)
            goto out;
        r.io = (runner_io){c, real_send, real_tokenize, real_reset, NULL, NULL, real_count};
    }

    r.done = calloc(n_all ? n_all : 1, sizeof *r.done);
    size_t nc = r.p->n_cells ? r.p->n_cells : 1;
    r.cell_stopped = calloc(nc, sizeof *r.cell_stopped);
    r.samples = calloc(nc, sizeof *r.samples);
    r.n_samples = calloc(nc, sizeof *r.n_samples);
    r.cap_samples = calloc(nc, sizeof *r.cap_samples);
    r.tg = calloc(s->n_targets ? s->n_targets : 1, sizeof *r.tg);
    r.queue = calloc(r.p->n_trials ? r.p->n_trials : 1, sizeof *r.queue);
    r.warmups_left = calloc(s->n_targets ? s->n_targets : 1, sizeof *r.warmups_left);
    if (!r.done || !r.cell_stopped || !r.samples || !r.n_samples || !r.cap_samples || !r.tg ||
        !r.queue || !r.warmups_left) {
        st = kv_fail(err, KV_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < s->n_targets; i++) {
        r.tg[i].r = &r;
        r.tg[i].copy = s->targets[i];
        r.tg[i].t = &r.tg[i].copy;
        r.tg[i].api = s->targets[i].api == SPEC_API_AUTO ? SPEC_API_OPENAI_CHAT : s->targets[i].api;
    }

    if (c) {
        st = probe_targets(&r, c, err);
        if (st != KV_OK)
            goto out;
    }
    if (resume) {
        st = load_samples(&r, err);
        if (st != KV_OK)
            goto out;
    }
    reset_check(&r);
    st = header_build(&r, seed, &h, err);
    if (st != KV_OK)
        goto out;
    st = journal_open(sum->journal_path, &h, resume, r.done, &r.j, err);
    if (st != KV_OK)
        goto out;
    for (size_t i = 0; i < n_all; i++) {
        bool trial = i < r.p->n_trials;
        if (r.done[i]) {
            sum->done_before++;
            if (trial && r.p->trials[i].kind == PLAN_MEASURE)
                r.measured_done++;
        } else {
            r.units_left += trial ? (size_t)r.p->trials[i].requests : 1;
        }
    }
    r.run_position = sum->done_before;

    st = prompt_corpus_load(s->corpus, &corpus, &corpus_len, err);
    if (st != KV_OK)
        goto out;
    for (size_t i = 0; i < s->n_targets; i++) {
        st = target_setup(&r, &r.tg[i], &s->targets[i], corpus, corpus_len, seed, err);
        if (st != KV_OK)
            goto out;
    }

    st = workers_new(&r, c != NULL, &ws, err);
    if (st != KV_OK)
        goto out;
    long max_rep = 1;
    for (size_t i = 0; i < r.p->n_trials; i++)
        if (r.p->trials[i].repetition + 1 > max_rep)
            max_rep = r.p->trials[i].repetition + 1;
    bool rounds = s->stop.enabled;
    long n_rounds = rounds ? max_rep : 1;
    for (long round = 0; round < n_rounds && !r.halt; round++) {
        queue_round(&r, rounds, round);
        st = run_queue(&r, ws, err);
        if (st != KV_OK)
            goto out;
        if (rounds && !r.halt && o->cell_done && round + 1 >= s->stop.min_repetitions)
            for (size_t c2 = 0; c2 < r.p->n_cells; c2++)
                if (!r.cell_stopped[c2] &&
                    o->cell_done(o->cell_done_ctx, r.samples[c2], r.n_samples[c2],
                                 s->stop.target_rel_ci, s->stop.min_repetitions))
                    r.cell_stopped[c2] = true;
    }
    if (!r.halt) {
        st = contention_run(&r, c != NULL, err);
        if (st != KV_OK)
            goto out;
    }
    sum->interrupted = stop_requested != 0;
    journal_close(r.j);
    r.j = NULL;
    if (sum->interrupted)
        st = kv_fail(err, KV_ERR_INTERRUPT, "interrupted after %zu of %zu trials",
                     sum->done_before + sum->ran, sum->planned);
out:
    journal_header_clear(&h);
    free(corpus);
    workers_free(&r, ws);
    run_free(&r, c);
    pthread_cond_destroy(&r.cv);
    pthread_cond_destroy(&r.writer_cv);
    pthread_mutex_destroy(&r.synth_lock);
    pthread_mutex_destroy(&r.lock);
    return st;
}
