/* stalls.h - stalls found, counted and flagged (never removed): a request
 * whose time is far above the typical time of its cell.
 *
 * Rule (STALLS_RULE): within a cell of n >= 3 values, v is a stall when
 *   ln v - median(ln v) > max(k * MAD(ln v), ln r_min),
 * MAD scaled by 1.4826 (a standard deviation for normal data), k = 5,
 * r_min = 3: at least 3x the cell median and 5 robust standard deviations
 * above it on the log scale. For log-normal noise of cv up to 20% the ln 3
 * floor alone is more than 5.4 standard deviations (a false flag less than
 * once in 10^7 requests), also in 3-value cells where the MAD is unstable.
 */
#ifndef KV_STALLS_H
#define KV_STALLS_H

#include <stdbool.h>
#include <stddef.h>

#define STALLS_K 5.0
#define STALLS_MIN_RATIO 3.0
#define STALLS_MIN_N 3
#define STALLS_RULE                                                                                \
    "ln t - median(ln t) > max(5 MAD(ln t), ln 3) within the cell (MAD scaled by 1.4826; "         \
    "cells of 3 or more values): at least 3x the cell median; flagged, kept"

/* Flags stalls among v[0..n) (one cell, any order). flag[i] receives the
 * verdict, ratio[i] (may be NULL) v[i] / median. *median gets the cell
 * median (may be NULL; NAN when n == 0). Cells with fewer than STALLS_MIN_N
 * values or a non-positive value flag nothing. Returns the number flagged;
 * (size_t)-1 when out of memory (nothing flagged). */
size_t stalls_flag(const double *v, size_t n, bool *flag, double *ratio, double *median);

/* Groups observations by equal x (one cell per distinct x value) and flags
 * each group as stalls_flag does. flag receives n verdicts, ratio (may be
 * NULL) n ratios to the group median. Returns the number flagged;
 * (size_t)-1 when out of memory. */
size_t stalls_flag_by_x(const double *x, const double *y, size_t n, bool *flag, double *ratio);

#endif
