/* describe.c - per-sample summaries (describe.h). */
#include "stats/describe.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>

double describe_tcrit(double level, double df)
{
    return gsl_cdf_tdist_Pinv(1.0 - (1.0 - level) / 2.0, df);
}

bool describe_quantile_ci(const double *sorted, size_t n, double q, double level, double *lo,
                          double *hi, double *achieved)
{
    double tail = (1.0 - level) / 2.0;
    if (n < 1)
        return false;
    /* lower rank l (1-based): largest with P(B <= l-1) <= tail */
    size_t l = 0;
    for (size_t k = 1; k <= n; k++) {
        if (gsl_cdf_binomial_P((unsigned)(k - 1), q, (unsigned)n) <= tail)
            l = k;
        else
            break;
    }
    /* upper rank u: smallest with P(B >= u) <= tail, i.e. P(B <= u-1) >= 1 - tail */
    size_t u = 0;
    for (size_t k = n; k >= 1; k--) {
        if (gsl_cdf_binomial_Q((unsigned)(k - 1), q, (unsigned)n) <= tail)
            u = k;
        else
            break;
    }
    if (l == 0 || u == 0 || u < l)
        return false;
    *lo = sorted[l - 1];
    *hi = sorted[u - 1];
    if (achieved) {
        double below = gsl_cdf_binomial_P((unsigned)(l - 1), q, (unsigned)n);
        double above = gsl_cdf_binomial_Q((unsigned)(u - 1), q, (unsigned)n);
        *achieved = 1.0 - below - above;
    }
    return true;
}

kv_status describe_sample(const double *x, size_t n, double level, describe_summary *out, char *err)
{
    memset(out, 0, sizeof *out);
    out->level = level;
    if (n < 1)
        return kv_fail(err, KV_ERR_STATS, "no observations");
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return kv_fail(err, KV_ERR_STATS, "observation %zu is not a finite number", i);
    double *s = malloc(n * sizeof *s), *dev = malloc(n * sizeof *dev);
    if (!s || !dev) {
        free(s);
        free(dev);
        return kv_fail(err, KV_ERR_NOMEM, "out of memory");
    }
    memcpy(s, x, n * sizeof *s);
    gsl_sort(s, 1, n);
    out->n = n;
    out->mean = gsl_stats_mean(x, 1, n);
    out->sd = n > 1 ? gsl_stats_sd_m(x, 1, n, out->mean) : NAN;
    if (n > 1) {
        double h = describe_tcrit(level, (double)(n - 1)) * out->sd / sqrt((double)n);
        out->mean_ci[0] = out->mean - h;
        out->mean_ci[1] = out->mean + h;
        out->has_mean_ci = true;
    }
    out->median = gsl_stats_median_from_sorted_data(s, 1, n);
    out->has_median_ci = describe_quantile_ci(s, n, 0.5, level, &out->median_ci[0],
                                              &out->median_ci[1], &out->median_ci_level);
    out->p90 = gsl_stats_quantile_from_sorted_data(s, 1, n, 0.90);
    out->p99 = gsl_stats_quantile_from_sorted_data(s, 1, n, 0.99);
    out->has_p90_ci =
        describe_quantile_ci(s, n, 0.90, level, &out->p90_ci[0], &out->p90_ci[1], NULL);
    out->has_p99_ci =
        describe_quantile_ci(s, n, 0.99, level, &out->p99_ci[0], &out->p99_ci[1], NULL);
    out->q1 = gsl_stats_quantile_from_sorted_data(s, 1, n, 0.25);
    out->q3 = gsl_stats_quantile_from_sorted_data(s, 1, n, 0.75);
    out->iqr = out->q3 - out->q1;
    for (size_t i = 0; i < n; i++)
        dev[i] = fabs(s[i] - out->median);
    gsl_sort(dev, 1, n);
    out->mad = 1.482602218505602 * gsl_stats_median_from_sorted_data(dev, 1, n);
    out->cv = out->mean > 0 && n > 1 ? out->sd / out->mean : NAN;
    out->min = s[0];
    out->max = s[n - 1];
    out->fence_mild[0] = out->q1 - 1.5 * out->iqr;
    out->fence_mild[1] = out->q3 + 1.5 * out->iqr;
    out->fence_severe[0] = out->q1 - 3.0 * out->iqr;
    out->fence_severe[1] = out->q3 + 3.0 * out->iqr;
    out->whisker_low = out->max;
    out->whisker_high = out->min;
    for (size_t i = 0; i < n; i++) {
        double v = s[i];
        if (v < out->fence_severe[0] || v > out->fence_severe[1])
            out->severe++;
        else if (v < out->fence_mild[0] || v > out->fence_mild[1])
            out->mild++;
        if (v >= out->fence_mild[0] && v <= out->fence_mild[1]) {
            out->whisker_low = v < out->whisker_low ? v : out->whisker_low;
            out->whisker_high = v > out->whisker_high ? v : out->whisker_high;
        }
    }
    out->lag1 = n >= 3 && out->sd > 0 ? gsl_stats_lag1_autocorrelation(x, 1, n) : NAN;
    free(s);
    free(dev);
    return KV_OK;
}
