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

/* A contention request's hit class (docs/journal.md, "Contention fields"). */
typedef enum trial_hit {
    TRIAL_HIT_NONE = 0,      /* not classified (failed, or not a contention request) */
    TRIAL_HIT_FULL,          /* cached >= 90% of the agent's prefix; the slot held it,
                                or the server does not say what its slots held */
    TRIAL_HIT_PARTIAL,       /* some of the prefix cached, less than 90% */
    TRIAL_HIT_MISS,          /* nothing of the prefix beyond the shared template */
    TRIAL_HIT_RESTORED,      /* a full hit although the slot held another agent's prefix
                                (a host-RAM tier brought it back) */
    TRIAL_HIT_INFERRED_HIT,  /* no cached count: TTFT below the threshold */
    TRIAL_HIT_INFERRED_MISS, /* no cached count: TTFT at or above the threshold */
    TRIAL_HIT_COUNT
} trial_hit;

/* What the server showed its slot held before a contention request. */
typedef enum trial_slot_held {
    TRIAL_SLOT_UNKNOWN = 0, /* the server shows no slots (or none was asked) */
    TRIAL_SLOT_OWN,         /* a slot held this agent's prefix */
    TRIAL_SLOT_OTHER        /* no slot held it: they held other agents' prefixes */
} trial_slot_held;

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

    /* Contention requests only (in_contention; all zero otherwise). */
    bool in_contention;
    long agent;          /* 0-based agent id (0 = the main agent) */
    long agent_position; /* 0-based position in that agent's history */
    trial_slot_held slot_held;
    trial_hit hit;
    bool after_resume; /* the agent's previous request was journaled by an earlier run
                          (before --resume): its hit class says nothing of contention */
} trial_request;

/* The hit class of a contention request: prefix_tokens is the agent's
 * prefix, cached_tokens the server's count (-1 = none reported: then ttft_ms
 * against ttft_threshold_ms decides, labelled inferred; NAN threshold or
 * TTFT gives TRIAL_HIT_NONE). Template tokens every agent shares (up to
 * CACHECHECK_COLD_SLACK-like slack) count as a miss: cached <= slack. */
trial_hit trial_hit_classify(long prefix_tokens, long cached_tokens, long slack,
                             trial_slot_held held, double ttft_ms, double ttft_threshold_ms);
const char *trial_hit_name(trial_hit h);
/* "unknown", "own", "other". */
const char *trial_slot_held_name(trial_slot_held h);

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

/* A request with nothing known yet: all zero but `turn`, every token count
 * -1, cache_state unknown, every time NAN (attempts 0, error ""). */
void trial_request_init(trial_request *q, int turn);

#endif
