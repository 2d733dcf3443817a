/* sse.h - an incremental parser for Server-Sent Events (text/event-stream).
 *
 * Feed it whatever byte chunks the transport delivers (libcurl's write
 * callback splits anywhere, even inside "\r\n"); it calls back once per
 * complete event, i.e. when a blank line ends a block of field lines.
 *
 * Framing (WHATWG HTML "event stream interpretation", server-apis.md 8):
 * lines end in "\n", "\r\n" or "\r"; "field: value" with one optional space
 * after the colon stripped; several "data:" lines are joined with '\n';
 * "event:" names the event; lines starting with ':' are comments (the
 * reference server stamps its send time as ": kvproof-sent-ns=<ns>");
 * "id:", "retry:" and unknown fields are ignored; a leading UTF-8 BOM is
 * skipped. A block that holds only comments (a keep-alive, or a stamp sent
 * as its own block) is delivered too, with has_data false, so nothing the
 * server said is lost; callers that want data only check has_data.
 *
 * Limits: no line and no event's joined data may exceed max_bytes (default
 * SSE_DEFAULT_MAX_BYTES); beyond it sse_feed fails with KV_ERR_PROTOCOL and
 * the parser stays failed.
 *
 * Ownership: sse_new returns a handle freed by sse_free (sse_free(NULL) is a
 * no-op). The strings in an sse_event belong to the parser and are valid only
 * during the callback.
 */
#ifndef KV_SSE_H
#define KV_SSE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/status.h"

#define SSE_DEFAULT_MAX_BYTES ((size_t)16 * 1024 * 1024)

typedef struct sse_parser sse_parser;

typedef struct sse_event {
    const char *event;    /* "event:" value, "" when the block had none */
    const char *data;     /* "data:" lines joined with '\n', NUL-terminated, "" if none */
    size_t data_len;      /* bytes of data, excluding the terminator */
    bool has_data;        /* at least one "data:" line (even an empty one) */
    const char *comments; /* comment lines (text after ':' and one optional space)
                             joined with '\n', NUL-terminated; "" if none */
    size_t comments_len;
    size_t index; /* 0-based count of events delivered before this one */
} sse_event;

/* Called per complete event. Returning anything but KV_OK stops the parser:
 * sse_feed returns that status (the callback writes its own message to err). */
typedef kv_status (*sse_event_fn)(void *ctx, const sse_event *ev, char *err);

/* max_bytes 0 means SSE_DEFAULT_MAX_BYTES. */
kv_status sse_new(size_t max_bytes, sse_event_fn cb, void *ctx, sse_parser **out,
                  char *err) KV_MUST_USE;
/* Parses n more bytes, calling back for every event they complete. */
kv_status sse_feed(sse_parser *p, const void *bytes, size_t n, char *err) KV_MUST_USE;
/* Ends the stream: KV_OK when it ended on an event boundary, KV_ERR_PROTOCOL
 * ("stream ended inside an event ...") when an incomplete event or line is
 * left over (it is not delivered). */
kv_status sse_finish(sse_parser *p, char *err) KV_MUST_USE;
/* Events delivered so far. */
size_t sse_events(const sse_parser *p);
void sse_free(sse_parser *p);

#endif
