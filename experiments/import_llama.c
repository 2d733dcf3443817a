/* import_llama.c - llama-bench's JSON (-o json: one array) or JSON Lines
 * (-o jsonl) output as trials (import.h). Field names: llama.cpp
 * tools/llama-bench/llama-bench.cpp (test::get_fields) and its README.
 *
 * A prompt-processing test (n_prompt > 0, n_gen == 0) gives one trial per
 * entry of samples_ns: llama-bench clears the context before every
 * repetition and, with n_depth > 0, restores n_depth tokens of context
 * outside the timed region, so a sample is the engine's time to process
 * n_prompt new tokens after n_depth cached ones. Mode: cold at n_depth 0,
 * warm (prefix n_depth) above, by construction; cache_state unknown (no
 * server count). ttft_ms and server_prefill_ms both hold the sample (no
 * HTTP, no token sampled). Generation tests (n_gen > 0) are skipped.
 */
#include "experiments/import.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

/* "2025-04-24T11:58:50Z" as seconds since the epoch; 0 when absent or
 * malformed (the journal's "start unknown"). */
static double test_time(const cJSON *rec)
{
    const char *s = import_str(rec, "test_time");
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                     &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (double)timegm(&tm);
}

/* The target of a record: by model file, named with its build. */
static kv_status llama_target(import_ctx *c, const cJSON *rec, size_t *index, char *err)
{
    const char *model = import_str(rec, "model_filename");
    if (!model)
        model = import_str(rec, "model_type");
    const char *commit = import_str(rec, "build_commit");
    long build = -1;
    char version[96] = "", props[1024];
    if (commit && import_int(rec, "build_number", &build))
        snprintf(version, sizeof version, "%s (build %ld)", commit, build);
    else if (commit)
        snprintf(version, sizeof version, "%s", commit);
    static const char *const keep[] = {"cpu_info", "gpu_info", "backends", "model_type"};
    cJSON *p = cJSON_CreateObject();
    for (size_t i = 0; p && i < sizeof keep / sizeof keep[0]; i++)
        if (import_str(rec, keep[i]))
            cJSON_AddStringToObject(p, keep[i], import_str(rec, keep[i]));
    char *text = p ? cJSON_PrintUnformatted(p) : NULL;
    snprintf(props, sizeof props, "%s", text ? text : "{}");
    cJSON_free(text);
    cJSON_Delete(p);
    char host[512];
    const char *cpu = import_str(rec, "cpu_info");
    snprintf(host, sizeof host, "unknown; %s; unknown", cpu ? cpu : "unknown");
    kv_status st = import_client_host(c, host, err);
    if (st == KV_OK)
        st = import_target(c, model, "llama-bench", version[0] ? version : NULL, props, index, err);
    return st;
}

static kv_status llama_sample(import_ctx *c, const cJSON *rec, size_t target, long n_prompt,
                              long n_depth, double ns, char *err)
{
    static const char *const drop[] = {"samples_ns", "samples_ts"};
    trial_record t;
    memset(&t, 0, sizeof t);
    t.kind = PLAN_MEASURE;
    t.target = target;
    t.system_prompt_tokens = n_depth;
    t.query_tokens = n_prompt;
    t.mode = n_depth > 0 ? SPEC_WARM : SPEC_COLD;
    t.started_unix = test_time(rec);
    t.ok = true;
    if (import_one_turn(&t, err) != KV_OK)
        return KV_ERR_NOMEM;
    trial_request *r = &t.turns[0];
    r->ok = true;
    r->prompt_tokens = n_depth + n_prompt;
    r->prefix_tokens = n_depth;
    r->output_tokens = 0;
    r->ttft_ms = r->server_prefill_ms = r->total_ms = ns / 1e6;
    r->raw = import_raw(rec, drop, 2);
    if (!r->raw) {
        trial_record_clear(&t);
        return kv_fail(err, KV_ERR_NOMEM, "out of memory");
    }
    return import_add(c, &t, err);
}

static kv_status llama_record(import_ctx *c, const cJSON *rec, const char *where, char *err)
{
    long n_prompt = 0, n_gen = 0, n_depth = 0;
    if (!cJSON_IsObject(rec))
        return import_bad(err, where, "", "a llama-bench result object");
    if (!import_int(rec, "n_prompt", &n_prompt))
        return import_bad(err, where, "n_prompt", "a non-negative integer");
    if (!import_int(rec, "n_gen", &n_gen))
        return import_bad(err, where, "n_gen", "a non-negative integer");
    if (cJSON_GetObjectItemCaseSensitive(rec, "n_depth") && !import_int(rec, "n_depth", &n_depth))
        return import_bad(err, where, "n_depth", "a non-negative integer");
    if (n_gen > 0 || n_prompt == 0) {
        import_skip(c, "llama-bench generation tests (n_gen > 0) measure decoding, not prefill");
        return KV_OK;
    }
    double *ns = NULL;
    size_t n = 0;
    if (!import_nums(rec, "samples_ns", &ns, &n))
        return import_bad(err, where, "samples_ns", "an array of numbers (llama-bench -o json)");
    size_t target = 0;
    kv_status st = llama_target(c, rec, &target, err);
    for (size_t i = 0; st == KV_OK && i < n; i++)
        st = ns[i] > 0 ? llama_sample(c, rec, target, n_prompt, n_depth, ns[i], err)
                       : import_bad(err, where, "samples_ns", "positive nanoseconds");
    free(ns);
    return st;
}

kv_status import_llama_parse(import_ctx *c, const char *text, size_t len, const char *path,
                             char *err)
{
    return import_each(c, text, len, path, true, llama_record, err);
}
