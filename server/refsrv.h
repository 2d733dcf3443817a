/* refsrv.h - the built-in reference LLM server ("kvproof serve"): a simulated
 * inference server whose true costs are known. It really sleeps for the time
 * its cost model (server/costmodel.h) gives, really reuses cached token
 * prefixes, and speaks the wire format of one real server (its dialect).
 * Everything it produces is labelled simulated: the header
 * X-Kvproof-Simulated: 1, the model name and system_fingerprint
 * "kvproof-reference...". See docs/server.md.
 *
 * In process: refsrv_start() runs the server on its own threads (one per
 * connection, libmicrohttpd) until refsrv_stop(). Tests read the ground truth
 * of the last finished generation request with refsrv_last().
 *
 * Timing: the server sleeps time_scale x model time and REPORTS the time that
 * actually elapsed (so with time_scale 0.01 a 25 s prefill is slept as about
 * 250 ms and reported as about 250 ms). refsrv_truth also holds the unscaled
 * model time.
 *
 * Ownership: refsrv_start allocates the handle; refsrv_stop stops the
 * threads and frees it (refsrv_stop(NULL) is a no-op). The config's strings
 * are copied; the caller may free them after refsrv_start returns.
 */
#ifndef KV_REFSRV_H
#define KV_REFSRV_H

#include <stdbool.h>
#include <stdint.h>

#include "common/status.h"
#include "server/costmodel.h"

typedef struct refsrv refsrv;

/* Which real server's wire format the replies follow. */
typedef enum refsrv_dialect {
    REFSRV_LLAMACPP = 0,
    REFSRV_VLLM,
    REFSRV_SGLANG,
    REFSRV_OLLAMA,
    REFSRV_LMSTUDIO,
    REFSRV_MLX,
    REFSRV_OPENAI,
    REFSRV_ANTHROPIC,
    REFSRV_DIALECT_COUNT
} refsrv_dialect;

/* Injected faults (docs/server.md, "Faults"). */
typedef enum refsrv_fault {
    REFSRV_FAULT_REFUSE = 0,   /* accept the connection and close it at once */
    REFSRV_FAULT_RESET,        /* close the connection after reset_after chunks */
    REFSRV_FAULT_HTTP500,      /* 500 with an error body */
    REFSRV_FAULT_HTTP503,      /* 503 with an error body */
    REFSRV_FAULT_HTTP429,      /* 429 with Retry-After */
    REFSRV_FAULT_STALL,        /* headers, then nothing for stall_ms */
    REFSRV_FAULT_MALFORMED,    /* one chunk (or the body) is not valid JSON */
    REFSRV_FAULT_TRUNCATE,     /* the stream ends without its terminator */
    REFSRV_FAULT_HUGELINE,     /* one 10 MB line */
    REFSRV_FAULT_CONTENT_TYPE, /* text/html instead of the right content type */
    REFSRV_FAULT_DRIP,         /* the reply is written one byte at a time */
    REFSRV_FAULT_COUNT
} refsrv_fault;

/* Where reusable prefixes live (docs/server.md, "Prefix cache and slots"). */
typedef enum refsrv_cache_mode {
    REFSRV_CACHE_SHARED = 0, /* one LRU of cache_tokens shared by all slots (vLLM, SGLang) */
    REFSRV_CACHE_SLOT        /* each slot holds its last sequence only (llama.cpp -np N) */
} refsrv_cache_mode;

typedef struct refsrv_config {
    const char *host;                   /* bind address, default "127.0.0.1" */
    int port;                           /* 0 = ephemeral (read it back with refsrv_port) */
    refsrv_dialect dialect;             /* default REFSRV_LLAMACPP */
    const char *model;                  /* model name, default "kvproof-reference-sim" */
    costmodel_params cost;              /* default: preset "laptop" with time_scale 1 */
    int slots;                          /* concurrent requests; others queue. Default 1 */
    long cache_tokens;                  /* prefix-cache capacity in tokens (LRU), default 262144 */
    refsrv_cache_mode cache_mode;       /* default REFSRV_CACHE_SHARED */
    long ram_cache_tokens;              /* host-RAM tier (slot mode), 0 = off (default) */
    double restore_ms_per_token;        /* model ms per token restored from RAM, default 0.01 */
    bool cache_enabled;                 /* false = --no-cache */
    long ctx_tokens;                    /* context window; longer prompts get 400. Default 131072 */
    long reply_tokens;                  /* length of a reply when the request sets no limit
                                           (the model's "natural" end), default 64 */
    uint64_t seed;                      /* noise and fault draws, default 1 */
    double fault_p[REFSRV_FAULT_COUNT]; /* probability per request (refuse: per
                                           connection); 1 forces the fault */
    long fault_reset_after;             /* chunks sent before a reset, default 2 */
    double fault_stall_ms;              /* real (unscaled) stall length, default 30000 */
    double fault_drip_ms;               /* real pause between dripped bytes, default 1 */
} refsrv_config;

/* Ground truth of one finished generation request. Times in ms. */
typedef struct refsrv_truth {
    long seq;                /* 1-based number of the request (0 = none yet) */
    long prompt_tokens;      /* tokens of the templated prompt */
    long cached_tokens;      /* tokens reused from the prefix cache */
    long restored_tokens;    /* of which restored from the host-RAM tier (0 = none) */
    int slot;                /* slot that served it */
    long new_tokens;         /* prompt_tokens - cached_tokens */
    long output_tokens;      /* tokens generated */
    double model_prefill_ms; /* cost model x noise + stall, unscaled */
    double noise_factor;     /* the multiplicative noise drawn for the prefill */
    double stall_ms;         /* cost-model stall added to the prefill, unscaled */
    double stall_x;          /* cost-model stall multiple of the prefill (1 = none) */
    bool idle_slow;          /* the slow first request after idle applied */
    double queue_ms;         /* elapsed waiting for a slot (not prefill) */
    double prefill_ms;       /* elapsed prefill as the server reports it */
    double decode_ms;        /* elapsed from the first to the last token */
    int64_t arrived_ns;      /* CLOCK_MONOTONIC: request body complete */
    int64_t first_token_ns;  /* CLOCK_MONOTONIC: first token written */
    int64_t last_token_ns;   /* CLOCK_MONOTONIC: last token written */
    bool completed;          /* the reply was written to its end */
    int fault;               /* refsrv_fault injected, -1 when none */
} refsrv_truth;

void refsrv_config_default(refsrv_config *c);

/* Starts the server. Returns KV_ERR_NET when the address cannot be bound. */
kv_status refsrv_start(const refsrv_config *c, refsrv **out, char *err) KV_MUST_USE;
/* The bound port (useful with port 0). */
int refsrv_port(const refsrv *s);
/* Stops the threads (interrupting sleeps and stalls) and frees the handle. */
void refsrv_stop(refsrv *s);

/* Copies the truth of the last finished generation request into *out;
 * false when none has finished yet. */
bool refsrv_last(refsrv *s, refsrv_truth *out);
/* Number of generation requests that finished (completed or not). */
long refsrv_requests(refsrv *s);
/* Empties the prefix cache (what the reset endpoints do). */
void refsrv_reset_cache(refsrv *s);

/* The server's tokenizer: each run of ASCII letters/digits (and bytes >= 0x80)
 * is one token, every other non-space byte is one token, whitespace is free. */
long refsrv_count_tokens(const char *text);
/* Tokens a chat prompt of n_messages messages whose contents have
 * content_tokens tokens in total: 4 per message + content + 3. */
long refsrv_chat_tokens(long n_messages, long content_tokens);

/* Names: "llama.cpp", "vllm", "sglang", "ollama", "lmstudio", "mlx", "openai",
 * "anthropic"; faults "refuse", "reset", "http500", "http503", "http429",
 * "stall", "malformed", "truncate", "hugeline", "content-type", "drip". */
const char *refsrv_dialect_name(refsrv_dialect d);
bool refsrv_dialect_parse(const char *name, refsrv_dialect *out);
const char *refsrv_fault_name(refsrv_fault f);
/* Cache presets: "shared" (mode shared), "llama.cpp" (mode slot, no RAM
 * tier), "llama.cpp-ram" (mode slot, RAM tier of 262,144 tokens, 0.01 ms
 * per restored token). Sets the mode, the RAM tier and its cost. */
bool refsrv_cache_preset(const char *name, refsrv_config *c);
/* Parses "KIND:PROBABILITY" (or "KIND" = probability 1) into c->fault_p. */
kv_status refsrv_fault_parse(const char *arg, refsrv_config *c, char *err) KV_MUST_USE;

#endif
