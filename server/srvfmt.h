/* srvfmt.h - the reference server's reply bodies: for each dialect and
 * endpoint, the streamed events (SSE or NDJSON) and the non-streamed JSON,
 * field by field as /work/shared/server-apis.md and docs/server.md describe.
 *
 * Every SSE event is preceded by a comment line `: kvproof-sent-ns=<ns>`
 * holding the CLOCK_MONOTONIC time at which it was formatted (just before
 * it is written). NDJSON lines carry no stamp.
 *
 * Ownership: the functions append to a caller's kv_buf.
 */
#ifndef KV_SRVFMT_H
#define KV_SRVFMT_H

#include <stdbool.h>
#include <stdint.h>

#include "common/util.h"
#include "server/refsrv_config.h"

/* The generation endpoints. */
typedef enum srvfmt_api {
    SRVFMT_OAI_CHAT = 0, /* /v1/chat/completions (and /chat/completions) */
    SRVFMT_OAI_COMPL,    /* /v1/completions */
    SRVFMT_LLAMA_COMPL,  /* llama.cpp /completion */
    SRVFMT_OLLAMA_GEN,   /* Ollama /api/generate */
    SRVFMT_OLLAMA_CHAT,  /* Ollama /api/chat */
    SRVFMT_LMS_CHAT,     /* LM Studio /api/v0/chat/completions */
    SRVFMT_LMS_COMPL,    /* LM Studio /api/v0/completions */
    SRVFMT_ANTHROPIC     /* /v1/messages */
} srvfmt_api;

/* What a reply reports; the generator fills it as it goes. */
typedef struct srvfmt_reply {
    refsrv_dialect dialect;
    srvfmt_api api;
    const char *model;
    long seq;     /* request number, for ids */
    long created; /* unix seconds */
    bool stream;
    bool include_usage;  /* stream_options.include_usage */
    long prompt_tokens;  /* whole templated prompt */
    long cached_tokens;  /* reused */
    long cache_creation; /* anthropic: tokens written to the cache */
    long output_tokens;  /* generated so far */
    bool hit_limit;      /* stopped by the request's token limit */
    long slot;           /* slot that served it */
    long ctx_tokens;
    double queue_ms, prompt_ms, predicted_ms, total_ms; /* elapsed */
    const char *text; /* whole generated text (non-stream / final) */
} srvfmt_reply;

const char *srvfmt_content_type(srvfmt_api api, bool stream);
/* Events sent as soon as the request is admitted (before prefill). */
kv_status srvfmt_open(const srvfmt_reply *r, kv_buf *out) KV_MUST_USE;
/* One token's event(s); `first` marks the first token. */
kv_status srvfmt_token(const srvfmt_reply *r, const char *piece, bool first,
                       kv_buf *out) KV_MUST_USE;
/* A token event with broken JSON (fault "malformed"). */
kv_status srvfmt_malformed(const srvfmt_reply *r, kv_buf *out) KV_MUST_USE;
/* A valid token event whose one line is `bytes` long (fault "hugeline"). */
kv_status srvfmt_hugeline(const srvfmt_reply *r, size_t bytes, kv_buf *out) KV_MUST_USE;
/* The final events and the terminator. */
kv_status srvfmt_close(const srvfmt_reply *r, kv_buf *out) KV_MUST_USE;
/* The non-streamed body. */
kv_status srvfmt_full(const srvfmt_reply *r, kv_buf *out) KV_MUST_USE;
/* An error body in the dialect's style; *ctype receives its content type. */
kv_status srvfmt_error(refsrv_dialect d, int http_status, const char *msg, kv_buf *out,
                       const char **ctype) KV_MUST_USE;

#endif
