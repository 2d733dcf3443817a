/* test_server_dialects.c - wire-format conformance of the reference server,
 * dialect by dialect: every documented field present with its unit, absent
 * where the real server omits it, streamed and non-streamed replies agreeing,
 * terminators where the real server sends them, and the endpoint matrix. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "srvtest.h"
#include "tests/testutil.h"

#define SYS "You are a careful assistant. Answer briefly, and cite sources."
#define ABSENT (-1e300)

static refsrv *start(refsrv_dialect d)
{
    refsrv_config cfg;
    srvtest_config(&cfg, d);
    return tu_refsrv_start(&cfg);
}

static void post(refsrv *s, const char *path, const char *body, http_reply *r)
{
    http_do(refsrv_port(s), "POST", path, body, 10, r);
    assert_int_equal(r->rc, CURLE_OK);
    assert_int_equal(r->status, 200);
}

static char *chat_body(const char *user, bool stream, bool usage, const char *extra)
{
    static char body[2048];
    snprintf(body, sizeof body,
             "{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":\"" SYS "\"},"
             "{\"role\":\"user\",\"content\":\"%s\"}],\"max_tokens\":3,\"stream\":%s%s%s}",
             user, stream ? "true" : "false",
             usage ? ",\"stream_options\":{\"include_usage\":true}" : "", extra ? extra : "");
    return body;
}

static const cJSON *last_event(const cJSON *events)
{
    return cJSON_GetArrayItem(events, cJSON_GetArraySize(events) - 1);
}

static bool ends_with_done(const char *body)
{
    size_t n = strlen(body);
    return n >= 14 && strcmp(body + n - 14, "data: [DONE]\n\n") == 0;
}

/* Every data line is preceded by a send stamp; stamps never decrease. */
static void check_stamps(const char *body)
{
    const char *p = body;
    long long prev = 0;
    int n = 0;
    while ((p = strstr(p, ": kvproof-sent-ns=")) != NULL) {
        long long v = strtoll(p + 18, NULL, 10);
        assert_true(v >= prev);
        prev = v;
        const char *eol = strchr(p, '\n');
        assert_non_null(eol);
        assert_true(strncmp(eol + 1, "data: ", 6) == 0 || strncmp(eol + 1, "event: ", 7) == 0);
        p = eol;
        n++;
    }
    assert_true(n > 0);
    assert_true(prev <= kv_now_ns());
}

static void llamacpp_chat_should_carry_timings_and_a_role_chunk(void **state)
{
    (void)state;
    refsrv *s = start(REFSRV_LLAMACPP);
    http_reply r;
    post(s, "/v1/chat/completions", chat_body("one", false, false, NULL), &r);
    cJSON *o = cJSON_Parse(r.body.data);
    const char *keys[] = {"cache_n",
                          "prompt_n",
                          "prompt_ms",
                          "prompt_per_token_ms",
                          "prompt_per_second",
                          "predicted_n",
                          "predicted_ms",
                          "predicted_per_token_ms",
                          "predicted_per_second"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        char path[64];
        snprintf(path, sizeof path, "timings.%s", keys[i]);
        assert_true(json_num(o, path) != ABSENT);
    }
    assert_int_equal((long)json_num(o, "usage.prompt_tokens_details.cached_tokens"), 0);
    assert_string_equal(cJSON_GetObjectItem(o, "system_fingerprint")->valuestring,
                        "kvproof-reference-simulated");
    refsrv_truth t;
    assert_true(refsrv_last(s, &t));
    assert_float_equal(json_num(o, "timings.prompt_ms"), t.prefill_ms, 1e-9); /* ms */
    cJSON_Delete(o);
    http_reply_free(&r);

    post(s, "/v1/chat/completions", chat_body("two", true, false, NULL), &r);
    assert_non_null(strstr(r.headers.data, "text/event-stream"));
    assert_true(ends_with_done(r.body.data));
    check_stamps(r.body.data);
    cJSON *ev = sse_events(r.body.data);
    const cJSON *first = cJSON_GetArrayItem(ev, 0);
    assert_true(
        cJSON_IsNull(json_at(cJSON_GetArrayItem(json_at(first, "choices"), 0), "delta.content")));
    /* role chunk and first content chunk arrive in one write: both present */
    assert_int_equal(cJSON_GetArraySize(ev), 1 + 3 + 1);
    const cJSON *fin = last_event(ev);
    assert_int_equal((long)json_num(fin, "timings.predicted_n"), 3);
    assert_true(json_num(fin, "timings.cache_n") > 0);
    assert_null(json_at(fin, "usage"));
    cJSON_Delete(ev);
    http_reply_free(&r);

    post(s, "/v1/chat/completions", chat_body("three", true, true, NULL), &r);
    ev = sse_events(r.body.data);
    fin = last_event(ev);
    assert_int_equal(cJSON_GetArraySize(json_at(fin, "choices")), 0);
    assert_true(json_num(fin, "usage.prompt_tokens_details.cached_tokens") > 0);
    assert_true(json_num(fin, "timings.prompt_ms") != ABSENT);
    assert_null(json_at(cJSON_GetArrayItem(ev, cJSON_GetArraySize(ev) - 2), "timings"));
    cJSON_Delete(ev);
    http_reply_free(&r);
    refsrv_stop(s);
}

static void llamacpp_completion_should_end_with_stop_true_and_no_done(void **state)
{
    (void)state;
    refsrv *s = start(REFSRV_LLAMACPP);
    http_reply r;
    post(s, "/completion", "{\"prompt\":\"" SYS "\",\"n_predict\":4,\"stream\":true}", &r);
    assert_null(strstr(r.body.data, "[DONE]"));
    cJSON *ev = sse_events(r.body.data);
    assert_int_equal(cJSON_GetArraySize(ev), 5);
    const cJSON *fin = last_event(ev);
    assert_true(cJSON_IsTrue(json_at(fin, "stop")));
    assert_int_equal((long)json_num(fin, "tokens_evaluated"), refsrv_count_tokens(SYS));
    assert_int_equal((long)json_num(fin, "tokens_cached"), 0);
    assert_int_equal((long)json_num(fin, "timings.predicted_n"), 4);
    assert_string_equal(json_at(fin, "stop_type")->valuestring, "limit");
    cJSON_Delete(ev);
    http_reply_free(&r);
    /* n_predict 0 only evaluates the prompt */
    post(s, "/completion", "{\"prompt\":\"" SYS "\",\"n_predict\":0}", &r);
    cJSON *o = cJSON_Parse(r.body.data);
    assert_int_equal((long)json_num(o, "tokens_predicted"), 0);
    assert_int_equal((long)json_num(o, "tokens_cached"), refsrv_count_tokens(SYS) - 1);
    assert_string_equal(json_at(o, "content")->valuestring, "");
    cJSON_Delete(o);
    http_reply_free(&r);
    refsrv_stop(s);
}

static void vllm_and_sglang_should_omit_cached_tokens_when_zero(void **state)
{
    (void)state;
    refsrv_dialect ds[] = {REFSRV_VLLM, REFSRV_SGLANG};
    for (int i = 0; i < 2; i++) {
        refsrv *s = start(ds[i]);
        http_reply r;
        post(s, "/v1/chat/completions", chat_body("one", false, false, NULL), &r);
        cJSON *o = cJSON_Parse(r.body.data);
        assert_null(json_at(o, "usage.prompt_tokens_details"));
        assert_null(json_at(o, "timings"));
        assert_true(json_num(o, "usage.prompt_tokens") > 0);
        cJSON_Delete(o);
        http_reply_free(&r);
        post(s, "/v1/chat/completions", chat_body("two", true, true, NULL), &r);
        assert_true(ends_with_done(r.body.data));
        cJSON *ev = sse_events(r.body.data);
        const cJSON *d0 =
            json_at(cJSON_GetArrayItem(json_at(cJSON_GetArrayItem(ev, 0), "choices"), 0), "delta");
        assert_string_equal(json_at(d0, "role")->valuestring, "assistant");
        assert_string_equal(json_at(d0, "content")->valuestring, ""); /* role-only */
        assert_true(json_num(last_event(ev), "usage.prompt_tokens_details.cached_tokens") > 0);
        assert_null(strstr(r.body.data, "timings"));
        cJSON_Delete(ev);
        http_reply_free(&r);
        /* without include_usage there is no usage at all */
        post(s, "/v1/chat/completions", chat_body("three", true, false, NULL), &r);
        assert_null(strstr(r.body.data, "\"usage\""));
        http_reply_free(&r);
        refsrv_stop(s);
    }
}

static void ollama_native_should_stream_ndjson_with_nanosecond_durations(void **state)
{
    (void)state;
    refsrv *s = start(REFSRV_OLLAMA);
    http_reply r;
    const char *body =
        "{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":\"" SYS
        "\"},{\"role\":\"user\",\"content\":\"hi\"}],\"options\":{\"num_predict\":3}}";
    post(s, "/api/chat", body, &r); /* streams by default */
    assert_non_null(strstr(r.headers.data, "application/x-ndjson"));
    assert_null(strstr(r.body.data, "data:"));
    cJSON *lines = ndjson_lines(r.body.data);
    assert_int_equal(cJSON_GetArraySize(lines), 4);
    const cJSON *fin = last_event(lines);
    assert_true(cJSON_IsTrue(json_at(fin, "done")));
    assert_string_equal(json_at(fin, "done_reason")->valuestring, "length");
    refsrv_truth t;
    assert_true(refsrv_last(s, &t));
    assert_float_equal(json_num(fin, "prompt_eval_duration"), t.prefill_ms * 1e6, 1.0); /* ns */
    assert_int_equal((long)json_num(fin, "prompt_eval_count"), t.prompt_tokens);
    assert_int_equal((long)json_num(fin, "eval_count"), 3);
    assert_true(json_num(fin, "total_duration") >= json_num(fin, "prompt_eval_duration"));
    assert_true(json_num(fin, "load_duration") != ABSENT);
    cJSON_Delete(lines);
    http_reply_free(&r);
    /* warm: prompt_eval_count still counts the cached tokens */
    post(s, "/api/chat", body, &r);
    assert_true(refsrv_last(s, &t));
    assert_true(t.cached_tokens > 0);
    lines = ndjson_lines(r.body.data);
    assert_int_equal((long)json_num(last_event(lines), "prompt_eval_count"), t.prompt_tokens);
    cJSON_Delete(lines);
    http_reply_free(&r);
    /* /api/generate, not streamed */
    post(s, "/api/generate",
         "{\"model\":\"m\",\"prompt\":\"hello\",\"stream\":false,\"options\":{\"num_predict\":2}}",
         &r);
    cJSON *o = cJSON_Parse(r.body.data);
    assert_true(cJSON_IsTrue(json_at(o, "done")));
    assert_true(cJSON_IsString(json_at(o, "response")));
    assert_int_equal((long)json_num(o, "prompt_eval_count"), refsrv_chat_tokens(1, 1));
    cJSON_Delete(o);
    http_reply_free(&r);
    /* its OpenAI endpoint reports no cached count */
    post(s, "/v1/chat/completions", chat_body("x", false, false, NULL), &r);
    assert_null(strstr(r.body.data, "prompt_tokens_details"));
    http_reply_free(&r);
    refsrv_stop(s);
}

static void lmstudio_should_report_stats_in_seconds_and_never_cached_tokens(void **state)
{
    (void)state;
    refsrv *s = start(REFSRV_LMSTUDIO);
    http_reply r;
    post(s, "/api/v0/chat/completions", chat_body("one", false, false, NULL), &r);
    http_reply_free(&r);
    post(s, "/api/v0/chat/completions", chat_body("one", false, false, NULL), &r);
    cJSON *o = cJSON_Parse(r.body.data);
    refsrv_truth t;
    assert_true(refsrv_last(s, &t));
    assert_true(t.cached_tokens > 0);
    assert_null(strstr(r.body.data, "cached"));
    assert_float_equal(json_num(o, "stats.time_to_first_token"), (t.queue_ms + t.prefill_ms) / 1e3,
                       1e-9); /* seconds */
    assert_float_equal(json_num(o, "stats.generation_time"), t.decode_ms / 1e3, 1e-9);
    assert_true(json_num(o, "stats.tokens_per_second") != ABSENT);
    assert_non_null(json_at(o, "model_info"));
    assert_non_null(json_at(o, "runtime"));
    cJSON_Delete(o);
    http_reply_free(&r);
    /* streamed v0 replies carry no stats (as the real server) */
    post(s, "/api/v0/chat/completions", chat_body("two", true, true, NULL), &r);
    assert_null(strstr(r.body.data, "stats"));
    assert_null(strstr(r.body.data, "cached"));
    assert_true(ends_with_done(r.body.data));
    http_reply_free(&r);
    refsrv_stop(s);
}

static void mlx_should_send_no_role_only_chunk_and_always_cached_tokens(void **state)
{
    (void)state;
    refsrv *s = start(REFSRV_MLX);
    http_reply r;
    post(s, "/v1/chat/completions", chat_body("one", true, true, NULL), &r);
    cJSON *ev = sse_events(r.body.data);
    const cJSON *d0 =
        json_at(cJSON_GetArrayItem(json_at(cJSON_GetArrayItem(ev, 0), "choices"), 0), "delta");
    assert_true(strlen(json_at(d0, "content")->valuestring) > 0);
    const cJSON *u = last_event(ev);
    assert_string_equal(json_at(u, "object")->valuestring, "chat.completion");
    assert_int_equal((long)json_num(u, "usage.prompt_tokens_details.cached_tokens"), 0);
    assert_true(ends_with_done(r.body.data));
    assert_null(strstr(r.body.data, "timings"));
    cJSON_Delete(ev);
    http_reply_free(&r);
    refsrv_stop(s);
}

static void openai_should_send_null_usage_until_the_usage_chunk(void **state)
{
    (void)state;
    refsrv *s = start(REFSRV_OPENAI);
    http_reply r;
    post(s, "/v1/chat/completions", chat_body("one", true, true, NULL), &r);
    cJSON *ev = sse_events(r.body.data);
    int n = cJSON_GetArraySize(ev);
    for (int i = 0; i < n - 1; i++)
        assert_true(cJSON_IsNull(json_at(cJSON_GetArrayItem(ev, i), "usage")));
    assert_int_equal((long)json_num(last_event(ev), "usage.prompt_tokens_details.cached_tokens"),
                     0);
    assert_int_equal((long)json_num(last_event(ev), "usage.prompt_tokens_details.audio_tokens"), 0);
    cJSON_Delete(ev);
    http_reply_free(&r);
    refsrv_stop(s);
}

static void anthropic_should_report_cache_reads_and_writes_with_named_events(void **state)
{
    (void)state;
    refsrv *s = start(REFSRV_ANTHROPIC);
#define BODY_FMT                                                                                   \
    "{\"model\":\"m\",\"max_tokens\":3,\"stream\":%s,\"system\":[{\"type\":\"text\","              \
    "\"text\":\"" SYS "\",\"cache_control\":{\"type\":\"ephemeral\"}}],"                           \
    "\"messages\":[{\"role\":\"user\",\"content\":\"%s\"}]}"
    char body[2048];
    long bp = 3 + refsrv_count_tokens(SYS); /* <|im_start|> system \n + text */
    http_reply r;
    snprintf(body, sizeof body, BODY_FMT, "false", "one");
    post(s, "/v1/messages", body, &r);
    cJSON *o = cJSON_Parse(r.body.data);
    long n = refsrv_chat_tokens(2, refsrv_count_tokens(SYS) + 1);
    assert_int_equal((long)json_num(o, "usage.cache_creation_input_tokens"), bp);
    assert_int_equal((long)json_num(o, "usage.cache_read_input_tokens"), 0);
    assert_int_equal((long)json_num(o, "usage.input_tokens"), n - bp);
    assert_string_equal(json_at(o, "stop_reason")->valuestring, "max_tokens");
    cJSON_Delete(o);
    http_reply_free(&r);

    snprintf(body, sizeof body, BODY_FMT, "true", "two");
    post(s, "/v1/messages", body, &r);
    assert_null(strstr(r.body.data, "[DONE]"));
    check_stamps(r.body.data);
    const char *order[] = {
        "event: message_start",       "event: content_block_start", "event: ping",
        "event: content_block_delta", "event: content_block_stop",  "event: message_delta",
        "event: message_stop"};
    const char *p = r.body.data;
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        p = strstr(p, order[i]);
        assert_non_null(p);
    }
    cJSON *ev = sse_events(r.body.data);
    const cJSON *ms = cJSON_GetArrayItem(ev, 0);
    assert_int_equal((long)json_num(ms, "message.usage.cache_read_input_tokens"), bp);
    assert_int_equal((long)json_num(ms, "message.usage.cache_creation_input_tokens"), 0);
    const cJSON *md = cJSON_GetArrayItem(ev, cJSON_GetArraySize(ev) - 2);
    assert_int_equal((long)json_num(md, "usage.output_tokens"), 3);
    cJSON_Delete(ev);
    http_reply_free(&r);

    /* without cache_control nothing is cached or written */
    post(s, "/v1/messages",
         "{\"model\":\"m\",\"max_tokens\":2,\"system\":\"" SYS
         "\",\"messages\":[{\"role\":\"user\",\"content\":\"two\"}]}",
         &r);
    o = cJSON_Parse(r.body.data);
    assert_int_equal((long)json_num(o, "usage.cache_read_input_tokens"), 0);
    assert_int_equal((long)json_num(o, "usage.cache_creation_input_tokens"), 0);
    assert_int_equal((long)json_num(o, "usage.input_tokens"), n);
    cJSON_Delete(o);
    http_reply_free(&r);
    /* max_tokens is required */
    http_do(refsrv_port(s), "POST", "/v1/messages",
            "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", 5, &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body.data, "\"type\":\"error\""));
    http_reply_free(&r);
    refsrv_stop(s);
}

static void streamed_and_plain_replies_should_agree(void **state)
{
    (void)state;
    for (int d = 0; d < REFSRV_DIALECT_COUNT; d++) {
        if (d == REFSRV_ANTHROPIC || d == REFSRV_OLLAMA)
            continue; /* covered above with their own endpoints */
        refsrv *s = start((refsrv_dialect)d);
        const char *path =
            d == REFSRV_LMSTUDIO ? "/api/v0/chat/completions" : "/v1/chat/completions";
        http_reply r;
        post(s, path, chat_body("zero", false, false, NULL), &r);
        http_reply_free(&r);
        post(s, path, chat_body("one", false, false, NULL), &r);
        cJSON *plain = cJSON_Parse(r.body.data);
        http_reply_free(&r);
        refsrv_truth t1, t2;
        assert_true(refsrv_last(s, &t1));
        post(s, path, chat_body("one", true, true, NULL), &r);
        assert_true(refsrv_last(s, &t2));
        cJSON *ev = sse_events(r.body.data);
        const cJSON *u = last_event(ev);
        assert_int_equal((long)json_num(u, "usage.prompt_tokens"),
                         (long)json_num(plain, "usage.prompt_tokens"));
        assert_int_equal((long)json_num(u, "usage.completion_tokens"),
                         (long)json_num(plain, "usage.completion_tokens"));
        /* the same text, reassembled from the deltas */
        kv_buf text = {0};
        for (int i = 0; i < cJSON_GetArraySize(ev); i++) {
            const cJSON *c = cJSON_GetArrayItem(json_at(cJSON_GetArrayItem(ev, i), "choices"), 0);
            const cJSON *piece = json_at(c, "delta.content");
            if (cJSON_IsString(piece))
                assert_int_equal(
                    kv_buf_append(&text, piece->valuestring, strlen(piece->valuestring)), KV_OK);
        }
        const cJSON *msg =
            json_at(cJSON_GetArrayItem(json_at(plain, "choices"), 0), "message.content");
        assert_string_equal(text.data, msg->valuestring);
        kv_buf_free(&text);
        assert_int_equal(t1.prompt_tokens, t2.prompt_tokens);
        cJSON_Delete(ev);
        cJSON_Delete(plain);
        http_reply_free(&r);
        refsrv_stop(s);
    }
}

typedef struct probe {
    refsrv_dialect d;
    const char *method;
    const char *path;
    long status;
} probe;

static void endpoints_missing_from_a_real_server_should_answer_404(void **state)
{
    (void)state;
    const probe probes[] = {
        {REFSRV_LLAMACPP, "GET", "/props", 200},
        {REFSRV_LLAMACPP, "POST", "/tokenize", 200},
        {REFSRV_LLAMACPP, "GET", "/api/version", 404},
        {REFSRV_LLAMACPP, "POST", "/v1/messages", 404},
        {REFSRV_VLLM, "POST", "/tokenize", 200},
        {REFSRV_VLLM, "GET", "/props", 404},
        {REFSRV_VLLM, "POST", "/flush_cache", 404},
        {REFSRV_SGLANG, "GET", "/flush_cache", 200},
        {REFSRV_SGLANG, "POST", "/reset_prefix_cache", 404},
        {REFSRV_OLLAMA, "POST", "/tokenize", 404},
        {REFSRV_OLLAMA, "GET", "/api/version", 200},
        {REFSRV_OLLAMA, "GET", "/health", 404},
        {REFSRV_LMSTUDIO, "POST", "/tokenize", 404},
        {REFSRV_LMSTUDIO, "GET", "/api/v0/models", 200},
        {REFSRV_MLX, "POST", "/tokenize", 404},
        {REFSRV_MLX, "GET", "/health", 200},
        {REFSRV_OPENAI, "POST", "/tokenize", 404},
        {REFSRV_OPENAI, "GET", "/v1/models", 200},
        {REFSRV_ANTHROPIC, "POST", "/tokenize", 404},
        {REFSRV_ANTHROPIC, "POST", "/v1/chat/completions", 404},
    };
    for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
        refsrv *s = start(probes[i].d);
        http_reply r;
        const char *body = strcmp(probes[i].method, "POST") == 0
                               ? (probes[i].d == REFSRV_LLAMACPP ? "{\"content\":\"a b\"}"
                                                                 : "{\"prompt\":\"a b\"}")
                               : NULL;
        http_do(refsrv_port(s), probes[i].method, probes[i].path, body, 5, &r);
        if (r.status != probes[i].status)
            fail_msg("%s %s %s: %ld, expected %ld", refsrv_dialect_name(probes[i].d),
                     probes[i].method, probes[i].path, r.status, probes[i].status);
        http_reply_free(&r);
        refsrv_stop(s);
    }
}

static void tokenize_should_count_like_the_server(void **state)
{
    (void)state;
    refsrv *s = start(REFSRV_VLLM);
    http_reply r;
    post(s, "/tokenize", "{\"model\":\"m\",\"prompt\":\"Hello, world!\"}", &r);
    cJSON *o = cJSON_Parse(r.body.data);
    assert_int_equal((long)json_num(o, "count"), 4);
    assert_int_equal(cJSON_GetArraySize(json_at(o, "tokens")), 4);
    cJSON_Delete(o);
    http_reply_free(&r);
    post(s, "/tokenize",
         "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello, world!\"}]}", &r);
    o = cJSON_Parse(r.body.data);
    assert_int_equal((long)json_num(o, "count"), refsrv_chat_tokens(1, 4));
    cJSON_Delete(o);
    http_reply_free(&r);
    refsrv_stop(s);
}

TU_MAIN(tu_setup_curl, tu_teardown_curl,
        cmocka_unit_test(llamacpp_chat_should_carry_timings_and_a_role_chunk),
        cmocka_unit_test(llamacpp_completion_should_end_with_stop_true_and_no_done),
        cmocka_unit_test(vllm_and_sglang_should_omit_cached_tokens_when_zero),
        cmocka_unit_test(ollama_native_should_stream_ndjson_with_nanosecond_durations),
        cmocka_unit_test(lmstudio_should_report_stats_in_seconds_and_never_cached_tokens),
        cmocka_unit_test(mlx_should_send_no_role_only_chunk_and_always_cached_tokens),
        cmocka_unit_test(openai_should_send_null_usage_until_the_usage_chunk),
        cmocka_unit_test(anthropic_should_report_cache_reads_and_writes_with_named_events),
        cmocka_unit_test(streamed_and_plain_replies_should_agree),
        cmocka_unit_test(endpoints_missing_from_a_real_server_should_answer_404),
        cmocka_unit_test(tokenize_should_count_like_the_server))
