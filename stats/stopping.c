/* stopping.c - adaptive stopping on the median's exact rank interval. */
#include "stats/stopping.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>

#include "stats/describe.h"

double stopping_median_rel_halfwidth(const double *ttft_ms, size_t n, double confidence)
{
    if (!ttft_ms || n == 0)
        return -1;
    double *s = malloc(n * sizeof *s);
    if (!s)
        return -1;
    double rel = -1, lo, hi;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(ttft_ms[i]) || ttft_ms[i] < 0)
            goto out;
        s[i] = ttft_ms[i];
    }
    gsl_sort(s, 1, n);
    double med = gsl_stats_median_from_sorted_data(s, 1, n);
    if (med > 0 && describe_quantile_ci(s, n, 0.5, confidence, &lo, &hi, NULL))
        rel = (hi - lo) / 2.0 / med;
out:
    free(s);
    return rel;
}

bool stopping_cell_done(const double *ttft_ms, size_t n, double target_rel_ci, long min_repetitions)
{
    if (min_repetitions > 0 && n < (size_t)min_repetitions)
        return false;
    double rel = stopping_median_rel_halfwidth(ttft_ms, n, 0.95);
    return rel >= 0 && rel <= target_rel_ci;
}
