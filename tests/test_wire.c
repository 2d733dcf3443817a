/* test_wire.c - every golden wire fixture (tests/fixtures/wire/) replayed
 * byte for byte and measured through `kvproof run` and `kvproof probe`:
 * the journal must hold what the replayed server reported (prompt and
 * cached tokens, prefill time in its unit), every trial must finish, and no
 * cold trial may be served from the cache. Label "wire". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/wiretest.h"

#define VLLM "tests/fixtures/wire/vllm/v0.11-prompt-tokens-details"

static void vllm_cold_trials_should_journal_zero_cached_verified(void **state)
{
    (void)state;
    wire_case wc;
    wire_case_init(&wc, VLLM, "auto");
    wire_run_spec(&wc, WIRE_SPEC_WARMUP);
    wire_check_common(&wc);
    wire_check_counts(&wc, true);
    wire_case_free(&wc);
}

static void vllm_probe_should_say_it_reports_cached_tokens(void **state)
{
    (void)state;
    wire_case wc;
    wire_case_init(&wc, VLLM, "auto");
    int code = -1;
    cJSON *j = wire_probe(&wc, "", &code);
    assert_int_equal(code, 0);
    assert_string_equal(wire_jstr(j, "server", NULL), "vllm");
    assert_string_equal(wire_jstr(j, "dialect", NULL), "openai-chat");
    assert_true(wire_jtrue(j, "tokenizes", NULL));
    assert_true(wire_jtrue(j, "cache_check", "reports_cached"));
    assert_true(wire_jtrue(j, "cache_check", "cache_works"));
    cJSON_Delete(j);
    wire_case_free(&wc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(vllm_cold_trials_should_journal_zero_cached_verified),
        cmocka_unit_test(vllm_probe_should_say_it_reports_cached_tokens),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
