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

#include "experiments/client.h"

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
    return cmocka_run_group_tests(tests, fake_setup, fake_teardown);
}
