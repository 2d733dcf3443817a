/* test_grow.c - kv_grow, the doubling growth of the project's arrays. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "common/util.h"
#include "tests/testutil.h"

static void grow_should_start_at_first_and_double_keeping_the_elements(void **state)
{
    (void)state;
    long *v = NULL;
    size_t n = 0, cap = 0;
    size_t caps_seen[8], n_caps = 0;
    for (long i = 0; i < 100; i++) {
        size_t before = cap;
        assert_int_equal(kv_grow(&v, &cap, n + 1, sizeof *v, 16), KV_OK);
        if (cap != before)
            caps_seen[n_caps++] = cap;
        v[n++] = i * 3;
    }
    assert_int_equal(n_caps, 4); /* 16, 32, 64, 128 */
    assert_int_equal(caps_seen[0], 16);
    assert_int_equal(caps_seen[3], 128);
    for (long i = 0; i < 100; i++)
        assert_int_equal(v[i], i * 3);
    free(v);
}

static void grow_should_leave_a_large_enough_array_alone_and_jump_to_a_large_need(void **state)
{
    (void)state;
    char *p = NULL;
    size_t cap = 0;
    assert_int_equal(kv_grow(&p, &cap, 1000, 1, 4), KV_OK);
    assert_int_equal(cap, 1024);
    char *same = p;
    assert_int_equal(kv_grow(&p, &cap, 1024, 1, 4), KV_OK);
    assert_ptr_equal(p, same);
    assert_int_equal(cap, 1024);
    free(p);
}

static void grow_should_refuse_a_size_that_overflows_and_keep_the_array(void **state)
{
    (void)state;
    double *v = NULL;
    size_t cap = 0;
    assert_int_equal(kv_grow(&v, &cap, 4, sizeof *v, 4), KV_OK);
    double *keep = v;
    assert_int_equal(kv_grow(&v, &cap, SIZE_MAX / 4, sizeof *v, 4), KV_ERR_NOMEM);
    assert_ptr_equal(v, keep);
    assert_int_equal(cap, 4);
    free(v);
}

TU_MAIN(NULL, NULL, cmocka_unit_test(grow_should_start_at_first_and_double_keeping_the_elements),
        cmocka_unit_test(grow_should_leave_a_large_enough_array_alone_and_jump_to_a_large_need),
        cmocka_unit_test(grow_should_refuse_a_size_that_overflows_and_keep_the_array))
