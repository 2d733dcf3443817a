/* contention.h - the contention plan: a spec's contention block expanded
 * into groups (target x agent count x system prompt length), each an
 * ordered list of requests tagged with their agent and the request's
 * position in that agent's history. Deterministic per seed.
 *
 * Every group gets its own agents' system prompts (agent_nonce differs per
 * target, agent count, length and agent), so one group's cache contents
 * never warm the next. The first request of each agent is cold by
 * construction; a group's hit rate counts positions >= 1.
 *
 * Ownership: contention_build returns a plan released with contention_free.
 */
#ifndef KV_CONTENTION_H
#define KV_CONTENTION_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "experiments/spec.h"
#include "experiments/trial.h"

typedef struct contention_req {
    size_t group;         /* index into plan->groups */
    size_t index;         /* position in the group's order, 0-based */
    long agent;           /* 0-based; main_with_subagents: 0 = the main agent */
    long position;        /* 0-based position in that agent's history */
    uint64_t agent_nonce; /* synthesises the agent's system prompt */
    uint64_t nonce;       /* synthesises this request's query */
} contention_req;

typedef struct contention_group {
    size_t target;             /* index into spec->targets */
    long agents;               /* distinct system prompts */
    long system_prompt_tokens; /* each agent's system prompt length */
    long query_tokens;         /* the workload's first query length */
    size_t first, n;           /* its requests: reqs[first .. first + n) */
} contention_group;

typedef struct contention_plan {
    contention_group *groups;
    size_t n_groups;
    contention_req *reqs;
    size_t n_reqs;
    long long prompt_tokens;     /* nominal tokens to prefill if nothing is cached */
    long long new_prompt_tokens; /* ... when every agent's prefix stays cached
                                    (only each agent's first request is cold) */
} contention_plan;

/* Builds the plan of s->contention (an empty plan when the spec has none). */
kv_status contention_build(const spec *s, uint64_t seed, contention_plan **out,
                           char *err) KV_MUST_USE;
void contention_free(contention_plan *p);

/* What a llama.cpp-style GET /slots reply (body, an array of slots) says
 * about an agent's prefix before its request: TRIAL_SLOT_OWN when a slot's
 * kvproof_prefix_id equals prefix_id (the reference server; "" or NULL =
 * not known yet) or a slot's `prompt` text contains text_head (llama.cpp;
 * NULL = none); TRIAL_SLOT_OTHER when slots were shown and none held it;
 * TRIAL_SLOT_UNKNOWN when body is no such array, or no slot says what it
 * holds. */
trial_slot_held contention_slot_held(const char *body, const char *prefix_id,
                                     const char *text_head);

#endif
