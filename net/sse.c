/* sse.c - incremental Server-Sent Events parser (see sse.h).
 *
 * Divided into: byte feeding (BOM skip, line splitting across chunks,
 * "\r\n" split between chunks), per-line field handling, and dispatch.
 * A line split across chunks is buffered until its terminator arrives (one
 * wholly inside a chunk is read in place); a block's data, event name and
 * comments are buffered until the blank line that ends it.
 */
#include "net/sse.h"

#include <stdlib.h>
#include <string.h>

#include "common/util.h"

struct sse_parser {
    sse_event_fn cb;
    void *ctx;
    size_t max_bytes;
    kv_buf line;     /* current, unterminated line */
    kv_buf data;     /* joined data lines of the current block */
    kv_buf event;    /* event name of the current block */
    kv_buf comments; /* joined comment lines of the current block */
    bool has_data;
    bool has_comment;
    bool cr;        /* the previous byte was '\r': swallow one '\n' */
    size_t bom_pos; /* bytes of a leading BOM matched so far */
    bool bom_done;  /* past the point where a BOM may appear */
    size_t n_events;
    kv_status failed; /* sticky failure */
};

static const unsigned char sse_bom[3] = {0xEF, 0xBB, 0xBF};

kv_status sse_new(size_t max_bytes, sse_event_fn cb, void *ctx, sse_parser **out, char *err)
{
    *out = NULL;
    if (!cb)
        return kv_fail(err, KV_ERR_INTERNAL, "sse_new: no callback");
    sse_parser *p = calloc(1, sizeof *p);
    if (!p)
        return kv_fail(err, KV_ERR_NOMEM, "out of memory for the SSE parser");
    p->cb = cb;
    p->ctx = ctx;
    p->max_bytes = max_bytes ? max_bytes : SSE_DEFAULT_MAX_BYTES;
    *out = p;
    return KV_OK;
}

void sse_free(sse_parser *p)
{
    if (!p)
        return;
    kv_buf_free(&p->line);
    kv_buf_free(&p->data);
    kv_buf_free(&p->event);
    kv_buf_free(&p->comments);
    free(p);
}

size_t sse_events(const sse_parser *p)
{
    return p ? p->n_events : 0;
}

static const char *sse_str(const kv_buf *b)
{
    return b->data ? b->data : "";
}

static void sse_reset_block(sse_parser *p)
{
    kv_buf_reset(&p->data);
    kv_buf_reset(&p->event);
    kv_buf_reset(&p->comments);
    p->has_data = false;
    p->has_comment = false;
}

static bool sse_block_pending(const sse_parser *p)
{
    return p->has_data || p->has_comment || p->event.len > 0;
}

static kv_status sse_dispatch(sse_parser *p, char *err)
{
    sse_event ev = {
        .event = sse_str(&p->event),
        .data = sse_str(&p->data),
        .data_len = p->data.len,
        .has_data = p->has_data,
        .comments = sse_str(&p->comments),
        .comments_len = p->comments.len,
        .index = p->n_events,
    };
    p->n_events++;
    kv_status st = p->cb(p->ctx, &ev, err);
    sse_reset_block(p);
    if (st != KV_OK)
        kv_fail(err, st, "SSE event callback stopped the stream (%s)", kv_strerror(st));
    return st;
}

/* Appends a value line to a joined buffer, '\n' between lines. */
static kv_status sse_join(sse_parser *p, kv_buf *b, bool first, const char *v, size_t n,
                          const char *what, char *err)
{
    if (b->len + n + (first ? 0 : 1) > p->max_bytes)
        return kv_fail(err, KV_ERR_PROTOCOL, "SSE event %s longer than %zu bytes", what,
                       p->max_bytes);
    if ((!first && kv_buf_append(b, "\n", 1) != KV_OK) || kv_buf_append(b, v, n) != KV_OK)
        return kv_fail(err, KV_ERR_NOMEM, "out of memory for an SSE event");
    return KV_OK;
}

/* Handles one complete line s[0..n) (no terminator, not NUL-terminated). */
static kv_status sse_line(sse_parser *p, const char *s, size_t n, char *err)
{
    if (n == 0)
        return sse_block_pending(p) ? sse_dispatch(p, err) : KV_OK;
    const char *colon = memchr(s, ':', n);
    size_t flen = colon ? (size_t)(colon - s) : n;
    const char *v = colon ? colon + 1 : s + n;
    size_t vlen = n - (size_t)(v - s);
    if (vlen > 0 && *v == ' ') {
        v++;
        vlen--;
    }
    if (flen == 0) { /* ":comment" */
        kv_status st = sse_join(p, &p->comments, !p->has_comment, v, vlen, "comments", err);
        p->has_comment = true;
        return st;
    }
    if (flen == 4 && memcmp(s, "data", 4) == 0) {
        kv_status st = sse_join(p, &p->data, !p->has_data, v, vlen, "data", err);
        p->has_data = true;
        return st;
    }
    if (flen == 5 && memcmp(s, "event", 5) == 0) {
        kv_buf_reset(&p->event);
        if (kv_buf_append(&p->event, v, vlen) != KV_OK)
            return kv_fail(err, KV_ERR_NOMEM, "out of memory for an SSE event name");
    }
    return KV_OK; /* id, retry and unknown fields are ignored */
}

static const char *sse_find_eol(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] == '\n' || s[i] == '\r')
            return s + i;
    return NULL;
}

static kv_status sse_lines(sse_parser *p, const char *s, size_t n, char *err)
{
    while (n > 0) {
        if (p->cr) {
            p->cr = false;
            if (*s == '\n') {
                s++;
                n--;
                continue;
            }
        }
        const char *e = sse_find_eol(s, n);
        size_t seg = e ? (size_t)(e - s) : n;
        if (p->line.len + seg > p->max_bytes)
            return kv_fail(err, KV_ERR_PROTOCOL, "SSE line longer than %zu bytes", p->max_bytes);
        /* A line wholly inside this chunk is handled in place; only one
         * split across chunks goes through the line buffer. */
        const char *line = s;
        size_t len = seg;
        if (!e || p->line.len > 0) {
            if (kv_buf_append(&p->line, s, seg) != KV_OK)
                return kv_fail(err, KV_ERR_NOMEM, "out of memory for an SSE line");
            if (!e)
                break;
            line = p->line.data;
            len = p->line.len;
        }
        p->cr = *e == '\r';
        s = e + 1;
        n -= seg + 1;
        kv_status st = sse_line(p, line, len, err);
        kv_buf_reset(&p->line);
        if (st != KV_OK)
            return st;
    }
    return KV_OK;
}

kv_status sse_feed(sse_parser *p, const void *bytes, size_t n, char *err)
{
    if (p->failed != KV_OK)
        return kv_fail(err, p->failed, "SSE parser already failed (%s)", kv_strerror(p->failed));
    const unsigned char *s = bytes;
    kv_status st = KV_OK;
    while (!p->bom_done && n > 0) {
        if (*s == sse_bom[p->bom_pos]) {
            s++;
            n--;
            if (++p->bom_pos == sizeof sse_bom)
                p->bom_done = true;
            continue;
        }
        /* not a BOM after all: the bytes matched so far are content */
        p->bom_done = true;
        st = sse_lines(p, (const char *)sse_bom, p->bom_pos, err);
    }
    if (st == KV_OK)
        st = sse_lines(p, (const char *)s, n, err);
    p->failed = st;
    return st;
}

kv_status sse_finish(sse_parser *p, char *err)
{
    if (p->failed != KV_OK)
        return kv_fail(err, p->failed, "SSE parser already failed (%s)", kv_strerror(p->failed));
    if (!p->bom_done && p->bom_pos > 0) {
        p->bom_done = true;
        kv_status st = sse_lines(p, (const char *)sse_bom, p->bom_pos, err);
        if (st != KV_OK)
            return p->failed = st;
    }
    if (p->line.len > 0 || sse_block_pending(p))
        return kv_fail(err, KV_ERR_PROTOCOL,
                       "stream ended inside an event (%zu bytes of an unterminated line, "
                       "%zu bytes of data without the closing blank line)",
                       p->line.len, p->data.len);
    return KV_OK;
}
