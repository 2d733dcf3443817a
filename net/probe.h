/* probe.h - what kind of LLM server answers at a URL, and whether its
 * prefix cache works ("kvproof probe", and the runner's `api: auto`).
 *
 * probe_detect asks cheap GET endpoints in turn: llama.cpp GET /props,
 * Ollama GET /api/version, LM Studio GET /api/v1/models (0.4+: dialect
 * lmstudio-chat) or GET /api/v0/models, SGLang
 * GET /get_server_info (or /get_model_info), vLLM GET /version, then
 * GET /v1/models (owned_by "vllm"/"sglang"; Anthropic's {"type":"model"}
 * entries; OpenAI by its host or owned_by; mlx_lm.server by its
 * "Server: BaseHTTP" header or, with no owned_by, GET /health answering
 * {"status": "ok"}); an Anthropic error body on any of these GETs names
 * Anthropic. A 2xx body holding "error" is no reply (LM Studio answers
 * unknown endpoints with HTTP 200 and an error). kvproof's reference server
 * is recognised by its X-Kvproof-Simulated header. Anything else that lists
 * models on /v1/models is "openai-compatible" (dialect openai-chat). It then
 * lists the models and checks POST /tokenize.
 *
 * probe_cache sends one cold/warm pair with a synthetic system prompt of
 * ~1,000 words, or more where the server caches only longer prompts
 * (OpenAI 1,024 tokens, Anthropic 1,024 to 4,096 by model): prime (prompt P), warm (P again,
 * measured) and cold (llama.cpp: P with cache_prompt:false; other dialects: P behind a fresh
 * nonce), and reports the cached counts and TTFTs side by side.
 *
 * Ownership: probe_info and probe_cache_result own their strings and the
 * raw fields of their trial_requests; probe_info_clear /
 * probe_cache_clear free them (and accept zeroed structs).
 */
#ifndef KV_PROBE_H
#define KV_PROBE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/status.h"
#include "net/client.h"
#include "experiments/spec.h"
#include "experiments/trial.h"

typedef struct probe_info {
    spec_api api;         /* resolved dialect (never SPEC_API_AUTO on success) */
    char server[32];      /* "llama.cpp", "ollama", "lmstudio", "sglang", "vllm",
                             "mlx", "anthropic", "openai", "openai-compatible",
                             "unknown" */
    char *server_version; /* as reported; NULL if unknown */
    char *model;          /* the model requests will name: the one given, else the
                             first listed; NULL if none */
    char **models;        /* models the server lists */
    size_t n_models;
    char *props;          /* the detection endpoint's reply as compact JSON; may be NULL */
    bool simulated;       /* kvproof's reference server (X-Kvproof-Simulated) */
    bool tokenizes;       /* POST /tokenize works */
    char detected_by[64]; /* endpoint that identified the server, e.g. "GET /props" */
} probe_info;

/* Detects the server at base_url. api_hint other than SPEC_API_AUTO is kept as
 * the dialect (detection still fills the rest). model may be NULL;
 * api_key_env names the key's environment variable (may be NULL).
 * KV_ERR_NET / KV_ERR_TIMEOUT when the server is unreachable. */
kv_status probe_detect(client *c, const char *base_url, spec_api api_hint, const char *model,
                       const char *api_key_env, probe_info *out, char *err) KV_MUST_USE;
/* The same for a spec target: its URL, dialect (as the hint), model, key,
 * headers and ca_file are used; the target itself is not changed. */
kv_status probe_detect_target(client *c, const spec_target *target, probe_info *out,
                              char *err) KV_MUST_USE;
void probe_info_clear(probe_info *p);

typedef struct probe_cache_result {
    bool ran;                /* all three requests were answered; when false the
                                verdicts below mean nothing */
    char not_run[320];       /* why the check did not run ("" when it ran) */
    long min_cache_tokens;   /* the server's smallest cacheable prompt
                                (probe_cache_min_tokens) */
    long prefix_tokens;      /* tokens of the synthetic system prompt: the server's
                                /tokenize count, else the prime request's reported
                                prompt tokens, else its word count */
    trial_request prime;     /* first sending of P (attempts 0: not sent) */
    trial_request warm;      /* P again: should be served from the cache */
    trial_request cold;      /* cache_prompt:false or a nonce: should be uncached */
    const char *cold_method; /* "cache_prompt:false" or "nonce" (static string) */
    bool reports_cached;     /* the server reports cached-token counts */
    bool honours_cold;       /* cold reported cached < 10% of the prefix (when reported) */
    bool cache_works;        /* warm cached >= 90% of the prefix, or (no counts) warm
                                TTFT < 0.8 x cold TTFT (inferred) */
    bool inferred;           /* cache_works was inferred from TTFTs, not counts */
} probe_cache_result;

/* The shortest prompt the server caches, tokens: 1,024 for OpenAI, per model
 * for Anthropic (1,024, 2,048 or 4,096; 4,096 for a model it does not know),
 * 0 for local servers. */
long probe_cache_min_tokens(const probe_info *info);

/* Runs the prime/warm/cold requests against the detected server, with a
 * system prompt of max(1000, 1.25 x probe_cache_min_tokens) words. Fails only
 * when a request fails (its reason in err, and in out->not_run); a server
 * whose generation endpoint is unknown is not sent anything (out->ran false,
 * KV_OK). */
kv_status probe_cache(client *c, const probe_info *info, const char *base_url,
                      const char *api_key_env, probe_cache_result *out, char *err) KV_MUST_USE;
void probe_cache_clear(probe_cache_result *r);

/* The probe's findings as pretty-printed JSON (malloc'd); cache may be NULL
 * when the cache check did not run. */
kv_status probe_to_json(const probe_info *info, const probe_cache_result *cache, char **out,
                        char *err) KV_MUST_USE;

#endif
