/* dialect.h - the wire dialects kvproof speaks: request bodies and stream
 * readers that turn a server's reply bytes into measured events.
 *
 * Two halves:
 *  - dialect_build_request: path, body and extra headers for one streamed
 *    request in a dialect (openai-chat, openai-completions, llama.cpp,
 *    ollama, lmstudio, lmstudio-chat, anthropic);
 *  - dialect_reader: fed the reply body as it arrives (any chunking), frames
 *    it (SSE or NDJSON), applies the dialect's first-token rules
 *    (server-apis.md section 8: never role-only, prompt_progress, usage-only
 *    or message_start/content_block_start/ping events), timestamps tokens
 *    with the caller's CLOCK_MONOTONIC receive time, collects the server's
 *    usage/timing fields (normalised and raw) and checks the terminator.
 *
 * Dialect choices (documented in docs and --help):
 *  - llama.cpp uses the OpenAI endpoint /v1/chat/completions with the
 *    llama.cpp extras `cache_prompt` (false for cold requests) and parses
 *    `timings` (cache_n, prompt_n, prompt_ms) from the last chunk; the
 *    stream ends with [DONE].
 *  - ollama uses native /api/chat (NDJSON, done:true), options.num_predict
 *    and options.temperature; prompt_eval_duration (ns) is the prefill;
 *    cached tokens are not reported (-1).
 *  - lmstudio uses /api/v0/chat/completions streamed (for TTFT). Its `stats`
 *    are absent from streamed replies (lmstudio #547): they are read when
 *    present, otherwise server_prefill_ms stays NAN; cached is never
 *    reported (-1).
 *  - anthropic uses /v1/messages with cache_control on the system block;
 *    prompt = input + cache_creation + cache_read tokens, cached =
 *    cache_read_input_tokens, output tokens from the cumulative message_delta.
 *  - hosted OpenAI (dialect_is_hosted_openai): max_completion_tokens on
 *    chat, no temperature unless the spec set one (reasoning models reject
 *    max_tokens and non-default temperatures with HTTP 400).
 *  - lmstudio-chat uses LM Studio 0.4+'s /api/v1/chat: system_prompt, one
 *    `input` (the other messages joined with "\n\n"), store:false; named
 *    SSE events up to chat.end, whose result.stats give input_tokens and the
 *    server's time_to_first_token_seconds (server_prefill_ms); no cached
 *    count (-1).
 *  - openai-completions concatenates the messages' contents with "\n\n"
 *    (no chat template) into `prompt`; so do the native endpoints:
 *  - llama.cpp-completion: POST /completion {prompt, n_predict, cache_prompt};
 *    the stream has no [DONE] and ends with the chunk that says "stop":true
 *    (it carries timings, tokens_cached, tokens_evaluated and id_slot).
 *  - sglang-generate: POST /generate {text, sampling_params}; every chunk
 *    holds the text so far (or, with --stream-output, the new text) and
 *    meta_info {prompt_tokens, completion_tokens, cached_tokens, e2e_latency
 *    at the end}; [DONE] ends it. cached_tokens is always reported here
 *    (no --enable-cache-report needed).
 *
 * Ownership: dialect_reader_new returns a handle freed by dialect_reader_free
 * (NULL is a no-op). dialect_reader_take_reply hands over a malloc'd string.
 * trial_request.raw filled by dialect_reader_fill is malloc'd (trial.h).
 */
#ifndef KV_DIALECT_H
#define KV_DIALECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "common/util.h"
#include "net/client_request.h"
#include "experiments/spec.h"
#include "experiments/trial.h"

/* Longest SSE/NDJSON line accepted; longer lines fail the request. */
#define DIALECT_MAX_LINE (4u << 20)

/* Canonical dialect name ("openai-chat", "llama.cpp", ...); "auto" for AUTO. */
const char *dialect_name(spec_api api);
/* Parses a dialect name (also accepts "openai" and "llamacpp"). */
kv_status dialect_parse(const char *name, spec_api *out, char *err) KV_MUST_USE;
/* Request path, e.g. "/v1/chat/completions". */
const char *dialect_path(spec_api api);
/* true when the dialect streams NDJSON (ollama), false for SSE. */
bool dialect_is_ndjson(spec_api api);
/* true when the dialect has a per-request "do not reuse the cache" switch
 * (llama.cpp cache_prompt:false, on /v1/chat/completions and /completion). */
bool dialect_honours_no_cache(spec_api api);
/* true when base_url's host is OpenAI's own API (api.openai.com or another
 * *.openai.com host). Chat requests there, or to a target whose
 * openai_hosted is set (the probe named the server "openai"), carry
 * max_completion_tokens instead of max_tokens, and a temperature only when
 * the spec set one (client_request.temperature not NAN). */
bool dialect_is_hosted_openai(const char *base_url);

/* Builds the JSON body of a streamed request into `body` (appended). */
kv_status dialect_build_request(const client_request *rq, kv_buf *body, char *err) KV_MUST_USE;

/* The prompt token count in a non-streamed reply body: usage.prompt_tokens
 * (OpenAI style, LM Studio), prompt_eval_count (Ollama), input_tokens plus
 * the cache parts (Anthropic), stats.input_tokens (LM Studio /api/v1/chat);
 * -1 when the body has none. KV_ERR_PROTOCOL when it is not JSON. */
kv_status dialect_count_reply(spec_api api, const char *body, size_t len, long *prompt_tokens,
                              char *err) KV_MUST_USE;

typedef struct dialect_reader dialect_reader;

/* max_line: longest accepted line (0 = DIALECT_MAX_LINE); keep_reply: collect
 * the generated content text. */
kv_status dialect_reader_new(spec_api api, size_t max_line, bool keep_reply, dialect_reader **out,
                             char *err) KV_MUST_USE;
void dialect_reader_free(dialect_reader *r);

/* Feeds reply bytes received at now_ns (CLOCK_MONOTONIC). A failure (server
 * error event, malformed JSON, overlong line) is sticky: later feeds return
 * it again. err gets the reason, server messages sanitised and truncated. */
kv_status dialect_reader_feed(dialect_reader *r, const char *p, size_t n, int64_t now_ns,
                              char *err) KV_MUST_USE;
/* The body ended: flushes a last unterminated line and fails with
 * "stream ended without terminator" unless the dialect's terminator came. */
kv_status dialect_reader_finish(dialect_reader *r, char *err) KV_MUST_USE;

/* Called for every token-bearing event that carried a reference-server send
 * stamp: its receive time and the server's send time (both CLOCK_MONOTONIC
 * ns). For the client-overhead benchmark. */
typedef void (*dialect_stamp_fn)(void *ctx, int64_t recv_ns, int64_t sent_ns);
void dialect_reader_observe(dialect_reader *r, dialect_stamp_fn fn, void *ctx);

/* Whether the first token has arrived; its receive time (ns) if so. */
bool dialect_reader_first_token(const dialect_reader *r, int64_t *at_ns);
/* Whether the terminator ([DONE], done:true, message_stop) has been seen. */
bool dialect_reader_done(const dialect_reader *r);
/* Token-bearing events received so far (content, reasoning or tool calls). */
size_t dialect_reader_tokens(const dialect_reader *r);

/* Writes what the reply measured into out, times relative to start_ns:
 * ttft_ms, first_content_ms, last_token_ms, gaps, output/prompt/cached
 * tokens, server_prefill_ms, server_overhead_us, raw (replacing out->raw).
 * Leaves ttfb_ms, total_ms, attempts, ok, error and http_status alone. */
kv_status dialect_reader_fill(const dialect_reader *r, int64_t start_ns, trial_request *out,
                              char *err) KV_MUST_USE;

/* The generated content text (malloc'd, never NULL on KV_OK). */
kv_status dialect_reader_take_reply(dialect_reader *r, char **out, char *err) KV_MUST_USE;

/* Copies text into dst (cap bytes) as one printable line of valid UTF-8:
 * control characters and line separators become spaces, bytes that are not
 * UTF-8 become U+FFFD, at most cap-1 bytes, "..." when truncated (never
 * inside a character). */
void dialect_sanitize(char *dst, size_t cap, const char *text, size_t len);

/* The error message inside a server's error body: JSON error.message,
 * error (string), message or detail; else the body itself. Sanitised into dst. */
void dialect_error_message(char *dst, size_t cap, const char *body, size_t len);

#endif
