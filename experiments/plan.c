/* plan.c - expanding a spec into its trial plan (see plan.h).
 *
 * Divided into: the portable PRNG, nominal token accounting, the expansion
 * (per target: its warm-up trials in order, then its measured trials
 * shuffled with Fisher-Yates, or in cell order when order is "blocked"),
 * and the JSON form. Nothing here reads the clock, the pid or the
 * environment: the plan depends on the spec and the seed only.
 */
#include "experiments/plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/util.h"
#include "experiments/jsonadd.h"

/* ---- PRNG: splitmix64 seeding xoshiro256** (Blackman and Vigna) ---------- */

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void plan_rng_seed(plan_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = kv_splitmix64(&x);
}

uint64_t plan_rng_next(plan_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t plan_rng_below(plan_rng *r, uint64_t n)
{
    uint64_t threshold = (0 - n) % n; /* 2^64 mod n: reject below it */
    for (;;) {
        uint64_t x = plan_rng_next(r);
        if (x >= threshold)
            return x % n;
    }
}

/* ---- token accounting --------------------------------------------------------- */

void plan_trial_tokens(const spec *s, const plan_trial *t, long long *all, long long *fresh)
{
    long long sys = t->system_prompt_tokens, q = t->query_tokens, o = s->max_output_tokens;
    long long a = 0, f = 0;
    if (t->kind == PLAN_WARMUP) {
        *all = *fresh = sys + q;
        return;
    }
    for (long k = 1; k <= t->query_count; k++) {
        long long turn = sys + k * q + (k - 1) * o;
        a += turn;
        if (t->mode == SPEC_COLD)
            f += turn;
        else
            f += k == 1 ? q : q + o;
    }
    if (t->mode == SPEC_WARM) {
        a += sys + q; /* the priming request */
        f += sys + q;
    }
    *all = a;
    *fresh = f;
}

/* ---- expansion ------------------------------------------------------------------ */

static uint64_t trial_nonce(const char *id, uint64_t seed)
{
    uint64_t x = kv_hash64(id, strlen(id), seed);
    return kv_splitmix64(&x);
}

static size_t cells_per_target(const spec *s)
{
    size_t modes = (size_t)s->cold + (size_t)s->warm, n = 0;
    for (size_t si = 0; si < s->n_system_prompt_tokens; si++)
        for (size_t qi = 0; qi < s->n_query_tokens; qi++)
            for (size_t ci = 0; ci < s->n_query_counts; ci++)
                n += spec_has_cell(s, s->system_prompt_tokens[si], s->query_tokens[qi],
                                   s->query_counts[ci])
                         ? modes
                         : 0;
    return n;
}

static void fill_measured(const spec *s, size_t ti, size_t *cell, plan_trial *out, size_t *n)
{
    for (size_t si = 0; si < s->n_system_prompt_tokens; si++)
        for (size_t qi = 0; qi < s->n_query_tokens; qi++)
            for (size_t ci = 0; ci < s->n_query_counts; ci++)
                for (int m = 0; m < 2; m++) {
                    if (!spec_mode_on(s, (spec_cache_mode)m) ||
                        !spec_has_cell(s, s->system_prompt_tokens[si], s->query_tokens[qi],
                                       s->query_counts[ci]))
                        continue;
                    for (long r = 0; r < s->repetitions; r++) {
                        plan_trial *t = &out[(*n)++];
                        memset(t, 0, sizeof *t);
                        t->kind = PLAN_MEASURE;
                        t->target = ti;
                        t->cell = *cell;
                        t->system_prompt_tokens = s->system_prompt_tokens[si];
                        t->query_tokens = s->query_tokens[qi];
                        t->query_count = s->query_counts[ci];
                        t->mode = (spec_cache_mode)m;
                        t->repetition = r;
                        t->requests = t->query_count + (m == SPEC_WARM ? 1 : 0);
                        snprintf(t->id, sizeof t->id, "%s/s%ld/q%ld/n%ld/%s/r%ld",
                                 s->targets[ti].name, t->system_prompt_tokens, t->query_tokens,
                                 t->query_count, spec_cache_mode_name(t->mode), r);
                    }
                    (*cell)++;
                }
}

kv_status plan_build(const spec *s, uint64_t seed, plan **out, char *err)
{
    *out = NULL;
    size_t per_target = cells_per_target(s);
    if (s->n_targets == 0 || per_target == 0 || s->repetitions < 1)
        return kv_fail(err, KV_ERR_INPUT, "%s: the spec has no cells to plan",
                       s->path ? s->path : "spec");
    size_t measured = s->n_targets * per_target * (size_t)s->repetitions;
    size_t warmups = s->n_targets * (size_t)s->warmup_requests;
    plan *p = calloc(1, sizeof *p);
    if (p)
        p->trials = calloc(measured + warmups, sizeof *p->trials);
    if (!p || !p->trials) {
        free(p);
        return kv_fail(err, KV_ERR_NOMEM, "plan: out of memory");
    }
    p->seed = seed;
    p->n_cells = s->n_targets * per_target;
    p->n_measured = measured;
    plan_rng rng;
    plan_rng_seed(&rng, seed);
    size_t n = 0, cell = 0;
    for (size_t ti = 0; ti < s->n_targets; ti++) {
        size_t first_cell = cell;
        for (long k = 0; k < s->warmup_requests; k++) {
            plan_trial *t = &p->trials[n++];
            t->kind = PLAN_WARMUP;
            t->target = ti;
            t->cell = first_cell;
            t->system_prompt_tokens = s->system_prompt_tokens[0];
            t->query_tokens = s->query_tokens[0];
            t->query_count = 1;
            t->mode = SPEC_COLD;
            t->repetition = k;
            t->requests = 1;
            snprintf(t->id, sizeof t->id, "%s/warmup/%ld", s->targets[ti].name, k);
        }
        size_t start = n;
        fill_measured(s, ti, &cell, p->trials, &n);
        if (s->order == SPEC_ORDER_RANDOM) {
            for (size_t i = n - start; i > 1; i--) {
                size_t j = (size_t)plan_rng_below(&rng, i);
                plan_trial tmp = p->trials[start + i - 1];
                p->trials[start + i - 1] = p->trials[start + j];
                p->trials[start + j] = tmp;
            }
        }
    }
    p->n_trials = n;
    for (size_t i = 0; i < n; i++) {
        plan_trial *t = &p->trials[i];
        t->index = i;
        t->nonce = trial_nonce(t->id, seed);
        long long all, fresh;
        plan_trial_tokens(s, t, &all, &fresh);
        p->n_requests += t->requests;
        p->prompt_tokens += all;
        p->new_prompt_tokens += fresh;
    }
    *out = p;
    return KV_OK;
}

void plan_free(plan *p)
{
    if (!p)
        return;
    free(p->trials);
    free(p);
}

/* ---- JSON ------------------------------------------------------------------------- */

static bool add_trial(cJSON *arr, const spec *s, const plan_trial *t)
{
    cJSON *o = jsonadd_object(arr);
    if (!o)
        return false;
    char nonce[24];
    snprintf(nonce, sizeof nonce, "%016llx", (unsigned long long)t->nonce);
    return jsonadd_int(o, "index", (long long)t->index) &&
           cJSON_AddStringToObject(o, "id", t->id) &&
           cJSON_AddStringToObject(o, "kind", t->kind == PLAN_WARMUP ? "warmup" : "measure") &&
           cJSON_AddStringToObject(o, "target", s->targets[t->target].name) &&
           jsonadd_int(o, "cell", (long long)t->cell) &&
           jsonadd_int(o, "system_prompt_tokens", t->system_prompt_tokens) &&
           jsonadd_int(o, "query_tokens", t->query_tokens) &&
           jsonadd_int(o, "query_count", t->query_count) &&
           cJSON_AddStringToObject(o, "mode", spec_cache_mode_name(t->mode)) &&
           jsonadd_int(o, "repetition", t->repetition) &&
           cJSON_AddStringToObject(o, "nonce", nonce) && jsonadd_int(o, "requests", t->requests);
}

kv_status plan_to_json(const spec *s, const plan *p, char **out)
{
    *out = NULL;
    char hash[24], seed[24];
    snprintf(hash, sizeof hash, "%016llx", (unsigned long long)s->hash);
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)p->seed);
    cJSON *root = cJSON_CreateObject();
    bool ok = root && cJSON_AddStringToObject(root, "spec", s->name) &&
              cJSON_AddStringToObject(root, "spec_hash", hash) &&
              cJSON_AddRawToObject(root, "seed", seed) &&
              cJSON_AddStringToObject(root, "order",
                                      s->order == SPEC_ORDER_BLOCKED ? "blocked" : "random");
    cJSON *counts = ok ? cJSON_AddObjectToObject(root, "counts") : NULL;
    ok = ok && counts && jsonadd_int(counts, "cells", (long long)p->n_cells) &&
         jsonadd_int(counts, "trials", (long long)p->n_trials) &&
         jsonadd_int(counts, "measured_trials", (long long)p->n_measured) &&
         jsonadd_int(counts, "warmup_trials", (long long)(p->n_trials - p->n_measured)) &&
         jsonadd_int(counts, "requests", p->n_requests) &&
         jsonadd_int(counts, "prompt_tokens", p->prompt_tokens) &&
         jsonadd_int(counts, "new_prompt_tokens", p->new_prompt_tokens);
    cJSON *arr = ok ? cJSON_AddArrayToObject(root, "trials") : NULL;
    ok = ok && arr;
    for (size_t i = 0; ok && i < p->n_trials; i++)
        ok = add_trial(arr, s, &p->trials[i]);
    char *text = ok ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    if (!text)
        return KV_ERR_NOMEM;
    size_t n = strlen(text);
    char *copy = malloc(n + 2);
    if (copy) {
        memcpy(copy, text, n);
        copy[n] = '\n';
        copy[n + 1] = '\0';
    }
    cJSON_free(text);
    *out = copy;
    return copy ? KV_OK : KV_ERR_NOMEM;
}
