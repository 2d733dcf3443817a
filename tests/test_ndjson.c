/* test_ndjson.c - the incremental NDJSON line splitter: line endings, blank
 * lines, limits, trailing partial lines, and splits at any byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "net/ndjson.h"
#include "tests/testutil.h"

typedef struct recorder {
    kv_buf log;
    size_t stop_after; /* 0 = never */
    size_t seen;
} recorder;

static kv_status record_line(void *ctx, const char *line, size_t len, size_t lineno, char *err)
{
    recorder *r = ctx;
    assert_int_equal(strlen(line), len);
    if (kv_buf_appendf(&r->log, "%zu:[%s]\n", lineno, line) != KV_OK)
        return KV_ERR_NOMEM;
    if (r->stop_after && ++r->seen == r->stop_after)
        return kv_fail(err, KV_ERR_INTERRUPT, "done:true seen");
    return KV_OK;
}

static const char stream[] =
    "{\"model\":\"m\",\"response\":\"\",\"done\":false}\n"
    "{\"response\":\"caf\xc3\xa9\",\"done\":false}\r\n"
    "\n"
    "   \r\n"
    "{\"response\":\"a\\nb\",\"done\":false}\n"
    "{\"done\":true,\"prompt_eval_count\":12,\"prompt_eval_duration\":3456789}\n";

static const char expected[] =
    "1:[{\"model\":\"m\",\"response\":\"\",\"done\":false}]\n"
    "2:[{\"response\":\"caf\xc3\xa9\",\"done\":false}]\n"
    "5:[{\"response\":\"a\\nb\",\"done\":false}]\n"
    "6:[{\"done\":true,\"prompt_eval_count\":12,\"prompt_eval_duration\":3456789}]\n";

static kv_status feed(void *p, const char *data, size_t len, char *err)
{
    return ndjson_feed(p, data, len, err);
}

/* Feeds `text` in pieces cut at the given offsets and returns the log. */
static char *run_split(const char *text, size_t n, const size_t *cuts, size_t n_cuts)
{
    recorder r = {0};
    ndjson_parser *p = NULL;
    char err[KV_ERRLEN] = "";
    assert_int_equal(ndjson_new(0, record_line, &r, &p, err), KV_OK);
    tu_feed_cuts(feed, p, text, n, cuts, n_cuts);
    assert_int_equal(ndjson_finish(p, err), KV_OK);
    assert_int_equal(ndjson_lines(p), 4);
    ndjson_free(p);
    return r.log.data;
}

static void ndjson_should_report_a_trailing_partial_line(void **state)
{
    (void)state;
    recorder r = {0};
    ndjson_parser *p = NULL;
    char err[KV_ERRLEN] = "";
    assert_int_equal(ndjson_new(0, record_line, &r, &p, err), KV_OK);
    static const char s[] = "{\"done\":false}\n{\"done\":tr";
    assert_int_equal(ndjson_feed(p, s, sizeof s - 1, err), KV_OK);
    assert_int_equal(ndjson_finish(p, err), KV_ERR_PROTOCOL);
    assert_string_equal(err, "stream ended inside line 2 (10 bytes without a closing newline)");
    assert_int_equal(ndjson_lines(p), 1);
    ndjson_free(p);
    kv_buf_free(&r.log);

    /* trailing whitespace after the last newline is not a partial line */
    memset(&r, 0, sizeof r);
    err[0] = '\0';
    assert_int_equal(ndjson_new(0, record_line, &r, &p, err), KV_OK);
    assert_int_equal(ndjson_feed(p, "{}\n  \r", 6, err), KV_OK);
    assert_int_equal(ndjson_finish(p, err), KV_OK);
    ndjson_free(p);
    kv_buf_free(&r.log);
}

static void ndjson_should_enforce_the_line_limit(void **state)
{
    (void)state;
    char line[40];
    memset(line, 'z', sizeof line);
    recorder r = {0};
    ndjson_parser *p = NULL;
    char err[KV_ERRLEN] = "";
    assert_int_equal(ndjson_new(16, record_line, &r, &p, err), KV_OK);
    /* 16 bytes, also with a \r before the \n, parse */
    assert_int_equal(ndjson_feed(p, line, 16, err), KV_OK);
    assert_int_equal(ndjson_feed(p, "\r\n", 2, err), KV_OK);
    assert_int_equal(ndjson_feed(p, line, 16, err), KV_OK);
    assert_int_equal(ndjson_feed(p, "\n", 1, err), KV_OK);
    assert_int_equal(ndjson_lines(p), 2);
    /* 17 bytes then a newline fail */
    assert_int_equal(ndjson_feed(p, line, 17, err), KV_OK); /* could still be 16 + '\r' */
    assert_int_equal(ndjson_feed(p, "\n", 1, err), KV_ERR_PROTOCOL);
    assert_string_equal(err, "NDJSON line 3 longer than 16 bytes");
    assert_int_equal(ndjson_feed(p, "{}\n", 3, err), KV_ERR_PROTOCOL);
    ndjson_free(p);

    /* 18 bytes fail as soon as they arrive */
    err[0] = '\0';
    assert_int_equal(ndjson_new(16, record_line, &r, &p, err), KV_OK);
    assert_int_equal(ndjson_feed(p, line, 18, err), KV_ERR_PROTOCOL);
    assert_string_equal(err, "NDJSON line 1 longer than 16 bytes");
    assert_int_equal(ndjson_finish(p, err), KV_ERR_PROTOCOL);
    ndjson_free(p);
    kv_buf_free(&r.log);
}

static void ndjson_should_parse_a_ten_megabyte_line_under_the_default_limit(void **state)
{
    (void)state;
    size_t big = (size_t)10 * 1024 * 1024;
    char *s = malloc(big + 1);
    assert_non_null(s);
    memset(s, 'q', big);
    s[big] = '\n';
    recorder r = {0};
    ndjson_parser *p = NULL;
    char err[KV_ERRLEN] = "";
    assert_int_equal(ndjson_new(0, record_line, &r, &p, err), KV_OK);
    for (size_t at = 0; at < big + 1; at += 100000) {
        size_t k = big + 1 - at < 100000 ? big + 1 - at : 100000;
        assert_int_equal(ndjson_feed(p, s + at, k, err), KV_OK);
    }
    assert_int_equal(ndjson_finish(p, err), KV_OK);
    assert_int_equal(ndjson_lines(p), 1);
    ndjson_free(p);
    kv_buf_free(&r.log);
    free(s);
}

static void ndjson_should_stop_when_the_callback_says_so(void **state)
{
    (void)state;
    recorder r = {.stop_after = 1};
    ndjson_parser *p = NULL;
    char err[KV_ERRLEN] = "";
    assert_int_equal(ndjson_new(0, record_line, &r, &p, err), KV_OK);
    assert_int_equal(ndjson_feed(p, stream, sizeof stream - 1, err), KV_ERR_INTERRUPT);
    assert_string_equal(err, "done:true seen");
    assert_int_equal(ndjson_lines(p), 1);
    ndjson_free(p);
    ndjson_free(NULL);
    kv_buf_free(&r.log);
}

TU_MAIN(NULL, NULL,
        TU_CASE(ndjson_should_deliver_every_non_blank_line, tu_split_test, tu_split_case, run_split,
                stream, sizeof stream - 1, expected, TU_WHOLE, 0),
        TU_CASE(ndjson_should_give_the_same_lines_when_split_at_any_byte, tu_split_test,
                tu_split_case, run_split, stream, sizeof stream - 1, expected,
                TU_ANY_CUT | TU_ANY_TWO_CUTS, 2),
        TU_CASE(ndjson_should_give_the_same_lines_when_fed_byte_by_byte, tu_split_test,
                tu_split_case, run_split, stream, sizeof stream - 1, expected, TU_BYTEWISE, 0),
        cmocka_unit_test(ndjson_should_report_a_trailing_partial_line),
        cmocka_unit_test(ndjson_should_enforce_the_line_limit),
        cmocka_unit_test(ndjson_should_parse_a_ten_megabyte_line_under_the_default_limit),
        cmocka_unit_test(ndjson_should_stop_when_the_callback_says_so))
