/* runner_sched.c - the runner's schedule (runner_state.h): the rounds of
 * adaptive stopping and the samples it decides on (resumed ones too), the
 * caps, the queue of a round, the workers that run `concurrency` trials at
 * once, and how a finished trial reaches the journal (by its worker with one
 * worker, through the writer thread's group commit with several).
 */
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "experiments/journal.h"
#include "experiments/journal_cols.h"
#include "experiments/plan.h"
#include "experiments/runner.h"
#include "experiments/runner_state.h"
#include "net/client.h"

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

static kv_status note_sample(run *r, const trial_record *t, char *err)
{
    if (t->plan_index >= r->p->n_trials)
        return KV_OK;
    size_t cell = r->p->trials[t->plan_index].cell;
    double v = session_ttft(t);
    if (!isfinite(v) || cell >= r->p->n_cells)
        return KV_OK;
    if (kv_grow(&r->samples[cell], &r->cap_samples[cell], r->n_samples[cell] + 1,
                sizeof *r->samples[cell], 16) != KV_OK)
        return kv_fail(err, KV_ERR_NOMEM, "out of memory");
    r->samples[cell][r->n_samples[cell]++] = v;
    return KV_OK;
}

static kv_status sample_seen(void *ctx, trial_record *t, const char *where, char *err)
{
    (void)where;
    return note_sample(ctx, t, err);
}

/* Loads earlier trials' samples for adaptive stopping (resume), one pass
 * through the journal reader, no record kept. */
kv_status runner_sched_load_samples(run *r, char *err)
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

/* ---- journaling a finished trial ----------------------------------------- */

/* The trial's requests leave units_left (lock held; never below 0). */
static void units_spent(run *r, const plan_trial *pt)
{
    size_t n = (size_t)pt->requests;
    r->units_left -= r->units_left > n ? n : r->units_left;
}

/* A trial is on disk (lock held): counts it and tells the progress callback. */
static kv_status trial_recorded(run *r, const plan_trial *pt, const trial_record *rec, int64_t t0,
                                char *err)
{
    r->done[pt->index] = true;
    r->sum->ran++;
    r->trial_s_sum += (double)(kv_now_ns() - t0) / 1e9;
    r->units_done += (size_t)pt->requests;
    units_spent(r, pt);
    if (pt->kind == PLAN_MEASURE)
        r->measured_done++;
    if (!rec->ok)
        r->sum->failed++;
    if (rec->contaminated)
        r->sum->contaminated++;
    kv_status st = note_sample(r, rec, err);
    char msg[TRIAL_REASON_LEN + 160];
    if (!rec->ok)
        snprintf(msg, sizeof msg, "%s failed: %s", rec->id, rec->error);
    else if (rec->contaminated)
        snprintf(msg, sizeof msg, "%s: cache contaminated (counted, flagged)", rec->id);
    runner_out_progress(r, pt->id, (!rec->ok || rec->contaminated) ? msg : NULL);
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
    if (runner_stop_requested() && !rec->ok) {
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
    if ((!rec->ok && r->o->stop_on_failure) || runner_stop_requested())
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

/* ---- the workers ----------------------------------------------------------- */

/* The next trial of the round's queue to run (lock held), or NULL when none
 * is left or the run halts. Counts the measured trials a cap or adaptive
 * stopping skips; a measured trial waits until its target's warm-ups of the
 * round have finished (they come first in the queue, so they are running). */
static const plan_trial *next_trial(run *r)
{
    const spec *s = r->s;
    for (;;) {
        if (runner_stop_requested())
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
            units_spent(r, pt);
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

void runner_sched_block_stops(sigset_t *old)
{
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, old);
}

void runner_sched_fail(run *r, kv_status st, const char *err)
{
    if (r->fail_st == KV_OK) {
        r->fail_st = st;
        snprintf(r->fail_err, sizeof r->fail_err, "%s", err);
    }
    r->halt = true;
}

void runner_sched_loop(run *r, const runner_sched_steps *steps, void *ctx)
{
    pthread_mutex_lock(&r->lock);
    for (;;) {
        char id[PLAN_ID_LEN];
        const void *job = steps->next(ctx, id);
        if (!job)
            break;
        runner_out_progress(r, id, NULL);
        pthread_mutex_unlock(&r->lock);
        trial_record rec;
        char err[KV_ERRLEN] = "";
        int64_t t0 = kv_now_ns();
        kv_status st = steps->run(ctx, job, &rec, err);
        pthread_mutex_lock(&r->lock);
        if (st == KV_OK)
            st = steps->finish(ctx, job, &rec, t0, err);
        trial_record_clear(&rec);
        steps->done(ctx, job);
        if (st != KV_OK)
            runner_sched_fail(r, st, err);
        pthread_cond_broadcast(&r->cv);
    }
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->lock);
}

/* ---- the round's trials as worker steps ---- */

static const void *trial_next(void *ctx, char id[PLAN_ID_LEN])
{
    worker *w = ctx;
    const plan_trial *pt = next_trial(w->r);
    if (pt)
        snprintf(id, PLAN_ID_LEN, "%s", pt->id);
    return pt;
}

static kv_status trial_run(void *ctx, const void *job, trial_record *rec, char *err)
{
    worker *w = ctx;
    return runner_trial_run(w->r, &w->io, job, rec, err);
}

static kv_status trial_finish(void *ctx, const void *job, trial_record *rec, int64_t t0, char *err)
{
    worker *w = ctx;
    return finish_trial(w->r, w, job, rec, t0, err);
}

static void trial_done(void *ctx, const void *job)
{
    run *r = ((worker *)ctx)->r;
    const plan_trial *pt = job;
    if (pt->kind == PLAN_MEASURE)
        r->measured_in_flight--;
    else if (r->warmups_left[pt->target] > 0)
        r->warmups_left[pt->target]--;
}

/* Runs trials from the round's queue until it is empty or the run halts. */
static void worker_loop(worker *w)
{
    static const runner_sched_steps steps = {trial_next, trial_run, trial_finish, trial_done};
    runner_sched_loop(w->r, &steps, w);
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
        sigset_t old;
        runner_sched_block_stops(&old);
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
kv_status runner_sched_workers_new(run *r, bool real, worker **out, char *err)
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
            st = runner_client_new(r->o, &ws[i].c, err);
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

void runner_sched_workers_free(run *r, worker *ws)
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

/* Runs the plan's trials: one round with adaptive stopping off, else one
 * round per repetition, after each of which (from min_repetitions on) the
 * later stage's rule (runner_options.cell_done) may stop cells. */
kv_status runner_sched_rounds(run *r, worker *ws, char *err)
{
    const spec *s = r->s;
    const runner_options *o = r->o;
    long max_rep = 1;
    for (size_t i = 0; i < r->p->n_trials; i++)
        if (r->p->trials[i].repetition + 1 > max_rep)
            max_rep = r->p->trials[i].repetition + 1;
    bool rounds = s->stop.enabled;
    long n_rounds = rounds ? max_rep : 1;
    for (long round = 0; round < n_rounds && !r->halt; round++) {
        queue_round(r, rounds, round);
        kv_status st = run_queue(r, ws, err);
        if (st != KV_OK)
            return st;
        if (rounds && !r->halt && o->cell_done && round + 1 >= s->stop.min_repetitions)
            for (size_t c2 = 0; c2 < r->p->n_cells; c2++)
                if (!r->cell_stopped[c2] &&
                    o->cell_done(o->cell_done_ctx, r->samples[c2], r->n_samples[c2],
                                 s->stop.target_rel_ci, s->stop.min_repetitions))
                    r->cell_stopped[c2] = true;
    }
    return KV_OK;
}
