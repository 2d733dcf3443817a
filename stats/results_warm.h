/* results_warm.h - internal to stats/results*.c: the "contention" section
 * of results.json (docs/results.md) from the statistics of stats/warm.h,
 * and the warm_capacity hypothesis metric.
 */
#ifndef KV_RESULTS_WARM_H
#define KV_RESULTS_WARM_H

#include <stdbool.h>
#include <stddef.h>

#include "stats/jsonw.h"
#include "stats/results_ctx.h"
#include "stats/results_target.h"

/* "contention": {...} when c->warm is set (nothing otherwise); targets are
 * named by tss[0..nt), else by the journal header. */
void results_warm_write(jsonw *w, const results_ctx *c, const results_target *tss, size_t nt);

/* The warm capacity of target at sys as an estimate: the capacity with
 * [low, high] from the Wilson intervals. *high_open: the sweep does not
 * bound it above (high is the largest agent count swept). */
void results_warm_capacity_est(const results_ctx *c, size_t target, long sys, results_est *e,
                               bool *high_open);

#endif
