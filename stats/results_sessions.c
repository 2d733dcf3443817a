/* results_sessions.c - multi-query sessions of one target (results_sessions.h).
 *
 * Divided into: the data (complete sessions' totals, mean tokens per turn);
 * computing one session (measured totals, cumulative curves, theoretical
 * and projected speedups); writing.
 */
#include "stats/results_sessions.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- data ----------------------------------------------------------------- */

/* Per-trial session totals (sum of ttft over turns) for complete sessions;
 * *cum gets each session's cumulative ttft, count values per session. */
static bool session_trial(const journal_cols *j, size_t i, size_t target, long sys, long query,
                          long count, int mode)
{
    return j->kind[i] == PLAN_MEASURE && j->target[i] == target && j->sys[i] == sys &&
           j->query[i] == query && j->count[i] == count && (int)j->mode[i] == mode && j->ok[i] &&
           !j->contaminated[i] && j->n_turns[i] == (size_t)count;
}

static double *session_totals(const results_ctx *c, size_t target, long sys, long query, long count,
                              int mode, size_t *n, double **cum)
{
    const journal_cols *j = c->j;
    size_t m = 0;
    for (size_t i = 0; i < j->n_trials; i++)
        m += session_trial(j, i, target, sys, query, count, mode);
    m = m ? m : 1;
    double *tot = malloc(m * sizeof *tot);
    *cum = malloc(m * (size_t)count * sizeof **cum);
    *n = 0;
    if (!tot || !*cum) {
        free(tot);
        free(*cum);
        *cum = NULL;
        return NULL;
    }
    for (size_t i = 0; i < j->n_trials; i++) {
        if (!session_trial(j, i, target, sys, query, count, mode))
            continue;
        double s = 0;
        bool good = true;
        for (size_t k = 0; k < j->n_turns[i]; k++) {
            double y = j->ttft_ms[j->turn0[i] + k];
            if (!isfinite(y) || y < 0) {
                good = false;
                break;
            }
            s += y;
            (*cum)[*n * (size_t)count + k] = s;
        }
        if (good)
            tot[(*n)++] = s;
    }
    return tot;
}

/* Mean prompt (or new) tokens at each turn among a cell's points. */
static bool turn_means(const results_ctx *c, size_t target, long sys, long query, long count,
                       int mode, bool newtok, double *xs)
{
    for (long k = 1; k <= count; k++) {
        double s = 0;
        size_t n = 0;
        for (size_t i = 0; i < c->n_pts; i++) {
            const results_point *p = &c->pts[i];
            double v = newtok ? p->newtok : p->x;
            if (p->target == target && p->sys == sys && p->query == query && p->count == count &&
                (int)p->mode == mode && p->turn == k && !p->contaminated && isfinite(v)) {
                s += v;
                n++;
            }
        }
        if (n == 0)
            return false;
        xs[k - 1] = s / (double)n;
    }
    return true;
}

/* The largest system prompt that has sessions of s->count queries, then the
 * smallest query length there. */
static void session_lengths(const results_ctx *c, size_t target, results_session *s)
{
    s->sys = -1;
    s->query = -1;
    for (size_t k = 0; k < c->n_pts; k++) {
        const results_point *p = &c->pts[k];
        if (p->target == target && p->count == s->count && p->sys > s->sys)
            s->sys = p->sys;
    }
    for (size_t k = 0; k < c->n_pts; k++) {
        const results_point *p = &c->pts[k];
        if (p->target == target && p->count == s->count && p->sys == s->sys &&
            (s->query < 0 || p->query < s->query))
            s->query = p->query;
    }
}

/* ---- one session ---------------------------------------------------------- */

/* Mean of column k of cum (n sessions of count values) into m/lo/hi[k]. */
static void cum_column(const double *cum, size_t ns, size_t count, size_t k, double *col,
                       double level, double *m, double *lo, double *hi)
{
    results_est e;
    for (size_t j = 0; j < ns; j++)
        col[j] = cum[j * count + k];
    results_est_mean(col, ns, level, &e, "none");
    m[k] = e.est.value;
    lo[k] = e.est.has_ci ? e.est.lo : NAN;
    hi[k] = e.est.has_ci ? e.est.hi : NAN;
}

static void session_cumulative(const results_ctx *c, results_session *s, const double *ccum,
                               size_t ncold, const double *wcum, size_t nwarm)
{
    size_t n = (size_t)s->count;
    double *arr = calloc(10 * n, sizeof *arr);
    if (!arr)
        return;
    s->cum_cold_m = arr;
    s->cum_cold_lo = arr + n;
    s->cum_cold_hi = arr + 2 * n;
    s->cum_warm_m = arr + 3 * n;
    s->cum_warm_lo = arr + 4 * n;
    s->cum_warm_hi = arr + 5 * n;
    s->pc_m = arr + 6 * n;
    s->pc_se = arr + 7 * n;
    s->pw_m = arr + 8 * n;
    s->pw_se = arr + 9 * n;
    double *col = malloc((ncold > nwarm ? ncold : nwarm) * sizeof *col + 1);
    for (size_t k = 0; col && k < n; k++) {
        cum_column(ccum, ncold, n, k, col, c->level, s->cum_cold_m, s->cum_cold_lo, s->cum_cold_hi);
        cum_column(wcum, nwarm, n, k, col, c->level, s->cum_warm_m, s->cum_warm_lo, s->cum_warm_hi);
    }
    free(col);
}

/* The seed's arithmetic: first cold + (N-1) warm vs N cold, turn-1 means. */
static void session_theoretical(const results_ctx *c, size_t target, results_session *s)
{
    size_t n1c = 0, n1w = 0;
    double *c1 = results_collect(c, target, s->sys, s->query, -1, SPEC_COLD, 1, &n1c);
    double *w1 = results_collect(c, target, s->sys, s->query, -1, SPEC_WARM, 1, &n1w);
    s->theoretical = NAN;
    if (c1 && w1 && n1c && n1w) {
        double mc = 0, mw = 0;
        for (size_t j = 0; j < n1c; j++)
            mc += c1[j] / (double)n1c;
        for (size_t j = 0; j < n1w; j++)
            mw += w1[j] / (double)n1w;
        s->theoretical = (double)s->count * mc / (mc + (double)(s->count - 1) * mw);
    }
    free(c1);
    free(w1);
}

/* Total (and cumulative) time projected from a model at each turn's mean
 * tokens; xs is scratch for count values. */
static void session_project(const results_ctx *c, size_t target, results_session *s, bool warm,
                            const results_model *model, double *xs)
{
    const fit_result *f = results_model_fit(model);
    size_t n = (size_t)s->count;
    if (!xs || !f ||
        !turn_means(c, target, s->sys, s->query, s->count, warm ? SPEC_WARM : SPEC_COLD, warm, xs))
        return;
    results_est *e = warm ? &s->proj_warm : &s->proj_cold;
    double *pm = warm ? s->pw_m : s->pc_m, *pse = warm ? s->pw_se : s->pc_se;
    double sum, se;
    fit_predict_sum(f, xs, n, &sum, &se);
    e->est.value = sum;
    e->est.lo = sum - f->tcrit * se;
    e->est.hi = sum + f->tcrit * se;
    e->est.has_ci = true;
    e->est.n = model->n;
    e->note[0] = '\0';
    snprintf(e->method, sizeof e->method, "sum of the %s %s, t-interval", fit_kind_name(f->kind),
             warm ? "warm model's mean responses at new tokens" : "cold model's mean responses");
    *(warm ? &s->tcrit_w : &s->tcrit_c) = f->tcrit;
    for (size_t k = 0; pm && k < n; k++)
        fit_predict_sum(f, xs, k + 1, &pm[k], &pse[k]);
}

/* Ratio of the projected totals, delta method on the log scale. */
static void session_projected_speedup(const results_ctx *c, results_session *s, size_t n_obs)
{
    if (!(s->proj_cold.est.has_ci && s->proj_warm.est.has_ci && s->proj_cold.est.value > 0 &&
          s->proj_warm.est.value > 0))
        return;
    double r = s->proj_cold.est.value / s->proj_warm.est.value;
    double sc =
        (s->proj_cold.est.hi - s->proj_cold.est.value) / s->tcrit_c / s->proj_cold.est.value;
    double sw =
        (s->proj_warm.est.hi - s->proj_warm.est.value) / s->tcrit_w / s->proj_warm.est.value;
    double z = 1.959963984540054 * sqrt(sc * sc + sw * sw);
    if (c->level != 0.95)
        z = z / 1.959963984540054 * describe_tcrit(c->level, 1e9);
    s->proj_speedup.est.value = r;
    s->proj_speedup.est.lo = r * exp(-z);
    s->proj_speedup.est.hi = r * exp(z);
    s->proj_speedup.est.has_ci = true;
    s->proj_speedup.note[0] = '\0';
    s->proj_speedup.est.n = n_obs;
    snprintf(s->proj_speedup.method, sizeof s->proj_speedup.method,
             "ratio of projected totals, delta method on the log scale");
}

/* false when there is no complete session of s->count queries (or no memory) */
static bool session_compute(const results_ctx *c, size_t target, const results_model *cold,
                            const results_model *warm, results_session *s)
{
    long N = s->count;
    size_t ncold = 0, nwarm = 0;
    double *ccum = NULL, *wcum = NULL;
    double *ct = session_totals(c, target, s->sys, s->query, N, SPEC_COLD, &ncold, &ccum);
    double *wt = session_totals(c, target, s->sys, s->query, N, SPEC_WARM, &nwarm, &wcum);
    bool ok = ct && wt && (ncold > 0 || nwarm > 0);
    if (ok) {
        results_est_mean(ct, ncold, c->level, &s->cold_total, "no complete cold sessions");
        results_est_mean(wt, nwarm, c->level, &s->warm_total, "no complete warm sessions");
        results_est_median_ratio(c, ct, ncold, wt, nwarm, "of session totals cold/warm",
                                 &s->measured_speedup);
        results_est_ratio(c, ct, ncold, wt, nwarm, 7000 + (uint64_t)N, &s->measured_speedup_mean);
        session_cumulative(c, s, ccum, ncold, wcum, nwarm);
        session_theoretical(c, target, s);
        results_est_none(&s->proj_cold, "no cold model");
        results_est_none(&s->proj_warm, "no warm model");
        results_est_none(&s->proj_speedup, "needs both models");
        double *xs = malloc((size_t)N * sizeof *xs);
        session_project(c, target, s, false, cold, xs);
        session_project(c, target, s, true, warm, xs);
        free(xs);
        session_projected_speedup(c, s, cold->n + warm->n);
    }
    free(ct);
    free(wt);
    free(ccum);
    free(wcum);
    return ok;
}

size_t results_sessions_compute(const results_ctx *c, size_t target, const results_model *cold,
                                const results_model *warm, results_session *out, size_t cap)
{
    long counts[RES_MAX];
    size_t nc = results_distinct(c, target, RES_COUNT, counts, RES_MAX), n = 0;
    for (size_t i = 0; i < nc && n < cap; i++) {
        if (counts[i] < 1)
            continue;
        results_session *s = &out[n];
        memset(s, 0, sizeof *s);
        s->count = counts[i];
        session_lengths(c, target, s);
        if (session_compute(c, target, cold, warm, s))
            n++;
    }
    return n;
}

void results_session_free(results_session *s)
{
    free(s->cum_cold_m);
}

/* ---- writing -------------------------------------------------------------- */

static void cum_write(jsonw *w, const double *m, const double *lo, const double *hi, size_t n,
                      double level, size_t nobs, const char *method)
{
    jsonw_begin_arr(w);
    for (size_t k = 0; m && k < n; k++) {
        jsonw_begin_obj(w);
        jsonw_kint(w, "query", (long long)k + 1);
        results_est e;
        memset(&e, 0, sizeof e);
        e.est.value = m[k];
        e.est.lo = lo[k];
        e.est.hi = hi[k];
        e.est.has_ci = isfinite(lo[k]) && isfinite(hi[k]);
        e.est.n = nobs;
        snprintf(e.method, sizeof e.method, "%s", method);
        results_kest(w, "estimate", &e, level);
        jsonw_end_obj(w);
    }
    jsonw_end_arr(w);
}

static void projected_cum_write(jsonw *w, const results_session *s, size_t cold_n, size_t warm_n,
                                double level)
{
    size_t n = (size_t)s->count;
    jsonw_key(w, "projected_cumulative");
    jsonw_begin_obj(w);
    double lo[RES_MAX], hi[RES_MAX];
    for (int side = 0; side < 2; side++) {
        const double *m = side ? s->pw_m : s->pc_m, *se = side ? s->pw_se : s->pc_se;
        double t = side ? s->tcrit_w : s->tcrit_c;
        bool have = side ? s->proj_warm.est.has_ci : s->proj_cold.est.has_ci;
        for (size_t k = 0; k < n && k < RES_MAX; k++) {
            lo[k] = have ? m[k] - t * se[k] : NAN;
            hi[k] = have ? m[k] + t * se[k] : NAN;
        }
        jsonw_key(w, side ? "warm" : "cold");
        if (have)
            cum_write(w, m, lo, hi, n < RES_MAX ? n : RES_MAX, level, side ? warm_n : cold_n,
                      "sum of model mean responses");
        else
            cum_write(w, NULL, NULL, NULL, 0, level, 0, "");
    }
    jsonw_end_obj(w);
}

static void session_write(jsonw *w, const results_session *s, size_t cold_n, size_t warm_n,
                          double level)
{
    size_t n = (size_t)s->count;
    jsonw_begin_obj(w);
    jsonw_kint(w, "query_count", s->count);
    results_klengths(w, s->sys, s->query);
    results_kest(w, "cold_total_ms", &s->cold_total, level);
    results_kest(w, "warm_total_ms", &s->warm_total, level);
    results_kest(w, "measured_speedup", &s->measured_speedup, level);
    results_kest(w, "measured_speedup_means", &s->measured_speedup_mean, level);
    results_kest(w, "projected_cold_total_ms", &s->proj_cold, level);
    results_kest(w, "projected_warm_total_ms", &s->proj_warm, level);
    results_kest(w, "projected_speedup", &s->proj_speedup, level);
    jsonw_knum(w, "theoretical_speedup", s->theoretical);
    jsonw_kstr(w, "theoretical_note",
               "the seed's arithmetic: N cold / (first cold + (N-1) warm), turn-1 means, "
               "no interval");
    jsonw_key(w, "cumulative");
    jsonw_begin_obj(w);
    jsonw_key(w, "cold");
    cum_write(w, s->cum_cold_m, s->cum_cold_lo, s->cum_cold_hi, n, level, s->cold_total.est.n,
              "mean cumulative ttft, t-interval");
    jsonw_key(w, "warm");
    cum_write(w, s->cum_warm_m, s->cum_warm_lo, s->cum_warm_hi, n, level, s->warm_total.est.n,
              "mean cumulative ttft, t-interval");
    jsonw_end_obj(w);
    projected_cum_write(w, s, cold_n, warm_n, level);
    jsonw_end_obj(w);
}

void results_sessions_write(jsonw *w, const results_session *s, size_t n, size_t cold_n,
                            size_t warm_n, double level)
{
    jsonw_key(w, "sessions");
    jsonw_begin_arr(w);
    for (size_t i = 0; i < n; i++)
        session_write(w, &s[i], cold_n, warm_n, level);
    jsonw_end_arr(w);
}
