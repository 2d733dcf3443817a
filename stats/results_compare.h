/* results_compare.h - internal to stats/results*.c: cold-vs-warm speedups
 * (ratio of geometric means, Mann-Whitney with Holm adjustment,
 * Hodges-Lehmann shift) and the system prompt's overhead fraction of cold
 * time, per system prompt and query length of one target.
 */
#ifndef KV_RESULTS_COMPARE_H
#define KV_RESULTS_COMPARE_H

#include <stddef.h>

#include "stats/jsonw.h"
#include "stats/results_ctx.h"

typedef struct res_speed {
    long sys, query;       /* lengths compared (turn 1) */
    res_est speedup, hl;   /* cold/warm ratio; cold - warm shift in ms */
    double p, p_holm;      /* Mann-Whitney p, Holm-adjusted over the target */
    size_t n_cold, n_warm; /* values on each side */
} res_speed;

typedef struct res_overhead {
    long sys, query;
    res_est frac;  /* 1 - ttft(without) / ttft(with) */
    double t0, tl; /* mean ttft without / with the system prompt, ms */
} res_overhead;

typedef struct res_compare {
    res_speed speed[RES_MAX];
    size_t n_speed;
    res_overhead over[RES_MAX];
    size_t n_over;
} res_compare;

/* Every (system prompt, query length) pair of sys[0..ns) x query[0..nq). */
void res_compare_compute(const res_ctx *c, size_t target, const long *sys, size_t ns,
                         const long *query, size_t nq, res_compare *out);

/* The comparison at system prompt sys (-1: sys_max) with the smallest query
 * length; NULL when there is none. */
const res_speed *res_compare_find_speed(const res_compare *cmp, long sys, long sys_max);
const res_overhead *res_compare_find_over(const res_compare *cmp, long sys, long sys_max);

/* "speedup": [...], "overhead_fraction": [...] */
void res_compare_write(jsonw *w, const res_compare *cmp, double level);

#endif
