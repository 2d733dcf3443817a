/* results_compare.c - speedups and overhead fractions (results_compare.h).
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

/* Value and interval of a compare_estimate; n is left as it is. */
static void est_from_compare(res_est *e, const compare_estimate *ce, const char *method,
                             const char *no_ci_note)
{
    e->value = ce->value;
    e->lo = ce->ci[0];
    e->hi = ce->ci[1];
    e->has_ci = ce->has_ci;
    snprintf(e->method, sizeof e->method, "%s", method);
    if (!ce->has_ci)
        snprintf(e->note, sizeof e->note, "%s", no_ci_note);
}

/* Turn-1 cold times cv[0..nc) against warm times wv[0..nw). */
static void speed_compute(const res_ctx *c, const double *cv, size_t nc, const double *wv,
                          size_t nw, res_speed *r)
{
    compare_estimate ce;
    char e2[KV_ERRLEN] = "";
    r->n_cold = nc;
    r->n_warm = nw;
    r->speedup.n = r->hl.n = nc + nw;
    if (compare_gm_ratio(cv, nc, wv, nw, false, c->level, &ce, e2) == KV_OK) {
        est_from_compare(&r->speedup, &ce,
                         "ratio of geometric means cold/warm, Welch t-interval on log times "
                         "(unpaired: cold and warm trials are independently randomised)",
                         "needs at least 2 values per side with variation");
    } else {
        res_est_none(&r->speedup, e2);
        r->speedup.n = nc + nw;
    }
    r->p = compare_rank_test_p(cv, nc, wv, nw, false);
    e2[0] = '\0';
    if (compare_hodges_lehmann(cv, nc, wv, nw, false, c->level, &ce, e2) == KV_OK)
        est_from_compare(&r->hl, &ce, "Hodges-Lehmann shift cold - warm (ms), Moses interval",
                         "too few values for an interval");
    else
        res_est_none(&r->hl, e2);
}

/* Cold times with the system prompt cv[0..nc) against those without it
 * t0[0..n0): 1 - 1/ratio of means; salt seeds the bootstrap. */
static void over_compute(const res_ctx *c, const double *cv, size_t nc, const double *t0, size_t n0,
                         uint64_t salt, res_overhead *o)
{
    res_est r;
    res_est_ratio(c, cv, nc, t0, n0, salt, &r);
    o->frac = r;
    o->frac.value = isfinite(r.value) && r.value > 0 ? 1.0 - 1.0 / r.value : NAN;
    o->frac.lo = r.has_ci && r.lo > 0 ? 1.0 - 1.0 / r.lo : NAN;
    o->frac.hi = r.has_ci && r.hi > 0 ? 1.0 - 1.0 / r.hi : NAN;
    o->frac.has_ci = r.has_ci && r.lo > 0;
    o->t0 = o->tl = NAN;
    if (!isfinite(o->frac.value))
        return;
    double a = 0, b = 0;
    for (size_t j = 0; j < n0; j++)
        a += t0[j] / (double)n0;
    for (size_t j = 0; j < nc; j++)
        b += cv[j] / (double)nc;
    o->t0 = a;
    o->tl = b;
    size_t len = strlen(r.method);
    snprintf(o->frac.method + len, sizeof o->frac.method - len, "; 1 - 1/ratio");
}

void res_compare_compute(const res_ctx *c, size_t target, const long *sys, size_t ns,
                         const long *query, size_t nq, res_compare *out)
{
    double ps[RES_MAX];
    for (size_t q = 0; q < nq; q++) {
        size_t n0 = 0;
        double *t0 = res_collect(c, target, 0, query[q], -1, SPEC_COLD, 1, &n0);
        for (size_t i = 0; i < ns; i++) {
            size_t nc = 0, nw = 0;
            double *cv = res_collect(c, target, sys[i], query[q], -1, SPEC_COLD, 1, &nc);
            double *wv = res_collect(c, target, sys[i], query[q], -1, SPEC_WARM, 1, &nw);
            if (cv && wv && nc > 0 && nw > 0 && out->n_speed < RES_MAX) {
                res_speed *r = &out->speed[out->n_speed];
                memset(r, 0, sizeof *r);
                r->sys = sys[i];
                r->query = query[q];
                speed_compute(c, cv, nc, wv, nw, r);
                ps[out->n_speed++] = r->p;
            }
            if (t0 && cv && sys[i] > 0 && n0 > 0 && nc > 0 && out->n_over < RES_MAX) {
                res_overhead *o = &out->over[out->n_over++];
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

/* Does an entry at (sys, query) beat the best so far for the wanted system
 * prompt (-1: sys_max)? The smallest query length wins. */
static bool key_beats(long sys, long query, long want, long sys_max, bool have_best,
                      long best_query)
{
    return (want < 0 ? sys == sys_max : sys == want) && (!have_best || query < best_query);
}

const res_speed *res_compare_find_speed(const res_compare *cmp, long sys, long sys_max)
{
    const res_speed *best = NULL;
    for (size_t i = 0; i < cmp->n_speed; i++) {
        const res_speed *r = &cmp->speed[i];
        if (key_beats(r->sys, r->query, sys, sys_max, best != NULL, best ? best->query : 0))
            best = r;
    }
    return best;
}

const res_overhead *res_compare_find_over(const res_compare *cmp, long sys, long sys_max)
{
    const res_overhead *best = NULL;
    for (size_t i = 0; i < cmp->n_over; i++) {
        const res_overhead *o = &cmp->over[i];
        if (key_beats(o->sys, o->query, sys, sys_max, best != NULL, best ? best->query : 0))
            best = o;
    }
    return best;
}

void res_compare_write(jsonw *w, const res_compare *cmp, double level)
{
    jsonw_key(w, "speedup");
    jsonw_begin_arr(w);
    for (size_t i = 0; i < cmp->n_speed; i++) {
        const res_speed *r = &cmp->speed[i];
        jsonw_begin_obj(w);
        res_kint(w, "system_prompt_tokens", r->sys);
        res_kint(w, "query_tokens", r->query);
        res_kest(w, "speedup", &r->speedup, level);
        res_kstr(w, "test", "Mann-Whitney U");
        res_knum(w, "p_value", r->p);
        res_knum(w, "p_holm", r->p_holm);
        res_kest(w, "hodges_lehmann_ms", &r->hl, level);
        jsonw_end_obj(w);
    }
    jsonw_end_arr(w);
    jsonw_key(w, "overhead_fraction");
    jsonw_begin_arr(w);
    for (size_t i = 0; i < cmp->n_over; i++) {
        const res_overhead *o = &cmp->over[i];
        jsonw_begin_obj(w);
        res_kint(w, "system_prompt_tokens", o->sys);
        res_kint(w, "query_tokens", o->query);
        res_kest(w, "estimate", &o->frac, level);
        res_knum(w, "mean_ttft_without_ms", o->t0);
        res_knum(w, "mean_ttft_with_ms", o->tl);
        jsonw_end_obj(w);
    }
    jsonw_end_arr(w);
}
