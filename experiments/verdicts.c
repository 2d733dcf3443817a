/* verdicts.c - the headline of a results.json (verdicts.h). */
#include "experiments/verdicts.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/util.h"

static void copy_str(char *dst, size_t n, const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    snprintf(dst, n, "%s", cJSON_IsString(v) ? v->valuestring : "");
}

static double num_or_nan(const cJSON *v)
{
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static long count_of(const cJSON *counts, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(counts, key);
    return cJSON_IsNumber(v) ? (long)v->valuedouble : -1;
}

kv_status verdicts_load(const char *results_path, verdicts *out, char *err)
{
    char *text = NULL;
    size_t len = 0;
    cJSON *root = NULL;
    kv_status st;
    memset(out, 0, sizeof *out);
    st = kv_read_file(results_path, &text, &len, err);
    if (st != KV_OK)
        return st;
    root = cJSON_ParseWithLength(text, len);
    if (!cJSON_IsObject(root)) {
        st = kv_fail(err, KV_ERR_INPUT, "%s: not a JSON object", results_path);
        goto out;
    }
    out->simulated = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "simulated"));
    out->partial = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "partial"));
    const cJSON *counts = cJSON_GetObjectItemCaseSensitive(root, "counts");
    out->planned = count_of(counts, "planned");
    out->completed = count_of(counts, "completed");
    out->failed = count_of(counts, "failed");
    out->contaminated = count_of(counts, "contaminated");
    const cJSON *verdict = cJSON_GetObjectItemCaseSensitive(root, "verdict");
    const cJSON *summary = cJSON_GetObjectItemCaseSensitive(verdict, "summary");
    if (cJSON_IsString(summary)) {
        out->summary = strdup(summary->valuestring);
        if (!out->summary) {
            st = kv_fail(err, KV_ERR_NOMEM, "out of memory");
            goto out;
        }
    }
    const cJSON *hyps = cJSON_GetObjectItemCaseSensitive(root, "hypotheses");
    int n = cJSON_IsArray(hyps) ? cJSON_GetArraySize(hyps) : 0;
    if (n > 0) {
        out->h = calloc((size_t)n, sizeof *out->h);
        if (!out->h) {
            st = kv_fail(err, KV_ERR_NOMEM, "out of memory");
            goto out;
        }
    }
    const cJSON *hj;
    cJSON_ArrayForEach(hj, hyps)
    {
        if (!cJSON_IsObject(hj))
            continue;
        verdict_hypothesis *vh = &out->h[out->n++];
        copy_str(vh->id, sizeof vh->id, hj, "id");
        copy_str(vh->metric, sizeof vh->metric, hj, "metric");
        copy_str(vh->target, sizeof vh->target, hj, "target");
        copy_str(vh->criterion, sizeof vh->criterion, hj, "criterion");
        copy_str(vh->verdict, sizeof vh->verdict, hj, "verdict");
        copy_str(vh->reason, sizeof vh->reason, hj, "reason");
        const cJSON *est = cJSON_GetObjectItemCaseSensitive(hj, "estimate");
        vh->value = num_or_nan(cJSON_GetObjectItemCaseSensitive(est, "value"));
        const cJSON *ci = cJSON_GetObjectItemCaseSensitive(est, "ci");
        vh->lo = cJSON_IsArray(ci) ? num_or_nan(cJSON_GetArrayItem(ci, 0)) : NAN;
        vh->hi = cJSON_IsArray(ci) ? num_or_nan(cJSON_GetArrayItem(ci, 1)) : NAN;
        vh->level = num_or_nan(cJSON_GetObjectItemCaseSensitive(est, "level"));
        if (!(vh->level > 0 && vh->level < 1))
            vh->level = 0.95;
    }
    st = KV_OK;
out:
    cJSON_Delete(root);
    free(text);
    if (st != KV_OK)
        verdicts_clear(out);
    return st;
}

void verdicts_clear(verdicts *v)
{
    if (!v)
        return;
    free(v->summary);
    free(v->h);
    memset(v, 0, sizeof *v);
}
