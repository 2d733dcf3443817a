/* probe.c - server detection and a cold/warm cache check (probe.h).
 *
 * Divided into: small JSON helpers; detection (one GET per candidate
 * server, first match wins); model listing and /tokenize; the synthetic
 * prompt; and the prime/warm/cold requests.
 */
#include "experiments/probe.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "common/util.h"
#include "experiments/dialect.h"

#define PROBE_TIMEOUT_S 5.0
#define PROBE_PROMPT_WORDS 1000

/* ---- helpers -------------------------------------------------------------- */

static char *probe_compact(const cJSON *j)
{
    char *t = cJSON_PrintUnformatted(j);
    char *copy = kv_strdup(t);
    cJSON_free(t);
    return copy;
}

static bool probe_header(const char *headers, const char *name)
{
    size_t nl = strlen(name);
    for (const char *p = headers; p && *p;) {
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':')
            return true;
        const char *e = strchr(p, '\n');
        p = e ? e + 1 : NULL;
    }
    return false;
}

typedef struct probe_get {
    int status;
    cJSON *json; /* parsed body when 2xx JSON, else NULL */
    bool simulated;
} probe_get;

/* GET path; KV_OK for any HTTP answer, else the network failure. */
static kv_status probe_fetch(client *c, const spec_target *t, const char *path, probe_get *g,
                             char *err)
{
    char *resp = NULL, *hdrs = NULL;
    memset(g, 0, sizeof *g);
    kv_status st =
        client_call_headers(c, t, path, NULL, PROBE_TIMEOUT_S, &g->status, &resp, &hdrs, err);
    if (st != KV_OK)
        return st;
    g->simulated = probe_header(hdrs, "X-Kvproof-Simulated");
    if (g->status >= 200 && g->status < 300)
        g->json = cJSON_Parse(resp);
    free(resp);
    free(hdrs);
    return KV_OK;
}

static const char *probe_jstr(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static kv_status probe_add_model(probe_info *p, const char *name)
{
    if (!name)
        return KV_OK;
    for (size_t i = 0; i < p->n_models; i++)
        if (strcmp(p->models[i], name) == 0)
            return KV_OK;
    char **m = realloc(p->models, (p->n_models + 1) * sizeof *m);
    if (!m)
        return KV_ERR_NOMEM;
    p->models = m;
    m[p->n_models] = strdup(name);
    if (!m[p->n_models])
        return KV_ERR_NOMEM;
    p->n_models++;
    return KV_OK;
}

/* Models from an OpenAI-style {"data":[{"id":..}]} or Ollama {"models":[{"name":..}]}. */
static kv_status probe_models_from(probe_info *p, const cJSON *j)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(j, "data");
    const char *key = "id";
    if (!cJSON_IsArray(arr)) {
        arr = cJSON_GetObjectItemCaseSensitive(j, "models");
        key = "name";
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        const char *name = probe_jstr(it, key);
        if (!name)
            name = probe_jstr(it, "model");
        if (!name)
            name = probe_jstr(it, "key"); /* LM Studio /api/v1/models */
        if (probe_add_model(p, name) != KV_OK)
            return KV_ERR_NOMEM;
    }
    return KV_OK;
}

/* ---- detection ---------------------------------------------------------------- */

void probe_info_clear(probe_info *p)
{
    if (!p)
        return;
    free(p->server_version);
    free(p->model);
    for (size_t i = 0; i < p->n_models; i++)
        free(p->models[i]);
    free(p->models);
    free(p->props);
    memset(p, 0, sizeof *p);
}

static void probe_set(probe_info *p, const char *server, spec_api api, const char *by)
{
    snprintf(p->server, sizeof p->server, "%s", server);
    p->api = api;
    snprintf(p->detected_by, sizeof p->detected_by, "%s", by);
}

static const char *probe_owned_by(const cJSON *models)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(models, "data");
    const cJSON *first = cJSON_IsArray(arr) ? cJSON_GetArrayItem(arr, 0) : NULL;
    return probe_jstr(first, "owned_by");
}

static bool probe_is_llamacpp(const cJSON *j)
{
    return cJSON_GetObjectItemCaseSensitive(j, "default_generation_settings") ||
           cJSON_GetObjectItemCaseSensitive(j, "build_info") ||
           cJSON_GetObjectItemCaseSensitive(j, "model_path");
}

static bool probe_has_version(const cJSON *j)
{
    return probe_jstr(j, "version") != NULL;
}

static bool probe_has_model_list(const cJSON *j)
{
    return cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(j, "data"));
}

/* LM Studio 0.4+ GET /api/v1/models: {"models": [{"key": ...}]}. */
static bool probe_is_lms_v1(const cJSON *j)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "models");
    const cJSON *first = cJSON_IsArray(m) ? cJSON_GetArrayItem(m, 0) : NULL;
    return first && probe_jstr(first, "key") != NULL;
}

static bool probe_is_object(const cJSON *j)
{
    return cJSON_IsObject(j);
}

/* A server-specific endpoint that identifies its server. */
typedef struct probe_candidate {
    const char *path;   /* GET this */
    const char *server; /* server name when the reply matches */
    spec_api api;       /* dialect to speak to it */
    const char *by;     /* how it was detected (for the report) */
    bool (*match)(const cJSON *reply);
    const char *version_key; /* reply field holding the server version, or NULL */
    const char *models_path; /* NULL: none; "": this reply lists models; else GET it */
} probe_candidate;

/* In order: the first match wins. */
static const probe_candidate probe_candidates[] = {
    {"/props", "llama.cpp", SPEC_API_LLAMACPP, "GET /props", probe_is_llamacpp, "build_info", NULL},
    {"/api/version", "ollama", SPEC_API_OLLAMA, "GET /api/version", probe_has_version, "version",
     "/api/tags"},
    {"/api/v1/models", "lmstudio", SPEC_API_LMSTUDIO_CHAT, "GET /api/v1/models", probe_is_lms_v1,
     NULL, ""},
    {"/api/v0/models", "lmstudio", SPEC_API_LMSTUDIO, "GET /api/v0/models", probe_has_model_list,
     NULL, ""},
    {"/get_server_info", "sglang", SPEC_API_OPENAI_CHAT, "GET /get_server_info", probe_is_object,
     "version", NULL},
    {"/get_model_info", "sglang", SPEC_API_OPENAI_CHAT, "GET /get_model_info", probe_is_object,
     "version", NULL},
    {"/version", "vllm", SPEC_API_OPENAI_CHAT, "GET /version", probe_has_version, "version", NULL},
};

/* Fills *found when `k` identifies the server; KV_OK unless the network or
 * memory failed. */
static kv_status probe_try(client *c, const spec_target *t, const probe_candidate *k, probe_info *p,
                           bool *found, char *err)
{
    probe_get g;
    kv_status st = probe_fetch(c, t, k->path, &g, err);
    if (st != KV_OK)
        return st; /* unreachable */
    p->simulated |= g.simulated;
    if (g.json && k->match(g.json)) {
        probe_set(p, k->server, k->api, k->by);
        if (k->version_key)
            p->server_version = kv_strdup(probe_jstr(g.json, k->version_key));
        p->props = probe_compact(g.json);
        *found = true;
        if (k->models_path && !k->models_path[0])
            st = probe_models_from(p, g.json);
    }
    cJSON_Delete(g.json);
    if (st != KV_OK)
        return kv_fail(err, st, "out of memory");
    if (!*found || !k->models_path || !k->models_path[0])
        return KV_OK;
    if ((st = probe_fetch(c, t, k->models_path, &g, err)) != KV_OK)
        return st;
    st = g.json ? probe_models_from(p, g.json) : KV_OK;
    cJSON_Delete(g.json);
    return st == KV_OK ? KV_OK : kv_fail(err, st, "out of memory");
}

/* Tries the candidates in order; fills server, api, version, props, models. */
static kv_status probe_identify(client *c, const spec_target *t, probe_info *p, char *err)
{
    probe_get g;
    kv_status st = KV_OK;
    bool found = false;

    for (size_t i = 0; !found && i < sizeof probe_candidates / sizeof probe_candidates[0]; i++) {
        st = probe_try(c, t, &probe_candidates[i], p, &found, err);
        if (st != KV_OK)
            return st;
    }

    /* Every OpenAI-style server lists its models here. */
    if ((st = probe_fetch(c, t, "/v1/models", &g, err)) != KV_OK)
        return st;
    p->simulated |= g.simulated;
    if (g.json) {
        const char *owner = probe_owned_by(g.json);
        if (!found && owner && strcasecmp(owner, "vllm") == 0)
            probe_set(p, "vllm", SPEC_API_OPENAI_CHAT, "GET /v1/models owned_by");
        else if (!found && owner && strcasecmp(owner, "sglang") == 0)
            probe_set(p, "sglang", SPEC_API_OPENAI_CHAT, "GET /v1/models owned_by");
        else if (!found && owner && strcasecmp(owner, "anthropic") == 0)
            probe_set(p, "anthropic", SPEC_API_ANTHROPIC, "GET /v1/models owned_by");
        else if (!found && owner && strstr(owner, "mlx"))
            probe_set(p, "mlx", SPEC_API_OPENAI_CHAT, "GET /v1/models owned_by");
        else if (!found)
            probe_set(p, "openai-compatible", SPEC_API_OPENAI_CHAT, "GET /v1/models");
        found = true;
        if (!p->props)
            p->props = probe_compact(g.json);
        st = probe_models_from(p, g.json);
    }
    cJSON_Delete(g.json);
    if (st != KV_OK)
        return kv_fail(err, st, "out of memory");
    if (!found)
        probe_set(p, "unknown", SPEC_API_OPENAI_CHAT, "fallback");
    return KV_OK;
}

kv_status probe_detect_target(client *c, const spec_target *target, probe_info *out, char *err)
{
    memset(out, 0, sizeof *out);
    spec_target t = *target; /* name, URL, key, headers, ca_file; model filled in below */
    const spec_api api_hint = target->api;
    const char *model = target->model;
    kv_status st = KV_OK;
    if (api_hint == SPEC_API_ANTHROPIC) {
        /* Hosted API: nothing to detect without spending tokens. */
        probe_set(out, "anthropic", SPEC_API_ANTHROPIC, "--api");
        probe_get g;
        if ((st = probe_fetch(c, &t, "/v1/models", &g, err)) != KV_OK)
            goto out;
        out->simulated = g.simulated;
        if (g.json && probe_models_from(out, g.json) != KV_OK)
            st = kv_fail(err, KV_ERR_NOMEM, "out of memory");
        cJSON_Delete(g.json);
        if (st != KV_OK)
            goto out;
    } else if ((st = probe_identify(c, &t, out, err)) != KV_OK) {
        goto out;
    }
    if (api_hint != SPEC_API_AUTO)
        out->api = api_hint;
    if (model)
        out->model = kv_strdup(model);
    else if (out->n_models)
        out->model = kv_strdup(out->models[0]);
    if ((model || out->n_models) && !out->model) {
        st = kv_fail(err, KV_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (out->model && strstr(out->model, "kvproof-reference"))
        out->simulated = true;
    t.model = out->model;
    long n = -1;
    char terr[KV_ERRLEN] = "";
    out->tokenizes = client_tokenize(c, &t, out->api, "Hello, world.", &n, terr) == KV_OK && n > 0;
out:
    if (st != KV_OK)
        probe_info_clear(out);
    return st;
}

kv_status probe_detect(client *c, const char *base_url, spec_api api_hint, const char *model,
                       const char *api_key_env, probe_info *out, char *err)
{
    memset(out, 0, sizeof *out);
    char *url = kv_strdup(base_url);
    char *key_env = kv_strdup(api_key_env);
    char *mdl = kv_strdup(model);
    spec_target t = {
        .name = url, .base_url = url, .api = api_hint, .model = mdl, .api_key_env = key_env};
    kv_status st;
    if (!url || (api_key_env && !key_env) || (model && !mdl))
        st = kv_fail(err, KV_ERR_NOMEM, "out of memory");
    else
        st = probe_detect_target(c, &t, out, err);
    free(url);
    free(key_env);
    free(mdl);
    return st;
}

/* ---- cache check ------------------------------------------------------------------ */

/* A deterministic ~1,000-word system prompt after an optional nonce. */
static kv_status probe_prompt(uint64_t nonce, kv_buf *out)
{
    static const char *const words[] = {
        "the",    "cache",  "keeps",  "every",  "token",   "of",    "a",     "long",
        "system", "prompt", "so",     "later",  "queries", "skip",  "its",   "prefill",
        "river",  "amber",  "orbit",  "stone",  "garden",  "lamp",  "north", "quiet",
        "silver", "window", "market", "letter", "bridge",  "cloud", "field", "harbor"};
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    kv_status st = KV_OK;
    if (nonce)
        st = kv_buf_appendf(out, "Session %016" PRIx64 ".\n\n", nonce);
    for (int i = 0; i < PROBE_PROMPT_WORDS && st == KV_OK; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        st = kv_buf_appendf(out, "%s%s", i ? (i % 12 == 0 ? ". " : " ") : "",
                            words[x % (sizeof words / sizeof words[0])]);
    }
    if (st == KV_OK)
        st = kv_buf_append(out, ".", 1);
    return st;
}

void probe_cache_clear(probe_cache_result *r)
{
    if (!r)
        return;
    free(r->prime.raw);
    free(r->warm.raw);
    free(r->cold.raw);
    memset(r, 0, sizeof *r);
}

static kv_status probe_one(client *c, const spec_target *t, spec_api api, const char *system,
                           bool no_cache, trial_request *out, char *err)
{
    client_message msgs[] = {{"system", system}, {"user", "Reply with one word: ready?"}};
    client_request rq = {.target = t,
                         .api = api,
                         .messages = msgs,
                         .n_messages = 2,
                         .max_output_tokens = 4,
                         .temperature = 0,
                         .no_cache = no_cache,
                         .timeout_connect_s = 10,
                         .timeout_first_token_s = 300,
                         .timeout_total_s = 600,
                         .retries = 2};
    return client_send(c, &rq, out, NULL, err);
}

/* vLLM leaves usage.prompt_tokens_details out when nothing was cached: once
 * the warm reply showed a count, a reply with usage but no count means 0. */
static void probe_absent_cached(spec_api api, probe_cache_result *out)
{
    if ((api != SPEC_API_OPENAI_CHAT && api != SPEC_API_OPENAI_COMPLETIONS) ||
        out->warm.cached_tokens < 0)
        return;
    trial_request *rs[] = {&out->prime, &out->cold};
    for (size_t i = 0; i < 2; i++)
        if (rs[i]->cached_tokens < 0 && rs[i]->prompt_tokens >= 0)
            rs[i]->cached_tokens = 0;
}

kv_status probe_cache(client *c, const probe_info *info, const char *base_url,
                      const char *api_key_env, probe_cache_result *out, char *err)
{
    memset(out, 0, sizeof *out);
    kv_status st = KV_OK;
    kv_buf warm_p = {0}, cold_p = {0};
    char *url = kv_strdup(base_url);
    char *key_env = kv_strdup(api_key_env);
    char *mdl = kv_strdup(info->model);
    spec_target t = {
        .name = url, .base_url = url, .api = info->api, .model = mdl, .api_key_env = key_env};
    bool llama = info->api == SPEC_API_LLAMACPP;
    out->cold_method = llama ? "cache_prompt:false" : "nonce";
    out->prefix_tokens = PROBE_PROMPT_WORDS;
    if (!url || (api_key_env && !key_env) || (info->model && !mdl)) {
        st = kv_fail(err, KV_ERR_NOMEM, "out of memory");
        goto out;
    }
    uint64_t nonce = kv_hash64(&(int64_t){kv_now_ns()}, sizeof(int64_t), 7) | 1;
    if (probe_prompt(0, &warm_p) != KV_OK || probe_prompt(llama ? 0 : nonce, &cold_p) != KV_OK) {
        st = kv_fail(err, KV_ERR_NOMEM, "out of memory");
        goto out;
    }
    long n = -1;
    char terr[KV_ERRLEN] = "";
    if (info->tokenizes && client_tokenize(c, &t, info->api, warm_p.data, &n, terr) == KV_OK &&
        n > 0)
        out->prefix_tokens = n;
    out->prime.turn = out->warm.turn = out->cold.turn = 1;
    out->warm.prefix_tokens = out->cold.prefix_tokens = out->prefix_tokens;
    if ((st = probe_one(c, &t, info->api, warm_p.data, false, &out->prime, err)) != KV_OK ||
        (st = probe_one(c, &t, info->api, warm_p.data, false, &out->warm, err)) != KV_OK ||
        (st = probe_one(c, &t, info->api, cold_p.data, llama, &out->cold, err)) != KV_OK)
        goto out;
    probe_absent_cached(info->api, out);
    out->reports_cached = out->warm.cached_tokens >= 0 && out->cold.cached_tokens >= 0;
    double px = (double)out->prefix_tokens;
    if (out->reports_cached) {
        out->honours_cold = (double)out->cold.cached_tokens < 0.1 * px;
        out->cache_works = (double)out->warm.cached_tokens >= 0.9 * px;
    } else {
        out->inferred = true;
        out->honours_cold = true; /* cannot be checked; a nonce is assumed to work */
        out->cache_works = !isnan(out->warm.ttft_ms) && !isnan(out->cold.ttft_ms) &&
                           out->warm.ttft_ms < 0.8 * out->cold.ttft_ms;
    }
out:
    kv_buf_free(&warm_p);
    kv_buf_free(&cold_p);
    free(url);
    free(key_env);
    free(mdl);
    return st;
}

/* ---- JSON ------------------------------------------------------------------------ */

static cJSON *probe_num_or_null(double v)
{
    return isnan(v) ? cJSON_CreateNull() : cJSON_CreateNumber(v);
}

static cJSON *probe_request_json(const trial_request *r)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddBoolToObject(o, "ok", r->ok);
    if (!r->ok)
        cJSON_AddStringToObject(o, "error", r->error);
    cJSON_AddNumberToObject(o, "attempts", r->attempts);
    cJSON_AddNumberToObject(o, "prompt_tokens", (double)r->prompt_tokens);
    cJSON_AddNumberToObject(o, "cached_tokens", (double)r->cached_tokens);
    cJSON_AddNumberToObject(o, "output_tokens", (double)r->output_tokens);
    cJSON_AddItemToObject(o, "ttfb_ms", probe_num_or_null(r->ttfb_ms));
    cJSON_AddItemToObject(o, "ttft_ms", probe_num_or_null(r->ttft_ms));
    cJSON_AddItemToObject(o, "total_ms", probe_num_or_null(r->total_ms));
    cJSON_AddItemToObject(o, "server_prefill_ms", probe_num_or_null(r->server_prefill_ms));
    cJSON *raw = r->raw ? cJSON_Parse(r->raw) : NULL;
    cJSON_AddItemToObject(o, "raw", raw ? raw : cJSON_CreateNull());
    return o;
}

kv_status probe_to_json(const probe_info *info, const probe_cache_result *cache, char **out,
                        char *err)
{
    *out = NULL;
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return kv_fail(err, KV_ERR_NOMEM, "out of memory");
    cJSON_AddStringToObject(o, "server", info->server);
    cJSON_AddStringToObject(o, "dialect", dialect_name(info->api));
    cJSON_AddStringToObject(o, "detected_by", info->detected_by);
    cJSON_AddItemToObject(o, "server_version",
                          info->server_version ? cJSON_CreateString(info->server_version)
                                               : cJSON_CreateNull());
    cJSON_AddItemToObject(o, "model",
                          info->model ? cJSON_CreateString(info->model) : cJSON_CreateNull());
    cJSON *models = cJSON_AddArrayToObject(o, "models");
    for (size_t i = 0; models && i < info->n_models; i++)
        cJSON_AddItemToArray(models, cJSON_CreateString(info->models[i]));
    cJSON_AddBoolToObject(o, "simulated", info->simulated);
    cJSON_AddBoolToObject(o, "tokenizes", info->tokenizes);
    cJSON *props = info->props ? cJSON_Parse(info->props) : NULL;
    cJSON_AddItemToObject(o, "props", props ? props : cJSON_CreateNull());
    if (cache) {
        cJSON *cc = cJSON_AddObjectToObject(o, "cache_check");
        if (cc) {
            cJSON_AddNumberToObject(cc, "prefix_tokens", (double)cache->prefix_tokens);
            cJSON_AddStringToObject(cc, "cold_method", cache->cold_method);
            cJSON_AddBoolToObject(cc, "reports_cached", cache->reports_cached);
            cJSON_AddBoolToObject(cc, "honours_cold", cache->honours_cold);
            cJSON_AddBoolToObject(cc, "cache_works", cache->cache_works);
            cJSON_AddBoolToObject(cc, "inferred", cache->inferred);
            cJSON_AddItemToObject(cc, "prime", probe_request_json(&cache->prime));
            cJSON_AddItemToObject(cc, "warm", probe_request_json(&cache->warm));
            cJSON_AddItemToObject(cc, "cold", probe_request_json(&cache->cold));
        }
    }
    char *text = cJSON_Print(o);
    cJSON_Delete(o);
    if (text) {
        *out = strdup(text);
        cJSON_free(text);
    }
    if (!*out)
        return kv_fail(err, KV_ERR_NOMEM, "out of memory");
    return KV_OK;
}
