/* test_trial.c - experiments/trial.c: a request's unknown defaults and the
 * record's lifetime (the hit classes are tested in test_contention.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "experiments/trial.h"
#include "tests/testutil.h"

static void request_init_should_leave_every_count_unknown_and_every_time_nan(void **state)
{
    (void)state;
    trial_request q;
    memset(&q, 0x5a, sizeof q);
    trial_request_init(&q, 3);
    assert_int_equal(q.turn, 3);
    assert_int_equal(q.attempts, 0);
    assert_false(q.ok);
    assert_string_equal(q.error, "");
    assert_int_equal(q.http_status, 0);
    assert_int_equal(q.prompt_tokens, -1);
    assert_int_equal(q.cached_tokens, -1);
    assert_int_equal(q.prefix_tokens, -1);
    assert_int_equal(q.output_tokens, -1);
    assert_int_equal(q.cache_state, TRIAL_CACHE_UNKNOWN);
    const double times[] = {q.ttfb_ms,       q.ttft_ms,           q.first_content_ms,
                            q.last_token_ms, q.total_ms,          q.gap_median_ms,
                            q.gap_p99_ms,    q.server_prefill_ms, q.server_overhead_us};
    for (size_t i = 0; i < sizeof times / sizeof *times; i++)
        assert_true(isnan(times[i]));
    assert_null(q.raw);
    assert_false(q.in_contention);
    assert_int_equal(q.hit, TRIAL_HIT_NONE);
    assert_int_equal(q.slot_held, TRIAL_SLOT_UNKNOWN);
}

static void record_clear_should_free_the_turns_and_empty_the_record(void **state)
{
    (void)state;
    trial_record t;
    memset(&t, 0, sizeof t);
    t.n_turns = 2;
    t.turns = calloc(2, sizeof *t.turns);
    assert_non_null(t.turns);
    trial_request_init(&t.turns[0], 1);
    trial_request_init(&t.turns[1], 2);
    t.turns[1].raw = malloc(8);
    t.ok = true;
    trial_record_clear(&t);
    assert_null(t.turns);
    assert_int_equal(t.n_turns, 0);
    assert_false(t.ok);
    trial_record_clear(NULL);
}

TU_MAIN(NULL, NULL,
        cmocka_unit_test(request_init_should_leave_every_count_unknown_and_every_time_nan),
        cmocka_unit_test(record_clear_should_free_the_turns_and_empty_the_record))
