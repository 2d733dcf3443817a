/* test_dialect.c - request bodies and stream readers of every dialect, fed
 * canned byte streams (no server): first-token rules, usage and timing
 * fields, terminators, errors and limits. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "net/dialect.h"
#include "tests/testutil.h"

#define START 1000000000LL /* request start, ns */
#define MS 1000000LL

typedef struct piece {
    int64_t at_ms; /* receive time after START */
    const char *bytes;
} piece;

/* Feeds pieces (each split into chunks of `chunk` bytes; 0 = whole) and
 * finishes; returns the finish status; fills *out. */
static kv_status feed_all(spec_api api, const piece *ps, size_t n, size_t chunk, size_t max_line,
                          trial_request *out, char *err)
{
    dialect_reader *r = NULL;
    char e2[KV_ERRLEN] = "";
    assert_int_equal(dialect_reader_new(api, max_line, true, &r, e2), KV_OK);
    kv_status st = KV_OK;
    for (size_t i = 0; i < n && st == KV_OK; i++) {
        size_t len = strlen(ps[i].bytes);
        size_t step = chunk ? chunk : len;
        for (size_t off = 0; off < len && st == KV_OK; off += step) {
            size_t k = len - off < step ? len - off : step;
            st = dialect_reader_feed(r, ps[i].bytes + off, k, START + ps[i].at_ms * MS, err);
        }
    }
    if (st == KV_OK)
        st = dialect_reader_finish(r, err);
    memset(out, 0, sizeof *out);
    assert_int_equal(dialect_reader_fill(r, START, out, e2), KV_OK);
    dialect_reader_free(r);
    return st;
}

/* An expected value: checked when on; for a double, NAN means "must be
 * NaN". */
typedef struct want_ms {
    bool on;
    double v;
} want_ms;
typedef struct want_n {
    bool on;
    long v;
} want_n;

/* A canned stream (ps[0..n), chunk and max_line as feed_all takes them)
 * and what reading it must give: the finish status; when err_has is not
 * NULL, an error message that is not empty and contains it; every field
 * that is on; raw_has (up to two, NULL-ended) in the server fields kept. */
typedef struct stream_case {
    spec_api api;
    const piece *ps;
    size_t n, chunk, max_line;
    kv_status status;
    const char *err_has;
    want_ms ttft_ms, first_content_ms, last_token_ms, gap_median_ms, server_prefill_ms,
        server_overhead_us;
    want_n prompt_tokens, cached_tokens, output_tokens;
    const char *raw_has[2];
} stream_case;

static void expect_ms(const char *field, double got, want_ms w, double tol)
{
    if (w.on && (isnan(w.v) ? !isnan(got) : !(fabs(got - w.v) < tol)))
        fail_msg("%s: %g, expected %g", field, got, w.v);
}

static void expect_n(const char *field, long got, want_n w)
{
    if (w.on && got != w.v)
        fail_msg("%s: %ld, expected %ld", field, got, w.v);
}

static void run_case(const stream_case *c)
{
    trial_request t;
    char err[KV_ERRLEN] = "";
    assert_int_equal(feed_all(c->api, c->ps, c->n, c->chunk, c->max_line, &t, err), c->status);
    if (c->err_has && (!err[0] || !strstr(err, c->err_has)))
        fail_msg("error \"%s\", expected one with \"%s\"", err, c->err_has);
    expect_ms("ttft_ms", t.ttft_ms, c->ttft_ms, 1e-9);
    expect_ms("first_content_ms", t.first_content_ms, c->first_content_ms, 1e-9);
    expect_ms("last_token_ms", t.last_token_ms, c->last_token_ms, 1e-9);
    expect_ms("gap_median_ms", t.gap_median_ms, c->gap_median_ms, 1e-9);
    expect_ms("server_prefill_ms", t.server_prefill_ms, c->server_prefill_ms, 1e-9);
    expect_ms("server_overhead_us", t.server_overhead_us, c->server_overhead_us, 1e-6);
    expect_n("prompt_tokens", t.prompt_tokens, c->prompt_tokens);
    expect_n("cached_tokens", t.cached_tokens, c->cached_tokens);
    expect_n("output_tokens", t.output_tokens, c->output_tokens);
    for (size_t i = 0; i < 2 && c->raw_has[i]; i++)
        if (!t.raw || !strstr(t.raw, c->raw_has[i]))
            fail_msg("raw %s, expected it to contain %s", t.raw ? t.raw : "(none)", c->raw_has[i]);
    free(t.raw);
}

/* A cmocka test of the stream_case in *state (a TU_CASE row). */
static void stream_case_test(void **state)
{
    run_case(*state);
}

static const piece llama_stream[] = {
    {10, "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":null}}]}\n\n"},
    {50, "data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\n"},
    {60, "data: {\"choices\":[{\"delta\":{\"content\":\"lo\"}}]}\n\n"},
    {80, "data: {\"choices\":[{\"delta\":{\"content\":\"!\"}}]}\n\n"},
    {81, "data: {\"choices\":[{\"finish_reason\":\"stop\",\"delta\":{}}]}\n\n"},
    {82, "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1000,\"completion_tokens\":3,"
         "\"prompt_tokens_details\":{\"cached_tokens\":999}},\"timings\":{\"cache_n\":999,"
         "\"prompt_n\":1,\"prompt_ms\":12.5,\"predicted_n\":3}}\n\n"},
    {83, "data: [DONE]\n\n"},
};

/* The whole llama.cpp stream fed in chunks of `chunk` bytes (0: whole
 * pieces). */
static void check_llama(size_t chunk)
{
    run_case(&(stream_case){.api = SPEC_API_LLAMACPP,
                            .ps = llama_stream,
                            .n = 7,
                            .chunk = chunk,
                            .ttft_ms = {true, 50},
                            .first_content_ms = {true, 50},
                            .last_token_ms = {true, 80},
                            .gap_median_ms = {true, 15}, /* gaps 10 and 20 */
                            .prompt_tokens = {true, 1000},
                            .cached_tokens = {true, 999},
                            .output_tokens = {true, 3},
                            .server_prefill_ms = {true, 12.5},
                            .raw_has = {"\"prompt_ms\":12.5", "\"cached_tokens\":999"}});
}

static void llamacpp_ttft_should_skip_the_role_only_chunk(void **state)
{
    (void)state;
    check_llama(0);
}

static void reader_should_give_the_same_result_fed_one_byte_at_a_time(void **state)
{
    (void)state;
    check_llama(1);
}

/* The canned streams of more than two pieces; a shorter one stands in its
 * test's row of the list at the end. */
static const piece vllm_empty_role_chunk[] = {
    {5, "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n"},
    {7, "data: {\"choices\":[{\"delta\":{\"content\":\"\"}}],\"usage\":null}\n\n"},
    {9, "data: {\"choices\":[{\"delta\":{},\"prompt_progress\":{\"total\":9,\"cache\":0,"
        "\"processed\":4}}]}\n\n"},
    {20, "data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n"},
    {21, "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":1,"
         "\"prompt_tokens_details\":{}}}\n\n"},
    {22, "data: [DONE]\n\n"},
};

static const piece mlx_first_chunk_with_text[] = {
    {15, "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"Hi\"}}]}\n\n"},
    {16, "data: {\"choices\":[],\"object\":\"chat.completion\",\"usage\":{\"prompt_tokens\":"
         "50,\"completion_tokens\":1,\"prompt_tokens_details\":{\"cached_tokens\":48}}}\n\n"},
    {17, "data: [DONE]\n\n"},
};

static const piece reasoning_then_content[] = {
    {10, "data: {\"choices\":[{\"delta\":{\"reasoning_content\":\"hmm\"}}]}\n\n"},
    {20, "data: {\"choices\":[{\"delta\":{\"reasoning\":\"...\"}}]}\n\n"},
    {40, "data: {\"choices\":[{\"delta\":{\"content\":\"ok\"}}]}\n\n"},
    {41, "data: [DONE]\n\n"},
};

static const piece error_event_mid_stream[] = {
    {5, "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n"},
    {6, "data: {\"error\":{\"message\":\"context\\nshift failed\",\"code\":500}}\n\n"},
    {7, "data: [DONE]\n\n"},
};

static void line_over_the_limit_should_fail_without_growing(void **state)
{
    (void)state;
    size_t n = 100000;
    char *big = malloc(n + 16);
    assert_non_null(big);
    memcpy(big, "data: \"", 7);
    memset(big + 7, 'x', n);
    big[n + 7] = '\0';
    const piece ps[] = {{5, big}};
    run_case(&(stream_case){.api = SPEC_API_OPENAI_CHAT,
                            .ps = ps,
                            .n = 1,
                            .chunk = 4096,
                            .max_line = 1024,
                            .status = KV_ERR_PROTOCOL,
                            .err_has = ""});
    free(big);
}

/* stamp 0.75 ms after START, chunk received 1 ms after START */
static const piece reference_server_stamp[] = {
    {0, ": kvproof-sent-ns=1000500000\n"
        "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":null}}]}\n\n"},
    {1, ": kvproof-sent-ns=1000750000\n"
        "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n"},
    {2, "data: [DONE]\n\n"},
};

static const piece ollama_ndjson[] = {
    {30, "{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"done\":"
         "false}\n"},
    {35, "{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":\"Hi\"},"
         "\"done\":false}\n"},
    {40, "{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"done\":true,"
         "\"done_reason\":\"stop\",\"total_duration\":174560334,\"prompt_eval_count\":11,"
         "\"prompt_eval_duration\":13074791,\"eval_count\":18,\"eval_duration\":52479709}\n"},
};

static const piece anthropic_events[] = {
    {5, "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{"
        "\"input_tokens\":10,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":"
        "990,\"output_tokens\":1}}}\n\n"},
    {6, "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,"
        "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"},
    {7, "event: ping\ndata: {\"type\": \"ping\"}\n\n"},
    {20, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
         "\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n"},
    {21, "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"},
    {22, "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
         "\"end_turn\"},\"usage\":{\"output_tokens\":7}}\n\n"},
    {23, "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"},
};

static const piece lmstudio_stats[] = {
    {5, "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n"},
    {6, "data: {\"choices\":[],\"stats\":{\"time_to_first_token\":0.25}}\n\n"},
    {7, "data: [DONE]\n\n"},
};

/* ---- request bodies ---- */

static cJSON *build(spec_api api, bool no_cache)
{
    client_request rq = {
        .api = api, .max_output_tokens = 4, .temperature = 0, .no_cache = no_cache};
    char *body = tu_request_body(rq, "http://x", "m1", "You are terse.", "Hi?");
    cJSON *j = cJSON_Parse(body);
    assert_non_null(j);
    free(body);
    return j;
}

static void openai_body_should_stream_with_usage(void **state)
{
    (void)state;
    cJSON *j = build(SPEC_API_OPENAI_CHAT, false);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "stream")));
    assert_true(cJSON_IsTrue(
        cJSON_GetObjectItem(cJSON_GetObjectItem(j, "stream_options"), "include_usage")));
    assert_int_equal(cJSON_GetObjectItem(j, "max_tokens")->valueint, 4);
    assert_string_equal(cJSON_GetObjectItem(j, "model")->valuestring, "m1");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "messages")), 2);
    assert_null(cJSON_GetObjectItem(j, "cache_prompt"));
    cJSON_Delete(j);
}

static void llamacpp_body_should_send_cache_prompt_false_when_cold(void **state)
{
    (void)state;
    cJSON *j = build(SPEC_API_LLAMACPP, true);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(j, "cache_prompt")));
    cJSON_Delete(j);
    j = build(SPEC_API_LLAMACPP, false);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "cache_prompt")));
    cJSON_Delete(j);
}

static void completions_body_should_concatenate_the_messages(void **state)
{
    (void)state;
    cJSON *j = build(SPEC_API_OPENAI_COMPLETIONS, false);
    assert_string_equal(cJSON_GetObjectItem(j, "prompt")->valuestring, "You are terse.\n\nHi?");
    assert_null(cJSON_GetObjectItem(j, "messages"));
    cJSON_Delete(j);
}

static void ollama_body_should_use_options(void **state)
{
    (void)state;
    cJSON *j = build(SPEC_API_OLLAMA, false);
    cJSON *opt = cJSON_GetObjectItem(j, "options");
    assert_int_equal(cJSON_GetObjectItem(opt, "num_predict")->valueint, 4);
    assert_non_null(cJSON_GetObjectItem(opt, "temperature"));
    assert_null(cJSON_GetObjectItem(j, "max_tokens"));
    cJSON_Delete(j);
}

static void anthropic_body_should_mark_the_system_block_cacheable(void **state)
{
    (void)state;
    cJSON *j = build(SPEC_API_ANTHROPIC, false);
    cJSON *sys = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "system"), 0);
    assert_string_equal(cJSON_GetObjectItem(sys, "text")->valuestring, "You are terse.");
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(sys, "cache_control"), "type")->valuestring,
        "ephemeral");
    cJSON *msgs = cJSON_GetObjectItem(j, "messages");
    assert_int_equal(cJSON_GetArraySize(msgs), 1);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, 0), "role")->valuestring,
                        "user");
    cJSON_Delete(j);
}

static void dialect_names_should_round_trip(void **state)
{
    (void)state;
    for (int a = SPEC_API_AUTO; a <= SPEC_API_ANTHROPIC; a++) {
        spec_api out;
        char err[KV_ERRLEN] = "";
        assert_int_equal(dialect_parse(dialect_name((spec_api)a), &out, err), KV_OK);
        assert_int_equal(out, a);
    }
    spec_api out;
    char err[KV_ERRLEN] = "";
    assert_int_equal(dialect_parse("grpc", &out, err), KV_ERR_USAGE);
}

static void error_message_should_come_from_the_json_body(void **state)
{
    (void)state;
    char msg[64];
    const char *b1 = "{\"error\":{\"message\":\"model not found\"}}";
    dialect_error_message(msg, sizeof msg, b1, strlen(b1));
    assert_string_equal(msg, "model not found");
    const char *b2 = "{\"detail\":\"bad\"}";
    dialect_error_message(msg, sizeof msg, b2, strlen(b2));
    assert_string_equal(msg, "bad");
    const char *b3 = "plain\r\ntext";
    dialect_error_message(msg, sizeof msg, b3, strlen(b3));
    assert_string_equal(msg, "plain  text");
    char small[8];
    dialect_sanitize(small, sizeof small, "0123456789", 10);
    assert_string_equal(small, "0123...");
}

/* A server's bytes become valid UTF-8 however they arrive, and a cut never
 * splits a character (Python's json must load every journal line). */
static void sanitize_should_give_valid_utf8_and_cut_between_characters(void **state)
{
    (void)state;
    char out[32];
    dialect_sanitize(out, sizeof out, "bad \xff\xfe byte", 11);
    assert_string_equal(out, "bad \xef\xbf\xbd\xef\xbf\xbd byte");
    dialect_sanitize(out, sizeof out, "cut \xe4\xb8", 6); /* sequence cut short by the server */
    assert_string_equal(out, "cut \xef\xbf\xbd");
    /* 20 CJK characters (60 bytes) into 32: whole characters, then "..." */
    char cjk[64] = "";
    for (int i = 0; i < 20; i++)
        strcat(cjk, "\xe9\x94\x99");
    for (size_t cap = 4; cap <= sizeof out; cap++) {
        dialect_sanitize(out, cap, cjk, strlen(cjk));
        size_t n = strlen(out);
        assert_true(n < cap);
        size_t text = n >= 3 && strcmp(out + n - 3, "...") == 0 ? n - 3 : n;
        assert_int_equal(text % 3, 0); /* only whole 3-byte characters */
        for (size_t i = 0; i < text; i += 3)
            assert_memory_equal(out + i, "\xe9\x94\x99", 3);
    }
    dialect_sanitize(out, sizeof out, "line\xe2\x80\xa8sep\xc2\x85nel", 15);
    assert_string_equal(out, "line sep nel");
}

#define CASE(NAME, ...) TU_CASE(NAME, stream_case_test, stream_case, __VA_ARGS__)

TU_MAIN(
    NULL, NULL, cmocka_unit_test(llamacpp_ttft_should_skip_the_role_only_chunk),
    cmocka_unit_test(reader_should_give_the_same_result_fed_one_byte_at_a_time),
    CASE(role_chunk_and_first_token_in_one_write_should_count_the_token, SPEC_API_OPENAI_CHAT,
         (const piece[]){
             {30, "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n"
                  "data: {\"choices\":[{\"delta\":{\"content\":\"A\"}}]}\n\n"},
             {40, "data: [DONE]\n\n"},
         },
         2, .ttft_ms = {true, 30}, .output_tokens = {true, 1},
         .cached_tokens = {true, -1}), /* vLLM without prompt_tokens_details */
    CASE(vllm_role_chunk_with_empty_content_should_not_count, SPEC_API_OPENAI_CHAT,
         vllm_empty_role_chunk, 6, .ttft_ms = {true, 20}, .prompt_tokens = {true, 9},
         .cached_tokens = {true, 0}, /* details present, count omitted when 0 */
         .server_prefill_ms = {true, NAN}),
    CASE(mlx_first_chunk_with_text_should_be_the_first_token, SPEC_API_OPENAI_CHAT,
         mlx_first_chunk_with_text, 3, .ttft_ms = {true, 15}, .cached_tokens = {true, 48},
         .gap_median_ms = {true, NAN}), /* one token: no gap */
    CASE(reasoning_should_set_ttft_and_content_later_the_first_content, SPEC_API_OPENAI_CHAT,
         reasoning_then_content, 4, .ttft_ms = {true, 10}, .first_content_ms = {true, 40},
         .output_tokens = {true, 3}),
    CASE(tool_call_delta_should_count_as_a_token, SPEC_API_OPENAI_CHAT,
         (const piece[]){
             {12, "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0}]}}]}\n\n"},
             {13, "data: [DONE]\n\n"},
         },
         2, .ttft_ms = {true, 12}, .first_content_ms = {true, NAN}),
    CASE(completions_text_should_count, SPEC_API_OPENAI_COMPLETIONS,
         (const piece[]){
             {25, "data: {\"choices\":[{\"text\":\"word\",\"index\":0}]}\n\n"},
             {26, "data: [DONE]\n\n"},
         },
         2, .ttft_ms = {true, 25}),
    CASE(stream_without_done_should_fail_without_terminator, SPEC_API_LLAMACPP, llama_stream, 6,
         .status = KV_ERR_PROTOCOL, .err_has = "stream ended without terminator"),
    CASE(truncated_event_should_fail_without_terminator, SPEC_API_OPENAI_CHAT,
         (const piece[]){
             {5, "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n"},
             {6, "data: {\"choices\":[{\"delta\":{\"cont"},
         },
         2, .status = KV_ERR_PROTOCOL, .err_has = "stream ended without terminator"),
    CASE(error_event_mid_stream_should_fail_with_the_server_message, SPEC_API_OPENAI_CHAT,
         error_event_mid_stream, 3, .status = KV_ERR_HTTP,
         .err_has = "context shift failed"), /* newline sanitised */
    CASE(malformed_json_should_fail_as_protocol_error, SPEC_API_OPENAI_CHAT,
         (const piece[]){
             {5, "data: {\"choices\":[{\"delta\":\n\n"},
             {6, "data: [DONE]\n\n"},
         },
         2, .status = KV_ERR_PROTOCOL, .err_has = "malformed JSON"),
    cmocka_unit_test(line_over_the_limit_should_fail_without_growing),
    CASE(reference_server_stamp_should_give_the_client_overhead, SPEC_API_OPENAI_CHAT,
         reference_server_stamp, 3, .server_overhead_us = {true, 250.0}),
    CASE(ollama_ndjson_should_give_prefill_in_ms_and_no_cached_count, SPEC_API_OLLAMA,
         ollama_ndjson, 3, 3, .ttft_ms = {true, 35}, .prompt_tokens = {true, 11},
         .cached_tokens = {true, -1}, .output_tokens = {true, 18},
         .server_prefill_ms = {true, 13.074791}, .raw_has = {"\"prompt_eval_duration\":13074791"}),
    CASE(ollama_without_done_should_fail, SPEC_API_OLLAMA,
         (const piece[]){
             {5, "{\"message\":{\"content\":\"Hi\"},\"done\":false}\n"},
         },
         1, .status = KV_ERR_PROTOCOL, .err_has = "without terminator"),
    CASE(anthropic_events_should_give_usage_and_skip_start_events, SPEC_API_ANTHROPIC,
         anthropic_events, 7, 5, .ttft_ms = {true, 20}, .prompt_tokens = {true, 1000},
         .cached_tokens = {true, 990}, .output_tokens = {true, 7},
         .raw_has = {"\"cache_read_input_tokens\":990"}),
    CASE(anthropic_error_event_should_fail_with_its_message, SPEC_API_ANTHROPIC,
         (const piece[]){
             {5, "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
                 "\"message\":\"Overloaded\"}}\n\n"},
         },
         1, .status = KV_ERR_HTTP, .err_has = "Overloaded"),
    CASE(lmstudio_stats_should_give_prefill_in_ms_when_present, SPEC_API_LMSTUDIO, lmstudio_stats,
         3, .server_prefill_ms = {true, 250}, .cached_tokens = {true, -1}),
    cmocka_unit_test(openai_body_should_stream_with_usage),
    cmocka_unit_test(llamacpp_body_should_send_cache_prompt_false_when_cold),
    cmocka_unit_test(completions_body_should_concatenate_the_messages),
    cmocka_unit_test(ollama_body_should_use_options),
    cmocka_unit_test(anthropic_body_should_mark_the_system_block_cacheable),
    cmocka_unit_test(dialect_names_should_round_trip),
    cmocka_unit_test(error_message_should_come_from_the_json_body),
    cmocka_unit_test(sanitize_should_give_valid_utf8_and_cut_between_characters))
