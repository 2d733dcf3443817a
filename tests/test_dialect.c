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

static void check_llama(const trial_request *t)
{
    assert_true(fabs(t->ttft_ms - 50) < 1e-9);
    assert_true(fabs(t->first_content_ms - 50) < 1e-9);
    assert_true(fabs(t->last_token_ms - 80) < 1e-9);
    assert_true(fabs(t->gap_median_ms - 15) < 1e-9); /* gaps 10 and 20 */
    assert_int_equal(t->prompt_tokens, 1000);
    assert_int_equal(t->cached_tokens, 999);
    assert_int_equal(t->output_tokens, 3);
    assert_true(fabs(t->server_prefill_ms - 12.5) < 1e-9);
    assert_non_null(t->raw);
    assert_non_null(strstr(t->raw, "\"prompt_ms\":12.5"));
    assert_non_null(strstr(t->raw, "\"cached_tokens\":999"));
}

static void llamacpp_ttft_should_skip_the_role_only_chunk(void **state)
{
    (void)state;
    trial_request t;
    char err[KV_ERRLEN] = "";
    assert_int_equal(feed_all(SPEC_API_LLAMACPP, llama_stream, 7, 0, 0, &t, err), KV_OK);
    check_llama(&t);
    free(t.raw);
}

static void reader_should_give_the_same_result_fed_one_byte_at_a_time(void **state)
{
    (void)state;
    trial_request t;
    char err[KV_ERRLEN] = "";
    assert_int_equal(feed_all(SPEC_API_LLAMACPP, llama_stream, 7, 1, 0, &t, err), KV_OK);
    check_llama(&t);
    free(t.raw);
}

static void role_chunk_and_first_token_in_one_write_should_count_the_token(void **state)
{
    (void)state;
    const piece ps[] = {
        {30, "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n"
             "data: {\"choices\":[{\"delta\":{\"content\":\"A\"}}]}\n\n"},
        {40, "data: [DONE]\n\n"},
    };
    trial_request t;
    char err[KV_ERRLEN] = "";
    assert_int_equal(feed_all(SPEC_API_OPENAI_CHAT, ps, 2, 0, 0, &t, err), KV_OK);
    assert_true(fabs(t.ttft_ms - 30) < 1e-9);
    assert_int_equal(t.output_tokens, 1);
    assert_int_equal(t.cached_tokens, -1); /* vLLM without prompt_tokens_details */
    free(t.raw);
}

static void vllm_role_chunk_with_empty_content_should_not_count(void **state)
{
    (void)state;
    const piece ps[] = {
        {5, "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n"},
        {7, "data: {\"choices\":[{\"delta\":{\"content\":\"\"}}],\"usage\":null}\n\n"},
        {9, "data: {\"choices\":[{\"delta\":{},\"prompt_progress\":{\"total\":9,\"cache\":0,"
            "\"processed\":4}}]}\n\n"},
        {20, "data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n"},
        {21, "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":1,"
             "\"prompt_tokens_details\":{}}}\n\n"},
        {22, "data: [DONE]\n\n"},
    };
    trial_request t;
    char err[KV_ERRLEN] = "";
    assert_int_equal(feed_all(SPEC_API_OPENAI_CHAT, ps, 6, 0, 0, &t, err), KV_OK);
    assert_true(fabs(t.ttft_ms - 20) < 1e-9);
    assert_int_equal(t.prompt_tokens, 9);
    assert_int_equal(t.cached_tokens, 0); /* details present, count omitted when 0 */
    assert_true(isnan(t.server_prefill_ms));
    free(t.raw);
}

static void mlx_first_chunk_with_text_should_be_the_first_token(void **state)
{
    (void)state;
    const piece ps[] = {
        {15, "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"Hi\"}}]}\n\n"},
        {16, "data: {\"choices\":[],\"object\":\"chat.completion\",\"usage\":{\"prompt_tokens\":"
             "50,\"completion_tokens\":1,\"prompt_tokens_details\":{\"cached_tokens\":48}}}\n\n"},
        {17, "data: [DONE]\n\n"},
    };
    trial_request t;
    char err[KV_ERRLEN] = "";
    assert_int_equal(feed_all(SPEC_API_OPENAI_CHAT, ps, 3, 0, 0, &t, err), KV_OK);
    assert_true(fabs(t.ttft_ms - 15) < 1e-9);
    assert_int_equal(t.cached_tokens, 48);
    assert_true(isnan(t.gap_median_ms)); /* one token: no gap */
    free(t.raw);
}

static void reasoning_should_set_ttft_and_content_later_the_first_content(void **state)
{
    (void)state;
    const piece ps[] = {
        {10, "data: {\"choices\":[{\"delta\":{\"reasoning_content\":\"hmm\"}}]}\n\n"},
        {20, "data: {\"choices\":[{\"delta\":{\"reasoning\":\"...\"}}]}\n\n"},
        {40, "data: {\"choices\":[{\"delta\":{\"content\":\"ok\"}}]}\n\n"},
        {41, "data: [DONE]\n\n"},
    };
    trial_request t;
    char err[KV_ERRLEN] = "";
    assert_int_equal(feed_all(SPEC_API_OPENAI_CHAT, ps, 4, 0, 0, &t, err), KV_OK);
    assert_true(fabs(t.ttft_ms - 10) < 1e-9);
    assert_true(fabs(t.first_content_ms - 40) < 1e-9);
    assert_int_equal(t.output_tokens, 3);
    free(t.raw);
}

static void tool_call_delta_should_count_as_a_token(void **state)
{
    (void)state;
    const piece ps[] = {
        {12, "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0}]}}]}\n\n"},
        {13, "data: [DONE]\n\n"},
    };
    trial_request t;
    char err[KV_ERRLEN] = "";
    assert_int_equal(feed_all(SPEC_API_OPENAI_CHAT, ps, 2, 0, 0, &t, err), KV_OK);
    assert_true(fabs(t.ttft_ms - 12) < 1e-9);
    assert_true(isnan(t.first_content_ms));
    free(t.raw);
}

static void completions_text_should_count(void **state)
{
    (void)state;
    const piece ps[] = {
        {25, "data: {\"choices\":[{\"text\":\"word\",\"index\":0}]}\n\n"},
        {26, "data: [DONE]\n\n"},
    };
    trial_request t;
    char err[KV_ERRLEN] = "";
    assert_int_equal(feed_all(SPEC_API_OPENAI_COMPLETIONS, ps, 2, 0, 0, &t, err), KV_OK);
    assert_true(fabs(t.ttft_ms - 25) < 1e-9);
    free(t.raw);
}

static void stream_without_done_should_fail_without_terminator(void **state)
{
    (void)state;
    trial_request t;
    char err[KV_ERRLEN] = "";
    assert_int_equal(feed_all(SPEC_API_LLAMACPP, llama_stream, 6, 0, 0, &t, err), KV_ERR_PROTOCOL);
    assert_non_null(strstr(err, "stream ended without terminator"));
    free(t.raw);
}

static void truncated_event_should_fail_without_terminator(void **state)
{
    (void)state;
    const piece ps[] = {
        {5, "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n"},
        {6, "data: {\"choices\":[{\"delta\":{\"cont"},
    };
    trial_request t;
    char err[KV_ERRLEN] = "";
    assert_int_equal(feed_all(SPEC_API_OPENAI_CHAT, ps, 2, 0, 0, &t, err), KV_ERR_PROTOCOL);
    assert_non_null(strstr(err, "stream ended without terminator"));
    free(t.raw);
}

static void error_event_mid_stream_should_fail_with_the_server_message(void **state)
{
    (void)state;
    const piece ps[] = {
        {5, "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n"},
        {6, "data: {\"error\":{\"message\":\"context\\nshift failed\",\"code\":500}}\n\n"},
        {7, "data: [DONE]\n\n"},
    };
    trial_request t;
    char err[KV_ERRLEN] = "";
    assert_int_equal(feed_all(SPEC_API_OPENAI_CHAT, ps, 3, 0, 0, &t, err), KV_ERR_HTTP);
    assert_non_null(strstr(err, "context shift failed")); /* newline sanitised */
    free(t.raw);
}

static void malformed_json_should_fail_as_protocol_error(void **state)
{
    (void)state;
    const piece ps[] = {{5, "data: {\"choices\":[{\"delta\":\n\n"}, {6, "data: [DONE]\n\n"}};
    trial_request t;
    char err[KV_ERRLEN] = "";
    assert_int_equal(feed_all(SPEC_API_OPENAI_CHAT, ps, 2, 0, 0, &t, err), KV_ERR_PROTOCOL);
    assert_non_null(strstr(err, "malformed JSON"));
    free(t.raw);
}

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
    trial_request t;
    char err[KV_ERRLEN] = "";
    assert_int_equal(feed_all(SPEC_API_OPENAI_CHAT, ps, 1, 4096, 1024, &t, err), KV_ERR_PROTOCOL);
    assert_true(strlen(err) > 0);
    free(big);
    free(t.raw);
}

static void reference_server_stamp_should_give_the_client_overhead(void **state)
{
    (void)state;
    /* stamp 0.75 ms after START, chunk received 1 ms after START */
    const piece ps[] = {
        {0, ": kvproof-sent-ns=1000500000\n"
            "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":null}}]}\n\n"},
        {1, ": kvproof-sent-ns=1000750000\n"
            "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n"},
        {2, "data: [DONE]\n\n"},
    };
    trial_request t;
    char err[KV_ERRLEN] = "";
    assert_int_equal(feed_all(SPEC_API_OPENAI_CHAT, ps, 3, 0, 0, &t, err), KV_OK);
    assert_true(fabs(t.server_overhead_us - 250.0) < 1e-6);
    free(t.raw);
}

static void ollama_ndjson_should_give_prefill_in_ms_and_no_cached_count(void **state)
{
    (void)state;
    const piece ps[] = {
        {30, "{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"done\":"
             "false}\n"},
        {35, "{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":\"Hi\"},"
             "\"done\":false}\n"},
        {40, "{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"done\":true,"
             "\"done_reason\":\"stop\",\"total_duration\":174560334,\"prompt_eval_count\":11,"
             "\"prompt_eval_duration\":13074791,\"eval_count\":18,\"eval_duration\":52479709}\n"},
    };
    trial_request t;
    char err[KV_ERRLEN] = "";
    assert_int_equal(feed_all(SPEC_API_OLLAMA, ps, 3, 3, 0, &t, err), KV_OK);
    assert_true(fabs(t.ttft_ms - 35) < 1e-9);
    assert_int_equal(t.prompt_tokens, 11);
    assert_int_equal(t.cached_tokens, -1);
    assert_int_equal(t.output_tokens, 18);
    assert_true(fabs(t.server_prefill_ms - 13.074791) < 1e-9);
    assert_non_null(strstr(t.raw, "\"prompt_eval_duration\":13074791"));
    free(t.raw);
}

static void ollama_without_done_should_fail(void **state)
{
    (void)state;
    const piece ps[] = {{5, "{\"message\":{\"content\":\"Hi\"},\"done\":false}\n"}};
    trial_request t;
    char err[KV_ERRLEN] = "";
    assert_int_equal(feed_all(SPEC_API_OLLAMA, ps, 1, 0, 0, &t, err), KV_ERR_PROTOCOL);
    assert_non_null(strstr(err, "without terminator"));
    free(t.raw);
}

static void anthropic_events_should_give_usage_and_skip_start_events(void **state)
{
    (void)state;
    const piece ps[] = {
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
    trial_request t;
    char err[KV_ERRLEN] = "";
    assert_int_equal(feed_all(SPEC_API_ANTHROPIC, ps, 7, 5, 0, &t, err), KV_OK);
    assert_true(fabs(t.ttft_ms - 20) < 1e-9);
    assert_int_equal(t.prompt_tokens, 1000);
    assert_int_equal(t.cached_tokens, 990);
    assert_int_equal(t.output_tokens, 7);
    assert_non_null(strstr(t.raw, "\"cache_read_input_tokens\":990"));
    free(t.raw);
}

static void anthropic_error_event_should_fail_with_its_message(void **state)
{
    (void)state;
    const piece ps[] = {
        {5, "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
            "\"message\":\"Overloaded\"}}\n\n"},
    };
    trial_request t;
    char err[KV_ERRLEN] = "";
    assert_int_equal(feed_all(SPEC_API_ANTHROPIC, ps, 1, 0, 0, &t, err), KV_ERR_HTTP);
    assert_non_null(strstr(err, "Overloaded"));
    free(t.raw);
}

static void lmstudio_stats_should_give_prefill_in_ms_when_present(void **state)
{
    (void)state;
    const piece ps[] = {
        {5, "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n"},
        {6, "data: {\"choices\":[],\"stats\":{\"time_to_first_token\":0.25}}\n\n"},
        {7, "data: [DONE]\n\n"},
    };
    trial_request t;
    char err[KV_ERRLEN] = "";
    assert_int_equal(feed_all(SPEC_API_LMSTUDIO, ps, 3, 0, 0, &t, err), KV_OK);
    assert_true(fabs(t.server_prefill_ms - 250) < 1e-9);
    assert_int_equal(t.cached_tokens, -1);
    free(t.raw);
}

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

TU_MAIN(NULL, NULL, cmocka_unit_test(llamacpp_ttft_should_skip_the_role_only_chunk),
        cmocka_unit_test(reader_should_give_the_same_result_fed_one_byte_at_a_time),
        cmocka_unit_test(role_chunk_and_first_token_in_one_write_should_count_the_token),
        cmocka_unit_test(vllm_role_chunk_with_empty_content_should_not_count),
        cmocka_unit_test(mlx_first_chunk_with_text_should_be_the_first_token),
        cmocka_unit_test(reasoning_should_set_ttft_and_content_later_the_first_content),
        cmocka_unit_test(tool_call_delta_should_count_as_a_token),
        cmocka_unit_test(completions_text_should_count),
        cmocka_unit_test(stream_without_done_should_fail_without_terminator),
        cmocka_unit_test(truncated_event_should_fail_without_terminator),
        cmocka_unit_test(error_event_mid_stream_should_fail_with_the_server_message),
        cmocka_unit_test(malformed_json_should_fail_as_protocol_error),
        cmocka_unit_test(line_over_the_limit_should_fail_without_growing),
        cmocka_unit_test(reference_server_stamp_should_give_the_client_overhead),
        cmocka_unit_test(ollama_ndjson_should_give_prefill_in_ms_and_no_cached_count),
        cmocka_unit_test(ollama_without_done_should_fail),
        cmocka_unit_test(anthropic_events_should_give_usage_and_skip_start_events),
        cmocka_unit_test(anthropic_error_event_should_fail_with_its_message),
        cmocka_unit_test(lmstudio_stats_should_give_prefill_in_ms_when_present),
        cmocka_unit_test(openai_body_should_stream_with_usage),
        cmocka_unit_test(llamacpp_body_should_send_cache_prompt_false_when_cold),
        cmocka_unit_test(completions_body_should_concatenate_the_messages),
        cmocka_unit_test(ollama_body_should_use_options),
        cmocka_unit_test(anthropic_body_should_mark_the_system_block_cacheable),
        cmocka_unit_test(dialect_names_should_round_trip),
        cmocka_unit_test(error_message_should_come_from_the_json_body),
        cmocka_unit_test(sanitize_should_give_valid_utf8_and_cut_between_characters))
