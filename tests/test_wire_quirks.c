/* test_wire_quirks.c - what real servers do on the wire that kvproof's own
 * reference server does not (issue 11, items 5 to 9), each against replies
 * copied from upstream (tests/fixtures/wire/<server>/<layout>/, SOURCE.md)
 * and replayed by server/replay.h, at the level of the probe, the dialect and
 * the client (tests/test_wire_b.c runs them through `kvproof run`):
 *
 *  - probe: mlx_lm.server (no owned_by) and Anthropic (no --api) named
 *    right, LM Studio's HTTP 200 error bodies not taken for SGLang, the
 *    cache check sized from the server's minimum and reported "not run";
 *  - dialect: hosted OpenAI gets max_completion_tokens and no temperature
 *    unless the spec sets one; the llama.cpp and /v1/completions streams
 *    read from captured bytes;
 *  - client: llama-server's 501 slot erase is "unsupported", the slot a
 *    request used is the one erased; LM Studio's HTTP 200 error bodies are
 *    not a cache reset or a tokenizer;
 *  - runner: journaled prompt_tokens are the server's usage, not a
 *    /tokenize count that differs by the BOS token.
 */
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
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "net/client.h"
#include "net/dialect.h"
#include "experiments/journal.h"
#include "net/probe.h"
#include "experiments/runner.h"
#include "experiments/spec.h"
#include "server/replay.h"
#include "runnertest.h"
#include "tests/testutil.h"

static client *new_client(void)
{
    return tu_client(0.001, 0.002);
}

/* ---- probe (item 5) ---------------------------------------------------- */

/* Replays a fixture directory (server/replay.h); its URL into url. */
static replay *rp_start(const char *fixture, char *url, size_t cap)
{
    char dir[256], err[KV_ERRLEN] = "";
    snprintf(dir, sizeof dir, "tests/fixtures/wire/%s", fixture);
    replay_options o;
    replay_options_default(&o);
    o.first_token_delay_ms = 0;
    replay *r = NULL;
    if (replay_start(dir, &o, &r, err) != KV_OK)
        fail_msg("replay %s: %s", dir, err);
    snprintf(url, cap, "http://127.0.0.1:%d", replay_port(r));
    return r;
}

/* Requests the replay answered whose method is `method` and whose path
 * starts with `prefix`. */
static size_t rp_count(replay *r, const char *method, const char *prefix)
{
    replay_entry e[256];
    size_t n = replay_log(r, 0, e, 256), k = 0;
    for (size_t i = 0; i < n && i < 256; i++)
        k += strcmp(e[i].method, method) == 0 && strncmp(e[i].path, prefix, strlen(prefix)) == 0;
    return k;
}

/* A test's replay of `fixture` (rp_start), a client, and what the test
 * learnt from them (probe_detect's info, probe_cache's result), all freed
 * by rp_down. The test's initial state names the fixture; rp_setup and
 * rp_teardown bring it up and down around the test. */
typedef struct rp_fx {
    const char *fixture;
    replay *r;
    client *c;
    char url[64], err[KV_ERRLEN];
    probe_info info;
    probe_cache_result cache;
} rp_fx;

static void rp_up(rp_fx *f)
{
    f->r = rp_start(f->fixture, f->url, sizeof f->url);
    f->c = new_client();
}

static void rp_down(rp_fx *f)
{
    probe_cache_clear(&f->cache);
    probe_info_clear(&f->info);
    client_free(f->c);
    replay_stop(f->r);
}

static int rp_setup(void **state)
{
    rp_up(*state);
    return 0;
}

static int rp_teardown(void **state)
{
    rp_down(*state);
    return 0;
}

/* probe_detect of the replay with api and model (no key), which must
 * succeed; its info in f->info (the previous one cleared). */
static const probe_info *rp_detect(rp_fx *f, spec_api api, const char *model)
{
    probe_info_clear(&f->info);
    assert_int_equal(probe_detect(f->c, f->url, api, model, NULL, &f->info, f->err), KV_OK);
    return &f->info;
}

static void probe_should_name_mlx_lm_whose_models_have_no_owned_by(void **state)
{
    (void)state;
    /* server-py: by the Server header every reply carries; v0.32: by GET /health. */
    static const char *const dirs[] = {"mlx-lm/server-py", "mlx-lm/v0.32-http1.0-keepalive"};
    for (size_t i = 0; i < 2; i++) {
        rp_fx f = {.fixture = dirs[i]};
        rp_up(&f);
        const probe_info *info = rp_detect(&f, SPEC_API_AUTO, NULL);
        assert_string_equal(info->server, "mlx");
        assert_int_equal(info->api, SPEC_API_OPENAI_CHAT);
        assert_false(info->tokenizes);
        rp_down(&f);
    }
}

static void probe_should_name_anthropic_without_api_and_check_its_cache_on_messages(void **state)
{
    rp_fx *f = *state;
    const probe_info *info = rp_detect(f, SPEC_API_AUTO, "claude-haiku-4-5-20251001");
    assert_string_equal(info->server, "anthropic");
    assert_int_equal(info->api, SPEC_API_ANTHROPIC);

    const probe_cache_result *cache = &f->cache;
    assert_int_not_equal(probe_cache(f->c, info, f->url, NULL, &f->cache, f->err), KV_OK);
    assert_int_equal(rp_count(f->r, "POST", "/v1/chat/completions"), 0); /* never */
    assert_true(rp_count(f->r, "POST", "/v1/messages") >= 1);
    assert_int_equal(cache->min_cache_tokens, 4096); /* Claude Haiku 4.5 */
    assert_true(cache->prefix_tokens >= 5120);       /* 1.25 x the minimum, in words */
    assert_false(cache->ran);
    assert_non_null(strstr(cache->not_run, "/v1/messages"));
    assert_int_equal(cache->warm.attempts, 0);
    assert_int_equal(cache->cold.attempts, 0);
    assert_int_equal(cache->warm.cached_tokens, -1);
}

static void cache_minimum_should_follow_the_server_and_model(void **state)
{
    (void)state;
    probe_info p;
    memset(&p, 0, sizeof p);
    snprintf(p.server, sizeof p.server, "openai");
    p.api = SPEC_API_OPENAI_CHAT;
    assert_int_equal(probe_cache_min_tokens(&p), 1024);
    snprintf(p.server, sizeof p.server, "anthropic");
    p.api = SPEC_API_ANTHROPIC;
    static const char *const models[] = {"claude-sonnet-4-5-20250929", "claude-3-5-haiku-20241022",
                                         "claude-opus-4-5-20251101", "claude-future-9"};
    long want[] = {1024, 2048, 4096, 4096};
    for (size_t i = 0; i < 4; i++) {
        char name[64];
        snprintf(name, sizeof name, "%s", models[i]);
        p.model = name;
        assert_int_equal(probe_cache_min_tokens(&p), want[i]);
    }
    p.model = NULL;
    snprintf(p.server, sizeof p.server, "llama.cpp");
    p.api = SPEC_API_LLAMACPP;
    assert_int_equal(probe_cache_min_tokens(&p), 0);
}

static void probe_should_not_take_lmstudio_http_200_errors_for_sglang(void **state)
{
    /* An LM Studio without /api/v0: every unknown path answers 200 + error. */
    rp_fx *f = *state;
    const probe_info *info = rp_detect(f, SPEC_API_AUTO, NULL);
    assert_string_not_equal(info->server, "sglang");
    assert_string_equal(info->server, "openai-compatible");
    assert_false(info->tokenizes); /* POST /tokenize got the same 200 + error */
}

static void probe_command_should_say_not_run_when_the_generation_endpoint_404s(void **state)
{
    rp_fx *f = *state;
    kv_buf out = {0};
    assert_int_equal(tu_kvproof(&out, "probe %s 2>&1", f->url), 1);
    TU_CONTAINS(out.data, "cache check:  not run (", "HTTP 404", "  warm    not run",
                "  cold    not run");
    assert_null(strstr(out.data, "reports cached tokens"));
    kv_buf_free(&out);
}

static void cache_check_should_not_run_where_no_known_server_answered(void **state)
{
    rp_fx *f = *state;
    const probe_info *info = rp_detect(f, SPEC_API_AUTO, NULL);
    assert_string_equal(info->server, "unknown");
    size_t before = replay_log(f->r, 0, NULL, 0);
    assert_int_equal(probe_cache(f->c, info, f->url, NULL, &f->cache, f->err), KV_OK);
    assert_false(f->cache.ran);
    assert_non_null(strstr(f->cache.not_run, "--api"));
    assert_int_equal(replay_log(f->r, 0, NULL, 0), before); /* nothing sent */
    probe_cache_clear(&f->cache);
    /* Named with --api, the check runs (and here fails on the 404). */
    info = rp_detect(f, SPEC_API_OPENAI_CHAT, NULL);
    assert_int_not_equal(probe_cache(f->c, info, f->url, NULL, &f->cache, f->err), KV_OK);
    assert_false(f->cache.ran);
    assert_non_null(strstr(f->cache.not_run, "HTTP 404"));
}

/* ---- dialect (items 6 and 9) ------------------------------------------- */

static char *body_for(const char *base_url, spec_api api, double temperature, bool set)
{
    client_request rq = {
        .api = api, .max_output_tokens = 8, .temperature = set ? temperature : NAN};
    return tu_request_body(rq, base_url, "gpt-5-mini", "S", "Q");
}

static void hosted_openai_should_get_max_completion_tokens_and_no_default_temperature(void **state)
{
    (void)state;
    char *b = body_for("https://api.openai.com", SPEC_API_OPENAI_CHAT, 0, false);
    assert_non_null(strstr(b, "\"max_completion_tokens\":8"));
    assert_null(strstr(b, "\"max_tokens\""));
    assert_null(strstr(b, "\"temperature\""));
    free(b);
    b = body_for("https://api.openai.com/", SPEC_API_OPENAI_CHAT, 1, true);
    assert_non_null(strstr(b, "\"temperature\":1"));
    free(b);
    /* Every other OpenAI-style server keeps max_tokens and temperature 0. */
    const char *local[] = {"http://127.0.0.1:8000", "http://notapi.openai.com.evil:1"};
    for (size_t i = 0; i < 2; i++) {
        b = body_for(local[i], SPEC_API_OPENAI_CHAT, 0, false);
        assert_non_null(strstr(b, "\"max_tokens\":8"));
        assert_null(strstr(b, "max_completion_tokens"));
        assert_non_null(strstr(b, "\"temperature\":0"));
        free(b);
    }
    assert_true(dialect_is_hosted_openai("https://api.openai.com/v1"));
    assert_true(dialect_is_hosted_openai("https://API.OpenAI.com:443"));
    assert_false(dialect_is_hosted_openai("http://openai.com.local"));
}

static void spec_should_record_whether_it_sets_a_temperature(void **state)
{
    (void)state;
#define TEMP_SPEC                                                                                  \
    "{\"name\":\"t\",\"targets\":[{\"name\":\"o\",\"base_url\":"                                   \
    "\"https://api.openai.com\",\"api\":\"openai-chat\",\"model\":\"o4-mini\"}],"                  \
    "\"workload\":{\"system_prompt_tokens\":[0],\"query_tokens\":[5]%s}}"
    const char *extra[] = {"", ",\"temperature\":0"};
    for (int i = 0; i < 2; i++) {
        char text[512], err[KV_ERRLEN] = "";
        snprintf(text, sizeof text, TEMP_SPEC, extra[i]);
        spec *s = NULL;
        assert_int_equal(spec_parse(text, strlen(text), "t.json", &s, err), KV_OK);
        assert_int_equal(s->temperature_set, i == 1);
        spec_free(s);
    }
}

/* Feeds a fixture through a dialect reader in one piece. */
static void read_fixture(spec_api api, const char *rel, trial_request *out)
{
    size_t len = 0;
    char path[512], err0[KV_ERRLEN] = "", *text = NULL;
    snprintf(path, sizeof path, "tests/fixtures/wire/%s", rel);
    if (kv_read_file(path, &text, &len, err0) != KV_OK)
        fail_msg("%s", err0);
    dialect_reader *r = NULL;
    char err[KV_ERRLEN] = "";
    assert_int_equal(dialect_reader_new(api, 0, false, &r, err), KV_OK);
    assert_int_equal(dialect_reader_feed(r, text, len, 2000000, err), KV_OK);
    assert_int_equal(dialect_reader_finish(r, err), KV_OK);
    memset(out, 0, sizeof *out);
    assert_int_equal(dialect_reader_fill(r, 1000000, out, err), KV_OK);
    dialect_reader_free(r);
    free(text);
}

static void llamacpp_streams_should_read_from_the_captured_bytes(void **state)
{
    (void)state;
    trial_request q;
    read_fixture(SPEC_API_LLAMACPP, "llama.cpp/b1-80fb11a-np2/chat.sse", &q);
    assert_int_equal(q.prompt_tokens, 50);
    assert_int_equal(q.cached_tokens, 0);
    assert_int_equal(q.output_tokens, 2);
    assert_true(fabs(q.ttft_ms - 1.0) < 1e-9); /* fed 1 ms after the start */
    assert_true(q.server_prefill_ms > 0);
    free(q.raw);
    read_fixture(SPEC_API_OPENAI_COMPLETIONS, "llama.cpp/b1-80fb11a-np2/v1-completions.sse", &q);
    assert_int_equal(q.prompt_tokens, 7);
    assert_int_equal(q.cached_tokens, 6);
    assert_int_equal(q.output_tokens, 2);
    assert_true(fabs(q.server_prefill_ms - 10.345) < 1e-9);
    free(q.raw);
}

/* ---- client (items 7 and 8) -------------------------------------------- */

static void slot_erase_501_should_be_unsupported_with_the_servers_words(void **state)
{
    rp_fx *f = *state;
    char tname[] = "l";
    spec_target t = {.name = tname, .base_url = f->url, .api = SPEC_API_LLAMACPP};
    assert_int_equal(client_reset_cache(f->c, &t, SPEC_API_LLAMACPP, f->err), KV_ERR_UNSUPPORTED);
    assert_non_null(strstr(f->err, "HTTP 501"));
    assert_non_null(strstr(f->err, "--slot-save-path"));
}

static void slot_erase_should_hit_the_slot_the_request_used_not_slot_0(void **state)
{
    rp_fx *f = *state;
    char tname[] = "l";
    spec_target t = {.name = tname, .base_url = f->url, .api = SPEC_API_LLAMACPP};
    assert_int_equal(client_reset_cache(f->c, &t, SPEC_API_LLAMACPP, f->err), KV_OK);
    assert_int_equal(rp_count(f->r, "POST", "/slots/1"), 1); /* slot 1 held the prompt */
    assert_int_equal(rp_count(f->r, "POST", "/slots/0"), 0); /* slot 0 was idle */
}

static void lmstudio_http_200_errors_should_be_no_reset_and_no_tokenizer(void **state)
{
    rp_fx *f = *state;
    char tname[] = "lms", model[] = "m";
    spec_target t = {
        .name = tname, .base_url = f->url, .api = SPEC_API_OPENAI_CHAT, .model = model};
    assert_int_equal(client_reset_cache(f->c, &t, SPEC_API_OPENAI_CHAT, f->err),
                     KV_ERR_UNSUPPORTED);
    assert_non_null(
        strstr(f->err, "HTTP 200: Unexpected endpoint or method. (POST /reset_prefix_cache)"));
    long n = 0;
    assert_int_equal(client_tokenize(f->c, &t, SPEC_API_OPENAI_CHAT, "hello", &n, f->err),
                     KV_ERR_UNSUPPORTED);
}

/* ---- runner (items 7 and 9) -------------------------------------------- */

typedef struct wire_fake {
    client *c; /* the real client, for reset_cache */
    long sends;
    long extra;      /* tokens the usage adds to the content (template) */
    long bos;        /* tokens /tokenize adds (BOS, as vLLM and SGLang do) */
    long usages[64]; /* prompt_tokens reported, in send order */
} wire_fake;

static kv_status wf_send(void *ctx, const client_request *rq, trial_request *out, char **reply,
                         char *err)
{
    (void)err;
    wire_fake *f = ctx;
    f->sends++;
    int turn = out->turn;
    long prefix = out->prefix_tokens;
    memset(out, 0, sizeof *out);
    out->turn = turn;
    out->prefix_tokens = prefix;
    out->attempts = 1;
    long n = f->extra;
    for (size_t i = 0; i < rq->n_messages; i++)
        n += runnertest_text_tokens(rq->messages[i].content);
    out->ok = true;
    out->prompt_tokens = n;
    if (f->sends <= 64)
        f->usages[f->sends - 1] = n;
    out->cached_tokens = 0;
    out->output_tokens = 1;
    out->ttfb_ms = 0.1;
    out->ttft_ms = 0.5;
    out->first_content_ms = out->last_token_ms = 0.5;
    out->total_ms = 0.6;
    out->gap_median_ms = out->gap_p99_ms = NAN;
    out->server_prefill_ms = out->server_overhead_us = NAN;
    if (reply)
        *reply = strdup("ok");
    return KV_OK;
}

static kv_status wf_tokenize(void *ctx, const spec_target *t, spec_api api, const char *text,
                             long *n, char *err)
{
    (void)t;
    (void)api;
    (void)err;
    wire_fake *f = ctx;
    *n = runnertest_text_tokens(text) + f->bos;
    return KV_OK;
}

static kv_status wf_reset(void *ctx, const spec_target *t, spec_api api, char *err)
{
    (void)ctx;
    (void)t;
    (void)api;
    return kv_fail(err, KV_ERR_UNSUPPORTED, "no reset");
}

static spec *wire_spec(const char *url, const char *api, const char *modes)
{
    char text[1024], err[KV_ERRLEN] = "";
    snprintf(text, sizeof text,
             "{\"name\":\"wire\",\"seed\":5,\"targets\":[{\"name\":\"t\",\"base_url\":\"%s\","
             "\"api\":\"%s\"}],\"workload\":{\"system_prompt_tokens\":[0,64],"
             "\"query_tokens\":[5]},\"cache_modes\":%s,\"repetitions\":3,"
             "\"warmup_requests\":0}",
             url, api, modes);
    spec *s = NULL;
    if (spec_parse(text, strlen(text), "wire.json", &s, err) != KV_OK)
        fail_msg("spec: %s", err);
    return s;
}

static journal_data *wire_run(const spec *s, wire_fake *f, char *dir, size_t cap)
{
    runnertest_tmpdir(dir, cap, "wire");
    runner_io io = {f, wf_send, wf_tokenize, wf_reset, NULL, NULL, NULL};
    runner_options o;
    memset(&o, 0, sizeof o);
    o.out_dir = dir;
    o.io = &io;
    runner_summary sum;
    char err[KV_ERRLEN] = "";
    runner_clear_stop();
    if (runner_run(s, &o, &sum, err) != KV_OK)
        fail_msg("run: %s", err);
    assert_int_equal(sum.failed, 0);
    return runnertest_load(dir);
}

static void journaled_prompt_tokens_should_be_the_servers_usage_not_tokenize(void **state)
{
    (void)state;
    char dir[64];
    wire_fake f = {.extra = 3, .bos = 1};
    spec *s = wire_spec("http://127.0.0.1:9", "openai-chat", "[\"cold\",\"warm\"]");
    journal_data *d = wire_run(s, &f, dir, sizeof dir);
    long k = 0, differ = 0;
    for (size_t i = 0; i < d->n_trials; i++) {
        const trial_record *t = &d->trials[i];
        const trial_request *q = &t->turns[0];
        if (t->mode == SPEC_WARM)
            k++; /* the priming request */
        assert_true(k < f.sends && k < 64);
        /* The server's usage of the measured request, never the count the
         * synthesiser made with /tokenize (one more per text: BOS). */
        assert_int_equal(q->prompt_tokens, f.usages[k]);
        differ += q->prompt_tokens != t->system_prompt_tokens + t->query_tokens + 3;
        k++;
    }
    assert_int_equal(k, f.sends);
    assert_true(differ > 0); /* the counts did differ */
    journal_data_free(d);
    spec_free(s);
    runnertest_rmrf(dir);
}

/* A test run on the replay of FIXTURE, brought up and down around it. */
#define ON_REPLAY(TEST, FIXTURE)                                                                   \
    {                                                                                              \
#TEST, TEST, rp_setup, rp_teardown, &(rp_fx)                                               \
        {                                                                                          \
            .fixture = FIXTURE                                                                     \
        }                                                                                          \
    }

TU_MAIN(NULL, NULL, cmocka_unit_test(probe_should_name_mlx_lm_whose_models_have_no_owned_by),
        ON_REPLAY(probe_should_name_anthropic_without_api_and_check_its_cache_on_messages,
                  "anthropic/v1"),
        cmocka_unit_test(cache_minimum_should_follow_the_server_and_model),
        ON_REPLAY(probe_should_not_take_lmstudio_http_200_errors_for_sglang,
                  "lmstudio/unknown-endpoint"),
        ON_REPLAY(probe_command_should_say_not_run_when_the_generation_endpoint_404s, "openai/v1"),
        ON_REPLAY(cache_check_should_not_run_where_no_known_server_answered, "unknown/plain-404"),
        cmocka_unit_test(hosted_openai_should_get_max_completion_tokens_and_no_default_temperature),
        cmocka_unit_test(spec_should_record_whether_it_sets_a_temperature),
        cmocka_unit_test(llamacpp_streams_should_read_from_the_captured_bytes),
        ON_REPLAY(slot_erase_501_should_be_unsupported_with_the_servers_words,
                  "llama.cpp/b1-80fb11a-np2"),
        ON_REPLAY(slot_erase_should_hit_the_slot_the_request_used_not_slot_0,
                  "llama.cpp/b1-80fb11a-np2-slot-save-path"),
        ON_REPLAY(lmstudio_http_200_errors_should_be_no_reset_and_no_tokenizer,
                  "lmstudio/unknown-endpoint"),
        cmocka_unit_test(journaled_prompt_tokens_should_be_the_servers_usage_not_tokenize))
