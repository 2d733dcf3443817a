/* replaytok.c - word tokenizer, request rendering and the tiny prefix cache
 * of the replay server (replaytok.h).
 *
 * Divided into: the tokenizer; rendering a request body; the cache.
 */
#include "server/replaytok.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/util.h"

/* ---- the tokenizer --------------------------------------------------------- */

static bool tok_push(uint64_t **ids, size_t *n, size_t *cap, uint64_t id)
{
    if (kv_grow(ids, cap, *n + 1, sizeof **ids, 256) != KV_OK)
        return false;
    (*ids)[(*n)++] = id;
    return true;
}

static bool tok_alnum(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

kv_status replaytok_text(const char *text, size_t len, uint64_t **ids, size_t *n, size_t *cap)
{
    size_t i = 0;
    while (i < len) {
        unsigned char ch = (unsigned char)text[i];
        if (ch == ' ' || ch == '\n' || ch == '\t' || ch == '\r') {
            i++;
            continue;
        }
        size_t start = i++;
        if (tok_alnum(ch))
            while (i < len && tok_alnum((unsigned char)text[i]))
                i++;
        if (!tok_push(ids, n, cap, kv_hash64(text + start, i - start, 0x746f6bULL)))
            return KV_ERR_NOMEM;
    }
    return KV_OK;
}

/* ---- rendering a request ----------------------------------------------------- */

/* Tokens of a content value: a string, or an array of {type:"text", text}. */
static kv_status tok_content(const cJSON *c, uint64_t **ids, size_t *n, size_t *cap)
{
    if (cJSON_IsString(c))
        return replaytok_text(c->valuestring, strlen(c->valuestring), ids, n, cap);
    if (!cJSON_IsArray(c))
        return KV_OK;
    for (const cJSON *it = c->child; it; it = it->next) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(it, "text");
        if (!cJSON_IsString(t))
            t = cJSON_GetObjectItemCaseSensitive(it, "content");
        if (cJSON_IsString(t)) {
            kv_status st = replaytok_text(t->valuestring, strlen(t->valuestring), ids, n, cap);
            if (st != KV_OK)
                return st;
        }
    }
    return KV_OK;
}

static kv_status tok_role(const char *role, const cJSON *content, uint64_t **ids, size_t *n,
                          size_t *cap)
{
    if (!tok_push(ids, n, cap, kv_hash64(role, strlen(role), 0x726f6c65ULL)))
        return KV_ERR_NOMEM;
    return tok_content(content, ids, n, cap);
}

static kv_status tok_chat(const cJSON *j, const cJSON *msgs, uint64_t **ids, size_t *n, size_t *cap)
{
    kv_status st = KV_OK;
    const cJSON *sys = cJSON_GetObjectItemCaseSensitive(j, "system");
    if (!sys)
        sys = cJSON_GetObjectItemCaseSensitive(j, "system_prompt");
    if (sys && (cJSON_IsString(sys) || cJSON_IsArray(sys)))
        st = tok_role("system", sys, ids, n, cap);
    for (const cJSON *m = msgs ? msgs->child : NULL; st == KV_OK && m; m = m->next) {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        st = tok_role(cJSON_IsString(role) ? role->valuestring : "user",
                      cJSON_GetObjectItemCaseSensitive(m, "content"), ids, n, cap);
    }
    if (st == KV_OK && !tok_push(ids, n, cap, kv_hash64("reply", 5, 0x726f6c65ULL)))
        st = KV_ERR_NOMEM;
    return st;
}

kv_status replaytok_request(const char *body, size_t len, uint64_t **ids, size_t *n, bool *chat)
{
    *ids = NULL;
    *n = 0;
    *chat = false;
    size_t cap = 0;
    cJSON *j = cJSON_ParseWithLength(body, len);
    if (!j)
        return KV_ERR_INPUT;
    kv_status st = KV_OK;
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(j, "messages");
    const cJSON *input = cJSON_GetObjectItemCaseSensitive(j, "input");
    if (cJSON_IsArray(msgs)) {
        *chat = true;
        st = tok_chat(j, msgs, ids, n, &cap);
    } else if (input) {
        /* LM Studio /api/v1/chat: system_prompt + input, rendered as chat. */
        *chat = true;
        cJSON *one = cJSON_CreateArray();
        cJSON *m = cJSON_CreateObject();
        if (!one || !m || !cJSON_AddStringToObject(m, "role", "user") ||
            !cJSON_AddItemToObject(m, "content", cJSON_Duplicate(input, 1))) {
            cJSON_Delete(m);
            m = NULL;
            st = KV_ERR_NOMEM;
        }
        if (m)
            cJSON_AddItemToArray(one, m);
        if (st == KV_OK)
            st = tok_chat(j, one, ids, n, &cap);
        cJSON_Delete(one);
    } else {
        static const char *const keys[] = {"prompt", "content", "text"};
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
            const cJSON *p = cJSON_GetObjectItemCaseSensitive(j, keys[i]);
            if (p) {
                st = tok_content(p, ids, n, &cap);
                break;
            }
        }
    }
    cJSON_Delete(j);
    return st;
}

/* ---- the cache ----------------------------------------------------------------- */

#define REPLAYTOK_CACHE_ENTRIES 64

struct replaytok_cache {
    long block;
    uint64_t *seq[REPLAYTOK_CACHE_ENTRIES];
    size_t len[REPLAYTOK_CACHE_ENTRIES];
    size_t next; /* ring position of the next remembered prompt */
};

kv_status replaytok_cache_new(long block, replaytok_cache **out)
{
    *out = calloc(1, sizeof **out);
    if (!*out)
        return KV_ERR_NOMEM;
    (*out)->block = block > 0 ? block : 1;
    return KV_OK;
}

void replaytok_cache_clear(replaytok_cache *c)
{
    for (size_t i = 0; i < REPLAYTOK_CACHE_ENTRIES; i++) {
        free(c->seq[i]);
        c->seq[i] = NULL;
        c->len[i] = 0;
    }
    c->next = 0;
}

void replaytok_cache_free(replaytok_cache *c)
{
    if (!c)
        return;
    replaytok_cache_clear(c);
    free(c);
}

long replaytok_cache_lookup(replaytok_cache *c, const uint64_t *ids, size_t n, bool use)
{
    size_t best = 0;
    for (size_t i = 0; use && i < REPLAYTOK_CACHE_ENTRIES; i++) {
        size_t k = 0;
        while (k < n && k < c->len[i] && c->seq[i][k] == ids[k])
            k++;
        if (k > best)
            best = k;
    }
    if (n > 0 && best > n - 1)
        best = n - 1;
    long cached = (long)best / c->block * c->block;
    uint64_t *copy = n ? malloc(n * sizeof *copy) : NULL;
    if (copy) {
        memcpy(copy, ids, n * sizeof *copy);
        free(c->seq[c->next]);
        c->seq[c->next] = copy;
        c->len[c->next] = n;
        c->next = (c->next + 1) % REPLAYTOK_CACHE_ENTRIES;
    }
    return cached;
}
