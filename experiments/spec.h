/* spec.h - the experiment specification: what to measure, against which
 * servers, how often and in which order. docs/spec.md documents every JSON
 * field with units and defaults; this header is the in-memory contract the
 * plan, the runner and the statistics read.
 *
 * Ownership: spec_load/spec_parse return a spec the caller releases with
 * spec_free (spec_free(NULL) is a no-op). Every string and array inside is
 * owned by the spec.
 */
#ifndef KV_SPEC_H
#define KV_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "common/util.h"
#include "experiments/spec_contention.h"

typedef enum spec_api {
    SPEC_API_AUTO = 0,
    SPEC_API_OPENAI_CHAT,
    SPEC_API_OPENAI_COMPLETIONS,
    SPEC_API_LLAMACPP,
    SPEC_API_OLLAMA,
    SPEC_API_LMSTUDIO,
    SPEC_API_ANTHROPIC,
    SPEC_API_LMSTUDIO_CHAT,       /* LM Studio 0.4+ /api/v1/chat (named SSE events) */
    SPEC_API_LLAMACPP_COMPLETION, /* llama.cpp native POST /completion */
    SPEC_API_SGLANG_GENERATE      /* SGLang native POST /generate */
} spec_api;

/* SPEC_MODE_UNKNOWN: journal only, for imported data whose source does not
 * say whether the cache held the prompt (never in a spec or a plan). */
typedef enum spec_cache_mode {
    SPEC_COLD = 0,
    SPEC_WARM = 1,
    SPEC_MODE_UNKNOWN = 2
} spec_cache_mode;
typedef enum spec_order { SPEC_ORDER_RANDOM = 0, SPEC_ORDER_BLOCKED } spec_order;

typedef struct spec_header {
    char *name;  /* HTTP header name */
    char *value; /* literal value (never a secret: keys come from api_key_env) */
} spec_header;

typedef struct spec_target {
    char *name;        /* unique label used in journals and reports */
    char *base_url;    /* e.g. "http://127.0.0.1:8080" (no trailing slash) */
    spec_api api;      /* wire dialect; SPEC_API_AUTO = detect with probe */
    char *model;       /* model name sent in requests; may be NULL */
    char *api_key_env; /* NAME of an environment variable holding the key; NULL if none */
    char *ca_file;     /* PEM bundle of CAs trusted for https:// (a private CA); NULL =
                          CURL_CA_BUNDLE, SSL_CERT_FILE or the system store */
    spec_header *headers;
    size_t n_headers;
    bool openai_hosted; /* OpenAI's own API, as the probe found it (never read from
                           the spec file): chat requests get OpenAI's parameters
                           (dialect_is_hosted_openai) */
} spec_target;

typedef enum spec_metric {
    SPEC_METRIC_OVERHEAD_FRACTION = 0, /* (T(L) - T(0)) / T(L), cold, dimensionless */
    SPEC_METRIC_SPEEDUP,               /* cold / warm time to first token, ratio */
    SPEC_METRIC_SESSION_SPEEDUP,       /* session total without / with cache, ratio */
    SPEC_METRIC_PREFILL_MS_PER_TOKEN,  /* slope of the cold model, ms/token */
    SPEC_METRIC_WARM_CAPACITY          /* largest agent count whose contention hit rate
                                          stays >= 90%, agents (stats/warm.h) */
} spec_metric;

typedef struct spec_hypothesis {
    char *id;          /* e.g. "H1" */
    char *description; /* plain-language statement; may be NULL */
    spec_metric metric;
    char *target;              /* target name, or NULL for every target */
    long system_prompt_tokens; /* length the metric is taken at; -1 = the largest
                                  (the loader resolves the default, so a loaded
                                  spec holds the actual length) */
    long query_count;          /* session length for session_speedup (resolved like
                                  system_prompt_tokens); -1 for other metrics */
    double min;                /* lower bound of the criterion; NAN when none */
    double max;                /* upper bound of the criterion; NAN when none */
} spec_hypothesis;

typedef struct spec_stop {
    bool enabled;
    double target_rel_ci; /* target relative 95% CI half-width of each cell's median */
    long min_repetitions; /* never stop a cell before this many repetitions */
    long max_trials;      /* hard cap on measured trials; 0 = none */
    double max_minutes;   /* wall-clock cap; 0 = none */
} spec_stop;

typedef struct spec {
    char *path;        /* file the spec came from (for messages) */
    char *name;        /* required */
    char *description; /* may be NULL */
    uint64_t seed;     /* order and prompt synthesis seed; default 1 */
    uint64_t hash;     /* kv_hash64 of the canonical JSON text */
    char *canonical;   /* the spec as compact JSON with defaults filled in */

    spec_target *targets;
    size_t n_targets;

    long *system_prompt_tokens; /* sweep, tokens, each >= 0 */
    size_t n_system_prompt_tokens;
    long *query_tokens; /* sweep, tokens, each >= 1 */
    size_t n_query_tokens;
    long max_output_tokens; /* tokens generated per request; default 1 */
    char *corpus;           /* path of the text prompts are synthesised from, resolved
                               (current directory first, then the source tree) */
    char *corpus_name;      /* the corpus path as the spec gives it (canonical form) */
    double temperature;     /* default 0 */
    bool temperature_set;   /* the spec gives `temperature` (else requests carry
                               NAN: 0 to local servers, none to hosted OpenAI,
                               whose reasoning models reject it) */

    long *query_counts; /* session lengths (queries per conversation); default [1] */
    size_t n_query_counts;
    /* Sessions longer than one query run only at these lengths (subsets of
     * the workload's lists); NULL/0 = at every length. */
    long *session_system_prompt_tokens;
    size_t n_session_system_prompt_tokens;
    long *session_query_tokens;
    size_t n_session_query_tokens;

    bool cold; /* cache_modes contains "cold" */
    bool warm; /* cache_modes contains "warm" */

    long repetitions;     /* per cell, >= 1 */
    long warmup_requests; /* discarded requests per target before measuring */
    spec_order order;
    double timeout_connect_s;     /* default 10 */
    double timeout_first_token_s; /* default 600 */
    double timeout_total_s;       /* default 900 */
    long retries;                 /* extra attempts after a retryable failure; default 3 */
    long concurrency;             /* parallel requests; default 1 (sequential) */

    spec_hypothesis *hypotheses;
    size_t n_hypotheses;
    spec_stop stop;
    spec_contention contention;
} spec;

/* Loads and validates a spec file. On failure err reads like
 * "kv.json:14:9: $.targets[1].base_url: expected a string". */
kv_status spec_load(const char *path, spec **out, char *err) KV_MUST_USE;
/* Same from memory; `name` labels messages. */
kv_status spec_parse(const char *text, size_t len, const char *name, spec **out,
                     char *err) KV_MUST_USE;
void spec_free(spec *s);

/* Like spec_parse, but also appends every validation error (one line each,
 * sorted by position, at most 50) to `all` when it is not NULL. */
kv_status spec_parse_all(const char *text, size_t len, const char *name, spec **out, char *err,
                         kv_buf *all) KV_MUST_USE;
kv_status spec_load_all(const char *path, spec **out, char *err, kv_buf *all) KV_MUST_USE;

/* Writes the canonical JSON of a validated spec (compact, keys in fixed
 * order, defaults filled in); *out is malloc'd. spec->canonical holds the
 * same text. */
kv_status spec_canon_json(const spec *s, char **out) KV_MUST_USE;

/* True when the design has a cell with these lengths and session length
 * (query_count 1 always; longer sessions only where `sessions` allows). */
bool spec_has_cell(const spec *s, long system_prompt_tokens, long query_tokens, long query_count);
/* True when the design measures cache mode m (cache_modes lists it). */
bool spec_mode_on(const spec *s, spec_cache_mode m);

/* The corpus used when the spec names none (relative to the source tree). */
#define SPEC_DEFAULT_CORPUS "data/corpus/engineering-notes.txt"

const char *spec_api_name(spec_api api);
const char *spec_cache_mode_name(spec_cache_mode m);
const char *spec_metric_name(spec_metric m);

#endif
