/* test_stopping.c - adaptive stopping on the median's exact rank interval. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "stats/stopping.h"
#include "tests/testutil.h"

static void stopping_should_wait_for_min_repetitions(void **state)
{
    (void)state;
    double t[10] = {100, 100, 100, 100, 100, 100, 100, 100, 100, 100};
    assert_false(stopping_cell_done(t, 10, 0.05, 20));
    assert_true(stopping_cell_done(t, 10, 0.05, 5));
}

static void stopping_should_need_at_least_six_values_for_a_95_percent_interval(void **state)
{
    (void)state;
    double t[6] = {100, 100, 100, 100, 100, 100};
    assert_false(stopping_cell_done(t, 5, 0.5, 1));
    assert_true(stopping_cell_done(t, 6, 0.5, 1));
}

static void stopping_should_compare_the_rank_interval_with_the_target(void **state)
{
    (void)state;
    /* n = 10: the 95% rank interval is [x(2), x(9)] (coverage 97.9%). */
    double t[10] = {90, 95, 96, 98, 100, 100, 102, 104, 105, 200};
    double rel = stopping_median_rel_halfwidth(t, 10, 0.95);
    assert_true(fabs(rel - (105.0 - 95.0) / 2.0 / 100.0) < 1e-12);
    assert_true(stopping_cell_done(t, 10, 0.05, 3));
    assert_false(stopping_cell_done(t, 10, 0.049, 3));
}

static void stopping_should_never_stop_on_bad_values(void **state)
{
    (void)state;
    double t[8] = {100, 100, NAN, 100, 100, 100, 100, 100};
    assert_false(stopping_cell_done(t, 8, 1.0, 1));
    t[2] = -1;
    assert_false(stopping_cell_done(t, 8, 1.0, 1));
    assert_false(stopping_cell_done(NULL, 0, 1.0, 0));
}

TU_MAIN(NULL, NULL, cmocka_unit_test(stopping_should_wait_for_min_repetitions),
        cmocka_unit_test(stopping_should_need_at_least_six_values_for_a_95_percent_interval),
        cmocka_unit_test(stopping_should_compare_the_rank_interval_with_the_target),
        cmocka_unit_test(stopping_should_never_stop_on_bad_values))
