/* change.c - what changed between two runs (change.h).
 *
 * Divided into: the usable values of a cell, the per-cell TTFT rows, the
 * cold slope rows, the speedup rows (from pairs of cell rows), the session
 * total rows, and compare.json.
 */
#include "stats/change.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

#include "experiments/spec.h"
#include "stats/compare.h"
#include "stats/fit.h"
#include "stats/jsonw.h"

#define CHANGE_BOOT_MIN 6       /* values per side for the bootstrap interval */
#define CHANGE_RESAMPLES 10000L /* bootstrap resamples */

const char *change_verdict(double lo, double hi, double threshold)
{
    if (!isfinite(lo) || !isfinite(hi))
        return "not computable";
    if (lo > 1 + threshold)
        return "regressed";
    if (hi < 1 - threshold)
        return "improved";
    return "no change";
}

/* ---- usable values -------------------------------------------------------- */

static const char *target_name(const journal_data *d, const trial_record *t)
{
    return t->target < d->header.n_targets && d->header.targets[t->target].name
               ? d->header.targets[t->target].name
               : t->target_name;
}

static bool usable(const trial_record *t, const trial_request *r)
{
    return t->kind == PLAN_MEASURE && r->ok && r->cache_state != TRIAL_CACHE_CONTAMINATED &&
           isfinite(r->ttft_ms) && r->ttft_ms >= 0;
}

/* The TTFTs of cell (target, sys, query, count, mode, turn) of d. */
static double *cell_values(const journal_data *d, const change_row *k, size_t *n)
{
    size_t cap = 1;
    for (size_t i = 0; i < d->n_trials; i++)
        cap += d->trials[i].n_turns;
    double *v = malloc(cap * sizeof *v);
    *n = 0;
    for (size_t i = 0; v && i < d->n_trials; i++) {
        const trial_record *t = &d->trials[i];
        if (strcmp(target_name(d, t), k->target) != 0 || t->system_prompt_tokens != k->sys ||
            t->query_tokens != k->query || t->query_count != k->count || (int)t->mode != k->mode)
            continue;
        for (size_t j = 0; j < t->n_turns; j++)
            if (usable(t, &t->turns[j]) && t->turns[j].turn == k->turn)
                v[(*n)++] = t->turns[j].ttft_ms;
    }
    return v;
}

static double mean_of(const double *v, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += v[i];
    return n ? s / (double)n : NAN;
}

static double sd_of(const double *v, size_t n)
{
    if (n < 2)
        return NAN;
    double m = mean_of(v, n), s = 0;
    for (size_t i = 0; i < n; i++)
        s += (v[i] - m) * (v[i] - m);
    return sqrt(s / (double)(n - 1));
}

static kv_status rows_push(change_result *r, const change_row *row, size_t *cap, char *err)
{
    if (r->n == *cap) {
        size_t nc = *cap ? 2 * *cap : 32;
        change_row *n = realloc(r->rows, nc * sizeof *n);
        if (!n)
            return kv_fail(err, KV_ERR_NOMEM, "out of memory");
        r->rows = n;
        *cap = nc;
    }
    r->rows[r->n++] = *row;
    return KV_OK;
}

/* ---- per-cell rows --------------------------------------------------------- */

static void cell_ratio(change_row *row, const double *va, const double *vb, double level,
                       uint64_t seed)
{
    estimate e;
    char e2[KV_ERRLEN] = "";
    double df = NAN;
    kv_status st;
    row->a = mean_of(va, row->n_a);
    row->b = mean_of(vb, row->n_b);
    row->sd_a = sd_of(va, row->n_a);
    row->sd_b = sd_of(vb, row->n_b);
    if (row->n_a >= CHANGE_BOOT_MIN && row->n_b >= CHANGE_BOOT_MIN) {
        bool percentile = false;
        st = compare_ratio_of_means(vb, row->n_b, va, row->n_a, CHANGE_RESAMPLES, seed, level, &e,
                                    &percentile, e2);
        snprintf(row->method, sizeof row->method, "ratio of means B/A, %s bootstrap, %ld resamples",
                 percentile ? "percentile" : "studentized", CHANGE_RESAMPLES);
    } else {
        st = compare_ratio_of_means_delta(vb, row->n_b, va, row->n_a, level, &e, &df, e2);
        snprintf(row->method, sizeof row->method,
                 "ratio of means B/A, delta method on the log ratio with Welch t");
    }
    row->ratio = row->lo = row->hi = NAN;
    if (st == KV_OK) {
        row->ratio = e.value;
        row->lo = e.has_ci ? e.lo : NAN;
        row->hi = e.has_ci ? e.hi : NAN;
    } else {
        snprintf(row->method, sizeof row->method, "%.150s", e2);
    }
}

/* One row per cell of a present in b (first-seen order of a). */
static kv_status cell_rows(const journal_data *a, const journal_data *b, change_result *r,
                           uint64_t seed, size_t *cap, char *err)
{
    kv_status st = KV_OK;
    for (size_t i = 0; st == KV_OK && i < a->n_trials; i++) {
        const trial_record *t = &a->trials[i];
        for (size_t j = 0; st == KV_OK && j < t->n_turns; j++) {
            change_row k = {.kind = CHANGE_CELL_TTFT,
                            .sys = t->system_prompt_tokens,
                            .query = t->query_tokens,
                            .count = t->query_count,
                            .turn = t->turns[j].turn,
                            .mode = (int)t->mode};
            snprintf(k.target, sizeof k.target, "%s", target_name(a, t));
            bool seen = !usable(t, &t->turns[j]);
            for (size_t m = 0; !seen && m < r->n; m++) {
                const change_row *o = &r->rows[m];
                seen = strcmp(o->target, k.target) == 0 && o->sys == k.sys && o->query == k.query &&
                       o->count == k.count && o->turn == k.turn && o->mode == k.mode;
            }
            if (seen)
                continue;
            double *va = cell_values(a, &k, &k.n_a), *vb = cell_values(b, &k, &k.n_b);
            if (!va || !vb)
                st = kv_fail(err, KV_ERR_NOMEM, "out of memory");
            else if (k.n_b > 0) {
                cell_ratio(&k, va, vb, r->level, seed + r->n);
                k.verdict = change_verdict(k.lo, k.hi, r->threshold);
                st = rows_push(r, &k, cap, err);
            }
            free(va);
            free(vb);
        }
    }
    return st;
}

/* ---- cold slope rows --------------------------------------------------------- */

/* The linear fit of one target's cold TTFT on prompt tokens in d. */
static bool cold_fit(const journal_data *d, const char *target, double level, fit_result *f,
                     size_t *n)
{
    size_t cap = 1;
    for (size_t i = 0; i < d->n_trials; i++)
        cap += d->trials[i].n_turns;
    double *x = malloc(cap * sizeof *x), *y = malloc(cap * sizeof *y);
    *n = 0;
    for (size_t i = 0; x && y && i < d->n_trials; i++) {
        const trial_record *t = &d->trials[i];
        if (t->mode == SPEC_WARM || strcmp(target_name(d, t), target) != 0)
            continue;
        for (size_t j = 0; j < t->n_turns; j++)
            if (usable(t, &t->turns[j]) && t->turns[j].prompt_tokens >= 0) {
                x[*n] = (double)t->turns[j].prompt_tokens;
                y[(*n)++] = t->turns[j].ttft_ms;
            }
    }
    const double *cols[1] = {x};
    fit_input in = {cols, 1, y, NULL, *n, false};
    char e2[KV_ERRLEN] = "";
    bool ok = x && y && *n > 2 && fit_model(&in, FIT_LINEAR, 1, level, f, e2) == KV_OK;
    free(x);
    free(y);
    return ok && f->coef[1] > 0;
}

static kv_status slope_row(const journal_data *a, const journal_data *b, const char *target,
                           change_result *r, size_t *cap, char *err)
{
    change_row row = {
        .kind = CHANGE_COLD_SLOPE, .sys = -1, .query = -1, .count = -1, .turn = -1, .mode = -1};
    snprintf(row.target, sizeof row.target, "%s", target);
    fit_result fa, fb;
    bool ok_a = cold_fit(a, target, r->level, &fa, &row.n_a);
    bool ok_b = cold_fit(b, target, r->level, &fb, &row.n_b);
    if (row.n_a == 0 || row.n_b == 0)
        return KV_OK; /* no cold requests on one side: nothing to compare */
    row.a = ok_a ? fa.coef[1] : NAN;
    row.b = ok_b ? fb.coef[1] : NAN;
    row.ratio = row.lo = row.hi = NAN;
    if (ok_a && ok_b) {
        double ra = fa.sd[1] / fa.coef[1], rb = fb.sd[1] / fb.coef[1];
        double se = sqrt(ra * ra + rb * rb);
        double z = gsl_cdf_ugaussian_Pinv(0.5 + r->level / 2);
        row.ratio = fb.coef[1] / fa.coef[1];
        row.lo = row.ratio * exp(-z * se);
        row.hi = row.ratio * exp(z * se);
        snprintf(row.method, sizeof row.method,
                 "ratio of OLS slopes B/A, delta method on the log ratio (normal)");
    } else {
        snprintf(row.method, sizeof row.method, "no positive linear slope on %s", ok_a ? "B" : "A");
    }
    row.verdict = change_verdict(row.lo, row.hi, r->threshold);
    return rows_push(r, &row, cap, err);
}

/* ---- speedup rows ------------------------------------------------------------ */

/* Squared relative standard error of a mean, s^2 / (n m^2). */
static double rel_var(double m, double sd, size_t n)
{
    return n >= 2 && m > 0 ? sd * sd / ((double)n * m * m) : NAN;
}

/* The speedup row of a cold cell row and its warm partner. */
static change_row speedup_of(const change_row *c, const change_row *w, double level,
                             double threshold)
{
    change_row row = *c;
    row.kind = CHANGE_SPEEDUP;
    row.turn = -1;
    row.mode = -1;
    row.n_a = c->n_a + w->n_a;
    row.n_b = c->n_b + w->n_b;
    row.a = c->a / w->a;
    row.b = c->b / w->b;
    double v = rel_var(c->a, c->sd_a, c->n_a) + rel_var(w->a, w->sd_a, w->n_a) +
               rel_var(c->b, c->sd_b, c->n_b) + rel_var(w->b, w->sd_b, w->n_b);
    double z = gsl_cdf_ugaussian_Pinv(0.5 + level / 2);
    row.ratio = row.b / row.a;
    row.lo = isfinite(v) ? row.ratio * exp(-z * sqrt(v)) : NAN;
    row.hi = isfinite(v) ? row.ratio * exp(z * sqrt(v)) : NAN;
    snprintf(row.method, sizeof row.method,
             "ratio of speedups (mean cold / mean warm) B/A, delta method on the log ratio "
             "(normal)");
    /* Higher is better: the interval of A/B is that of a time ratio (a
     * speedup falling by 1/1.3 is a time rising by 1.3). */
    row.verdict = change_verdict(1 / row.hi, 1 / row.lo, threshold);
    return row;
}

/* One speedup row per single-query cold cell row with a warm partner. */
static kv_status speedup_rows(change_result *r, size_t n_cells, size_t *cap, char *err)
{
    kv_status st = KV_OK;
    for (size_t i = 0; st == KV_OK && i < n_cells; i++) {
        const change_row *c = &r->rows[i];
        if (c->kind != CHANGE_CELL_TTFT || c->mode != SPEC_COLD || c->count != 1)
            continue;
        for (size_t j = 0; st == KV_OK && j < n_cells; j++) {
            const change_row *w = &r->rows[j];
            if (w->kind == CHANGE_CELL_TTFT && w->mode == SPEC_WARM && w->count == 1 &&
                w->sys == c->sys && w->query == c->query && w->turn == c->turn &&
                strcmp(w->target, c->target) == 0) {
                change_row row = speedup_of(c, w, r->level, r->threshold);
                st = rows_push(r, &row, cap, err);
                c = &r->rows[i]; /* rows_push may move the rows */
            }
        }
    }
    return st;
}

/* ---- session total rows ---------------------------------------------------------- */

/* The summed TTFTs of every complete session of cell k in d. */
static double *session_totals(const journal_data *d, const change_row *k, size_t *n)
{
    double *v = malloc((d->n_trials ? d->n_trials : 1) * sizeof *v);
    *n = 0;
    for (size_t i = 0; v && i < d->n_trials; i++) {
        const trial_record *t = &d->trials[i];
        if (strcmp(target_name(d, t), k->target) != 0 || t->system_prompt_tokens != k->sys ||
            t->query_tokens != k->query || t->query_count != k->count || (int)t->mode != k->mode ||
            t->n_turns != (size_t)t->query_count)
            continue;
        double sum = 0;
        bool all = true;
        for (size_t j = 0; j < t->n_turns; j++) {
            all = all && usable(t, &t->turns[j]);
            sum += t->turns[j].ttft_ms;
        }
        if (all)
            v[(*n)++] = sum;
    }
    return v;
}

/* One row per session cell (count > 1) of the turn-1 cell rows. */
static kv_status session_rows(const journal_data *a, const journal_data *b, change_result *r,
                              size_t n_cells, uint64_t seed, size_t *cap, char *err)
{
    kv_status st = KV_OK;
    for (size_t i = 0; st == KV_OK && i < n_cells; i++) {
        if (r->rows[i].kind != CHANGE_CELL_TTFT || r->rows[i].count < 2 || r->rows[i].turn != 1)
            continue;
        change_row k = r->rows[i];
        k.kind = CHANGE_SESSION_TOTAL;
        k.turn = -1;
        double *va = session_totals(a, &k, &k.n_a), *vb = session_totals(b, &k, &k.n_b);
        if (!va || !vb)
            st = kv_fail(err, KV_ERR_NOMEM, "out of memory");
        else if (k.n_a > 0 && k.n_b > 0) {
            cell_ratio(&k, va, vb, r->level, seed + r->n);
            snprintf(k.method + strlen(k.method), sizeof k.method - strlen(k.method),
                     " (session totals)");
            k.verdict = change_verdict(k.lo, k.hi, r->threshold);
            st = rows_push(r, &k, cap, err);
        }
        free(va);
        free(vb);
    }
    return st;
}

static int row_order(const void *x, const void *y)
{
    const change_row *p = x, *q = y;
    int c = strcmp(p->target, q->target);
    long d[5] = {p->mode - q->mode, p->count - q->count, p->sys - q->sys, p->query - q->query,
                 p->turn - q->turn};
    for (int i = 0; c == 0 && i < 5; i++)
        c = (d[i] > 0) - (d[i] < 0);
    return c;
}

kv_status change_compute(const journal_data *a, const journal_data *b, double threshold,
                         double level, uint64_t seed, change_result *out, char *err)
{
    memset(out, 0, sizeof *out);
    out->threshold = threshold;
    out->level = level;
    size_t cap = 0;
    kv_status st = cell_rows(a, b, out, seed, &cap, err);
    if (st == KV_OK)
        qsort(out->rows, out->n, sizeof *out->rows, row_order);
    size_t n_cells = out->n;
    if (st == KV_OK)
        st = speedup_rows(out, n_cells, &cap, err);
    if (st == KV_OK)
        st = session_rows(a, b, out, n_cells, seed, &cap, err);
    for (size_t t = 0; st == KV_OK && t < a->header.n_targets; t++) {
        const char *name = a->header.targets[t].name;
        bool in_b = false;
        for (size_t u = 0; name && u < b->header.n_targets; u++)
            in_b =
                in_b || (b->header.targets[u].name && strcmp(b->header.targets[u].name, name) == 0);
        if (in_b)
            st = slope_row(a, b, name, out, &cap, err);
    }
    if (st == KV_OK && out->n == 0)
        st = kv_fail(err, KV_ERR_STATS, "the two runs share no target and cell to compare");
    if (st != KV_OK)
        change_free(out);
    return st;
}

void change_free(change_result *r)
{
    if (!r)
        return;
    free(r->rows);
    memset(r, 0, sizeof *r);
}

/* ---- compare.json ------------------------------------------------------------ */

static void row_write(jsonw *w, const change_row *c)
{
    jsonw_begin_obj(w);
    jsonw_key(w, "what");
    static const char *const what[] = {"mean_ttft_ms", "cold_prefill_ms_per_token", "speedup",
                                       "session_total_ms"};
    jsonw_str(w, what[c->kind]);
    jsonw_kstr(w, "target", c->target);
    if (c->kind != CHANGE_COLD_SLOPE) {
        jsonw_key(w, "cell");
        jsonw_begin_obj(w);
        jsonw_kint(w, "system_prompt_tokens", c->sys);
        jsonw_kint(w, "query_tokens", c->query);
        jsonw_kint(w, "query_count", c->count);
        jsonw_key(w, "turn");
        if (c->turn >= 0)
            jsonw_int(w, c->turn);
        else
            jsonw_null(w);
        jsonw_kstr(w, "cache_mode",
                   c->mode >= 0 ? spec_cache_mode_name((spec_cache_mode)c->mode) : NULL);
        jsonw_end_obj(w);
    }
    jsonw_kint(w, "n_a", (long long)c->n_a);
    jsonw_kint(w, "n_b", (long long)c->n_b);
    jsonw_knum(w, "a", c->a);
    jsonw_knum(w, "b", c->b);
    jsonw_knum(w, "ratio", c->ratio);
    jsonw_key(w, "ci");
    jsonw_pair(w, c->lo, c->hi, isfinite(c->lo) && isfinite(c->hi));
    jsonw_kstr(w, "verdict", c->verdict);
    jsonw_kstr(w, "method", c->method);
    jsonw_end_obj(w);
}

kv_status change_to_json(const change_result *r, const char *a_name, const char *b_name,
                         kv_buf *out, char *err)
{
    jsonw w = {0};
    jsonw_begin_obj(&w);
    jsonw_kstr(&w, "format", "kvproof-compare");
    jsonw_kint(&w, "version", 1);
    jsonw_kstr(&w, "a", a_name);
    jsonw_kstr(&w, "b", b_name);
    jsonw_knum(&w, "threshold", r->threshold);
    jsonw_knum(&w, "confidence_level", r->level);
    jsonw_key(&w, "rows");
    jsonw_begin_arr(&w);
    for (size_t i = 0; i < r->n; i++)
        row_write(&w, &r->rows[i]);
    jsonw_end_arr(&w);
    jsonw_end_obj(&w);
    kv_status st = w.st;
    if (st == KV_OK)
        st = kv_buf_append(&w.b, "\n", 1);
    if (st == KV_OK)
        st = kv_buf_append(out, w.b.data, w.b.len);
    kv_buf_free(&w.b);
    return st == KV_OK ? KV_OK : kv_fail(err, st, "out of memory writing compare.json");
}

/* ---- cold points for the compare figure ------------------------------------- */

static kv_status run_points(const journal_data *d, change_run_points *p, char *err)
{
    size_t cap = 1;
    for (size_t i = 0; i < d->n_trials; i++)
        cap += d->trials[i].n_turns;
    p->x = malloc(cap * sizeof *p->x);
    p->y = malloc(cap * sizeof *p->y);
    if (!p->x || !p->y)
        return kv_fail(err, KV_ERR_NOMEM, "compare: out of memory for the cold points");
    for (size_t i = 0; i < d->n_trials; i++) {
        const trial_record *t = &d->trials[i];
        if (t->mode == SPEC_WARM)
            continue;
        for (size_t j = 0; j < t->n_turns; j++)
            if (usable(t, &t->turns[j]) && t->turns[j].prompt_tokens >= 0) {
                p->x[p->n] = (double)t->turns[j].prompt_tokens;
                p->y[p->n++] = t->turns[j].ttft_ms;
            }
    }
    const double *cols[1] = {p->x};
    fit_input in = {cols, 1, p->y, NULL, p->n, false};
    fit_result f;
    char e2[KV_ERRLEN] = "";
    p->fit_ok = p->n > 2 && fit_model(&in, FIT_LINEAR, 1, 0.95, &f, e2) == KV_OK;
    p->a = p->fit_ok ? f.coef[0] : NAN;
    p->b = p->fit_ok ? f.coef[1] : NAN;
    return KV_OK;
}

kv_status change_cold_points(const journal_data *a, const journal_data *b, change_points *out,
                             char *err)
{
    memset(out, 0, sizeof *out);
    kv_status st = run_points(a, &out->run[0], err);
    if (st == KV_OK)
        st = run_points(b, &out->run[1], err);
    if (st != KV_OK)
        change_points_free(out);
    return st;
}

void change_points_free(change_points *p)
{
    for (int i = 0; i < 2; i++) {
        free(p->run[i].x);
        free(p->run[i].y);
    }
    memset(p, 0, sizeof *p);
}
