/* test_stats_compare.c - stats/compare.c against reference values from R.
 *
 * The constants were computed once with R 4.2.2 (Debian r-base-core
 * 4.2.2.20221110-2); each block names the R call. wilcox.test uses its
 * exact distribution below 50 values without ties; its confidence interval
 * then has the ranks of qwilcox/qsignrank, and the level achieved is
 * 1 - 2*pwilcox(qu - 1, m, n) (R reports the requested 0.95 unless the
 * achieved one is far off, as for 3 vs 3: 0.9). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdbool.h>

#include "stats/compare.h"
#include "tests/testutil.h"

static const double x3[] = {12.1, 14.3, 13.8}, y3[] = {10.2, 9.8, 11.5};
static const double x5[] = {5.1, 6.3, 4.8, 7.2, 5.9}, y5[] = {4.0, 5.5, 3.9, 4.4, 6.1};
static const double a8[] = {1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06};
static const double b8[] = {0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.07, 3.14};

/* x40 <- 100 + 10*sin(i*1.7) + i/7; y40 <- 97 + 10*cos(i*2.3) + i/9, i = 1..40 */
static void fill40(double *x, double *y)
{
    for (int i = 1; i <= 40; i++) {
        x[i - 1] = 100 + 10 * sin(i * 1.7) + i / 7.0;
        y[i - 1] = 97 + 10 * cos(i * 2.3) + i / 9.0;
    }
}

static void check_hl(const double *x, size_t nx, const double *y, size_t ny, bool paired,
                     double est, double lo, double hi, double level)
{
    estimate e;
    char err[KV_ERRLEN] = "";
    assert_int_equal(compare_hodges_lehmann(x, nx, y, ny, paired, 0.95, &e, err), KV_OK);
    assert_true(e.has_ci);
    assert_float_equal(e.value, est, 1e-9);
    assert_float_equal(e.lo, lo, 1e-9);
    assert_float_equal(e.hi, hi, 1e-9);
    assert_float_equal(e.level, level, 1e-12);
}

/* A small sample's rank test against R: its p value (to 1e-12) and the
 * Hodges-Lehmann estimate, interval and achieved level (check_hl). */
typedef struct rank_test_case {
    const double *x;
    size_t nx;
    const double *y;
    size_t ny;
    bool paired;
    double p, est, lo, hi, level;
} rank_test_case;

static void rank_case(void **state)
{
    const rank_test_case *c = *state;
    assert_float_equal(compare_rank_test_p(c->x, c->nx, c->y, c->ny, c->paired), c->p, 1e-12);
    check_hl(c->x, c->nx, c->y, c->ny, c->paired, c->est, c->lo, c->hi, c->level);
}

/* wilcox.test(x40, y40, conf.int=TRUE): p 0.016218322988827555, estimate
 * 3.9675161391987004, CI 0.63431195452110956..6.8812913082232967, achieved
 * 1-2*pwilcox(qwilcox(0.025,40,40)-1,40,40) = 0.95016127207225998; on logs
 * estimate 0.039435760661299835, CI 0.0063814882389729988..0.069059492803943634 */
static void forty_against_forty_should_match_r_exactly(void **state)
{
    (void)state;
    double x[40], y[40];
    fill40(x, y);
    assert_float_equal(compare_rank_test_p(x, 40, y, 40, false), 0.016218322988827555, 1e-10);
    check_hl(x, 40, y, 40, false, 3.9675161391987004, 0.63431195452110956, 6.8812913082232967,
             0.95016127207225998);
    estimate e;
    char err[KV_ERRLEN] = "";
    assert_int_equal(compare_median_ratio(x, 40, y, 40, 0.95, &e, err), KV_OK);
    assert_float_equal(log(e.value), 0.039435760661299835, 1e-9);
    assert_float_equal(log(e.lo), 0.0063814882389729988, 1e-9);
    assert_float_equal(log(e.hi), 0.069059492803943634, 1e-9);
    assert_float_equal(e.level, 0.95016127207225998, 1e-12);
}

/* Ties: the normal approximation with tie and continuity corrections.
 * wilcox.test(c(1,2,2,3,4,5), c(2,3,3,6,7,8,9)): p 0.096670543406700921,
 * estimate -2.5 (R's interval then comes from uniroot; ours is Moses').
 * 60 vs 55 values, no ties (normal approximation, n >= 50):
 * wilcox.test(100 + 10*sin((1:60)*1.7), 98 + 10*cos((1:55)*2.3)):
 * p 0.058806495106663095 */
static void ties_and_large_samples_should_use_the_normal_approximation_as_r(void **state)
{
    (void)state;
    const double xt[] = {1, 2, 2, 3, 4, 5}, yt[] = {2, 3, 3, 6, 7, 8, 9};
    assert_float_equal(compare_rank_test_p(xt, 6, yt, 7, false), 0.096670543406700921, 1e-12);
    estimate e;
    char err[KV_ERRLEN] = "";
    assert_int_equal(compare_hodges_lehmann(xt, 6, yt, 7, false, 0.95, &e, err), KV_OK);
    assert_float_equal(e.value, -2.5, 1e-12);
    assert_float_equal(e.level, 0.95, 0);
    double x[60], y[55];
    for (int i = 1; i <= 60; i++)
        x[i - 1] = 100 + 10 * sin(i * 1.7);
    for (int i = 1; i <= 55; i++)
        y[i - 1] = 98 + 10 * cos(i * 2.3);
    assert_float_equal(compare_rank_test_p(x, 60, y, 55, false), 0.058806495106663095, 1e-12);
}

/* p.adjust(c(0.01, 0.04, 0.03, 0.005, NA), "holm") = 0.03 0.06 0.06 0.02 NA */
static void holm_should_match_r_p_adjust(void **state)
{
    (void)state;
    const double p[] = {0.01, 0.04, 0.03, 0.005, NAN};
    double adj[5];
    compare_holm(p, 5, adj);
    assert_float_equal(adj[0], 0.03, 1e-15);
    assert_float_equal(adj[1], 0.06, 1e-15);
    assert_float_equal(adj[2], 0.06, 1e-15);
    assert_float_equal(adj[3], 0.02, 1e-15);
    assert_true(isnan(adj[4]));
}

/* Hand-derivable: two samples of 3 have 20 equally likely arrangements; the
 * smallest U (0) has probability 1/20, so the two-sided exact p is 0.1 and
 * the widest interval (min to max pairwise difference) holds at 90%. */
static void widest_interval_of_two_samples_of_three_should_hold_at_90_percent(void **state)
{
    (void)state;
    const double x[] = {3, 1, 2}, y[] = {6, 5, 4};
    estimate e;
    char err[KV_ERRLEN] = "";
    assert_float_equal(compare_rank_test_p(x, 3, y, 3, false), 0.1, 1e-15);
    assert_int_equal(compare_median_ratio(y, 3, x, 3, 0.95, &e, err), KV_OK);
    assert_float_equal(e.level, 0.9, 1e-15);
    assert_float_equal(e.lo, 4.0 / 3.0, 1e-12);
    assert_float_equal(e.hi, 6.0, 1e-12);
    assert_float_equal(e.value, 2.5, 1e-12); /* median of the 9 ratios y_i / x_j */
}

/* One 20x stall among 8 cold values: the bootstrap-t once gave a lower end
 * of 1.95e-10. The interval must stay inside the resampled ratios' range. */
static void one_stall_should_not_collapse_the_ratio_of_means_interval(void **state)
{
    (void)state;
    const double cold[] = {1000, 1010, 990, 1005, 995, 20000, 1002, 998};
    const double warm[] = {101, 99, 100, 102, 98, 100, 101, 99};
    estimate e;
    bool pct = false;
    char err[KV_ERRLEN] = "";
    assert_int_equal(compare_ratio_of_means(cold, 8, warm, 8, 2000, 7, 0.95, &e, &pct, err), KV_OK);
    assert_true(e.has_ci);
    assert_true(e.lo > 9.0);
    assert_true(e.hi < 200.0 / 1.0);
    assert_true(e.lo <= e.value && e.value <= e.hi);
    estimate m;
    assert_int_equal(compare_median_ratio(cold, 8, warm, 8, 0.95, &m, err), KV_OK);
    assert_true(m.value > 9.8 && m.value < 10.3); /* the stall barely moves the median ratio */
    assert_true(m.lo > 9.5 && m.hi < 10.6);
}

TU_MAIN(NULL, NULL,
        /* wilcox.test(x3, y3, conf.int=TRUE): p 0.1, estimate 2.8, CI 0.6..4.5, level 0.9 */
        TU_CASE(three_against_three_should_match_r_with_the_90_percent_interval, rank_case,
                rank_test_case, x3, 3, y3, 3, false, 0.1, 2.8, 0.6, 4.5, 0.9),
        /* wilcox.test(x5, y5, conf.int=TRUE): p 0.15079365079365079, estimate 1.1,
         * CI -0.7..2.8; 1 - 2*pwilcox(2, 5, 5) = 0.96825396825396826 */
        TU_CASE(five_against_five_should_match_r_and_state_the_achieved_level, rank_case,
                rank_test_case, x5, 5, y5, 5, false, 0.15079365079365079, 1.1, -0.7, 2.8,
                0.96825396825396826),
        cmocka_unit_test(forty_against_forty_should_match_r_exactly),
        /* wilcox.test(a8, b8, paired=TRUE, conf.int=TRUE): p 0.039062500000000014,
         * (pseudo)median 0.495, CI 0.1415..0.821; 1-2*psignrank(qsignrank(.025,8)-1,8)
         * = 0.9609375 */
        TU_CASE(paired_signed_rank_should_match_r, rank_case, rank_test_case, a8, 8, b8, 8, true,
                0.0390625, 0.495, 0.1415, 0.821, 0.9609375),
        cmocka_unit_test(ties_and_large_samples_should_use_the_normal_approximation_as_r),
        cmocka_unit_test(holm_should_match_r_p_adjust),
        cmocka_unit_test(widest_interval_of_two_samples_of_three_should_hold_at_90_percent),
        cmocka_unit_test(one_stall_should_not_collapse_the_ratio_of_means_interval))
