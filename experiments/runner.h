/* runner.h - runs a spec's trial plan against its targets and journals every
 * trial: warm-up requests, cold and warm sessions with exact prompt lengths,
 * cache checks that cannot lie, adaptive stopping, SIGINT and --resume.
 *
 * Cold: the strongest method the server offers (request.no_cache, a cache
 * reset where the server has one) plus, always, a unique nonce at token 0 of
 * the system prompt (a different one for every turn). Warm: one priming
 * request with the same system prompt and a different short question (its
 * counts are kept in turn 1's `raw` under "prime"), then every turn measured.
 * Each measured request is checked: cold with cached tokens above
 * CACHECHECK_COLD_SLACK, or warm with cached tokens below 90 % of the prefix it
 * shares with the previous request, is contaminated; a server that reports
 * no cached count gives the state "inferred".
 *
 * The network goes through a runner_io table (runner_io.h; the real client
 * by default) so the scheduling can be tested against a fake.
 *
 * Concurrency (spec->concurrency N > 1): N workers each run one trial at a
 * time, taking the next trial of the plan (or of the adaptive-stopping round:
 * every worker finishes a round before the next starts) from a shared queue;
 * so up to N trials, hence N requests, are in flight at once. Each worker has
 * its own network context (a client handle is not thread-safe). A target's
 * measured trials start only after its warm-up trials of the round have
 * finished. Each finished trial is journaled (and fdatasync'd) before its
 * worker starts another: the workers hand finished trials to one writer
 * thread, which journals those finished meanwhile as one batch with one
 * fdatasync (group commit) while the workers wait, without the run's lock;
 * `run_position` is the order of completion (journal order), not of
 * starting. A stop request (SIGINT) stops
 * every worker from starting a trial; trials in flight finish and are
 * journaled. max_trials counts trials in flight, so it is never exceeded.
 * A warm trial's priming request and its turns run in sequence on one worker,
 * but other workers' requests share the server's cache and may evict or
 * contaminate its prefix (or, for a cold trial, a server-side slot state):
 * the per-request cache check flags such trials as contaminated, which is the
 * honest outcome. With N > 1 the runner never resets the server's cache (it
 * would wipe the prefixes of warm sessions in flight); cold trials rely on
 * the nonce at token 0 and request.no_cache. Timings under concurrency include
 * queueing in the server: concurrency 1 is the setting for clean latencies.
 * With N == 1 the single worker runs on the calling thread: no thread starts.
 *
 * Contention (spec->contention): after the trials, the contention plan's
 * requests (experiments/contention.h), group by group, each journaled as a
 * trial line of kind PLAN_CONTENTION at plan index n_trials + its index
 * (the header's planned_trials counts them): the agent's system prompt, the
 * request's query, GET /slots before (slot_held) and after (which slot
 * served it) when they run one at a time, and a hit class
 * (trial_hit_classify). The block's concurrency N > 1 keeps up to N
 * requests of distinct agents in flight, each agent's in order. Resume
 * continues a partly journaled group; an agent's first request after it is
 * marked after_resume (docs/journal.md, "Contention requests").
 *
 * Ownership: nothing the caller passes is kept after runner_run returns.
 */
#ifndef KV_RUNNER_H
#define KV_RUNNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "experiments/cachecheck.h"
#include "experiments/runner_io.h"
#include "experiments/spec.h"
#include "experiments/trial.h"
#include "net/client.h"

/* Progress events, for the CLI's bar or lines. With concurrency > 1 they come
 * from the worker threads, one at a time (under the runner's lock). */
typedef struct runner_progress {
    size_t planned;      /* trials in the plan (warm-up included) */
    size_t done;         /* finished: journaled before this run plus this run's */
    size_t failed;       /* failed trials of this run */
    size_t contaminated; /* contaminated trials of this run */
    size_t skipped;      /* trials adaptive stopping or a cap will not run */
    double elapsed_s;    /* this run's wall time so far */
    double eta_s;        /* estimated seconds left; NAN when unknown */
    const char *current; /* id of the trial just finished or starting */
    const char *message; /* a notice (e.g. a failure reason), or NULL */
} runner_progress;

typedef void (*runner_progress_fn)(void *ctx, const runner_progress *p);

/* Adaptive stopping, decided by a later stage (the CLI passes
 * stats/stopping.h's rule): true when a cell's samples are enough. ttft_ms
 * holds the session TTFT totals (ms) of the cell's good trials; called on
 * the calling thread between rounds. */
typedef bool (*runner_cell_done_fn)(void *ctx, const double *ttft_ms, size_t n,
                                    double target_rel_ci, long min_repetitions);

typedef struct runner_options {
    const char *out_dir; /* journal.jsonl goes here */
    bool resume;         /* continue an existing journal */
    bool seed_set;       /* use `seed` instead of spec->seed */
    uint64_t seed;
    bool simulated;              /* every target is kvproof's reference server */
    bool stop_on_failure;        /* end the run after the first failed trial */
    const runner_io *io;         /* NULL: the real client (net/client.h) */
    runner_slots_fn slots;       /* with io: GET /slots through io->ctx (NULL: none) */
    runner_progress_fn progress; /* may be NULL */
    void *progress_ctx;
    runner_cell_done_fn cell_done; /* NULL: no cell stops early (the caps still apply) */
    void *cell_done_ctx;
    double backoff_base_s; /* client retry backoff (0 = client default) */
    double backoff_cap_s;
} runner_options;

typedef struct runner_summary {
    size_t planned;      /* trials in the plan */
    size_t done_before;  /* found in the journal on --resume */
    size_t ran;          /* trials run now */
    size_t failed;       /* of those, failed */
    size_t contaminated; /* of those, contaminated */
    size_t skipped;      /* not run: adaptive stopping or max_trials / max_minutes */
    bool interrupted;    /* stopped by SIGINT/SIGTERM */
    bool simulated;      /* a target is kvproof's reference server */
    char journal_path[1024];
} runner_summary;

/* Runs the plan. Returns KV_ERR_INTERRUPT after a stop request (the journal
 * is intact and resumable), KV_ERR_USAGE when out_dir holds a journal and
 * resume is false, KV_ERR_LOCKED when another runner holds it. Failed trials
 * do not make it fail: they are journaled with their reason. */
kv_status runner_run(const spec *s, const runner_options *o, runner_summary *sum,
                     char *err) KV_MUST_USE;

/* Installs SIGINT/SIGTERM handlers (no SA_RESTART) that ask the runner to
 * stop starting trials. */
void runner_install_signals(void);
/* Asks a running runner_run to stop after the current trial(s); safe to call
 * from any thread or a signal handler. */
void runner_request_stop(void);
/* Clears a stop request (before a new run in the same process). */
void runner_clear_stop(void);

#endif
