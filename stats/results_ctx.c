/* results_ctx.c - what the results sections share (results_ctx.h).
 *
 * Divided into: estimate objects; gathering measured points and counts from
 * the journal; filters over the points; the bootstrap ratio.
 */
#include "stats/results_ctx.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- estimate objects ---------------------------------------------------- */

void results_est_none(results_est *e, const char *note)
{
    memset(e, 0, sizeof *e);
    e->est.value = e->est.lo = e->est.hi = NAN;
    snprintf(e->note, sizeof e->note, "%s", note);
}

void results_est_from_summary(results_est *e, const describe_summary *s, size_t n,
                              const char *method)
{
    memset(e, 0, sizeof *e);
    e->est.value = s->mean;
    e->est.lo = s->mean_ci[0];
    e->est.hi = s->mean_ci[1];
    e->est.has_ci = s->has_mean_ci;
    e->est.n = n;
    snprintf(e->method, sizeof e->method, "%s", method);
    if (!e->est.has_ci)
        snprintf(e->note, sizeof e->note, "n < 2: no interval");
}

void results_est_mean(const double *v, size_t n, double level, results_est *e, const char *what)
{
    if (n == 0) {
        results_est_none(e, what);
        return;
    }
    describe_summary s;
    char e2[KV_ERRLEN] = "";
    if (describe_sample(v, n, level, &s, e2) != KV_OK) {
        results_est_none(e, e2);
        return;
    }
    results_est_from_summary(e, &s, n, "mean, t-interval");
}

void results_est_format(char *buf, size_t len, const results_est *e, double scale, const char *unit)
{
    if (!isfinite(e->est.value))
        snprintf(buf, len, "not computable (%s)", e->note[0] ? e->note : "no data");
    else if (e->est.has_ci && isfinite(e->est.lo) && isfinite(e->est.hi))
        snprintf(buf, len, "%.3g%s (%.3g%% CI %.3g to %.3g)", e->est.value * scale, unit,
                 100 * (e->est.level > 0 ? e->est.level : 0.95), e->est.lo * scale,
                 e->est.hi * scale);
    else
        snprintf(buf, len, "%.3g%s (no interval)", e->est.value * scale, unit);
}

void results_est_write(jsonw *w, const results_est *e, double level)
{
    jsonw_begin_obj(w);
    jsonw_knum(w, "value", e->est.value);
    jsonw_key(w, "ci");
    jsonw_pair(w, e->est.lo, e->est.hi, e->est.has_ci);
    jsonw_knum(w, "level", e->est.level > 0 ? e->est.level : level);
    jsonw_kint(w, "n", (long long)e->est.n);
    jsonw_kstr(w, "method", e->method[0] ? e->method : NULL);
    if (e->note[0] || !isfinite(e->est.value) || !e->est.has_ci)
        jsonw_kstr(w, "note", e->note[0] ? e->note : "interval not computable");
    jsonw_end_obj(w);
}

void results_kest(jsonw *w, const char *key, const results_est *e, double level)
{
    jsonw_key(w, key);
    results_est_write(w, e, level);
}

void results_klengths(jsonw *w, long long sys, long long query)
{
    jsonw_kint(w, "system_prompt_tokens", sys);
    jsonw_kint(w, "query_tokens", query);
}

/* ---- gathering ----------------------------------------------------------- */

static int point_cmp(const void *a, const void *b)
{
    const results_point *p = a, *q = b;
    if (p->order != q->order)
        return p->order < q->order ? -1 : 1;
    return (p->turn > q->turn) - (p->turn < q->turn);
}

/* Point of turn k (0-based within trial i; turn index q in the columns). */
static void point_from_turn(results_point *p, const journal_cols *j, size_t i, size_t k)
{
    size_t q = j->turn0[i] + k;
    spec_cache_mode mode = (spec_cache_mode)j->mode[i];
    p->target = j->target[i];
    p->sys = j->sys[i];
    p->query = j->query[i];
    p->count = j->count[i];
    p->mode = mode;
    p->turn = j->turn[q] > 0 ? j->turn[q] : (int)k + 1;
    p->order = j->run_position[i];
    p->x = j->prompt_tokens[q] >= 0 ? (double)j->prompt_tokens[q] : NAN;
    p->cached = j->cached_tokens[q] >= 0 ? (double)j->cached_tokens[q] : NAN;
    if (isfinite(p->x) && isfinite(p->cached))
        p->newtok = p->x - p->cached;
    else if (isfinite(p->x) && mode == SPEC_WARM && j->prefix_tokens[q] >= 0)
        p->newtok = p->x - (double)j->prefix_tokens[q]; /* inferred */
    else if (isfinite(p->x) && mode == SPEC_COLD)
        p->newtok = p->x;
    else
        p->newtok = NAN;
    p->y = j->ttft_ms[q];
    double pf = j->server_prefill_ms[q];
    p->prefill = isfinite(pf) && pf >= 0 ? pf : NAN;
    p->cache_state = (trial_cache_state)j->cache_state[q];
    p->contaminated = p->cache_state == TRIAL_CACHE_CONTAMINATED;
}

static void count_trials(results_ctx *c)
{
    const journal_cols *j = c->j;
    results_counts *n = &c->counts;
    for (size_t i = 0; i < j->n_trials; i++) {
        if (j->kind[i] == PLAN_CONTENTION)
            continue; /* counted by the contention section (stats/warm.c) */
        if (j->kind[i] != PLAN_MEASURE) {
            n->warmup++;
            continue;
        }
        if (j->ok[i])
            n->completed++;
        else
            n->failed++;
        n->contaminated += j->contaminated[i];
        for (size_t k = 0; k < j->n_turns[i]; k++)
            n->inferred += j->cache_state[j->turn0[i] + k] == TRIAL_CACHE_INFERRED;
    }
}

kv_status results_gather(results_ctx *c, char *err)
{
    const journal_cols *j = c->j;
    size_t cap = j->n_turns_all;
    c->pts = calloc(cap ? cap : 1, sizeof *c->pts);
    if (!c->pts)
        return kv_fail(err, KV_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < j->n_trials; i++) {
        if (j->kind[i] != PLAN_MEASURE)
            continue;
        for (size_t k = 0; k < j->n_turns[i]; k++) {
            size_t q = j->turn0[i] + k;
            if (!j->turn_ok[q])
                continue;
            if (!isfinite(j->ttft_ms[q]) || j->ttft_ms[q] < 0) {
                c->excluded_bad++;
                continue;
            }
            point_from_turn(&c->pts[c->n_pts++], j, i, k);
        }
    }
    if (c->n_pts < cap) { /* warm-ups, failures and bad times: room given back */
        results_point *q = realloc(c->pts, (c->n_pts ? c->n_pts : 1) * sizeof *q);
        c->pts = q ? q : c->pts;
    }
    bool sorted = true; /* the usual journal: file order is run order */
    for (size_t i = 1; sorted && i < c->n_pts; i++)
        sorted = point_cmp(&c->pts[i - 1], &c->pts[i]) <= 0;
    if (!sorted)
        qsort(c->pts, c->n_pts, sizeof *c->pts, point_cmp);
    count_trials(c);
    return KV_OK;
}

void results_ctx_free(results_ctx *c)
{
    free(c->pts);
    c->pts = NULL;
    c->n_pts = 0;
}

/* ---- filters ------------------------------------------------------------- */

static bool collect_match(const results_point *p, size_t target, long sys, long query, long count,
                          int mode, int turn)
{
    if (p->target != target || p->contaminated || (int)p->mode != mode)
        return false;
    return !((sys >= 0 && p->sys != sys) || (query >= 0 && p->query != query) ||
             (count >= 0 && p->count != count) || (turn > 0 && p->turn != turn));
}

double *results_collect(const results_ctx *c, size_t target, long sys, long query, long count,
                        int mode, int turn, size_t *n)
{
    size_t m = 0;
    for (size_t i = 0; i < c->n_pts; i++)
        m += collect_match(&c->pts[i], target, sys, query, count, mode, turn);
    double *v = malloc((m ? m : 1) * sizeof *v);
    *n = 0;
    if (!v)
        return NULL;
    for (size_t i = 0; i < c->n_pts && *n < m; i++)
        if (collect_match(&c->pts[i], target, sys, query, count, mode, turn))
            v[(*n)++] = c->pts[i].y;
    return v;
}

size_t results_distinct(const results_ctx *c, size_t target, results_field which, long *out,
                        size_t cap)
{
    size_t m = 0;
    for (size_t i = 0; i < c->n_pts; i++) {
        const results_point *p = &c->pts[i];
        if (p->target != target)
            continue;
        long v = which == RES_SYS ? p->sys : which == RES_QUERY ? p->query : p->count;
        size_t j = 0;
        while (j < m && out[j] != v)
            j++;
        if (j == m && m < cap)
            out[m++] = v;
    }
    for (size_t i = 1; i < m; i++)
        for (size_t j = i; j > 0 && out[j - 1] > out[j]; j--) {
            long t = out[j];
            out[j] = out[j - 1];
            out[j - 1] = t;
        }
    return m;
}

bool results_same_cell(const results_point *p, const results_point *q)
{
    return q->target == p->target && q->sys == p->sys && q->query == p->query &&
           q->count == p->count && q->mode == p->mode && q->turn == p->turn;
}

/* ---- bootstrap ratio ----------------------------------------------------- */

/* Copies r into e when st is KV_OK; otherwise e says why (e2) and counts
 * the n values. True when r was taken. */
static bool ratio_taken(kv_status st, const estimate *r, const char *e2, size_t n, results_est *e)
{
    if (st != KV_OK) {
        results_est_none(e, e2);
        e->est.n = n;
        return false;
    }
    e->est.value = r->value;
    e->est.lo = r->lo;
    e->est.hi = r->hi;
    e->est.has_ci = r->has_ci;
    return true;
}

/* The delta-method ratio of means; why: the sizes that chose it. */
static void results_est_ratio_delta(const results_ctx *c, const double *x, size_t nx,
                                    const double *y, size_t ny, const char *why, results_est *e)
{
    estimate r;
    char e2[KV_ERRLEN] = "";
    double df;
    if (!ratio_taken(compare_ratio_of_means_delta(x, nx, y, ny, c->level, &r, &df, e2), &r, e2,
                     nx + ny, e))
        return;
    if (isfinite(df))
        snprintf(e->method, sizeof e->method,
                 "ratio of means, delta method on the log ratio with Welch-Satterthwaite t "
                 "(df %.1f; %s)",
                 df, why);
    else
        snprintf(e->method, sizeof e->method,
                 "ratio of means, delta method on the log ratio (no variation; %s)", why);
}

void results_est_ratio(const results_ctx *c, const double *x, size_t nx, const double *y, size_t ny,
                       uint64_t salt, results_est *e)
{
    estimate r;
    char e2[KV_ERRLEN] = "", why[96];
    memset(e, 0, sizeof *e);
    e->est.n = nx + ny;
    uint64_t seed = c->boot_seed + salt;
    if (nx < RES_RATIO_BOOT_MIN || ny < RES_RATIO_BOOT_MIN) {
        snprintf(why, sizeof why, "fewer than %d values on a side", RES_RATIO_BOOT_MIN);
        results_est_ratio_delta(c, x, nx, y, ny, why, e);
        return;
    }
    if (nx >= RES_RATIO_DELTA_MIN && ny >= RES_RATIO_DELTA_MIN) {
        snprintf(why, sizeof why, "%d or more values on both sides: no bootstrap",
                 RES_RATIO_DELTA_MIN);
        results_est_ratio_delta(c, x, nx, y, ny, why, e);
        return;
    }
    bool pct = false;
    kv_status st = compare_ratio_of_means(x, nx, y, ny, c->opt->bootstrap_resamples, seed, c->level,
                                          &r, &pct, e2);
    if (!ratio_taken(st, &r, e2, nx + ny, e))
        return;
    snprintf(e->method, sizeof e->method, "ratio of means, %s, %ld resamples, seed %llu",
             pct ? "percentile bootstrap of the log ratio (the bootstrap-t interval left the "
                   "resampled ratios' range: a stall among few values)"
                 : "studentized bootstrap (bootstrap-t on the log ratio)",
             c->opt->bootstrap_resamples < 100 ? 100L : c->opt->bootstrap_resamples,
             (unsigned long long)seed);
}

/* ---- median ratio -------------------------------------------------------- */

void results_est_median_ratio(const results_ctx *c, const double *x, size_t nx, const double *y,
                              size_t ny, const char *what, results_est *e)
{
    estimate r;
    char e2[KV_ERRLEN] = "";
    memset(e, 0, sizeof *e);
    if (compare_median_ratio(x, nx, y, ny, c->level, &r, e2) != KV_OK) {
        results_est_none(e, e2);
        e->est.n = nx + ny;
        return;
    }
    e->est.n = nx + ny;
    e->est.value = r.value;
    e->est.lo = r.has_ci ? r.lo : NAN;
    e->est.hi = r.has_ci ? r.hi : NAN;
    e->est.has_ci = r.has_ci;
    e->est.level = r.has_ci ? r.level : 0;
    bool below = r.has_ci && r.level < c->level - 1e-9;
    snprintf(e->method, sizeof e->method,
             "median ratio %s (Hodges-Lehmann on log times), distribution-free rank "
             "interval%s",
             what, below ? " (the widest at these sizes: level as given)" : "");
    if (!r.has_ci)
        snprintf(e->note, sizeof e->note, "one value on a side: no rank interval");
}
