/* import_aiperf.c - AIPerf's profile_export.jsonl (one request record per
 * line) as trials (import.h). Field names: ai-dynamo/aiperf
 * docs/tutorials/working-with-profile-exports.md and its example
 * examples/artifacts/run1/profile_export.jsonl.
 *
 * One trial per record: prompt_tokens metrics.input_sequence_length,
 * output_tokens metrics.output_sequence_length, ttft_ms metrics.ttft,
 * total_ms metrics.request_latency, the gaps from
 * metrics.inter_chunk_latency (each metric {value, unit}, converted to
 * milliseconds from its unit), started_unix metadata.timestamp_ns; a record
 * with an error object is failed (its code as http_status); credit_phase
 * "warmup" makes a warm-up trial. AIPerf reports no cached-token count and
 * nothing that fixes the cache state: mode "unknown", cache_state
 * "unknown", nominal lengths -1.
 */
#include "experiments/import.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

/* Milliseconds per unit of a time metric; 0 for a unit that is not time. */
static double ms_per(const char *unit)
{
    static const struct {
        const char *name;
        double ms;
    } units[] = {{"ms", 1}, {"ns", 1e-6}, {"us", 1e-3}, {"s", 1e3}, {"sec", 1e3}};
    for (size_t i = 0; unit && i < sizeof units / sizeof units[0]; i++)
        if (strcmp(unit, units[i].name) == 0)
            return units[i].ms;
    return 0;
}

/* metrics[name] as a time in ms (NAN when absent); false when present but
 * not a {value, unit} time. */
static bool metric_ms(const cJSON *metrics, const char *name, double *out)
{
    *out = NAN;
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(metrics, name);
    if (!m)
        return true;
    double v, k = ms_per(import_str(m, "unit"));
    if (!import_num(m, "value", &v) || k == 0)
        return false;
    *out = v * k;
    return true;
}

static long metric_tokens(const cJSON *metrics, const char *name)
{
    long v = -1;
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(metrics, name);
    return m && import_int(m, "value", &v) ? v : -1;
}

/* The inter-chunk gaps into the turn; last_token_ms = ttft + their sum. */
static kv_status aiperf_gaps(const cJSON *metrics, const char *where, trial_request *r, char *err)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(metrics, "inter_chunk_latency");
    if (!m)
        return KV_OK;
    double *g = NULL, k = ms_per(import_str(m, "unit")), sum = 0;
    size_t n = 0;
    if (k == 0 || !import_nums(m, "value", &g, &n))
        return import_bad(err, where, "metrics.inter_chunk_latency",
                          "{\"value\": [times], \"unit\": a time unit}");
    for (size_t i = 0; i < n; i++) {
        g[i] *= k;
        sum += g[i];
    }
    if (isfinite(r->ttft_ms))
        r->last_token_ms = r->ttft_ms + sum;
    import_gaps(g, n, &r->gap_median_ms, &r->gap_p99_ms);
    free(g);
    return KV_OK;
}

/* The error object of a record into t and its turn. */
static void aiperf_error(const cJSON *rec, trial_record *t, trial_request *r)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(rec, "error");
    t->ok = r->ok = !e || cJSON_IsNull(e);
    if (t->ok)
        return;
    long code = 0;
    if (import_int(e, "code", &code) && code < 1000)
        r->http_status = (int)code;
    const char *type = import_str(e, "type"), *msg = import_str(e, "message");
    snprintf(t->error, sizeof t->error, "%s%s%s", type ? type : "error", msg ? ": " : "",
             msg ? msg : "");
    snprintf(r->error, sizeof r->error, "%s", t->error);
}

static kv_status aiperf_turn(const cJSON *rec, const cJSON *metrics, const char *where,
                             trial_record *t, char *err)
{
    trial_request *r = &t->turns[0];
    import_turn_init(r);
    aiperf_error(rec, t, r);
    r->prompt_tokens = metric_tokens(metrics, "input_sequence_length");
    r->output_tokens = metric_tokens(metrics, "output_sequence_length");
    if (!metric_ms(metrics, "ttft", &r->ttft_ms))
        return import_bad(err, where, "metrics.ttft", "{\"value\": a time, \"unit\": \"ms\"}");
    if (!metric_ms(metrics, "request_latency", &r->total_ms))
        return import_bad(err, where, "metrics.request_latency",
                          "{\"value\": a time, \"unit\": \"ms\"}");
    kv_status st = aiperf_gaps(metrics, where, r, err);
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(rec, "metadata");
    if (st == KV_OK && md) {
        r->raw = cJSON_PrintUnformatted(md);
        char *copy = r->raw ? strdup(r->raw) : NULL;
        cJSON_free(r->raw);
        r->raw = copy;
    }
    return st;
}

static kv_status aiperf_record(import_ctx *c, const cJSON *rec, const char *where, char *err)
{
    if (!cJSON_IsObject(rec))
        return import_bad(err, where, "", "an AIPerf record object");
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(rec, "metadata");
    const cJSON *metrics = cJSON_GetObjectItemCaseSensitive(rec, "metrics");
    if (!cJSON_IsObject(md))
        return import_bad(err, where, "metadata", "an object");
    if (!cJSON_IsObject(metrics))
        return import_bad(err, where, "metrics", "an object");
    trial_record t;
    memset(&t, 0, sizeof t);
    const char *phase = import_str(md, "credit_phase");
    t.kind = phase && strcmp(phase, "warmup") == 0 ? PLAN_WARMUP : PLAN_MEASURE;
    t.system_prompt_tokens = t.query_tokens = -1;
    t.mode = SPEC_MODE_UNKNOWN;
    double ns = 0;
    t.started_unix = import_num(md, "timestamp_ns", &ns) ? ns / 1e9 : 0;
    kv_status st = import_target(c, NULL, "aiperf", NULL, NULL, &t.target, err);
    if (st != KV_OK)
        return st;
    t.n_turns = 1;
    t.turns = malloc(sizeof *t.turns);
    if (!t.turns)
        return kv_fail(err, KV_ERR_NOMEM, "out of memory");
    st = aiperf_turn(rec, metrics, where, &t, err);
    if (st != KV_OK) {
        trial_record_clear(&t);
        return st;
    }
    return import_add(c, &t, err);
}

kv_status import_aiperf_parse(import_ctx *c, const char *text, size_t len, const char *path,
                              char *err)
{
    return import_each(c, text, len, path, false, aiperf_record, err);
}
