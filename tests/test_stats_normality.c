/* test_stats_normality.c - Shapiro-Wilk W and its Royston (AS R94) p-value:
 * exact values for n = 3, the classic Shapiro & Wilk (1965) example, normal
 * and exponential quantiles, invariance to order, location and scale, the
 * size of the test on simulated normal samples in both p-value branches
 * (n <= 11 and n >= 12), and refused input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdbool.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "stats/normality.h"
#include "tests/testutil.h"

static void sw(const double *x, size_t n, double *w, double *p)
{
    assert_true(normality_shapiro_wilk(x, n, w, p));
    assert_true(*w > 0 && *w <= 1);
    assert_true(*p >= 0 && *p <= 1);
}

static void shapiro_wilk_should_give_exact_values_for_three_points(void **state)
{
    (void)state;
    double w, p;
    const double even[3] = {1, 2, 3};
    sw(even, 3, &w, &p);
    assert_true(fabs(w - 1) < 1e-12);
    assert_true(fabs(p - 1) < 1e-9);
    const double lopsided[3] = {0, 0, 1}; /* the smallest possible W, 3/4 */
    sw(lopsided, 3, &w, &p);
    assert_true(fabs(w - 0.75) < 1e-12);
    assert_true(p < 1e-6);
    /* {1, 2, 4}: W = (3/sqrt 2)^2 / (42/9) = 27/28, p = (6/pi)(asin sqrt W - pi/3) */
    const double x[3] = {4, 1, 2};
    sw(x, 3, &w, &p);
    assert_true(fabs(w - 27.0 / 28.0) < 1e-12);
    double exact = 6.0 / M_PI * (asin(sqrt(27.0 / 28.0)) - M_PI / 3.0);
    assert_true(fabs(p - exact) < 1e-12);
    assert_true(fabs(p - 0.6369) < 1e-3);
}

static void shapiro_wilk_should_reject_the_1965_weights_example(void **state)
{
    (void)state;
    /* Shapiro & Wilk (1965), section 4: weights of 11 men, W = 0.79, below
     * the 1% point 0.792 of their table for n = 11; R's shapiro.test (the
     * same AS R94 algorithm) reports W = 0.78881, p-value = 0.006704 */
    const double x[11] = {148, 154, 158, 160, 161, 162, 166, 170, 182, 195, 236};
    double w, p;
    sw(x, 11, &w, &p);
    assert_true(fabs(w - 0.78881) < 5e-6);
    assert_true(fabs(p - 0.006704) < 5e-7);
}

static void shapiro_wilk_should_accept_normal_and_reject_exponential_quantiles(void **state)
{
    (void)state;
    double x[100], w, p;
    for (size_t i = 0; i < 100; i++)
        x[i] = gsl_cdf_ugaussian_Pinv(((double)i + 0.5) / 100.0);
    sw(x, 100, &w, &p);
    assert_true(w > 0.99);
    assert_true(p > 0.5);
    for (size_t i = 0; i < 100; i++)
        x[i] = -log(1.0 - ((double)i + 0.5) / 100.0);
    sw(x, 100, &w, &p);
    assert_true(w < 0.95);
    assert_true(p < 1e-3);
}

static void shapiro_wilk_should_not_depend_on_order_location_or_scale(void **state)
{
    (void)state;
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 3);
    double x[40], y[40], z[40], w1, p1, w2, p2, w3, p3;
    for (size_t i = 0; i < 40; i++)
        x[i] = gsl_ran_gamma(r, 2.0, 1.0);
    for (size_t i = 0; i < 40; i++) {
        y[i] = 1e6 + 250.0 * x[39 - i];
        z[i] = -0.01 * x[(i * 7) % 40] + 3;
    }
    sw(x, 40, &w1, &p1);
    sw(y, 40, &w2, &p2);
    sw(z, 40, &w3, &p3);
    assert_true(fabs(w1 - w2) < 1e-9 && fabs(p1 - p2) < 1e-7);
    assert_true(fabs(w1 - w3) < 1e-9 && fabs(p1 - p3) < 1e-7);
    gsl_rng_free(r);
}

/* Under normality p is uniform: about 5% of samples fall below 0.05. */
static double sw_size(gsl_rng *r, size_t n, int reps)
{
    double x[64], w, p;
    int below = 0;
    for (int k = 0; k < reps; k++) {
        for (size_t i = 0; i < n; i++)
            x[i] = gsl_ran_gaussian(r, 1.0);
        sw(x, n, &w, &p);
        below += p < 0.05;
    }
    return (double)below / reps;
}

static void shapiro_wilk_should_hold_its_size_on_normal_samples(void **state)
{
    (void)state;
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 17);
    const size_t ns[] = {3, 5, 8, 11, 12, 20, 50};
    for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
        double size = sw_size(r, ns[k], 4000); /* binomial sd 0.0034 */
        if (size < 0.035 || size > 0.065)
            fail_msg("n = %zu: %.4f of normal samples have p < 0.05", ns[k], size);
    }
    gsl_rng_free(r);
}

static void shapiro_wilk_should_refuse_what_it_cannot_test(void **state)
{
    (void)state;
    double w = 0, p = 0;
    const double two[2] = {1, 2}, flat[5] = {4, 4, 4, 4, 4}, bad[4] = {1, NAN, 2, 3};
    assert_false(normality_shapiro_wilk(two, 2, &w, &p));
    assert_true(isnan(w) && isnan(p));
    assert_false(normality_shapiro_wilk(flat, 5, &w, &p));
    assert_false(normality_shapiro_wilk(bad, 4, &w, &p));
    assert_false(normality_shapiro_wilk(two, 5001, &w, &p)); /* n checked before reading */
}

TU_MAIN(NULL, NULL, cmocka_unit_test(shapiro_wilk_should_give_exact_values_for_three_points),
        cmocka_unit_test(shapiro_wilk_should_reject_the_1965_weights_example),
        cmocka_unit_test(shapiro_wilk_should_accept_normal_and_reject_exponential_quantiles),
        cmocka_unit_test(shapiro_wilk_should_not_depend_on_order_location_or_scale),
        cmocka_unit_test(shapiro_wilk_should_hold_its_size_on_normal_samples),
        cmocka_unit_test(shapiro_wilk_should_refuse_what_it_cannot_test))
