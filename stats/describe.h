/* describe.h - one sample of times summarised: location with intervals,
 * spread, quantiles, Tukey outliers (flagged, never removed) and lag-1
 * autocorrelation in run order.
 *
 * describe_summary is a plain value; outlier values are not copied (the
 * caller re-derives them from the fences when it needs them).
 */
#ifndef KV_DESCRIBE_H
#define KV_DESCRIBE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/status.h"

typedef struct describe_summary {
    size_t n;
    double mean, sd;
    double mean_ci[2]; /* t-interval; NAN when n < 2 or sd == 0 gives a point */
    bool has_mean_ci;
    double median;
    double median_ci[2];    /* exact binomial rank interval */
    bool has_median_ci;     /* false when n is too small (n < 6 at 95%) */
    double median_ci_level; /* achieved coverage of the rank interval (>= level) */
    double p90, p99;        /* quantiles, linear interpolation at f (n - 1) */
    double p90_ci[2], p99_ci[2];
    bool has_p90_ci, has_p99_ci;
    double mad; /* median absolute deviation, scaled by 1.4826 */
    double q1, q3, iqr;
    double cv; /* sd / mean; NAN when mean <= 0 */
    double min, max;
    double whisker_low, whisker_high;      /* most extreme values inside the 1.5 IQR fences */
    double fence_mild[2], fence_severe[2]; /* q1 - 1.5 IQR, q3 + 1.5 IQR; 3 IQR */
    size_t mild, severe; /* outliers between the fences / beyond the severe fences */
    double lag1;         /* lag-1 autocorrelation in the given order; NAN when n < 3 */
    double level;
} describe_summary;

/* x in run order, n >= 1, every value finite. KV_ERR_STATS otherwise. */
kv_status describe_sample(const double *x, size_t n, double level, describe_summary *out,
                          char *err) KV_MUST_USE;

/* Exact distribution-free interval for the q-quantile from sorted data:
 * [x(l), x(u)] with binomial(n, q) ranks, equal tails <= (1 - level) / 2.
 * False when the data are too few for that level. *achieved gets the
 * coverage (may be NULL). */
bool describe_quantile_ci(const double *sorted, size_t n, double q, double level, double *lo,
                          double *hi, double *achieved);

/* t-interval half-width multiplier t(1 - (1-level)/2, df). */
double describe_tcrit(double level, double df);

#endif
