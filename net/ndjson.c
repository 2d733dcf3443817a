/* ndjson.c - incremental newline-delimited JSON line splitter (see ndjson.h).
 *
 * The current line is buffered until its '\n' arrives, then trimmed of a
 * trailing '\r' and handed to the callback unless it is blank.
 */
#include "net/ndjson.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

struct ndjson_parser {
    ndjson_line_fn cb;
    void *ctx;
    size_t max_bytes;
    kv_buf line;      /* current, unterminated line */
    size_t lineno;    /* lines completed so far, blank ones included */
    size_t delivered; /* lines handed to the callback */
    kv_status failed; /* sticky failure */
};

kv_status ndjson_new(size_t max_bytes, ndjson_line_fn cb, void *ctx, ndjson_parser **out, char *err)
{
    *out = NULL;
    if (!cb)
        return kv_fail(err, KV_ERR_INTERNAL, "ndjson_new: no callback");
    ndjson_parser *p = calloc(1, sizeof *p);
    if (!p)
        return kv_fail(err, KV_ERR_NOMEM, "out of memory for the NDJSON parser");
    p->cb = cb;
    p->ctx = ctx;
    p->max_bytes = max_bytes ? max_bytes : NDJSON_DEFAULT_MAX_BYTES;
    *out = p;
    return KV_OK;
}

void ndjson_free(ndjson_parser *p)
{
    if (!p)
        return;
    kv_buf_free(&p->line);
    free(p);
}

size_t ndjson_lines(const ndjson_parser *p)
{
    return p ? p->delivered : 0;
}

static bool ndjson_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return false;
    return true;
}

static kv_status ndjson_too_long(const ndjson_parser *p, char *err)
{
    return kv_fail(err, KV_ERR_PROTOCOL, "NDJSON line %zu longer than %zu bytes", p->lineno + 1,
                   p->max_bytes);
}

static kv_status ndjson_line(ndjson_parser *p, char *err)
{
    char *s = p->line.data;
    size_t n = p->line.len;
    if (n > 0 && s[n - 1] == '\r')
        s[--n] = '\0';
    if (n > p->max_bytes)
        return ndjson_too_long(p, err);
    p->lineno++;
    if (n == 0 || ndjson_blank(s, n))
        return KV_OK;
    p->delivered++;
    kv_status st = p->cb(p->ctx, s, n, p->lineno, err);
    if (st != KV_OK)
        kv_fail(err, st, "NDJSON line callback stopped the stream (%s)", kv_strerror(st));
    return st;
}

static kv_status ndjson_split(ndjson_parser *p, const char *s, size_t n, char *err)
{
    while (n > 0) {
        const char *e = memchr(s, '\n', n);
        size_t seg = e ? (size_t)(e - s) : n;
        /* one byte of slack for a '\r' before the '\n'; ndjson_line checks the rest */
        if (p->line.len + seg > p->max_bytes + 1)
            return ndjson_too_long(p, err);
        if (kv_buf_append(&p->line, s, seg) != KV_OK)
            return kv_fail(err, KV_ERR_NOMEM, "out of memory for an NDJSON line");
        if (!e)
            break;
        s = e + 1;
        n -= seg + 1;
        kv_status st = ndjson_line(p, err);
        kv_buf_reset(&p->line);
        if (st != KV_OK)
            return st;
    }
    return KV_OK;
}

kv_status ndjson_feed(ndjson_parser *p, const void *bytes, size_t n, char *err)
{
    if (p->failed != KV_OK)
        return kv_fail(err, p->failed, "NDJSON parser already failed (%s)", kv_strerror(p->failed));
    p->failed = ndjson_split(p, bytes, n, err);
    return p->failed;
}

kv_status ndjson_finish(ndjson_parser *p, char *err)
{
    if (p->failed != KV_OK)
        return kv_fail(err, p->failed, "NDJSON parser already failed (%s)", kv_strerror(p->failed));
    if (p->line.len > 0 && !ndjson_blank(p->line.data, p->line.len))
        return kv_fail(err, KV_ERR_PROTOCOL,
                       "stream ended inside line %zu (%zu bytes without a closing newline)",
                       p->lineno + 1, p->line.len);
    return KV_OK;
}
