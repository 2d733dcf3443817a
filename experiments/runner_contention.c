/* runner_contention.c - the contention plan's requests (runner.h,
 * "Contention"; experiments/contention.h), run after the trials.
 */
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "common/util.h"
#include "experiments/cachecheck.h"
#include "experiments/contention.h"
#include "experiments/journal.h"
#include "experiments/plan.h"
#include "experiments/prompt.h"
#include "experiments/runner.h"
#include "experiments/runner_state.h"
#include "net/client.h"

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
        runner_out_progress(r, ts->t->name, msg);
        pthread_mutex_unlock(&r->lock);
    }
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
    qsort(v, cg->n_cold, sizeof *v, kv_cmp_double);
    size_t n = cg->n_cold;
    double m = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    free(v);
    return m / 2;
}

/* Adds {"contention": {"ttft_threshold_ms": thr}} (thr finite) and
 * {"contention": {"template_tokens": slack}} (slack above CACHECHECK_COLD_SLACK)
 * to the request's raw JSON. */
static void attach_basis(trial_request *q, double thr, long slack)
{
    if (!isfinite(thr) && slack <= CACHECHECK_COLD_SLACK)
        return;
    cJSON *root = runner_trial_raw_open(q);
    cJSON *o = root ? cJSON_AddObjectToObject(root, "contention") : NULL;
    bool ok = o && (!isfinite(thr) || cJSON_AddNumberToObject(o, "ttft_threshold_ms", thr)) &&
              (slack <= CACHECHECK_COLD_SLACK ||
               cJSON_AddNumberToObject(o, "template_tokens", (double)slack));
    if (!ok) {
        cJSON_Delete(root);
        return;
    }
    runner_trial_raw_save(q, root);
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
        runner_trial_synth(ts, io, PROMPT_SYSTEM, sys, q->agent_nonce, 0, &a->sys, &a->sys_counted,
                           perr) != KV_OK) {
        runner_trial_reason(reason, "prompt synthesis: ", perr);
        return false;
    }
    if (runner_trial_synth(ts, io, PROMPT_QUERY, cg->g->query_tokens, q->nonce, 1, query, qc,
                           perr) != KV_OK) {
        runner_trial_reason(reason, "prompt synthesis: ", perr);
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
    runner_trial_request_init(t, 1);
    char *query = NULL, *body = NULL;
    long qc = 0;
    if (!creq_prompts(cg, io, ts, a, q, &query, &qc, t->error)) {
        t->in_contention = true;
        t->agent = q->agent;
        t->agent_position = q->position;
        runner_trial_turn_reason(rec->error, 1, t->error);
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
    runner_trial_send(r, io, ts, msgs, n, false, r->s->max_output_tokens, t, NULL);
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
        runner_trial_turn_reason(rec->error, 1, t->error);
    return KV_OK;
}

/* Journals a finished contention request (lock held). */
static kv_status creq_finish(cgroup *cg, const contention_req *q, trial_record *rec, int64_t t0,
                             char *err)
{
    run *r = cg->r;
    if (runner_stop_requested() && !rec->ok) {
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
    runner_out_progress(r, rec->id, rec->ok ? NULL : msg);
    if ((!rec->ok && r->o->stop_on_failure) || runner_stop_requested())
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
        if (runner_stop_requested())
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

/* ---- the group's requests as worker steps ---- */

static const void *cstep_next(void *ctx, char id[PLAN_ID_LEN])
{
    cgroup *cg = ((cworker *)ctx)->cg;
    const contention_req *q = creq_next(cg);
    if (q)
        contention_req_id(cg->r->s, cg->r->cp, q, id, PLAN_ID_LEN);
    return q;
}

static kv_status cstep_run(void *ctx, const void *job, trial_record *rec, char *err)
{
    cworker *w = ctx;
    return creq_run(w->cg, &w->io, job, rec, err);
}

static kv_status cstep_finish(void *ctx, const void *job, trial_record *rec, int64_t t0, char *err)
{
    return creq_finish(((cworker *)ctx)->cg, job, rec, t0, err);
}

static void cstep_done(void *ctx, const void *job)
{
    const contention_req *q = job;
    ((cworker *)ctx)->cg->agents[q->agent].busy = false;
}

static void cworker_loop(cworker *w)
{
    static const runner_sched_steps steps = {cstep_next, cstep_run, cstep_finish, cstep_done};
    runner_sched_loop(w->cg->r, &steps, w);
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
    sigset_t old;
    runner_sched_block_stops(&old);
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
    cgroup cg = {r, g, NULL, NULL, 0, CACHECHECK_COLD_SLACK, 0, n_ws <= 1};
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
            st = runner_client_new(r->o, &c, err);
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
kv_status runner_contention_run(run *r, bool real, char *err)
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
