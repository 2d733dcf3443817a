/* planning.h - how many repetitions a full run needs, from a pilot journal:
 * per cell for the target relative half-width of the median's 95% interval,
 * for the cold model's slope, the cheapest set of system-prompt lengths that
 * meets the slope target, and the expected server time of the full run.
 *
 * Ownership: planning_compute returns a result freed by planning_free
 * (planning_free(NULL) is a no-op).
 */
#ifndef KV_PLANNING_H
#define KV_PLANNING_H

#include <stddef.h>

#include "common/status.h"
#include "experiments/journal.h"
#include "experiments/spec.h"

typedef struct planning_cell {
    size_t target;
    long system_prompt_tokens, query_tokens, query_count;
    spec_cache_mode mode;
    size_t pilot_n;   /* pilot requests (turn 1) */
    double median_ms; /* pilot median ttft, turn 1 */
    double mad_ms;    /* pilot MAD (scaled) */
    long repetitions; /* needed for the median target (>= 6 for an exact 95% interval) */
    double trial_ms;  /* pilot mean server time of one trial (sum of turns' totals) */
} planning_cell;

typedef struct planning_result {
    double target_rel_ci;
    planning_cell *cells;
    size_t n_cells;
    long reps_median;          /* max over cells */
    double slope_ms_per_token; /* pilot cold linear slope (NAN if none) */
    double residual_sd_ms;     /* pilot cold linear residual sd */
    long reps_slope;           /* with the spec's lengths; -1 if no slope */
    long best_lengths[32];     /* cheapest set of system-prompt lengths meeting the slope target */
    size_t n_best;
    long reps_best;           /* repetitions per length for that set */
    double best_cost_s;       /* its expected cold server time, s */
    long repetitions;         /* recommended: max(reps_median, reps_slope), >= 1 */
    double expected_server_s; /* full plan at `repetitions`, s */
    char note[512];           /* caveats (e.g. no cold data for the slope) */
} planning_result;

/* pilot: a short run's journal; s: the spec of the full run. */
kv_status planning_compute(const journal_data *pilot, const spec *s, double target_rel_ci,
                           planning_result **out, char *err) KV_MUST_USE;
void planning_free(planning_result *r);

#endif
