/* test_wire.c - every golden wire fixture (tests/fixtures/wire/) replayed
 * byte for byte and measured through `kvproof run` and `kvproof probe`:
 * the journal must hold what the replayed server reported (prompt and
 * cached tokens, prefill time in its unit), every trial must finish, and no
 * cold trial may be served from the cache. Label "wire". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tests/wiretest.h"
#include "tests/testutil.h"

#define VLLM "tests/fixtures/wire/vllm/v0.11-prompt-tokens-details"
#define MLX "tests/fixtures/wire/mlx-lm/v0.32-http1.0-keepalive"
#define LMSTUDIO_V0 "tests/fixtures/wire/lmstudio/v0.3-no-stream-usage"
#define OLLAMA "tests/fixtures/wire/ollama/v0.3-done-reason-ns"
#define OLLAMA_033 "tests/fixtures/wire/ollama/v0.33-done-then-done-reason"
#define LMSTUDIO_V1 "tests/fixtures/wire/lmstudio/v0.4-api-v1-chat"
#define LLAMACPP "tests/fixtures/wire/llama.cpp/b7-timings-cache-n"
#define OPENAI "tests/fixtures/wire/openai/chat-usage-null-obfuscation"
#define SGLANG "tests/fixtures/wire/sglang/chat-cache-report"
#define ANTHROPIC_PING "tests/fixtures/wire/anthropic/sdk-basic-ping"
#define ANTHROPIC_CUMULATIVE "tests/fixtures/wire/anthropic/sdk-cumulative-message-delta"

static void vllm_cold_trials_should_journal_zero_cached_verified(void **state)
{
    (void)state;
    wire_read_spec(&(wire_both){VLLM, "auto", true, true, false, NULL}, WIRE_SPEC_WARMUP);
}

/* The prompt lengths were calibrated with non-streamed requests, and every
 * measured request still streamed. */
static void counted_unstreamed_measured_streamed(const wire_case *wc)
{
    size_t counted = 0, measured_streamed = 0, measured = 0;
    for (size_t i = 0; i < wc->n_log; i++) {
        const replay_entry *e = &wc->log[i];
        if (!e->generate)
            continue;
        counted += !e->stream && e->max_tokens == 1;
        measured += e->max_tokens == WIRE_MAX_OUT;
        measured_streamed += e->max_tokens == WIRE_MAX_OUT && e->stream;
    }
    assert_true(counted > 0);
    assert_true(measured > 0);
    assert_int_equal(measured_streamed, measured);
}

/* Cold trials flushed the radix cache (/reset_prefix_cache is 404 there). */
static void radix_cache_flushed(const wire_case *wc)
{
    size_t flushes = 0;
    for (size_t i = 0; i < wc->n_log; i++)
        flushes += strcmp(wc->log[i].path, "/flush_cache") == 0 && wc->log[i].status == 200;
    assert_true(flushes > 0);
}

typedef struct probe_case {
    const char *fixture;
    const char *server; /* NULL: not checked here */
    const char *dialect;
} probe_case;

static void probe_should_name_the_dialect_of_each_fixture_server(void **state)
{
    (void)state;
    const probe_case cases[] = {
        {VLLM, "vllm", "openai-chat"},
        {LMSTUDIO_V0, "lmstudio", "lmstudio"},
        {LMSTUDIO_V1, "lmstudio", "lmstudio-chat"},
        {OLLAMA, "ollama", "ollama"},
        {OLLAMA_033, "ollama", "ollama"},
        {LLAMACPP, "llama.cpp", "llama.cpp"},
        {OPENAI, "openai", "openai-chat"},
        {SGLANG, "sglang", "openai-chat"},
        /* The dialect is right; the server name ("mlx", not
         * "openai-compatible" for a model list without owned_by) is the
         * probe's detection work, asserted with it. */
        {MLX, NULL, "openai-chat"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        wire_probe_says(&(wire_probe_want){.fixture = cases[i].fixture,
                                           .extra = "--no-cache-check",
                                           .server = cases[i].server,
                                           .dialect = cases[i].dialect});
}

TU_MAIN(NULL, NULL, cmocka_unit_test(vllm_cold_trials_should_journal_zero_cached_verified),
        TU_CASE(vllm_probe_should_say_it_reports_cached_tokens, wire_probe_test, wire_probe_want,
                .fixture = VLLM, .extra = "", .server = "vllm", .dialect = "openai-chat",
                .tokenizes = true, .reports_cached = true, .cache_works = true),
        TU_CASE(mlx_http10_keepalive_stream_should_measure_every_trial, wire_both_test, wire_both,
                MLX, "auto", true, true, false, NULL),
        TU_CASE(lmstudio_stream_without_usage_should_complete_every_trial, wire_both_test,
                wire_both, LMSTUDIO_V0, "auto", false, false, false,
                counted_unstreamed_measured_streamed),
        TU_CASE(ollama_ndjson_should_journal_prefill_in_ms_and_no_cold_cache_hit, wire_both_test,
                wire_both, OLLAMA, "auto", true, false, true, NULL),
        TU_CASE(ollama_033_layout_should_read_the_same, wire_both_test, wire_both, OLLAMA_033,
                "auto", true, false, true, NULL),
        TU_CASE(lmstudio_api_v1_chat_should_record_the_server_ttft, wire_both_test, wire_both,
                LMSTUDIO_V1, "auto", true, false, true, NULL),
        TU_CASE(llamacpp_timings_should_verify_cold_and_warm_from_cache_n, wire_both_test,
                wire_both, LLAMACPP, "auto", true, true, true, NULL),
        TU_CASE(openai_usage_null_and_obfuscation_should_not_disturb_the_counts, wire_both_test,
                wire_both, OPENAI, "openai-chat", true, true, false, NULL),
        TU_CASE(sglang_null_prompt_tokens_details_should_mean_zero_cached, wire_both_test,
                wire_both, SGLANG, "auto", true, true, false, radix_cache_flushed),
        TU_CASE(anthropic_ping_should_not_be_the_first_token, wire_both_test, wire_both,
                ANTHROPIC_PING, "anthropic", true, true, false, NULL),
        TU_CASE(anthropic_cumulative_message_delta_usage_should_win, wire_both_test, wire_both,
                ANTHROPIC_CUMULATIVE, "anthropic", true, true, false, NULL),
        cmocka_unit_test(probe_should_name_the_dialect_of_each_fixture_server))
