/* client_request.h - what one request to an LLM server says: the target,
 * the dialect, the messages and the limits. Shared by the client (client.h,
 * which sends it) and the dialects (dialect.h, which turn it into a request
 * body), so that neither header includes the other.
 *
 * Ownership: the request borrows everything it points to; the caller keeps
 * the target and the messages alive while the request is sent.
 */
#ifndef KV_CLIENT_REQUEST_H
#define KV_CLIENT_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

#include "experiments/spec.h"

typedef struct client_message {
    const char *role;    /* "system", "user" or "assistant" */
    const char *content; /* UTF-8 text */
} client_message;

typedef struct client_request {
    const spec_target *target; /* base_url, model, api_key_env, headers */
    spec_api api;              /* resolved dialect (never SPEC_API_AUTO) */
    const client_message *messages;
    size_t n_messages;
    long max_output_tokens;
    double temperature; /* NAN: the spec sets none (sent as 0, except to hosted
                           OpenAI, which gets none: dialect.h) */
    bool no_cache;      /* ask the server not to reuse cached prefixes
                           (llama.cpp cache_prompt:false); ignored where the
                           dialect has no such switch */
    double timeout_connect_s;
    double timeout_first_token_s;
    double timeout_total_s;
    long retries;   /* extra attempts for retryable failures */
    bool no_stream; /* ask for one JSON reply instead of a stream (client_count) */
} client_request;

#endif
