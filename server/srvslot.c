/* srvslot.c - slots of the reference server: choosing one, what it holds,
 * the per-slot cache with its host-RAM tier, and GET /slots. */
#include "server/srvslot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "server/srvtok.h"

/* ---- the table ---- */

kv_status srvslot_init(srvslot_table *t, int n, bool per_slot, long ram_tokens, double restore_ms)
{
    memset(t, 0, sizeof *t);
    t->slot = calloc((size_t)n, sizeof *t->slot);
    if (!t->slot)
        return KV_ERR_NOMEM;
    t->n = n;
    t->per_slot = per_slot;
    t->restore_ms = restore_ms;
    for (int i = 0; i < n; i++)
        t->slot[i].id_task = -1;
    if (per_slot && ram_tokens > 0) {
        t->ram = pcache_new(ram_tokens);
        if (!t->ram) {
            srvslot_fini(t);
            return KV_ERR_NOMEM;
        }
    }
    return KV_OK;
}

void srvslot_fini(srvslot_table *t)
{
    for (int i = 0; t->slot && i < t->n; i++)
        free(t->slot[i].ids);
    free(t->slot);
    pcache_free(t->ram);
    memset(t, 0, sizeof *t);
}

int srvslot_free_count(const srvslot_table *t)
{
    int k = 0;
    for (int i = 0; i < t->n; i++)
        k += !t->slot[i].busy;
    return k;
}

static size_t lcp(const int32_t *a, size_t na, const int32_t *b, size_t nb)
{
    size_t n = na < nb ? na : nb, i = 0;
    while (i < n && a[i] == b[i])
        i++;
    return i;
}

/* ---- choosing a slot ---- */

static int pick_similar(const srvslot_table *t, const int32_t *ids, size_t n)
{
    int best = -1;
    size_t best_k = 0;
    for (int i = 0; i < t->n; i++) {
        const srvslot *s = &t->slot[i];
        if (s->busy)
            continue;
        size_t k = lcp(s->ids, s->n, ids, n);
        if (k > best_k) {
            best_k = k;
            best = i;
        }
    }
    return best >= 0 && (double)best_k >= 0.1 * (double)n ? best : -1;
}

static int pick_lru(const srvslot_table *t)
{
    int best = -1;
    for (int i = 0; i < t->n; i++)
        if (!t->slot[i].busy && (best < 0 || t->slot[i].last_used < t->slot[best].last_used))
            best = i;
    return best;
}

int srvslot_take(srvslot_table *t, const int32_t *ids, size_t n)
{
    int id = -1;
    if (t->per_slot) {
        id = pick_similar(t, ids, n);
        if (id < 0)
            id = pick_lru(t);
    } else {
        for (int i = 0; i < t->n && id < 0; i++)
            if (!t->slot[i].busy)
                id = i;
    }
    if (id >= 0)
        t->slot[id].busy = true;
    return id;
}

void srvslot_release(srvslot_table *t, int id)
{
    if (id >= 0 && id < t->n)
        t->slot[id].busy = false;
}

/* ---- the per-slot cache ---- */

size_t srvslot_lookup(srvslot_table *t, int id, const int32_t *ids, size_t n, size_t *restored)
{
    srvslot *s = &t->slot[id];
    size_t k = lcp(s->ids, s->n, ids, n);
    *restored = 0;
    if (!t->ram)
        return k;
    size_t r = pcache_lookup(t->ram, ids, n);
    if (k < s->n && s->n > 0 && pcache_insert(t->ram, s->ids, s->n) != KV_OK)
        pcache_clear(t->ram); /* out of memory: forget rather than lie */
    if (r > k) {
        *restored = r;
        k = r;
    }
    return k;
}

void srvslot_note(srvslot_table *t, int id, long seq, long n_prompt, long n_cache)
{
    srvslot *s = &t->slot[id];
    s->last_used = seq;
    s->id_task = seq;
    s->n_prompt = n_prompt;
    s->n_cache = n_cache;
    s->n_processed = n_prompt - n_cache;
}

bool srvslot_hold(srvslot_table *t, int id, const int32_t *ids, size_t n)
{
    srvslot *s = &t->slot[id];
    if (n > s->cap) {
        int32_t *p = realloc(s->ids, n * sizeof *p);
        if (!p) {
            s->n = 0;
            return false;
        }
        s->ids = p;
        s->cap = n;
    }
    if (n)
        memmove(s->ids, ids, n * sizeof *ids);
    s->n = n;
    return true;
}

long srvslot_clear(srvslot_table *t, int id)
{
    long n = 0;
    for (int i = 0; i < t->n; i++) {
        if (id >= 0 && i != id)
            continue;
        n += (long)t->slot[i].n;
        t->slot[i].n = 0;
    }
    if (id < 0 && t->ram)
        pcache_clear(t->ram);
    return n;
}

/* ---- GET /slots ---- */

void srvslot_prefix_id(const srvslot *s, char out[17])
{
    out[0] = '\0';
    if (s->n == 0)
        return;
    size_t k = 0;
    while (k < s->n && s->ids[k] != SRVTOK_IM_END)
        k++;
    k = k < s->n ? k + 1 : (s->n < 256 ? s->n : 256);
    uint64_t h = kv_hash64(s->ids, k * sizeof *s->ids, 11);
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

static cJSON *slot_json(const srvslot *s, int id, long n_ctx)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", id);
    cJSON_AddNumberToObject(o, "n_ctx", (double)n_ctx);
    cJSON_AddBoolToObject(o, "speculative", false);
    cJSON_AddBoolToObject(o, "is_processing", s->busy);
    if (s->id_task >= 0) {
        cJSON_AddNumberToObject(o, "id_task", (double)s->id_task);
        cJSON_AddNumberToObject(o, "n_prompt_tokens", (double)s->n_prompt);
        cJSON_AddNumberToObject(o, "n_prompt_tokens_processed", (double)s->n_processed);
        cJSON_AddNumberToObject(o, "n_prompt_tokens_cache", (double)s->n_cache);
    }
    char pid[17];
    srvslot_prefix_id(s, pid);
    cJSON_AddStringToObject(o, "kvproof_prefix_id", pid);
    cJSON_AddNumberToObject(o, "kvproof_held_tokens", (double)s->n);
    return o;
}

cJSON *srvslot_json(const srvslot_table *t, long n_ctx)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < t->n; i++)
        cJSON_AddItemToArray(a, slot_json(&t->slot[i], i, n_ctx));
    return a;
}
