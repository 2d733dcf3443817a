/* results_target.c - one target's statistics (results_target.h): computed
 * from the shared points into a results_target, then written.
 */
#include "stats/results_target.h"

#include "stats/results_cells.h"

#include <pthread.h>
#include <stdbool.h>

static void count_cache_evidence(const results_ctx *c, size_t target, results_target *ts)
{
    for (size_t i = 0; i < c->n_pts; i++) {
        const results_point *p = &c->pts[i];
        if (p->target != target)
            continue;
        if (p->mode == SPEC_WARM) {
            ts->warm_total++;
            ts->warm_verified += p->cache_state == TRIAL_CACHE_VERIFIED;
            ts->warm_inferred += p->cache_state == TRIAL_CACHE_INFERRED;
            ts->warm_contaminated += p->contaminated;
        } else {
            ts->cold_contaminated += p->contaminated;
        }
    }
}

/* The speedups and overhead fractions, on a second thread while the
 * models are fitted (they share only the points, read-only; neither
 * needs the other until the fallback from the cold model). */
typedef struct compare_job {
    const results_ctx *c;
    size_t target;
    const long *sys, *query;
    size_t ns, nq;
    results_compare *out;
} compare_job;

static void *compare_run(void *arg)
{
    const compare_job *cj = arg;
    results_compare_compute(cj->c, cj->target, cj->sys, cj->ns, cj->query, cj->nq, cj->out);
    return NULL;
}

void results_target_compute(const results_ctx *c, size_t target, results_target *ts)
{
    long sys[RES_MAX], query[RES_MAX];
    size_t ns = results_distinct(c, target, RES_SYS, sys, RES_MAX);
    size_t nq = results_distinct(c, target, RES_QUERY, query, RES_MAX);
    ts->sys_max = ns ? sys[ns - 1] : 0;
    ts->query_min = nq ? query[0] : 0;
    compare_job cj = {c, target, sys, query, ns, nq, &ts->cmp};
    pthread_t th;
    bool threaded = pthread_create(&th, NULL, compare_run, &cj) == 0;
    if (!threaded)
        compare_run(&cj);
    results_model_build(c, target, RES_MODEL_COLD, &ts->cold);
    results_model_build(c, target, RES_MODEL_WARM, &ts->warm);
    results_model_build(c, target, RES_MODEL_PREFILL, &ts->prefill);
    count_cache_evidence(c, target, ts);
    if (threaded)
        pthread_join(th, NULL);
    if (ts->cmp.n_over == 0) /* no cell without a system prompt: T(0) from the cold model */
        results_compare_overhead_from_model(c, target, &ts->cold, ts->sys_max, ts->query_min,
                                            &ts->cmp);
    ts->n_sess = results_sessions_compute(c, target, &ts->cold, &ts->warm, ts->sess, RES_MAX);
}

void results_target_free(results_target *ts)
{
    results_model_free(&ts->cold);
    results_model_free(&ts->warm);
    results_model_free(&ts->prefill);
    for (size_t i = 0; i < ts->n_sess; i++)
        results_session_free(&ts->sess[i]);
}

void results_target_write(jsonw *w, const results_ctx *c, size_t target, const results_target *ts)
{
    const journal_header *h = c->h;
    const journal_target_meta *tm = target < h->n_targets ? &h->targets[target] : NULL;
    jsonw_begin_obj(w);
    jsonw_kstr(w, "name", ts->name);
    jsonw_kstr(w, "dialect", tm ? tm->dialect : NULL);
    jsonw_kstr(w, "model", tm ? tm->model : NULL);
    jsonw_kbool(w, "simulated", tm ? tm->simulated : false);
    results_cells_write(w, c, target, ts->name);
    jsonw_key(w, "models");
    jsonw_begin_obj(w);
    jsonw_key(w, "cold_ttft");
    results_model_write(w, &ts->cold, c->level);
    jsonw_key(w, "warm_ttft");
    results_model_write(w, &ts->warm, c->level);
    jsonw_key(w, "cold_server_prefill");
    results_model_write(w, &ts->prefill, c->level);
    jsonw_end_obj(w);
    results_compare_write(w, &ts->cmp, c->level);
    results_sessions_write(w, ts->sess, ts->n_sess, ts->cold.n, ts->warm.n, c->level);
    jsonw_key(w, "cache_evidence");
    jsonw_begin_obj(w);
    jsonw_kint(w, "warm_requests", (long long)ts->warm_total);
    jsonw_kint(w, "verified", (long long)ts->warm_verified);
    jsonw_kint(w, "inferred", (long long)ts->warm_inferred);
    jsonw_kint(w, "contaminated_warm", (long long)ts->warm_contaminated);
    jsonw_kint(w, "contaminated_cold", (long long)ts->cold_contaminated);
    jsonw_end_obj(w);
    jsonw_end_obj(w);
}

const results_speed *results_target_speed(const results_target *ts, long sys)
{
    return results_compare_find_speed(&ts->cmp, sys, ts->sys_max);
}

const results_overhead *results_target_over(const results_target *ts, long sys)
{
    return results_compare_find_over(&ts->cmp, sys, ts->sys_max);
}

const results_session *results_target_session(const results_target *ts, long count)
{
    const results_session *best = NULL;
    for (size_t i = 0; i < ts->n_sess; i++) {
        const results_session *s = &ts->sess[i];
        if (count < 0 ? (!best || s->count > best->count) : s->count == count)
            best = s;
    }
    return best;
}
