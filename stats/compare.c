/* compare.c - two-sample comparisons (compare.h): log-scale ratio, rank
 * tests, Hodges-Lehmann, bootstrap-t ratio of means, Holm. */
#include "stats/compare.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>

kv_status compare_gm_ratio(const double *x, size_t nx, const double *y, size_t ny, bool paired,
                           double level, compare_estimate *out, char *err)
{
    memset(out, 0, sizeof *out);
    if (nx < 1 || ny < 1)
        return kv_fail(err, KV_ERR_STATS, "ratio of geometric means needs values on both sides");
    if (paired && nx != ny)
        return kv_fail(err, KV_ERR_STATS, "paired samples differ in size (%zu vs %zu)", nx, ny);
    double *lx = malloc(nx * sizeof *lx), *ly = malloc(ny * sizeof *ly);
    kv_status st = KV_OK;
    if (!lx || !ly) {
        st = kv_fail(err, KV_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < nx; i++) {
        if (!(x[i] > 0) || !isfinite(x[i])) {
            st = kv_fail(err, KV_ERR_STATS, "time %.17g is not positive", x[i]);
            goto out;
        }
        lx[i] = log(x[i]);
    }
    for (size_t i = 0; i < ny; i++) {
        if (!(y[i] > 0) || !isfinite(y[i])) {
            st = kv_fail(err, KV_ERR_STATS, "time %.17g is not positive", y[i]);
            goto out;
        }
        ly[i] = log(y[i]);
    }
    double d, se, df;
    if (paired) {
        for (size_t i = 0; i < nx; i++)
            lx[i] -= ly[i];
        d = gsl_stats_mean(lx, 1, nx);
        se = nx > 1 ? gsl_stats_sd_m(lx, 1, nx, d) / sqrt((double)nx) : NAN;
        df = (double)nx - 1;
    } else {
        double mx = gsl_stats_mean(lx, 1, nx), my = gsl_stats_mean(ly, 1, ny);
        d = mx - my;
        if (nx > 1 && ny > 1) {
            double vx = gsl_stats_variance_m(lx, 1, nx, mx) / (double)nx;
            double vy = gsl_stats_variance_m(ly, 1, ny, my) / (double)ny;
            se = sqrt(vx + vy);
            df = (vx + vy) * (vx + vy) / (vx * vx / ((double)nx - 1) + vy * vy / ((double)ny - 1));
        } else {
            se = df = NAN;
        }
    }
    out->value = exp(d);
    if (se > 0 && df > 0) {
        double t = gsl_cdf_tdist_Pinv(1.0 - (1.0 - level) / 2.0, df);
        out->ci[0] = exp(d - t * se);
        out->ci[1] = exp(d + t * se);
        out->has_ci = true;
    }
out:
    free(lx);
    free(ly);
    return st;
}

/* Mid-ranks of v (n values) into r; returns sum of (t^3 - t) over ties. */
static double compare_ranks(const double *v, size_t n, double *r)
{
    size_t *idx = malloc(n * sizeof *idx);
    double ties = 0;
    if (!idx)
        return NAN;
    gsl_sort_index(idx, v, 1, n);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j + 1 < n && v[idx[j + 1]] == v[idx[i]])
            j++;
        double mid = ((double)i + (double)j) / 2.0 + 1.0, t = (double)(j - i + 1);
        for (size_t k = i; k <= j; k++)
            r[idx[k]] = mid;
        ties += t * t * t - t;
        i = j + 1;
    }
    free(idx);
    return ties;
}

double compare_rank_test_p(const double *x, size_t nx, const double *y, size_t ny, bool paired)
{
    double p = NAN;
    if (paired) {
        if (nx != ny || nx < 1)
            return NAN;
        double *d = malloc(nx * sizeof *d), *a = malloc(nx * sizeof *a),
               *r = malloc(nx * sizeof *r);
        size_t m = 0;
        if (!d || !a || !r)
            goto outp;
        for (size_t i = 0; i < nx; i++)
            if (x[i] - y[i] != 0) {
                d[m] = x[i] - y[i];
                a[m] = fabs(d[m]);
                m++;
            }
        if (m == 0) {
            p = 1.0;
            goto outp;
        }
        double ties = compare_ranks(a, m, r), wplus = 0, dm = (double)m;
        for (size_t i = 0; i < m; i++)
            if (d[i] > 0)
                wplus += r[i];
        double mu = dm * (dm + 1) / 4.0;
        double var = dm * (dm + 1) * (2 * dm + 1) / 24.0 - ties / 48.0;
        if (var > 0) {
            double z = (fabs(wplus - mu) - 0.5) / sqrt(var);
            p = 2.0 * gsl_cdf_ugaussian_Q(z > 0 ? z : 0);
            p = p > 1 ? 1 : p;
        }
    outp:
        free(d);
        free(a);
        free(r);
        return p;
    }
    if (nx < 1 || ny < 1)
        return NAN;
    size_t n = nx + ny;
    double *v = malloc(n * sizeof *v), *r = malloc(n * sizeof *r);
    if (!v || !r)
        goto outu;
    memcpy(v, x, nx * sizeof *v);
    memcpy(v + nx, y, ny * sizeof *v);
    double ties = compare_ranks(v, n, r), rx = 0, dn = (double)n;
    for (size_t i = 0; i < nx; i++)
        rx += r[i];
    double u = rx - (double)nx * ((double)nx + 1) / 2.0;
    double mu = (double)nx * (double)ny / 2.0;
    double var = (double)nx * (double)ny / 12.0 * ((dn + 1) - ties / (dn * (dn - 1)));
    if (var > 0) {
        double z = (fabs(u - mu) - 0.5) / sqrt(var);
        p = 2.0 * gsl_cdf_ugaussian_Q(z > 0 ? z : 0);
        p = p > 1 ? 1 : p;
    }
outu:
    free(v);
    free(r);
    return p;
}

kv_status compare_hodges_lehmann(const double *x, size_t nx, const double *y, size_t ny,
                                 bool paired, double level, compare_estimate *out, char *err)
{
    memset(out, 0, sizeof *out);
    if (nx < 1 || ny < 1 || (paired && nx != ny))
        return kv_fail(err, KV_ERR_STATS, "Hodges-Lehmann needs values on both sides");
    size_t m = paired ? nx * (nx + 1) / 2 : nx * ny;
    double *w = malloc(m * sizeof *w);
    if (!w)
        return kv_fail(err, KV_ERR_NOMEM, "out of memory");
    size_t k = 0;
    if (paired) {
        for (size_t i = 0; i < nx; i++)
            for (size_t j = i; j < nx; j++)
                w[k++] = ((x[i] - y[i]) + (x[j] - y[j])) / 2.0;
    } else {
        for (size_t i = 0; i < nx; i++)
            for (size_t j = 0; j < ny; j++)
                w[k++] = x[i] - y[j];
    }
    gsl_sort(w, 1, m);
    out->value = gsl_stats_median_from_sorted_data(w, 1, m);
    double z = gsl_cdf_ugaussian_Pinv(1.0 - (1.0 - level) / 2.0), c;
    if (paired) {
        double dn = (double)nx;
        c = dn * (dn + 1) / 4.0 - z * sqrt(dn * (dn + 1) * (2 * dn + 1) / 24.0);
    } else {
        double a = (double)nx, b = (double)ny;
        c = a * b / 2.0 - z * sqrt(a * b * (a + b + 1) / 12.0);
    }
    long lo = (long)floor(c); /* 0-based index of the lower limit */
    if (lo >= 0 && (size_t)lo < m && m - 1 - (size_t)lo >= (size_t)lo) {
        out->ci[0] = w[lo];
        out->ci[1] = w[m - 1 - (size_t)lo];
        out->has_ci = true;
    }
    free(w);
    return KV_OK;
}

static double compare_log_se(const double *x, size_t n, double *mean)
{
    double m = gsl_stats_mean(x, 1, n);
    *mean = m;
    return gsl_stats_variance_m(x, 1, n, m) / ((double)n * m * m);
}

kv_status compare_ratio_of_means(const double *x, size_t nx, const double *y, size_t ny,
                                 long resamples, uint64_t seed, double level, compare_estimate *out,
                                 char *err)
{
    memset(out, 0, sizeof *out);
    if (nx < 2 || ny < 2)
        return kv_fail(err, KV_ERR_STATS,
                       "a ratio of means needs at least 2 values per side "
                       "(got %zu and %zu)",
                       nx, ny);
    double mx, my;
    double vx = compare_log_se(x, nx, &mx), vy = compare_log_se(y, ny, &my);
    if (!(mx > 0) || !(my > 0))
        return kv_fail(err, KV_ERR_STATS, "a ratio of means needs positive means");
    double theta = log(mx / my), se = sqrt(vx + vy);
    out->value = mx / my;
    if (!(se > 0)) {
        out->ci[0] = out->ci[1] = out->value;
        out->has_ci = true;
        return KV_OK;
    }
    if (resamples < 100)
        resamples = 100;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    double *t = malloc((size_t)resamples * sizeof *t);
    double *bx = malloc(nx * sizeof *bx), *by = malloc(ny * sizeof *by);
    kv_status st = KV_OK;
    if (!rng || !t || !bx || !by) {
        st = kv_fail(err, KV_ERR_NOMEM, "out of memory");
        goto out;
    }
    gsl_rng_set(rng, (unsigned long)(seed ^ (seed >> 32)));
    size_t m = 0;
    for (long b = 0; b < resamples; b++) {
        for (size_t i = 0; i < nx; i++)
            bx[i] = x[gsl_rng_uniform_int(rng, nx)];
        for (size_t i = 0; i < ny; i++)
            by[i] = y[gsl_rng_uniform_int(rng, ny)];
        double bmx, bmy;
        double bvx = compare_log_se(bx, nx, &bmx), bvy = compare_log_se(by, ny, &bmy);
        double bse = sqrt(bvx + bvy);
        if (bmx > 0 && bmy > 0 && bse > 0)
            t[m++] = (log(bmx / bmy) - theta) / bse;
    }
    if (m < 10) {
        st = kv_fail(err, KV_ERR_STATS, "too few usable bootstrap resamples");
        goto out;
    }
    gsl_sort(t, 1, m);
    double a = (1.0 - level) / 2.0;
    double tlo = gsl_stats_quantile_from_sorted_data(t, 1, m, a);
    double thi = gsl_stats_quantile_from_sorted_data(t, 1, m, 1.0 - a);
    out->ci[0] = exp(theta - thi * se);
    out->ci[1] = exp(theta - tlo * se);
    out->has_ci = true;
out:
    gsl_rng_free(rng);
    free(t);
    free(bx);
    free(by);
    return st;
}

kv_status compare_ratio_of_means_delta(const double *x, size_t nx, const double *y, size_t ny,
                                       double level, compare_estimate *out, double *df, char *err)
{
    memset(out, 0, sizeof *out);
    *df = NAN;
    if (nx < 2 || ny < 2)
        return kv_fail(err, KV_ERR_STATS,
                       "a ratio of means needs at least 2 values per side "
                       "(got %zu and %zu)",
                       nx, ny);
    double mx, my;
    double vx = compare_log_se(x, nx, &mx), vy = compare_log_se(y, ny, &my);
    if (!(mx > 0) || !(my > 0))
        return kv_fail(err, KV_ERR_STATS, "a ratio of means needs positive means");
    double theta = log(mx / my), se2 = vx + vy;
    out->value = mx / my;
    out->has_ci = true;
    if (!(se2 > 0) || !isfinite(se2)) {
        out->ci[0] = out->ci[1] = out->value;
        return KV_OK;
    }
    /* Welch-Satterthwaite: each side's variance term has n - 1 df */
    double nu = se2 * se2 / (vx * vx / (double)(nx - 1) + vy * vy / (double)(ny - 1));
    double t = gsl_cdf_tdist_Pinv(1.0 - (1.0 - level) / 2.0, nu), se = sqrt(se2);
    *df = nu;
    out->ci[0] = exp(theta - t * se);
    out->ci[1] = exp(theta + t * se);
    return KV_OK;
}

void compare_holm(const double *p, size_t m, double *adj)
{
    size_t k = 0;
    size_t *idx = malloc((m ? m : 1) * sizeof *idx);
    double *v = malloc((m ? m : 1) * sizeof *v);
    for (size_t i = 0; i < m; i++)
        adj[i] = NAN;
    if (!idx || !v)
        goto out;
    for (size_t i = 0; i < m; i++)
        if (isfinite(p[i]))
            v[k++] = p[i];
    if (k == 0)
        goto out;
    size_t *order = idx;
    gsl_sort_index(order, v, 1, k);
    double run = 0;
    double *res = malloc((k ? k : 1) * sizeof *res);
    if (!res)
        goto out;
    for (size_t r = 0; r < k; r++) {
        double a = (double)(k - r) * v[order[r]];
        a = a > 1 ? 1 : a;
        run = a > run ? a : run;
        res[order[r]] = run;
    }
    for (size_t i = 0, j = 0; i < m; i++)
        if (isfinite(p[i]))
            adj[i] = res[j++];
    free(res);
out:
    free(idx);
    free(v);
}
