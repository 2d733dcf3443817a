/* plan.h - the trial plan: a spec expanded into cells x repetitions plus
 * warm-up trials, in a seeded random (or blocked) order that is the same on
 * every machine for the same seed.
 *
 * A trial is one session: query_count requests (turns) in one conversation.
 * A warm trial first sends one priming request (not measured) so the prefix
 * is cached, then measures every turn. A cold trial makes every turn
 * unable to reuse the prefix.
 *
 * Ownership: plan_build returns a plan released with plan_free.
 */
#ifndef KV_PLAN_H
#define KV_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "experiments/spec.h"

typedef enum plan_kind {
    PLAN_WARMUP = 0, /* discarded request(s) before measuring a target */
    PLAN_MEASURE,    /* a measured trial */
    PLAN_CONTENTION  /* one request of the contention plan (experiments/contention.h);
                        never in plan.trials, only in journals */
} plan_kind;

#define PLAN_ID_LEN 96

typedef struct plan_trial {
    size_t index;         /* position in run order, 0-based */
    char id[PLAN_ID_LEN]; /* stable id, independent of order and seed:
                             "<target>/s<sys>/q<query>/n<count>/<mode>/r<rep>"
                             or "<target>/warmup/<k>" */
    plan_kind kind;
    size_t target; /* index into spec->targets */
    size_t cell;   /* cell index (target x sys x query x count x mode, in spec list
                      order); a warm-up trial carries its target's first cell */
    long system_prompt_tokens;
    long query_tokens;
    long query_count; /* turns in this session, >= 1 */
    spec_cache_mode mode;
    long repetition; /* 0-based */
    uint64_t nonce;  /* per-trial value for prompt synthesis */
    long requests;   /* HTTP requests this trial makes (turns + priming) */
} plan_trial;

typedef struct plan {
    uint64_t seed; /* the seed the order was drawn with */
    plan_trial *trials;
    size_t n_trials; /* including warm-up trials */
    size_t n_measured;
    size_t n_cells;
    long long n_requests;        /* every HTTP request, priming and warm-up included */
    long long prompt_tokens;     /* tokens the server must prefill if nothing is cached
                                    (nominal; the runner records actual counts) */
    long long new_prompt_tokens; /* nominal tokens to prefill when warm prefixes hit */
} plan;

/* Builds the plan, shuffled with `seed` (callers pass spec->seed unless the
 * user gave --seed). */
kv_status plan_build(const spec *s, uint64_t seed, plan **out, char *err) KV_MUST_USE;
void plan_free(plan *p);

/* Nominal prompt tokens of one trial: if nothing is cached (*all) and when
 * warm prefixes hit (*fresh). Turn t (1-based) sends
 * sys + t*query + (t-1)*max_output tokens; a priming request sys + query. */
void plan_trial_tokens(const spec *s, const plan_trial *t, long long *all, long long *fresh);

/* The plan as JSON (seed, counts, trials); *out is malloc'd. */
kv_status plan_to_json(const spec *s, const plan *p, char **out) KV_MUST_USE;

/* Portable seeded PRNG (xoshiro256** seeded through splitmix64): the same
 * stream on every machine. */
typedef struct plan_rng {
    uint64_t s[4];
} plan_rng;
void plan_rng_seed(plan_rng *r, uint64_t seed);
uint64_t plan_rng_next(plan_rng *r);
/* Uniform integer in [0, n), n >= 1, without modulo bias. */
uint64_t plan_rng_below(plan_rng *r, uint64_t n);

#endif
