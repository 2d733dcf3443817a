/* spec_canon.c - the canonical JSON form of a validated spec: compact, keys
 * in a fixed order, every default written out and optional values as null,
 * so that two specs meaning the same experiment hash the same (spec->hash).
 * Integers are written exactly (not through a double format).
 */
#include "experiments/spec.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "experiments/jsonadd.h"
#include "experiments/spec_contention.h"

/* Each adder returns false when cJSON ran out of memory. */
static bool add_uint(cJSON *o, const char *k, uint64_t v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
    return cJSON_AddRawToObject(o, k, buf) != NULL;
}

static bool add_num(cJSON *o, const char *k, double v)
{
    if (isnan(v))
        return cJSON_AddNullToObject(o, k) != NULL;
    return cJSON_AddNumberToObject(o, k, v) != NULL;
}

static bool add_str(cJSON *o, const char *k, const char *v)
{
    if (!v)
        return cJSON_AddNullToObject(o, k) != NULL;
    return cJSON_AddStringToObject(o, k, v) != NULL;
}

static bool add_list(cJSON *o, const char *k, const long *v, size_t n)
{
    cJSON *a = cJSON_AddArrayToObject(o, k);
    if (!a)
        return false;
    for (size_t i = 0; i < n; i++) {
        char buf[32];
        snprintf(buf, sizeof buf, "%ld", v[i]);
        cJSON *e = cJSON_CreateRaw(buf);
        if (!e || !cJSON_AddItemToArray(a, e)) {
            cJSON_Delete(e);
            return false;
        }
    }
    return true;
}

static bool add_target(cJSON *arr, const void *item)
{
    const spec_target *t = item;
    cJSON *o = jsonadd_object(arr);
    if (!o)
        return false;
    if (!add_str(o, "name", t->name) || !add_str(o, "base_url", t->base_url) ||
        !add_str(o, "api", spec_api_name(t->api)) || !add_str(o, "model", t->model) ||
        !add_str(o, "api_key_env", t->api_key_env))
        return false;
    cJSON *h = cJSON_AddObjectToObject(o, "headers");
    if (!h)
        return false;
    for (size_t i = 0; i < t->n_headers; i++)
        if (!add_str(h, t->headers[i].name, t->headers[i].value))
            return false;
    /* Only when given: specs without it keep their canonical text and hash. */
    return !t->ca_file || add_str(o, "ca_file", t->ca_file);
}

static bool add_hypothesis(cJSON *arr, const void *item)
{
    const spec_hypothesis *h = item;
    cJSON *o = jsonadd_object(arr);
    if (!o)
        return false;
    bool ok = add_str(o, "id", h->id) && add_str(o, "description", h->description) &&
              add_str(o, "metric", spec_metric_name(h->metric)) &&
              add_str(o, "target", h->target) &&
              jsonadd_int(o, "at_system_prompt_tokens", h->system_prompt_tokens);
    if (ok && h->query_count >= 0)
        ok = jsonadd_int(o, "at_query_count", h->query_count);
    else if (ok)
        ok = cJSON_AddNullToObject(o, "at_query_count") != NULL;
    return ok && add_num(o, "min", h->min) && add_num(o, "max", h->max);
}

/* o[k] = an array of the n items (size bytes apart), each written by add. */
static bool add_each(cJSON *o, const char *k, const void *items, size_t n, size_t size,
                     bool (*add)(cJSON *arr, const void *item))
{
    cJSON *arr = cJSON_AddArrayToObject(o, k);
    if (!arr)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!add(arr, (const char *)items + i * size))
            return false;
    return true;
}

static bool build(cJSON *root, const spec *s)
{
    if (!add_str(root, "name", s->name) || !add_str(root, "description", s->description) ||
        !add_uint(root, "seed", s->seed))
        return false;
    if (!add_each(root, "targets", s->targets, s->n_targets, sizeof *s->targets, add_target))
        return false;
    cJSON *w = cJSON_AddObjectToObject(root, "workload");
    if (!w ||
        !add_list(w, "system_prompt_tokens", s->system_prompt_tokens, s->n_system_prompt_tokens) ||
        !add_list(w, "query_tokens", s->query_tokens, s->n_query_tokens) ||
        !jsonadd_int(w, "max_output_tokens", s->max_output_tokens) ||
        !add_str(w, "corpus", s->corpus_name) || !add_num(w, "temperature", s->temperature))
        return false;
    cJSON *ses = cJSON_AddObjectToObject(root, "sessions");
    if (!ses || !add_list(ses, "query_counts", s->query_counts, s->n_query_counts))
        return false;
    /* An absent filter means every length: write the full list. */
    if (!add_list(ses, "system_prompt_tokens",
                  s->n_session_system_prompt_tokens ? s->session_system_prompt_tokens
                                                    : s->system_prompt_tokens,
                  s->n_session_system_prompt_tokens ? s->n_session_system_prompt_tokens
                                                    : s->n_system_prompt_tokens) ||
        !add_list(ses, "query_tokens",
                  s->n_session_query_tokens ? s->session_query_tokens : s->query_tokens,
                  s->n_session_query_tokens ? s->n_session_query_tokens : s->n_query_tokens))
        return false;
    cJSON *modes = cJSON_AddArrayToObject(root, "cache_modes");
    if (!modes)
        return false;
    if (s->cold && !cJSON_AddItemToArray(modes, cJSON_CreateString("cold")))
        return false;
    if (s->warm && !cJSON_AddItemToArray(modes, cJSON_CreateString("warm")))
        return false;
    if (!jsonadd_int(root, "repetitions", s->repetitions) ||
        !jsonadd_int(root, "warmup_requests", s->warmup_requests) ||
        !add_str(root, "order", s->order == SPEC_ORDER_BLOCKED ? "blocked" : "random"))
        return false;
    cJSON *t = cJSON_AddObjectToObject(root, "timeouts");
    if (!t || !add_num(t, "connect", s->timeout_connect_s) ||
        !add_num(t, "first_token", s->timeout_first_token_s) ||
        !add_num(t, "total", s->timeout_total_s))
        return false;
    if (!jsonadd_int(root, "retries", s->retries) ||
        !jsonadd_int(root, "concurrency", s->concurrency))
        return false;
    if (!add_each(root, "hypotheses", s->hypotheses, s->n_hypotheses, sizeof *s->hypotheses,
                  add_hypothesis) ||
        !spec_contention_canon(root, &s->contention))
        return false;
    if (!s->stop.enabled)
        return cJSON_AddNullToObject(root, "stop") != NULL;
    cJSON *st = cJSON_AddObjectToObject(root, "stop");
    return st && add_num(st, "target_rel_ci", s->stop.target_rel_ci) &&
           jsonadd_int(st, "min_repetitions", s->stop.min_repetitions) &&
           jsonadd_int(st, "max_trials", s->stop.max_trials) &&
           add_num(st, "max_minutes", s->stop.max_minutes);
}

kv_status spec_canon_json(const spec *s, char **out)
{
    *out = NULL;
    cJSON *root = cJSON_CreateObject();
    if (!root || !build(root, s)) {
        cJSON_Delete(root);
        return KV_ERR_NOMEM;
    }
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!text)
        return KV_ERR_NOMEM;
    /* cJSON_free and free may differ in principle; hand the caller a malloc copy. */
    size_t n = strlen(text);
    char *copy = malloc(n + 1);
    if (copy)
        memcpy(copy, text, n + 1);
    cJSON_free(text);
    *out = copy;
    return copy ? KV_OK : KV_ERR_NOMEM;
}
