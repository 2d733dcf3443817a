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
                           double level, estimate *out, char *err)
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
        out->lo = exp(d - t * se);
        out->hi = exp(d + t * se);
        out->has_ci = true;
        out->level = level;
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

/* ---- exact null distributions ---------------------------------------------
 * Counts of the arrangements giving each value of the statistic, as the
 * coefficients of a generating function: Mann-Whitney U of sizes m and n is
 * the Gaussian binomial [m+n choose m]_q = prod_i (1 - q^(n+i)) / (1 - q^i),
 * the signed-rank V of n differences is prod_i (1 + q^i). The lower tail is
 * computed from small integers only, so it is exact; the caller uses the
 * lower tail (both statistics are symmetric). */

typedef struct rank_null {
    double *c; /* c[s] = arrangements with statistic s, s = 0..deg */
    size_t deg;
    double total;
} rank_null;

static bool rank_null_init(rank_null *z, size_t m, size_t n, bool paired)
{
    z->deg = paired ? m * (m + 1) / 2 : m * n;
    z->c = calloc(z->deg + m + 2, sizeof *z->c);
    if (!z->c)
        return false;
    z->c[0] = 1;
    for (size_t i = 1; i <= m; i++) {
        if (paired) {
            for (size_t k = z->deg; k >= i; k--)
                z->c[k] += z->c[k - i];
            continue;
        }
        size_t top = z->deg + m + 1;
        for (size_t k = top; k >= n + i; k--)
            z->c[k] -= z->c[k - n - i];
        for (size_t k = i; k <= top; k++)
            z->c[k] += z->c[k - i];
    }
    z->total = 0;
    for (size_t k = 0; k <= z->deg; k++)
        z->total += z->c[k];
    return true;
}

/* P(S <= q) */
static double rank_null_cdf(const rank_null *z, double q)
{
    if (q < 0)
        return 0;
    double s = 0;
    for (size_t k = 0; k <= z->deg && (double)k <= q; k++)
        s += z->c[k];
    return s / z->total > 1 ? 1 : s / z->total;
}

/* Smallest q with P(S <= q) >= p (R's qwilcox / qsignrank). */
static size_t rank_null_quantile(const rank_null *z, double p)
{
    double s = 0;
    for (size_t k = 0; k <= z->deg; k++) {
        s += z->c[k];
        if (s / z->total >= p * (1 - 64 * 2.2e-16))
            return k;
    }
    return z->deg;
}

/* Two-sided exact p-value of statistic w with null mean mu (as R). */
static double rank_exact_p(size_t m, size_t n, bool paired, double w)
{
    rank_null z;
    if (!rank_null_init(&z, m, n, paired))
        return NAN;
    double mu = (double)z.deg / 2.0, p;
    /* P(S >= w) = P(S <= deg - w) by symmetry: the lower tail is exact */
    p = w > mu ? rank_null_cdf(&z, (double)z.deg - w) : rank_null_cdf(&z, w);
    free(z.c);
    p = 2 * p;
    return p > 1 ? 1 : p;
}

/* ---- rank tests ----------------------------------------------------------- */

static double normal_p(double stat, double mu, double var)
{
    if (!(var > 0))
        return NAN;
    double z = (fabs(stat - mu) - 0.5) / sqrt(var);
    double p = 2.0 * gsl_cdf_ugaussian_Q(z > 0 ? z : 0);
    return p > 1 ? 1 : p;
}

static double signed_rank_p(const double *x, const double *y, size_t nx)
{
    double *d = malloc(nx * sizeof *d), *a = malloc(nx * sizeof *a), *r = malloc(nx * sizeof *r);
    double p = NAN;
    size_t m = 0;
    if (!d || !a || !r)
        goto out;
    for (size_t i = 0; i < nx; i++)
        if (x[i] - y[i] != 0) {
            d[m] = x[i] - y[i];
            a[m] = fabs(d[m]);
            m++;
        }
    if (m == 0) {
        p = 1.0;
        goto out;
    }
    double ties = compare_ranks(a, m, r), wplus = 0, dm = (double)m;
    for (size_t i = 0; i < m; i++)
        if (d[i] > 0)
            wplus += r[i];
    if (m < 50 && ties == 0 && m == nx)
        p = rank_exact_p(m, m, true, wplus);
    else
        p = normal_p(wplus, dm * (dm + 1) / 4.0, dm * (dm + 1) * (2 * dm + 1) / 24.0 - ties / 48.0);
out:
    free(d);
    free(a);
    free(r);
    return p;
}

static double mann_whitney_p(const double *x, size_t nx, const double *y, size_t ny)
{
    size_t n = nx + ny;
    double *v = malloc(n * sizeof *v), *r = malloc(n * sizeof *r), p = NAN;
    if (!v || !r)
        goto out;
    memcpy(v, x, nx * sizeof *v);
    memcpy(v + nx, y, ny * sizeof *v);
    double ties = compare_ranks(v, n, r), rx = 0, dn = (double)n;
    for (size_t i = 0; i < nx; i++)
        rx += r[i];
    double u = rx - (double)nx * ((double)nx + 1) / 2.0;
    if (nx < 50 && ny < 50 && ties == 0)
        p = rank_exact_p(nx, ny, false, u);
    else
        p = normal_p(u, (double)nx * (double)ny / 2.0,
                     (double)nx * (double)ny / 12.0 * ((dn + 1) - ties / (dn * (dn - 1))));
out:
    free(v);
    free(r);
    return p;
}

double compare_rank_test_p(const double *x, size_t nx, const double *y, size_t ny, bool paired)
{
    if (paired)
        return nx == ny && nx >= 1 ? signed_rank_p(x, y, nx) : NAN;
    return nx >= 1 && ny >= 1 ? mann_whitney_p(x, nx, y, ny) : NAN;
}

/* ---- Hodges-Lehmann -------------------------------------------------------- */

/* The pairwise values as an implicit matrix, never materialised: row i,
 * column j holds x[i] - y[j] with x ascending and y descending (unpaired),
 * or the Walsh average (x[i] + x[j]) / 2 of the ascending differences for
 * j >= i (paired). Rounding is monotone, so the computed doubles ascend
 * along rows and columns as the exact values do, and counting them with two
 * pointers gives the ranks of the brute-force sort exactly. */
typedef struct hl_matrix {
    double *x, *y; /* owned sorted copies */
    size_t nx, ny;
    bool paired;
    size_t *lo, *hi; /* candidate columns of row i: [lo[i], hi[i]) */
    size_t *pos;     /* scratch: per-row count below a pivot */
    size_t *cum;     /* cum[i]: candidates in rows before i (nx + 1 entries) */
    uint64_t rng;
} hl_matrix;

static double hl_at(const hl_matrix *h, size_t i, size_t j)
{
    return h->paired ? (h->x[i] + h->x[j]) / 2.0 : h->x[i] - h->y[j];
}

static size_t hl_row_start(const hl_matrix *h, size_t i)
{
    return h->paired ? i : 0;
}

/* Per row, the first column whose value is >= t (strict: > t), clamped to
 * the row's start, into h->pos; returns the total count before them. */
static size_t hl_count(hl_matrix *h, double t, bool strict)
{
    size_t total = 0, j = h->ny;
    for (size_t i = 0; i < h->nx; i++) {
        while (j > 0 && (strict ? hl_at(h, i, j - 1) > t : hl_at(h, i, j - 1) >= t))
            j--;
        size_t s = hl_row_start(h, i), p = j > s ? j : s;
        h->pos[i] = p;
        total += p - s;
    }
    return total;
}

static uint64_t hl_rand(hl_matrix *h)
{
    h->rng ^= h->rng << 13;
    h->rng ^= h->rng >> 7;
    h->rng ^= h->rng << 17;
    return h->rng;
}

/* A uniformly drawn remaining candidate (xorshift, then the row by binary
 * search of cum; any pivot gives the same answer, only the number of
 * rounds depends on it). */
static double hl_sample(hl_matrix *h, size_t remaining)
{
    size_t r = (size_t)(hl_rand(h) % remaining), a = 0, b = h->nx;
    while (b - a > 1) { /* the row i with cum[i] <= r < cum[i + 1] */
        size_t mid = a + (b - a) / 2;
        if (h->cum[mid] <= r)
            a = mid;
        else
            b = mid;
    }
    return hl_at(h, a, h->lo[a] + (r - h->cum[a]));
}

static void hl_swap(double *a, double *b)
{
    double t = *a;
    *a = *b;
    *b = t;
}

/* The k-th smallest of v[0..n) (quickselect, pivots from the generator;
 * v is reordered). */
static double hl_quickselect(hl_matrix *h, double *v, size_t n, size_t k)
{
    size_t lo = 0, hi = n; /* the answer's index is in [lo, hi) */
    while (hi - lo > 1) {
        hl_swap(&v[lo], &v[lo + (size_t)(hl_rand(h) % (hi - lo))]);
        double p = v[lo];
        size_t lt = lo, gt = hi, i = lo + 1; /* [lo,lt) < p, [lt,i) == p, [gt,hi) > p */
        while (i < gt) {
            if (v[i] < p)
                hl_swap(&v[lt++], &v[i++]);
            else if (v[i] > p)
                hl_swap(&v[i], &v[--gt]);
            else
                i++;
        }
        if (k < lt)
            hi = lt;
        else if (k >= gt)
            lo = gt;
        else
            return p;
    }
    return v[lo];
}

/* Once few candidates remain (HL_GATHER), they are copied out and the
 * answer selected among them: the rounds of the matrix selection cost
 * O(n) each however few candidates are left. NAN when out of memory (the
 * caller goes on with rounds). */
#define HL_GATHER(n) ((n) < 65536 ? (size_t)524288 : 8 * (n))

static double hl_gather(hl_matrix *h, size_t remaining, size_t k)
{
    double *v = malloc(remaining * sizeof *v);
    if (!v)
        return NAN;
    size_t n = 0, below = 0;
    for (size_t i = 0; i < h->nx; i++) {
        below += h->lo[i] - hl_row_start(h, i);
        for (size_t j = h->lo[i]; j < h->hi[i]; j++)
            v[n++] = hl_at(h, i, j);
    }
    double t = hl_quickselect(h, v, n, k - below);
    free(v);
    return t;
}

static int hl_cmp_up(const void *a, const void *b)
{
    double u = *(const double *)a, v = *(const double *)b;
    return (u > v) - (u < v);
}

/* Candidates left (cum filled); empty rows made [lo, lo). */
static size_t hl_remaining(hl_matrix *h)
{
    size_t remaining = 0;
    for (size_t i = 0; i < h->nx; i++) {
        if (h->hi[i] < h->lo[i])
            h->hi[i] = h->lo[i];
        h->cum[i] = remaining;
        remaining += h->hi[i] - h->lo[i];
    }
    h->cum[h->nx] = remaining;
    return remaining;
}

/* Two pivots a <= b drawn to bracket the answer (Floyd and Rivest): the
 * sample quantiles HL_SPREAD (three binomial standard deviations of the
 * sample rank) either side of its rank among the candidates, so a round
 * keeps about a twentieth of them. */
#define HL_SAMPLES 4096
#define HL_SPREAD 96

static void hl_pivots(hl_matrix *h, size_t remaining, size_t rank, double *a, double *b)
{
    double s[HL_SAMPLES];
    for (size_t i = 0; i < HL_SAMPLES; i++)
        s[i] = hl_sample(h, remaining);
    qsort(s, HL_SAMPLES, sizeof s[0], hl_cmp_up);
    double q = (double)rank / (double)remaining * HL_SAMPLES;
    size_t ia = q > HL_SPREAD ? (size_t)(q - HL_SPREAD) : 0;
    size_t ib = q + HL_SPREAD < HL_SAMPLES - 1 ? (size_t)(q + HL_SPREAD) : HL_SAMPLES - 1;
    *a = s[ia];
    *b = s[ib];
}

/* Narrows the candidates to one side of pivot t, or finds the answer t:
 * 1 found, 0 the answer is below t (hi moved), 2 above (lo moved). */
static int hl_narrow(hl_matrix *h, size_t k, double t)
{
    if (k < hl_count(h, t, false)) {
        for (size_t i = 0; i < h->nx; i++)
            h->hi[i] = h->pos[i] < h->hi[i] ? h->pos[i] : h->hi[i];
        return 0;
    }
    if (k < hl_count(h, t, true))
        return 1;
    for (size_t i = 0; i < h->nx; i++)
        h->lo[i] = h->pos[i] > h->lo[i] ? h->pos[i] : h->lo[i];
    return 2;
}

/* The k-th smallest (0-based) pairwise value: O(n) per round, each round
 * keeping the candidates between two pivots that bracket the answer (a few
 * rounds), then a selection among the few left. Every round drops at least
 * one pivot and keeps the answer. */
static double hl_select(hl_matrix *h, size_t k)
{
    for (size_t i = 0; i < h->nx; i++) {
        h->lo[i] = hl_row_start(h, i);
        h->hi[i] = h->ny;
    }
    for (;;) {
        size_t remaining = hl_remaining(h), below = 0;
        for (size_t i = 0; i < h->nx; i++)
            below += h->lo[i] - hl_row_start(h, i);
        double g = remaining <= HL_GATHER(h->nx + h->ny) ? hl_gather(h, remaining, k) : NAN;
        if (!isnan(g))
            return g;
        double a, b;
        hl_pivots(h, remaining, k - below, &a, &b);
        int side = hl_narrow(h, k, a);
        if (side == 1)
            return a;
        if (side == 2 && hl_narrow(h, k, b) == 1)
            return b;
    }
}

/* Would R use the exact distribution (fewer than 50 values, no ties, no
 * zero differences)? false also when out of memory. */
static bool hl_exact_applies(const double *x, size_t nx, const double *y, size_t ny, bool paired)
{
    size_t n = paired ? nx : nx + ny;
    if ((paired && nx >= 50) || (!paired && (nx >= 50 || ny >= 50)))
        return false;
    double *v = malloc(n * sizeof *v), *r = malloc(n * sizeof *r);
    bool ok = v && r;
    for (size_t i = 0; ok && i < n; i++) {
        v[i] = paired ? fabs(x[i] - y[i]) : i < nx ? x[i] : y[i - nx];
        ok = !(paired && v[i] == 0);
    }
    ok = ok && compare_ranks(v, n, r) == 0;
    free(v);
    free(r);
    return ok;
}

/* Exact interval from the m pairwise values: ranks as R's wilcox.test. */
static bool hl_exact_interval(hl_matrix *w, size_t m, size_t nx, size_t ny, bool paired,
                              double level, estimate *out)
{
    rank_null z;
    if (!rank_null_init(&z, nx, ny, paired))
        return false;
    size_t qu = rank_null_quantile(&z, (1.0 - level) / 2.0);
    if (qu == 0)
        qu = 1;
    double achieved = 1.0 - 2.0 * rank_null_cdf(&z, (double)qu - 1);
    free(z.c);
    if (qu > m || m - qu < qu - 1 || !(achieved > 0))
        return false;
    out->lo = hl_select(w, qu - 1);
    out->hi = hl_select(w, m - qu);
    out->level = achieved;
    out->has_ci = true;
    return true;
}

/* Moses interval from the normal approximation at the requested level. */
static void hl_normal_interval(hl_matrix *w, size_t m, size_t nx, size_t ny, bool paired,
                               double level, estimate *out)
{
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
        out->lo = hl_select(w, (size_t)lo);
        out->hi = hl_select(w, m - 1 - (size_t)lo);
        out->has_ci = true;
        out->level = level;
    }
}

static int hl_cmp_down(const void *a, const void *b)
{
    double u = *(const double *)a, v = *(const double *)b;
    return (u < v) - (u > v);
}

/* Sorted copies into h (x ascending, y descending; paired: the differences
 * ascending) and the per-row arrays; false when out of memory. */
static bool hl_matrix_init(hl_matrix *h, const double *x, size_t nx, const double *y, size_t ny,
                           bool paired)
{
    memset(h, 0, sizeof *h);
    h->paired = paired;
    h->nx = nx;
    h->ny = paired ? nx : ny;
    h->rng = 0x9e3779b97f4a7c15ULL;
    double *sx = malloc(nx * sizeof *sx), *sy = paired ? NULL : malloc(ny * sizeof *sy);
    h->lo = malloc(nx * sizeof *h->lo);
    h->hi = malloc(nx * sizeof *h->hi);
    h->pos = malloc(nx * sizeof *h->pos);
    h->cum = malloc((nx + 1) * sizeof *h->cum);
    h->x = sx;
    h->y = sy;
    if (!sx || (!paired && !sy) || !h->lo || !h->hi || !h->pos || !h->cum)
        return false;
    for (size_t i = 0; i < nx; i++)
        sx[i] = paired ? x[i] - y[i] : x[i];
    gsl_sort(sx, 1, nx);
    if (!paired) {
        memcpy(sy, y, ny * sizeof *sy);
        qsort(sy, ny, sizeof *sy, hl_cmp_down);
    }
    return true;
}

static void hl_matrix_free(hl_matrix *h)
{
    free(h->x);
    free(h->y);
    free(h->lo);
    free(h->hi);
    free(h->pos);
    free(h->cum);
}

kv_status compare_hodges_lehmann(const double *x, size_t nx, const double *y, size_t ny,
                                 bool paired, double level, estimate *out, char *err)
{
    memset(out, 0, sizeof *out);
    if (nx < 1 || ny < 1 || (paired && nx != ny))
        return kv_fail(err, KV_ERR_STATS, "Hodges-Lehmann needs values on both sides");
    size_t m = paired ? nx * (nx + 1) / 2 : nx * ny;
    hl_matrix w;
    if (!hl_matrix_init(&w, x, nx, y, ny, paired)) {
        hl_matrix_free(&w);
        return kv_fail(err, KV_ERR_NOMEM, "out of memory");
    }
    /* as gsl_stats_median_from_sorted_data over the sorted values */
    double hi = hl_select(&w, m / 2);
    out->value = m % 2 ? hi : (hl_select(&w, (m - 1) / 2) + hi) / 2.0;
    if (!(hl_exact_applies(x, nx, y, ny, paired) &&
          hl_exact_interval(&w, m, nx, ny, paired, level, out)))
        hl_normal_interval(&w, m, nx, ny, paired, level, out);
    hl_matrix_free(&w);
    return KV_OK;
}

kv_status compare_median_ratio(const double *x, size_t nx, const double *y, size_t ny, double level,
                               estimate *out, char *err)
{
    memset(out, 0, sizeof *out);
    if (nx < 1 || ny < 1)
        return kv_fail(err, KV_ERR_STATS, "a median ratio needs values on both sides");
    double *lx = malloc(nx * sizeof *lx), *ly = malloc(ny * sizeof *ly);
    kv_status st = KV_OK;
    if (!lx || !ly) {
        st = kv_fail(err, KV_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < nx + ny; i++) {
        double v = i < nx ? x[i] : y[i - nx];
        if (!(v > 0) || !isfinite(v)) {
            st = kv_fail(err, KV_ERR_STATS, "time %.17g is not positive", v);
            goto out;
        }
        if (i < nx)
            lx[i] = log(v);
        else
            ly[i - nx] = log(v);
    }
    st = compare_hodges_lehmann(lx, nx, ly, ny, false, level, out, err);
    out->value = exp(out->value);
    out->lo = exp(out->lo);
    out->hi = exp(out->hi);
out:
    free(lx);
    free(ly);
    return st;
}

static double compare_log_se(const double *x, size_t n, double *mean)
{
    double m = gsl_stats_mean(x, 1, n);
    *mean = m;
    return gsl_stats_variance_m(x, 1, n, m) / ((double)n * m * m);
}

/* The two sides' means and log-scale variances of a ratio of means, or an
 * error when a side has fewer than 2 values or a mean is not positive. */
static kv_status ratio_sides(const double *x, size_t nx, const double *y, size_t ny, double *mx,
                             double *my, double *vx, double *vy, char *err)
{
    if (nx < 2 || ny < 2)
        return kv_fail(err, KV_ERR_STATS,
                       "a ratio of means needs at least 2 values per side "
                       "(got %zu and %zu)",
                       nx, ny);
    *vx = compare_log_se(x, nx, mx);
    *vy = compare_log_se(y, ny, my);
    if (!(*mx > 0) || !(*my > 0))
        return kv_fail(err, KV_ERR_STATS, "a ratio of means needs positive means");
    return KV_OK;
}

kv_status compare_ratio_of_means(const double *x, size_t nx, const double *y, size_t ny,
                                 long resamples, uint64_t seed, double level, estimate *out,
                                 bool *percentile, char *err)
{
    if (percentile)
        *percentile = false;
    memset(out, 0, sizeof *out);
    double mx = 0, my = 0, vx = 0, vy = 0;
    kv_status st0 = ratio_sides(x, nx, y, ny, &mx, &my, &vx, &vy, err);
    if (st0 != KV_OK)
        return st0;
    double theta = log(mx / my), se = sqrt(vx + vy);
    out->value = mx / my;
    out->level = level;
    if (!(se > 0)) {
        out->lo = out->hi = out->value;
        out->has_ci = true;
        return KV_OK;
    }
    if (resamples < 100)
        resamples = 100;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    double *t = malloc((size_t)resamples * sizeof *t), *lr = malloc((size_t)resamples * sizeof *lr);
    double *bx = malloc(nx * sizeof *bx), *by = malloc(ny * sizeof *by);
    kv_status st = KV_OK;
    if (!rng || !t || !lr || !bx || !by) {
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
        if (bmx > 0 && bmy > 0 && bse > 0) {
            lr[m] = log(bmx / bmy);
            t[m] = (lr[m] - theta) / bse;
            m++;
        }
    }
    if (m < 10) {
        st = kv_fail(err, KV_ERR_STATS, "too few usable bootstrap resamples");
        goto out;
    }
    gsl_sort(t, 1, m);
    double a = (1.0 - level) / 2.0;
    double tlo = gsl_stats_quantile_from_sorted_data(t, 1, m, a);
    double thi = gsl_stats_quantile_from_sorted_data(t, 1, m, 1.0 - a);
    out->lo = exp(theta - thi * se);
    out->hi = exp(theta - tlo * se);
    out->has_ci = true;
    gsl_sort(lr, 1, m);
    if (out->lo < exp(lr[0]) || out->hi > exp(lr[m - 1])) {
        /* the bootstrap-t left every resample's ratio: use the percentiles */
        out->lo = exp(gsl_stats_quantile_from_sorted_data(lr, 1, m, a));
        out->hi = exp(gsl_stats_quantile_from_sorted_data(lr, 1, m, 1.0 - a));
        if (percentile)
            *percentile = true;
    }
out:
    gsl_rng_free(rng);
    free(lr);
    free(t);
    free(bx);
    free(by);
    return st;
}

kv_status compare_ratio_of_means_delta(const double *x, size_t nx, const double *y, size_t ny,
                                       double level, estimate *out, double *df, char *err)
{
    memset(out, 0, sizeof *out);
    *df = NAN;
    double mx = 0, my = 0, vx = 0, vy = 0;
    kv_status st0 = ratio_sides(x, nx, y, ny, &mx, &my, &vx, &vy, err);
    if (st0 != KV_OK)
        return st0;
    double theta = log(mx / my), se2 = vx + vy;
    out->value = mx / my;
    out->has_ci = true;
    out->level = level;
    if (!(se2 > 0) || !isfinite(se2)) {
        out->lo = out->hi = out->value;
        return KV_OK;
    }
    /* Welch-Satterthwaite: each side's variance term has n - 1 df */
    double nu = se2 * se2 / (vx * vx / (double)(nx - 1) + vy * vy / (double)(ny - 1));
    double t = gsl_cdf_tdist_Pinv(1.0 - (1.0 - level) / 2.0, nu), se = sqrt(se2);
    *df = nu;
    out->lo = exp(theta - t * se);
    out->hi = exp(theta + t * se);
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
