/* runner.c - runs a spec's trial plan and journals every trial (runner.h).
 *
 * The runner is split by concern; the files share the run's state
 * (runner_state.h):
 *   runner.c             the stop flag and signals, the real client as a
 *                        runner_io, and runner_run, which chains the steps;
 *   runner_target.c      per-target state: probing, token counting (the
 *                        server's /tokenize or usage calibration), the cache
 *                        reset check;
 *   runner_trial.c       one trial: warm-up, cold or warm session, priming,
 *                        cache checks;
 *   runner_sched.c       the schedule: rounds for adaptive stopping, caps,
 *                        resume samples, and the workers that run
 *                        `concurrency` trials at once with group commit;
 *   runner_out.c         what the run tells: progress events and the journal
 *                        header;
 *   runner_contention.c  the contention plan's requests, after the trials.
 * The analysis and the report are later stages: the CLI chains them after
 * runner_run.
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

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/util.h"
#include "experiments/contention.h"
#include "experiments/journal.h"
#include "experiments/plan.h"
#include "experiments/prompt.h"
#include "experiments/runner_state.h"
#include "net/client.h"
#include "net/probe.h"

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

bool runner_stop_requested(void)
{
    return stop_requested != 0;
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

kv_status runner_client_new(const runner_options *o, client **out, char *err)
{
    kv_status st = client_new(out, err);
    if (st == KV_OK && o->backoff_base_s > 0)
        client_set_backoff(*out, o->backoff_base_s, o->backoff_cap_s);
    return st;
}

/* ---- the run ------------------------------------------------------------- */

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

static bool file_nonempty(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && sb.st_size > 0;
}

static void run_init(run *r, const spec *s, const runner_options *o, runner_summary *sum)
{
    memset(r, 0, sizeof *r);
    memset(sum, 0, sizeof *sum);
    r->s = s;
    r->o = o;
    r->sum = sum;
    r->t0_ns = kv_now_ns();
    pthread_mutex_init(&r->lock, NULL);
    pthread_mutex_init(&r->synth_lock, NULL);
    pthread_cond_init(&r->cv, NULL);
    pthread_cond_init(&r->writer_cv, NULL);
    sum->simulated = o->simulated;
}

/* The journal's path (one that holds trials only with resume: *resume), the
 * out directory, the plan and the contention plan. */
static kv_status run_plan(run *r, uint64_t seed, bool *resume, char *err)
{
    const runner_options *o = r->o;
    runner_summary *sum = r->sum;
    snprintf(sum->journal_path, sizeof sum->journal_path, "%s/journal.jsonl", o->out_dir);
    bool held = file_nonempty(sum->journal_path);
    *resume = o->resume && held;
    if (!o->resume && held)
        return kv_fail(err, KV_ERR_USAGE,
                       "%s already holds measured trials: continue it with --resume, or choose "
                       "another --out directory",
                       sum->journal_path);
    kv_status st = kv_mkdirs(o->out_dir, err);
    if (st != KV_OK)
        return st;
    st = plan_build(r->s, seed, &r->p, err);
    if (st == KV_OK)
        st = contention_build(r->s, seed, &r->cp, err);
    if (st != KV_OK)
        return st;
    sum->planned = r->p->n_trials + r->cp->n_reqs; /* trials, then contention requests */
    return KV_OK;
}

/* The network (o->io, else a real client in *c) and the run's tables. */
static kv_status run_alloc(run *r, client **c, char *err)
{
    const spec *s = r->s;
    const runner_options *o = r->o;
    size_t n_all = r->p->n_trials + r->cp->n_reqs;
    r->slots = o->io ? o->slots : real_slots;
    if (o->io) {
        r->io = *o->io;
    } else {
        kv_status st = runner_client_new(o, c, err);
        if (st != KV_OK)
            return st;
        r->io = (runner_io){*c, real_send, real_tokenize, real_reset, NULL, NULL, real_count};
    }
    r->done = calloc(n_all ? n_all : 1, sizeof *r->done);
    size_t nc = r->p->n_cells ? r->p->n_cells : 1;
    r->cell_stopped = calloc(nc, sizeof *r->cell_stopped);
    r->samples = calloc(nc, sizeof *r->samples);
    r->n_samples = calloc(nc, sizeof *r->n_samples);
    r->cap_samples = calloc(nc, sizeof *r->cap_samples);
    r->tg = calloc(s->n_targets ? s->n_targets : 1, sizeof *r->tg);
    r->queue = calloc(r->p->n_trials ? r->p->n_trials : 1, sizeof *r->queue);
    r->warmups_left = calloc(s->n_targets ? s->n_targets : 1, sizeof *r->warmups_left);
    if (!r->done || !r->cell_stopped || !r->samples || !r->n_samples || !r->cap_samples || !r->tg ||
        !r->queue || !r->warmups_left)
        return kv_fail(err, KV_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < s->n_targets; i++) {
        r->tg[i].r = r;
        r->tg[i].copy = s->targets[i];
        r->tg[i].t = &r->tg[i].copy;
        r->tg[i].api =
            s->targets[i].api == SPEC_API_AUTO ? SPEC_API_OPENAI_CHAT : s->targets[i].api;
    }
    return KV_OK;
}

/* The most requests the spec has in flight at once (threads measuring). */
static long most_in_flight(const spec *s)
{
    long n = s->concurrency > 1 ? s->concurrency : 1;
    return s->contention.concurrency > n ? s->contention.concurrency : n;
}

/* Probes the targets (real client), loads the resumed samples, tries the
 * cache resets, asks for the measuring threads' scheduler slice (on this
 * thread, before the workers start: threads inherit it), opens the journal
 * with its header and counts what it already holds. */
static kv_status run_open(run *r, client *c, bool resume, uint64_t seed, journal_header *h,
                          char *err)
{
    kv_status st;
    if (c && (st = runner_target_probe(r, c, err)) != KV_OK)
        return st;
    if (resume && (st = runner_sched_load_samples(r, err)) != KV_OK)
        return st;
    runner_target_reset_check(r);
    long most = most_in_flight(r->s);
    r->slice = slice_worth_asking((size_t)most) ? slice_request_short() : SLICE_NOT_ASKED;
    if ((st = runner_out_header(r, seed, h, err)) != KV_OK)
        return st;
    if ((st = journal_open(r->sum->journal_path, h, resume, r->done, &r->j, err)) != KV_OK)
        return st;
    size_t n_all = r->p->n_trials + r->cp->n_reqs;
    for (size_t i = 0; i < n_all; i++) {
        bool trial = i < r->p->n_trials;
        if (r->done[i]) {
            r->sum->done_before++;
            if (trial && r->p->trials[i].kind == PLAN_MEASURE)
                r->measured_done++;
        } else {
            r->units_left += trial ? (size_t)r->p->trials[i].requests : 1;
        }
    }
    r->run_position = r->sum->done_before;
    return KV_OK;
}

/* The prompt corpus (*corpus, freed by the caller) and each target's
 * prompt synthesiser and token counter. */
static kv_status run_targets(run *r, uint64_t seed, char **corpus, char *err)
{
    size_t corpus_len = 0;
    kv_status st = prompt_corpus_load(r->s->corpus, corpus, &corpus_len, err);
    for (size_t i = 0; st == KV_OK && i < r->s->n_targets; i++)
        st = runner_target_setup(r, &r->tg[i], &r->s->targets[i], *corpus, corpus_len, seed, err);
    return st;
}

/* The journal is complete (or a stop request ended the run). */
static kv_status run_finish(run *r, char *err)
{
    runner_summary *sum = r->sum;
    sum->interrupted = stop_requested != 0;
    journal_close(r->j);
    r->j = NULL;
    if (sum->interrupted)
        return kv_fail(err, KV_ERR_INTERRUPT, "interrupted after %zu of %zu trials",
                       sum->done_before + sum->ran, sum->planned);
    return KV_OK;
}

kv_status runner_run(const spec *s, const runner_options *o, runner_summary *sum, char *err)
{
    run r;
    client *c = NULL;
    worker *ws = NULL;
    char *corpus = NULL;
    journal_header h;
    bool resume = false;
    memset(&h, 0, sizeof h);
    run_init(&r, s, o, sum);
    uint64_t seed = o->seed_set ? o->seed : s->seed;
    kv_status st = run_plan(&r, seed, &resume, err);
    if (st == KV_OK)
        st = run_alloc(&r, &c, err);
    if (st == KV_OK)
        st = run_open(&r, c, resume, seed, &h, err);
    if (st == KV_OK)
        st = run_targets(&r, seed, &corpus, err);
    if (st == KV_OK)
        st = runner_sched_workers_new(&r, c != NULL, &ws, err);
    if (st == KV_OK)
        st = runner_sched_rounds(&r, ws, err);
    if (st == KV_OK && !r.halt)
        st = runner_contention_run(&r, c != NULL, err);
    if (st == KV_OK)
        st = run_finish(&r, err);
    journal_header_clear(&h);
    free(corpus);
    runner_sched_workers_free(&r, ws);
    run_free(&r, c);
    pthread_cond_destroy(&r.cv);
    pthread_cond_destroy(&r.writer_cv);
    pthread_mutex_destroy(&r.synth_lock);
    pthread_mutex_destroy(&r.lock);
    return st;
}
