/* replay.h - a replay server for golden wire fixtures: serves the bytes of
 * a real server's replies (copied from upstream into
 * tests/fixtures/wire/<server>/<layout>/) unchanged, except for templated
 * numbers it keeps consistent with each request.
 *
 * A fixture directory holds one file per reply, a SOURCE.md and replay.json:
 *
 *   { "server": "vllm", "framing": "chunked" | "http1.0",
 *     "cache_block": 16, "cache_min": 0, "first_token_delay_ms": 20,
 *     "stream_default": false,
 *     "routes": [
 *       { "method": "POST", "path": "/v1/chat/completions", "stream": true,
 *         "status": 200, "content_type": "text/event-stream",
 *         "action": "generate" | "tokenize" | "reset" | "none",
 *         "reply": { "file": "chat.sse", "events": "sse" | "lines" | "none",
 *                    "first_token_event": 1,
 *                    "subst": [["\"prompt_tokens\":9",
 *                               "\"prompt_tokens\":{{prompt_tokens}}"]] },
 *         "reply_uncached": { ... used instead when cached tokens are 0 } } ],
 *     "fallback": { "status": 404, "content_type": "...", "reply": {...} } }
 *
 * Routes match, in order, on method and path (a path ending in '*' matches
 * a prefix; the query string is ignored), when "stream" is given on the
 * request body's "stream" (absent: stream_default), and when "body_has" /
 * "body_lacks" name a top-level key, on its presence in the body (e.g. a 400
 * for "max_tokens"). "subst" turns literal upstream
 * text into placeholders; each literal must occur in its file. Placeholders:
 * {{prompt_tokens}}, {{cached_tokens}}, {{uncached_tokens}} (the prompt by
 * replaytok.h and the prefix cache), {{token_count}} and {{token_ids}} (the
 * request text, for tokenize replies), {{prefill_ms}}, {{prefill_s}},
 * {{prefill_ns}} (the injected first-token delay in the fixture's unit),
 * {{method}} and {{path}} (of the request), {{created}} (unix seconds).
 * The first-token delay is slept before event `first_token_event` of the
 * reply (events split after each blank line for
 * "sse", each newline for "lines"); -1: none. "http1.0" framing answers
 * "HTTP/1.0" with a close-delimited body, "chunked" uses HTTP/1.1 chunked
 * transfer for streams (non-stream replies carry Content-Length).
 *
 * cache_block rounds cached counts down to whole blocks; prompts shorter
 * than cache_min tokens are never served from the cache (OpenAI: 1,024).
 *
 * Ownership: replay_start returns a handle; replay_stop stops the server and
 * frees it (NULL is a no-op).
 */
#ifndef KV_REPLAY_H
#define KV_REPLAY_H

#include <stdbool.h>
#include <stddef.h>

#include "common/status.h"

typedef struct replay replay;

typedef struct replay_options {
    double first_token_delay_ms; /* < 0: the manifest's value */
    const char *framing;         /* NULL: the manifest's; "chunked" or "http1.0" */
} replay_options;

/* One request the replay answered, in arrival order. */
typedef struct replay_entry {
    char method[8];
    char path[128];
    int status;         /* HTTP status answered */
    bool generate;      /* a generation request (action "generate") */
    bool stream;        /* the body asked for a stream (or stream_default) */
    long prompt_tokens; /* rendered prompt tokens (-1 when not a generation) */
    long cached_tokens; /* served from the prefix cache */
    long max_tokens;    /* max_tokens / max_completion_tokens / num_predict /
                           max_output_tokens / n_predict from the body, -1 none */
} replay_entry;

void replay_options_default(replay_options *o);

/* Loads dir/replay.json and its files, listens on 127.0.0.1 with an
 * ephemeral port. Errors name the file and the field. */
kv_status replay_start(const char *dir, const replay_options *o, replay **out,
                       char *err) KV_MUST_USE;
int replay_port(const replay *r);
void replay_stop(replay *r);

/* Copies up to cap log entries from index `from` into out; returns how many
 * requests have been logged in total. */
size_t replay_log(replay *r, size_t from, replay_entry *out, size_t cap);

#endif
