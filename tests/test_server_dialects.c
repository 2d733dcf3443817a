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

/* How a reply's body is read: not at all, one JSON value, SSE events'
 * data, NDJSON lines (srvtest.h). */
typedef enum body_kind { RAW, PLAIN, EVENTS, LINES } body_kind;

/* A test's server and its last reply, with what was read from that reply
 * (NULL for RAW). The test's initial state names the dialect; srv_up
 * starts it, srv_down frees the reply and stops the server. */
typedef struct srv_fx {
    refsrv *s;
    http_reply r;
    cJSON *j;
} srv_fx;

static void fx_reply_free(srv_fx *f)
{
    cJSON_Delete(f->j);
    f->j = NULL;
    http_reply_free(&f->r);
}

static void fx_up(srv_fx *f, refsrv_dialect d)
{
    *f = (srv_fx){.s = start(d)};
}

static void fx_down(srv_fx *f)
{
    fx_reply_free(f);
    refsrv_stop(f->s);
}

static int srv_up(void **state)
{
    srv_fx *f = malloc(sizeof *f);
    assert_non_null(f);
    fx_up(f, *(const refsrv_dialect *)*state);
    *state = f;
    return 0;
}

static int srv_down(void **state)
{
    fx_down(*state);
    free(*state);
    return 0;
}

/* POSTs body to path (the reply must be 200, over 10 s at most) and reads
 * the reply as kind; the previous reply is freed. */
static cJSON *ask(srv_fx *f, const char *path, const char *body, body_kind kind)
{
    fx_reply_free(f);
    http_do(refsrv_port(f->s), "POST", path, body, 10, &f->r);
    assert_int_equal(f->r.rc, CURLE_OK);
    assert_int_equal(f->r.status, 200);
    const char *text = f->r.body.data;
    f->j = kind == PLAIN    ? cJSON_Parse(text)
           : kind == EVENTS ? sse_events(text)
           : kind == LINES  ? ndjson_lines(text)
                            : NULL;
    return f->j;
}

/* The delta of choice 0 in event i. */
static const cJSON *delta_of(const cJSON *events, int i)
{
    return json_at(cJSON_GetArrayItem(json_at(cJSON_GetArrayItem(events, i), "choices"), 0),
                   "delta");
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
    srv_fx *f = *state;
    cJSON *o = ask(f, "/v1/chat/completions", chat_body("one", false, false, NULL), PLAIN);
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
    assert_true(refsrv_last(f->s, &t));
    assert_float_equal(json_num(o, "timings.prompt_ms"), t.prefill_ms, 1e-9); /* ms */

    cJSON *ev = ask(f, "/v1/chat/completions", chat_body("two", true, false, NULL), EVENTS);
    assert_non_null(strstr(f->r.headers.data, "text/event-stream"));
    assert_true(ends_with_done(f->r.body.data));
    check_stamps(f->r.body.data);
    assert_true(cJSON_IsNull(json_at(delta_of(ev, 0), "content")));
    /* role chunk and first content chunk arrive in one write: both present */
    assert_int_equal(cJSON_GetArraySize(ev), 1 + 3 + 1);
    const cJSON *fin = last_event(ev);
    assert_int_equal((long)json_num(fin, "timings.predicted_n"), 3);
    assert_true(json_num(fin, "timings.cache_n") > 0);
    assert_null(json_at(fin, "usage"));

    ev = ask(f, "/v1/chat/completions", chat_body("three", true, true, NULL), EVENTS);
    fin = last_event(ev);
    assert_int_equal(cJSON_GetArraySize(json_at(fin, "choices")), 0);
    assert_true(json_num(fin, "usage.prompt_tokens_details.cached_tokens") > 0);
    assert_true(json_num(fin, "timings.prompt_ms") != ABSENT);
    assert_null(json_at(cJSON_GetArrayItem(ev, cJSON_GetArraySize(ev) - 2), "timings"));
}

static void llamacpp_completion_should_end_with_stop_true_and_no_done(void **state)
{
    srv_fx *f = *state;
    cJSON *ev =
        ask(f, "/completion", "{\"prompt\":\"" SYS "\",\"n_predict\":4,\"stream\":true}", EVENTS);
    assert_null(strstr(f->r.body.data, "[DONE]"));
    assert_int_equal(cJSON_GetArraySize(ev), 5);
    const cJSON *fin = last_event(ev);
    assert_true(cJSON_IsTrue(json_at(fin, "stop")));
    assert_int_equal((long)json_num(fin, "tokens_evaluated"), refsrv_count_tokens(SYS));
    assert_int_equal((long)json_num(fin, "tokens_cached"), 0);
    assert_int_equal((long)json_num(fin, "timings.predicted_n"), 4);
    assert_string_equal(json_at(fin, "stop_type")->valuestring, "limit");
    /* n_predict 0 only evaluates the prompt */
    cJSON *o = ask(f, "/completion", "{\"prompt\":\"" SYS "\",\"n_predict\":0}", PLAIN);
    assert_int_equal((long)json_num(o, "tokens_predicted"), 0);
    assert_int_equal((long)json_num(o, "tokens_cached"), refsrv_count_tokens(SYS) - 1);
    assert_string_equal(json_at(o, "content")->valuestring, "");
}

static void vllm_and_sglang_should_omit_cached_tokens_when_zero(void **state)
{
    (void)state;
    refsrv_dialect ds[] = {REFSRV_VLLM, REFSRV_SGLANG};
    for (int i = 0; i < 2; i++) {
        srv_fx fx, *f = &fx;
        fx_up(f, ds[i]);
        cJSON *o = ask(f, "/v1/chat/completions", chat_body("one", false, false, NULL), PLAIN);
        assert_null(json_at(o, "usage.prompt_tokens_details"));
        assert_null(json_at(o, "timings"));
        assert_true(json_num(o, "usage.prompt_tokens") > 0);
        cJSON *ev = ask(f, "/v1/chat/completions", chat_body("two", true, true, NULL), EVENTS);
        assert_true(ends_with_done(f->r.body.data));
        const cJSON *d0 = delta_of(ev, 0);
        assert_string_equal(json_at(d0, "role")->valuestring, "assistant");
        assert_string_equal(json_at(d0, "content")->valuestring, ""); /* role-only */
        assert_true(json_num(last_event(ev), "usage.prompt_tokens_details.cached_tokens") > 0);
        assert_null(strstr(f->r.body.data, "timings"));
        /* without include_usage there is no usage at all */
        ask(f, "/v1/chat/completions", chat_body("three", true, false, NULL), RAW);
        assert_null(strstr(f->r.body.data, "\"usage\""));
        fx_down(f);
    }
}

static void ollama_native_should_stream_ndjson_with_nanosecond_durations(void **state)
{
    srv_fx *f = *state;
    const char *body =
        "{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":\"" SYS
        "\"},{\"role\":\"user\",\"content\":\"hi\"}],\"options\":{\"num_predict\":3}}";
    cJSON *lines = ask(f, "/api/chat", body, LINES); /* streams by default */
    assert_non_null(strstr(f->r.headers.data, "application/x-ndjson"));
    assert_null(strstr(f->r.body.data, "data:"));
    assert_int_equal(cJSON_GetArraySize(lines), 4);
    const cJSON *fin = last_event(lines);
    assert_true(cJSON_IsTrue(json_at(fin, "done")));
    assert_string_equal(json_at(fin, "done_reason")->valuestring, "length");
    refsrv_truth t;
    assert_true(refsrv_last(f->s, &t));
    assert_float_equal(json_num(fin, "prompt_eval_duration"), t.prefill_ms * 1e6, 1.0); /* ns */
    assert_int_equal((long)json_num(fin, "prompt_eval_count"), t.prompt_tokens);
    assert_int_equal((long)json_num(fin, "eval_count"), 3);
    assert_true(json_num(fin, "total_duration") >= json_num(fin, "prompt_eval_duration"));
    assert_true(json_num(fin, "load_duration") != ABSENT);
    /* warm: prompt_eval_count still counts the cached tokens */
    lines = ask(f, "/api/chat", body, LINES);
    assert_true(refsrv_last(f->s, &t));
    assert_true(t.cached_tokens > 0);
    assert_int_equal((long)json_num(last_event(lines), "prompt_eval_count"), t.prompt_tokens);
    /* /api/generate, not streamed */
    cJSON *o = ask(
        f, "/api/generate",
        "{\"model\":\"m\",\"prompt\":\"hello\",\"stream\":false,\"options\":{\"num_predict\":2}}",
        PLAIN);
    assert_true(cJSON_IsTrue(json_at(o, "done")));
    assert_true(cJSON_IsString(json_at(o, "response")));
    assert_int_equal((long)json_num(o, "prompt_eval_count"), refsrv_chat_tokens(1, 1));
    /* its OpenAI endpoint reports no cached count */
    ask(f, "/v1/chat/completions", chat_body("x", false, false, NULL), RAW);
    assert_null(strstr(f->r.body.data, "prompt_tokens_details"));
}

static void lmstudio_should_report_stats_in_seconds_and_never_cached_tokens(void **state)
{
    srv_fx *f = *state;
    ask(f, "/api/v0/chat/completions", chat_body("one", false, false, NULL), RAW);
    cJSON *o = ask(f, "/api/v0/chat/completions", chat_body("one", false, false, NULL), PLAIN);
    refsrv_truth t;
    assert_true(refsrv_last(f->s, &t));
    assert_true(t.cached_tokens > 0);
    assert_null(strstr(f->r.body.data, "cached"));
    assert_float_equal(json_num(o, "stats.time_to_first_token"), (t.queue_ms + t.prefill_ms) / 1e3,
                       1e-9); /* seconds */
    assert_float_equal(json_num(o, "stats.generation_time"), t.decode_ms / 1e3, 1e-9);
    assert_true(json_num(o, "stats.tokens_per_second") != ABSENT);
    assert_non_null(json_at(o, "model_info"));
    assert_non_null(json_at(o, "runtime"));
    /* streamed v0 replies carry no stats (as the real server) */
    ask(f, "/api/v0/chat/completions", chat_body("two", true, true, NULL), RAW);
    assert_null(strstr(f->r.body.data, "stats"));
    assert_null(strstr(f->r.body.data, "cached"));
    assert_true(ends_with_done(f->r.body.data));
}

static void mlx_should_send_no_role_only_chunk_and_always_cached_tokens(void **state)
{
    srv_fx *f = *state;
    cJSON *ev = ask(f, "/v1/chat/completions", chat_body("one", true, true, NULL), EVENTS);
    assert_true(strlen(json_at(delta_of(ev, 0), "content")->valuestring) > 0);
    const cJSON *u = last_event(ev);
    assert_string_equal(json_at(u, "object")->valuestring, "chat.completion");
    assert_int_equal((long)json_num(u, "usage.prompt_tokens_details.cached_tokens"), 0);
    assert_true(ends_with_done(f->r.body.data));
    assert_null(strstr(f->r.body.data, "timings"));
}

static void openai_should_send_null_usage_until_the_usage_chunk(void **state)
{
    srv_fx *f = *state;
    cJSON *ev = ask(f, "/v1/chat/completions", chat_body("one", true, true, NULL), EVENTS);
    int n = cJSON_GetArraySize(ev);
    for (int i = 0; i < n - 1; i++)
        assert_true(cJSON_IsNull(json_at(cJSON_GetArrayItem(ev, i), "usage")));
    assert_int_equal((long)json_num(last_event(ev), "usage.prompt_tokens_details.cached_tokens"),
                     0);
    assert_int_equal((long)json_num(last_event(ev), "usage.prompt_tokens_details.audio_tokens"), 0);
}

static void anthropic_should_report_cache_reads_and_writes_with_named_events(void **state)
{
    srv_fx *f = *state;
#define BODY_FMT                                                                                   \
    "{\"model\":\"m\",\"max_tokens\":3,\"stream\":%s,\"system\":[{\"type\":\"text\","              \
    "\"text\":\"" SYS "\",\"cache_control\":{\"type\":\"ephemeral\"}}],"                           \
    "\"messages\":[{\"role\":\"user\",\"content\":\"%s\"}]}"
    char body[2048];
    long bp = 3 + refsrv_count_tokens(SYS); /* <|im_start|> system \n + text */
    snprintf(body, sizeof body, BODY_FMT, "false", "one");
    cJSON *o = ask(f, "/v1/messages", body, PLAIN);
    long n = refsrv_chat_tokens(2, refsrv_count_tokens(SYS) + 1);
    assert_int_equal((long)json_num(o, "usage.cache_creation_input_tokens"), bp);
    assert_int_equal((long)json_num(o, "usage.cache_read_input_tokens"), 0);
    assert_int_equal((long)json_num(o, "usage.input_tokens"), n - bp);
    assert_string_equal(json_at(o, "stop_reason")->valuestring, "max_tokens");

    snprintf(body, sizeof body, BODY_FMT, "true", "two");
    cJSON *ev = ask(f, "/v1/messages", body, EVENTS);
    assert_null(strstr(f->r.body.data, "[DONE]"));
    check_stamps(f->r.body.data);
    const char *order[] = {
        "event: message_start",       "event: content_block_start", "event: ping",
        "event: content_block_delta", "event: content_block_stop",  "event: message_delta",
        "event: message_stop"};
    const char *p = f->r.body.data;
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        p = strstr(p, order[i]);
        assert_non_null(p);
    }
    const cJSON *ms = cJSON_GetArrayItem(ev, 0);
    assert_int_equal((long)json_num(ms, "message.usage.cache_read_input_tokens"), bp);
    assert_int_equal((long)json_num(ms, "message.usage.cache_creation_input_tokens"), 0);
    const cJSON *md = cJSON_GetArrayItem(ev, cJSON_GetArraySize(ev) - 2);
    assert_int_equal((long)json_num(md, "usage.output_tokens"), 3);

    /* without cache_control nothing is cached or written */
    o = ask(f, "/v1/messages",
            "{\"model\":\"m\",\"max_tokens\":2,\"system\":\"" SYS
            "\",\"messages\":[{\"role\":\"user\",\"content\":\"two\"}]}",
            PLAIN);
    assert_int_equal((long)json_num(o, "usage.cache_read_input_tokens"), 0);
    assert_int_equal((long)json_num(o, "usage.cache_creation_input_tokens"), 0);
    assert_int_equal((long)json_num(o, "usage.input_tokens"), n);
    /* max_tokens is required */
    fx_reply_free(f);
    http_do(refsrv_port(f->s), "POST", "/v1/messages",
            "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", 5, &f->r);
    assert_int_equal(f->r.status, 400);
    assert_non_null(strstr(f->r.body.data, "\"type\":\"error\""));
}

/* The text of a streamed reply, reassembled from its events' deltas; the
 * caller frees it (kv_buf_free). */
static kv_buf streamed_text(const cJSON *events)
{
    kv_buf text = {0};
    for (int i = 0; i < cJSON_GetArraySize(events); i++) {
        const cJSON *piece = json_at(delta_of(events, i), "content");
        if (cJSON_IsString(piece))
            assert_int_equal(kv_buf_append(&text, piece->valuestring, strlen(piece->valuestring)),
                             KV_OK);
    }
    return text;
}

static void streamed_and_plain_replies_should_agree(void **state)
{
    (void)state;
    for (int d = 0; d < REFSRV_DIALECT_COUNT; d++) {
        if (d == REFSRV_ANTHROPIC || d == REFSRV_OLLAMA)
            continue; /* covered above with their own endpoints */
        srv_fx fx, *f = &fx;
        fx_up(f, (refsrv_dialect)d);
        const char *path =
            d == REFSRV_LMSTUDIO ? "/api/v0/chat/completions" : "/v1/chat/completions";
        ask(f, path, chat_body("zero", false, false, NULL), RAW);
        cJSON *plain = ask(f, path, chat_body("one", false, false, NULL), PLAIN);
        f->j = NULL; /* kept past the next request: deleted below */
        refsrv_truth t1, t2;
        assert_true(refsrv_last(f->s, &t1));
        cJSON *ev = ask(f, path, chat_body("one", true, true, NULL), EVENTS);
        assert_true(refsrv_last(f->s, &t2));
        const cJSON *u = last_event(ev);
        assert_int_equal((long)json_num(u, "usage.prompt_tokens"),
                         (long)json_num(plain, "usage.prompt_tokens"));
        assert_int_equal((long)json_num(u, "usage.completion_tokens"),
                         (long)json_num(plain, "usage.completion_tokens"));
        /* the same text, reassembled from the deltas */
        kv_buf text = streamed_text(ev);
        const cJSON *msg =
            json_at(cJSON_GetArrayItem(json_at(plain, "choices"), 0), "message.content");
        assert_string_equal(text.data, msg->valuestring);
        kv_buf_free(&text);
        assert_int_equal(t1.prompt_tokens, t2.prompt_tokens);
        cJSON_Delete(plain);
        fx_down(f);
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
    srv_fx *f = *state;
    cJSON *o = ask(f, "/tokenize", "{\"model\":\"m\",\"prompt\":\"Hello, world!\"}", PLAIN);
    assert_int_equal((long)json_num(o, "count"), 4);
    assert_int_equal(cJSON_GetArraySize(json_at(o, "tokens")), 4);
    o = ask(f, "/tokenize",
            "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello, world!\"}]}",
            PLAIN);
    assert_int_equal((long)json_num(o, "count"), refsrv_chat_tokens(1, 4));
}

/* A test run on a server of dialect D, started and stopped around it. */
#define ON_SERVER(TEST, D)                                                                         \
    cmocka_unit_test_prestate_setup_teardown(TEST, srv_up, srv_down, &(refsrv_dialect){D})

TU_MAIN(tu_setup_curl, tu_teardown_curl,
        ON_SERVER(llamacpp_chat_should_carry_timings_and_a_role_chunk, REFSRV_LLAMACPP),
        ON_SERVER(llamacpp_completion_should_end_with_stop_true_and_no_done, REFSRV_LLAMACPP),
        cmocka_unit_test(vllm_and_sglang_should_omit_cached_tokens_when_zero),
        ON_SERVER(ollama_native_should_stream_ndjson_with_nanosecond_durations, REFSRV_OLLAMA),
        ON_SERVER(lmstudio_should_report_stats_in_seconds_and_never_cached_tokens, REFSRV_LMSTUDIO),
        ON_SERVER(mlx_should_send_no_role_only_chunk_and_always_cached_tokens, REFSRV_MLX),
        ON_SERVER(openai_should_send_null_usage_until_the_usage_chunk, REFSRV_OPENAI),
        ON_SERVER(anthropic_should_report_cache_reads_and_writes_with_named_events,
                  REFSRV_ANTHROPIC),
        cmocka_unit_test(streamed_and_plain_replies_should_agree),
        cmocka_unit_test(endpoints_missing_from_a_real_server_should_answer_404),
        ON_SERVER(tokenize_should_count_like_the_server, REFSRV_VLLM))
