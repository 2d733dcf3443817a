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

#include <cjson/cJSON.h>
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

/* The journal id of request q: "<target>/contention/k<K>/s<sys>/i<index>"
 * (docs/journal.md, "Contention requests"); cap >= PLAN_ID_LEN. */
void contention_req_id(const spec *s, const contention_plan *p, const contention_req *q, char *out,
                       size_t cap);

/* After a request (one at a time): the largest `id_task` a slot of a GET
 * /slots reply shows, i.e. the slot that served the request just finished;
 * its kvproof_prefix_id (reference server) goes to prefix_id ("" when the
 * slot shows none). -1 when no slot shows a task. */
long contention_slot_last_task(const char *body, char prefix_id[17]);

/* What a GET /slots reply says of an agent's prefix before its request: by
 * the prefix id learnt after the agent's last request (contention_slot_held)
 * when there is one, else by the task: TRIAL_SLOT_OWN when a slot's id_task
 * is still own_task (the slot that served the agent last has served nobody
 * since, so it holds its prefix: llama.cpp shows no prompt text), OTHER when
 * slots were shown and none did (own_task < 0: the agent was never served),
 * UNKNOWN when body is no array of slots. */
trial_slot_held contention_slot_held_by(const char *body, const char *prefix_id, long own_task);

/* The plan as a JSON object: counts, groups, requests (kvproof plan
 * --format json); NULL when out of memory. The caller deletes it. */
cJSON *contention_to_json(const spec *s, const contention_plan *p);

#endif
