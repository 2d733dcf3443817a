/* test_common.c - status words, exit codes, buffers, hashing, bounded file
 * reads, strict UTF-8 and the comparator of doubles. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/status.h"
#include "common/utf8.h"
#include "common/util.h"
#include "tests/testutil.h"

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

static void read_file_should_refuse_a_device_that_never_ends(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    char err[KV_ERRLEN] = "";
    assert_int_equal(kv_read_file_max("/dev/zero", (size_t)1 << 20, &text, &len, err),
                     KV_ERR_INPUT);
    assert_null(text);
    assert_non_null(strstr(err, "/dev/zero: larger than the 1 MiB"));
    /* a regular file over the limit is refused from its size */
    char path[] = "/tmp/kvproof-readmax-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    char block[4096];
    memset(block, 'x', sizeof block);
    for (int i = 0; i < 300; i++)
        assert_int_equal(write(fd, block, sizeof block), (ssize_t)sizeof block);
    close(fd);
    err[0] = '\0';
    assert_int_equal(kv_read_file_max(path, (size_t)1 << 20, &text, &len, err), KV_ERR_INPUT);
    assert_non_null(strstr(err, "larger than"));
    assert_int_equal(kv_read_file_max(path, (size_t)2 << 20, &text, &len, err), KV_OK);
    assert_int_equal(len, 300 * 4096);
    free(text);
    unlink(path);
}

static void utf8_should_accept_only_strict_sequences(void **state)
{
    (void)state;
    static const char *const good[] = {
        "plain",        "caf\xc3\xa9",     "\xe4\xb8\xad\xe6\x96\x87", "\xf0\x9f\x98\x80",
        "\xef\xbf\xbd", "\xf4\x8f\xbf\xbf"};
    static const char *const bad[] = {
        "\xff",     "\xc0\xaf", "\xe0\x80\xaf",        "\xed\xa0\x80", "\xf4\x90\x80\x80",
        "\xe4\xb8", "\x80",     "\xf8\x88\x80\x80\x80"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_true(kv_utf8_valid(good[i], strlen(good[i])));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(kv_utf8_valid(bad[i], strlen(bad[i])));
    uint32_t cp = 0;
    assert_int_equal(kv_utf8_seq("\xe4\xb8\xad", 3, &cp), 3);
    assert_int_equal(cp, 0x4e2d);
}

static void utf8_cut_and_repair_should_keep_whole_characters(void **state)
{
    (void)state;
    const char *s = "a\xe4\xb8\xad\xe6\x96\x87"; /* a + two CJK characters */
    assert_int_equal(kv_utf8_cut(s, 7, 7), 7);
    assert_int_equal(kv_utf8_cut(s, 7, 6), 4);
    assert_int_equal(kv_utf8_cut(s, 7, 5), 4);
    assert_int_equal(kv_utf8_cut(s, 7, 3), 1);
    char t[16];
    snprintf(t, sizeof t, "%s", s);
    kv_utf8_truncate(t, 2);
    assert_string_equal(t, "a");
    kv_buf b = {0};
    assert_int_equal(kv_utf8_repair(&b, "x\xffy\xe4\xb8z\xed\xa0\x80", 9), KV_OK);
    assert_string_equal(b.data, "x\xef\xbf\xbdy\xef\xbf\xbdz\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    assert_true(kv_utf8_valid(b.data, b.len));
    kv_buf_free(&b);
}

static void cmp_double_should_sort_ascending_with_ties_and_signed_zeros_equal(void **state)
{
    (void)state;
    double v[] = {3.5, -1, 0.0, 2, -0.0, 3.5, -1e300, 1e-300};
    qsort(v, sizeof v / sizeof *v, sizeof *v, kv_cmp_double);
    const double want[] = {-1e300, -1, 0.0, 0.0, 1e-300, 2, 3.5, 3.5};
    for (size_t i = 0; i < sizeof v / sizeof *v; i++)
        assert_true(v[i] == want[i]);
}

static void cmp_double_should_give_minus_one_zero_and_one(void **state)
{
    (void)state;
    double a = 1, b = 2, nan_v = NAN;
    assert_int_equal(kv_cmp_double(&a, &b), -1);
    assert_int_equal(kv_cmp_double(&b, &a), 1);
    assert_int_equal(kv_cmp_double(&a, &a), 0);
    /* a NaN compares equal to everything, as the comparators it replaced */
    assert_int_equal(kv_cmp_double(&nan_v, &a), 0);
    assert_int_equal(kv_cmp_double(&a, &nan_v), 0);
}

TU_MAIN(NULL, NULL, cmocka_unit_test(fail_should_keep_the_first_message),
        cmocka_unit_test(exit_codes_should_match_the_documented_table),
        cmocka_unit_test(buffer_should_grow_and_stay_terminated),
        cmocka_unit_test(hash_should_be_stable_across_machines),
        cmocka_unit_test(line_col_should_count_from_one),
        cmocka_unit_test(strdup_should_map_null_to_null_and_copy_text),
        cmocka_unit_test(read_file_should_refuse_a_device_that_never_ends),
        cmocka_unit_test(utf8_should_accept_only_strict_sequences),
        cmocka_unit_test(utf8_cut_and_repair_should_keep_whole_characters),
        cmocka_unit_test(cmp_double_should_sort_ascending_with_ties_and_signed_zeros_equal),
        cmocka_unit_test(cmp_double_should_give_minus_one_zero_and_one))
