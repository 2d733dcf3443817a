/* stalls.c - stall detection (stalls.h): one cell's rule, then grouping by x. */
#include "stats/stalls.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

static double stalls_median_sorted(const double *s, size_t n)
{
    return n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

size_t stalls_flag(const double *v, size_t n, bool *flag, double *ratio, double *median)
{
    for (size_t i = 0; i < n; i++) {
        flag[i] = false;
        if (ratio)
            ratio[i] = NAN;
    }
    if (median)
        *median = NAN;
    if (n == 0)
        return 0;
    double *s = malloc(n * sizeof *s);
    if (!s)
        return (size_t)-1;
    memcpy(s, v, n * sizeof *s);
    qsort(s, n, sizeof *s, kv_cmp_double);
    double med = stalls_median_sorted(s, n);
    if (median)
        *median = med;
    for (size_t i = 0; i < n && ratio; i++)
        ratio[i] = med > 0 ? v[i] / med : NAN;
    size_t found = 0;
    if (n < STALLS_MIN_N || !(s[0] > 0) || !isfinite(s[n - 1])) {
        free(s);
        return 0;
    }
    double lmed = log(med);
    for (size_t i = 0; i < n; i++)
        s[i] = fabs(log(s[i]) - lmed);
    qsort(s, n, sizeof *s, kv_cmp_double);
    double mad = 1.4826 * stalls_median_sorted(s, n);
    double cut = STALLS_K * mad > log(STALLS_MIN_RATIO) ? STALLS_K * mad : log(STALLS_MIN_RATIO);
    for (size_t i = 0; i < n; i++)
        if (log(v[i]) - lmed > cut) {
            flag[i] = true;
            found++;
        }
    free(s);
    return found;
}

size_t stalls_flag_by_x(const double *x, const double *y, size_t n, bool *flag, double *ratio)
{
    size_t *idx = malloc((n ? n : 1) * sizeof *idx);
    double *v = malloc((n ? n : 1) * sizeof *v), *r = malloc((n ? n : 1) * sizeof *r);
    bool *done = calloc(n ? n : 1, sizeof *done), *f = malloc((n ? n : 1) * sizeof *f);
    size_t found = 0;
    if (!idx || !v || !r || !done || !f) {
        found = (size_t)-1;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (done[i])
            continue;
        size_t m = 0;
        for (size_t j = i; j < n; j++)
            if (!done[j] && x[j] == x[i]) {
                done[j] = true;
                idx[m] = j;
                v[m++] = y[j];
            }
        size_t got = stalls_flag(v, m, f, r, NULL);
        if (got == (size_t)-1) {
            found = (size_t)-1;
            goto out;
        }
        found += got;
        for (size_t k = 0; k < m; k++) {
            flag[idx[k]] = f[k];
            if (ratio)
                ratio[idx[k]] = r[k];
        }
    }
out:
    free(idx);
    free(v);
    free(r);
    free(done);
    free(f);
    return found;
}
