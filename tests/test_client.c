/* test_client.c - the streaming client against a small canned HTTP server
 * (libmicrohttpd, in this file): end-to-end measurement, retries with
 * bounded attempts, HTTP errors, content-type checks, keep-alive and API-key
 * secrecy. Dialect-by-dialect behaviour against the reference server follows
 * in the second group. */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <microhttpd.h>

#include "common/util.h"
#include "net/client.h"
#include "net/dialect.h"
#include "server/refsrv.h"

#define KEY "sk-test-4f9a1c77e2b0secret"

typedef enum fake_mode {
    FAKE_OK = 0,
    FAKE_ECHO_401,    /* 401 whose body echoes the Authorization header */
    FAKE_429_THEN_OK, /* 429 (Retry-After: 0) for the first two requests */
    FAKE_503,         /* always 503 */
    FAKE_HTML,        /* 200 text/html */
} fake_mode;

typedef struct fake {
    struct MHD_Daemon *d;
    int port;
    fake_mode mode;
    int requests;
    int connections;
    char last_auth[256];
} fake;

static const char fake_stream[] =
    "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":null}}]}\n\n"
    "data: {\"choices\":[{\"delta\":{\"content\":\"Hello\"}}]}\n\n"
    "data: {\"choices\":[{\"delta\":{\"content\":\"!\"}}]}\n\n"
    "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":20,\"completion_tokens\":2},"
    "\"timings\":{\"cache_n\":16,\"prompt_n\":4,\"prompt_ms\":1.5}}\n\n"
    "data: [DONE]\n\n";

static enum MHD_Result fake_reply(struct MHD_Connection *conn, unsigned code, const char *ctype,
                                  const char *body, const char *retry_after)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)(uintptr_t)body,
                                                             MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", ctype);
    if (retry_after)
        MHD_add_response_header(r, "Retry-After", retry_after);
    enum MHD_Result ret = MHD_queue_response(conn, code, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result fake_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                    const char *method, const char *version,
                                    const char *upload_data, size_t *upload_size, void **con_cls)
{
    (void)url;
    (void)method;
    (void)version;
    (void)upload_data;
    fake *f = cls;
    if (!*con_cls) {
        *con_cls = f;
        return MHD_YES;
    }
    if (*upload_size) {
        *upload_size = 0;
        return MHD_YES;
    }
    f->requests++;
    const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    snprintf(f->last_auth, sizeof f->last_auth, "%s", auth ? auth : "");
    switch (f->mode) {
    case FAKE_ECHO_401: {
        char body[512];
        snprintf(body, sizeof body, "{\"error\":{\"message\":\"invalid key: %s\"}}",
                 auth ? auth : "");
        return fake_reply(conn, 401, "application/json", body, NULL);
    }
    case FAKE_429_THEN_OK:
        if (f->requests <= 2)
            return fake_reply(conn, 429, "application/json",
                              "{\"error\":{\"message\":\"slow down\"}}", "0");
        break;
    case FAKE_503:
        return fake_reply(conn, 503, "application/json", "{\"error\":\"loading model\"}", NULL);
    case FAKE_HTML:
        return fake_reply(conn, 200, "text/html", "<html>hi</html>", NULL);
    case FAKE_OK:
        break;
    }
    return fake_reply(conn, 200, "text/event-stream", fake_stream, NULL);
}

static void fake_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                        enum MHD_ConnectionNotificationCode toe)
{
    (void)conn;
    (void)socket_context;
    fake *f = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED)
        f->connections++;
}

static int fake_setup(void **state)
{
    fake *f = calloc(1, sizeof *f);
    assert_non_null(f);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    f->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                            fake_handler, f, MHD_OPTION_NOTIFY_CONNECTION, fake_notify, f,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&a, MHD_OPTION_END);
    assert_non_null(f->d);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(f->d, MHD_DAEMON_INFO_BIND_PORT);
    f->port = info->port;
    *state = f;
    return 0;
}

static int fake_teardown(void **state)
{
    fake *f = *state;
    MHD_stop_daemon(f->d);
    free(f);
    return 0;
}

typedef struct req_fixture {
    char name[16], url[64], model[16], key_env[32];
    spec_target target;
    client_message msgs[2];
    client_request rq;
} req_fixture;

static void fixture_init(req_fixture *x, int port, spec_api api)
{
    memset(x, 0, sizeof *x);
    snprintf(x->name, sizeof x->name, "t");
    snprintf(x->url, sizeof x->url, "http://127.0.0.1:%d", port);
    snprintf(x->model, sizeof x->model, "m");
    x->target = (spec_target){.name = x->name, .base_url = x->url, .api = api, .model = x->model};
    x->msgs[0] = (client_message){"system", "You are a test."};
    x->msgs[1] = (client_message){"user", "Say hello."};
    x->rq = (client_request){.target = &x->target,
                             .api = api,
                             .messages = x->msgs,
                             .n_messages = 2,
                             .max_output_tokens = 2,
                             .timeout_connect_s = 2,
                             .timeout_first_token_s = 5,
                             .timeout_total_s = 10,
                             .retries = 2};
}

static client *new_client(void)
{
    client *c = NULL;
    char err[KV_ERRLEN] = "";
    assert_int_equal(client_new(&c, err), KV_OK);
    client_set_backoff(c, 0.001, 0.01);
    return c;
}

static void send_should_measure_a_complete_streamed_reply(void **state)
{
    fake *f = *state;
    f->mode = FAKE_OK;
    req_fixture x;
    fixture_init(&x, f->port, SPEC_API_LLAMACPP);
    client *c = new_client();
    trial_request t = {.turn = 1};
    char *reply = NULL;
    char err[KV_ERRLEN] = "";
    assert_int_equal(client_send(c, &x.rq, &t, &reply, err), KV_OK);
    assert_true(t.ok);
    assert_int_equal(t.turn, 1);
    assert_int_equal(t.attempts, 1);
    assert_int_equal(t.http_status, 200);
    assert_string_equal(reply, "Hello!");
    assert_int_equal(t.prompt_tokens, 20);
    assert_int_equal(t.cached_tokens, 16);
    assert_int_equal(t.output_tokens, 2);
    assert_true(fabs(t.server_prefill_ms - 1.5) < 1e-9);
    assert_false(isnan(t.ttft_ms));
    assert_true(t.ttfb_ms <= t.ttft_ms && t.ttft_ms <= t.total_ms);
    assert_non_null(strstr(t.raw, "\"cache_n\":16"));
    free(reply);
    free(t.raw);
    client_free(c);
}

static void requests_should_reuse_one_connection(void **state)
{
    fake *f = *state;
    f->mode = FAKE_OK;
    int before = f->connections;
    req_fixture x;
    fixture_init(&x, f->port, SPEC_API_OPENAI_CHAT);
    client *c = new_client();
    for (int i = 0; i < 3; i++) {
        trial_request t = {0};
        char err[KV_ERRLEN] = "";
        assert_int_equal(client_send(c, &x.rq, &t, NULL, err), KV_OK);
        free(t.raw);
    }
    assert_int_equal(f->connections - before, 1);
    client_free(c);
}

static void api_key_should_be_sent_but_never_reported(void **state)
{
    fake *f = *state;
    f->mode = FAKE_ECHO_401;
    setenv("KVPROOF_TEST_KEY", KEY, 1);
    req_fixture x;
    fixture_init(&x, f->port, SPEC_API_OPENAI_CHAT);
    snprintf(x.key_env, sizeof x.key_env, "KVPROOF_TEST_KEY");
    x.target.api_key_env = x.key_env;
    client *c = new_client();
    trial_request t = {0};
    char err[KV_ERRLEN] = "";
    assert_int_equal(client_send(c, &x.rq, &t, NULL, err), KV_ERR_HTTP);
    assert_string_equal(f->last_auth, "Bearer " KEY); /* it was sent */
    assert_false(t.ok);
    assert_int_equal(t.http_status, 401);
    assert_non_null(strstr(t.error, "HTTP 401"));
    assert_non_null(strstr(t.error, "invalid key"));
    assert_null(strstr(t.error, KEY));
    assert_null(strstr(err, KEY));
    assert_true(t.raw == NULL || strstr(t.raw, KEY) == NULL);
    /* a plain call also redacts */
    free(t.raw);
    client_free(c);
    unsetenv("KVPROOF_TEST_KEY");
}

static void missing_key_variable_should_fail_naming_the_variable(void **state)
{
    fake *f = *state;
    f->mode = FAKE_OK;
    unsetenv("KVPROOF_TEST_NOKEY");
    req_fixture x;
    fixture_init(&x, f->port, SPEC_API_ANTHROPIC);
    snprintf(x.key_env, sizeof x.key_env, "KVPROOF_TEST_NOKEY");
    x.target.api_key_env = x.key_env;
    client *c = new_client();
    trial_request t = {0};
    char err[KV_ERRLEN] = "";
    assert_int_equal(client_send(c, &x.rq, &t, NULL, err), KV_ERR_INPUT);
    assert_non_null(strstr(t.error, "KVPROOF_TEST_NOKEY"));
    free(t.raw);
    client_free(c);
}

static void status_429_should_be_retried_then_succeed(void **state)
{
    fake *f = *state;
    f->mode = FAKE_429_THEN_OK;
    f->requests = 0;
    req_fixture x;
    fixture_init(&x, f->port, SPEC_API_OPENAI_CHAT);
    client *c = new_client();
    trial_request t = {0};
    char err[KV_ERRLEN] = "";
    assert_int_equal(client_send(c, &x.rq, &t, NULL, err), KV_OK);
    assert_true(t.ok);
    assert_int_equal(t.attempts, 3);
    assert_string_equal(t.error, "");
    assert_non_null(strstr(t.raw, "kvproof_attempt_errors"));
    assert_non_null(strstr(t.raw, "HTTP 429: slow down"));
    free(t.raw);
    client_free(c);
}

static void status_503_should_fail_after_bounded_attempts(void **state)
{
    fake *f = *state;
    f->mode = FAKE_503;
    f->requests = 0;
    req_fixture x;
    fixture_init(&x, f->port, SPEC_API_OPENAI_CHAT);
    client *c = new_client();
    trial_request t = {0};
    char err[KV_ERRLEN] = "";
    assert_int_equal(client_send(c, &x.rq, &t, NULL, err), KV_ERR_HTTP);
    assert_false(t.ok);
    assert_int_equal(t.attempts, 3);
    assert_int_equal(f->requests, 3);
    assert_non_null(strstr(t.error, "HTTP 503: loading model"));
    free(t.raw);
    client_free(c);
}

static void wrong_content_type_should_fail_without_retry(void **state)
{
    fake *f = *state;
    f->mode = FAKE_HTML;
    req_fixture x;
    fixture_init(&x, f->port, SPEC_API_OPENAI_CHAT);
    client *c = new_client();
    trial_request t = {0};
    char err[KV_ERRLEN] = "";
    assert_int_equal(client_send(c, &x.rq, &t, NULL, err), KV_ERR_PROTOCOL);
    assert_int_equal(t.attempts, 1);
    assert_non_null(strstr(t.error, "wrong content type 'text/html'"));
    free(t.raw);
    client_free(c);
}

static int free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
    close(s);
    return ntohs(a.sin_port);
}

static void refused_connection_should_be_retried_a_bounded_number_of_times(void **state)
{
    (void)state;
    req_fixture x;
    fixture_init(&x, free_port(), SPEC_API_OPENAI_CHAT);
    x.rq.retries = 3;
    client *c = new_client();
    trial_request t = {0};
    char err[KV_ERRLEN] = "";
    assert_int_equal(client_send(c, &x.rq, &t, NULL, err), KV_ERR_NET);
    assert_int_equal(t.attempts, 4);
    assert_non_null(strstr(t.error, "connection refused"));
    assert_non_null(strstr(t.error, "after 4 attempts"));
    assert_non_null(strstr(t.raw, "kvproof_attempt_errors"));
    free(t.raw);
    client_free(c);
}

static void call_should_return_any_status_and_the_body(void **state)
{
    fake *f = *state;
    f->mode = FAKE_503;
    req_fixture x;
    fixture_init(&x, f->port, SPEC_API_OPENAI_CHAT);
    client *c = new_client();
    int status = 0;
    char *body = NULL, *hdrs = NULL;
    char err[KV_ERRLEN] = "";
    assert_int_equal(
        client_call_headers(c, &x.target, "/health", NULL, 2, &status, &body, &hdrs, err), KV_OK);
    assert_int_equal(status, 503);
    assert_non_null(strstr(body, "loading model"));
    assert_non_null(strstr(hdrs, "Content-Type: application/json"));
    free(body);
    free(hdrs);
    client_free(c);
}

/* ---- against the reference server, every dialect ---- */

typedef struct dialect_case {
    refsrv_dialect server;
    spec_api api;
    bool reports_cached_when_zero; /* vLLM/SGLang omit the count when 0 */
    bool reports_cached;           /* Ollama and LM Studio never report it */
    bool reports_prompt;
} dialect_case;

static const dialect_case cases[] = {
    {REFSRV_LLAMACPP, SPEC_API_LLAMACPP, true, true, true},
    {REFSRV_VLLM, SPEC_API_OPENAI_CHAT, false, true, true},
    {REFSRV_SGLANG, SPEC_API_OPENAI_CHAT, false, true, true},
    {REFSRV_OLLAMA, SPEC_API_OLLAMA, false, false, true},
    {REFSRV_LMSTUDIO, SPEC_API_LMSTUDIO, false, false, true},
    {REFSRV_MLX, SPEC_API_OPENAI_CHAT, true, true, true},
    {REFSRV_OPENAI, SPEC_API_OPENAI_CHAT, true, true, true},
    {REFSRV_ANTHROPIC, SPEC_API_ANTHROPIC, true, true, true},
    {REFSRV_VLLM, SPEC_API_OPENAI_COMPLETIONS, false, true, true},
};

static refsrv *start_ref(refsrv_dialect d, const costmodel_params *cost, int fault, double stall_ms)
{
    refsrv_config cfg;
    refsrv_config_default(&cfg);
    cfg.dialect = d;
    cfg.cost = cost ? *cost : (costmodel_params){.time_scale = 1};
    cfg.reply_tokens = 8;
    if (fault >= 0)
        cfg.fault_p[fault] = 1;
    cfg.fault_stall_ms = stall_ms;
    cfg.fault_drip_ms = 0.05;
    refsrv *s = NULL;
    char err[KV_ERRLEN] = "";
    assert_int_equal(refsrv_start(&cfg, &s, err), KV_OK);
    return s;
}

/* A system prompt of about n words. */
static char *words(int n)
{
    char *p = malloc((size_t)n * 8 + 1);
    assert_non_null(p);
    size_t o = 0;
    for (int i = 0; i < n; i++)
        o += (size_t)snprintf(p + o, (size_t)n * 8 + 1 - o, "%sw%d", i ? " " : "", i % 97);
    return p;
}

static void every_dialect_should_report_the_servers_prompt_and_cached_tokens(void **state)
{
    (void)state;
    char *sys = words(300);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const dialect_case *dc = &cases[i];
        refsrv *s = start_ref(dc->server, NULL, -1, 0);
        req_fixture x;
        fixture_init(&x, refsrv_port(s), dc->api);
        snprintf(x.model, sizeof x.model, "kvproof-ref");
        x.msgs[0].content = sys;
        client *c = new_client();
        refsrv_truth truth;
        for (int round = 0; round < 2; round++) { /* cold, then warm resend */
            trial_request t = {0};
            char *reply = NULL;
            char err[KV_ERRLEN] = "";
            kv_status st = client_send(c, &x.rq, &t, &reply, err);
            if (st != KV_OK)
                fail_msg("%s/%s round %d: %s", refsrv_dialect_name(dc->server),
                         dialect_name(dc->api), round, err);
            assert_true(refsrv_last(s, &truth));
            assert_true(t.ok);
            assert_int_equal(t.attempts, 1);
            assert_true(strlen(reply) > 0);
            if (dc->reports_prompt)
                assert_int_equal(t.prompt_tokens, truth.prompt_tokens);
            long want = truth.cached_tokens;
            if (!dc->reports_cached || (want == 0 && !dc->reports_cached_when_zero))
                want = -1;
            if (t.cached_tokens != want)
                fail_msg("%s/%s round %d: cached %ld, truth %ld", refsrv_dialect_name(dc->server),
                         dialect_name(dc->api), round, t.cached_tokens, truth.cached_tokens);
            if (round == 1)
                assert_true(truth.cached_tokens > 250); /* the warm resend reused the prefix */
            assert_int_equal(t.output_tokens, truth.output_tokens);
            assert_false(isnan(t.ttft_ms));
            if (dc->api != SPEC_API_OLLAMA)
                assert_false(isnan(t.server_overhead_us));
            free(reply);
            free(t.raw);
        }
        client_free(c);
        refsrv_stop(s);
    }
    free(sys);
}

static void ttft_should_come_after_the_role_only_chunk_and_the_prefill(void **state)
{
    (void)state;
    costmodel_params slow = {.a = 150, .time_scale = 1}; /* 150 ms fixed prefill */
    const refsrv_dialect servers[] = {REFSRV_LLAMACPP, REFSRV_VLLM};
    const spec_api apis[] = {SPEC_API_LLAMACPP, SPEC_API_OPENAI_CHAT};
    for (size_t i = 0; i < 2; i++) {
        refsrv *s = start_ref(servers[i], &slow, -1, 0);
        req_fixture x;
        fixture_init(&x, refsrv_port(s), apis[i]);
        client *c = new_client();
        trial_request t = {0};
        char err[KV_ERRLEN] = "";
        assert_int_equal(client_send(c, &x.rq, &t, NULL, err), KV_OK);
        refsrv_truth truth;
        assert_true(refsrv_last(s, &truth));
        assert_true(t.ttft_ms >= truth.prefill_ms);
        assert_true(t.ttft_ms >= 150.0);
        if (servers[i] == REFSRV_LLAMACPP) {
            /* llama.cpp reports its prefill; the role chunk came before it */
            assert_true(fabs(t.server_prefill_ms - truth.prefill_ms) < 1.0);
        }
        free(t.raw);
        client_free(c);
        refsrv_stop(s);
    }
}

typedef struct fault_case {
    refsrv_fault fault;
    kv_status status;   /* expected */
    int attempts;       /* expected with retries = 2 */
    const char *reason; /* substring of the error */
} fault_case;

static void every_fault_should_give_a_failed_record_with_its_reason(void **state)
{
    (void)state;
    const fault_case fcs[] = {
        {REFSRV_FAULT_REFUSE, KV_ERR_NET, 3, "connection closed before any reply"},
        {REFSRV_FAULT_RESET, KV_ERR_NET, 1, ""},
        {REFSRV_FAULT_HTTP500, KV_ERR_HTTP, 1, "HTTP 500: simulated internal server error"},
        {REFSRV_FAULT_HTTP503, KV_ERR_HTTP, 3, "HTTP 503"},
        {REFSRV_FAULT_STALL, KV_ERR_TIMEOUT, 1, "no first token within"},
        {REFSRV_FAULT_MALFORMED, KV_ERR_PROTOCOL, 1, "malformed JSON"},
        {REFSRV_FAULT_TRUNCATE, KV_ERR_PROTOCOL, 1, "stream ended without terminator"},
        {REFSRV_FAULT_HUGELINE, KV_ERR_PROTOCOL, 1, "longer than"},
        {REFSRV_FAULT_CONTENT_TYPE, KV_ERR_PROTOCOL, 1, "wrong content type 'text/html"},
    };
    for (size_t i = 0; i < sizeof fcs / sizeof fcs[0]; i++) {
        refsrv *s = start_ref(REFSRV_LLAMACPP, NULL, (int)fcs[i].fault, 5000);
        req_fixture x;
        fixture_init(&x, refsrv_port(s), SPEC_API_LLAMACPP);
        x.rq.timeout_first_token_s = 0.3;
        client *c = new_client();
        trial_request t = {0};
        char err[KV_ERRLEN] = "";
        kv_status st = client_send(c, &x.rq, &t, NULL, err);
        if (st != fcs[i].status || t.attempts != fcs[i].attempts || t.ok ||
            !strstr(t.error, fcs[i].reason))
            fail_msg("fault %s: status %s, attempts %d, error '%s'",
                     refsrv_fault_name(fcs[i].fault), kv_strerror(st), t.attempts, t.error);
        free(t.raw);
        client_free(c);
        refsrv_stop(s);
    }
}

static void status_429_should_honour_retry_after_and_stay_bounded(void **state)
{
    (void)state;
    refsrv *s = start_ref(REFSRV_VLLM, NULL, REFSRV_FAULT_HTTP429, 0);
    req_fixture x;
    fixture_init(&x, refsrv_port(s), SPEC_API_OPENAI_CHAT);
    x.rq.retries = 1;
    client *c = new_client();
    trial_request t = {0};
    char err[KV_ERRLEN] = "";
    int64_t t0 = kv_now_ns();
    assert_int_equal(client_send(c, &x.rq, &t, NULL, err), KV_ERR_HTTP);
    double waited_s = (double)(kv_now_ns() - t0) / 1e9;
    assert_int_equal(t.attempts, 2);
    assert_true(waited_s >= 0.9); /* Retry-After: 1 honoured, not the 1 ms backoff */
    assert_non_null(strstr(t.error, "HTTP 429"));
    free(t.raw);
    /* a Retry-After beyond the total timeout ends the retries at once */
    x.rq.timeout_total_s = 0.5;
    x.rq.retries = 5;
    trial_request t2 = {0};
    assert_int_equal(client_send(c, &x.rq, &t2, NULL, err), KV_ERR_HTTP);
    assert_int_equal(t2.attempts, 1);
    assert_non_null(strstr(t2.error, "total timeout"));
    free(t2.raw);
    client_free(c);
    refsrv_stop(s);
}

static void slow_drip_should_still_parse_or_hit_the_total_timeout(void **state)
{
    (void)state;
    refsrv *s = start_ref(REFSRV_LLAMACPP, NULL, REFSRV_FAULT_DRIP, 0);
    req_fixture x;
    fixture_init(&x, refsrv_port(s), SPEC_API_LLAMACPP);
    client *c = new_client();
    trial_request t = {0};
    char err[KV_ERRLEN] = "";
    assert_int_equal(client_send(c, &x.rq, &t, NULL, err), KV_OK);
    refsrv_truth truth;
    assert_true(refsrv_last(s, &truth));
    assert_int_equal(t.cached_tokens, truth.cached_tokens);
    assert_int_equal(t.output_tokens, truth.output_tokens);
    free(t.raw);
    x.rq.timeout_total_s = 0.05;
    trial_request t2 = {0};
    assert_int_equal(client_send(c, &x.rq, &t2, NULL, err), KV_ERR_TIMEOUT);
    assert_false(t2.ok);
    assert_non_null(strstr(t2.error, "total timeout"));
    free(t2.raw);
    client_free(c);
    refsrv_stop(s);
}

static void tokenize_and_cache_reset_should_use_the_server_endpoints(void **state)
{
    (void)state;
    refsrv *s = start_ref(REFSRV_LLAMACPP, NULL, -1, 0);
    req_fixture x;
    fixture_init(&x, refsrv_port(s), SPEC_API_LLAMACPP);
    client *c = new_client();
    long n = 0;
    char err[KV_ERRLEN] = "";
    assert_int_equal(client_tokenize(c, &x.target, SPEC_API_LLAMACPP, "Hello, world.", &n, err),
                     KV_OK);
    assert_int_equal(n, refsrv_count_tokens("Hello, world."));
    assert_int_equal(client_reset_cache(c, &x.target, SPEC_API_LLAMACPP, err), KV_OK);
    assert_int_equal(client_tokenize(c, &x.target, SPEC_API_OLLAMA, "x", &n, err),
                     KV_ERR_UNSUPPORTED);
    client_free(c);
    refsrv_stop(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(send_should_measure_a_complete_streamed_reply),
        cmocka_unit_test(requests_should_reuse_one_connection),
        cmocka_unit_test(api_key_should_be_sent_but_never_reported),
        cmocka_unit_test(missing_key_variable_should_fail_naming_the_variable),
        cmocka_unit_test(status_429_should_be_retried_then_succeed),
        cmocka_unit_test(status_503_should_fail_after_bounded_attempts),
        cmocka_unit_test(wrong_content_type_should_fail_without_retry),
        cmocka_unit_test(refused_connection_should_be_retried_a_bounded_number_of_times),
        cmocka_unit_test(call_should_return_any_status_and_the_body),
    };
    const struct CMUnitTest ref_tests[] = {
        cmocka_unit_test(every_dialect_should_report_the_servers_prompt_and_cached_tokens),
        cmocka_unit_test(ttft_should_come_after_the_role_only_chunk_and_the_prefill),
        cmocka_unit_test(every_fault_should_give_a_failed_record_with_its_reason),
        cmocka_unit_test(status_429_should_honour_retry_after_and_stay_bounded),
        cmocka_unit_test(slow_drip_should_still_parse_or_hit_the_total_timeout),
        cmocka_unit_test(tokenize_and_cache_reset_should_use_the_server_endpoints),
    };
    int failed = cmocka_run_group_tests(tests, fake_setup, fake_teardown);
    return failed + cmocka_run_group_tests(ref_tests, NULL, NULL);
}
