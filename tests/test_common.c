/* test_common.c - status words, exit codes, buffers, hashing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/status.h"
#include "common/util.h"

static void fail_should_keep_the_first_message(void **state)
{
    (void)state;
    char err[KV_ERRLEN] = "";
    assert_int_equal(kv_fail(err, KV_ERR_INPUT, "first %d", 1), KV_ERR_INPUT);
    assert_int_equal(kv_fail(err, KV_ERR_IO, "second"), KV_ERR_IO);
    assert_string_equal(err, "first 1");
}

static void exit_codes_should_match_the_documented_table(void **state)
{
    (void)state;
    assert_int_equal(kv_exit_code(KV_OK), 0);
    assert_int_equal(kv_exit_code(KV_ERR_USAGE), 2);
    assert_int_equal(kv_exit_code(KV_ERR_INPUT), 3);
    assert_int_equal(kv_exit_code(KV_ERR_NET), 4);
    assert_int_equal(kv_exit_code(KV_ERR_INTERRUPT), 130);
    assert_int_equal(kv_exit_code(KV_ERR_IO), 1);
}

static void buffer_should_grow_and_stay_terminated(void **state)
{
    (void)state;
    kv_buf b = {0};
    for (int i = 0; i < 1000; i++)
        assert_int_equal(kv_buf_appendf(&b, "%d,", i), KV_OK);
    assert_int_equal(strncmp(b.data, "0,1,2,", 6), 0);
    assert_int_equal(b.data[b.len], '\0');
    kv_buf_free(&b);
    assert_null(b.data);
}

static void hash_should_be_stable_across_machines(void **state)
{
    (void)state;
    /* FNV-1a 64 of "a" with seed 0 is a published constant. */
    assert_true(kv_hash64("a", 1, 0) == 0xaf63dc4c8601ec8cULL);
}

static void line_col_should_count_from_one(void **state)
{
    (void)state;
    int l, c;
    kv_line_col("ab\ncd", 4, &l, &c);
    assert_int_equal(l, 2);
    assert_int_equal(c, 2);
}

static void strdup_should_map_null_to_null_and_copy_text(void **state)
{
    (void)state;
    assert_null(kv_strdup(NULL));
    char *c = kv_strdup("kv");
    assert_string_equal(c, "kv");
    free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fail_should_keep_the_first_message),
        cmocka_unit_test(exit_codes_should_match_the_documented_table),
        cmocka_unit_test(buffer_should_grow_and_stay_terminated),
        cmocka_unit_test(hash_should_be_stable_across_machines),
        cmocka_unit_test(line_col_should_count_from_one),
        cmocka_unit_test(strdup_should_map_null_to_null_and_copy_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
