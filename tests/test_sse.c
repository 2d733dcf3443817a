/* test_sse.c - the incremental SSE parser: framing, line endings, comments,
 * limits, and correctness when the stream is split at any byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "net/sse.h"
#include "tests/testutil.h"

/* Every event rendered as one text line, so whole runs compare as strings. */
typedef struct recorder {
    kv_buf log;
    size_t stop_after; /* stop the stream after this many events; 0 = never */
} recorder;

static kv_status record_event(void *ctx, const sse_event *ev, char *err)
{
    recorder *r = ctx;
    assert_int_equal(strlen(ev->data), ev->data_len);
    assert_int_equal(strlen(ev->comments), ev->comments_len);
    if (kv_buf_appendf(&r->log, "#%zu event=[%s] data%s=[%s] comments=[%s]\n", ev->index, ev->event,
                       ev->has_data ? "" : "(none)", ev->data, ev->comments) != KV_OK)
        return KV_ERR_NOMEM;
    if (r->stop_after && ev->index + 1 == r->stop_after)
        return kv_fail(err, KV_ERR_INTERRUPT, "enough events");
    return KV_OK;
}

/* A stream exercising every rule: \n, \r\n and \r endings, comments, names,
 * joined data, one stripped space, unknown fields, an empty data line, a
 * comment-only block, and two events in a row as llama.cpp sends them. */
static const char stream[] = ": kvproof-sent-ns=123456789\n"
                             "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}\n"
                             "\n"
                             "data: {\"a\":1}\n\n"
                             "event: message_start\r\n"
                             "data:no-space\r\n"
                             "data:  two spaces\r\n"
                             "id: 7\r\n"
                             "retry: 1000\r\n"
                             "x-unknown: ignored\r\n"
                             "\r\n"
                             "event: ping\rdata\r\r"
                             ":keep-alive\n\n"
                             "data\n"
                             "data:\n"
                             "data: third\n\n"
                             ": first comment\n: second comment\n"
                             "event: content_block_delta\n"
                             "data: {\"delta\":\"caf\xc3\xa9\"}\n"
                             "\n"
                             "data: [DONE]\n\n";

static const char expected[] =
    "#0 event=[] data=[{\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}] "
    "comments=[kvproof-sent-ns=123456789]\n"
    "#1 event=[] data=[{\"a\":1}] comments=[]\n"
    "#2 event=[message_start] data=[no-space\n two spaces] comments=[]\n"
    "#3 event=[ping] data=[] comments=[]\n"
    "#4 event=[] data(none)=[] comments=[keep-alive]\n"
    "#5 event=[] data=[\n\nthird] comments=[]\n"
    "#6 event=[content_block_delta] data=[{\"delta\":\"caf\xc3\xa9\"}] "
    "comments=[first comment\nsecond comment]\n"
    "#7 event=[] data=[[DONE]] comments=[]\n";

static kv_status feed(void *p, const char *data, size_t len, char *err)
{
    return sse_feed(p, data, len, err);
}

/* Feeds `text` in pieces cut at the given offsets and returns the log. */
static char *run_split(const char *text, size_t n, const size_t *cuts, size_t n_cuts)
{
    recorder r = {0};
    sse_parser *p = NULL;
    char err[KV_ERRLEN] = "";
    assert_int_equal(sse_new(0, record_event, &r, &p, err), KV_OK);
    tu_feed_cuts(feed, p, text, n, cuts, n_cuts);
    assert_int_equal(sse_finish(p, err), KV_OK);
    sse_free(p);
    if (!r.log.data)
        assert_int_equal(kv_buf_append(&r.log, "", 0), KV_OK);
    return r.log.data;
}

static void sse_should_treat_a_crlf_split_across_chunks_as_one_line_ending(void **state)
{
    (void)state;
    static const char s[] = "data: a\r\n\r\ndata: b\r\n\r\n";
    tu_expect_any_cut(run_split, s, sizeof s - 1,
                      "#0 event=[] data=[a] comments=[]\n"
                      "#1 event=[] data=[b] comments=[]\n");
}

static void sse_should_skip_a_leading_bom_even_when_split(void **state)
{
    (void)state;
    static const char s[] = "\xEF\xBB\xBF"
                            "data: x\n\n";
    tu_expect_any_cut(run_split, s, sizeof s - 1, "#0 event=[] data=[x] comments=[]\n");
    /* a lone 0xEF that is not a BOM stays content (of an ignored field) */
    static const char t[] = "\xEF"
                            "x: 1\ndata: y\n\n";
    tu_expect_split(run_split, t, sizeof t - 1, NULL, 0, "#0 event=[] data=[y] comments=[]\n");
}

static void sse_should_report_an_incomplete_trailing_event(void **state)
{
    (void)state;
    static const char *const tails[] = {"data: {\"a\":1}\n", "data: {\"a\"", "event: x\n",
                                        ": only a comment\n"};
    for (size_t k = 0; k < sizeof tails / sizeof *tails; k++) {
        recorder r = {0};
        sse_parser *p = NULL;
        char err[KV_ERRLEN] = "";
        assert_int_equal(sse_new(0, record_event, &r, &p, err), KV_OK);
        assert_int_equal(sse_feed(p, "data: 1\n\n", 9, err), KV_OK);
        assert_int_equal(sse_feed(p, tails[k], strlen(tails[k]), err), KV_OK);
        assert_int_equal(sse_finish(p, err), KV_ERR_PROTOCOL);
        assert_non_null(strstr(err, "stream ended inside an event"));
        assert_int_equal(sse_events(p), 1);
        sse_free(p);
        kv_buf_free(&r.log);
    }
}

static void sse_should_parse_a_ten_megabyte_line_under_the_limit(void **state)
{
    (void)state;
    size_t big = (size_t)10 * 1024 * 1024;
    char *s = malloc(big + 16);
    assert_non_null(s);
    memcpy(s, "data: ", 6);
    memset(s + 6, 'x', big);
    memcpy(s + 6 + big, "\n\n", 2);
    recorder r = {0};
    sse_parser *p = NULL;
    char err[KV_ERRLEN] = "";
    assert_int_equal(sse_new(0, record_event, &r, &p, err), KV_OK);
    /* uneven chunks, like a network would deliver */
    for (size_t at = 0, step = 1; at < big + 8; step = step * 7 % 65521 + 1) {
        size_t k = at + step > big + 8 ? big + 8 - at : step;
        assert_int_equal(sse_feed(p, s + at, k, err), KV_OK);
        at += k;
    }
    assert_int_equal(sse_finish(p, err), KV_OK);
    assert_int_equal(sse_events(p), 1);
    assert_true(r.log.len > big);
    sse_free(p);
    kv_buf_free(&r.log);
    free(s);
}

static void sse_should_fail_cleanly_on_a_line_over_the_limit(void **state)
{
    (void)state;
    /* exactly at the limit parses */
    char line[80];
    memset(line, 'y', sizeof line);
    memcpy(line, "data: ", 6);
    recorder r = {0};
    sse_parser *p = NULL;
    char err[KV_ERRLEN] = "";
    assert_int_equal(sse_new(64, record_event, &r, &p, err), KV_OK);
    assert_int_equal(sse_feed(p, line, 64, err), KV_OK);
    assert_int_equal(sse_feed(p, "\n\n", 2, err), KV_OK);
    assert_int_equal(sse_events(p), 1);
    /* one byte more fails, even fed one byte at a time, and stays failed */
    kv_status st = KV_OK;
    for (size_t i = 0; i < 65 && st == KV_OK; i++)
        st = sse_feed(p, line + i, 1, err);
    assert_int_equal(st, KV_ERR_PROTOCOL);
    assert_string_equal(err, "SSE line longer than 64 bytes");
    assert_int_equal(sse_feed(p, "\n\n", 2, err), KV_ERR_PROTOCOL);
    assert_int_equal(sse_finish(p, err), KV_ERR_PROTOCOL);
    assert_int_equal(sse_events(p), 1);
    sse_free(p);
    kv_buf_free(&r.log);
}

static void sse_should_bound_the_joined_data_of_one_event(void **state)
{
    (void)state;
    recorder r = {0};
    sse_parser *p = NULL;
    char err[KV_ERRLEN] = "";
    assert_int_equal(sse_new(32, record_event, &r, &p, err), KV_OK);
    kv_status st = KV_OK;
    for (int i = 0; i < 10 && st == KV_OK; i++)
        st = sse_feed(p, "data: 0123456789\n", 17, err);
    assert_int_equal(st, KV_ERR_PROTOCOL);
    assert_string_equal(err, "SSE event data longer than 32 bytes");
    sse_free(p);
    kv_buf_free(&r.log);
}

static void sse_should_stop_when_the_callback_says_so(void **state)
{
    (void)state;
    recorder r = {.stop_after = 2};
    sse_parser *p = NULL;
    char err[KV_ERRLEN] = "";
    assert_int_equal(sse_new(0, record_event, &r, &p, err), KV_OK);
    assert_int_equal(sse_feed(p, stream, sizeof stream - 1, err), KV_ERR_INTERRUPT);
    assert_string_equal(err, "enough events");
    assert_int_equal(sse_events(p), 2);
    sse_free(p);
    kv_buf_free(&r.log);
    sse_free(NULL);
}

TU_MAIN(NULL, NULL,
        TU_CASE(sse_should_deliver_every_event_of_a_whole_stream, tu_split_test, tu_split_case,
                run_split, stream, sizeof stream - 1, expected, TU_WHOLE, 0),
        TU_CASE(sse_should_give_the_same_events_when_split_at_any_byte, tu_split_test,
                tu_split_case, run_split, stream, sizeof stream - 1, expected, TU_ANY_CUT, 0),
        TU_CASE(sse_should_give_the_same_events_when_split_at_any_two_bytes, tu_split_test,
                tu_split_case, run_split, stream, sizeof stream - 1, expected, TU_ANY_TWO_CUTS, 3),
        TU_CASE(sse_should_give_the_same_events_when_fed_byte_by_byte, tu_split_test, tu_split_case,
                run_split, stream, sizeof stream - 1, expected, TU_BYTEWISE, 0),
        cmocka_unit_test(sse_should_treat_a_crlf_split_across_chunks_as_one_line_ending),
        cmocka_unit_test(sse_should_skip_a_leading_bom_even_when_split),
        cmocka_unit_test(sse_should_report_an_incomplete_trailing_event),
        cmocka_unit_test(sse_should_parse_a_ten_megabyte_line_under_the_limit),
        cmocka_unit_test(sse_should_fail_cleanly_on_a_line_over_the_limit),
        cmocka_unit_test(sse_should_bound_the_joined_data_of_one_event),
        cmocka_unit_test(sse_should_stop_when_the_callback_says_so))
