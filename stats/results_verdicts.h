/* results_verdicts.h - internal to stats/results*.c: what the numbers
 * mean. The spec's hypotheses judged by whole intervals, the headline
 * verdict (with a cross-target comparison when there are several targets),
 * the seed's four questions answered for the first target, and the
 * adaptive-stopping saving.
 */
#ifndef KV_RESULTS_VERDICTS_H
#define KV_RESULTS_VERDICTS_H

#include <stddef.h>

#include "stats/jsonw.h"
#include "stats/results_ctx.h"
#include "stats/results_target.h"

/* "hypotheses": [...], one entry per hypothesis and matching target. */
void results_hypotheses_write(jsonw *w, const results_ctx *c, const results_target *tss, size_t nt);

/* "verdict": {...}, and "comparison": [...] when nt > 1. */
void results_verdict_write(jsonw *w, const results_ctx *c, const results_target *tss, size_t nt);

/* "questions": [4 answers] about ts. */
void results_questions_write(jsonw *w, const results_ctx *c, const results_target *ts);

/* "adaptive_stopping": {...}, or null when the spec did not enable it. */
void results_stopping_write(jsonw *w, const results_ctx *c);

#endif
