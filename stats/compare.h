/* compare.h - two samples of times compared: ratio of geometric means
 * (log-scale t-interval, Welch or paired), Mann-Whitney U / Wilcoxon
 * signed-rank p-values (exact null distribution below 50 values without
 * ties, as R's wilcox.test; otherwise the normal approximation with tie and
 * continuity corrections), the Hodges-Lehmann shift with its
 * distribution-free interval (exact ranks as R's conf.int = TRUE, stating
 * the level they achieve), the median ratio (Hodges-Lehmann on log times),
 * a studentized bootstrap for the ratio of two means (and a delta-method t
 * interval for small samples), and Holm's adjustment.
 *
 * Everything here is a pure function of its inputs (the bootstrap of its
 * seed); nothing is kept.
 */
#ifndef KV_COMPARE_H
#define KV_COMPARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "stats/estimate.h"

/* exp(mean ln x - mean ln y) with a t-interval on the log scale: Welch
 * (Satterthwaite df) when unpaired, the paired t when paired (nx == ny,
 * x[i] pairs with y[i]). Every value must be > 0. */
kv_status compare_gm_ratio(const double *x, size_t nx, const double *y, size_t ny, bool paired,
                           double level, estimate *out, char *err) KV_MUST_USE;

/* Two-sided p-value of the Mann-Whitney U test (unpaired) or Wilcoxon
 * signed-rank test (paired, zero differences dropped). As R's wilcox.test
 * (exact = NULL, correct = TRUE): the exact null distribution when both
 * samples (or the differences) have fewer than 50 values and no ties or
 * zeros; otherwise the normal approximation with tie and continuity
 * corrections. NAN when undefined. */
double compare_rank_test_p(const double *x, size_t nx, const double *y, size_t ny, bool paired);

/* Hodges-Lehmann estimate of the shift x - y (median of pairwise differences,
 * or of Walsh averages of paired differences) with the distribution-free
 * interval from the rank test's critical value: exact (R's wilcox.test
 * conf.int = TRUE: ranks from qwilcox/qsignrank, out->level the achieved
 * level, e.g. 0.9 for two samples of 3, 0.968 for two of 5) under the same
 * conditions as the exact p-value, else the normal approximation (Moses)
 * at the requested level. */
kv_status compare_hodges_lehmann(const double *x, size_t nx, const double *y, size_t ny,
                                 bool paired, double level, estimate *out, char *err) KV_MUST_USE;

/* The median ratio x/y: exp of the Hodges-Lehmann shift of log x - log y,
 * i.e. the median of x_i / y_j over all pairs. It estimates the population
 * median of X/Y for independent draws, which is the ratio of the two
 * medians when X and Y differ by a scale factor (multiplicative noise of one
 * shape). Its interval is the Hodges-Lehmann interval on log times,
 * exponentiated: distribution-free, so one stall moves it by at most one
 * rank. Every value must be > 0. */
kv_status compare_median_ratio(const double *x, size_t nx, const double *y, size_t ny, double level,
                               estimate *out, char *err) KV_MUST_USE;

/* mean(x) / mean(y) with a studentized (bootstrap-t) interval on the log
 * scale: `resamples` resamples of each sample independently, mt19937 seeded
 * with `seed`, standard error by the delta method. When the bootstrap-t
 * interval leaves the range of the resampled ratios (one stall among few
 * values: resamples without it have a tiny standard error and a huge t,
 * which once gave [1.95e-10, 16.9]), the percentile interval of the
 * resampled ratios is returned instead and *percentile (when not NULL) is
 * set. Needs nx, ny >= 2 and positive means; without variation the
 * interval is the point. */
kv_status compare_ratio_of_means(const double *x, size_t nx, const double *y, size_t ny,
                                 long resamples, uint64_t seed, double level, estimate *out,
                                 bool *percentile, char *err) KV_MUST_USE;

/* mean(x) / mean(y) with a delta-method interval on the log scale:
 * log(mx/my) +- t * se, se^2 = s_x^2/(nx mx^2) + s_y^2/(ny my^2), t with
 * Welch-Satterthwaite degrees of freedom (written to *df, NAN without
 * variation). For small samples, where the bootstrap-t of
 * compare_ratio_of_means is unstable. Needs nx, ny >= 2 and positive means;
 * without variation the interval is the point. */
kv_status compare_ratio_of_means_delta(const double *x, size_t nx, const double *y, size_t ny,
                                       double level, estimate *out, double *df,
                                       char *err) KV_MUST_USE;

/* Holm's step-down adjustment of m p-values (NAN entries are skipped and
 * stay NAN). adj receives the adjusted values. */
void compare_holm(const double *p, size_t m, double *adj);

#endif
