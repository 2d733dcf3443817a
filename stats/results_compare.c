/* results_compare.c - speedups and overhead fractions (results_compare.h).
 * The headline numbers are median ratios (robust: one stall moves a rank
 * interval by one rank); means are secondary figures beside them.
 *
 * Divided into: one speedup; one overhead fraction; all pairs of lengths of
 * a target with the Holm adjustment; lookups; writing.
 */
#include "stats/results_compare.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_sort.h>

/* Value and interval of a comparison (stats/compare.h); n is left as it is. */
static void est_from_compare(results_est *e, const estimate *ce, const char *method,
                             const char *no_ci_note)
{
    e->est.value = ce->value;
    e->est.lo = ce->lo;
    e->est.hi = ce->hi;
    e->est.has_ci = ce->has_ci;
    e->est.level = ce->has_ci ? ce->level : 0;
    snprintf(e->method, sizeof e->method, "%s", method);
    if (!ce->has_ci)
        snprintf(e->note, sizeof e->note, "%s", no_ci_note);
}

/* Turn-1 cold times cv[0..nc) against warm times wv[0..nw); salt seeds the
 * ratio of means' bootstrap. */
static void speed_compute(const results_ctx *c, const double *cv, size_t nc, const double *wv,
                          size_t nw, uint64_t salt, results_speed *r)
{
    estimate ce;
    char e2[KV_ERRLEN] = "";
    r->n_cold = nc;
    r->n_warm = nw;
    r->hl.est.n = r->gm.est.n = nc + nw;
    results_est_median_ratio(c, cv, nc, wv, nw, "cold/warm", &r->speedup);
    if (compare_gm_ratio(cv, nc, wv, nw, false, c->level, &ce, e2) == KV_OK) {
        est_from_compare(&r->gm, &ce,
                         "ratio of geometric means cold/warm, Welch t-interval on log times "
                         "(assumes log-normal times: one stall moves it)",
                         "needs at least 2 values per side with variation");
    } else {
        results_est_none(&r->gm, e2);
        r->gm.est.n = nc + nw;
    }
    results_est_ratio(c, cv, nc, wv, nw, salt, &r->mean);
    r->p = compare_rank_test_p(cv, nc, wv, nw, false);
    e2[0] = '\0';
    if (compare_hodges_lehmann(cv, nc, wv, nw, false, c->level, &ce, e2) == KV_OK) {
        est_from_compare(&r->hl, &ce, "Hodges-Lehmann shift cold - warm (ms), rank interval",
                         "too few values for an interval");
    } else {
        results_est_none(&r->hl, e2);
    }
}

/* 1 - 1/ratio, with the interval mapped through the same function. */
static void frac_from_ratio(const results_est *r, const char *suffix, results_est *f)
{
    *f = *r;
    f->est.value = isfinite(r->est.value) && r->est.value > 0 ? 1.0 - 1.0 / r->est.value : NAN;
    f->est.lo = r->est.has_ci && r->est.lo > 0 ? 1.0 - 1.0 / r->est.lo : NAN;
    f->est.hi = r->est.has_ci && r->est.hi > 0 ? 1.0 - 1.0 / r->est.hi : NAN;
    f->est.has_ci = r->est.has_ci && r->est.lo > 0;
    size_t len = strlen(f->method);
    snprintf(f->method + len, sizeof f->method - len, "%s", suffix);
}

static double median_of(const double *v, size_t n)
{
    double *s = malloc((n ? n : 1) * sizeof *s), m = NAN;
    if (!s || n == 0) {
        free(s);
        return NAN;
    }
    memcpy(s, v, n * sizeof *s);
    gsl_sort(s, 1, n); /* an insertion sort here was quadratic in the cell's size */
    m = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2.0;
    free(s);
    return m;
}

/* Cold times with the system prompt cv[0..nc) against those without it
 * t0[0..n0): 1 - 1/ratio, headline from the median ratio, secondary from
 * the ratio of means; salt seeds the bootstrap. */
static void over_compute(const results_ctx *c, const double *cv, size_t nc, const double *t0,
                         size_t n0, uint64_t salt, results_overhead *o)
{
    results_est r, rm;
    results_est_median_ratio(c, cv, nc, t0, n0, "with/without the system prompt", &r);
    frac_from_ratio(&r, "; 1 - 1/ratio", &o->frac);
    results_est_ratio(c, cv, nc, t0, n0, salt, &rm);
    frac_from_ratio(&rm, "; 1 - 1/ratio", &o->frac_mean);
    o->t0 = o->tl = NAN;
    o->t0_med = median_of(t0, n0);
    o->tl_med = median_of(cv, nc);
    double a = 0, b = 0;
    for (size_t j = 0; j < n0; j++)
        a += t0[j] / (double)n0;
    for (size_t j = 0; j < nc; j++)
        b += cv[j] / (double)nc;
    o->t0 = a;
    o->tl = b;
}

void results_compare_compute(const results_ctx *c, size_t target, const long *sys, size_t ns,
                             const long *query, size_t nq, results_compare *out)
{
    double ps[RES_MAX];
    for (size_t q = 0; q < nq; q++) {
        size_t n0 = 0;
        double *t0 = results_collect(c, target, 0, query[q], -1, SPEC_COLD, 1, &n0);
        for (size_t i = 0; i < ns; i++) {
            size_t nc = 0, nw = 0;
            double *cv = results_collect(c, target, sys[i], query[q], -1, SPEC_COLD, 1, &nc);
            double *wv = results_collect(c, target, sys[i], query[q], -1, SPEC_WARM, 1, &nw);
            if (cv && wv && nc > 0 && nw > 0 && out->n_speed < RES_MAX) {
                results_speed *r = &out->speed[out->n_speed];
                memset(r, 0, sizeof *r);
                r->sys = sys[i];
                r->query = query[q];
                speed_compute(c, cv, nc, wv, nw, 500 + 1000 * (uint64_t)out->n_speed, r);
                ps[out->n_speed++] = r->p;
            }
            if (t0 && cv && sys[i] > 0 && n0 > 0 && nc > 0 && out->n_over < RES_MAX) {
                results_overhead *o = &out->over[out->n_over++];
                o->sys = sys[i];
                o->query = query[q];
                over_compute(c, cv, nc, t0, n0, 1000 * (uint64_t)out->n_over, o);
            }
            free(cv);
            free(wv);
        }
        free(t0);
    }
    double adj[RES_MAX];
    compare_holm(ps, out->n_speed, adj);
    for (size_t i = 0; i < out->n_speed; i++)
        out->speed[i].p_holm = adj[i];
}

/* Mean prompt tokens of the cold turn-1 cell at (sys, query); NAN if none. */
static double cell_mean_x(const results_ctx *c, size_t target, long sys, long query)
{
    double s = 0;
    size_t n = 0;
    for (size_t i = 0; i < c->n_pts; i++) {
        const results_point *p = &c->pts[i];
        if (p->target == target && p->sys == sys && p->query == query && p->mode == SPEC_COLD &&
            p->turn == 1 && !p->contaminated && isfinite(p->x)) {
            s += p->x;
            n++;
        }
    }
    return n ? s / (double)n : NAN;
}

void results_compare_overhead_from_model(const results_ctx *c, size_t target,
                                         const results_model *cold, long sys, long query,
                                         results_compare *out)
{
    const fit_result *f = results_model_fit(cold);
    double xl = cell_mean_x(c, target, sys, query), xq = xl - (double)sys;
    if (!f || f->k != 1 || out->n_over > 0 || sys <= 0 || !(xq >= 0))
        return;
    double yl, yq, sl, sq, d, sd, unused;
    fit_predict(f, &xl, &yl, &sl, &unused);
    fit_predict(f, &xq, &yq, &sq, &unused);
    fit_predict_diff(f, &xl, &xq, &d, &sd);
    if (!(yl > 0 && yq > 0))
        return;
    double cov = (sl * sl + sq * sq - sd * sd) / 2.0;
    double v = sl * sl / (yl * yl) + sq * sq / (yq * yq) - 2.0 * cov / (yl * yq);
    results_overhead *o = &out->over[out->n_over++];
    memset(o, 0, sizeof *o);
    o->sys = sys;
    o->query = query;
    o->from_model = true;
    results_est r;
    memset(&r, 0, sizeof r);
    r.est.value = yl / yq;
    r.est.has_ci = v >= 0 && isfinite(v);
    r.est.lo = r.est.has_ci ? r.est.value * exp(-f->tcrit * sqrt(v)) : NAN;
    r.est.hi = r.est.has_ci ? r.est.value * exp(f->tcrit * sqrt(v)) : NAN;
    r.est.level = f->level;
    r.est.n = cold->n;
    snprintf(r.method, sizeof r.method,
             "cold %s model: T(0) = model at %.0f prompt tokens (extrapolated, no cold cell "
             "without a system prompt), delta method on the log ratio",
             fit_kind_name(f->kind), xq);
    frac_from_ratio(&r, "; 1 - 1/ratio", &o->frac);
    results_est_none(&o->frac_mean, "no cold cell without a system prompt");
    o->t0 = o->t0_med = yq;
    o->tl = o->tl_med = yl;
}

/* The lengths (system prompt, query) of entry i of a speedup or overhead list. */
typedef void (*lengths_of)(const results_compare *cmp, size_t i, long *sys, long *query);

static void speed_lengths(const results_compare *cmp, size_t i, long *sys, long *query)
{
    *sys = cmp->speed[i].sys;
    *query = cmp->speed[i].query;
}

static void over_lengths(const results_compare *cmp, size_t i, long *sys, long *query)
{
    *sys = cmp->over[i].sys;
    *query = cmp->over[i].query;
}

/* Index of the entry among n at the wanted system prompt (-1: sys_max) with
 * the smallest query length; n when there is none. */
static size_t find_best(const results_compare *cmp, size_t n, lengths_of lengths, long want,
                        long sys_max)
{
    size_t best = n;
    long best_query = 0;
    for (size_t i = 0; i < n; i++) {
        long sys, query;
        lengths(cmp, i, &sys, &query);
        if ((want < 0 ? sys == sys_max : sys == want) && (best == n || query < best_query)) {
            best = i;
            best_query = query;
        }
    }
    return best;
}

const results_speed *results_compare_find_speed(const results_compare *cmp, long sys, long sys_max)
{
    size_t i = find_best(cmp, cmp->n_speed, speed_lengths, sys, sys_max);
    return i < cmp->n_speed ? &cmp->speed[i] : NULL;
}

const results_overhead *results_compare_find_over(const results_compare *cmp, long sys,
                                                  long sys_max)
{
    size_t i = find_best(cmp, cmp->n_over, over_lengths, sys, sys_max);
    return i < cmp->n_over ? &cmp->over[i] : NULL;
}

static void speed_write(jsonw *w, const results_speed *r, double level)
{
    jsonw_begin_obj(w);
    results_klengths(w, r->sys, r->query);
    results_kest(w, "speedup", &r->speedup, level);
    results_kest(w, "speedup_geometric_means", &r->gm, level);
    results_kest(w, "speedup_means", &r->mean, level);
    jsonw_kstr(w, "test", "Mann-Whitney U");
    jsonw_knum(w, "p_value", r->p);
    jsonw_knum(w, "p_holm", r->p_holm);
    results_kest(w, "hodges_lehmann_ms", &r->hl, level);
    jsonw_end_obj(w);
}

static void over_write(jsonw *w, const results_overhead *o, double level)
{
    jsonw_begin_obj(w);
    results_klengths(w, o->sys, o->query);
    results_kest(w, "estimate", &o->frac, level);
    results_kest(w, "estimate_means", &o->frac_mean, level);
    jsonw_knum(w, "mean_ttft_without_ms", o->t0);
    jsonw_knum(w, "mean_ttft_with_ms", o->tl);
    jsonw_knum(w, "median_ttft_without_ms", o->t0_med);
    jsonw_knum(w, "median_ttft_with_ms", o->tl_med);
    jsonw_kbool(w, "from_model", o->from_model);
    jsonw_end_obj(w);
}

void results_compare_write(jsonw *w, const results_compare *cmp, double level)
{
    jsonw_key(w, "speedup");
    jsonw_begin_arr(w);
    for (size_t i = 0; i < cmp->n_speed; i++)
        speed_write(w, &cmp->speed[i], level);
    jsonw_end_arr(w);
    jsonw_key(w, "overhead_fraction");
    jsonw_begin_arr(w);
    for (size_t i = 0; i < cmp->n_over; i++)
        over_write(w, &cmp->over[i], level);
    jsonw_end_arr(w);
}
