/* results_target.h - internal to stats/results*.c: everything computed for
 * one target (models, comparisons, sessions, cache evidence), computed once
 * into a res_target and written from there as one element of "targets".
 *
 * res_target_free releases what res_target_compute allocated.
 */
#ifndef KV_RESULTS_TARGET_H
#define KV_RESULTS_TARGET_H

#include <stddef.h>

#include "stats/jsonw.h"
#include "stats/results_compare.h"
#include "stats/results_ctx.h"
#include "stats/results_models.h"
#include "stats/results_sessions.h"

typedef struct res_target {
    const char *name; /* borrowed from the journal */
    res_model cold, warm, prefill;
    res_compare cmp;
    res_session sess[RES_MAX];
    size_t n_sess;
    long sys_max, query_min; /* largest system prompt, smallest query length */
    size_t warm_total, warm_verified, warm_inferred, warm_contaminated; /* warm requests */
    size_t cold_contaminated;
} res_target;

/* ts must be zeroed, with name set. */
void res_target_compute(const res_ctx *c, size_t target, res_target *ts);
void res_target_free(res_target *ts);
void res_target_write(jsonw *w, const res_ctx *c, size_t target, const res_target *ts);

/* Lookups: at system prompt sys (-1: the largest), the smallest query
 * length; the session of count queries (-1: the longest). NULL if none. */
const res_speed *res_target_speed(const res_target *ts, long sys);
const res_overhead *res_target_over(const res_target *ts, long sys);
const res_session *res_target_session(const res_target *ts, long count);

#endif
