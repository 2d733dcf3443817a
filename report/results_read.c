/* results_read.c - results.json -> rr_results (report/results_read.h).
 *
 * The only file of the report that sees cJSON. Divided into: the arena that
 * owns every string and array, typed field getters that name the field on a
 * type error, one reader per schema object (estimate, cell, model, session,
 * target, top level), and results_read_load / results_read_parse / results_read_free.
 */
#include "report/results_read.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/util.h"
#include "report/points_read.h"
#include "stats/results_schema.h"

struct rr_arena {
    void **blocks;
    size_t n, cap;
};

typedef struct rd {
    struct rr_arena *a;
    const char *name; /* file name for messages */
    char *err;
    kv_status st;
} rd;

/* ---- arena ---- */

static void *aalloc(rd *d, size_t n, size_t size)
{
    if (d->st != KV_OK)
        return NULL;
    if (d->a->n == d->a->cap) {
        size_t cap = d->a->cap ? d->a->cap * 2 : 64;
        void **nb = realloc(d->a->blocks, cap * sizeof *nb);
        if (!nb) {
            d->st = kv_fail(d->err, KV_ERR_NOMEM, "%s: out of memory", d->name);
            return NULL;
        }
        d->a->blocks = nb;
        d->a->cap = cap;
    }
    void *p = calloc(n ? n : 1, size);
    if (!p) {
        d->st = kv_fail(d->err, KV_ERR_NOMEM, "%s: out of memory", d->name);
        return NULL;
    }
    d->a->blocks[d->a->n++] = p;
    return p;
}

static const char *adup(rd *d, const char *s)
{
    size_t n = strlen(s);
    char *p = aalloc(d, n + 1, 1);
    if (!p)
        return "";
    memcpy(p, s, n + 1);
    return p;
}

static void bad(rd *d, const char *path, const char *key, const char *what)
{
    if (d->st == KV_OK)
        d->st = kv_fail(d->err, KV_ERR_INPUT, "%s: field %s%s%s: %s", d->name, path,
                        *path && *key ? "." : "", key, what);
}

/* ---- typed getters: absent or null -> default; wrong type -> error ---- */

static const cJSON *field(const cJSON *o, const char *key)
{
    const cJSON *v = o ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
    return (v && !cJSON_IsNull(v)) ? v : NULL;
}

static double get_num(rd *d, const cJSON *o, const char *key, const char *path)
{
    const cJSON *v = field(o, key);
    if (!v)
        return NAN;
    /* An estimate object where a number is expected: its value (writers
     * may upgrade a number to an estimate; readers keep working). */
    if (cJSON_IsObject(v)) {
        const cJSON *val = cJSON_GetObjectItemCaseSensitive(v, "value");
        if (!val || cJSON_IsNull(val))
            return NAN;
        v = val;
    }
    if (!cJSON_IsNumber(v)) {
        bad(d, path, key, "expected a number");
        return NAN;
    }
    return isfinite(v->valuedouble) ? v->valuedouble : NAN;
}

static long get_long(rd *d, const cJSON *o, const char *key, const char *path)
{
    double x = get_num(d, o, key, path);
    if (isnan(x))
        return -1;
    if (fabs(x) > 9.0e15) {
        bad(d, path, key, "number out of range");
        return -1;
    }
    return (long)llround(x);
}

static int get_bool(rd *d, const cJSON *o, const char *key, const char *path)
{
    const cJSON *v = field(o, key);
    if (!v)
        return 0;
    if (!cJSON_IsBool(v)) {
        bad(d, path, key, "expected true or false");
        return 0;
    }
    return cJSON_IsTrue(v) ? 1 : 0;
}

/* Strings; numbers are accepted and printed (a seed may be either). */
static const char *get_str(rd *d, const cJSON *o, const char *key, const char *path)
{
    const cJSON *v = field(o, key);
    if (!v)
        return "";
    if (cJSON_IsString(v))
        return adup(d, v->valuestring);
    if (cJSON_IsNumber(v)) {
        char b[64];
        if (v->valuedouble == floor(v->valuedouble) && fabs(v->valuedouble) < 1e18)
            snprintf(b, sizeof b, "%.0f", v->valuedouble);
        else
            snprintf(b, sizeof b, "%.17g", v->valuedouble);
        return adup(d, b);
    }
    bad(d, path, key, "expected a string");
    return "";
}

static const cJSON *get_obj(rd *d, const cJSON *o, const char *key, const char *path)
{
    const cJSON *v = field(o, key);
    if (v && !cJSON_IsObject(v)) {
        bad(d, path, key, "expected an object");
        return NULL;
    }
    return v;
}

/* An array's items; *n = 0 and NULL when absent. */
static const cJSON *get_arr(rd *d, const cJSON *o, const char *key, const char *path, size_t *n)
{
    *n = 0;
    const cJSON *v = field(o, key);
    if (!v)
        return NULL;
    if (!cJSON_IsArray(v)) {
        bad(d, path, key, "expected an array");
        return NULL;
    }
    *n = (size_t)cJSON_GetArraySize(v);
    return v;
}

static void sub(char *out, size_t cap, const char *path, const char *key, long idx)
{
    int k = idx >= 0 ? snprintf(out, cap, "%s%s%s[%ld]", path, *path ? "." : "", key, idx)
                     : snprintf(out, cap, "%s%s%s", path, *path ? "." : "", key);
    if (k < 0 || (size_t)k >= cap)
        out[cap - 1] = '\0'; /* a deep path is cut; messages stay readable */
}

/* ---- schema objects ---- */

static rr_est read_est_obj(rd *d, const cJSON *v, const char *path)
{
    rr_est e = {0, {NAN, NAN, NAN, false, NAN, 0}, "", ""};
    if (!v)
        return e;
    e.present = 1;
    e.est.value = get_num(d, v, "value", path);
    size_t nci = 0;
    const cJSON *ci = get_arr(d, v, "ci", path, &nci);
    if (ci && nci == 2 && cJSON_IsNumber(cJSON_GetArrayItem(ci, 0)) &&
        cJSON_IsNumber(cJSON_GetArrayItem(ci, 1))) {
        e.est.lo = cJSON_GetArrayItem(ci, 0)->valuedouble;
        e.est.hi = cJSON_GetArrayItem(ci, 1)->valuedouble;
        e.est.has_ci = true;
    } else if (ci) {
        bad(d, path, "ci", "expected [low, high] or null");
    }
    e.est.level = get_num(d, v, "level", path);
    long n = get_long(d, v, "n", path); /* -1 when absent */
    e.est.n = n > 0 ? (size_t)n : 0;
    e.method = get_str(d, v, "method", path);
    e.note = get_str(d, v, "note", path);
    return e;
}

static rr_est get_est(rd *d, const cJSON *o, const char *key, const char *path)
{
    char p[256];
    sub(p, sizeof p, path, key, -1);
    return read_est_obj(d, get_obj(d, o, key, path), p);
}

static int read_mode(rd *d, const cJSON *o, const char *key, const char *path)
{
    const char *m = get_str(d, o, key, path);
    if (strcmp(m, "warm") == 0)
        return 1;
    if (strcmp(m, "cold") != 0)
        bad(d, path, key, "expected \"cold\" or \"warm\"");
    return 0;
}

/* "stalls" is optional (results written before it existed have none). */
static void read_cell_stalls(rd *d, const cJSON *o, const char *p, rr_cell *c)
{
    c->stalls = 0;
    c->stall_max_ratio = NAN;
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(o, "stalls");
    if (!st || cJSON_IsNull(st))
        return;
    char sp[256];
    sub(sp, sizeof sp, p, "stalls", -1);
    c->stalls = get_long(d, st, "count", sp);
    size_t n = 0;
    const cJSON *tr = get_arr(d, st, "trials", sp, &n), *it;
    cJSON_ArrayForEach(it, tr)
    {
        double r = get_num(d, it, "ratio_to_median", sp);
        if (isfinite(r) && !(r <= c->stall_max_ratio))
            c->stall_max_ratio = r;
    }
}

static void read_cell(rd *d, const cJSON *o, const char *p, rr_cell *c)
{
    c->system_prompt_tokens = get_long(d, o, "system_prompt_tokens", p);
    c->query_tokens = get_long(d, o, "query_tokens", p);
    c->query_count = get_long(d, o, "query_count", p);
    c->turn = get_long(d, o, "turn", p);
    c->warm = read_mode(d, o, "cache_mode", p);
    c->n = get_long(d, o, "n", p);
    c->mean = get_est(d, o, "mean", p);
    c->median = get_est(d, o, "median", p);
    c->typical = get_est(d, o, "typical_ttft_ms", p);
    c->p90 = get_num(d, o, "p90", p);
    c->p99 = get_num(d, o, "p99", p);
    c->mad = get_num(d, o, "mad", p);
    c->iqr = get_num(d, o, "iqr", p);
    c->cv = get_num(d, o, "cv", p);
    c->min = get_num(d, o, "min", p);
    c->max = get_num(d, o, "max", p);
    c->q1 = get_num(d, o, "q1", p);
    c->q3 = get_num(d, o, "q3", p);
    c->whisker_low = get_num(d, o, "whisker_low", p);
    c->whisker_high = get_num(d, o, "whisker_high", p);
    c->lag1 = get_num(d, o, "lag1_autocorrelation", p);
    c->contaminated = get_long(d, o, "contaminated", p);
    char op[256];
    sub(op, sizeof op, p, "outliers", -1);
    const cJSON *out = get_obj(d, o, "outliers", p);
    c->mild = get_long(d, out, "mild", op);
    c->severe = get_long(d, out, "severe", op);
    size_t n = 0;
    const cJSON *vals = get_arr(d, out, "values", op, &n);
    c->outliers = n ? aalloc(d, n, sizeof *c->outliers) : NULL;
    const cJSON *it;
    size_t i = 0;
    cJSON_ArrayForEach(it, vals)
    {
        if (!c->outliers)
            break;
        if (!cJSON_IsNumber(it)) {
            bad(d, op, "values", "expected numbers");
            break;
        }
        c->outliers[i++] = it->valuedouble;
    }
    c->n_outliers = i;
    read_cell_stalls(d, o, p, c);
}

static void read_point(rd *d, const cJSON *o, const char *p, rr_point *q)
{
    q->x = get_num(d, o, "x", p);
    q->y = get_num(d, o, "y", p);
    if (d->st == KV_OK && (isnan(q->x) || isnan(q->y)))
        bad(d, p, isnan(q->x) ? "x" : "y", "required number is missing");
    q->new_tokens = get_num(d, o, "new_tokens", p);
    q->cached = get_num(d, o, "cached", p);
    q->server_prefill = get_num(d, o, "server_prefill_ms", p);
    q->warm = read_mode(d, o, "mode", p);
    q->system_prompt_tokens = get_long(d, o, "system_prompt_tokens", p);
    q->query_tokens = get_long(d, o, "query_tokens", p);
    q->query_count = get_long(d, o, "query_count", p);
    q->turn = get_long(d, o, "turn", p);
    q->order = get_long(d, o, "order", p);
    q->contaminated = get_bool(d, o, "contaminated", p);
}

static void read_fit(rd *d, const cJSON *o, const char *p, rr_fit *f)
{
    f->model = get_str(d, o, "model", p);
    size_t n = 0;
    const cJSON *terms = get_arr(d, o, "terms", p, &n);
    kv_buf b = {0};
    const cJSON *it;
    cJSON_ArrayForEach(it, terms)
    {
        if (cJSON_IsString(it) &&
            kv_buf_appendf(&b, "%s%s", b.len ? " + " : "", it->valuestring) != KV_OK)
            d->st = kv_fail(d->err, KV_ERR_NOMEM, "%s: out of memory", d->name);
    }
    f->terms = adup(d, b.data ? b.data : "");
    kv_buf_free(&b);
    const cJSON *coefs = get_arr(d, o, "coefficients", p, &n);
    f->coefs = n ? aalloc(d, n, sizeof *f->coefs) : NULL;
    size_t i = 0;
    cJSON_ArrayForEach(it, coefs)
    {
        if (!f->coefs)
            break;
        char cp[256];
        sub(cp, sizeof cp, p, "coefficients", (long)i);
        rr_coef *c = &f->coefs[i++];
        c->name = get_str(d, it, "name", cp);
        c->unit = get_str(d, it, "unit", cp);
        c->value = get_num(d, it, "value", cp);
        c->sd = get_num(d, it, "sd", cp);
        rr_est ci = read_est_obj(d, it, cp); /* same "ci" shape */
        c->lo = ci.est.lo;
        c->hi = ci.est.hi;
    }
    f->n_coefs = i;
    f->r_squared = get_num(d, o, "r_squared", p);
    f->residual_sd = get_num(d, o, "residual_sd", p);
    f->rss = get_num(d, o, "rss", p);
    f->df = get_num(d, o, "df", p);
    f->aicc = get_num(d, o, "aicc", p);
    const cJSON *ra = cJSON_GetObjectItemCaseSensitive(o, "robust_aic"); /* optional */
    f->robust_aic = cJSON_IsNumber(ra) ? ra->valuedouble : NAN;
    f->weighted = get_bool(d, o, "weighted", p);
    f->heteroscedasticity_p = get_num(d, o, "heteroscedasticity_p", p);
    f->normality_p = get_num(d, o, "normality_p", p);
    f->lag1 = get_num(d, o, "lag1_autocorrelation", p);
}

/* model.rejected[]: "model: reason" lines. */
static void read_rejected(rd *d, const cJSON *o, const char *p, rr_model *m)
{
    size_t n = 0, i = 0;
    const cJSON *it;
    const cJSON *rej = get_arr(d, o, "rejected", p, &n);
    m->rejected = n ? aalloc(d, n, sizeof *m->rejected) : NULL;
    cJSON_ArrayForEach(it, rej)
    {
        if (!m->rejected)
            break;
        char rp[256], b[512];
        sub(rp, sizeof rp, p, "rejected", (long)i);
        snprintf(b, sizeof b, "%s: %s", get_str(d, it, "model", rp), get_str(d, it, "reason", rp));
        m->rejected[i++] = adup(d, b);
    }
    m->n_rejected = i;
}

static void read_fits(rd *d, const cJSON *o, const char *p, rr_model *m)
{
    size_t n = 0, i = 0;
    const cJSON *it;
    const cJSON *fits = get_arr(d, o, "fits", p, &n);
    m->fits = n ? aalloc(d, n, sizeof *m->fits) : NULL;
    cJSON_ArrayForEach(it, fits)
    {
        if (!m->fits)
            break;
        char fp[256];
        sub(fp, sizeof fp, p, "fits", (long)i);
        read_fit(d, it, fp, &m->fits[i++]);
    }
    m->n_fits = i;
}

/* model.curve[]: the fitted mean with its confidence and prediction bands. */
static void read_curve(rd *d, const cJSON *o, const char *p, rr_model *m)
{
    size_t n = 0, i = 0;
    const cJSON *it;
    const cJSON *curve = get_arr(d, o, "curve", p, &n);
    m->curve = n ? aalloc(d, n, sizeof *m->curve) : NULL;
    cJSON_ArrayForEach(it, curve)
    {
        if (!m->curve)
            break;
        char cp[256];
        sub(cp, sizeof cp, p, "curve", (long)i);
        rr_curve_pt *c = &m->curve[i++];
        c->x = get_num(d, it, "x", cp);
        c->mean = get_num(d, it, "mean", cp);
        rr_est ci = read_est_obj(d, it, cp);
        c->ci_lo = ci.est.lo;
        c->ci_hi = ci.est.hi;
        size_t npi = 0;
        const cJSON *pi = get_arr(d, it, "pi", cp, &npi);
        c->pi_lo = c->pi_hi = NAN;
        if (pi && npi == 2 && cJSON_IsNumber(cJSON_GetArrayItem(pi, 0)) &&
            cJSON_IsNumber(cJSON_GetArrayItem(pi, 1))) {
            c->pi_lo = cJSON_GetArrayItem(pi, 0)->valuedouble;
            c->pi_hi = cJSON_GetArrayItem(pi, 1)->valuedouble;
        }
    }
    m->n_curve = i;
}

static void read_residuals(rd *d, const cJSON *o, const char *p, rr_model *m)
{
    size_t n = 0, i = 0;
    const cJSON *it;
    const cJSON *res = get_arr(d, o, "residuals", p, &n);
    m->residuals = n ? aalloc(d, n, sizeof *m->residuals) : NULL;
    cJSON_ArrayForEach(it, res)
    {
        if (!m->residuals)
            break;
        char rp[256];
        sub(rp, sizeof rp, p, "residuals", (long)i);
        rr_resid *r = &m->residuals[i++];
        r->x = get_num(d, it, "x", rp);
        r->order = get_num(d, it, "order", rp);
        r->residual = get_num(d, it, "residual", rp);
    }
    m->n_residuals = i;
}

static void read_model(rd *d, const cJSON *models, const char *key, const char *path, rr_model *m)
{
    char p[256], notekey[96];
    sub(p, sizeof p, path, key, -1);
    snprintf(notekey, sizeof notekey, "%s_note", key);
    const cJSON *o = get_obj(d, models, key, path);
    m->note = get_str(d, models, notekey, path);
    m->prefill_ms_per_token = read_est_obj(d, NULL, p);
    m->prefill_tokens_per_second = m->prefill_ms_per_token;
    m->y = m->x = m->chosen = m->why = "";
    if (!o)
        return;
    m->present = 1;
    if (!*m->note)
        m->note = get_str(d, o, "note", p);
    m->y = get_str(d, o, "y", p);
    m->x = get_str(d, o, "x", p);
    m->n = get_long(d, o, "n", p);
    m->chosen = get_str(d, o, "chosen", p);
    m->why = get_str(d, o, "why", p);
    read_rejected(d, o, p, m);
    read_fits(d, o, p, m);
    m->prefill_ms_per_token = get_est(d, o, "prefill_ms_per_token", p);
    m->prefill_tokens_per_second = get_est(d, o, "prefill_tokens_per_second", p);
    read_curve(d, o, p, m);
    read_residuals(d, o, p, m);
}

static rr_cum *read_cum(rd *d, const cJSON *o, const char *key, const char *path, size_t *n)
{
    const cJSON *arr = get_arr(d, o, key, path, n);
    rr_cum *c = *n ? aalloc(d, *n, sizeof *c) : NULL;
    size_t i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        if (!c)
            break;
        char p[256];
        sub(p, sizeof p, path, key, (long)i);
        c[i].query = get_long(d, it, "query", p);
        c[i].estimate = get_est(d, it, "estimate", p);
        i++;
    }
    *n = i;
    return c;
}

static void read_session(rd *d, const cJSON *o, const char *p, rr_session *s)
{
    s->query_count = get_long(d, o, "query_count", p);
    s->system_prompt_tokens = get_long(d, o, "system_prompt_tokens", p);
    s->query_tokens = get_long(d, o, "query_tokens", p);
    s->cold_total_ms = get_est(d, o, "cold_total_ms", p);
    s->warm_total_ms = get_est(d, o, "warm_total_ms", p);
    s->measured_speedup = get_est(d, o, "measured_speedup", p);
    s->measured_speedup_means = get_est(d, o, "measured_speedup_means", p);
    s->projected_cold_total_ms = get_est(d, o, "projected_cold_total_ms", p);
    s->projected_warm_total_ms = get_est(d, o, "projected_warm_total_ms", p);
    s->projected_speedup = get_est(d, o, "projected_speedup", p);
    s->theoretical_speedup = get_num(d, o, "theoretical_speedup", p);
    char cp[256], pp[256];
    sub(cp, sizeof cp, p, "cumulative", -1);
    sub(pp, sizeof pp, p, "projected_cumulative", -1);
    const cJSON *cum = get_obj(d, o, "cumulative", p);
    const cJSON *proj = get_obj(d, o, "projected_cumulative", p);
    s->cum_cold = read_cum(d, cum, "cold", cp, &s->n_cum_cold);
    s->cum_warm = read_cum(d, cum, "warm", cp, &s->n_cum_warm);
    s->proj_cold = read_cum(d, proj, "cold", pp, &s->n_proj_cold);
    s->proj_warm = read_cum(d, proj, "warm", pp, &s->n_proj_warm);
}

/* Allocates an array for key's items and calls fn on each. */
#define READ_ARRAY(d, o, key, path, arr, count, fn)                                                \
    do {                                                                                           \
        size_t n_ = 0;                                                                             \
        const cJSON *a_ = get_arr(d, o, key, path, &n_);                                           \
        (arr) = n_ ? aalloc(d, n_, sizeof *(arr)) : NULL;                                          \
        size_t i_ = 0;                                                                             \
        const cJSON *it_;                                                                          \
        cJSON_ArrayForEach(it_, a_)                                                                \
        {                                                                                          \
            if (!(arr) || d->st != KV_OK)                                                          \
                break;                                                                             \
            char p_[256];                                                                          \
            sub(p_, sizeof p_, path, key, (long)i_);                                               \
            fn(d, it_, p_, &(arr)[i_]);                                                            \
            i_++;                                                                                  \
        }                                                                                          \
        (count) = i_;                                                                              \
    } while (0)

static void read_speedup(rd *d, const cJSON *o, const char *p, rr_speedup *s)
{
    s->system_prompt_tokens = get_long(d, o, "system_prompt_tokens", p);
    s->query_tokens = get_long(d, o, "query_tokens", p);
    s->speedup = get_est(d, o, "speedup", p);
    s->speedup_gm = get_est(d, o, "speedup_geometric_means", p);
    s->speedup_means = get_est(d, o, "speedup_means", p);
    s->test = get_str(d, o, "test", p);
    s->p_value = get_num(d, o, "p_value", p);
    s->p_holm = get_num(d, o, "p_holm", p);
    s->hodges_lehmann_ms = get_est(d, o, "hodges_lehmann_ms", p);
}

static void read_overhead(rd *d, const cJSON *o, const char *p, rr_overhead *s)
{
    s->system_prompt_tokens = get_long(d, o, "system_prompt_tokens", p);
    s->query_tokens = get_long(d, o, "query_tokens", p);
    s->estimate = get_est(d, o, "estimate", p);
    s->estimate_means = get_est(d, o, "estimate_means", p);
    const cJSON *fm = field(o, "from_model");
    if (fm && !cJSON_IsBool(fm))
        bad(d, p, "from_model", "expected true or false");
    s->from_model = fm && cJSON_IsTrue(fm);
}

static void read_target(rd *d, const cJSON *o, const char *p, rr_target *t)
{
    t->name = get_str(d, o, "name", p);
    t->dialect = get_str(d, o, "dialect", p);
    t->model = get_str(d, o, "model", p);
    t->simulated = get_bool(d, o, "simulated", p);
    READ_ARRAY(d, o, "cells", p, t->cells, t->n_cells, read_cell);
    READ_ARRAY(d, o, "points", p, t->points, t->n_points, read_point);
    char mp[256];
    sub(mp, sizeof mp, p, "models", -1);
    const cJSON *models = get_obj(d, o, "models", p);
    read_model(d, models, "cold_ttft", mp, &t->cold_ttft);
    read_model(d, models, "warm_ttft", mp, &t->warm_ttft);
    read_model(d, models, "cold_server_prefill", mp, &t->cold_server_prefill);
    READ_ARRAY(d, o, "speedup", p, t->speedup, t->n_speedup, read_speedup);
    READ_ARRAY(d, o, "overhead_fraction", p, t->overhead, t->n_overhead, read_overhead);
    READ_ARRAY(d, o, "sessions", p, t->sessions, t->n_sessions, read_session);
}

static void read_hyp(rd *d, const cJSON *o, const char *p, rr_hypothesis *h)
{
    h->id = get_str(d, o, "id", p);
    h->description = get_str(d, o, "description", p);
    h->metric = get_str(d, o, "metric", p);
    h->target = get_str(d, o, "target", p);
    h->criterion = get_str(d, o, "criterion", p);
    h->min = get_num(d, o, "min", p);
    h->max = get_num(d, o, "max", p);
    h->estimate = get_est(d, o, "estimate", p);
    h->verdict = get_str(d, o, "verdict", p);
    h->reason = get_str(d, o, "reason", p);
}

static void read_question(rd *d, const cJSON *o, const char *p, rr_question *q)
{
    q->id = get_long(d, o, "id", p);
    q->question = get_str(d, o, "question", p);
    q->answer = get_str(d, o, "answer", p);
    q->estimate = get_est(d, o, "estimate", p);
}

static void read_comparison(rd *d, const cJSON *o, const char *p, rr_comparison *c)
{
    c->target = get_str(d, o, "target", p);
    c->cold_ttft_ms = get_est(d, o, "cold_ttft_ms", p);
    c->warm_ttft_ms = get_est(d, o, "warm_ttft_ms", p);
    c->speedup = get_est(d, o, "speedup", p);
    c->session_total_ms = get_est(d, o, "session_total_ms", p);
}

static void read_failure(rd *d, const cJSON *o, const char *p, rr_failure *f)
{
    f->trial = get_str(d, o, "trial", p);
    f->target = get_str(d, o, "target", p);
    f->reason = get_str(d, o, "reason", p);
    f->attempts = get_long(d, o, "attempts", p);
}

static void read_env_target(rd *d, const cJSON *o, const char *p, rr_env_target *e)
{
    e->name = get_str(d, o, "name", p);
    e->base_url = get_str(d, o, "base_url", p);
    e->dialect = get_str(d, o, "dialect", p);
    e->model = get_str(d, o, "model", p);
    e->server_version = get_str(d, o, "server_version", p);
    e->flags = get_str(d, o, "flags", p);
    e->simulated = get_bool(d, o, "simulated", p);
    e->time_scale = NAN;
    /* The reference server reports its time scale among its probed flags. */
    cJSON *flags = e->flags ? cJSON_Parse(e->flags) : NULL;
    const cJSON *sim = cJSON_GetObjectItemCaseSensitive(flags, "kvproof_simulation");
    const cJSON *ts = cJSON_GetObjectItemCaseSensitive(sim, "time_scale");
    if (cJSON_IsNumber(ts) && ts->valuedouble > 0)
        e->time_scale = ts->valuedouble;
    cJSON_Delete(flags);
}

const char *const results_read_warm_class_keys[RR_WARM_CLASSES] = {
    "full", "restored", "partial", "miss", "inferred_hit", "inferred_miss"};

static void read_warm_group(rd *d, const cJSON *o, const char *p, rr_warm_group *g)
{
    g->target = get_str(d, o, "target", p);
    g->agents = get_long(d, o, "agents", p);
    g->system_prompt_tokens = get_long(d, o, "system_prompt_tokens", p);
    g->requests = get_long(d, o, "requests", p);
    g->failed = get_long(d, o, "failed", p);
    g->after_resume = get_long(d, o, "after_resume", p);
    g->scored = get_long(d, o, "scored", p);
    g->hits = get_long(d, o, "hits", p);
    g->inferred = get_long(d, o, "inferred", p);
    g->full_slot_unknown = get_long(d, o, "full_slot_unknown", p);
    char cp[256];
    sub(cp, sizeof cp, p, "classes", -1);
    const cJSON *cl = get_obj(d, o, "classes", p);
    for (int i = 0; i < RR_WARM_CLASSES; i++)
        g->classes[i] = get_long(d, cl, results_read_warm_class_keys[i], cp);
    g->hit_rate = get_est(d, o, "hit_rate", p);
    g->median_ttft_ms = get_est(d, o, "median_ttft_ms", p);
    g->hit_ttft_ms = get_est(d, o, "hit_ttft_ms", p);
    g->miss_ttft_ms = get_est(d, o, "miss_ttft_ms", p);
    g->saving_ms = get_est(d, o, "saving_ms", p);
    g->session_with_cache_s = get_est(d, o, "session_with_cache_s", p);
    g->session_without_cache_s = get_est(d, o, "session_without_cache_s", p);
}

static void read_warm_cap(rd *d, const cJSON *o, const char *p, rr_warm_capacity *c)
{
    c->target = get_str(d, o, "target", p);
    c->system_prompt_tokens = get_long(d, o, "system_prompt_tokens", p);
    c->smallest_swept = get_long(d, o, "smallest_swept", p);
    c->largest_swept = get_long(d, o, "largest_swept", p);
    c->capacity = get_long(d, o, "warm_capacity", p);
    c->low = get_long(d, o, "warm_capacity_low", p);
    c->high = get_long(d, o, "warm_capacity_high", p);
    c->high_open = get_bool(d, o, "warm_capacity_high_open", p);
    c->cold_from = get_long(d, o, "cold_from", p);
    c->cold_low = get_long(d, o, "cold_from_low", p);
    c->cold_high = get_long(d, o, "cold_from_high", p);
    c->summary = get_str(d, o, "summary", p);
}

static void read_contention(rd *d, const cJSON *root, rr_contention *k)
{
    const cJSON *o = get_obj(d, root, "contention", "");
    if (!o)
        return;
    const char *p = "contention";
    k->present = 1;
    k->pattern = get_str(d, o, "pattern", p);
    k->concurrency = get_long(d, o, "concurrency", p);
    k->hit_threshold = get_num(d, o, "hit_rate_threshold", p);
    k->cold_threshold = get_num(d, o, "cold_rate_threshold", p);
    k->session_requests = get_long(d, o, "session_requests", p);
    k->requests_planned = get_long(d, o, "requests_planned", p);
    k->requests_journaled = get_long(d, o, "requests_journaled", p);
    READ_ARRAY(d, o, "groups", p, k->groups, k->n_groups, read_warm_group);
    READ_ARRAY(d, o, "capacity", p, k->caps, k->n_caps, read_warm_cap);
    k->summary = get_str(d, o, "summary", p);
}

/* ---- the schema check (stats/results_schema.h), before any number is read ---- */

static const rs_key SCHEMA[] = {RESULTS_KEYS(RS_KEY_ROW)};

static int type_ok(const cJSON *v, rs_type t)
{
    switch (t) {
    case RS_NUM:
        return cJSON_IsNumber(v);
    case RS_INT:
        return cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble);
    case RS_STR:
        return cJSON_IsString(v);
    case RS_SEED:
        return cJSON_IsString(v) || cJSON_IsNumber(v);
    case RS_BOOL:
        return cJSON_IsBool(v);
    case RS_PAIR:
        return cJSON_IsArray(v) && cJSON_GetArraySize(v) == 2 &&
               cJSON_IsNumber(cJSON_GetArrayItem(v, 0)) && cJSON_IsNumber(cJSON_GetArrayItem(v, 1));
    case RS_OBJ:
    case RS_EST:
        return cJSON_IsObject(v);
    case RS_ARR:
        return cJSON_IsArray(v);
    }
    return 0;
}

static const char *type_word(rs_type t)
{
    static const char *const w[] = {"expected a number",          "expected an integer",
                                    "expected a string",          "expected a string or a number",
                                    "expected true or false",     "expected [low, high]",
                                    "expected an object",         "expected an array",
                                    "expected an estimate object"};
    return w[t];
}

static void check_kind(rd *d, const cJSON *o, rs_kind kind, const char *path);

/* A present, non-null value of key k: its type, then its children. */
static void check_value(rd *d, const cJSON *v, const rs_key *k, const char *path)
{
    if (!type_ok(v, k->type)) {
        bad(d, path, k->key, type_word(k->type));
        return;
    }
    char p[256];
    if (k->type == RS_OBJ || k->type == RS_EST) {
        sub(p, sizeof p, path, k->key, -1);
        check_kind(d, v, k->child, p);
        return;
    }
    if (k->type != RS_ARR || k->child == RS_K_NONE)
        return;
    long i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, v)
    {
        sub(p, sizeof p, path, k->key, i++);
        if (!cJSON_IsObject(it)) {
            bad(d, p, "", "expected an object");
            return;
        }
        check_kind(d, it, k->child, p);
        if (d->st != KV_OK)
            return;
    }
}

static void check_kind(rd *d, const cJSON *o, rs_kind kind, const char *path)
{
    int has_note = field(o, "note") != NULL;
    for (size_t i = 0; i < sizeof SCHEMA / sizeof SCHEMA[0] && d->st == KV_OK; i++) {
        const rs_key *k = &SCHEMA[i];
        if (k->kind != kind)
            continue;
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k->key);
        int req = (k->flags & RS_REQ) || ((k->flags & RS_REQN) && !has_note);
        if (!v) {
            if (req)
                bad(d, path, k->key, "required key is missing");
        } else if (cJSON_IsNull(v)) {
            if (k->flags & RS_NN)
                bad(d, path, k->key, "must not be null");
        } else {
            check_value(d, v, k, path);
        }
    }
}

/* Format and major version first (their errors say what the file is), then
 * every key of the table. */
static void check_schema(rd *d, const cJSON *root)
{
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(root, "format");
    if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, RESULTS_FORMAT) != 0) {
        bad(d, "", "format", "expected \"" RESULTS_FORMAT "\" (is this a results.json?)");
        return;
    }
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(root, "version");
    if (!cJSON_IsNumber(ver) || ver->valuedouble != floor(ver->valuedouble)) {
        bad(d, "", "version", "expected an integer major version");
        return;
    }
    if (ver->valuedouble != RESULTS_VERSION_MAJOR) {
        char why[160];
        snprintf(why, sizeof why, "major version %.17g is not one this kvproof reads (it reads %d)",
                 ver->valuedouble, RESULTS_VERSION_MAJOR);
        bad(d, "", "version", why);
        return;
    }
    check_kind(d, root, RS_K_TOP, "");
}

static void read_top(rd *d, const cJSON *root, rr_results *r)
{
    r->version = get_long(d, root, "version", "");
    r->simulated = get_bool(d, root, "simulated", "");
    r->partial = get_bool(d, root, "partial", "");
    const cJSON *src = get_obj(d, root, "source", "");
    r->journal = get_str(d, src, "journal", "source");
    r->spec_name = get_str(d, src, "spec_name", "source");
    r->spec_path = get_str(d, src, "spec_path", "source");
    r->spec_hash = get_str(d, src, "spec_hash", "source");
    r->seed = get_str(d, src, "seed", "source");
    r->kvproof_version = get_str(d, src, "kvproof_version", "source");
    r->run_date = get_str(d, src, "run_date", "source");
    r->confidence_level = get_num(d, root, "confidence_level", "");
    if (isnan(r->confidence_level))
        r->confidence_level = 0.95;
    const cJSON *m = get_obj(d, root, "method", "");
    r->order = get_str(d, m, "order", "method");
    r->method_seed = get_str(d, m, "seed", "method");
    r->repetitions = get_long(d, m, "repetitions", "method");
    r->warmup_requests = get_long(d, m, "warmup_requests", "method");
    size_t n = 0;
    const cJSON *modes = get_arr(d, m, "cache_modes", "method", &n);
    kv_buf b = {0};
    const cJSON *it;
    cJSON_ArrayForEach(it, modes)
    {
        if (cJSON_IsString(it) &&
            kv_buf_appendf(&b, "%s%s", b.len ? ", " : "", it->valuestring) != KV_OK)
            d->st = kv_fail(d->err, KV_ERR_NOMEM, "%s: out of memory", d->name);
    }
    r->cache_modes = adup(d, b.data ? b.data : "");
    kv_buf_free(&b);
    r->ttft_definition = get_str(d, m, "ttft_definition", "method");
    r->exclusions = get_str(d, m, "exclusions", "method");
    r->bootstrap_resamples = get_long(d, m, "bootstrap_resamples", "method");
    r->bootstrap_seed = get_str(d, m, "bootstrap_seed", "method");
    const cJSON *env = get_obj(d, root, "environment", "");
    const cJSON *cl = get_obj(d, env, "client", "environment");
    r->client_host = get_str(d, cl, "host", "environment.client");
    r->client_cpu = get_str(d, cl, "cpu", "environment.client");
    r->client_os = get_str(d, cl, "os", "environment.client");
    r->client_version = get_str(d, cl, "kvproof_version", "environment.client");
    READ_ARRAY(d, env, "targets", "environment", r->env_targets, r->n_env_targets, read_env_target);
    const cJSON *c = get_obj(d, root, "counts", "");
    r->planned = get_long(d, c, "planned", "counts");
    r->completed = get_long(d, c, "completed", "counts");
    r->failed = get_long(d, c, "failed", "counts");
    r->contaminated = get_long(d, c, "contaminated", "counts");
    r->inferred = get_long(d, c, "inferred", "counts");
    r->warmup = get_long(d, c, "warmup", "counts");
    r->failures_truncated = get_bool(d, c, "failures_truncated", "counts");
    READ_ARRAY(d, c, "failures", "counts", r->failures, r->n_failures, read_failure);
    READ_ARRAY(d, root, "targets", "", r->targets, r->n_targets, read_target);
    if (d->st == KV_OK && r->n_targets == 0)
        bad(d, "", "targets", "at least one target result is required");
    READ_ARRAY(d, root, "hypotheses", "", r->hypotheses, r->n_hypotheses, read_hyp);
    const cJSON *v = get_obj(d, root, "verdict", "");
    r->summary = get_str(d, v, "summary", "verdict");
    r->recommendation = get_str(d, v, "recommendation", "verdict");
    r->v_overhead = get_est(d, v, "overhead_fraction", "verdict");
    r->v_speedup = get_est(d, v, "speedup", "verdict");
    r->v_prefill_ms = get_est(d, v, "prefill_ms_per_token", "verdict");
    r->v_prefill_tps = get_est(d, v, "prefill_tokens_per_second", "verdict");
    r->v_system_prompt_tokens = get_long(d, v, "system_prompt_tokens", "verdict");
    READ_ARRAY(d, root, "questions", "", r->questions, r->n_questions, read_question);
    READ_ARRAY(d, root, "comparison", "", r->comparison, r->n_comparison, read_comparison);
    read_contention(d, root, &r->contention);
}

/* results.json's "points_file", and the inline counts of an older file. */
static void read_points_file(rd *d, const cJSON *root, rr_results *r)
{
    const cJSON *pf = get_obj(d, root, "points_file", "");
    r->points_path = "";
    r->points_note = "";
    r->points_id = "";
    r->points_rows = -1;
    for (size_t t = 0; t < r->n_targets; t++)
        r->points_total += r->targets[t].n_points;
    if (!pf)
        return;
    const char *fmt = get_str(d, pf, "format", "points_file");
    if (d->st == KV_OK && strcmp(fmt, RESULTS_POINTS_FORMAT) != 0)
        bad(d, "points_file", "format", "not " RESULTS_POINTS_FORMAT);
    if (d->st == KV_OK && get_long(d, pf, "version", "points_file") != RESULTS_POINTS_VERSION)
        bad(d, "points_file", "version", "a points file version this kvproof does not read");
    r->points_id = get_str(d, pf, "id", "points_file");
    r->points_rows = get_long(d, pf, "rows", "points_file");
    if (d->st == KV_OK && r->points_rows < 0)
        bad(d, "points_file", "rows", "negative");
}

kv_status results_read_parse(const char *text, size_t len, const char *name, rr_results **out,
                             char *err)
{
    *out = NULL;
    rr_results *r = calloc(1, sizeof *r);
    struct rr_arena *a = calloc(1, sizeof *a);
    cJSON *root = NULL;
    rd d = {a, name, err, KV_OK};
    if (!r || !a) {
        free(r);
        free(a);
        return kv_fail(err, KV_ERR_NOMEM, "%s: out of memory", name);
    }
    r->arena = a;
    const char *end = NULL;
    root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!root) {
        int line = 1, col = 1;
        size_t off = end && end >= text ? (size_t)(end - text) : 0;
        kv_line_col(text, off, &line, &col);
        d.st = kv_fail(err, KV_ERR_INPUT, "%s:%d:%d: not valid JSON", name, line, col);
        goto out;
    }
    if (!cJSON_IsObject(root)) {
        d.st = kv_fail(err, KV_ERR_INPUT, "%s: expected a JSON object at the top level", name);
        goto out;
    }
    r->path = adup(&d, name);
    check_schema(&d, root);
    if (d.st == KV_OK)
        read_top(&d, root, r);
    if (d.st == KV_OK)
        read_points_file(&d, root, r);
out:
    cJSON_Delete(root);
    if (d.st != KV_OK) {
        results_read_free(r);
        return d.st;
    }
    *out = r;
    return KV_OK;
}

kv_status results_read_load(const char *path, rr_results **out, char *err)
{
    char *text = NULL;
    size_t len = 0;
    *out = NULL;
    kv_status st = kv_read_file(path, &text, &len, err);
    if (st != KV_OK)
        return st;
    st = results_read_parse(text, len, path, out, err);
    free(text);
    return st;
}

void results_read_free(rr_results *r)
{
    if (!r)
        return;
    if (r->arena) {
        for (size_t i = 0; i < r->arena->n; i++)
            free(r->arena->blocks[i]);
        free(r->arena->blocks);
        free(r->arena);
    }
    free(r);
}

/* ---- the points file ---- */

/* A model's residual x: its regressor's column of the row. */
static double resid_x(const rr_model *m, const points_row *q)
{
    return strcmp(m->x, "new_prompt_tokens") == 0 ? q->new_tokens : q->x;
}

static void resid_add(rr_model *m, const points_row *q, double residual)
{
    if (!m->residuals || isnan(residual))
        return;
    rr_resid *e = &m->residuals[m->n_residuals++];
    e->x = resid_x(m, q);
    e->order = (double)q->order;
    e->residual = residual;
}

static void point_from_row(rr_point *p, const points_row *q)
{
    p->x = q->x;
    p->y = q->ttft_ms;
    p->new_tokens = q->new_tokens;
    p->cached = q->cached;
    p->server_prefill = q->server_prefill_ms;
    p->warm = q->warm;
    p->system_prompt_tokens = q->system_prompt_tokens;
    p->query_tokens = q->query_tokens;
    p->query_count = q->query_count;
    p->turn = q->turn;
    p->order = q->order;
    p->contaminated = q->contaminated;
}

/* The sample's rows into each target's points and residual arrays. */
static void sample_attach(rd *d, rr_results *r, const points_sample *s)
{
    for (size_t t = 0; t < r->n_targets; t++) {
        rr_target *tg = &r->targets[t];
        size_t n = 0;
        for (size_t i = 0; i < s->n; i++)
            n += s->rows[i].target == (long)t;
        tg->points = aalloc(d, n, sizeof *tg->points);
        tg->cold_ttft.residuals = aalloc(d, n, sizeof(rr_resid));
        tg->warm_ttft.residuals = aalloc(d, n, sizeof(rr_resid));
        tg->cold_server_prefill.residuals = aalloc(d, n, sizeof(rr_resid));
        tg->n_points = tg->cold_ttft.n_residuals = tg->warm_ttft.n_residuals =
            tg->cold_server_prefill.n_residuals = 0;
        if (d->st != KV_OK)
            return;
        for (size_t i = 0; i < s->n; i++) {
            const points_row *q = &s->rows[i];
            if (q->target != (long)t)
                continue;
            point_from_row(&tg->points[tg->n_points++], q);
            resid_add(q->warm ? &tg->warm_ttft : &tg->cold_ttft, q, q->ttft_residual_ms);
            if (!q->warm)
                resid_add(&tg->cold_server_prefill, q, q->prefill_residual_ms);
        }
    }
}

kv_status results_read_load_points(rr_results *r, char *warn, char *err)
{
    if (r->points_rows < 0) /* no points file: the points are inline */
        return KV_OK;
    rd d = {r->arena, r->path, err, KV_OK};
    char path[4096], e[KV_ERRLEN] = "";
    if (results_points_path(r->path, path, sizeof path) != 0)
        return kv_fail(err, KV_ERR_INPUT, "%s: path too long", r->path);
    r->points_path = adup(&d, path);
    points_expect ex = {r->points_rows, r->points_id, (long)r->n_targets, POINTS_READ_LIMIT,
                        POINTS_READ_SEED};
    points_sample s;
    int missing = 0;
    kv_status st = points_read_file(path, &ex, &s, &missing, e);
    if (st != KV_OK && missing) {
        r->points_note = adup(&d, e);
        r->points_total = (size_t)r->points_rows;
        snprintf(warn, KV_ERRLEN,
                 "%.600s: figures drawn without points (the numbers are in %.300s)", e, r->path);
        return d.st;
    }
    if (st != KV_OK)
        return kv_fail(err, st, "%s", e);
    sample_attach(&d, r, &s);
    r->points_total = s.total;
    points_sample_free(&s);
    return d.st;
}
