/* stopping.h - adaptive stopping for one cell: is its median known well
 * enough to stop repeating it?
 *
 * The runner calls stopping_cell_done after each round. The interval is the
 * exact distribution-free rank interval of the median (binomial(n, 1/2)
 * ranks, coverage >= 95%); its half-width is (upper - lower) / 2.
 */
#ifndef KV_STOPPING_H
#define KV_STOPPING_H

#include <stdbool.h>
#include <stddef.h>

/* True when n >= min_repetitions, the exact 95% rank interval of the median
 * exists (n >= 6) and its half-width is <= target_rel_ci * median. Non-finite
 * or negative times make it false (never stop on bad data). ttft_ms is not
 * modified. */
bool stopping_cell_done(const double *ttft_ms, size_t n, double target_rel_ci,
                        long min_repetitions);

/* Relative half-width of the exact rank interval of the median at the given
 * confidence: (upper - lower) / 2 / median. Returns -1 when it does not exist
 * (n too small, bad values, median <= 0). */
double stopping_median_rel_halfwidth(const double *ttft_ms, size_t n, double confidence);

#endif
