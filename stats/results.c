/* results.c - journal to results.json (results.h, docs/results.md).
 *
 * Divided into: estimate objects; gathering measured points from the
 * journal; per-cell summaries; prefill models; cold-vs-warm comparisons,
 * overhead fractions and sessions (computed once per target into a
 * target_stats and written from there); hypotheses, the headline verdict and
 * the seed's four questions; the top level.
 */
#include "stats/results.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "experiments/spec.h"
#include "stats/compare.h"
#include "stats/describe.h"
#include "stats/fit.h"
#include "stats/jsonw.h"

void results_options_default(results_options *opt)
{
    opt->bootstrap_resamples = 10000;
    opt->has_bootstrap_seed = false;
    opt->bootstrap_seed = 0;
    opt->confidence = 0.95;
    opt->partial = false;
}

/* ---- estimate objects ---------------------------------------------------- */

typedef struct est {
    double value;
    double lo, hi;
    bool has_ci;
    size_t n;
    char method[200];
    char note[200];
} est;

static void est_none(est *e, const char *note)
{
    memset(e, 0, sizeof *e);
    e->value = e->lo = e->hi = NAN;
    snprintf(e->note, sizeof e->note, "%s", note);
}

static void est_write(jsonw *w, const est *e, double level)
{
    jsonw_begin_obj(w);
    jsonw_key(w, "value");
    jsonw_num(w, e->value);
    jsonw_key(w, "ci");
    jsonw_pair(w, e->lo, e->hi, e->has_ci);
    jsonw_key(w, "level");
    jsonw_num(w, level);
    jsonw_key(w, "n");
    jsonw_int(w, (long long)e->n);
    jsonw_key(w, "method");
    jsonw_str(w, e->method[0] ? e->method : NULL);
    if (e->note[0] || !isfinite(e->value) || !e->has_ci) {
        jsonw_key(w, "note");
        jsonw_str(w, e->note[0] ? e->note : "interval not computable");
    }
    jsonw_end_obj(w);
}

/* ---- measured points -------------------------------------------------------- */

typedef struct rpoint {
    size_t target;
    long sys, query, count;
    spec_cache_mode mode;
    int turn;
    size_t order;   /* run position */
    size_t trial;   /* index into journal trials */
    double x;       /* actual prompt tokens (NAN unknown) */
    double newtok;  /* x - cached (NAN unknown) */
    double cached;  /* NAN when not reported */
    double y;       /* ttft ms */
    double prefill; /* server prefill ms or NAN */
    bool contaminated;
    trial_cache_state cache_state;
} rpoint;

typedef struct rctx {
    const journal_data *d;
    const spec *s;
    const results_options *opt;
    double level;
    uint64_t boot_seed;
    rpoint *pts;
    size_t n_pts;
    size_t excluded_bad; /* ok turns with NaN/negative ttft */
    char err_note[512];
} rctx;

static int rpoint_cmp(const void *a, const void *b)
{
    const rpoint *p = a, *q = b;
    if (p->order != q->order)
        return p->order < q->order ? -1 : 1;
    return (p->turn > q->turn) - (p->turn < q->turn);
}

static kv_status gather(rctx *c, char *err)
{
    const journal_data *d = c->d;
    size_t cap = 0;
    for (size_t i = 0; i < d->n_trials; i++)
        cap += d->trials[i].n_turns;
    c->pts = calloc(cap ? cap : 1, sizeof *c->pts);
    if (!c->pts)
        return kv_fail(err, KV_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < d->n_trials; i++) {
        const trial_record *t = &d->trials[i];
        if (t->kind != PLAN_MEASURE)
            continue;
        for (size_t k = 0; k < t->n_turns; k++) {
            const trial_request *r = &t->turns[k];
            if (!r->ok)
                continue;
            if (!isfinite(r->ttft_ms) || r->ttft_ms < 0) {
                c->excluded_bad++;
                continue;
            }
            rpoint *p = &c->pts[c->n_pts++];
            p->target = t->target;
            p->sys = t->system_prompt_tokens;
            p->query = t->query_tokens;
            p->count = t->query_count;
            p->mode = t->mode;
            p->turn = r->turn > 0 ? r->turn : (int)k + 1;
            p->order = t->run_position;
            p->trial = i;
            p->x = r->prompt_tokens >= 0 ? (double)r->prompt_tokens : NAN;
            p->cached = r->cached_tokens >= 0 ? (double)r->cached_tokens : NAN;
            if (isfinite(p->x) && isfinite(p->cached))
                p->newtok = p->x - p->cached;
            else if (isfinite(p->x) && t->mode == SPEC_WARM && r->prefix_tokens >= 0)
                p->newtok = p->x - (double)r->prefix_tokens; /* inferred */
            else if (isfinite(p->x) && t->mode == SPEC_COLD)
                p->newtok = p->x;
            else
                p->newtok = NAN;
            p->y = r->ttft_ms;
            p->prefill = isfinite(r->server_prefill_ms) && r->server_prefill_ms >= 0
                             ? r->server_prefill_ms
                             : NAN;
            p->contaminated = r->cache_state == TRIAL_CACHE_CONTAMINATED;
            p->cache_state = r->cache_state;
        }
    }
    qsort(c->pts, c->n_pts, sizeof *c->pts, rpoint_cmp);
    return KV_OK;
}

/* Collects y of points matching a filter into a malloc'd array. turn 0 =
 * any turn, count -1 = any count, sys/query -1 = any. Contaminated points
 * are skipped. */
static double *collect(const rctx *c, size_t target, long sys, long query, long count, int mode,
                       int turn, size_t *n)
{
    double *v = malloc((c->n_pts ? c->n_pts : 1) * sizeof *v);
    *n = 0;
    if (!v)
        return NULL;
    for (size_t i = 0; i < c->n_pts; i++) {
        const rpoint *p = &c->pts[i];
        if (p->target != target || p->contaminated || (int)p->mode != mode)
            continue;
        if ((sys >= 0 && p->sys != sys) || (query >= 0 && p->query != query) ||
            (count >= 0 && p->count != count) || (turn > 0 && p->turn != turn))
            continue;
        v[(*n)++] = p->y;
    }
    return v;
}

/* Distinct sorted values of a long field among a target's points. */
static size_t distinct(const rctx *c, size_t target, int which, long *out, size_t cap)
{
    size_t m = 0;
    for (size_t i = 0; i < c->n_pts; i++) {
        const rpoint *p = &c->pts[i];
        if (p->target != target)
            continue;
        long v = which == 0 ? p->sys : which == 1 ? p->query : p->count;
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

/* ---- cells ------------------------------------------------------------------ */

static void write_quantile(jsonw *w, double v, const double *ci, bool has, size_t n, double level)
{
    est e;
    memset(&e, 0, sizeof e);
    e.value = v;
    e.lo = ci[0];
    e.hi = ci[1];
    e.has_ci = has;
    e.n = n;
    snprintf(e.method, sizeof e.method, "exact binomial rank interval");
    if (!has)
        snprintf(e.note, sizeof e.note, "too few values for a rank interval at this level");
    est_write(w, &e, level);
}

static void write_cells(jsonw *w, const rctx *c, size_t target, const char *tname)
{
    jsonw_key(w, "cells");
    jsonw_begin_arr(w);
    /* cell keys in first-seen order */
    for (size_t i = 0; i < c->n_pts; i++) {
        const rpoint *p = &c->pts[i];
        if (p->target != target)
            continue;
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++) {
            const rpoint *q = &c->pts[j];
            seen = q->target == target && q->sys == p->sys && q->query == p->query &&
                   q->count == p->count && q->mode == p->mode && q->turn == p->turn;
        }
        if (seen)
            continue;
        size_t n = 0, contaminated = 0;
        double *v = malloc(c->n_pts * sizeof *v);
        if (!v)
            continue;
        for (size_t j = i; j < c->n_pts; j++) {
            const rpoint *q = &c->pts[j];
            if (q->target == target && q->sys == p->sys && q->query == p->query &&
                q->count == p->count && q->mode == p->mode && q->turn == p->turn) {
                if (q->contaminated)
                    contaminated++;
                else
                    v[n++] = q->y;
            }
        }
        jsonw_begin_obj(w);
        jsonw_key(w, "target");
        jsonw_str(w, tname);
        jsonw_key(w, "system_prompt_tokens");
        jsonw_int(w, p->sys);
        jsonw_key(w, "query_tokens");
        jsonw_int(w, p->query);
        jsonw_key(w, "query_count");
        jsonw_int(w, p->count);
        jsonw_key(w, "cache_mode");
        jsonw_str(w, p->mode == SPEC_WARM ? "warm" : "cold");
        jsonw_key(w, "turn");
        jsonw_int(w, p->turn);
        jsonw_key(w, "n");
        jsonw_int(w, (long long)n);
        jsonw_key(w, "contaminated");
        jsonw_int(w, (long long)contaminated);
        describe_summary s;
        char e2[KV_ERRLEN] = "";
        if (n == 0 || describe_sample(v, n, c->level, &s, e2) != KV_OK) {
            jsonw_key(w, "note");
            jsonw_str(w, n == 0 ? "no usable values (all contaminated)" : e2);
            jsonw_end_obj(w);
            free(v);
            continue;
        }
        est m;
        memset(&m, 0, sizeof m);
        m.value = s.mean;
        m.lo = s.mean_ci[0];
        m.hi = s.mean_ci[1];
        m.has_ci = s.has_mean_ci;
        m.n = n;
        snprintf(m.method, sizeof m.method, "t-interval");
        if (!s.has_mean_ci)
            snprintf(m.note, sizeof m.note, "n < 2: no interval");
        jsonw_key(w, "mean");
        est_write(w, &m, c->level);
        jsonw_key(w, "median");
        write_quantile(w, s.median, s.median_ci, s.has_median_ci, n, c->level);
        jsonw_key(w, "p90");
        jsonw_num(w, s.p90);
        jsonw_key(w, "p90_ci");
        jsonw_pair(w, s.p90_ci[0], s.p90_ci[1], s.has_p90_ci);
        jsonw_key(w, "p99");
        jsonw_num(w, s.p99);
        jsonw_key(w, "p99_ci");
        jsonw_pair(w, s.p99_ci[0], s.p99_ci[1], s.has_p99_ci);
        static const char *const keys[] = {"sd",
                                           "mad",
                                           "iqr",
                                           "cv",
                                           "min",
                                           "max",
                                           "q1",
                                           "q3",
                                           "whisker_low",
                                           "whisker_high",
                                           "lag1_autocorrelation"};
        const double vals[] = {s.sd, s.mad, s.iqr,         s.cv,           s.min, s.max,
                               s.q1, s.q3,  s.whisker_low, s.whisker_high, s.lag1};
        for (size_t k = 0; k < sizeof vals / sizeof vals[0]; k++) {
            jsonw_key(w, keys[k]);
            jsonw_num(w, vals[k]);
        }
        jsonw_key(w, "outliers");
        jsonw_begin_obj(w);
        jsonw_key(w, "mild");
        jsonw_int(w, (long long)s.mild);
        jsonw_key(w, "severe");
        jsonw_int(w, (long long)s.severe);
        jsonw_key(w, "values");
        jsonw_begin_arr(w);
        for (size_t k = 0; k < n; k++)
            if (v[k] < s.fence_mild[0] || v[k] > s.fence_mild[1])
                jsonw_num(w, v[k]);
        jsonw_end_arr(w);
        jsonw_key(w, "rule");
        jsonw_str(w, "Tukey fences 1.5 IQR (mild) and 3 IQR (severe); flagged, not removed");
        jsonw_end_obj(w);
        jsonw_end_obj(w);
        free(v);
    }
    jsonw_end_arr(w);
}

/* ---- models ----------------------------------------------------------------- */

typedef struct rmodel {
    bool ok;
    char note[KV_ERRLEN];
    const char *y, *x;
    fit_choice *ch; /* owned */
    fit_result robust;
    bool has_robust;
    char robust_note[256];
    bool multi; /* warm: new + cached tokens */
    fit_result multi_fit;
    est ms_per_token, tokens_per_s;
    double xmin, xmax;
    double *xs, *xc, *ys; /* owned: the fitted data */
    size_t *order;
    size_t n;
} rmodel;

static void rmodel_free(rmodel *m)
{
    free(m->ch);
    free(m->xs);
    free(m->xc);
    free(m->ys);
    free(m->order);
}

static const fit_result *rmodel_fit(const rmodel *m)
{
    return m->ok ? &m->ch->fits[m->ch->chosen] : NULL;
}

/* which: 0 cold ttft, 1 warm ttft, 2 cold server prefill */
static void build_model(const rctx *c, size_t target, int which, rmodel *m)
{
    memset(m, 0, sizeof *m);
    m->y = which == 2 ? "server_prefill_ms" : "ttft_ms";
    m->x = which == 1 ? "new_prompt_tokens" : "prompt_tokens";
    size_t cap = c->n_pts ? c->n_pts : 1;
    m->xs = malloc(cap * sizeof *m->xs);
    m->xc = malloc(cap * sizeof *m->xc);
    m->ys = malloc(cap * sizeof *m->ys);
    m->order = malloc(cap * sizeof *m->order);
    m->ch = malloc(sizeof *m->ch);
    if (!m->xs || !m->xc || !m->ys || !m->order || !m->ch) {
        snprintf(m->note, sizeof m->note, "out of memory");
        return;
    }
    bool cached_known = true;
    for (size_t i = 0; i < c->n_pts; i++) {
        const rpoint *p = &c->pts[i];
        if (p->target != target || p->contaminated)
            continue;
        if ((which == 1) != (p->mode == SPEC_WARM))
            continue;
        double x = which == 1 ? p->newtok : p->x;
        double y = which == 2 ? p->prefill : p->y;
        if (!isfinite(x) || !isfinite(y))
            continue;
        if (which == 1 && !isfinite(p->cached))
            cached_known = false;
        m->xs[m->n] = x;
        m->xc[m->n] = p->cached;
        m->ys[m->n] = y;
        m->order[m->n] = p->order;
        m->n++;
    }
    if (m->n == 0) {
        snprintf(m->note, sizeof m->note, "%s",
                 which == 2   ? "the server reported no prefill times"
                 : which == 1 ? "no usable warm requests"
                              : "no usable cold requests");
        return;
    }
    m->xmin = m->xmax = m->xs[0];
    for (size_t i = 1; i < m->n; i++) {
        m->xmin = m->xs[i] < m->xmin ? m->xs[i] : m->xmin;
        m->xmax = m->xs[i] > m->xmax ? m->xs[i] : m->xmax;
    }
    const double *cols[1] = {m->xs};
    fit_input in = {cols, 1, m->ys, NULL, m->n, false};
    char e2[KV_ERRLEN] = "";
    if (fit_auto(&in, c->level, true, m->ch, e2) != KV_OK) {
        if (m->xmin == m->xmax)
            snprintf(m->note, sizeof m->note,
                     "every request has %.0f %s: one length cannot give a slope", m->xmin, m->x);
        else
            snprintf(m->note, sizeof m->note, "%s", e2);
        return;
    }
    m->ok = true;
    const fit_result *f = rmodel_fit(m);
    char e3[KV_ERRLEN] = "";
    if (fit_robust(&in, f->kind, f->degree, c->level, &m->robust, e3) == KV_OK)
        m->has_robust = true;
    else
        snprintf(m->robust_note, sizeof m->robust_note, "%.200s", e3);
    if (which == 1 && cached_known) {
        double lo = INFINITY, hi = -INFINITY;
        for (size_t i = 0; i < m->n; i++) {
            lo = m->xc[i] < lo ? m->xc[i] : lo;
            hi = m->xc[i] > hi ? m->xc[i] : hi;
        }
        if (hi > lo) {
            const double *mc[2] = {m->xs, m->xc};
            fit_input min = {mc, 2, m->ys, NULL, m->n, false};
            char e4[KV_ERRLEN] = "";
            m->multi = fit_model(&min, FIT_MULTI, 0, c->level, &m->multi_fit, e4) == KV_OK;
        }
    }
    /* average prefill cost per token over 0..xmax: (yhat(xmax) - yhat(0)) / xmax */
    est *e = &m->ms_per_token;
    memset(e, 0, sizeof *e);
    e->n = m->n;
    if (f->kind == FIT_LINEAR) {
        e->value = f->coef[1];
        e->lo = f->ci[1][0];
        e->hi = f->ci[1][1];
        e->has_ci = true;
        snprintf(e->method, sizeof e->method, "slope b of the linear model, t-interval%s",
                 f->hc3 ? " (HC3, Satterthwaite df)" : "");
    } else if (m->xmax > 0) {
        double xa = m->xmax, xb = 0, diff, se;
        fit_predict_diff(f, &xa, &xb, &diff, &se);
        e->value = diff / xa;
        e->lo = (diff - f->tcrit * se) / xa;
        e->hi = (diff + f->tcrit * se) / xa;
        e->has_ci = true;
        snprintf(e->method, sizeof e->method,
                 "(T(%.0f) - T(0)) / %.0f from the %s model, t-interval", xa, xa,
                 fit_kind_name(f->kind));
    } else {
        est_none(e, "no positive prompt length");
    }
    est *t = &m->tokens_per_s;
    memset(t, 0, sizeof *t);
    t->n = m->n;
    t->value = e->value > 0 ? 1000.0 / e->value : NAN;
    t->lo = e->hi > 0 ? 1000.0 / e->hi : NAN;
    t->hi = e->lo > 0 ? 1000.0 / e->lo : NAN;
    t->has_ci = e->has_ci && e->lo > 0;
    snprintf(t->method, sizeof t->method, "1000 / ms per token, interval inverted");
    if (!t->has_ci)
        snprintf(t->note, sizeof t->note, "the ms/token interval reaches 0: no upper bound");
}

static void write_coefs(jsonw *w, const fit_result *f, const char *xname)
{
    jsonw_key(w, "terms");
    jsonw_begin_arr(w);
    for (size_t j = 0; j < f->p; j++) {
        char term[64];
        if (j == 0)
            snprintf(term, sizeof term, "1");
        else if (f->kind == FIT_MULTI)
            snprintf(term, sizeof term, "%s", j == 1 ? xname : "cached_tokens");
        else if ((f->kind == FIT_KNEE || f->kind == FIT_KNEE_QUADRATIC) && j == 1)
            snprintf(term, sizeof term, "max(0, N - N0)");
        else if (j == 1)
            snprintf(term, sizeof term, "N");
        else
            snprintf(term, sizeof term, "N^%zu", j);
        jsonw_str(w, term);
    }
    jsonw_end_arr(w);
    jsonw_key(w, "coefficients");
    jsonw_begin_arr(w);
    for (size_t j = 0; j < f->p; j++) {
        jsonw_begin_obj(w);
        jsonw_key(w, "name");
        jsonw_str(w, f->names[j]);
        jsonw_key(w, "unit");
        jsonw_str(w, j == 0 ? "ms" : (j == 2 && f->kind != FIT_MULTI) ? "ms/token^2" : "ms/token");
        jsonw_key(w, "value");
        jsonw_num(w, f->coef[j]);
        jsonw_key(w, "sd");
        jsonw_num(w, f->sd[j]);
        jsonw_key(w, "ci");
        jsonw_pair(w, f->ci[j][0], f->ci[j][1], true);
        jsonw_key(w, "df");
        jsonw_num(w, f->coef_df[j]);
        jsonw_end_obj(w);
    }
    jsonw_end_arr(w);
}

static void write_fit(jsonw *w, const fit_result *f, const char *xname)
{
    jsonw_begin_obj(w);
    jsonw_key(w, "model");
    jsonw_str(w, fit_kind_name(f->kind));
    write_coefs(w, f, xname);
    if (isfinite(f->knee_x0)) {
        jsonw_key(w, "knee_n0");
        jsonw_num(w, f->knee_x0);
    }
    static const char *const keys[] = {
        "r_squared", "residual_sd",          "rss",         "df",
        "aicc",      "heteroscedasticity_p", "normality_p", "lag1_autocorrelation"};
    const double vals[] = {f->r_squared, f->residual_sd,          f->rss,         f->df,
                           f->aicc,      f->heteroscedasticity_p, f->normality_p, f->lag1};
    for (size_t k = 0; k < sizeof vals / sizeof vals[0]; k++) {
        jsonw_key(w, keys[k]);
        jsonw_num(w, vals[k]);
    }
    jsonw_key(w, "weighted");
    jsonw_bool(w, f->weighted);
    if (f->weighted) {
        jsonw_key(w, "weight_power");
        jsonw_num(w, f->weight_power);
        jsonw_key(w, "covariance");
        jsonw_str(w, f->hc3 ? "HC3 sandwich" : "scaled by residual variance");
    }
    jsonw_key(w, "normality_test");
    jsonw_str(w, "Jarque-Bera");
    jsonw_key(w, "heteroscedasticity_test");
    jsonw_str(w, "Breusch-Pagan (Koenker), squared residuals on fitted values");
    jsonw_end_obj(w);
}

static void write_model(jsonw *w, const rctx *c, const rmodel *m)
{
    if (!m->ok) {
        jsonw_begin_obj(w);
        jsonw_key(w, "y");
        jsonw_str(w, m->y);
        jsonw_key(w, "x");
        jsonw_str(w, m->x);
        jsonw_key(w, "n");
        jsonw_int(w, (long long)m->n);
        jsonw_key(w, "note");
        jsonw_str(w, m->note);
        jsonw_end_obj(w);
        return;
    }
    const fit_result *f = rmodel_fit(m);
    jsonw_begin_obj(w);
    jsonw_key(w, "y");
    jsonw_str(w, m->y);
    jsonw_key(w, "x");
    jsonw_str(w, m->x);
    jsonw_key(w, "n");
    jsonw_int(w, (long long)m->n);
    jsonw_key(w, "chosen");
    jsonw_str(w, fit_kind_name(f->kind));
    jsonw_key(w, "why");
    jsonw_str(w, m->ch->why);
    jsonw_key(w, "f_test");
    jsonw_begin_obj(w);
    jsonw_key(w, "F");
    jsonw_num(w, m->ch->f_stat);
    jsonw_key(w, "p");
    jsonw_num(w, m->ch->f_p);
    jsonw_end_obj(w);
    jsonw_key(w, "rejected");
    jsonw_begin_arr(w);
    for (size_t i = 0; i < m->ch->n_rejected; i++) {
        jsonw_begin_obj(w);
        jsonw_key(w, "model");
        jsonw_str(w, fit_kind_name(m->ch->rejected[i].kind));
        jsonw_key(w, "reason");
        jsonw_str(w, m->ch->rejected[i].reason);
        jsonw_end_obj(w);
    }
    jsonw_end_arr(w);
    jsonw_key(w, "fits");
    jsonw_begin_arr(w);
    for (size_t i = 0; i < m->ch->n_fits; i++)
        write_fit(w, &m->ch->fits[i], m->x);
    if (m->multi)
        write_fit(w, &m->multi_fit, m->x);
    jsonw_end_arr(w);
    jsonw_key(w, "robust");
    if (m->has_robust) {
        jsonw_begin_obj(w);
        jsonw_key(w, "model");
        jsonw_str(w, fit_kind_name(m->robust.kind));
        jsonw_key(w, "method");
        jsonw_str(w, "bisquare (Tukey biweight, tuning 4.685), GSL robust covariance");
        write_coefs(w, &m->robust, m->x);
        jsonw_key(w, "residual_sd");
        jsonw_num(w, m->robust.residual_sd);
        jsonw_end_obj(w);
    } else {
        jsonw_null(w);
    }
    jsonw_key(w, "prefill_ms_per_token");
    est_write(w, &m->ms_per_token, c->level);
    jsonw_key(w, "prefill_tokens_per_second");
    est_write(w, &m->tokens_per_s, c->level);
    jsonw_key(w, "curve");
    jsonw_begin_arr(w);
    for (int i = 0; i < 100; i++) {
        double x = m->xmin + (m->xmax - m->xmin) * i / 99.0, mean, sm, sp;
        fit_predict(f, &x, &mean, &sm, &sp);
        jsonw_begin_obj(w);
        jsonw_key(w, "x");
        jsonw_num(w, x);
        jsonw_key(w, "mean");
        jsonw_num(w, mean);
        jsonw_key(w, "ci");
        jsonw_pair(w, mean - f->tcrit * sm, mean + f->tcrit * sm, true);
        jsonw_key(w, "pi");
        jsonw_pair(w, mean - f->tcrit * sp, mean + f->tcrit * sp, true);
        jsonw_end_obj(w);
    }
    jsonw_end_arr(w);
    jsonw_key(w, "residuals");
    jsonw_begin_arr(w);
    for (size_t i = 0; i < m->n; i++) {
        double mean, sm, sp;
        fit_predict(f, &m->xs[i], &mean, &sm, &sp);
        jsonw_begin_obj(w);
        jsonw_key(w, "x");
        jsonw_num(w, m->xs[i]);
        jsonw_key(w, "order");
        jsonw_int(w, (long long)m->order[i]);
        jsonw_key(w, "residual");
        jsonw_num(w, m->ys[i] - mean);
        jsonw_end_obj(w);
    }
    jsonw_end_arr(w);
    jsonw_end_obj(w);
}

/* ---- comparisons, overhead, sessions ----------------------------------------- */

#define RMAX 64

typedef struct rspeed {
    long sys, query;
    est speedup, hl;
    double p, p_holm;
    size_t n_cold, n_warm;
} rspeed;

typedef struct roverhead {
    long sys, query;
    est frac;
    double t0, tl; /* mean ttft without / with the system prompt */
} roverhead;

typedef struct rsession {
    long count, sys, query;
    est cold_total, warm_total, measured_speedup, proj_cold, proj_warm, proj_speedup;
    double theoretical;
    double *cum_cold_m, *cum_cold_lo, *cum_cold_hi, *cum_warm_m, *cum_warm_lo, *cum_warm_hi;
    double *pc_m, *pc_se, *pw_m, *pw_se;
    double tcrit_c, tcrit_w;
} rsession;

typedef struct target_stats {
    const char *name;
    rmodel cold, warm, prefill;
    rspeed speed[RMAX];
    size_t n_speed;
    roverhead over[RMAX];
    size_t n_over;
    rsession sess[RMAX];
    size_t n_sess;
    long sys_max, query_min;
    size_t warm_total, warm_verified, warm_inferred, warm_contaminated;
    size_t cold_contaminated;
} target_stats;

static void mean_est(const double *v, size_t n, double level, est *e, const char *what)
{
    memset(e, 0, sizeof *e);
    e->n = n;
    if (n == 0) {
        est_none(e, what);
        return;
    }
    describe_summary s;
    char e2[KV_ERRLEN] = "";
    if (describe_sample(v, n, level, &s, e2) != KV_OK) {
        est_none(e, e2);
        return;
    }
    e->value = s.mean;
    e->lo = s.mean_ci[0];
    e->hi = s.mean_ci[1];
    e->has_ci = s.has_mean_ci;
    snprintf(e->method, sizeof e->method, "mean, t-interval");
    if (!e->has_ci)
        snprintf(e->note, sizeof e->note, "n < 2: no interval");
}

static void ratio_est(const rctx *c, const double *x, size_t nx, const double *y, size_t ny,
                      uint64_t salt, est *e)
{
    compare_estimate r;
    char e2[KV_ERRLEN] = "";
    memset(e, 0, sizeof *e);
    e->n = nx + ny;
    uint64_t seed = c->boot_seed + salt;
    if (compare_ratio_of_means(x, nx, y, ny, c->opt->bootstrap_resamples, seed, c->level, &r, e2) !=
        KV_OK) {
        est_none(e, e2);
        e->n = nx + ny;
        return;
    }
    e->value = r.value;
    e->lo = r.ci[0];
    e->hi = r.ci[1];
    e->has_ci = r.has_ci;
    snprintf(e->method, sizeof e->method,
             "ratio of means, studentized bootstrap (bootstrap-t on the log ratio), %ld "
             "resamples, seed %llu",
             c->opt->bootstrap_resamples < 100 ? 100L : c->opt->bootstrap_resamples,
             (unsigned long long)seed);
}

/* Per-trial session totals (sum of ttft over turns) for complete sessions. */
static double *session_totals(const rctx *c, size_t target, long sys, long query, long count,
                              int mode, size_t *n, double **cum)
{
    const journal_data *d = c->d;
    double *tot = malloc((d->n_trials ? d->n_trials : 1) * sizeof *tot);
    *cum = malloc((d->n_trials ? d->n_trials : 1) * (size_t)count * sizeof **cum);
    *n = 0;
    if (!tot || !*cum) {
        free(tot);
        free(*cum);
        *cum = NULL;
        return NULL;
    }
    for (size_t i = 0; i < d->n_trials; i++) {
        const trial_record *t = &d->trials[i];
        if (t->kind != PLAN_MEASURE || t->target != target || t->system_prompt_tokens != sys ||
            t->query_tokens != query || t->query_count != count || (int)t->mode != mode || !t->ok ||
            t->contaminated || t->n_turns != (size_t)count)
            continue;
        double s = 0;
        bool good = true;
        for (size_t k = 0; k < t->n_turns; k++) {
            double y = t->turns[k].ttft_ms;
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
static bool turn_means(const rctx *c, size_t target, long sys, long query, long count, int mode,
                       bool newtok, double *xs)
{
    for (long k = 1; k <= count; k++) {
        double s = 0;
        size_t n = 0;
        for (size_t i = 0; i < c->n_pts; i++) {
            const rpoint *p = &c->pts[i];
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

static void compute_sessions(const rctx *c, size_t target, target_stats *ts)
{
    long counts[RMAX];
    size_t nc = distinct(c, target, 2, counts, RMAX);
    for (size_t i = 0; i < nc && ts->n_sess < RMAX; i++) {
        long N = counts[i];
        if (N < 1)
            continue;
        rsession *s = &ts->sess[ts->n_sess];
        memset(s, 0, sizeof *s);
        s->count = N;
        /* the largest system prompt that has sessions of N queries, then the
         * smallest query length there */
        s->sys = -1;
        s->query = -1;
        for (size_t k = 0; k < c->n_pts; k++) {
            const rpoint *p = &c->pts[k];
            if (p->target == target && p->count == N && p->sys > s->sys)
                s->sys = p->sys;
        }
        for (size_t k = 0; k < c->n_pts; k++) {
            const rpoint *p = &c->pts[k];
            if (p->target == target && p->count == N && p->sys == s->sys &&
                (s->query < 0 || p->query < s->query))
                s->query = p->query;
        }
        size_t ncold = 0, nwarm = 0;
        double *ccum = NULL, *wcum = NULL;
        double *ct = session_totals(c, target, s->sys, s->query, N, SPEC_COLD, &ncold, &ccum);
        double *wt = session_totals(c, target, s->sys, s->query, N, SPEC_WARM, &nwarm, &wcum);
        if (!ct || !wt || (ncold == 0 && nwarm == 0)) {
            free(ct);
            free(wt);
            free(ccum);
            free(wcum);
            continue;
        }
        ts->n_sess++;
        mean_est(ct, ncold, c->level, &s->cold_total, "no complete cold sessions");
        mean_est(wt, nwarm, c->level, &s->warm_total, "no complete warm sessions");
        ratio_est(c, ct, ncold, wt, nwarm, 7000 + (uint64_t)N, &s->measured_speedup);
        size_t n = (size_t)N;
        double *arr = calloc(10 * n, sizeof *arr);
        if (arr) {
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
                est e;
                for (size_t j = 0; j < ncold; j++)
                    col[j] = ccum[j * n + k];
                mean_est(col, ncold, c->level, &e, "none");
                s->cum_cold_m[k] = e.value;
                s->cum_cold_lo[k] = e.has_ci ? e.lo : NAN;
                s->cum_cold_hi[k] = e.has_ci ? e.hi : NAN;
                for (size_t j = 0; j < nwarm; j++)
                    col[j] = wcum[j * n + k];
                mean_est(col, nwarm, c->level, &e, "none");
                s->cum_warm_m[k] = e.value;
                s->cum_warm_lo[k] = e.has_ci ? e.lo : NAN;
                s->cum_warm_hi[k] = e.has_ci ? e.hi : NAN;
            }
            free(col);
        }
        /* theoretical: the seed's first cold + (N-1) warm vs N cold, per-turn-1 means */
        size_t n1c = 0, n1w = 0;
        double *c1 = collect(c, target, s->sys, s->query, -1, SPEC_COLD, 1, &n1c);
        double *w1 = collect(c, target, s->sys, s->query, -1, SPEC_WARM, 1, &n1w);
        s->theoretical = NAN;
        if (c1 && w1 && n1c && n1w) {
            double mc = 0, mw = 0;
            for (size_t j = 0; j < n1c; j++)
                mc += c1[j] / (double)n1c;
            for (size_t j = 0; j < n1w; j++)
                mw += w1[j] / (double)n1w;
            s->theoretical = (double)N * mc / (mc + (double)(N - 1) * mw);
        }
        free(c1);
        free(w1);
        /* projections from the fitted models at each turn's mean tokens */
        est_none(&s->proj_cold, "no cold model");
        est_none(&s->proj_warm, "no warm model");
        est_none(&s->proj_speedup, "needs both models");
        double *xs = malloc(n * sizeof *xs);
        const fit_result *fc = rmodel_fit(&ts->cold), *fw = rmodel_fit(&ts->warm);
        if (xs && fc && turn_means(c, target, s->sys, s->query, N, SPEC_COLD, false, xs)) {
            double sum, se;
            fit_predict_sum(fc, xs, n, &sum, &se);
            s->proj_cold.value = sum;
            s->proj_cold.lo = sum - fc->tcrit * se;
            s->proj_cold.hi = sum + fc->tcrit * se;
            s->proj_cold.has_ci = true;
            s->proj_cold.n = ts->cold.n;
            s->proj_cold.note[0] = '\0';
            snprintf(s->proj_cold.method, sizeof s->proj_cold.method,
                     "sum of the %s cold model's mean responses, t-interval",
                     fit_kind_name(fc->kind));
            s->tcrit_c = fc->tcrit;
            for (size_t k = 0; s->pc_m && k < n; k++)
                fit_predict_sum(fc, xs, k + 1, &s->pc_m[k], &s->pc_se[k]);
        }
        if (xs && fw && turn_means(c, target, s->sys, s->query, N, SPEC_WARM, true, xs)) {
            double sum, se;
            fit_predict_sum(fw, xs, n, &sum, &se);
            s->proj_warm.value = sum;
            s->proj_warm.lo = sum - fw->tcrit * se;
            s->proj_warm.hi = sum + fw->tcrit * se;
            s->proj_warm.has_ci = true;
            s->proj_warm.n = ts->warm.n;
            s->proj_warm.note[0] = '\0';
            snprintf(s->proj_warm.method, sizeof s->proj_warm.method,
                     "sum of the %s warm model's mean responses at new tokens, t-interval",
                     fit_kind_name(fw->kind));
            s->tcrit_w = fw->tcrit;
            for (size_t k = 0; s->pw_m && k < n; k++)
                fit_predict_sum(fw, xs, k + 1, &s->pw_m[k], &s->pw_se[k]);
        }
        free(xs);
        if (s->proj_cold.has_ci && s->proj_warm.has_ci && s->proj_cold.value > 0 &&
            s->proj_warm.value > 0) {
            double r = s->proj_cold.value / s->proj_warm.value;
            double sc = (s->proj_cold.hi - s->proj_cold.value) / s->tcrit_c / s->proj_cold.value;
            double sw = (s->proj_warm.hi - s->proj_warm.value) / s->tcrit_w / s->proj_warm.value;
            double z = 1.959963984540054 * sqrt(sc * sc + sw * sw);
            if (c->level != 0.95)
                z = z / 1.959963984540054 * describe_tcrit(c->level, 1e9);
            s->proj_speedup.value = r;
            s->proj_speedup.lo = r * exp(-z);
            s->proj_speedup.hi = r * exp(z);
            s->proj_speedup.has_ci = true;
            s->proj_speedup.note[0] = '\0';
            s->proj_speedup.n = ts->cold.n + ts->warm.n;
            snprintf(s->proj_speedup.method, sizeof s->proj_speedup.method,
                     "ratio of projected totals, delta method on the log scale");
        }
        free(ct);
        free(wt);
        free(ccum);
        free(wcum);
    }
}

static void compute_target(const rctx *c, size_t target, target_stats *ts)
{
    long sys[RMAX], query[RMAX];
    size_t ns = distinct(c, target, 0, sys, RMAX), nq = distinct(c, target, 1, query, RMAX);
    ts->sys_max = ns ? sys[ns - 1] : 0;
    ts->query_min = nq ? query[0] : 0;
    build_model(c, target, 0, &ts->cold);
    build_model(c, target, 1, &ts->warm);
    build_model(c, target, 2, &ts->prefill);
    for (size_t i = 0; i < c->n_pts; i++) {
        const rpoint *p = &c->pts[i];
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
    double ps[RMAX];
    for (size_t q = 0; q < nq; q++) {
        size_t n0 = 0;
        double *t0 = collect(c, target, 0, query[q], -1, SPEC_COLD, 1, &n0);
        for (size_t i = 0; i < ns; i++) {
            size_t nc = 0, nw = 0;
            double *cv = collect(c, target, sys[i], query[q], -1, SPEC_COLD, 1, &nc);
            double *wv = collect(c, target, sys[i], query[q], -1, SPEC_WARM, 1, &nw);
            char e2[KV_ERRLEN] = "";
            if (cv && wv && nc > 0 && nw > 0 && ts->n_speed < RMAX) {
                rspeed *r = &ts->speed[ts->n_speed];
                memset(r, 0, sizeof *r);
                r->sys = sys[i];
                r->query = query[q];
                r->n_cold = nc;
                r->n_warm = nw;
                compare_estimate ce;
                r->speedup.n = r->hl.n = nc + nw;
                if (compare_gm_ratio(cv, nc, wv, nw, false, c->level, &ce, e2) == KV_OK) {
                    r->speedup.value = ce.value;
                    r->speedup.lo = ce.ci[0];
                    r->speedup.hi = ce.ci[1];
                    r->speedup.has_ci = ce.has_ci;
                    snprintf(r->speedup.method, sizeof r->speedup.method,
                             "ratio of geometric means cold/warm, Welch t-interval on log times "
                             "(unpaired: cold and warm trials are independently randomised)");
                    if (!ce.has_ci)
                        snprintf(r->speedup.note, sizeof r->speedup.note,
                                 "needs at least 2 values per side with variation");
                } else {
                    est_none(&r->speedup, e2);
                    r->speedup.n = nc + nw;
                }
                r->p = compare_rank_test_p(cv, nc, wv, nw, false);
                e2[0] = '\0';
                if (compare_hodges_lehmann(cv, nc, wv, nw, false, c->level, &ce, e2) == KV_OK) {
                    r->hl.value = ce.value;
                    r->hl.lo = ce.ci[0];
                    r->hl.hi = ce.ci[1];
                    r->hl.has_ci = ce.has_ci;
                    snprintf(r->hl.method, sizeof r->hl.method,
                             "Hodges-Lehmann shift cold - warm (ms), Moses interval");
                    if (!ce.has_ci)
                        snprintf(r->hl.note, sizeof r->hl.note, "too few values for an interval");
                } else {
                    est_none(&r->hl, e2);
                }
                ps[ts->n_speed++] = r->p;
            }
            if (t0 && cv && sys[i] > 0 && n0 > 0 && nc > 0 && ts->n_over < RMAX) {
                roverhead *o = &ts->over[ts->n_over++];
                o->sys = sys[i];
                o->query = query[q];
                est r;
                ratio_est(c, cv, nc, t0, n0, 1000 * (uint64_t)ts->n_over, &r);
                o->frac = r;
                o->frac.value = isfinite(r.value) && r.value > 0 ? 1.0 - 1.0 / r.value : NAN;
                o->frac.lo = r.has_ci && r.lo > 0 ? 1.0 - 1.0 / r.lo : NAN;
                o->frac.hi = r.has_ci && r.hi > 0 ? 1.0 - 1.0 / r.hi : NAN;
                o->frac.has_ci = r.has_ci && r.lo > 0;
                o->t0 = o->tl = NAN;
                if (isfinite(o->frac.value)) {
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
            }
            free(cv);
            free(wv);
        }
        free(t0);
    }
    double adj[RMAX];
    compare_holm(ps, ts->n_speed, adj);
    for (size_t i = 0; i < ts->n_speed; i++)
        ts->speed[i].p_holm = adj[i];
    compute_sessions(c, target, ts);
}

static void free_target(target_stats *ts)
{
    rmodel_free(&ts->cold);
    rmodel_free(&ts->warm);
    rmodel_free(&ts->prefill);
    for (size_t i = 0; i < ts->n_sess; i++)
        free(ts->sess[i].cum_cold_m);
}

static void write_cum(jsonw *w, const double *m, const double *lo, const double *hi, size_t n,
                      double level, size_t nobs, const char *method)
{
    jsonw_begin_arr(w);
    for (size_t k = 0; m && k < n; k++) {
        jsonw_begin_obj(w);
        jsonw_key(w, "query");
        jsonw_int(w, (long long)k + 1);
        jsonw_key(w, "estimate");
        est e;
        memset(&e, 0, sizeof e);
        e.value = m[k];
        e.lo = lo[k];
        e.hi = hi[k];
        e.has_ci = isfinite(lo[k]) && isfinite(hi[k]);
        e.n = nobs;
        snprintf(e.method, sizeof e.method, "%s", method);
        est_write(w, &e, level);
        jsonw_end_obj(w);
    }
    jsonw_end_arr(w);
}

static void write_target(jsonw *w, const rctx *c, size_t target, target_stats *ts)
{
    const journal_header *h = &c->d->header;
    const journal_target_meta *tm = target < h->n_targets ? &h->targets[target] : NULL;
    jsonw_begin_obj(w);
    jsonw_key(w, "name");
    jsonw_str(w, ts->name);
    jsonw_key(w, "dialect");
    jsonw_str(w, tm ? tm->dialect : NULL);
    jsonw_key(w, "model");
    jsonw_str(w, tm ? tm->model : NULL);
    jsonw_key(w, "simulated");
    jsonw_bool(w, tm ? tm->simulated : false);
    write_cells(w, c, target, ts->name);
    jsonw_key(w, "points");
    jsonw_begin_arr(w);
    for (size_t i = 0; i < c->n_pts; i++) {
        const rpoint *p = &c->pts[i];
        if (p->target != target)
            continue;
        jsonw_begin_obj(w);
        jsonw_key(w, "x");
        jsonw_num(w, p->x);
        jsonw_key(w, "new_tokens");
        jsonw_num(w, p->newtok);
        jsonw_key(w, "cached");
        jsonw_num(w, p->cached);
        jsonw_key(w, "y");
        jsonw_num(w, p->y);
        jsonw_key(w, "server_prefill_ms");
        jsonw_num(w, p->prefill);
        jsonw_key(w, "mode");
        jsonw_str(w, p->mode == SPEC_WARM ? "warm" : "cold");
        jsonw_key(w, "system_prompt_tokens");
        jsonw_int(w, p->sys);
        jsonw_key(w, "query_tokens");
        jsonw_int(w, p->query);
        jsonw_key(w, "query_count");
        jsonw_int(w, p->count);
        jsonw_key(w, "turn");
        jsonw_int(w, p->turn);
        jsonw_key(w, "order");
        jsonw_int(w, (long long)p->order);
        jsonw_key(w, "contaminated");
        jsonw_bool(w, p->contaminated);
        jsonw_end_obj(w);
    }
    jsonw_end_arr(w);
    jsonw_key(w, "models");
    jsonw_begin_obj(w);
    jsonw_key(w, "cold_ttft");
    write_model(w, c, &ts->cold);
    jsonw_key(w, "warm_ttft");
    write_model(w, c, &ts->warm);
    jsonw_key(w, "cold_server_prefill");
    write_model(w, c, &ts->prefill);
    jsonw_end_obj(w);
    jsonw_key(w, "speedup");
    jsonw_begin_arr(w);
    for (size_t i = 0; i < ts->n_speed; i++) {
        const rspeed *r = &ts->speed[i];
        jsonw_begin_obj(w);
        jsonw_key(w, "system_prompt_tokens");
        jsonw_int(w, r->sys);
        jsonw_key(w, "query_tokens");
        jsonw_int(w, r->query);
        jsonw_key(w, "speedup");
        est_write(w, &r->speedup, c->level);
        jsonw_key(w, "test");
        jsonw_str(w, "Mann-Whitney U");
        jsonw_key(w, "p_value");
        jsonw_num(w, r->p);
        jsonw_key(w, "p_holm");
        jsonw_num(w, r->p_holm);
        jsonw_key(w, "hodges_lehmann_ms");
        est_write(w, &r->hl, c->level);
        jsonw_end_obj(w);
    }
    jsonw_end_arr(w);
    jsonw_key(w, "overhead_fraction");
    jsonw_begin_arr(w);
    for (size_t i = 0; i < ts->n_over; i++) {
        jsonw_begin_obj(w);
        jsonw_key(w, "system_prompt_tokens");
        jsonw_int(w, ts->over[i].sys);
        jsonw_key(w, "query_tokens");
        jsonw_int(w, ts->over[i].query);
        jsonw_key(w, "estimate");
        est_write(w, &ts->over[i].frac, c->level);
        jsonw_key(w, "mean_ttft_without_ms");
        jsonw_num(w, ts->over[i].t0);
        jsonw_key(w, "mean_ttft_with_ms");
        jsonw_num(w, ts->over[i].tl);
        jsonw_end_obj(w);
    }
    jsonw_end_arr(w);
    jsonw_key(w, "sessions");
    jsonw_begin_arr(w);
    for (size_t i = 0; i < ts->n_sess; i++) {
        const rsession *s = &ts->sess[i];
        size_t n = (size_t)s->count;
        jsonw_begin_obj(w);
        jsonw_key(w, "query_count");
        jsonw_int(w, s->count);
        jsonw_key(w, "system_prompt_tokens");
        jsonw_int(w, s->sys);
        jsonw_key(w, "query_tokens");
        jsonw_int(w, s->query);
        jsonw_key(w, "cold_total_ms");
        est_write(w, &s->cold_total, c->level);
        jsonw_key(w, "warm_total_ms");
        est_write(w, &s->warm_total, c->level);
        jsonw_key(w, "measured_speedup");
        est_write(w, &s->measured_speedup, c->level);
        jsonw_key(w, "projected_cold_total_ms");
        est_write(w, &s->proj_cold, c->level);
        jsonw_key(w, "projected_warm_total_ms");
        est_write(w, &s->proj_warm, c->level);
        jsonw_key(w, "projected_speedup");
        est_write(w, &s->proj_speedup, c->level);
        jsonw_key(w, "theoretical_speedup");
        jsonw_num(w, s->theoretical);
        jsonw_key(w, "theoretical_note");
        jsonw_str(w, "the seed's arithmetic: N cold / (first cold + (N-1) warm), turn-1 means, "
                     "no interval");
        jsonw_key(w, "cumulative");
        jsonw_begin_obj(w);
        jsonw_key(w, "cold");
        write_cum(w, s->cum_cold_m, s->cum_cold_lo, s->cum_cold_hi, n, c->level, s->cold_total.n,
                  "mean cumulative ttft, t-interval");
        jsonw_key(w, "warm");
        write_cum(w, s->cum_warm_m, s->cum_warm_lo, s->cum_warm_hi, n, c->level, s->warm_total.n,
                  "mean cumulative ttft, t-interval");
        jsonw_end_obj(w);
        jsonw_key(w, "projected_cumulative");
        jsonw_begin_obj(w);
        double lo[RMAX], hi[RMAX];
        for (int side = 0; side < 2; side++) {
            const double *m = side ? s->pw_m : s->pc_m, *se = side ? s->pw_se : s->pc_se;
            double t = side ? s->tcrit_w : s->tcrit_c;
            bool have = side ? s->proj_warm.has_ci : s->proj_cold.has_ci;
            for (size_t k = 0; k < n && k < RMAX; k++) {
                lo[k] = have ? m[k] - t * se[k] : NAN;
                hi[k] = have ? m[k] + t * se[k] : NAN;
            }
            jsonw_key(w, side ? "warm" : "cold");
            if (have)
                write_cum(w, m, lo, hi, n < RMAX ? n : RMAX, c->level,
                          side ? ts->warm.n : ts->cold.n, "sum of model mean responses");
            else
                write_cum(w, NULL, NULL, NULL, 0, c->level, 0, "");
        }
        jsonw_end_obj(w);
        jsonw_end_obj(w);
    }
    jsonw_end_arr(w);
    jsonw_key(w, "cache_evidence");
    jsonw_begin_obj(w);
    jsonw_key(w, "warm_requests");
    jsonw_int(w, (long long)ts->warm_total);
    jsonw_key(w, "verified");
    jsonw_int(w, (long long)ts->warm_verified);
    jsonw_key(w, "inferred");
    jsonw_int(w, (long long)ts->warm_inferred);
    jsonw_key(w, "contaminated_warm");
    jsonw_int(w, (long long)ts->warm_contaminated);
    jsonw_key(w, "contaminated_cold");
    jsonw_int(w, (long long)ts->cold_contaminated);
    jsonw_end_obj(w);
    jsonw_end_obj(w);
}

/* ---- hypotheses, verdict, questions ------------------------------------------- */

static const rspeed *find_speed(const target_stats *ts, long sys)
{
    const rspeed *best = NULL;
    for (size_t i = 0; i < ts->n_speed; i++) {
        const rspeed *r = &ts->speed[i];
        if ((sys < 0 ? r->sys == ts->sys_max : r->sys == sys) && (!best || r->query < best->query))
            best = r;
    }
    return best;
}

static const roverhead *find_over(const target_stats *ts, long sys)
{
    const roverhead *best = NULL;
    for (size_t i = 0; i < ts->n_over; i++) {
        const roverhead *o = &ts->over[i];
        if ((sys < 0 ? o->sys == ts->sys_max : o->sys == sys) && (!best || o->query < best->query))
            best = o;
    }
    return best;
}

static const rsession *find_session(const target_stats *ts, long count)
{
    const rsession *best = NULL;
    for (size_t i = 0; i < ts->n_sess; i++) {
        const rsession *s = &ts->sess[i];
        if (count < 0 ? (!best || s->count > best->count) : s->count == count)
            best = s;
    }
    return best;
}

static void write_hypotheses(jsonw *w, const rctx *c, target_stats *tss, size_t nt)
{
    jsonw_key(w, "hypotheses");
    jsonw_begin_arr(w);
    for (size_t i = 0; c->s && i < c->s->n_hypotheses; i++) {
        const spec_hypothesis *h = &c->s->hypotheses[i];
        for (size_t t = 0; t < nt; t++) {
            if (h->target && strcmp(h->target, tss[t].name) != 0)
                continue;
            const target_stats *ts = &tss[t];
            est e;
            est_none(&e, "no data for this metric");
            switch (h->metric) {
            case SPEC_METRIC_OVERHEAD_FRACTION: {
                const roverhead *o = find_over(ts, h->system_prompt_tokens);
                if (o)
                    e = o->frac;
                break;
            }
            case SPEC_METRIC_SPEEDUP: {
                const rspeed *r = find_speed(ts, h->system_prompt_tokens);
                if (r)
                    e = r->speedup;
                break;
            }
            case SPEC_METRIC_SESSION_SPEEDUP: {
                const rsession *s = find_session(ts, h->query_count);
                if (s)
                    e = s->measured_speedup;
                break;
            }
            case SPEC_METRIC_PREFILL_MS_PER_TOKEN:
                if (ts->cold.ok)
                    e = ts->cold.ms_per_token;
                break;
            }
            const char *verdict = "inconclusive";
            char reason[256], crit[96];
            bool hasmin = isfinite(h->min), hasmax = isfinite(h->max);
            if (hasmin && hasmax)
                snprintf(crit, sizeof crit, "between %.6g and %.6g", h->min, h->max);
            else if (hasmin)
                snprintf(crit, sizeof crit, ">= %.6g", h->min);
            else if (hasmax)
                snprintf(crit, sizeof crit, "<= %.6g", h->max);
            else
                snprintf(crit, sizeof crit, "(no bound)");
            if (!e.has_ci || !isfinite(e.lo) || !isfinite(e.hi)) {
                snprintf(reason, sizeof reason,
                         "no interval (%s): a point estimate alone decides "
                         "nothing",
                         e.note[0] ? e.note : "not computable");
            } else {
                bool inside = (!hasmin || e.lo >= h->min) && (!hasmax || e.hi <= h->max);
                bool outside = (hasmin && e.hi < h->min) || (hasmax && e.lo > h->max);
                if ((hasmin || hasmax) && inside) {
                    verdict = "confirmed";
                    snprintf(reason, sizeof reason,
                             "the whole %.0f%% interval [%.4g, %.4g] satisfies %s", 100 * c->level,
                             e.lo, e.hi, crit);
                } else if (outside) {
                    verdict = "refuted";
                    snprintf(reason, sizeof reason,
                             "the whole %.0f%% interval [%.4g, %.4g] violates %s", 100 * c->level,
                             e.lo, e.hi, crit);
                } else {
                    snprintf(reason, sizeof reason,
                             "the %.0f%% interval [%.4g, %.4g] straddles the criterion %s",
                             100 * c->level, e.lo, e.hi, crit);
                }
            }
            jsonw_begin_obj(w);
            jsonw_key(w, "id");
            jsonw_str(w, h->id);
            jsonw_key(w, "description");
            jsonw_str(w, h->description);
            jsonw_key(w, "metric");
            jsonw_str(w, spec_metric_name(h->metric));
            jsonw_key(w, "target");
            jsonw_str(w, ts->name);
            jsonw_key(w, "criterion");
            jsonw_str(w, crit);
            jsonw_key(w, "min");
            jsonw_num(w, h->min);
            jsonw_key(w, "max");
            jsonw_num(w, h->max);
            jsonw_key(w, "estimate");
            est_write(w, &e, c->level);
            jsonw_key(w, "verdict");
            jsonw_str(w, verdict);
            jsonw_key(w, "reason");
            jsonw_str(w, reason);
            jsonw_end_obj(w);
        }
    }
    jsonw_end_arr(w);
}

static void fmt_est(char *buf, size_t len, const est *e, double scale, const char *unit)
{
    if (!isfinite(e->value))
        snprintf(buf, len, "not computable (%s)", e->note[0] ? e->note : "no data");
    else if (e->has_ci && isfinite(e->lo) && isfinite(e->hi))
        snprintf(buf, len, "%.3g%s (95%% CI %.3g to %.3g)", e->value * scale, unit, e->lo * scale,
                 e->hi * scale);
    else
        snprintf(buf, len, "%.3g%s (no interval)", e->value * scale, unit);
}

static void write_questions(jsonw *w, const rctx *c, const target_stats *ts)
{
    char a[1024], b1[256], b2[256];
    const roverhead *o = find_over(ts, -1);
    const rspeed *r = find_speed(ts, -1);
    const rsession *s = find_session(ts, -1);
    jsonw_key(w, "questions");
    jsonw_begin_arr(w);
    /* 1 */
    jsonw_begin_obj(w);
    jsonw_key(w, "id");
    jsonw_int(w, 1);
    jsonw_key(w, "question");
    jsonw_str(w, "How much overhead does the system prompt add?");
    if (o) {
        fmt_est(b1, sizeof b1, &o->frac, 100, "%");
        snprintf(a, sizeof a,
                 "With a %ld-token system prompt, %s of the cold time to first token is the "
                 "system prompt: %.4g ms with it vs %.4g ms without (%s).",
                 o->sys, b1, o->tl, o->t0, ts->name);
    } else {
        snprintf(a, sizeof a,
                 "Not measured: the overhead needs cold requests with and without "
                 "a system prompt (system_prompt_tokens 0).");
    }
    jsonw_key(w, "answer");
    jsonw_str(w, a);
    jsonw_key(w, "estimate");
    if (o)
        est_write(w, &o->frac, c->level);
    else
        jsonw_null(w);
    jsonw_end_obj(w);
    /* 2 */
    jsonw_begin_obj(w);
    jsonw_key(w, "id");
    jsonw_int(w, 2);
    jsonw_key(w, "question");
    jsonw_str(w, "How much could the KV cache help?");
    if (r) {
        fmt_est(b1, sizeof b1, &r->speedup, 1, "x");
        fmt_est(b2, sizeof b2, &r->hl, 1, " ms");
        snprintf(a, sizeof a,
                 "A follow-up request with the %ld-token prefix cached reaches its first token "
                 "%s faster than a cold one; it saves %s per request (Mann-Whitney p = %.2g, "
                 "Holm-adjusted %.2g).",
                 r->sys, b1, b2, r->p, r->p_holm);
    } else {
        snprintf(a, sizeof a, "Not measured: needs both cold and warm requests.");
    }
    jsonw_key(w, "answer");
    jsonw_str(w, a);
    jsonw_key(w, "estimate");
    if (r)
        est_write(w, &r->speedup, c->level);
    else
        jsonw_null(w);
    jsonw_end_obj(w);
    /* 3 */
    jsonw_begin_obj(w);
    jsonw_key(w, "id");
    jsonw_int(w, 3);
    jsonw_key(w, "question");
    jsonw_str(w, "Is the server's cache working; is this server the right choice?");
    const char *works = "cannot tell";
    if (r && r->speedup.has_ci)
        works = r->speedup.lo > 1.0   ? "yes: the whole speedup interval is above 1"
                : r->speedup.hi < 1.0 ? "no: warm requests are slower"
                                      : "not shown: the speedup interval includes 1";
    snprintf(a, sizeof a,
             "Cache working: %s. Evidence: of %zu warm requests, %zu had the server's "
             "cached-token count confirm the reuse (verified), %zu were assumed (inferred: the "
             "server reports no cached count), %zu were contaminated.",
             works, ts->warm_total, ts->warm_verified, ts->warm_inferred, ts->warm_contaminated);
    jsonw_key(w, "answer");
    jsonw_str(w, a);
    jsonw_key(w, "estimate");
    if (r)
        est_write(w, &r->speedup, c->level);
    else
        jsonw_null(w);
    jsonw_end_obj(w);
    /* 4 */
    jsonw_begin_obj(w);
    jsonw_key(w, "id");
    jsonw_int(w, 4);
    jsonw_key(w, "question");
    jsonw_str(w, "Should we pursue this?");
    if (s && isfinite(s->cold_total.value) && isfinite(s->warm_total.value)) {
        fmt_est(b1, sizeof b1, &s->measured_speedup, 1, "x");
        snprintf(a, sizeof a,
                 "A %ld-query session with a %ld-token system prompt took %.4g ms without the "
                 "cache and %.4g ms with it: measured session speedup %s, saving %.4g ms per "
                 "session; the seed's arithmetic predicted %.3gx.",
                 s->count, s->sys, s->cold_total.value, s->warm_total.value, b1,
                 s->cold_total.value - s->warm_total.value, s->theoretical);
    } else {
        snprintf(a, sizeof a, "Not measured: needs complete cold and warm sessions.");
    }
    jsonw_key(w, "answer");
    jsonw_str(w, a);
    jsonw_key(w, "estimate");
    if (s)
        est_write(w, &s->measured_speedup, c->level);
    else
        jsonw_null(w);
    jsonw_end_obj(w);
    jsonw_end_arr(w);
}

static void write_verdict(jsonw *w, const rctx *c, const target_stats *tss, size_t nt)
{
    const target_stats *ts = &tss[0];
    const roverhead *o = find_over(ts, -1);
    const rspeed *r = find_speed(ts, -1);
    char sum[1024], b1[256], b2[256];
    est none;
    est_none(&none, "not measured");
    fmt_est(b1, sizeof b1, o ? &o->frac : &none, 100, "%");
    fmt_est(b2, sizeof b2, r ? &r->speedup : &none, 1, "x");
    snprintf(sum, sizeof sum,
             "%s: at %ld system-prompt tokens the system prompt is %s of cold time to first "
             "token, and the prefix cache makes follow-ups %s faster.",
             ts->name, ts->sys_max, b1, b2);
    jsonw_key(w, "verdict");
    jsonw_begin_obj(w);
    jsonw_key(w, "summary");
    jsonw_str(w, sum);
    jsonw_key(w, "system_prompt_tokens");
    jsonw_int(w, ts->sys_max);
    jsonw_key(w, "overhead_fraction");
    est_write(w, o ? &o->frac : &none, c->level);
    jsonw_key(w, "speedup");
    est_write(w, r ? &r->speedup : &none, c->level);
    jsonw_key(w, "prefill_ms_per_token");
    est_write(w, ts->cold.ok ? &ts->cold.ms_per_token : &none, c->level);
    jsonw_key(w, "prefill_tokens_per_second");
    est_write(w, ts->cold.ok ? &ts->cold.tokens_per_s : &none, c->level);
    if (nt > 1) {
        size_t best = 0;
        double bestv = INFINITY;
        for (size_t t = 0; t < nt; t++) {
            const rsession *s = find_session(&tss[t], -1);
            if (s && isfinite(s->warm_total.value) && s->warm_total.value < bestv) {
                bestv = s->warm_total.value;
                best = t;
            }
        }
        char rec[512];
        if (isfinite(bestv))
            snprintf(rec, sizeof rec,
                     "%s has the shortest cached session total (%.0f ms, point estimate; see "
                     "comparison for intervals).",
                     tss[best].name, bestv);
        else
            snprintf(rec, sizeof rec, "No target has complete cached sessions to compare.");
        jsonw_key(w, "recommendation");
        jsonw_str(w, rec);
    }
    jsonw_end_obj(w);
    if (nt > 1) {
        jsonw_key(w, "comparison");
        jsonw_begin_arr(w);
        for (size_t t = 0; t < nt; t++) {
            const target_stats *x = &tss[t];
            const rspeed *rs = find_speed(x, -1);
            const rsession *ss = find_session(x, -1);
            est cold, warm;
            size_t n1 = 0, n2 = 0;
            double *cv = collect(c, t, x->sys_max, x->query_min, -1, SPEC_COLD, 1, &n1);
            double *wv = collect(c, t, x->sys_max, x->query_min, -1, SPEC_WARM, 1, &n2);
            mean_est(cv, cv ? n1 : 0, c->level, &cold, "no cold requests");
            mean_est(wv, wv ? n2 : 0, c->level, &warm, "no warm requests");
            free(cv);
            free(wv);
            jsonw_begin_obj(w);
            jsonw_key(w, "target");
            jsonw_str(w, x->name);
            jsonw_key(w, "system_prompt_tokens");
            jsonw_int(w, x->sys_max);
            jsonw_key(w, "cold_ttft_ms");
            est_write(w, &cold, c->level);
            jsonw_key(w, "warm_ttft_ms");
            est_write(w, &warm, c->level);
            jsonw_key(w, "speedup");
            est_write(w, rs ? &rs->speedup : &none, c->level);
            jsonw_key(w, "session_total_ms");
            est_write(w, ss ? &ss->warm_total : &none, c->level);
            jsonw_end_obj(w);
        }
        jsonw_end_arr(w);
    }
}

/* ---- top level ------------------------------------------------------------------ */

static void write_stopping(jsonw *w, const rctx *c, const target_stats *tss, size_t nt)
{
    jsonw_key(w, "adaptive_stopping");
    if (!c->s || !c->s->stop.enabled) {
        jsonw_null(w);
        return;
    }
    /* trials not run x their cell's mean session time */
    const journal_data *d = c->d;
    double saved = 0;
    long not_run = 0;
    (void)tss;
    for (size_t i = 0; i < d->n_trials; i++) {
        const trial_record *t = &d->trials[i];
        if (t->kind != PLAN_MEASURE)
            continue;
        bool first = true;
        for (size_t j = 0; j < i && first; j++)
            first = !(d->trials[j].kind == PLAN_MEASURE && d->trials[j].target == t->target &&
                      d->trials[j].cell == t->cell);
        if (!first)
            continue;
        size_t n = 0;
        double tot = 0;
        for (size_t j = i; j < d->n_trials; j++) {
            const trial_record *u = &d->trials[j];
            if (u->kind != PLAN_MEASURE || u->target != t->target || u->cell != t->cell)
                continue;
            n++;
            for (size_t k = 0; k < u->n_turns; k++)
                if (isfinite(u->turns[k].ttft_ms) && u->turns[k].ttft_ms >= 0)
                    tot +=
                        isfinite(u->turns[k].total_ms) ? u->turns[k].total_ms : u->turns[k].ttft_ms;
        }
        long missing = c->s->repetitions - (long)n;
        if (missing > 0 && n > 0) {
            not_run += missing;
            saved += (double)missing * tot / (double)n;
        }
    }
    (void)nt;
    jsonw_begin_obj(w);
    jsonw_key(w, "target_rel_ci");
    jsonw_num(w, c->s->stop.target_rel_ci);
    jsonw_key(w, "min_repetitions");
    jsonw_int(w, c->s->stop.min_repetitions);
    jsonw_key(w, "trials_not_run");
    jsonw_int(w, not_run);
    jsonw_key(w, "saving_server_seconds");
    jsonw_num(w, saved / 1000.0);
    jsonw_key(w, "method");
    jsonw_str(w, "per cell: (repetitions - trials run) x the cell's mean measured request time "
                 "(total, else ttft) per trial, against the fixed design");
    jsonw_end_obj(w);
}

static void write_header(jsonw *w, const rctx *c, const char *journal_path, size_t completed,
                         size_t failed, size_t contaminated, size_t inferred, size_t warmup)
{
    const journal_header *h = &c->d->header;
    bool simulated = false;
    for (size_t i = 0; i < h->n_targets; i++)
        simulated = simulated || h->targets[i].simulated;
    size_t recorded = c->d->n_trials;
    jsonw_key(w, "format");
    jsonw_str(w, "kvproof-results");
    jsonw_key(w, "version");
    jsonw_int(w, 1);
    jsonw_key(w, "simulated");
    jsonw_bool(w, simulated);
    jsonw_key(w, "partial");
    jsonw_bool(w, c->opt->partial || (h->planned_trials && recorded < h->planned_trials));
    char hash[17], date[32] = "";
    snprintf(hash, sizeof hash, "%016llx", (unsigned long long)h->spec_hash);
    time_t tt = (time_t)h->created_unix;
    struct tm tmv;
    if (h->created_unix > 0 && gmtime_r(&tt, &tmv))
        strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &tmv);
    jsonw_key(w, "source");
    jsonw_begin_obj(w);
    jsonw_key(w, "journal");
    jsonw_str(w, journal_path);
    jsonw_key(w, "spec_name");
    jsonw_str(w, h->spec_name);
    jsonw_key(w, "spec_path");
    jsonw_str(w, h->spec_path);
    jsonw_key(w, "spec_hash");
    jsonw_str(w, hash);
    jsonw_key(w, "seed");
    jsonw_int(w, (long long)h->seed);
    jsonw_key(w, "kvproof_version");
    jsonw_str(w, h->kvproof_version);
    jsonw_key(w, "run_date");
    jsonw_str(w, date[0] ? date : NULL);
    jsonw_end_obj(w);
    jsonw_key(w, "confidence_level");
    jsonw_num(w, c->level);
    jsonw_key(w, "method");
    jsonw_begin_obj(w);
    jsonw_key(w, "order");
    jsonw_str(w, c->s ? (c->s->order == SPEC_ORDER_BLOCKED ? "blocked" : "random") : NULL);
    jsonw_key(w, "seed");
    jsonw_int(w, (long long)h->seed);
    jsonw_key(w, "repetitions");
    if (c->s)
        jsonw_int(w, c->s->repetitions);
    else
        jsonw_null(w);
    jsonw_key(w, "warmup_requests");
    if (c->s)
        jsonw_int(w, c->s->warmup_requests);
    else
        jsonw_null(w);
    jsonw_key(w, "cache_modes");
    jsonw_begin_arr(w);
    if (!c->s || c->s->cold)
        jsonw_str(w, "cold");
    if (!c->s || c->s->warm)
        jsonw_str(w, "warm");
    jsonw_end_arr(w);
    jsonw_key(w, "ttft_definition");
    jsonw_str(w, "client-side time from sending the request to the first non-empty content, "
                 "reasoning or tool-call delta (CLOCK_MONOTONIC); role-only, usage and progress "
                 "chunks do not count");
    char excl[512];
    snprintf(excl, sizeof excl,
             "warm-up trials discarded; failed requests excluded; %zu request(s) with a "
             "missing or negative time to first token excluded; contaminated requests (cold "
             "with cached tokens, warm with < 90%% of the prefix cached) are kept in points "
             "but excluded from summaries, models and comparisons; outliers are flagged, never "
             "removed",
             c->excluded_bad);
    jsonw_key(w, "exclusions");
    jsonw_str(w, excl);
    jsonw_key(w, "bootstrap_resamples");
    jsonw_int(w, c->opt->bootstrap_resamples);
    jsonw_key(w, "bootstrap_seed");
    jsonw_int(w, (long long)c->boot_seed);
    jsonw_key(w, "bootstrap_interval");
    jsonw_str(w, "studentized (bootstrap-t) on the log ratio of means: percentile intervals "
                 "undercover at small n");
    jsonw_key(w, "spec_note");
    jsonw_str(w, c->err_note[0] ? c->err_note : NULL);
    jsonw_end_obj(w);
    jsonw_key(w, "environment");
    jsonw_begin_obj(w);
    jsonw_key(w, "client");
    jsonw_begin_obj(w);
    jsonw_key(w, "host");
    jsonw_str(w, h->client_host);
    jsonw_key(w, "cpu");
    jsonw_null(w);
    jsonw_key(w, "os");
    jsonw_null(w);
    jsonw_key(w, "kvproof_version");
    jsonw_str(w, h->kvproof_version);
    jsonw_end_obj(w);
    jsonw_key(w, "targets");
    jsonw_begin_arr(w);
    for (size_t i = 0; i < h->n_targets; i++) {
        const journal_target_meta *t = &h->targets[i];
        jsonw_begin_obj(w);
        jsonw_key(w, "name");
        jsonw_str(w, t->name);
        jsonw_key(w, "base_url");
        jsonw_str(w, t->base_url);
        jsonw_key(w, "dialect");
        jsonw_str(w, t->dialect);
        jsonw_key(w, "model");
        jsonw_str(w, t->model);
        jsonw_key(w, "server_version");
        jsonw_str(w, t->server_version);
        jsonw_key(w, "flags");
        jsonw_str(w, t->props);
        jsonw_key(w, "simulated");
        jsonw_bool(w, t->simulated);
        jsonw_end_obj(w);
    }
    jsonw_end_arr(w);
    jsonw_end_obj(w);
    jsonw_key(w, "counts");
    jsonw_begin_obj(w);
    jsonw_key(w, "planned");
    jsonw_int(w, (long long)h->planned_trials);
    jsonw_key(w, "completed");
    jsonw_int(w, (long long)completed);
    jsonw_key(w, "failed");
    jsonw_int(w, (long long)failed);
    jsonw_key(w, "contaminated");
    jsonw_int(w, (long long)contaminated);
    jsonw_key(w, "inferred");
    jsonw_int(w, (long long)inferred);
    jsonw_key(w, "warmup");
    jsonw_int(w, (long long)warmup);
    jsonw_key(w, "excluded_bad_times");
    jsonw_int(w, (long long)c->excluded_bad);
    jsonw_key(w, "failures");
    jsonw_begin_arr(w);
    size_t nf = 0;
    for (size_t i = 0; i < c->d->n_trials; i++) {
        const trial_record *t = &c->d->trials[i];
        if (t->ok || t->kind != PLAN_MEASURE)
            continue;
        if (nf++ >= 200)
            continue;
        int attempts = 0;
        for (size_t k = 0; k < t->n_turns; k++)
            attempts += t->turns[k].attempts;
        jsonw_begin_obj(w);
        jsonw_key(w, "trial");
        jsonw_str(w, t->id);
        jsonw_key(w, "target");
        jsonw_str(w, t->target_name);
        jsonw_key(w, "reason");
        jsonw_str(w, t->error);
        jsonw_key(w, "attempts");
        jsonw_int(w, attempts);
        jsonw_end_obj(w);
    }
    jsonw_end_arr(w);
    if (nf > 200) {
        jsonw_key(w, "failures_truncated");
        jsonw_int(w, (long long)(nf - 200));
    }
    jsonw_end_obj(w);
}

kv_status results_from_data(const journal_data *d, const char *journal_path,
                            const results_options *opt, kv_buf *out, char *err)
{
    results_options defaults;
    results_options_default(&defaults);
    if (!opt)
        opt = &defaults;
    if (!d || !out)
        return kv_fail(err, KV_ERR_USAGE, "results_from_data: missing input");
    if (!(opt->confidence > 0 && opt->confidence < 1))
        return kv_fail(err, KV_ERR_USAGE, "confidence must be between 0 and 1");
    rctx c = {0};
    c.d = d;
    c.opt = opt;
    c.level = opt->confidence;
    c.boot_seed = opt->has_bootstrap_seed ? opt->bootstrap_seed : d->header.seed;
    spec *sp = NULL;
    target_stats *tss = NULL;
    jsonw w = {0};
    kv_status st = KV_OK;
    if (d->header.spec_json) {
        char e2[KV_ERRLEN] = "";
        if (spec_parse(d->header.spec_json, strlen(d->header.spec_json), "journal header spec", &sp,
                       e2) != KV_OK)
            snprintf(c.err_note, sizeof c.err_note,
                     "the embedded spec did not parse (%.200s): hypotheses and stopping skipped",
                     e2);
    }
    c.s = sp;
    st = gather(&c, err);
    if (st != KV_OK)
        goto out;
    size_t completed = 0, failed = 0, contaminated = 0, inferred = 0, warmup = 0;
    for (size_t i = 0; i < d->n_trials; i++) {
        const trial_record *t = &d->trials[i];
        if (t->kind != PLAN_MEASURE) {
            warmup++;
            continue;
        }
        if (t->ok)
            completed++;
        else
            failed++;
        contaminated += t->contaminated;
        for (size_t k = 0; k < t->n_turns; k++)
            inferred += t->turns[k].cache_state == TRIAL_CACHE_INFERRED;
    }
    if (c.n_pts == 0) {
        st = kv_fail(err, KV_ERR_STATS,
                     "%s: no usable measured request (%zu measured trial(s), %zu failed, %zu "
                     "with a missing or negative time to first token)",
                     journal_path ? journal_path : "journal", completed + failed, failed,
                     c.excluded_bad);
        goto out;
    }
    size_t nt = 0;
    for (size_t i = 0; i < c.n_pts; i++)
        nt = c.pts[i].target + 1 > nt ? c.pts[i].target + 1 : nt;
    tss = calloc(nt, sizeof *tss);
    if (!tss) {
        st = kv_fail(err, KV_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t t = 0; t < nt; t++) {
        tss[t].name = t < d->header.n_targets ? d->header.targets[t].name : NULL;
        for (size_t i = 0; !tss[t].name && i < d->n_trials; i++)
            if (d->trials[i].target == t)
                tss[t].name = d->trials[i].target_name;
        if (!tss[t].name)
            tss[t].name = "?";
        compute_target(&c, t, &tss[t]);
    }
    jsonw_begin_obj(&w);
    write_header(&w, &c, journal_path, completed, failed, contaminated, inferred, warmup);
    jsonw_key(&w, "targets");
    jsonw_begin_arr(&w);
    for (size_t t = 0; t < nt; t++)
        write_target(&w, &c, t, &tss[t]);
    jsonw_end_arr(&w);
    write_hypotheses(&w, &c, tss, nt);
    write_verdict(&w, &c, tss, nt);
    write_questions(&w, &c, &tss[0]);
    write_stopping(&w, &c, tss, nt);
    jsonw_end_obj(&w);
    if (w.st == KV_OK)
        w.st = kv_buf_append(&w.b, "\n", 1);
    if (w.st != KV_OK) {
        st = kv_fail(err, w.st, "out of memory writing results");
        goto out;
    }
    st = kv_buf_append(out, w.b.data, w.b.len);
    for (size_t t = 0; t < nt; t++)
        free_target(&tss[t]);
out:
    if (st != KV_OK && tss)
        for (size_t t = 0; t < nt; t++)
            free_target(&tss[t]);
    free(tss);
    kv_buf_free(&w.b);
    free(c.pts);
    spec_free(sp);
    return st;
}

kv_status results_from_journal(const char *journal_path, const char *results_path,
                               const results_options *opt, char *err)
{
    journal_data *d = NULL;
    kv_buf out = {0};
    char *tmp = NULL;
    FILE *f = NULL;
    kv_status st = journal_load(journal_path, &d, err);
    if (st != KV_OK)
        goto out;
    st = results_from_data(d, journal_path, opt, &out, err);
    if (st != KV_OK)
        goto out;
    size_t len = strlen(results_path) + 16;
    tmp = malloc(len);
    if (!tmp) {
        st = kv_fail(err, KV_ERR_NOMEM, "out of memory");
        goto out;
    }
    snprintf(tmp, len, "%s.tmp", results_path);
    f = fopen(tmp, "w");
    if (!f || fwrite(out.data, 1, out.len, f) != out.len || fflush(f) != 0) {
        st = kv_fail(err, KV_ERR_IO, "%s: cannot write results", tmp);
        goto out;
    }
    if (fclose(f) != 0) {
        f = NULL;
        st = kv_fail(err, KV_ERR_IO, "%s: cannot write results", tmp);
        goto out;
    }
    f = NULL;
    if (rename(tmp, results_path) != 0)
        st = kv_fail(err, KV_ERR_IO, "%s: cannot rename to %s", tmp, results_path);
out:
    if (f)
        fclose(f);
    if (st != KV_OK && tmp)
        remove(tmp);
    free(tmp);
    kv_buf_free(&out);
    journal_data_free(d);
    return st;
}
