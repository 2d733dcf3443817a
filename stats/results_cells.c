/* results_cells.c - per-cell summaries (results_cells.h).
 *
 * A cell is one target, system prompt and query length, query count, cache
 * mode and turn. Each is computed (describe_sample over its uncontaminated
 * times) into a results_cell, then written.
 */
#include "stats/results_cells.h"
#include "stats/stalls.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct results_cell {
    const results_point *key; /* the cell's first point */
    double *v;                /* owned: uncontaminated times in run order */
    size_t *order;            /* owned: their run positions */
    size_t n, contaminated;
    bool described; /* s holds the summary; else note says why not */
    describe_summary s;
    char note[KV_ERRLEN];
} results_cell;

static bool cell_seen_before(const results_ctx *c, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (results_same_cell(&c->pts[i], &c->pts[j]))
            return true;
    return false;
}

/* false when out of memory */
static bool cell_compute(const results_ctx *c, size_t i, results_cell *cell)
{
    memset(cell, 0, sizeof *cell);
    cell->key = &c->pts[i];
    size_t m = 0;
    for (size_t j = i; j < c->n_pts; j++)
        m += results_same_cell(cell->key, &c->pts[j]);
    cell->v = malloc(m * sizeof *cell->v);
    cell->order = malloc(m * sizeof *cell->order);
    if (!cell->v || !cell->order) {
        free(cell->v);
        free(cell->order);
        return false;
    }
    for (size_t j = i; j < c->n_pts; j++) {
        const results_point *q = &c->pts[j];
        if (!results_same_cell(cell->key, q))
            continue;
        if (q->contaminated)
            cell->contaminated++;
        else {
            cell->order[cell->n] = q->order;
            cell->v[cell->n++] = q->y;
        }
    }
    if (cell->n == 0)
        snprintf(cell->note, sizeof cell->note, "no usable values (all contaminated)");
    else
        cell->described =
            describe_sample(cell->v, cell->n, c->level, &cell->s, cell->note) == KV_OK;
    return true;
}

static void quantile_write(jsonw *w, double v, const double *ci, bool has, size_t n, double level)
{
    results_est e;
    memset(&e, 0, sizeof e);
    e.est.value = v;
    e.est.lo = ci[0];
    e.est.hi = ci[1];
    e.est.has_ci = has;
    e.est.n = n;
    snprintf(e.method, sizeof e.method, "exact binomial rank interval");
    if (!has)
        snprintf(e.note, sizeof e.note, "too few values for a rank interval at this level");
    results_est_write(w, &e, level);
}

/* The cell's typical TTFT: its median with the exact binomial rank
 * interval at the run's level, or, with too few values for that (n < 6 at
 * 95%), the widest one, [min, max], at the level it holds: 1 - 2^(1-n). */
static void typical_write(jsonw *w, const results_cell *cell, double level)
{
    const describe_summary *s = &cell->s;
    results_est e;
    memset(&e, 0, sizeof e);
    e.est.value = s->median;
    e.est.n = cell->n;
    e.est.has_ci = true;
    if (s->has_median_ci) {
        e.est.lo = s->median_ci[0];
        e.est.hi = s->median_ci[1];
        e.est.level = s->median_ci_level;
        snprintf(e.method, sizeof e.method,
                 "median, exact binomial rank interval (distribution-free; level achieved)");
    } else if (cell->n >= 2) {
        e.est.lo = s->min;
        e.est.hi = s->max;
        e.est.level = 1.0 - 2.0 * pow(0.5, (double)cell->n);
        snprintf(e.method, sizeof e.method,
                 "median, widest rank interval [min, max] (too few values for %g%%: level as "
                 "given)",
                 100 * level);
    } else {
        e.est.has_ci = false;
        e.est.lo = e.est.hi = NAN;
        snprintf(e.method, sizeof e.method, "median");
        snprintf(e.note, sizeof e.note, "one value: no interval");
    }
    results_kest(w, "typical_ttft_ms", &e, level);
}

static void outliers_write(jsonw *w, const results_cell *cell)
{
    const describe_summary *s = &cell->s;
    jsonw_key(w, "outliers");
    jsonw_begin_obj(w);
    jsonw_kint(w, "mild", (long long)s->mild);
    jsonw_kint(w, "severe", (long long)s->severe);
    jsonw_key(w, "values");
    jsonw_begin_arr(w);
    for (size_t k = 0; k < cell->n; k++)
        if (cell->v[k] < s->fence_mild[0] || cell->v[k] > s->fence_mild[1])
            jsonw_num(w, cell->v[k]);
    jsonw_end_arr(w);
    jsonw_kstr(w, "rule", "Tukey fences 1.5 IQR (mild) and 3 IQR (severe); flagged, not removed");
    jsonw_end_obj(w);
}

/* "stalls": {count, rule, median_ms, trials: [{order, ttft_ms, ratio_to_median}]} */
static void stalls_write(jsonw *w, const results_cell *cell)
{
    size_t n = cell->n;
    bool *flag = malloc((n ? n : 1) * sizeof *flag);
    double *ratio = malloc((n ? n : 1) * sizeof *ratio), med = NAN;
    size_t got = flag && ratio ? stalls_flag(cell->v, n, flag, ratio, &med) : (size_t)-1;
    jsonw_key(w, "stalls");
    jsonw_begin_obj(w);
    if (got == (size_t)-1) {
        jsonw_kstr(w, "note", "out of memory");
        got = 0;
    }
    jsonw_kint(w, "count", (long long)got);
    jsonw_kstr(w, "rule", STALLS_RULE);
    jsonw_knum(w, "median_ms", med);
    jsonw_key(w, "trials");
    jsonw_begin_arr(w);
    for (size_t k = 0; k < n && got; k++) {
        if (!flag[k])
            continue;
        jsonw_begin_obj(w);
        jsonw_kint(w, "order", (long long)cell->order[k]);
        jsonw_knum(w, "ttft_ms", cell->v[k]);
        jsonw_knum(w, "ratio_to_median", ratio[k]);
        jsonw_end_obj(w);
    }
    jsonw_end_arr(w);
    jsonw_end_obj(w);
    free(flag);
    free(ratio);
}

static void cell_write(jsonw *w, const results_cell *cell, const char *tname, double level)
{
    const results_point *p = cell->key;
    const describe_summary *s = &cell->s;
    jsonw_begin_obj(w);
    jsonw_kstr(w, "target", tname);
    results_klengths(w, p->sys, p->query);
    jsonw_kint(w, "query_count", p->count);
    jsonw_kstr(w, "cache_mode", p->mode == SPEC_WARM ? "warm" : "cold");
    jsonw_kint(w, "turn", p->turn);
    jsonw_kint(w, "n", (long long)cell->n);
    jsonw_kint(w, "contaminated", (long long)cell->contaminated);
    if (!cell->described) {
        jsonw_kstr(w, "note", cell->note);
        jsonw_end_obj(w);
        return;
    }
    results_est m;
    results_est_from_summary(&m, s, cell->n, "t-interval");
    results_kest(w, "mean", &m, level);
    jsonw_key(w, "median");
    quantile_write(w, s->median, s->median_ci, s->has_median_ci, cell->n, level);
    typical_write(w, cell, level);
    jsonw_knum(w, "p90", s->p90);
    jsonw_key(w, "p90_ci");
    jsonw_pair(w, s->p90_ci[0], s->p90_ci[1], s->has_p90_ci);
    jsonw_knum(w, "p99", s->p99);
    jsonw_key(w, "p99_ci");
    jsonw_pair(w, s->p99_ci[0], s->p99_ci[1], s->has_p99_ci);
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
    const double vals[] = {s->sd, s->mad, s->iqr,         s->cv,           s->min, s->max,
                           s->q1, s->q3,  s->whisker_low, s->whisker_high, s->lag1};
    for (size_t k = 0; k < sizeof vals / sizeof vals[0]; k++)
        jsonw_knum(w, keys[k], vals[k]);
    outliers_write(w, cell);
    stalls_write(w, cell);
    jsonw_end_obj(w);
}

void results_cells_write(jsonw *w, const results_ctx *c, size_t target, const char *tname)
{
    jsonw_key(w, "cells");
    jsonw_begin_arr(w);
    for (size_t i = 0; i < c->n_pts; i++) {
        if (c->pts[i].target != target || cell_seen_before(c, i))
            continue;
        results_cell cell;
        if (!cell_compute(c, i, &cell))
            continue;
        cell_write(w, &cell, tname, c->level);
        free(cell.v);
        free(cell.order);
    }
    jsonw_end_arr(w);
}
