/* test_wire_b.c - golden wire fixtures of issue 11 items 5 to 9 replayed
 * byte for byte (server/replay.h) and measured through `kvproof run` and
 * `kvproof probe`:
 *
 *  - llama-server b1-80fb11a with two slots and no --slot-save-path: its
 *    slot erase answers 501; kvproof must try it once, say so in the
 *    journal header, keep cold trials cold with cache_prompt:false, and
 *    journal the server's own counts and prompt_ms;
 *  - the openai-completions dialect against the same server's
 *    /v1/completions stream, and the llama.cpp-completion dialect against its
 *    native /completion stream (no [DONE]; id_slot on the last chunk);
 *  - SGLang's native /generate (sglang-generate: cumulative text,
 *    meta_info.cached_tokens always reported, e2e_latency kept; /flush_cache
 *    as its reset) and its probe;
 *  - mlx_lm.server: named "mlx" by `kvproof probe`, not "openai-compatible".
 * Label "wire". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/wiretest.h"
#include "tests/testutil.h"

#define LLAMA "tests/fixtures/wire/llama.cpp/b1-80fb11a-np2"
#define MLX "tests/fixtures/wire/mlx-lm/server-py"
#define SGLANG "tests/fixtures/wire/sglang/generate-native"
#define OPENAI "tests/fixtures/wire/openai/chat-usage-null-obfuscation"
#define OPENAI_REASONING "tests/fixtures/wire/openai/reasoning-rejects-max-tokens"

static size_t count_requests(const wire_case *wc, const char *method, const char *prefix)
{
    size_t n = 0;
    for (size_t i = 0; i < wc->n_log; i++)
        n += strcmp(wc->log[i].method, method) == 0 &&
             strncmp(wc->log[i].path, prefix, strlen(prefix)) == 0;
    return n;
}

/* One erase (HTTP 501) for the target, not one before every cold trial. */
static void slot_erase_tried_once(const wire_case *wc)
{
    assert_int_equal(count_requests(wc, "POST", "/slots/"), 1);
    const journal_target_meta *m = &wc->jd->header.targets[0];
    assert_string_equal(m->dialect, "llama.cpp");
    assert_non_null(m->cold_method);
    assert_non_null(strstr(m->cold_method, "cache_prompt:false"));
    assert_non_null(strstr(m->cold_method, "slot erase unsupported"));
    assert_non_null(strstr(m->cold_method, "HTTP 501"));
}

/* /v1/completions measured, no chat request. */
static void v1_completions_used(const wire_case *wc)
{
    assert_int_equal(count_requests(wc, "POST", "/v1/chat/completions"), 0);
    assert_true(count_requests(wc, "POST", "/v1/completions") > 0);
}

static void openai_completions_should_measure_llamacpp_v1_completions(void **state)
{
    (void)state;
    wire_read_spec(&(wire_both){LLAMA, "openai-completions", true, true, true, v1_completions_used},
                   WIRE_SPEC_WARMUP);
}

/* Every measured turn's raw server fields hold `key` (a kept upstream field). */
static void check_raw_has(const wire_case *wc, const char *key)
{
    for (size_t i = 0; i < wc->jd->n_trials; i++)
        for (size_t q = 0; q < wc->jd->trials[i].n_turns; q++) {
            const char *raw = wc->jd->trials[i].turns[q].raw;
            if (!raw || !strstr(raw, key))
                fail_msg("%s: %s turn %zu: raw has no %s: %s", wc->fixture, wc->jd->trials[i].id,
                         q + 1, key, raw ? raw : "(null)");
        }
}

/* llama.cpp's own /completion: its slot id kept, no chat request, one
 * slot erase. */
static void native_completion_used(const wire_case *wc)
{
    check_raw_has(wc, "\"id_slot\":1");
    assert_int_equal(count_requests(wc, "POST", "/v1/chat/completions"), 0);
    assert_int_equal(count_requests(wc, "POST", "/slots/"), 1);
}

/* SGLang's /generate: its latency kept, and its cache reset works. */
static void sglang_generate_used(const wire_case *wc)
{
    check_raw_has(wc, "\"e2e_latency\":0.02");
    assert_true(count_requests(wc, "POST", "/flush_cache") > 0); /* its reset works */
    assert_string_equal(wc->jd->header.targets[0].cold_method, "cache reset + nonce");
}

/* OpenAI caches only prompts of 1,024 tokens or more (the replay's
 * cache_min): the probe's cache check must be longer, or it reports a
 * working cache as broken. */
static void cache_check_prefix_of_1024_or_more(const cJSON *j)
{
    const cJSON *cc = cJSON_GetObjectItemCaseSensitive(j, "cache_check");
    const cJSON *px = cJSON_GetObjectItemCaseSensitive(cc, "prefix_tokens");
    assert_true(cJSON_IsNumber(px) && px->valuedouble >= 1024);
}

/* OpenAI's reasoning models answer 400 to max_tokens and to a temperature
 * other than their default: a spec that sets no temperature must measure
 * every trial (max_completion_tokens, no temperature). */
static void no_request_refused(const wire_case *wc)
{
    for (size_t i = 0; i < wc->n_log; i++)
        assert_int_not_equal(wc->log[i].status, 400);
}

/* `kvproof probe` names the right server and dialect for every fixture
 * server (issue 11's acceptance), without sending generation requests. */
static void probe_should_name_every_fixture_server(void **state)
{
    (void)state;
    static const struct {
        const char *dir, *server, *dialect;
    } cases[] = {
        {LLAMA, "llama.cpp", "llama.cpp"},
        {SGLANG, "sglang", "openai-chat"},
        {"tests/fixtures/wire/sglang/chat-cache-report", "sglang", "openai-chat"},
        {MLX, "mlx", "openai-chat"},
        {"tests/fixtures/wire/mlx-lm/v0.32-http1.0-keepalive", "mlx", "openai-chat"},
        {"tests/fixtures/wire/vllm/v0.11-prompt-tokens-details", "vllm", "openai-chat"},
        {"tests/fixtures/wire/ollama/v0.3-done-reason-ns", "ollama", "ollama"},
        {"tests/fixtures/wire/lmstudio/v0.3-no-stream-usage", "lmstudio", "lmstudio"},
        {"tests/fixtures/wire/lmstudio/v0.4-api-v1-chat", "lmstudio", "lmstudio-chat"},
        {"tests/fixtures/wire/llama.cpp/b7-timings-cache-n", "llama.cpp", "llama.cpp"},
        {OPENAI, "openai", "openai-chat"},
        {OPENAI_REASONING, "openai", "openai-chat"},
        {"tests/fixtures/wire/anthropic/sdk-basic-ping", "anthropic", "anthropic"},
        {"tests/fixtures/wire/anthropic/sdk-cumulative-message-delta", "anthropic", "anthropic"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        wire_probe_says(&(wire_probe_want){.fixture = cases[i].dir,
                                           .extra = "--no-cache-check",
                                           .server = cases[i].server,
                                           .dialect = cases[i].dialect});
}

TU_MAIN(NULL, NULL,
        TU_CASE(llamacpp_501_slot_erase_should_be_tried_once_and_journaled, wire_both_test,
                wire_both, LLAMA, "auto", true, true, true, slot_erase_tried_once),
        cmocka_unit_test(openai_completions_should_measure_llamacpp_v1_completions),
        TU_CASE(llamacpp_native_completion_should_be_measured_through_run, wire_both_test,
                wire_both, LLAMA, "llama.cpp-completion", true, true, true, native_completion_used),
        TU_CASE(sglang_generate_should_report_cached_tokens_through_run, wire_both_test, wire_both,
                SGLANG, "sglang-generate", true, true, false, sglang_generate_used),
        TU_CASE(sglang_probe_should_name_sglang, wire_probe_test, wire_probe_want,
                .fixture = SGLANG, .extra = "--no-cache-check", .server = "sglang",
                .tokenizes = true),
        TU_CASE(mlx_probe_should_name_mlx_not_openai_compatible, wire_probe_test, wire_probe_want,
                .fixture = MLX, .extra = "--no-cache-check", .server = "mlx",
                .dialect = "openai-chat", .model = "mlx-community/Qwen3-0.6B-4bit"),
        TU_CASE(openai_reasoning_model_should_get_max_completion_tokens_and_no_temperature,
                wire_both_test, wire_both, OPENAI_REASONING, "auto", true, true, false,
                no_request_refused),
        cmocka_unit_test(probe_should_name_every_fixture_server),
        TU_CASE(probe_cache_check_should_exceed_openais_caching_minimum, wire_probe_test,
                wire_probe_want, .fixture = OPENAI, .extra = "", .server = "openai",
                .reports_cached = true, .cache_works = true,
                .also = cache_check_prefix_of_1024_or_more))
