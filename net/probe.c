/* probe.c - server detection and a cold/warm cache check (probe.h).
 *
 * Divided into: small JSON helpers; detection (one GET per candidate
 * server, first match wins); model listing and /tokenize; the synthetic
 * prompt; and the prime/warm/cold requests.
 */
#include "net/probe.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "common/util.h"
#include "net/dialect.h"

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
    cJSON *json; /* parsed body when 2xx JSON and not an error body, else NULL */
    bool simulated;
    bool anthropic_error; /* an Anthropic error body: {"type":"error","error":{"type":..}} */
    bool python_http;     /* Server: BaseHTTP/... (Python's http.server: mlx_lm.server) */
} probe_get;

/* Whether the value of header `name` contains `part` (case-insensitive name). */
static bool probe_header_has(const char *headers, const char *name, const char *part)
{
    size_t nl = strlen(name);
    for (const char *p = headers; p && *p;) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            char line[256];
            snprintf(line, sizeof line, "%.*s", (int)(len - nl - 1), p + nl + 1);
            if (strstr(line, part))
                return true;
        }
        p = e ? e + 1 : NULL;
    }
    return false;
}

/* {"type":"error","error":{"type":"..._error",...}}: Anthropic's error body
 * (anthropic-sdk-python types/shared/error_response.py). */
static bool probe_is_anthropic_error(const cJSON *j)
{
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(j, "type");
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
    return cJSON_IsString(type) && strcmp(type->valuestring, "error") == 0 && cJSON_IsObject(e) &&
           cJSON_IsString(cJSON_GetObjectItemCaseSensitive(e, "type"));
}

/* GET path; KV_OK for any HTTP answer, else the network failure. A 2xx body
 * whose top level holds "error" is an error, not a reply: LM Studio answers
 * unknown endpoints with HTTP 200 and {"error":"Unexpected endpoint or
 * method. (GET /path)"} (lmstudio-bug-tracker #618, #1323). */
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
    g->python_http = probe_header_has(hdrs, "Server", "BaseHTTP/");
    cJSON *j = cJSON_Parse(resp);
    g->anthropic_error = j && probe_is_anthropic_error(j);
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
    if (g->status >= 200 && g->status < 300 && j && (!e || cJSON_IsNull(e))) {
        g->json = j;
        j = NULL;
    }
    cJSON_Delete(j);
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

/* What the detection GETs showed besides their bodies. */
typedef struct probe_seen {
    bool anthropic_error; /* some reply was an Anthropic error body */
    bool python_http;     /* some reply came from Python's http.server */
} probe_seen;

static void probe_note(probe_seen *seen, probe_info *p, const probe_get *g)
{
    p->simulated |= g->simulated;
    seen->anthropic_error |= g->anthropic_error;
    seen->python_http |= g->python_http;
}

/* Fills *found when `k` identifies the server; KV_OK unless the network or
 * memory failed. */
static kv_status probe_try(client *c, const spec_target *t, const probe_candidate *k, probe_info *p,
                           probe_seen *seen, bool *found, char *err)
{
    probe_get g;
    kv_status st = probe_fetch(c, t, k->path, &g, err);
    if (st != KV_OK)
        return st; /* unreachable */
    probe_note(seen, p, &g);
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

/* Whether base_url's host is `host` or one of its subdomains. */
static bool probe_host_is(const char *base_url, const char *host)
{
    const char *h = base_url ? strstr(base_url, "://") : NULL;
    h = h ? h + 3 : base_url;
    if (!h)
        return false;
    size_t n = strcspn(h, ":/?#"), hl = strlen(host);
    if (n == hl)
        return strncasecmp(h, host, n) == 0;
    return n > hl && h[n - hl - 1] == '.' && strncasecmp(h + n - hl, host, hl) == 0;
}

/* Anthropic's model list: entries {"type":"model","id":..,"display_name":..}. */
static bool probe_is_anthropic_models(const cJSON *models)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(models, "data");
    const cJSON *first = cJSON_IsArray(arr) ? cJSON_GetArrayItem(arr, 0) : NULL;
    const char *type = probe_jstr(first, "type");
    return type && strcmp(type, "model") == 0 && probe_jstr(first, "display_name");
}

/* mlx_lm.server: Python's http.server (Server: BaseHTTP/..), a model list
 * without owned_by and GET /health answering {"status": "ok"}
 * (ml-explore/mlx-lm mlx_lm/server.py handle_models_request,
 * handle_health_check). */
static kv_status probe_is_mlx(client *c, const spec_target *t, const probe_seen *seen, bool *is_mlx,
                              char *err)
{
    *is_mlx = seen->python_http;
    if (*is_mlx)
        return KV_OK;
    probe_get g;
    kv_status st = probe_fetch(c, t, "/health", &g, err);
    if (st != KV_OK)
        return st;
    const char *status = probe_jstr(g.json, "status");
    *is_mlx = g.python_http || (status && strcmp(status, "ok") == 0);
    cJSON_Delete(g.json);
    return KV_OK;
}

/* Names the server behind an OpenAI-style GET /v1/models reply. */
static kv_status probe_from_models(client *c, const spec_target *t, const cJSON *models,
                                   const probe_seen *seen, probe_info *p, char *err)
{
    const char *owner = probe_owned_by(models);
    const char *by = "GET /v1/models owned_by";
    if (owner && strcasecmp(owner, "vllm") == 0)
        probe_set(p, "vllm", SPEC_API_OPENAI_CHAT, by);
    else if (owner && strcasecmp(owner, "sglang") == 0)
        probe_set(p, "sglang", SPEC_API_OPENAI_CHAT, by);
    else if ((owner && strcasecmp(owner, "anthropic") == 0) || probe_is_anthropic_models(models))
        probe_set(p, "anthropic", SPEC_API_ANTHROPIC, "GET /v1/models");
    else if (owner && strstr(owner, "mlx"))
        probe_set(p, "mlx", SPEC_API_OPENAI_CHAT, by);
    else if (dialect_is_hosted_openai(t->base_url))
        probe_set(p, "openai", SPEC_API_OPENAI_CHAT, "host name");
    else if (owner && (strcmp(owner, "openai") == 0 || strcmp(owner, "system") == 0))
        probe_set(p, "openai", SPEC_API_OPENAI_CHAT, by);
    else {
        bool mlx = false;
        kv_status st = owner ? KV_OK : probe_is_mlx(c, t, seen, &mlx, err);
        if (st != KV_OK)
            return st;
        if (mlx)
            probe_set(p, "mlx", SPEC_API_OPENAI_CHAT,
                      seen->python_http ? "Server: BaseHTTP header" : "GET /health");
        else
            probe_set(p, "openai-compatible", SPEC_API_OPENAI_CHAT, "GET /v1/models");
    }
    return KV_OK;
}

/* Tries the candidates in order; fills server, api, version, props, models. */
static kv_status probe_identify(client *c, const spec_target *t, probe_info *p, char *err)
{
    probe_get g;
    probe_seen seen = {0};
    kv_status st = KV_OK;
    bool found = false;

    for (size_t i = 0; !found && i < sizeof probe_candidates / sizeof probe_candidates[0]; i++) {
        st = probe_try(c, t, &probe_candidates[i], p, &seen, &found, err);
        if (st != KV_OK)
            return st;
    }

    /* Every OpenAI-style server lists its models here. */
    if ((st = probe_fetch(c, t, "/v1/models", &g, err)) != KV_OK)
        return st;
    probe_note(&seen, p, &g);
    if (g.json) {
        if (!found)
            st = probe_from_models(c, t, g.json, &seen, p, err);
        found = true;
        if (st == KV_OK && !p->props)
            p->props = probe_compact(g.json);
        if (st == KV_OK)
            st = probe_models_from(p, g.json);
    }
    cJSON_Delete(g.json);
    if (st != KV_OK)
        return st == KV_ERR_NOMEM ? kv_fail(err, st, "out of memory") : st;
    if (!found && (seen.anthropic_error || probe_host_is(t->base_url, "anthropic.com")))
        probe_set(p, "anthropic", SPEC_API_ANTHROPIC,
                  seen.anthropic_error ? "Anthropic error body" : "host name");
    else if (!found)
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
    if (api_hint == SPEC_API_ANTHROPIC)
        probe_set(out, "anthropic", SPEC_API_ANTHROPIC, "--api"); /* nothing to detect */
    else if ((st = probe_identify(c, &t, out, err)) != KV_OK)
        goto out;
    if (out->api == SPEC_API_ANTHROPIC && out->n_models == 0) {
        /* Its model list answers only with Anthropic's own headers. */
        probe_get g;
        t.api = SPEC_API_ANTHROPIC;
        if ((st = probe_fetch(c, &t, "/v1/models", &g, err)) != KV_OK)
            goto out;
        out->simulated |= g.simulated;
        if (g.json && probe_models_from(out, g.json) != KV_OK)
            st = kv_fail(err, KV_ERR_NOMEM, "out of memory");
        cJSON_Delete(g.json);
        if (st != KV_OK)
            goto out;
        t.api = api_hint;
    }
    if (api_hint != SPEC_API_AUTO)
        out->api = api_hint;
    if (api_hint != SPEC_API_AUTO && strcmp(out->server, "unknown") == 0)
        snprintf(out->detected_by, sizeof out->detected_by, "--api");
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

/* A deterministic system prompt of `words` words after an optional nonce. */
static kv_status probe_prompt(uint64_t nonce, long words, kv_buf *out)
{
    static const char *const vocab[] = {
        "the",    "cache",  "keeps",  "every",  "token",   "of",    "a",     "long",
        "system", "prompt", "so",     "later",  "queries", "skip",  "its",   "prefill",
        "river",  "amber",  "orbit",  "stone",  "garden",  "lamp",  "north", "quiet",
        "silver", "window", "market", "letter", "bridge",  "cloud", "field", "harbor"};
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    kv_status st = KV_OK;
    if (nonce)
        st = kv_buf_appendf(out, "Session %016" PRIx64 ".\n\n", nonce);
    for (long i = 0; i < words && st == KV_OK; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        st = kv_buf_appendf(out, "%s%s", i ? (i % 12 == 0 ? ". " : " ") : "",
                            vocab[x % (sizeof vocab / sizeof vocab[0])]);
    }
    if (st == KV_OK)
        st = kv_buf_append(out, ".", 1);
    return st;
}

long probe_cache_min_tokens(const probe_info *info)
{
    if (strcmp(info->server, "openai") == 0)
        return 1024; /* prompt caching starts at 1,024 tokens */
    if (info->api != SPEC_API_ANTHROPIC)
        return 0; /* local servers cache any prefix */
    /* Anthropic's minimum cacheable prompt per model (prompt-caching docs). */
    static const struct {
        const char *part;
        long min;
    } models[] = {
        {"haiku-4", 4096},    {"opus-4-5", 4096},   {"opus-4-6", 4096},   {"sonnet-4-6", 2048},
        {"3-5-haiku", 2048},  {"3-haiku", 2048},    {"haiku-3", 2048},    {"opus-4-1", 1024},
        {"opus-4-0", 1024},   {"opus-4-2", 1024},   {"sonnet-4-5", 1024}, {"sonnet-4-0", 1024},
        {"sonnet-4-2", 1024}, {"3-7-sonnet", 1024}, {"3-5-sonnet", 1024}, {"3-opus", 1024}};
    for (size_t i = 0; info->model && i < sizeof models / sizeof models[0]; i++)
        if (strstr(info->model, models[i].part))
            return models[i].min;
    return 4096; /* an unknown model: the largest minimum known */
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
                         .temperature = NAN, /* none to hosted OpenAI, else 0 */
                         .no_cache = no_cache,
                         .timeout_connect_s = 10,
                         .timeout_first_token_s = 300,
                         .timeout_total_s = 600,
                         .retries = 2};
    return client_send(c, &rq, out, NULL, err);
}

/* Fills the verdicts from the three requests' counts or TTFTs. */
static void probe_judge(const probe_info *info, probe_cache_result *out)
{
    out->reports_cached = out->warm.cached_tokens >= 0 && out->cold.cached_tokens >= 0;
    double px = (double)out->prefix_tokens;
    /* OpenAI caches in 128-token steps: a warm hit may miss the last step. */
    double step = strcmp(info->server, "openai") == 0 ? 128 : 0;
    if (out->reports_cached) {
        out->honours_cold = (double)out->cold.cached_tokens < 0.1 * px;
        out->cache_works = (double)out->warm.cached_tokens >= 0.9 * px - step;
    } else {
        out->inferred = true;
        out->honours_cold = true; /* cannot be checked; a nonce is assumed to work */
        out->cache_works = !isnan(out->warm.ttft_ms) && !isnan(out->cold.ttft_ms) &&
                           out->warm.ttft_ms < 0.8 * out->cold.ttft_ms;
    }
}

/* Marks the requests not sent, and says why the check did not run. */
static void probe_not_run(probe_cache_result *out, const char *why)
{
    trial_request *rs[] = {&out->prime, &out->warm, &out->cold};
    for (size_t i = 0; i < 3; i++)
        if (rs[i]->attempts == 0) {
            rs[i]->prompt_tokens = rs[i]->cached_tokens = rs[i]->output_tokens = -1;
            rs[i]->ttfb_ms = rs[i]->ttft_ms = rs[i]->total_ms = NAN;
            rs[i]->server_prefill_ms = NAN;
            snprintf(rs[i]->error, sizeof rs[i]->error, "not run");
        }
    out->ran = false;
    snprintf(out->not_run, sizeof out->not_run, "%s", why);
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
    spec_target t = {.name = url,
                     .base_url = url,
                     .api = info->api,
                     .model = mdl,
                     .api_key_env = key_env,
                     .openai_hosted = strcmp(info->server, "openai") == 0};
    bool llama = dialect_honours_no_cache(info->api);
    out->cold_method = llama ? "cache_prompt:false" : "nonce";
    out->min_cache_tokens = probe_cache_min_tokens(info);
    long words = PROBE_PROMPT_WORDS;
    if (words < out->min_cache_tokens + out->min_cache_tokens / 4)
        words = out->min_cache_tokens + out->min_cache_tokens / 4;
    out->prefix_tokens = words;
    probe_not_run(out, "");
    if (!url || (api_key_env && !key_env) || (info->model && !mdl)) {
        st = kv_fail(err, KV_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (strcmp(info->server, "unknown") == 0 && strcmp(info->detected_by, "--api") != 0) {
        probe_not_run(out, "no known server answered, so the generation endpoint is unknown "
                           "(name the dialect with --api)");
        goto out;
    }
    uint64_t nonce = kv_hash64(&(int64_t){kv_now_ns()}, sizeof(int64_t), 7) | 1;
    if (probe_prompt(0, words, &warm_p) != KV_OK ||
        probe_prompt(llama ? 0 : nonce, words, &cold_p) != KV_OK) {
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
        (st = probe_one(c, &t, info->api, cold_p.data, llama, &out->cold, err)) != KV_OK) {
        char why[300];
        snprintf(why, sizeof why, "%s %s failed: %.200s", dialect_path(info->api),
                 out->prime.ok ? (out->warm.ok ? "cold request" : "warm request") : "first request",
                 err);
        probe_not_run(out, why);
        goto out;
    }
    out->ran = true;
    out->not_run[0] = '\0';
    if (n <= 0 && out->prime.prompt_tokens > 0) /* no tokenizer: the server's own count */
        out->warm.prefix_tokens = out->cold.prefix_tokens = out->prefix_tokens =
            out->prime.prompt_tokens;
    probe_absent_cached(info->api, out);
    probe_judge(info, out);
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
            cJSON_AddBoolToObject(cc, "ran", cache->ran);
            if (!cache->ran)
                cJSON_AddStringToObject(cc, "not_run", cache->not_run);
            cJSON_AddNumberToObject(cc, "min_cache_tokens", (double)cache->min_cache_tokens);
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
