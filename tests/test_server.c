/* test_server.c - the reference server's core: tokenizer, chat template,
 * cost model and presets, prefix cache, start/stop, and the cache ground
 * truth seen through the llama.cpp and OpenAI wire formats. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "server/pcache.h"
#include "server/srvgen.h" /* struct refsrv: the slot queue the queueing test waits on */
#include "srvtest.h"
#include "tests/testutil.h"

static void tokenizer_should_count_words_and_punctuation_and_ignore_spaces(void **state)
{
    (void)state;
    assert_int_equal(refsrv_count_tokens("Hello, world!"), 4);
    assert_int_equal(refsrv_count_tokens("  \n\t "), 0);
    assert_int_equal(refsrv_count_tokens("don't"), 3);
    assert_int_equal(refsrv_count_tokens("abc123 x_y"), 4);
    assert_int_equal(refsrv_count_tokens("caf\xc3\xa9 au lait"), 3);
    assert_int_equal(refsrv_chat_tokens(2, 10), 4 * 2 + 10 + 3);
}

static void cost_model_should_follow_its_formula(void **state)
{
    (void)state;
    costmodel_params p = {.a = 10, .b = 2, .c = 0.001, .d0 = 5, .d1 = 0.01, .time_scale = 1};
    assert_float_equal(costmodel_prefill_ms(&p, 100, 0), 10 + 200 + 0.001 * 5000, 1e-9);
    assert_float_equal(costmodel_prefill_ms(&p, 100, 1000), 10 + 200 + 0.001 * (100000 + 5000),
                       1e-9);
    assert_float_equal(costmodel_decode_ms(&p, 1000), 15, 1e-9);
    double stall = -1;
    assert_float_equal(costmodel_noise_factor(&p, 0.3, 0.7, 0.5, 0.5, &stall), 1.0, 1e-12);
    assert_float_equal(stall, 0, 0);
}

static void laptop_preset_should_reproduce_the_seed_scenario(void **state)
{
    (void)state;
    costmodel_params p;
    assert_true(costmodel_preset("laptop", &p));
    /* 18,490-token system prompt + ~100-token query, 100 output tokens. */
    long base = refsrv_chat_tokens(1, 100), full = refsrv_chat_tokens(2, 18490 + 100);
    double t_base = costmodel_prefill_ms(&p, (double)base, 0);
    double t_full = costmodel_prefill_ms(&p, (double)full, 0);
    for (int i = 1; i < 100; i++) {
        t_base += costmodel_decode_ms(&p, (double)(base + i));
        t_full += costmodel_decode_ms(&p, (double)(full + i));
    }
    assert_true(t_base > 4000 && t_base < 6000);                     /* about 5 s */
    assert_true(t_full - t_base > 22000 && t_full - t_base < 28000); /* about 25 s more */
    assert_false(costmodel_preset("nonsense", &p));
}

static void prefix_cache_should_return_the_longest_common_prefix_and_evict_lru(void **state)
{
    (void)state;
    pcache *c = pcache_new(10);
    int32_t a[] = {1, 2, 3, 4, 5, 6}, b[] = {1, 2, 9}, d[] = {7, 8, 9, 10, 11};
    assert_int_equal(pcache_lookup(c, a, 6), 0);
    assert_int_equal(pcache_insert(c, a, 6), KV_OK);
    assert_int_equal(pcache_lookup(c, b, 3), 2);
    assert_int_equal(pcache_lookup(c, a, 6), 6);
    assert_int_equal(pcache_insert(c, d, 5), KV_OK); /* 11 tokens > 10: a is evicted */
    assert_int_equal(pcache_tokens(c), 5);
    assert_int_equal(pcache_lookup(c, a, 6), 0);
    pcache_clear(c);
    assert_int_equal(pcache_tokens(c), 0);
    pcache_free(c);
    pcache_free(NULL);
}

static void server_should_start_on_an_ephemeral_port_and_stop(void **state)
{
    (void)state;
    refsrv *s = srvtest_start_dialect(REFSRV_LLAMACPP);
    assert_true(refsrv_port(s) > 0);
    http_reply r;
    http_do(refsrv_port(s), "GET", "/health", NULL, 5, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.headers.data, "X-Kvproof-Simulated: 1"));
    assert_string_equal(r.body.data, "{\"status\":\"ok\"}");
    http_reply_free(&r);
    refsrv_truth t;
    assert_false(refsrv_last(s, &t));
    refsrv_stop(s);
    refsrv_stop(NULL);
}

static void server_should_refuse_a_bad_host(void **state)
{
    (void)state;
    refsrv_config cfg;
    srvtest_config(&cfg, REFSRV_LLAMACPP);
    cfg.host = "not-an-address";
    refsrv *s = NULL;
    char err[KV_ERRLEN] = "";
    assert_int_equal(refsrv_start(&cfg, &s, err), KV_ERR_USAGE);
    assert_null(s);
    assert_non_null(strstr(err, "not-an-address"));
}

/* POSTs body to path; the reply must be 200 and JSON: returns it parsed. */
static cJSON *post_json(int port, const char *path, const char *body)
{
    http_reply r;
    http_do(port, "POST", path, body, 10, &r);
    assert_int_equal(r.status, 200);
    cJSON *o = cJSON_Parse(r.body.data);
    http_reply_free(&r);
    assert_non_null(o);
    return o;
}

/* Sends a chat request (system + user) and returns the parsed body. */
static cJSON *chat(int port, const char *sys, const char *user, const char *extra)
{
    char body[4096];
    snprintf(body, sizeof body,
             "{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":\"%s\"},"
             "{\"role\":\"user\",\"content\":\"%s\"}],\"max_tokens\":2%s}",
             sys, user, extra ? extra : "");
    return post_json(port, "/v1/chat/completions", body);
}

#define SYS "You are a careful assistant. Answer briefly, and cite sources."
#define SYS_TOKENS 13

/* srvtest_config's llama.cpp defaults in *cfg, and a server started from them. */
static refsrv *start_llamacpp(refsrv_config *cfg)
{
    srvtest_config(cfg, REFSRV_LLAMACPP);
    return srvtest_start(cfg);
}

static void warm_request_should_report_the_shared_prefix_as_cached(void **state)
{
    (void)state;
    refsrv_config cfg;
    refsrv *s = start_llamacpp(&cfg);
    assert_int_equal(refsrv_count_tokens(SYS), SYS_TOKENS);
    cJSON *a = chat(refsrv_port(s), SYS, "first question here", NULL);
    assert_int_equal((long)json_num(a, "timings.cache_n"), 0);
    assert_int_equal((long)json_num(a, "usage.prompt_tokens"),
                     refsrv_chat_tokens(2, SYS_TOKENS + 3));
    cJSON *b = chat(refsrv_port(s), SYS, "second question now", NULL);
    /* system message (4 + 13) and the user header (3) are shared */
    long shared = 4 + SYS_TOKENS + 3;
    assert_int_equal((long)json_num(b, "timings.cache_n"), shared);
    assert_int_equal((long)json_num(b, "usage.prompt_tokens_details.cached_tokens"), shared);
    assert_int_equal((long)json_num(b, "timings.prompt_n"),
                     refsrv_chat_tokens(2, SYS_TOKENS + 3) - shared);
    refsrv_truth t;
    assert_true(refsrv_last(s, &t));
    assert_int_equal(t.cached_tokens, shared);
    assert_int_equal(t.prompt_tokens, refsrv_chat_tokens(2, SYS_TOKENS + 3));
    assert_int_equal(t.output_tokens, 2);
    assert_true(t.completed);
    /* the server never sleeps less than the scaled model time */
    assert_true(t.prefill_ms >= t.model_prefill_ms * cfg.cost.time_scale);
    assert_float_equal(json_num(b, "timings.prompt_ms"), t.prefill_ms, 1e-9);
    cJSON_Delete(a);
    cJSON_Delete(b);
    refsrv_stop(s);
}

static void identical_resend_should_still_evaluate_one_token(void **state)
{
    (void)state;
    refsrv *s = srvtest_start_dialect(REFSRV_LLAMACPP);
    cJSON *a = chat(refsrv_port(s), SYS, "same", NULL);
    cJSON *b = chat(refsrv_port(s), SYS, "same", NULL);
    long n = (long)json_num(b, "usage.prompt_tokens");
    assert_int_equal((long)json_num(b, "timings.cache_n"), n - 1);
    assert_int_equal((long)json_num(b, "timings.prompt_n"), 1);
    cJSON_Delete(a);
    cJSON_Delete(b);
    refsrv_stop(s);
}

static void cold_requests_should_report_zero_cached_tokens(void **state)
{
    (void)state;
    refsrv_config cfg;
    refsrv *s = start_llamacpp(&cfg);
    int port = refsrv_port(s);
    cJSON_Delete(chat(port, SYS, "prime", NULL));
    /* cache_prompt:false */
    cJSON *o = chat(port, SYS, "prime", ",\"cache_prompt\":false");
    assert_int_equal((long)json_num(o, "timings.cache_n"), 0);
    cJSON_Delete(o);
    /* a different first token */
    o = chat(port, "Nonce " SYS, "prime", NULL);
    assert_int_equal((long)json_num(o, "timings.cache_n"), 3); /* the template header only */
    cJSON_Delete(o);
    /* erase the slot */
    http_reply r;
    http_do(port, "POST", "/slots/0?action=erase", NULL, 5, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body.data, "\"n_erased\""));
    http_reply_free(&r);
    o = chat(port, SYS, "prime", NULL);
    assert_int_equal((long)json_num(o, "timings.cache_n"), 0);
    cJSON_Delete(o);
    /* raw prompts share nothing with a different first word */
    cJSON_Delete(
        post_json(port, "/completion", "{\"prompt\":\"alpha beta gamma\",\"n_predict\":1}"));
    o = post_json(port, "/completion", "{\"prompt\":\"delta beta gamma\",\"n_predict\":1}");
    assert_int_equal((long)json_num(o, "tokens_cached"), 0);
    assert_int_equal((long)json_num(o, "tokens_evaluated"), 3);
    cJSON_Delete(o);
    refsrv_stop(s);

    cfg.cache_enabled = false; /* --no-cache */
    s = srvtest_start(&cfg);
    cJSON_Delete(chat(refsrv_port(s), SYS, "prime", NULL));
    o = chat(refsrv_port(s), SYS, "prime", NULL);
    assert_int_equal((long)json_num(o, "timings.cache_n"), 0);
    cJSON_Delete(o);
    refsrv_stop(s);
}

static void reset_endpoints_should_empty_the_cache(void **state)
{
    (void)state;
    const refsrv_dialect ds[] = {REFSRV_VLLM, REFSRV_SGLANG};
    const char *paths[] = {"/reset_prefix_cache", "/flush_cache"};
    for (int i = 0; i < 2; i++) {
        refsrv *s = srvtest_start_dialect(ds[i]);
        cJSON_Delete(chat(refsrv_port(s), SYS, "prime", NULL));
        cJSON *o = chat(refsrv_port(s), SYS, "prime", NULL);
        assert_true(json_num(o, "usage.prompt_tokens_details.cached_tokens") > 0);
        cJSON_Delete(o);
        http_reply r;
        http_do(refsrv_port(s), "POST", paths[i], NULL, 5, &r);
        assert_int_equal(r.status, 200);
        http_reply_free(&r);
        o = chat(refsrv_port(s), SYS, "prime", NULL);
        /* vLLM and SGLang omit the field when nothing was cached */
        assert_null(json_at(o, "usage.prompt_tokens_details"));
        cJSON_Delete(o);
        refsrv_truth t;
        assert_true(refsrv_last(s, &t));
        assert_int_equal(t.cached_tokens, 0);
        refsrv_stop(s);
    }
}

static void bad_requests_should_get_400_with_a_reason(void **state)
{
    (void)state;
    refsrv *s = srvtest_start_dialect(REFSRV_LLAMACPP);
    http_reply r;
    http_do(refsrv_port(s), "POST", "/v1/chat/completions", "{not json", 5, &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body.data, "not a JSON object"));
    http_reply_free(&r);
    http_do(refsrv_port(s), "POST", "/v1/chat/completions", "{\"messages\":[]}", 5, &r);
    assert_int_equal(r.status, 400);
    http_reply_free(&r);
    refsrv_stop(s);
}

/* Opens a connection and sends a POST without reading the reply. */
static int post_unread(int port, const char *path, const char *body)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    assert_int_equal(inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr), 1);
    assert_int_equal(connect(fd, (const struct sockaddr *)&sa, sizeof sa), 0);
    char req[1024];
    int n = snprintf(req, sizeof req,
                     "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\n\r\n%s",
                     path, strlen(body), body);
    assert_true(n > 0 && (size_t)n < sizeof req);
    assert_int_equal(send(fd, req, (size_t)n, 0), n);
    return fd;
}

/* Waits until the server has slots_free free slots and waiting queued
 * requests (a guard of 60 s against a hang, not a timing assertion). */
static void wait_for_slots(refsrv *s, int slots_free, int waiting)
{
    int64_t give_up = kv_now_ns() + 60 * 1000000000LL;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        bool reached = s->slots_free == slots_free && s->waiting == waiting;
        pthread_mutex_unlock(&s->mu);
        if (reached)
            return;
        if (kv_now_ns() > give_up)
            fail_msg("the server never had %d free slots and %d waiting", slots_free, waiting);
        kv_sleep_until_ns(kv_now_ns() + 1000000);
    }
}

typedef struct bg_post {
    int port;
    http_reply r;
} bg_post;

static void *bg_post_run(void *arg)
{
    bg_post *b = arg;
    http_do(b->port, "POST", "/completion", "{\"prompt\":\"second request\",\"n_predict\":1}", 60,
            &b->r);
    return NULL;
}

static void request_should_queue_for_a_busy_slot_and_run_when_it_frees(void **state)
{
    (void)state;
    refsrv_config cfg;
    srvtest_config(&cfg, REFSRV_LLAMACPP);
    cfg.slots = 1;
    cfg.reply_tokens = 100000; /* A holds the slot until its client goes away */
    cfg.cost.time_scale = 0.05;
    refsrv *s = srvtest_start(&cfg);
    int port = refsrv_port(s);
    int a = post_unread(port, "/completion", "{\"prompt\":\"first request\",\"stream\":true}");
    wait_for_slots(s, 0, 0); /* A runs */
    bg_post b = {.port = port};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, bg_post_run, &b), 0);
    wait_for_slots(s, 0, 1); /* B waits for A's slot */
    int64_t released = kv_now_ns();
    close(a); /* A's reply is abandoned: its slot frees */
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(b.r.status, 200);
    http_reply_free(&b.r);
    refsrv_truth t;
    assert_true(refsrv_last(s, &t));
    assert_int_equal(t.seq, 2);
    assert_true(t.completed);
    assert_true(t.queue_ms > 0);
    assert_true(t.arrived_ns < released);
    assert_true(t.first_token_ns > released);
    assert_int_equal(refsrv_requests(s), 2);
    refsrv_stop(s);
}

static void fault_and_dialect_names_should_parse(void **state)
{
    (void)state;
    refsrv_config cfg;
    refsrv_config_default(&cfg);
    char err[KV_ERRLEN] = "";
    assert_int_equal(refsrv_fault_parse("http429:0.25", &cfg, err), KV_OK);
    assert_float_equal(cfg.fault_p[REFSRV_FAULT_HTTP429], 0.25, 0);
    assert_int_equal(refsrv_fault_parse("content-type", &cfg, err), KV_OK);
    assert_float_equal(cfg.fault_p[REFSRV_FAULT_CONTENT_TYPE], 1, 0);
    assert_int_equal(refsrv_fault_parse("gremlins:0.1", &cfg, err), KV_ERR_USAGE);
    err[0] = '\0';
    assert_int_equal(refsrv_fault_parse("reset:2", &cfg, err), KV_ERR_USAGE);
    for (int i = 0; i < REFSRV_DIALECT_COUNT; i++) {
        refsrv_dialect d;
        assert_true(refsrv_dialect_parse(refsrv_dialect_name((refsrv_dialect)i), &d));
        assert_int_equal(d, i);
    }
}

static void serve_help_should_document_every_flag_and_the_formula(void **state)
{
    (void)state;
    if (!getenv("KVPROOF_BIN"))
        skip();
    kv_buf out = {0};
    assert_int_equal(tu_kvproof(&out, "serve --help"), 0);
    const char *flags[] = {"--host",
                           "--port",
                           "--dialect",
                           "--model",
                           "--preset",
                           "--params",
                           "--a ",
                           "--b ",
                           "--c ",
                           "--d0",
                           "--d1",
                           "--cv",
                           "--stall-p",
                           "--stall-ms",
                           "--time-scale",
                           "--seed",
                           "--slots",
                           "--cache-tokens",
                           "--cache-mode",
                           "--cache-preset",
                           "--ram-cache-tokens",
                           "--restore-ms-per-token",
                           "--no-cache",
                           "--ctx",
                           "--reply-tokens",
                           "--fault ",
                           "--fault-reset-after",
                           "--fault-stall-ms",
                           "--fault-drip-ms",
                           "a + b*n_new + c*(n_new*n_cached + n_new^2/2)",
                           "d0 + d1*context",
                           "SIMULATED"};
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        if (!strstr(out.data, flags[i]))
            fail_msg("serve --help does not mention %s", flags[i]);
    kv_buf_free(&out);
}

static void serve_should_print_its_port_and_stop_on_sigterm(void **state)
{
    (void)state;
    const char *bin = getenv("KVPROOF_BIN");
    if (!bin)
        skip();
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        execl(bin, bin, "serve", "--port", "0", "--time-scale", "0.001", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    FILE *f = fdopen(fds[0], "r");
    char line[512];
    int port = 0;
    while (!port && fgets(line, sizeof line, f)) {
        const char *p = strstr(line, "listening on http://127.0.0.1:");
        if (p)
            port = (int)strtol(p + 30, NULL, 10);
    }
    assert_true(port > 0);
    http_reply r;
    http_do(port, "POST", "/completion", "{\"prompt\":\"a b c\",\"n_predict\":2}", 10, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body.data, "\"stop\":true"));
    http_reply_free(&r);
    kill(pid, SIGTERM);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    fclose(f);
}

TU_MAIN(tu_setup_curl, tu_teardown_curl,
        cmocka_unit_test(tokenizer_should_count_words_and_punctuation_and_ignore_spaces),
        cmocka_unit_test(cost_model_should_follow_its_formula),
        cmocka_unit_test(laptop_preset_should_reproduce_the_seed_scenario),
        cmocka_unit_test(prefix_cache_should_return_the_longest_common_prefix_and_evict_lru),
        cmocka_unit_test(server_should_start_on_an_ephemeral_port_and_stop),
        cmocka_unit_test(server_should_refuse_a_bad_host),
        cmocka_unit_test(warm_request_should_report_the_shared_prefix_as_cached),
        cmocka_unit_test(identical_resend_should_still_evaluate_one_token),
        cmocka_unit_test(cold_requests_should_report_zero_cached_tokens),
        cmocka_unit_test(reset_endpoints_should_empty_the_cache),
        cmocka_unit_test(bad_requests_should_get_400_with_a_reason),
        cmocka_unit_test(request_should_queue_for_a_busy_slot_and_run_when_it_frees),
        cmocka_unit_test(fault_and_dialect_names_should_parse),
        cmocka_unit_test(serve_help_should_document_every_flag_and_the_formula),
        cmocka_unit_test(serve_should_print_its_port_and_stop_on_sigterm))
