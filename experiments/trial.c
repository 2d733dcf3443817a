/* trial.c - trial record lifetime, a request's unknown defaults, and the
 * hit class of a contention request. */
#include "experiments/trial.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void trial_record_clear(trial_record *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n_turns; i++)
        free(t->turns[i].raw);
    free(t->turns);
    memset(t, 0, sizeof *t);
}

void trial_request_init(trial_request *q, int turn)
{
    memset(q, 0, sizeof *q);
    q->turn = turn;
    q->prompt_tokens = q->cached_tokens = q->prefix_tokens = q->output_tokens = -1;
    q->cache_state = TRIAL_CACHE_UNKNOWN;
    q->ttfb_ms = q->ttft_ms = q->first_content_ms = q->last_token_ms = q->total_ms = NAN;
    q->gap_median_ms = q->gap_p99_ms = q->server_prefill_ms = q->server_overhead_us = NAN;
}

static const char *const hit_names[] = {"none",     "full",         "partial",      "miss",
                                        "restored", "inferred_hit", "inferred_miss"};
static const char *const held_names[] = {"unknown", "own", "other"};

const char *trial_hit_name(trial_hit h)
{
    return (unsigned)h < TRIAL_HIT_COUNT ? hit_names[h] : "none";
}

const char *trial_slot_held_name(trial_slot_held h)
{
    return (unsigned)h <= TRIAL_SLOT_OTHER ? held_names[h] : "unknown";
}

trial_hit trial_hit_classify(long prefix_tokens, long cached_tokens, long slack,
                             trial_slot_held held, double ttft_ms, double ttft_threshold_ms)
{
    if (cached_tokens < 0) {
        if (isnan(ttft_ms) || isnan(ttft_threshold_ms))
            return TRIAL_HIT_NONE;
        return ttft_ms < ttft_threshold_ms ? TRIAL_HIT_INFERRED_HIT : TRIAL_HIT_INFERRED_MISS;
    }
    if (prefix_tokens <= 0 || cached_tokens <= slack)
        return TRIAL_HIT_MISS;
    if ((double)cached_tokens < 0.9 * (double)prefix_tokens)
        return TRIAL_HIT_PARTIAL;
    return held == TRIAL_SLOT_OTHER ? TRIAL_HIT_RESTORED : TRIAL_HIT_FULL;
}
