/* journal_cols.c - the one pass over a journal's lines (journal_cols.h).
 *
 * Divided into: the read buffer (chunks appended, consumed lines dropped);
 * one line (header or trial, duplicates); the scan loop and its end (torn
 * last line); the entry points.
 */
#include "experiments/journal_cols.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SCAN_CHUNK ((size_t)1 << 20) /* bytes read at a time */
/* The longest line kvproof reads (a trial with many turns and raw server
 * fields is a few KB): a device without newlines stops here. */
#define SCAN_LINE_MAX ((size_t)64 << 20)

typedef struct scan {
    int fd;
    const char *path;
    const journal_cols_scan_opts *o;
    journal_header *h;
    journal_cols_scan_info *info;
    char *buf; /* unconsumed bytes buf[0..len), capacity cap */
    size_t len, cap;
    size_t off;       /* file offset of buf[0] */
    bool *seen;       /* per plan index: a trial was passed on */
    trial_record t;   /* the line being decoded */
    char where[4096]; /* "path:line" */
} scan;

/* ---- the read buffer ------------------------------------------------------ */

/* Reads up to one chunk after the unconsumed bytes; *got 0 at end of file. */
static kv_status buf_fill(scan *s, size_t *got, char *err)
{
    *got = 0;
    if (s->cap - s->len < SCAN_CHUNK) {
        size_t want = s->len + SCAN_CHUNK;
        if (want > SCAN_LINE_MAX + SCAN_CHUNK)
            return kv_fail(err, KV_ERR_INPUT,
                           "%s:%zu: line longer than the %zu MiB kvproof reads for a journal line",
                           s->path, s->info->lines + 1, SCAN_LINE_MAX >> 20);
        char *p = realloc(s->buf, want);
        if (!p)
            return kv_fail(err, KV_ERR_NOMEM, "out of memory reading journal %s", s->path);
        s->buf = p;
        s->cap = want;
    }
    for (;;) {
        ssize_t r = read(s->fd, s->buf + s->len, s->cap - s->len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return kv_fail(err, KV_ERR_IO, "reading journal %s: %s", s->path, strerror(errno));
        s->len += (size_t)r;
        *got = (size_t)r;
        return KV_OK;
    }
}

/* Drops the first n bytes (consumed lines). */
static void buf_consume(scan *s, size_t n)
{
    memmove(s->buf, s->buf + n, s->len - n);
    s->len -= n;
    s->off += n;
}

/* ---- one line ------------------------------------------------------------- */

static kv_status header_line(scan *s, const char *line, size_t n, char *err)
{
    kv_status st = journal_header_from_json(line, n, s->where, s->h, err);
    if (st != KV_OK)
        return st;
    s->seen = calloc(s->h->planned_trials + 1, sizeof *s->seen);
    if (!s->seen)
        return kv_fail(err, KV_ERR_NOMEM, "out of memory reading journal %s", s->path);
    return s->o->header ? s->o->header(s->o->ctx, s->h, err) : KV_OK;
}

static kv_status trial_line(scan *s, const char *line, size_t n, char *err)
{
    kv_status st = journal_trial_from_json(line, n, s->where, s->h->planned_trials, &s->t, err);
    if (st == KV_OK && s->seen[s->t.plan_index]) {
        s->info->duplicates++;
    } else if (st == KV_OK) {
        s->seen[s->t.plan_index] = true;
        s->info->trials++;
        if (s->o->trial)
            st = s->o->trial(s->o->ctx, &s->t, s->where, err);
    }
    trial_record_clear(&s->t);
    return st;
}

/* A complete line [line, line + n) (its '\n' excluded). */
static kv_status one_line(scan *s, const char *line, size_t n, char *err)
{
    s->info->lines++;
    snprintf(s->where, sizeof s->where, "%s:%zu", s->path, s->info->lines);
    if (n == 0)
        return kv_fail(err, KV_ERR_INPUT, "%s: empty line", s->where);
    if (s->info->lines == 1)
        return header_line(s, line, n, err);
    return trial_line(s, line, n, err);
}

/* ---- the scan ------------------------------------------------------------- */

/* Every complete line in the buffer, then drops them. */
static kv_status buf_lines(scan *s, char *err)
{
    size_t pos = 0;
    kv_status st = KV_OK;
    while (st == KV_OK && pos < s->len) {
        const char *nl = memchr(s->buf + pos, '\n', s->len - pos);
        if (!nl)
            break;
        size_t n = (size_t)(nl - (s->buf + pos));
        st = one_line(s, s->buf + pos, n, err);
        pos += n + 1;
        s->info->complete = s->off + pos;
    }
    buf_consume(s, pos);
    return st;
}

/* What is left after the last '\n' at the end of the file. */
static kv_status scan_end(scan *s, char *err)
{
    s->info->torn_bytes = s->len;
    if (s->len == 0 && s->info->lines == 0 && !s->o->empty_ok)
        return kv_fail(err, KV_ERR_INPUT, "%s: empty journal (no header line)", s->path);
    if (s->len > 0 && s->info->lines == 0 && !s->o->torn_header_ok)
        return kv_fail(err, KV_ERR_INPUT, "%s:1: the header line is incomplete", s->path);
    return KV_OK;
}

kv_status journal_cols_scan_fd(int fd, const char *path, const journal_cols_scan_opts *o,
                               journal_header *h, journal_cols_scan_info *info, char *err)
{
    scan s = {0};
    s.fd = fd;
    s.path = path;
    s.o = o;
    s.h = h;
    s.info = info;
    memset(info, 0, sizeof *info);
    kv_status st = lseek(fd, 0, SEEK_SET) == 0
                       ? KV_OK
                       : kv_fail(err, KV_ERR_IO, "reading journal %s: %s", path, strerror(errno));
    size_t got = 1;
    while (st == KV_OK && got > 0) {
        st = buf_fill(&s, &got, err);
        if (st == KV_OK)
            st = buf_lines(&s, err);
    }
    if (st == KV_OK)
        st = scan_end(&s, err);
    trial_record_clear(&s.t);
    free(s.seen);
    free(s.buf);
    return st;
}

kv_status journal_cols_scan(const char *path, const journal_cols_scan_opts *o, journal_header *h,
                            journal_cols_scan_info *info, char *err)
{
    memset(info, 0, sizeof *info);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return kv_fail(err, KV_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    kv_status st = journal_cols_scan_fd(fd, path, o, h, info, err);
    close(fd);
    return st;
}
