/* test_server_faults.c - every injected fault of the reference server,
 * produced on demand (probability 1) and seen from a libcurl client, plus
 * the seeded draw of probabilistic faults. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "srvtest.h"
#include "tests/testutil.h"

#define CHAT_STREAM                                                                                \
    "{\"messages\":[{\"role\":\"user\",\"content\":\"tell me\"}],\"max_tokens\":4,"                \
    "\"stream\":true}"
#define CHAT_PLAIN "{\"messages\":[{\"role\":\"user\",\"content\":\"tell me\"}],\"max_tokens\":4}"

static refsrv *start_fault(refsrv_dialect d, refsrv_fault f)
{
    refsrv_config cfg;
    srvtest_config(&cfg, d);
    cfg.fault_p[f] = 1;
    cfg.fault_reset_after = 2;
    cfg.fault_stall_ms = 60000;
    cfg.fault_drip_ms = 0.01;
    return tu_refsrv_start(&cfg);
}

static void chat_request(refsrv *s, const char *body, double timeout_s, http_reply *r)
{
    http_do(refsrv_port(s), "POST", "/v1/chat/completions", body, timeout_s, r);
}

static int unparsable_data_lines(const char *body)
{
    int bad = 0;
    const char *p = body;
    while ((p = strstr(p, "data: ")) != NULL) {
        const char *eol = strchr(p, '\n');
        size_t n = eol ? (size_t)(eol - p - 6) : strlen(p + 6);
        if (strncmp(p + 6, "[DONE]", 6) != 0) {
            cJSON *o = cJSON_ParseWithLength(p + 6, n);
            bad += o == NULL;
            cJSON_Delete(o);
        }
        p += 6;
    }
    return bad;
}

static void refuse_should_close_the_connection_without_a_reply(void **state)
{
    (void)state;
    refsrv *s = start_fault(REFSRV_LLAMACPP, REFSRV_FAULT_REFUSE);
    http_reply r;
    http_do(refsrv_port(s), "GET", "/health", NULL, 5, &r);
    assert_int_not_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 0);
    http_reply_free(&r);
    refsrv_stop(s);
}

/* A server with one fault always on and its reply to a chat request. */
typedef struct faulted {
    refsrv *s;
    http_reply r;
} faulted;

static faulted fault_chat(refsrv_dialect d, refsrv_fault f, const char *body, double timeout_s)
{
    faulted fx = {.s = start_fault(d, f)};
    chat_request(fx.s, body, timeout_s, &fx.r);
    return fx;
}

/* Another request to the same server: the earlier reply is freed. */
static void again(faulted *fx, const char *body)
{
    http_reply_free(&fx->r);
    chat_request(fx->s, body, 5, &fx->r);
}

static void faulted_done(faulted *fx)
{
    http_reply_free(&fx->r);
    refsrv_stop(fx->s);
}

static void reset_should_cut_a_stream_after_some_chunks(void **state)
{
    (void)state;
    faulted fx = fault_chat(REFSRV_LLAMACPP, REFSRV_FAULT_RESET, CHAT_STREAM, 5);
    assert_int_not_equal(fx.r.rc, CURLE_OK);
    assert_int_equal(fx.r.status, 200);
    assert_non_null(strstr(fx.r.body.data, "data: "));
    assert_null(strstr(fx.r.body.data, "[DONE]"));
    refsrv_truth t;
    assert_true(refsrv_last(fx.s, &t));
    assert_false(t.completed);
    assert_int_equal(t.fault, REFSRV_FAULT_RESET);
    again(&fx, CHAT_PLAIN); /* not streamed: no reply at all */
    assert_int_not_equal(fx.r.rc, CURLE_OK);
    assert_int_equal(fx.r.status, 0);
    faulted_done(&fx);
}

static void http_error_faults_should_answer_with_their_status(void **state)
{
    (void)state;
    const refsrv_fault f[] = {REFSRV_FAULT_HTTP500, REFSRV_FAULT_HTTP503, REFSRV_FAULT_HTTP429};
    const long status[] = {500, 503, 429};
    for (int i = 0; i < 3; i++) {
        faulted fx = fault_chat(REFSRV_VLLM, f[i], CHAT_STREAM, 5);
        assert_int_equal(fx.r.rc, CURLE_OK);
        assert_int_equal(fx.r.status, status[i]);
        cJSON *o = cJSON_Parse(fx.r.body.data);
        assert_non_null(o);
        cJSON_Delete(o);
        if (status[i] == 429)
            assert_non_null(strstr(fx.r.headers.data, "Retry-After: 1"));
        http_reply_free(&fx.r);
        /* health checks are not affected */
        http_do(refsrv_port(fx.s), "GET", "/health", NULL, 5, &fx.r);
        assert_int_equal(fx.r.status, 200);
        faulted_done(&fx);
    }
}

static void stall_should_outlast_the_client_timeout_and_stop_cleanly(void **state)
{
    (void)state;
    faulted fx = fault_chat(REFSRV_LLAMACPP, REFSRV_FAULT_STALL, CHAT_STREAM, 0.3);
    assert_int_equal(fx.r.rc, CURLE_OPERATION_TIMEDOUT);
    assert_null(strstr(fx.r.body.data, "data: "));
    faulted_done(&fx); /* interrupts the 60 s stall */
}

static void malformed_should_send_one_chunk_that_is_not_json(void **state)
{
    (void)state;
    faulted fx = fault_chat(REFSRV_LLAMACPP, REFSRV_FAULT_MALFORMED, CHAT_STREAM, 5);
    assert_int_equal(fx.r.rc, CURLE_OK);
    assert_int_equal(unparsable_data_lines(fx.r.body.data), 1);
    again(&fx, CHAT_PLAIN);
    assert_null(cJSON_Parse(fx.r.body.data));
    faulted_done(&fx);
}

static void truncate_should_end_the_stream_without_its_terminator(void **state)
{
    (void)state;
    faulted fx = fault_chat(REFSRV_LLAMACPP, REFSRV_FAULT_TRUNCATE, CHAT_STREAM, 5);
    assert_int_equal(fx.r.rc, CURLE_OK); /* a clean HTTP end */
    assert_non_null(strstr(fx.r.body.data, "data: "));
    assert_null(strstr(fx.r.body.data, "[DONE]"));
    assert_null(strstr(fx.r.body.data, "finish_reason\":\"length"));
    faulted_done(&fx);

    refsrv *s = start_fault(REFSRV_OLLAMA, REFSRV_FAULT_TRUNCATE);
    http_reply r;
    http_do(
        refsrv_port(s), "POST", "/api/chat",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"options\":{\"num_predict\":2}}", 5,
        &r);
    assert_null(strstr(r.body.data, "\"done\":true"));
    assert_non_null(strstr(r.body.data, "\"done\":false"));
    http_reply_free(&r);
    refsrv_stop(s);
}

/* The length of the longest line of text. */
static size_t longest_line(const char *text)
{
    size_t longest = 0;
    for (const char *p = text; p && *p;) {
        const char *eol = strchr(p, '\n');
        size_t n = eol ? (size_t)(eol - p) : strlen(p);
        longest = n > longest ? n : longest;
        p = eol ? eol + 1 : NULL;
    }
    return longest;
}

static void hugeline_should_send_one_ten_megabyte_line(void **state)
{
    (void)state;
    faulted fx = fault_chat(REFSRV_LLAMACPP, REFSRV_FAULT_HUGELINE, CHAT_STREAM, 30);
    assert_int_equal(fx.r.rc, CURLE_OK);
    assert_true(longest_line(fx.r.body.data) >= 10u * 1024u * 1024u);
    assert_int_equal(unparsable_data_lines(fx.r.body.data), 0);
    assert_non_null(strstr(fx.r.body.data, "[DONE]"));
    faulted_done(&fx);
}

static void content_type_fault_should_send_html(void **state)
{
    (void)state;
    faulted fx = fault_chat(REFSRV_LLAMACPP, REFSRV_FAULT_CONTENT_TYPE, CHAT_STREAM, 5);
    assert_non_null(strstr(fx.r.headers.data, "Content-Type: text/html"));
    assert_null(strstr(fx.r.headers.data, "text/event-stream"));
    faulted_done(&fx);
}

static void drip_should_write_one_byte_at_a_time(void **state)
{
    (void)state;
    faulted fx = fault_chat(REFSRV_LLAMACPP, REFSRV_FAULT_DRIP, CHAT_PLAIN, 30);
    assert_int_equal(fx.r.rc, CURLE_OK);
    cJSON *o = cJSON_Parse(fx.r.body.data);
    assert_non_null(o); /* the reply itself is intact */
    cJSON_Delete(o);
    assert_true(fx.r.writes > (long)fx.r.body.len / 4);
    faulted_done(&fx);
}

static void fault_draws_should_be_reproducible_from_the_seed(void **state)
{
    (void)state;
    char seq[2][33];
    for (int k = 0; k < 2; k++) {
        refsrv_config cfg;
        srvtest_config(&cfg, REFSRV_LLAMACPP);
        cfg.fault_p[REFSRV_FAULT_HTTP500] = 0.5;
        cfg.seed = 42;
        refsrv *s = tu_refsrv_start(&cfg);
        for (int i = 0; i < 32; i++) {
            http_reply r;
            chat_request(s, CHAT_PLAIN, 5, &r);
            seq[k][i] = r.status == 500 ? 'x' : '.';
            http_reply_free(&r);
        }
        seq[k][32] = '\0';
        refsrv_stop(s);
    }
    assert_string_equal(seq[0], seq[1]);
    assert_non_null(strchr(seq[0], 'x'));
    assert_non_null(strchr(seq[0], '.'));
}

TU_MAIN(tu_setup_curl, tu_teardown_curl,
        cmocka_unit_test(refuse_should_close_the_connection_without_a_reply),
        cmocka_unit_test(reset_should_cut_a_stream_after_some_chunks),
        cmocka_unit_test(http_error_faults_should_answer_with_their_status),
        cmocka_unit_test(stall_should_outlast_the_client_timeout_and_stop_cleanly),
        cmocka_unit_test(malformed_should_send_one_chunk_that_is_not_json),
        cmocka_unit_test(truncate_should_end_the_stream_without_its_terminator),
        cmocka_unit_test(hugeline_should_send_one_ten_megabyte_line),
        cmocka_unit_test(content_type_fault_should_send_html),
        cmocka_unit_test(drip_should_write_one_byte_at_a_time),
        cmocka_unit_test(fault_draws_should_be_reproducible_from_the_seed))
