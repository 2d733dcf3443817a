/* test_stats_hl_select.c - the Hodges-Lehmann estimate and interval of
 * stats/compare.c, found by selection over the implicit matrix of pairwise
 * values, equal to the brute force (every pair materialised and sorted) on
 * many random small samples, with ties, zero differences, paired and not,
 * at several levels; and the median ratio likewise. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_rng.h>
#include <gsl/gsl_sort.h>

#include "stats/compare.h"
#include "tests/testutil.h"

/* The pairwise values sorted, as compare_hodges_lehmann built them before. */
static double *brute_pairs(const double *x, size_t nx, const double *y, size_t ny, bool paired,
                           size_t *m)
{
    *m = paired ? nx * (nx + 1) / 2 : nx * ny;
    double *w = malloc(*m * sizeof *w);
    assert_non_null(w);
    size_t k = 0;
    for (size_t i = 0; i < nx; i++)
        for (size_t j = paired ? i : 0; j < (paired ? nx : ny); j++)
            w[k++] = paired ? ((x[i] - y[i]) + (x[j] - y[j])) / 2.0 : x[i] - y[j];
    gsl_sort(w, 1, *m);
    return w;
}

/* Every value the selection returned is one of the sorted pairs at the
 * rank the interval rules give: the estimate equals the brute-force median,
 * and each limit equals a pair value with the right count below it. */
static void check_one(const double *x, size_t nx, const double *y, size_t ny, bool paired,
                      double level)
{
    size_t m;
    double *w = brute_pairs(x, nx, y, ny, paired, &m);
    double med = m % 2 ? w[m / 2] : (w[(m - 1) / 2] + w[m / 2]) / 2.0;
    estimate e;
    char err[KV_ERRLEN] = "";
    assert_int_equal(compare_hodges_lehmann(x, nx, y, ny, paired, level, &e, err), KV_OK);
    assert_true(e.value == med);
    if (e.has_ci) {
        /* the limits are symmetric ranks k and m-1-k of the sorted pairs */
        size_t k = 0;
        while (k < m && w[k] < e.lo)
            k++;
        assert_true(k < m && w[k] == e.lo);
        size_t r = m - 1;
        while (r > 0 && w[r] > e.hi)
            r--;
        assert_true(w[r] == e.hi);
        assert_true(e.lo <= e.hi);
    }
    free(w);
}

/* Draws n values: with ties (a few integer levels) or continuous. */
static void draw(gsl_rng *g, double *v, size_t n, bool ties, double shift)
{
    for (size_t i = 0; i < n; i++)
        v[i] = ties ? (double)gsl_rng_uniform_int(g, 5) + shift
                    : exp(gsl_rng_uniform(g) * 3.0) + shift;
}

static void test_hl_equals_brute_force(void **state)
{
    (void)state;
    gsl_rng *g = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(g, 20261201);
    double x[80], y[80];
    const double levels[] = {0.95, 0.9, 0.99, 0.5};
    for (int rep = 0; rep < 3000; rep++) {
        size_t nx = 1 + gsl_rng_uniform_int(g, rep < 2000 ? 12 : 70);
        size_t ny = 1 + gsl_rng_uniform_int(g, rep < 2000 ? 12 : 70);
        bool ties = rep % 3 == 0;
        draw(g, x, nx, ties, 0.0);
        draw(g, y, ny, ties, rep % 2 ? 0.5 : 0.0);
        double level = levels[rep % 4];
        check_one(x, nx, y, ny, false, level);
        size_t n = nx < ny ? nx : ny;
        if (rep % 5 == 0)
            memcpy(y, x, n * sizeof *y / 2); /* zero differences */
        check_one(x, n, y, n, true, level);
    }
    gsl_rng_free(g);
}

/* Past the size where the selection copies the candidates out (half a
 * million pairs), the rounds with two bracketing pivots run first: still
 * the brute-force ranks, with ties and without. */
static void test_hl_equals_brute_force_beyond_the_gather_size(void **state)
{
    (void)state;
    gsl_rng *g = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(g, 20261202);
    enum { N = 1600 };
    double *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y);
    assert_non_null(x);
    assert_non_null(y);
    for (int rep = 0; rep < 6; rep++) {
        size_t nx = 800 + gsl_rng_uniform_int(g, N - 800);
        size_t ny = 700 + gsl_rng_uniform_int(g, N - 700);
        bool ties = rep % 2 == 0;
        draw(g, x, nx, ties, 0.0);
        draw(g, y, ny, ties, 0.25);
        check_one(x, nx, y, ny, false, 0.95);
        size_t n = nx < ny ? nx : ny;
        if (n * (n + 1) / 2 > 524288)
            check_one(x, n, y, n, true, 0.9);
    }
    free(x);
    free(y);
    gsl_rng_free(g);
}

/* The exact old code path's ranks, recomputed from the brute force at the
 * sizes and levels of the R reference values (test_stats_compare.c holds
 * the values themselves). */
static void test_hl_limits_match_brute_ranks(void **state)
{
    (void)state;
    const double x5[] = {5.1, 6.3, 4.8, 7.2, 5.9}, y5[] = {4.0, 5.5, 3.9, 4.4, 6.1};
    size_t m;
    double *w = brute_pairs(x5, 5, y5, 5, false, &m);
    estimate e;
    char err[KV_ERRLEN] = "";
    assert_int_equal(compare_hodges_lehmann(x5, 5, y5, 5, false, 0.95, &e, err), KV_OK);
    /* qwilcox(0.025, 5, 5) = 3: limits w[2], w[22] */
    assert_true(e.lo == w[2] && e.hi == w[22]);
    free(w);
}

static void test_median_ratio_equals_brute_force(void **state)
{
    (void)state;
    gsl_rng *g = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(g, 7);
    double x[60], y[60], lx[60], ly[60];
    for (int rep = 0; rep < 500; rep++) {
        size_t nx = 1 + gsl_rng_uniform_int(g, 59), ny = 1 + gsl_rng_uniform_int(g, 59);
        draw(g, x, nx, rep % 2 == 0, 1.0);
        draw(g, y, ny, rep % 2 == 0, 1.0);
        for (size_t i = 0; i < nx; i++)
            lx[i] = log(x[i]);
        for (size_t i = 0; i < ny; i++)
            ly[i] = log(y[i]);
        size_t m;
        double *w = brute_pairs(lx, nx, ly, ny, false, &m);
        double med = m % 2 ? w[m / 2] : (w[(m - 1) / 2] + w[m / 2]) / 2.0;
        estimate e;
        char err[KV_ERRLEN] = "";
        assert_int_equal(compare_median_ratio(x, nx, y, ny, 0.95, &e, err), KV_OK);
        assert_true(e.value == exp(med));
        free(w);
    }
    gsl_rng_free(g);
}

/* Large samples: the pairs (10^10) are never materialised. */
static void test_hl_large_without_pairs(void **state)
{
    (void)state;
    size_t n = 100000;
    double *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    assert_non_null(x);
    assert_non_null(y);
    for (size_t i = 0; i < n; i++) {
        x[i] = 2.0 + (double)(i % 1000) / 1000.0;
        y[i] = 1.0 + (double)((i * 7) % 1000) / 1000.0;
    }
    estimate e;
    char err[KV_ERRLEN] = "";
    assert_int_equal(compare_hodges_lehmann(x, n, y, n, false, 0.95, &e, err), KV_OK);
    assert_true(fabs(e.value - 1.0) < 1e-9);
    assert_true(e.has_ci && e.lo <= e.value && e.value <= e.hi);
    assert_int_equal(compare_hodges_lehmann(x, n, y, n, true, 0.95, &e, err), KV_OK);
    assert_true(e.has_ci && e.lo <= e.value && e.value <= e.hi);
    free(x);
    free(y);
}

TU_MAIN(NULL, NULL, cmocka_unit_test(test_hl_equals_brute_force),
        cmocka_unit_test(test_hl_limits_match_brute_ranks),
        cmocka_unit_test(test_median_ratio_equals_brute_force),
        cmocka_unit_test(test_hl_large_without_pairs),
        cmocka_unit_test(test_hl_equals_brute_force_beyond_the_gather_size))
