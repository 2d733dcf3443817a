/* import_vllm.c - `vllm bench serve --save-result --save-detailed` output
 * as trials (import.h). Field names: vllm-project/vllm
 * vllm/benchmarks/serve.py (benchmark's result dict, main_async's
 * result_json); --append-result files hold one JSON document per line.
 *
 * One trial per request i: prompt_tokens input_lens[i] (the engine's
 * usage.prompt_tokens), output_tokens output_lens[i], ttft_ms ttfts[i]
 * (seconds there), the gaps from itls[i], last_token_ms ttft + sum(itls[i]);
 * errors[i] non-empty makes it failed. vllm saves no end-to-end latency
 * (total_ms null), no wall-clock start (started_unix 0), no cached-token
 * count and nothing that says whether a prefix was cached: mode "unknown",
 * cache_state "unknown", nominal lengths -1.
 */
#include "experiments/import.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

typedef struct vreq {
    double *ttfts, *in, *out, *starts;
    size_t n, n_in, n_out, n_starts;
    const cJSON *itls, *errors;
} vreq;

static void vreq_free(vreq *v)
{
    free(v->ttfts);
    free(v->in);
    free(v->out);
    free(v->starts);
}

/* The arrays of a result; every present one as long as ttfts. */
static kv_status vreq_load(const cJSON *rec, const char *where, vreq *v, char *err)
{
    const char *hint = "an array of numbers (saved with --save-result --save-detailed)";
    if (!import_nums(rec, "ttfts", &v->ttfts, &v->n))
        return import_bad(err, where, "ttfts", hint);
    if (!import_nums(rec, "input_lens", &v->in, &v->n_in) || v->n_in != v->n)
        return import_bad(err, where, "input_lens", "an array of token counts as long as ttfts");
    if (cJSON_GetObjectItemCaseSensitive(rec, "output_lens") &&
        (!import_nums(rec, "output_lens", &v->out, &v->n_out) || v->n_out != v->n))
        return import_bad(err, where, "output_lens", "an array of token counts as long as ttfts");
    if (cJSON_GetObjectItemCaseSensitive(rec, "start_times") &&
        (!import_nums(rec, "start_times", &v->starts, &v->n_starts) || v->n_starts != v->n))
        return import_bad(err, where, "start_times", "an array of numbers as long as ttfts");
    v->itls = cJSON_GetObjectItemCaseSensitive(rec, "itls");
    v->errors = cJSON_GetObjectItemCaseSensitive(rec, "errors");
    if (v->itls && (!cJSON_IsArray(v->itls) || (size_t)cJSON_GetArraySize(v->itls) != v->n))
        return import_bad(err, where, "itls", "an array of arrays as long as ttfts");
    if (v->errors && (!cJSON_IsArray(v->errors) || (size_t)cJSON_GetArraySize(v->errors) != v->n))
        return import_bad(err, where, "errors", "an array of strings as long as ttfts");
    return KV_OK;
}

/* The gaps of request i (seconds in the file) into the turn, in ms. */
static kv_status vreq_gaps(const vreq *v, size_t i, const char *where, trial_request *r, char *err)
{
    const cJSON *a = v->itls ? cJSON_GetArrayItem(v->itls, (int)i) : NULL;
    if (!a)
        return KV_OK;
    size_t n = cJSON_IsArray(a) ? (size_t)cJSON_GetArraySize(a) : 0;
    double *g = malloc((n ? n : 1) * sizeof *g), sum = 0;
    if (!g)
        return kv_fail(err, KV_ERR_NOMEM, "out of memory");
    size_t k = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, a)
    {
        if (!cJSON_IsNumber(it) || !(it->valuedouble >= 0)) {
            free(g);
            return import_bad(err, where, "itls", "arrays of non-negative seconds");
        }
        g[k++] = it->valuedouble * 1000;
        sum += it->valuedouble * 1000;
    }
    if (!cJSON_IsArray(a)) {
        free(g);
        return import_bad(err, where, "itls", "arrays of non-negative seconds");
    }
    if (r->ok && isfinite(r->ttft_ms))
        r->last_token_ms = r->ttft_ms + sum;
    import_gaps(g, k, &r->gap_median_ms, &r->gap_p99_ms);
    free(g);
    return KV_OK;
}

static kv_status vreq_trial(import_ctx *c, const vreq *v, size_t i, size_t target,
                            const char *where, char *err)
{
    trial_record t;
    memset(&t, 0, sizeof t);
    t.kind = PLAN_MEASURE;
    t.target = target;
    t.system_prompt_tokens = t.query_tokens = -1;
    t.mode = SPEC_MODE_UNKNOWN;
    const cJSON *e = v->errors ? cJSON_GetArrayItem(v->errors, (int)i) : NULL;
    t.ok = !e || cJSON_IsNull(e) || (cJSON_IsString(e) && !e->valuestring[0]);
    snprintf(t.error, sizeof t.error, "%s", t.ok ? "" : cJSON_IsString(e) ? e->valuestring : "?");
    if (import_one_turn(&t, err) != KV_OK)
        return KV_ERR_NOMEM;
    trial_request *r = &t.turns[0];
    r->ok = t.ok;
    snprintf(r->error, sizeof r->error, "%s", t.error);
    r->prompt_tokens = v->in[i] >= 0 ? (long)v->in[i] : -1;
    r->output_tokens = v->out && v->out[i] >= 0 ? (long)v->out[i] : -1;
    r->ttft_ms = t.ok && v->ttfts[i] > 0 ? v->ttfts[i] * 1000 : NAN;
    kv_status st = vreq_gaps(v, i, where, r, err);
    char raw[96];
    snprintf(raw, sizeof raw, "{\"request\":%zu", i);
    if (v->starts)
        snprintf(raw + strlen(raw), sizeof raw - strlen(raw), ",\"start_time\":%.17g",
                 v->starts[i]);
    strncat(raw, "}", sizeof raw - strlen(raw) - 1);
    r->raw = strdup(raw);
    if (st == KV_OK && !r->raw)
        st = kv_fail(err, KV_ERR_NOMEM, "out of memory");
    if (st != KV_OK) {
        trial_record_clear(&t);
        return st;
    }
    return import_add(c, &t, err);
}

static kv_status vllm_record(import_ctx *c, const cJSON *rec, const char *where, char *err)
{
    if (!cJSON_IsObject(rec))
        return import_bad(err, where, "", "a vllm bench serve result object");
    vreq v;
    memset(&v, 0, sizeof v);
    kv_status st = vreq_load(rec, where, &v, err);
    char dialect[128];
    const char *backend = import_str(rec, "backend");
    snprintf(dialect, sizeof dialect, "vllm bench serve%s%s%s", backend ? " (" : "",
             backend ? backend : "", backend ? ")" : "");
    size_t target = 0;
    if (st == KV_OK)
        st = import_target(c, import_str(rec, "model_id"), dialect, NULL, NULL, &target, err);
    for (size_t i = 0; st == KV_OK && i < v.n; i++)
        st = vreq_trial(c, &v, i, target, where, err);
    vreq_free(&v);
    return st;
}

kv_status import_vllm_parse(import_ctx *c, const char *text, size_t len, const char *path,
                            char *err)
{
    return import_each(c, text, len, path, false, vllm_record, err);
}
