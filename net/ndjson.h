/* ndjson.h - an incremental parser for newline-delimited JSON (Ollama's
 * native streaming API): one callback per complete line.
 *
 * Feed arbitrary byte chunks; a line ends at '\n' (a '\r' before it is
 * dropped, so "\r\n" works too). Blank and whitespace-only lines are skipped.
 * The parser does not parse the JSON itself: the callback receives the
 * line's bytes, NUL-terminated.
 *
 * Limits: no line may exceed max_bytes (default NDJSON_DEFAULT_MAX_BYTES);
 * beyond it ndjson_feed fails with KV_ERR_PROTOCOL and the parser stays
 * failed.
 *
 * Ownership: ndjson_new returns a handle freed by ndjson_free
 * (ndjson_free(NULL) is a no-op). The line passed to the callback belongs to
 * the parser and is valid only during the callback.
 */
#ifndef KV_NDJSON_H
#define KV_NDJSON_H

#include <stddef.h>

#include "common/status.h"

#define NDJSON_DEFAULT_MAX_BYTES ((size_t)16 * 1024 * 1024)

typedef struct ndjson_parser ndjson_parser;

/* Called per complete non-blank line; `lineno` is its 1-based line number in
 * the stream. Returning anything but KV_OK stops the parser and ndjson_feed
 * returns that status. */
typedef kv_status (*ndjson_line_fn)(void *ctx, const char *line, size_t len, size_t lineno,
                                    char *err);

/* max_bytes 0 means NDJSON_DEFAULT_MAX_BYTES. */
kv_status ndjson_new(size_t max_bytes, ndjson_line_fn cb, void *ctx, ndjson_parser **out,
                     char *err) KV_MUST_USE;
kv_status ndjson_feed(ndjson_parser *p, const void *bytes, size_t n, char *err) KV_MUST_USE;
/* Ends the stream: KV_OK when nothing but whitespace follows the last '\n';
 * KV_ERR_PROTOCOL ("stream ended inside line N ...") when a partial line is
 * left (it is not delivered). */
kv_status ndjson_finish(ndjson_parser *p, char *err) KV_MUST_USE;
/* Lines delivered so far. */
size_t ndjson_lines(const ndjson_parser *p);
void ndjson_free(ndjson_parser *p);

#endif
