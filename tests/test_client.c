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
#include "tests/testutil.h"

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

/* The first group's canned server (fake_setup starts it, fake_teardown
 * stops it). */
static fake the_fake;

static int fake_setup(void **state)
{
    (void)state;
    fake *f = &the_fake;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    f->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                            fake_handler, f, MHD_OPTION_NOTIFY_CONNECTION, fake_notify, f,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&a, MHD_OPTION_END);
    assert_non_null(f->d);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(f->d, MHD_DAEMON_INFO_BIND_PORT);
    f->port = info->port;
    return 0;
}

static int fake_teardown(void **state)
{
    (void)state;
    MHD_stop_daemon(the_fake.d);
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

/* One client's requests to one server: the request, the client, the last
 * send's record, reply and status. */
typedef struct run {
    req_fixture x;
    client *c;
    trial_request t;
    char *reply;
    kv_status st;
    char err[KV_ERRLEN];
} run;

static void run_open(run *r, int port, spec_api api)
{
    memset(r, 0, sizeof *r);
    fixture_init(&r->x, port, api);
    r->c = new_client();
}

/* Sends r's request once (a fresh record each time); want_reply asks for
 * the reply text. Returns the status. */
static kv_status run_send(run *r, bool want_reply)
{
    free(r->t.raw);
    free(r->reply);
    memset(&r->t, 0, sizeof r->t);
    r->t.turn = 1;
    r->reply = NULL;
    r->err[0] = '\0';
    r->st = client_send(r->c, &r->x.rq, &r->t, want_reply ? &r->reply : NULL, r->err);
    return r->st;
}

static void run_close(run *r)
{
    free(r->t.raw);
    free(r->reply);
    client_free(r->c);
}

/* Sets the target's API key variable (the name is copied into r). */
static void run_key_env(run *r, const char *name)
{
    snprintf(r->x.key_env, sizeof r->x.key_env, "%s", name);
    r->x.target.api_key_env = r->x.key_env;
}

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

/* A reference server (start_ref) and a run against it. The run is the
 * first member, so a test may take its state as its run. */
typedef struct ref_run {
    run r;
    refsrv *s;
} ref_run;

static void ref_open(ref_run *rr, refsrv_dialect d, const costmodel_params *cost, int fault,
                     double stall_ms, spec_api api)
{
    rr->s = start_ref(d, cost, fault, stall_ms);
    run_open(&rr->r, refsrv_port(rr->s), api);
}

static void ref_close(ref_run *rr)
{
    run_close(&rr->r);
    refsrv_stop(rr->s);
}

/* A test's run, on the canned server in `mode` or (ref) on a reference
 * server of dialect d with `fault` (-1: none), its request in dialect api:
 * all named by the test's initial state. case_up opens it (on the canned
 * server: sets the mode, zeroes the request count), case_down closes it.
 * The run comes first, so a test takes *state as its run. */
typedef struct run_case {
    ref_run rr;
    bool ref;
    fake_mode mode;
    refsrv_dialect d;
    int fault;
    spec_api api;
} run_case;

static int case_up(void **state)
{
    run_case *c = *state;
    if (c->ref) {
        ref_open(&c->rr, c->d, NULL, c->fault, 0, c->api);
        return 0;
    }
    the_fake.mode = c->mode;
    the_fake.requests = 0;
    run_open(&c->rr.r, the_fake.port, c->api);
    return 0;
}

static int case_down(void **state)
{
    run_case *c = *state;
    run_close(&c->rr.r);
    if (c->rr.s)
        refsrv_stop(c->rr.s);
    return 0;
}

static void send_should_measure_a_complete_streamed_reply(void **state)
{
    run *r = *state;
    assert_int_equal(run_send(r, true), KV_OK);
    const trial_request *t = &r->t;
    assert_true(t->ok);
    assert_int_equal(t->turn, 1);
    assert_int_equal(t->attempts, 1);
    assert_int_equal(t->http_status, 200);
    assert_string_equal(r->reply, "Hello!");
    assert_int_equal(t->prompt_tokens, 20);
    assert_int_equal(t->cached_tokens, 16);
    assert_int_equal(t->output_tokens, 2);
    assert_true(fabs(t->server_prefill_ms - 1.5) < 1e-9);
    assert_false(isnan(t->ttft_ms));
    assert_true(t->ttfb_ms <= t->ttft_ms && t->ttft_ms <= t->total_ms);
    assert_non_null(strstr(t->raw, "\"cache_n\":16"));
}

static void requests_should_reuse_one_connection(void **state)
{
    run *r = *state;
    int before = the_fake.connections;
    for (int i = 0; i < 3; i++)
        assert_int_equal(run_send(r, false), KV_OK);
    assert_int_equal(the_fake.connections - before, 1);
}

static void api_key_should_be_sent_but_never_reported(void **state)
{
    run *r = *state;
    setenv("KVPROOF_TEST_KEY", KEY, 1);
    run_key_env(r, "KVPROOF_TEST_KEY");
    assert_int_equal(run_send(r, false), KV_ERR_HTTP);
    assert_string_equal(the_fake.last_auth, "Bearer " KEY); /* it was sent */
    assert_false(r->t.ok);
    assert_int_equal(r->t.http_status, 401);
    assert_non_null(strstr(r->t.error, "HTTP 401"));
    assert_non_null(strstr(r->t.error, "invalid key"));
    assert_null(strstr(r->t.error, KEY));
    assert_null(strstr(r->err, KEY));
    assert_true(r->t.raw == NULL || strstr(r->t.raw, KEY) == NULL);
    unsetenv("KVPROOF_TEST_KEY");
}

static void missing_key_variable_should_fail_naming_the_variable(void **state)
{
    run *r = *state;
    unsetenv("KVPROOF_TEST_NOKEY");
    run_key_env(r, "KVPROOF_TEST_NOKEY");
    assert_int_equal(run_send(r, false), KV_ERR_INPUT);
    assert_non_null(strstr(r->t.error, "KVPROOF_TEST_NOKEY"));
}

static void status_429_should_be_retried_then_succeed(void **state)
{
    run *r = *state;
    assert_int_equal(run_send(r, false), KV_OK);
    assert_true(r->t.ok);
    assert_int_equal(r->t.attempts, 3);
    assert_string_equal(r->t.error, "");
    assert_non_null(strstr(r->t.raw, "kvproof_attempt_errors"));
    assert_non_null(strstr(r->t.raw, "HTTP 429: slow down"));
    long waits = 0;
    double wait_s = 0;
    client_retry_waits(r->c, &waits, &wait_s);
    assert_int_equal(waits, 2);
    assert_float_equal(wait_s, 0.0, 0); /* Retry-After: 0, twice */
}

static void status_503_should_fail_after_bounded_attempts(void **state)
{
    run *r = *state;
    assert_int_equal(run_send(r, false), KV_ERR_HTTP);
    assert_false(r->t.ok);
    assert_int_equal(r->t.attempts, 3);
    assert_int_equal(the_fake.requests, 3);
    assert_non_null(strstr(r->t.error, "HTTP 503: loading model"));
    long waits = 0;
    double wait_s = 0;
    client_retry_waits(r->c, &waits, &wait_s);
    assert_int_equal(waits, 2);
    assert_float_equal(wait_s, 0.001 + 0.002, 1e-12); /* the test's backoff: 1 ms, then 2 ms */
}

static void wrong_content_type_should_fail_without_retry(void **state)
{
    run *r = *state;
    assert_int_equal(run_send(r, false), KV_ERR_PROTOCOL);
    assert_int_equal(r->t.attempts, 1);
    assert_non_null(strstr(r->t.error, "wrong content type 'text/html'"));
}

static void refused_connection_should_be_retried_a_bounded_number_of_times(void **state)
{
    (void)state;
    run r;
    run_open(&r, tu_free_port(), SPEC_API_OPENAI_CHAT);
    r.x.rq.retries = 3;
    assert_int_equal(run_send(&r, false), KV_ERR_NET);
    assert_int_equal(r.t.attempts, 4);
    assert_non_null(strstr(r.t.error, "connection refused"));
    assert_non_null(strstr(r.t.error, "after 4 attempts"));
    assert_non_null(strstr(r.t.raw, "kvproof_attempt_errors"));
    run_close(&r);
}

static void call_should_return_any_status_and_the_body(void **state)
{
    run *r = *state;
    int status = 0;
    char *body = NULL, *hdrs = NULL;
    assert_int_equal(
        client_call_headers(r->c, &r->x.target, "/health", NULL, 2, &status, &body, &hdrs, r->err),
        KV_OK);
    assert_int_equal(status, 503);
    assert_non_null(strstr(body, "loading model"));
    assert_non_null(strstr(hdrs, "Content-Type: application/json"));
    free(body);
    free(hdrs);
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
        ref_run rr;
        ref_open(&rr, dc->server, NULL, -1, 0, dc->api);
        refsrv *s = rr.s;
        run *r = &rr.r;
        snprintf(r->x.model, sizeof r->x.model, "kvproof-ref");
        r->x.msgs[0].content = sys;
        refsrv_truth truth;
        for (int round = 0; round < 2; round++) { /* cold, then warm resend */
            if (run_send(r, true) != KV_OK)
                fail_msg("%s/%s round %d: %s", refsrv_dialect_name(dc->server),
                         dialect_name(dc->api), round, r->err);
            const trial_request *t = &r->t;
            assert_true(refsrv_last(s, &truth));
            assert_true(t->ok);
            assert_int_equal(t->attempts, 1);
            assert_true(strlen(r->reply) > 0);
            if (dc->reports_prompt)
                assert_int_equal(t->prompt_tokens, truth.prompt_tokens);
            long want = truth.cached_tokens;
            if (!dc->reports_cached || (want == 0 && !dc->reports_cached_when_zero))
                want = -1;
            if (t->cached_tokens != want)
                fail_msg("%s/%s round %d: cached %ld, truth %ld", refsrv_dialect_name(dc->server),
                         dialect_name(dc->api), round, t->cached_tokens, truth.cached_tokens);
            if (round == 1)
                assert_true(truth.cached_tokens > 250); /* the warm resend reused the prefix */
            assert_int_equal(t->output_tokens, truth.output_tokens);
            assert_false(isnan(t->ttft_ms));
            if (dc->api != SPEC_API_OLLAMA)
                assert_false(isnan(t->server_overhead_us));
        }
        ref_close(&rr);
    }
    free(sys);
}

/* The send stamp (server clock) of the first token chunk the client saw. */
static void first_stamp(void *ctx, int64_t recv_ns, int64_t sent_ns)
{
    int64_t *first = ctx;
    assert_true(recv_ns >= sent_ns); /* one CLOCK_MONOTONIC: sent before received */
    if (*first == 0)
        *first = sent_ns;
}

static void ttft_should_come_after_the_role_only_chunk_and_the_prefill(void **state)
{
    (void)state;
    costmodel_params slow = {.a = 150, .time_scale = 1}; /* 150 ms fixed prefill */
    const refsrv_dialect servers[] = {REFSRV_LLAMACPP, REFSRV_VLLM};
    const spec_api apis[] = {SPEC_API_LLAMACPP, SPEC_API_OPENAI_CHAT};
    for (size_t i = 0; i < 2; i++) {
        ref_run rr;
        ref_open(&rr, servers[i], &slow, -1, 0, apis[i]);
        refsrv *s = rr.s;
        run *r = &rr.r;
        int64_t first_sent = 0;
        client_observe_stamps(r->c, first_stamp, &first_sent);
        assert_int_equal(run_send(r, false), KV_OK);
        refsrv_truth truth;
        assert_true(refsrv_last(s, &truth));
        assert_false(isnan(r->t.ttft_ms));
        /* The first token the client timed is one the server sent after its
         * prefill, not the role-only chunk sent before it (an ordering on
         * the server's clock, not a duration). */
        assert_true(first_sent > 0);
        assert_true(first_sent >= truth.first_token_ns);
        assert_true(truth.first_token_ns > truth.arrived_ns);
        if (servers[i] == REFSRV_LLAMACPP) {
            /* llama.cpp reports its prefill; the role chunk came before it */
            assert_true(fabs(r->t.server_prefill_ms - truth.prefill_ms) < 1.0);
        }
        ref_close(&rr);
    }
}

/* What wake_should_precede_every_observed_chunk checks per chunk. */
typedef struct wake_check {
    const client *c;
    int64_t start_ns; /* before the request */
    long chunks, ordered;
} wake_check;

static void wake_before_chunk(void *ctx, int64_t recv_ns, int64_t sent_ns)
{
    (void)sent_ns;
    wake_check *w = ctx;
    int64_t wake = client_wake_ns(w->c);
    w->chunks++;
    if (wake >= w->start_ns && wake <= recv_ns)
        w->ordered++;
}

static void wake_should_precede_every_observed_chunk(void **state)
{
    run *r = *state;
    wake_check w = {.c = r->c, .start_ns = kv_now_ns()};
    client_observe_stamps(r->c, wake_before_chunk, &w);
    assert_int_equal(run_send(r, false), KV_OK);
    /* every chunk was read after a return from the wait, within the call */
    assert_true(w.chunks > 0);
    assert_int_equal(w.ordered, w.chunks);
    assert_true(client_wake_ns(r->c) >= w.start_ns);
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
        ref_run rr;
        ref_open(&rr, REFSRV_LLAMACPP, NULL, (int)fcs[i].fault, 5000, SPEC_API_LLAMACPP);
        run *r = &rr.r;
        r->x.rq.timeout_first_token_s = 0.3;
        kv_status st = run_send(r, false);
        if (st != fcs[i].status || r->t.attempts != fcs[i].attempts || r->t.ok ||
            !strstr(r->t.error, fcs[i].reason))
            fail_msg("fault %s: status %s, attempts %d, error '%s'",
                     refsrv_fault_name(fcs[i].fault), kv_strerror(st), r->t.attempts, r->t.error);
        ref_close(&rr);
    }
}

static void status_429_should_honour_retry_after_and_stay_bounded(void **state)
{
    run *r = *state;
    r->x.rq.retries = 1;
    assert_int_equal(run_send(r, false), KV_ERR_HTTP);
    assert_int_equal(r->t.attempts, 2);
    long waits = 0;
    double wait_s = 0;
    client_retry_waits(r->c, &waits, &wait_s);
    assert_int_equal(waits, 1);
    assert_float_equal(wait_s, 1.0, 0); /* Retry-After: 1 honoured, not the 1 ms backoff */
    assert_non_null(strstr(r->t.error, "HTTP 429"));
    /* a Retry-After beyond the total timeout ends the retries at once */
    r->x.rq.timeout_total_s = 0.5;
    r->x.rq.retries = 5;
    assert_int_equal(run_send(r, false), KV_ERR_HTTP);
    assert_int_equal(r->t.attempts, 1);
    assert_non_null(strstr(r->t.error, "total timeout"));
    client_retry_waits(r->c, &waits, &wait_s);
    assert_int_equal(waits, 1); /* no second wait */
}

static void slow_drip_should_still_parse_or_hit_the_total_timeout(void **state)
{
    run_case *rc = *state;
    run *r = &rc->rr.r;
    assert_int_equal(run_send(r, false), KV_OK);
    refsrv_truth truth;
    assert_true(refsrv_last(rc->rr.s, &truth));
    assert_int_equal(r->t.cached_tokens, truth.cached_tokens);
    assert_int_equal(r->t.output_tokens, truth.output_tokens);
    r->x.rq.timeout_total_s = 0.05;
    assert_int_equal(run_send(r, false), KV_ERR_TIMEOUT);
    assert_false(r->t.ok);
    assert_non_null(strstr(r->t.error, "total timeout"));
}

static void tokenize_and_cache_reset_should_use_the_server_endpoints(void **state)
{
    run *r = *state;
    long n = 0;
    assert_int_equal(
        client_tokenize(r->c, &r->x.target, SPEC_API_LLAMACPP, "Hello, world.", &n, r->err), KV_OK);
    assert_int_equal(n, refsrv_count_tokens("Hello, world."));
    assert_int_equal(client_reset_cache(r->c, &r->x.target, SPEC_API_LLAMACPP, r->err), KV_OK);
    assert_int_equal(client_tokenize(r->c, &r->x.target, SPEC_API_OLLAMA, "x", &n, r->err),
                     KV_ERR_UNSUPPORTED);
}

/* A test run on the canned server in MODE, its request in dialect API. */
#define ON_FAKE(TEST, MODE, API)                                                                   \
    {                                                                                              \
#TEST, TEST, case_up, case_down, &(run_case)                                               \
        {                                                                                          \
            .mode = MODE, .api = API                                                               \
        }                                                                                          \
    }

/* A test run on a reference server of dialect D with FAULT (-1: none), its
 * request in dialect API. */
#define ON_REF(TEST, D, API, FAULT)                                                                \
    {                                                                                              \
#TEST, TEST, case_up, case_down, &(run_case)                                               \
        {                                                                                          \
            .ref = true, .d = D, .fault = FAULT, .api = API                                        \
        }                                                                                          \
    }

int main(void)
{
    const struct CMUnitTest tests[] = {
        ON_FAKE(send_should_measure_a_complete_streamed_reply, FAKE_OK, SPEC_API_LLAMACPP),
        ON_FAKE(requests_should_reuse_one_connection, FAKE_OK, SPEC_API_OPENAI_CHAT),
        ON_FAKE(api_key_should_be_sent_but_never_reported, FAKE_ECHO_401, SPEC_API_OPENAI_CHAT),
        ON_FAKE(missing_key_variable_should_fail_naming_the_variable, FAKE_OK, SPEC_API_ANTHROPIC),
        ON_FAKE(status_429_should_be_retried_then_succeed, FAKE_429_THEN_OK, SPEC_API_OPENAI_CHAT),
        ON_FAKE(status_503_should_fail_after_bounded_attempts, FAKE_503, SPEC_API_OPENAI_CHAT),
        ON_FAKE(wrong_content_type_should_fail_without_retry, FAKE_HTML, SPEC_API_OPENAI_CHAT),
        cmocka_unit_test(refused_connection_should_be_retried_a_bounded_number_of_times),
        ON_FAKE(call_should_return_any_status_and_the_body, FAKE_503, SPEC_API_OPENAI_CHAT),
    };
    const struct CMUnitTest ref_tests[] = {
        cmocka_unit_test(every_dialect_should_report_the_servers_prompt_and_cached_tokens),
        cmocka_unit_test(ttft_should_come_after_the_role_only_chunk_and_the_prefill),
        ON_REF(wake_should_precede_every_observed_chunk, REFSRV_VLLM, SPEC_API_OPENAI_CHAT, -1),
        cmocka_unit_test(every_fault_should_give_a_failed_record_with_its_reason),
        ON_REF(status_429_should_honour_retry_after_and_stay_bounded, REFSRV_VLLM,
               SPEC_API_OPENAI_CHAT, REFSRV_FAULT_HTTP429),
        ON_REF(slow_drip_should_still_parse_or_hit_the_total_timeout, REFSRV_LLAMACPP,
               SPEC_API_LLAMACPP, REFSRV_FAULT_DRIP),
        ON_REF(tokenize_and_cache_reset_should_use_the_server_endpoints, REFSRV_LLAMACPP,
               SPEC_API_LLAMACPP, -1),
    };
    int failed = cmocka_run_group_tests(tests, fake_setup, fake_teardown);
    return failed + cmocka_run_group_tests(ref_tests, NULL, NULL);
}
