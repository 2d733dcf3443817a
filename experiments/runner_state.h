/* runner_state.h - the run's state, shared by the runner's files (runner.c,
 * runner_target.c, runner_trial.c, runner_sched.c, runner_out.c,
 * runner_contention.c) and by nothing else: the public interface is
 * runner.h.
 *
 * Locking: the run's `lock` guards the queue, the counters, the samples, the
 * progress callback and the pending trials; `synth_lock` the usage
 * calibration and the main network context it uses (runner.c's comment).
 * This header does not include runner.h (runner.c includes both); the
 * options and the summary are named by their struct tags.
 */
#ifndef KV_RUNNER_STATE_H
#define KV_RUNNER_STATE_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/slice.h"
#include "common/status.h"
#include "experiments/contention.h"
#include "experiments/journal.h"
#include "experiments/plan.h"
#include "experiments/prompt.h"
#include "experiments/runner_io.h"
#include "experiments/spec.h"
#include "experiments/trial.h"
#include "net/client.h"
#include "net/probe.h"

struct runner_options;
struct runner_summary;

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
    const struct runner_options *o;
    runner_io io; /* the main context: probing, prompt synthesis, concurrency 1 */
    plan *p;
    contention_plan *cp;   /* its requests follow the plan's trials in `done` */
    runner_slots_fn slots; /* GET /slots, or NULL */
    target_state *tg;
    int64_t t0_ns;
    size_t n_workers;           /* worker threads (1: the calling thread) */
    slice_state slice;          /* the calling thread's and so the workers' slice (slice.h) */
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
    struct runner_summary *sum;
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

/* ---- runner.c ------------------------------------------------------------- */

/* True once a stop was asked for (SIGINT, SIGTERM, runner_request_stop). */
bool runner_stop_requested(void);
/* A real client with the options' retry backoff. */
kv_status runner_client_new(const struct runner_options *o, client **out, char *err) KV_MUST_USE;

/* ---- runner_target.c ------------------------------------------------------ */

/* Detects each target (real client only): the dialect for `api: auto`, the
 * model when the spec names none, version and properties for the journal. */
kv_status runner_target_probe(run *r, client *c, char *err) KV_MUST_USE;
/* Tries each target's cache reset once before the journal is written. */
void runner_target_reset_check(run *r);
/* The target's token counter and prompt synthesiser. */
kv_status runner_target_setup(run *r, target_state *ts, const spec_target *t, const char *corpus,
                              size_t corpus_len, uint64_t seed, char *err) KV_MUST_USE;

/* ---- runner_trial.c ------------------------------------------------------- */

/* dst (TRIAL_REASON_LEN bytes) = prefix + msg, cut to fit. */
void runner_trial_reason(char *dst, const char *prefix, const char *msg);
/* dst = "turn N: " + msg, cut to fit. */
void runner_trial_turn_reason(char *dst, long turn, const char *msg);
/* A request not (yet) run: unknown counts and times, "not run" reason. */
void runner_trial_request_init(trial_request *q, int turn);
/* The request's raw JSON as an object to add members to: parsed from q->raw,
 * or a new object when raw is absent or not an object; NULL when out of
 * memory. runner_trial_raw_save writes it back to q->raw and deletes it
 * (raw stays as it was when root is NULL or cannot be printed). */
struct cJSON *runner_trial_raw_open(const trial_request *q);
void runner_trial_raw_save(trial_request *q, struct cJSON *root);
/* A prompt of exact length, counted with the calling worker's context. */
kv_status runner_trial_synth(target_state *ts, const runner_io *io, prompt_role role, long n_tokens,
                             uint64_t nonce, long variant, char **out, long *counted,
                             char *err) KV_MUST_USE;
/* After a complete reply: whether the server shows cached counts. */
void runner_trial_note_cached(target_state *ts, trial_request *q);
/* The request for msgs[0..n) to ts's target with the spec's temperature,
 * timeouts and retries; no_cache asks the server not to reuse prefixes. */
client_request runner_trial_request(const spec *s, const target_state *ts,
                                    const client_message *msgs, size_t n, long max_out,
                                    bool no_cache);
/* Sends one request through io and fills q (runner_trial.c's comment). */
kv_status runner_trial_send(run *r, const runner_io *io, target_state *ts,
                            const client_message *msgs, size_t n, bool cold, long max_out,
                            trial_request *q, char **reply);
/* Runs one planned trial into rec; only allocation failures return an error. */
kv_status runner_trial_run(run *r, const runner_io *io, const plan_trial *pt, trial_record *rec,
                           char *err) KV_MUST_USE;

/* ---- runner_sched.c ------------------------------------------------------- */

/* Loads earlier trials' samples for adaptive stopping (resume). */
kv_status runner_sched_load_samples(run *r, char *err) KV_MUST_USE;
/* Makes the workers (runner_sched.c's comment); freed by runner_sched_workers_free. */
kv_status runner_sched_workers_new(run *r, bool real, worker **out, char *err) KV_MUST_USE;
void runner_sched_workers_free(run *r, worker *ws);
/* Under r->lock: keeps the run's first failure (st, err) and halts the run. */
void runner_sched_fail(run *r, kv_status st, const char *err);
/* The steps of a worker's loop (runner_sched_loop) over jobs of one kind
 * (planned trials, contention requests), ctx being the worker. Under the
 * run's lock: next returns the next job and writes its id for the progress
 * line (NULL when none is left: the loop ends); finish journals a job that
 * ran (its status is the loop's), done releases it whatever happened.
 * Without the lock: run runs the job into rec (only allocation failures
 * return an error). */
typedef struct runner_sched_steps {
    const void *(*next)(void *ctx, char id[PLAN_ID_LEN]);
    kv_status (*run)(void *ctx, const void *job, trial_record *rec, char *err);
    kv_status (*finish)(void *ctx, const void *job, trial_record *rec, int64_t t0, char *err);
    void (*done)(void *ctx, const void *job);
} runner_sched_steps;
/* Runs jobs until next finds none; a failure halts the run (runner_sched_fail).
 * Takes and releases r->lock itself. */
void runner_sched_loop(run *r, const runner_sched_steps *steps, void *ctx);
/* Blocks SIGINT and SIGTERM on the calling thread (threads it starts inherit
 * the mask); *old receives the mask to restore with pthread_sigmask. */
void runner_sched_block_stops(sigset_t *old);
/* Runs the plan's trials, round by round with adaptive stopping. */
kv_status runner_sched_rounds(run *r, worker *ws, char *err) KV_MUST_USE;

/* ---- runner_out.c --------------------------------------------------------- */

/* Tells the progress callback (if any) where the run is. */
void runner_out_progress(run *r, const char *current, const char *message);
/* The journal header of the run (h is cleared first). */
kv_status runner_out_header(const run *r, uint64_t seed, journal_header *h, char *err) KV_MUST_USE;

/* ---- runner_contention.c -------------------------------------------------- */

/* Runs the contention plan's requests not yet journaled, group by group. */
kv_status runner_contention_run(run *r, bool real, char *err) KV_MUST_USE;

#endif
