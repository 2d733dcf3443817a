/* trial.h - what one finished trial measured: the record the runner fills,
 * the journal stores (one JSON line per trial) and the statistics read.
 *
 * All times are milliseconds relative to the start of that request
 * (CLOCK_MONOTONIC), NAN when the event did not happen or the server did not
 * report it. Token counts are -1 when unknown.
 *
 * Ownership: a trial_record owns its `turns` array; trial_record_clear frees
 * it and leaves the record empty.
 */
#ifndef KV_TRIAL_H
#define KV_TRIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "experiments/plan.h"

typedef enum trial_cache_state {
    TRIAL_CACHE_UNKNOWN = 0, /* not checked (failed request, warm-up) */
    TRIAL_CACHE_VERIFIED,    /* the server's cached-token count confirms the mode */
    TRIAL_CACHE_INFERRED,    /* the server reports no cached count: mode assumed */
    TRIAL_CACHE_CONTAMINATED /* cold with cached > 0, or warm with cached < 90% of prefix */
} trial_cache_state;

#define TRIAL_REASON_LEN 256

typedef struct trial_request {
    int turn;                     /* 1-based turn within the session */
    int attempts;                 /* HTTP attempts made (1 = no retry) */
    bool ok;                      /* a complete reply was received */
    char error[TRIAL_REASON_LEN]; /* why not ok (no secrets); "" when ok */
    int http_status;              /* last HTTP status, 0 if none */

    long prompt_tokens; /* actual prompt tokens of this request: the x of every
                           regression (server-reported, else tokenized) */
    long cached_tokens; /* prompt tokens the server reused; -1 not reported */
    long prefix_tokens; /* tokens of the shared prefix a warm request should reuse */
    long output_tokens; /* tokens generated */
    trial_cache_state cache_state;

    double ttfb_ms;          /* first response byte (headers count) */
    double ttft_ms;          /* first token: first non-empty content, reasoning or
                                tool-call delta; never role-only/usage/progress */
    double first_content_ms; /* first non-empty content delta (NAN if none) */
    double last_token_ms;    /* last token delta */
    double total_ms;         /* end of the reply */
    double gap_median_ms;    /* median inter-token gap */
    double gap_p99_ms;       /* 99th percentile inter-token gap */

    double server_prefill_ms;  /* server-reported prefill (llama.cpp timings.prompt_ms,
                                  Ollama prompt_eval_duration/1e6, ...); NAN if none */
    double server_overhead_us; /* client receive time of the first token chunk minus the
                                  server's own send stamp (reference server only) */
    char *raw;                 /* server's timing/usage fields as compact JSON, or NULL */
} trial_request;

typedef struct trial_record {
    size_t plan_index;    /* plan_trial.index */
    char id[PLAN_ID_LEN]; /* plan_trial.id */
    plan_kind kind;
    size_t target; /* index into spec->targets */
    char target_name[128];
    size_t cell;
    long system_prompt_tokens; /* nominal (requested) lengths */
    long query_tokens;
    long query_count;
    spec_cache_mode mode;
    long repetition;
    size_t run_position; /* order in which trials actually ran (0-based) */
    double started_unix; /* wall-clock start, seconds since the epoch */

    bool ok;                      /* every turn ok */
    char error[TRIAL_REASON_LEN]; /* first failure reason */
    bool contaminated;            /* any turn contaminated */
    trial_request *turns;         /* query_count entries */
    size_t n_turns;
} trial_record;

void trial_record_clear(trial_record *t);

#endif
