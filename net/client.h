/* client.h - one measured request to an LLM server, over libcurl, streaming.
 *
 * The client builds the request body for the target's dialect
 * (net/dialect.h), sends it, parses the stream incrementally (SSE or
 * NDJSON), timestamps events with CLOCK_MONOTONIC inside the write callback,
 * and fills a trial_request (experiments/trial.h) with client timings and the
 * server-reported, normalised values (prompt and cached tokens, prefill time).
 * It retries refused connections, 429 (honouring Retry-After) and 503 with
 * backoff, up to `retries` extra attempts, and records every attempt.
 *
 * Ownership: client_new returns a handle freed by client_free
 * (client_free(NULL) is a no-op); it keeps connections alive between
 * requests. Strings returned through char ** are malloc'd; the caller frees.
 * API keys are read from the environment variable the target names, sent as a
 * header, and never copied into any result, message or log. Everything a
 * server sends passes one gate in client.c before this module hands it out
 * (bodies, headers, reasons, raw fields): valid UTF-8, and no copy of the key,
 * raw, JSON-escaped or cut short, whatever the server echoes.
 *
 * TLS: certificates and host names are always verified, against the target's
 * ca_file, else CURL_CA_BUNDLE, else SSL_CERT_FILE (and SSL_CERT_DIR), else
 * the system store. A streamed reply is cut off past 2 x max_output_tokens +
 * 64 token events or 64 MiB + 4 KiB per requested token.
 */
#ifndef KV_CLIENT_H
#define KV_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "experiments/spec.h"
#include "experiments/trial.h"
#include "net/client_request.h"

typedef struct client client;

kv_status client_new(client **out, char *err) KV_MUST_USE;
void client_free(client *c);

/* Sends one streaming request and fills *out (out->turn is left to the
 * caller). Returns KV_OK when a complete reply was measured; otherwise the
 * status, with out->ok false and out->error holding the reason. `reply`, when
 * not NULL, receives the generated text (for session replays). */
kv_status client_send(client *c, const client_request *rq, trial_request *out, char **reply,
                      char *err) KV_MUST_USE;

/* A plain JSON request: GET when body is NULL, else POST with the body.
 * Returns KV_OK for any HTTP status (in *http_status); the body in *response. */
kv_status client_call(client *c, const spec_target *t, const char *path, const char *body,
                      double timeout_s, int *http_status, char **response, char *err) KV_MUST_USE;

/* Sends rq non-streamed (rq->no_stream is implied) and reads the server's
 * prompt token count from the reply (dialect_count_reply); KV_ERR_UNSUPPORTED
 * when the reply holds none. For servers whose streams carry no usage. */
kv_status client_count(client *c, const client_request *rq, long *prompt_tokens,
                       char *err) KV_MUST_USE;

/* Counts the tokens of `text` with the server's tokenizer (POST /tokenize);
 * KV_ERR_UNSUPPORTED when the server has none. */
kv_status client_tokenize(client *c, const spec_target *t, spec_api api, const char *text,
                          long *n_tokens, char *err) KV_MUST_USE;

/* Asks the server to drop its prefix cache: vLLM /reset_prefix_cache, SGLang
 * /flush_cache, llama.cpp /slots/N?action=erase for every slot GET /slots
 * shows has served a request (slot 0 when /slots is off). KV_ERR_UNSUPPORTED
 * (with the server's words) when the server has none: HTTP 404, 405, 501
 * (llama-server without --slot-save-path), or a 2xx body holding "error"
 * (LM Studio answers unknown endpoints with HTTP 200). */
kv_status client_reset_cache(client *c, const spec_target *t, spec_api api, char *err) KV_MUST_USE;

/* Like client_call; also hands back the response headers ("Name: value"
 * lines joined with '\n', malloc'd) in *headers when headers is not NULL. */
kv_status client_call_headers(client *c, const spec_target *t, const char *path, const char *body,
                              double timeout_s, int *http_status, char **response, char **headers,
                              char *err) KV_MUST_USE;

/* Sets the retry backoff: attempt k waits base_s * 2^k, at most cap_s
 * (defaults 0.5 s and 8 s). Tests use tiny values. */
void client_set_backoff(client *c, double base_s, double cap_s);

/* The waits between attempts this client has made: how many, and their
 * planned total in seconds (the backoff, or the server's Retry-After). */
void client_retry_waits(const client *c, long *waits, double *seconds);

/* Calls fn(ctx, receive_ns, server_send_ns) for every token chunk that carries
 * the reference server's send stamp (": kvproof-sent-ns="), both
 * CLOCK_MONOTONIC; fn NULL turns it off. For the client-overhead benchmark. */
void client_observe_stamps(client *c, void (*fn)(void *ctx, int64_t recv_ns, int64_t sent_ns),
                           void *ctx);

/* When the client's last wait for its sockets (poll) returned, CLOCK_MONOTONIC
 * ns: the benchmark splits a chunk's delay into server stamp -> wake-up and
 * wake-up -> write callback. */
int64_t client_wake_ns(const client *c);

#endif
