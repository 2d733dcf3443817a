/* journal_cols.c - the one pass over a journal's lines (journal_cols.h).
 *
 * Divided into: the read buffer (chunks appended, consumed lines dropped);
 * one line (header or trial, duplicates); the scan loop and its end (torn
 * last line); the entry points; the columns (growth of the per-field arrays,
 * one trial, loading, conversion of a journal_data, freeing).
 */
#include "experiments/journal_cols.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"

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
    size_t where_len; /* bytes of "path:" in where (0: not yet written) */
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

/* where = "path:line": the path once, then only the digits (a snprintf per
 * line was a few percent of reading a million). */
static void where_set(scan *s)
{
    if (s->where_len == 0) {
        int w = snprintf(s->where, sizeof s->where - 24, "%s:", s->path);
        s->where_len = w > 0 && (size_t)w < sizeof s->where - 24 ? (size_t)w : sizeof s->where - 25;
    }
    char digits[24];
    size_t nd = 0;
    for (size_t v = s->info->lines; v > 0 || nd == 0; v /= 10)
        digits[nd++] = (char)('0' + v % 10);
    char *p = s->where + s->where_len;
    while (nd > 0)
        *p++ = digits[--nd];
    *p = '\0';
}

/* A complete line [line, line + n) (its '\n' excluded). */
static kv_status one_line(scan *s, const char *line, size_t n, char *err)
{
    s->info->lines++;
    where_set(s);
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

/* ---- the columns: growth ---------------------------------------------------- */

typedef struct col {
    void **p;
    size_t size;
} col;

#define COL(field)                                                                                 \
    {                                                                                              \
        (void **)&c->field, sizeof *c->field                                                       \
    }

static size_t trial_cols(journal_cols *c, col *out)
{
    const col cs[] = {COL(plan_index),   COL(kind),  COL(target), COL(cell),         COL(sys),
                      COL(query),        COL(count), COL(mode),   COL(run_position), COL(ok),
                      COL(contaminated), COL(turn0), COL(n_turns)};
    memcpy(out, cs, sizeof cs);
    return sizeof cs / sizeof cs[0];
}

static size_t turn_cols(journal_cols *c, col *out)
{
    const col cs[] = {COL(turn),          COL(turn_ok),       COL(cache_state),
                      COL(prompt_tokens), COL(cached_tokens), COL(prefix_tokens),
                      COL(ttft_ms),       COL(total_ms),      COL(server_prefill_ms)};
    memcpy(out, cs, sizeof cs);
    return sizeof cs / sizeof cs[0];
}

#undef COL

/* Every column to n entries (n > 0); false when out of memory (the columns
 * that did grow keep their new size: freeing them is still right). */
static bool cols_resize(col *cs, size_t ncols, size_t n)
{
    for (size_t i = 0; i < ncols; i++) {
        void *q = realloc(*cs[i].p, n * cs[i].size);
        if (!q)
            return false;
        *cs[i].p = q;
    }
    return true;
}

typedef struct cols_build {
    journal_cols *c;
    size_t cap_trials, cap_turns, cap_contention;
} cols_build;

/* Room for one more trial of nt turns (growth by half: less spare room at
 * the end than doubling). */
static bool cols_room(cols_build *b, size_t nt)
{
    col cs[16];
    journal_cols *c = b->c;
    if (c->n_trials == b->cap_trials) {
        size_t n = b->cap_trials < 1024 ? 1024 : b->cap_trials + b->cap_trials / 2;
        if (!cols_resize(cs, trial_cols(c, cs), n))
            return false;
        b->cap_trials = n;
    }
    if (c->n_turns_all + nt > b->cap_turns) {
        size_t n = b->cap_turns < 1024 ? 1024 : b->cap_turns + b->cap_turns / 2;
        n = n < c->n_turns_all + nt ? c->n_turns_all + nt : n;
        if (!cols_resize(cs, turn_cols(c, cs), n))
            return false;
        b->cap_turns = n;
    }
    return true;
}

/* Gives back the spare room once every trial is in. */
static void cols_fit(journal_cols *c)
{
    col cs[16];
    if (c->n_trials)
        (void)cols_resize(cs, trial_cols(c, cs), c->n_trials);
    if (c->n_turns_all)
        (void)cols_resize(cs, turn_cols(c, cs), c->n_turns_all);
}

/* ---- the columns: one trial ------------------------------------------------- */

#define NAMES_MAX 65536 /* target indexes given a name (more: results say "?") */

static bool name_keep(journal_cols *c, const trial_record *t)
{
    if (t->target >= NAMES_MAX)
        return true;
    if (t->target >= c->n_target_names) {
        char **p = realloc(c->target_names, (t->target + 1) * sizeof *p);
        if (!p)
            return false;
        memset(p + c->n_target_names, 0, (t->target + 1 - c->n_target_names) * sizeof *p);
        c->target_names = p;
        c->n_target_names = t->target + 1;
    }
    if (!c->target_names[t->target])
        c->target_names[t->target] = strdup(t->target_name);
    return c->target_names[t->target] != NULL;
}

static bool failure_keep(journal_cols *c, const trial_record *t)
{
    if (t->ok || t->kind != PLAN_MEASURE || c->n_failures >= JOURNAL_COLS_FAILURES)
        return true;
    if (!c->failures && !(c->failures = calloc(JOURNAL_COLS_FAILURES, sizeof *c->failures)))
        return false;
    journal_cols_failure *f = &c->failures[c->n_failures++];
    for (size_t k = 0; k < t->n_turns; k++)
        f->attempts += t->turns[k].attempts;
    f->id = strdup(t->id);
    f->target_name = strdup(t->target_name);
    f->error = strdup(t->error);
    return f->id && f->target_name && f->error;
}

static void turn_put(journal_cols *c, size_t k, const trial_request *r)
{
    c->turn[k] = (int16_t)r->turn;
    c->turn_ok[k] = r->ok;
    c->cache_state[k] = (uint8_t)r->cache_state;
    c->prompt_tokens[k] = (int32_t)(r->prompt_tokens < 0 ? -1 : r->prompt_tokens);
    c->cached_tokens[k] = (int32_t)(r->cached_tokens < 0 ? -1 : r->cached_tokens);
    c->prefix_tokens[k] = (int32_t)(r->prefix_tokens < 0 ? -1 : r->prefix_tokens);
    c->ttft_ms[k] = r->ttft_ms;
    c->total_ms[k] = r->total_ms;
    c->server_prefill_ms[k] = r->server_prefill_ms;
}

/* K of a contention trial from its id; 0 when the id does not carry it. */
static long id_agents(const char *id)
{
    const char *k = id ? strstr(id, "/contention/k") : NULL;
    if (!k)
        return 0;
    char *end = NULL;
    long v = strtol(k + 13, &end, 10);
    return end != k + 13 && *end == '/' && v >= 1 ? v : 0;
}

static bool contention_keep(cols_build *b, const trial_record *t)
{
    journal_cols *c = b->c;
    if (t->kind != PLAN_CONTENTION || t->n_turns == 0)
        return true;
    if (kv_grow(&c->contention, &b->cap_contention, c->n_contention + 1, sizeof *c->contention,
                64) != KV_OK)
        return false;
    const trial_request *q = &t->turns[0];
    journal_cols_contention *w = &c->contention[c->n_contention++];
    w->target = t->target;
    w->cell = t->cell;
    w->agents = id_agents(t->id);
    w->agent = q->agent;
    w->sys = t->system_prompt_tokens;
    w->agent_position = q->agent_position;
    w->hit = (uint8_t)(q->ok && q->in_contention ? q->hit : TRIAL_HIT_NONE);
    w->held = (uint8_t)q->slot_held;
    w->after_resume = q->after_resume;
    w->ttft_ms = q->ok && isfinite(q->ttft_ms) && q->ttft_ms >= 0 ? q->ttft_ms : NAN;
    return true;
}

/* The first field of t (or of its turns) beyond the narrow columns, or
 * NULL when every value fits. */
static const char *too_wide(const trial_record *t, size_t n_turns_all)
{
    const long lo = INT32_MIN, hi = INT32_MAX;
    if (t->plan_index > UINT32_MAX)
        return "$.index";
    if (t->target > UINT32_MAX)
        return "$.target";
    if (t->cell > UINT32_MAX)
        return "$.cell";
    if (t->run_position > UINT32_MAX)
        return "$.run_position";
    if (t->system_prompt_tokens < lo || t->system_prompt_tokens > hi)
        return "$.system_prompt_tokens";
    if (t->query_tokens < lo || t->query_tokens > hi)
        return "$.query_tokens";
    if (t->query_count < lo || t->query_count > hi)
        return "$.query_count";
    if (t->n_turns > UINT32_MAX || n_turns_all + t->n_turns > UINT32_MAX)
        return "$.turns";
    for (size_t k = 0; k < t->n_turns; k++) {
        const trial_request *r = &t->turns[k];
        if (r->turn < INT16_MIN || r->turn > INT16_MAX)
            return "$.turns[].turn";
        if (r->prompt_tokens > hi || r->cached_tokens > hi || r->prefix_tokens > hi)
            return "$.turns[]: a token count";
    }
    return NULL;
}

static kv_status cols_add(cols_build *b, const trial_record *t, const char *where, char *err)
{
    journal_cols *c = b->c;
    const char *wide = too_wide(t, c->n_turns_all);
    if (wide)
        return kv_fail(err, KV_ERR_INPUT, "%s: %s: out of range", where, wide);
    if (!cols_room(b, t->n_turns) || !name_keep(c, t) || !failure_keep(c, t) ||
        !contention_keep(b, t))
        return kv_fail(err, KV_ERR_NOMEM, "%s: out of memory loading the journal", where);
    size_t i = c->n_trials++;
    c->plan_index[i] = (uint32_t)t->plan_index;
    c->kind[i] = (uint8_t)t->kind;
    c->target[i] = (uint32_t)t->target;
    c->cell[i] = (uint32_t)t->cell;
    c->sys[i] = (int32_t)t->system_prompt_tokens;
    c->query[i] = (int32_t)t->query_tokens;
    c->count[i] = (int32_t)t->query_count;
    c->mode[i] = (uint8_t)t->mode;
    c->run_position[i] = (uint32_t)t->run_position;
    c->ok[i] = t->ok;
    c->contaminated[i] = t->contaminated;
    c->turn0[i] = (uint32_t)c->n_turns_all;
    c->n_turns[i] = (uint32_t)t->n_turns;
    for (size_t k = 0; k < t->n_turns; k++)
        turn_put(c, c->n_turns_all + k, &t->turns[k]);
    c->n_turns_all += t->n_turns;
    return KV_OK;
}

/* ---- the columns: entry points ---------------------------------------------- */

static kv_status cols_visit(void *ctx, trial_record *t, const char *where, char *err)
{
    return cols_add(ctx, t, where, err);
}

kv_status journal_cols_load(const char *path, journal_cols **out, char *err)
{
    *out = NULL;
    journal_cols *c = calloc(1, sizeof *c);
    if (!c)
        return kv_fail(err, KV_ERR_NOMEM, "out of memory loading journal %s", path);
    c->h = &c->own_header;
    cols_build b = {c, 0, 0, 0};
    journal_cols_scan_opts o = {.trial = cols_visit, .ctx = &b};
    journal_cols_scan_info info;
    kv_status st = journal_cols_scan(path, &o, &c->own_header, &info, err);
    if (st != KV_OK) {
        journal_cols_free(c);
        return st;
    }
    c->torn_lines = info.torn_bytes > 0;
    c->duplicate_trials = info.duplicates;
    cols_fit(c);
    *out = c;
    return KV_OK;
}

kv_status journal_cols_from_data(const journal_data *d, journal_cols **out, char *err)
{
    *out = NULL;
    journal_cols *c = calloc(1, sizeof *c);
    if (!c)
        return kv_fail(err, KV_ERR_NOMEM, "out of memory");
    c->h = &d->header;
    cols_build b = {c, 0, 0, 0};
    for (size_t i = 0; i < d->n_trials; i++) {
        kv_status st = cols_add(&b, &d->trials[i], d->trials[i].id, err);
        if (st != KV_OK) {
            journal_cols_free(c);
            return st;
        }
    }
    c->torn_lines = d->torn_lines;
    c->duplicate_trials = d->duplicate_trials;
    cols_fit(c);
    *out = c;
    return KV_OK;
}

void journal_cols_drop_point_fields(journal_cols *c)
{
    void **cs[] = {(void **)&c->turn,
                   (void **)&c->turn_ok,
                   (void **)&c->cache_state,
                   (void **)&c->prompt_tokens,
                   (void **)&c->cached_tokens,
                   (void **)&c->prefix_tokens,
                   (void **)&c->server_prefill_ms,
                   (void **)&c->run_position};
    for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++) {
        free(*cs[i]);
        *cs[i] = NULL;
    }
}

void journal_cols_free(journal_cols *c)
{
    if (!c)
        return;
    col cs[16];
    size_t n = trial_cols(c, cs);
    for (size_t i = 0; i < n; i++)
        free(*cs[i].p);
    n = turn_cols(c, cs);
    for (size_t i = 0; i < n; i++)
        free(*cs[i].p);
    for (size_t i = 0; i < c->n_target_names; i++)
        free(c->target_names[i]);
    free(c->target_names);
    for (size_t i = 0; i < c->n_failures; i++) {
        free(c->failures[i].id);
        free(c->failures[i].target_name);
        free(c->failures[i].error);
    }
    free(c->failures);
    free(c->contention);
    journal_header_clear(&c->own_header);
    free(c);
}
