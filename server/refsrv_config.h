/* refsrv_config.h - the reference server's value types (refsrv.h): the
 * dialects, faults and cache modes, the configuration and the ground truth
 * of one request, with the handle's name. Apart from refsrv.h so that the
 * server's internals (srvgen.h, srvfmt.h) use them without including the
 * header of the module that calls them.
 */
#ifndef KV_REFSRV_CONFIG_H
#define KV_REFSRV_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

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

#endif
