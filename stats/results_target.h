/* results_target.h - internal to stats/results*.c: everything computed for
 * one target (models, comparisons, sessions, cache evidence), computed once
 * into a results_target and written from there as one element of "targets".
 *
 * results_target_free releases what results_target_compute allocated.
 */
#ifndef KV_RESULTS_TARGET_H
#define KV_RESULTS_TARGET_H

#include <stddef.h>

#include "stats/jsonw.h"
#include "stats/results_compare.h"
#include "stats/results_ctx.h"
#include "stats/results_models.h"
#include "stats/results_sessions.h"

typedef struct results_target {
    const char *name; /* borrowed from the journal */
    results_model cold, warm, prefill;
    results_compare cmp;
    results_session sess[RES_MAX];
    size_t n_sess;
    long sys_max, query_min; /* largest system prompt, smallest query length */
    size_t warm_total, warm_verified, warm_inferred, warm_contaminated; /* warm requests */
    size_t cold_contaminated;
} results_target;

/* ts must be zeroed, with name set. */
void results_target_compute(const results_ctx *c, size_t target, results_target *ts);
void results_target_free(results_target *ts);
void results_target_write(jsonw *w, const results_ctx *c, size_t target, const results_target *ts);

/* Lookups: at system prompt sys (-1: the largest), the smallest query
 * length; the session of count queries (-1: the longest). NULL if none. */
const results_speed *results_target_speed(const results_target *ts, long sys);
const results_overhead *results_target_over(const results_target *ts, long sys);
const results_session *results_target_session(const results_target *ts, long count);

#endif
