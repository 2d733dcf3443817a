/* contention.c - expands a spec's contention block into ordered requests:
 * the pattern's agent order per group, positions in each agent's history,
 * nonces, and the nominal token cost. */
#include "experiments/contention.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "experiments/jsonadd.h"
#include "experiments/plan.h"

/* ---- one group's agent order ---- */

static void shuffle(long *v, size_t n, plan_rng *r)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)plan_rng_below(r, i);
        long t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}

/* main_with_subagents: the main agent gets round(share x total) requests
 * (at least one, and all when it is alone), the subagents the rest as
 * evenly as possible (lower ids first). */
static void fill_main(long *v, size_t total, long k, double share)
{
    size_t main_n = k == 1 ? total : (size_t)llround(share * (double)total);
    if (main_n < 1)
        main_n = 1;
    if (k > 1 && main_n >= total)
        main_n = total - 1;
    size_t i = 0;
    for (; i < main_n; i++)
        v[i] = 0;
    for (size_t j = 0; i < total; i++, j++)
        v[i] = 1 + (long)(j % (size_t)(k - 1));
}

static void group_order(const spec_contention *c, long k, plan_rng *r, long *v, size_t total)
{
    switch (c->pattern) {
    case SPEC_PATTERN_TRACE:
        memcpy(v, c->trace_ids, total * sizeof *v);
        return;
    case SPEC_PATTERN_MAIN_WITH_SUBAGENTS:
        fill_main(v, total, k, c->main_share);
        shuffle(v, total, r);
        return;
    case SPEC_PATTERN_RANDOM:
    case SPEC_PATTERN_ROUND_ROBIN:
    default:
        for (size_t i = 0; i < total; i++)
            v[i] = (long)(i % (size_t)k);
        if (c->pattern == SPEC_PATTERN_RANDOM)
            shuffle(v, total, r);
        return;
    }
}

static size_t group_size(const spec_contention *c, long k)
{
    return c->pattern == SPEC_PATTERN_TRACE ? c->n_trace : (size_t)(k * c->requests_per_agent);
}

/* ---- the plan ---- */

static uint64_t mix(uint64_t seed, uint64_t a, uint64_t b, uint64_t c, uint64_t d)
{
    uint64_t v[5] = {seed, a, b, c, d};
    return kv_hash64(v, sizeof v, 0x6b76636f6e74ULL);
}

static kv_status add_group(const spec *s, uint64_t seed, contention_plan *p, size_t target, long k,
                           long sys)
{
    const spec_contention *c = &s->contention;
    size_t total = group_size(c, k), g = p->n_groups++;
    contention_group *grp = &p->groups[g];
    *grp = (contention_group){target, k, sys, s->query_tokens[0], p->n_reqs, total};
    long *order = malloc((total ? total : 1) * sizeof *order);
    long *seen = calloc((size_t)k, sizeof *seen);
    if (!order || !seen) {
        free(order);
        free(seen);
        return KV_ERR_NOMEM;
    }
    plan_rng r;
    plan_rng_seed(&r, mix(seed, target, (uint64_t)k, (uint64_t)sys, 1));
    group_order(c, k, &r, order, total);
    for (size_t i = 0; i < total; i++) {
        long a = order[i];
        contention_req *q = &p->reqs[p->n_reqs++];
        *q = (contention_req){g,
                              i,
                              a,
                              seen[a]++,
                              mix(seed, target, (uint64_t)k, (uint64_t)sys, 100 + (uint64_t)a),
                              mix(seed, target, (uint64_t)k, (uint64_t)sys, 1u << 20 | i)};
        long long all = sys + grp->query_tokens;
        p->prompt_tokens += all;
        p->new_prompt_tokens += q->position == 0 ? all : grp->query_tokens;
    }
    free(order);
    free(seen);
    return KV_OK;
}

static kv_status build_groups(const spec *s, uint64_t seed, contention_plan *p)
{
    const spec_contention *c = &s->contention;
    size_t n_groups = s->n_targets * c->n_agents * s->n_system_prompt_tokens, n_reqs = 0;
    for (size_t i = 0; i < c->n_agents; i++)
        n_reqs += group_size(c, c->agents[i]) * s->n_targets * s->n_system_prompt_tokens;
    p->groups = calloc(n_groups ? n_groups : 1, sizeof *p->groups);
    p->reqs = calloc(n_reqs ? n_reqs : 1, sizeof *p->reqs);
    if (!p->groups || !p->reqs)
        return KV_ERR_NOMEM;
    for (size_t t = 0; t < s->n_targets; t++)
        for (size_t a = 0; a < c->n_agents; a++)
            for (size_t l = 0; l < s->n_system_prompt_tokens; l++) {
                kv_status st = add_group(s, seed, p, t, c->agents[a], s->system_prompt_tokens[l]);
                if (st != KV_OK)
                    return st;
            }
    return KV_OK;
}

kv_status contention_build(const spec *s, uint64_t seed, contention_plan **out, char *err)
{
    *out = NULL;
    contention_plan *p = calloc(1, sizeof *p);
    if (!p)
        return kv_fail(err, KV_ERR_NOMEM, "out of memory");
    if (s->contention.enabled && s->n_query_tokens > 0) {
        kv_status st = build_groups(s, seed, p);
        if (st != KV_OK) {
            contention_free(p);
            return kv_fail(err, st, "out of memory building the contention plan");
        }
    }
    *out = p;
    return KV_OK;
}

void contention_free(contention_plan *p)
{
    if (!p)
        return;
    free(p->groups);
    free(p->reqs);
    free(p);
}

/* ---- what the slots held ---- */

/* 1 = holds it, 0 = says what it holds and it is not it, -1 = says nothing. */
static int slot_holds(const cJSON *slot, const char *prefix_id, const char *text_head)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(slot, "kvproof_prefix_id");
    const cJSON *prompt = cJSON_GetObjectItemCaseSensitive(slot, "prompt");
    int said = -1;
    if (cJSON_IsString(id)) {
        said = 0;
        if (prefix_id && prefix_id[0] && strcmp(id->valuestring, prefix_id) == 0)
            return 1;
    }
    if (cJSON_IsString(prompt)) {
        said = 0;
        if (text_head && text_head[0] && strstr(prompt->valuestring, text_head))
            return 1;
    }
    return said;
}

trial_slot_held contention_slot_held(const char *body, const char *prefix_id, const char *text_head)
{
    cJSON *a = body ? cJSON_Parse(body) : NULL;
    trial_slot_held out = TRIAL_SLOT_UNKNOWN;
    const cJSON *slot;
    if (cJSON_IsArray(a)) {
        cJSON_ArrayForEach(slot, a)
        {
            int h = slot_holds(slot, prefix_id, text_head);
            if (h == 1) {
                out = TRIAL_SLOT_OWN;
                break;
            }
            if (h == 0)
                out = TRIAL_SLOT_OTHER;
        }
    }
    cJSON_Delete(a);
    return out;
}

/* ---- which slot served, by task ---- */

static long slot_task(const cJSON *slot)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(slot, "id_task");
    return cJSON_IsNumber(t) && t->valuedouble >= 0 && t->valuedouble < 1e15 ? (long)t->valuedouble
                                                                             : -1;
}

long contention_slot_last_task(const char *body, char prefix_id[17])
{
    cJSON *a = body ? cJSON_Parse(body) : NULL;
    long best = -1;
    const cJSON *slot;
    prefix_id[0] = '\0';
    if (cJSON_IsArray(a)) {
        cJSON_ArrayForEach(slot, a)
        {
            long t = slot_task(slot);
            if (t <= best)
                continue;
            best = t;
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(slot, "kvproof_prefix_id");
            prefix_id[0] = '\0';
            if (cJSON_IsString(id) && strlen(id->valuestring) < 17)
                snprintf(prefix_id, 17, "%s", id->valuestring);
        }
    }
    cJSON_Delete(a);
    return best;
}

trial_slot_held contention_slot_held_by(const char *body, const char *prefix_id, long own_task)
{
    if (prefix_id && prefix_id[0])
        return contention_slot_held(body, prefix_id, NULL);
    cJSON *a = body ? cJSON_Parse(body) : NULL;
    trial_slot_held out = TRIAL_SLOT_UNKNOWN;
    const cJSON *slot;
    if (cJSON_IsArray(a) && cJSON_GetArraySize(a) > 0) {
        out = TRIAL_SLOT_OTHER;
        cJSON_ArrayForEach(slot, a)
        {
            if (own_task >= 0 && slot_task(slot) == own_task)
                out = TRIAL_SLOT_OWN;
        }
    }
    cJSON_Delete(a);
    return out;
}

/* ---- ids and JSON ---- */

void contention_req_id(const spec *s, const contention_plan *p, const contention_req *q, char *out,
                       size_t cap)
{
    const contention_group *g = &p->groups[q->group];
    snprintf(out, cap, "%s/contention/k%ld/s%ld/i%zu", s->targets[g->target].name, g->agents,
             g->system_prompt_tokens, q->index);
}

static bool add_num(cJSON *o, const char *k, double v)
{
    return cJSON_AddNumberToObject(o, k, v) != NULL;
}

static bool group_json(cJSON *arr, const spec *s, const contention_group *g)
{
    cJSON *o = jsonadd_object(arr);
    if (!o)
        return false;
    return cJSON_AddStringToObject(o, "target", s->targets[g->target].name) &&
           add_num(o, "agents", (double)g->agents) &&
           add_num(o, "system_prompt_tokens", (double)g->system_prompt_tokens) &&
           add_num(o, "query_tokens", (double)g->query_tokens) &&
           add_num(o, "first", (double)g->first) && add_num(o, "requests", (double)g->n);
}

static bool req_json(cJSON *arr, const spec *s, const contention_plan *p, const contention_req *q)
{
    char id[PLAN_ID_LEN], nonce[24];
    contention_req_id(s, p, q, id, sizeof id);
    snprintf(nonce, sizeof nonce, "%016llx", (unsigned long long)q->nonce);
    cJSON *o = jsonadd_object(arr);
    if (!o)
        return false;
    return cJSON_AddStringToObject(o, "id", id) && add_num(o, "group", (double)q->group) &&
           add_num(o, "index", (double)q->index) && add_num(o, "agent", (double)q->agent) &&
           add_num(o, "position", (double)q->position) &&
           cJSON_AddStringToObject(o, "nonce", nonce);
}

cJSON *contention_to_json(const spec *s, const contention_plan *p)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *groups = o ? cJSON_AddArrayToObject(o, "groups") : NULL;
    cJSON *reqs = o ? cJSON_AddArrayToObject(o, "requests") : NULL;
    bool ok = groups && reqs && add_num(o, "n_requests", (double)p->n_reqs) &&
              add_num(o, "prompt_tokens", (double)p->prompt_tokens) &&
              add_num(o, "new_prompt_tokens", (double)p->new_prompt_tokens);
    for (size_t g = 0; ok && g < p->n_groups; g++)
        ok = group_json(groups, s, &p->groups[g]);
    for (size_t i = 0; ok && i < p->n_reqs; i++)
        ok = req_json(reqs, s, p, &p->reqs[i]);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}
