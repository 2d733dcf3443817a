/* results_sessions.h - internal to stats/results*.c: multi-query sessions
 * of one target. For each query count: measured cold and warm session totals
 * and their ratio (headline: the median ratio of totals with its rank
 * interval; secondary: the ratio of mean totals), cumulative time per query, the seed's theoretical
 * speedup, and totals projected from the cold and warm models.
 *
 * A results_session owns its per-query arrays (one block); results_session_free
 * releases them.
 */
#ifndef KV_RESULTS_SESSIONS_H
#define KV_RESULTS_SESSIONS_H

#include <stddef.h>

#include "stats/jsonw.h"
#include "stats/results_ctx.h"
#include "stats/results_models.h"

typedef struct results_session {
    long count, sys, query; /* queries per session; the lengths it was measured at */
    results_est cold_total, warm_total, measured_speedup; /* mean ms, mean ms, median ratio */
    results_est measured_speedup_mean;                    /* secondary: ratio of mean totals */
    results_est proj_cold, proj_warm, proj_speedup;       /* from the models */
    double theoretical; /* N cold / (first cold + (N-1) warm), turn-1 means */
    /* per query k (count entries each; NULL when out of memory): */
    double *cum_cold_m, *cum_cold_lo, *cum_cold_hi, *cum_warm_m, *cum_warm_lo, *cum_warm_hi;
    double *pc_m, *pc_se, *pw_m, *pw_se; /* projected cumulative mean and its se */
    double tcrit_c, tcrit_w;             /* t multipliers of the cold and warm fits */
} results_session;

/* Fills out[0..cap) and returns how many; cold and warm are the target's
 * ttft models (used for the projections when they fitted). */
size_t results_sessions_compute(const results_ctx *c, size_t target, const results_model *cold,
                                const results_model *warm, results_session *out, size_t cap);
void results_session_free(results_session *s);

/* "sessions": [...]; cold_n and warm_n are the models' sizes. */
void results_sessions_write(jsonw *w, const results_session *s, size_t n, size_t cold_n,
                            size_t warm_n, double level);

#endif
