/* results_compare.h - internal to stats/results*.c: cold-vs-warm speedups
 * (headline: the median ratio, Hodges-Lehmann on log times with its exact
 * rank interval; secondary: ratio of geometric means and ratio of means;
 * Mann-Whitney with Holm adjustment; Hodges-Lehmann shift in ms) and the
 * system prompt's overhead fraction of cold time (headline from the median
 * ratio, secondary from the ratio of means), per system prompt and query
 * length of one target.
 */
#ifndef KV_RESULTS_COMPARE_H
#define KV_RESULTS_COMPARE_H

#include <stddef.h>

#include "stats/jsonw.h"
#include "stats/results_ctx.h"
#include "stats/results_models.h"

typedef struct results_speed {
    long sys, query;         /* lengths compared (turn 1) */
    results_est speedup, hl; /* cold/warm median ratio; cold - warm shift in ms */
    results_est gm, mean;    /* secondary: ratio of geometric means, ratio of means */
    double p, p_holm;        /* Mann-Whitney p, Holm-adjusted over the target */
    size_t n_cold, n_warm;   /* values on each side */
} results_speed;

typedef struct results_overhead {
    long sys, query;
    results_est frac;      /* 1 - ttft(without) / ttft(with), from the median ratio */
    results_est frac_mean; /* secondary: the same from the ratio of means */
    double t0, tl;         /* mean ttft without / with the system prompt, ms */
    double t0_med, tl_med; /* median ttft without / with, ms */
    bool from_model;       /* no cold cell without a system prompt: frac is 1 - T(q)/T(L)
                              from the cold model, T(q) extrapolated below the data */
} results_overhead;

typedef struct results_compare {
    results_speed speed[RES_MAX];
    size_t n_speed;
    results_overhead over[RES_MAX];
    size_t n_over;
} results_compare;

/* Every (system prompt, query length) pair of sys[0..ns) x query[0..nq). */
void results_compare_compute(const results_ctx *c, size_t target, const long *sys, size_t ns,
                             const long *query, size_t nq, results_compare *out);

/* Without a cold cell at system prompt 0 (out->n_over == 0): the overhead
 * fraction at (sys, query) from the cold model, 1 - yhat(x - sys)/yhat(x)
 * with x the cell's mean prompt tokens, delta-method interval on the log
 * ratio with the fit's covariance and t quantile. Nothing when the model did
 * not fit or is multi-column. */
void results_compare_overhead_from_model(const results_ctx *c, size_t target,
                                         const results_model *cold, long sys, long query,
                                         results_compare *out);

/* The comparison at system prompt sys (-1: sys_max) with the smallest query
 * length; NULL when there is none. */
const results_speed *results_compare_find_speed(const results_compare *cmp, long sys, long sys_max);
const results_overhead *results_compare_find_over(const results_compare *cmp, long sys,
                                                  long sys_max);

/* "speedup": [...], "overhead_fraction": [...] */
void results_compare_write(jsonw *w, const results_compare *cmp, double level);

#endif
