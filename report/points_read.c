/* points_read.c - the points file as a bounded sample (points_read.h).
 *
 * Divided into: the column table (from stats/results_schema.h), one field
 * and one row, the header and column lines, the reservoir, and the file.
 */
#include "report/points_read.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "stats/results_schema.h"

/* ---- columns -------------------------------------------------------------- */

typedef struct column {
    const char *name;
    char type; /* 'i' 'n' 'm' 'b' as in RESULTS_POINTS_COLUMNS */
} column;

#define POINTS_COLUMN_ROW(name, type, doc) {name, type},
static const column COLUMNS[] = {RESULTS_POINTS_COLUMNS(POINTS_COLUMN_ROW)};
#undef POINTS_COLUMN_ROW
#define N_COLUMNS (sizeof COLUMNS / sizeof COLUMNS[0])

/* ---- one field, one row --------------------------------------------------- */

typedef struct where {
    const char *name; /* file */
    size_t line;      /* 1-based */
    char *err;
} where;

static kv_status field_bad(const where *w, size_t col, const char *what, const char *s, size_t n)
{
    return kv_fail(w->err, KV_ERR_INPUT, "%s:%zu: field %s: %s, got \"%.*s\"", w->name, w->line,
                   COLUMNS[col].name, what, (int)(n > 40 ? 40 : n), s);
}

/* s[0..n) as [-]digits[.digits] with at most 15 digits: mantissa / 10^k,
 * both exact, so the quotient is correctly rounded, as strtod's result.
 * false for anything else (strtod then decides). */
static bool fast_decimal(const char *s, size_t n, double *out)
{
    static const double p10[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
    size_t i = s[0] == '-';
    unsigned long long m = 0;
    int digits = 0, frac = -1;
    for (; i < n; i++) {
        if (s[i] == '.' && frac < 0) {
            frac = 0;
            continue;
        }
        if (s[i] < '0' || s[i] > '9' || ++digits > 15)
            return false;
        m = m * 10 + (unsigned)(s[i] - '0');
        frac += frac >= 0;
    }
    if (digits == 0 || frac == 0)
        return false;
    double v = (double)m / p10[frac < 0 ? 0 : frac];
    *out = s[0] == '-' ? -v : v;
    return true;
}

/* s[0..n) as a non-negative integer of at most 18 digits. */
static bool fast_integer(const char *s, size_t n, long *out)
{
    if (n == 0 || n > 18)
        return false;
    long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

/* Parses s[0..n) as column col into *num (numbers, 'n') or *iv (others). */
static kv_status field_parse(const where *w, size_t col, const char *s, size_t n, double *num,
                             long *iv)
{
    char buf[64], *end = NULL;
    switch (COLUMNS[col].type) {
    case 'n':
        if (n == 0 || fast_decimal(s, n, num))
            return KV_OK;
        if (n >= sizeof buf)
            return field_bad(w, col, "too long", s, n);
        memcpy(buf, s, n);
        buf[n] = '\0';
        *num = strtod(buf, &end);
        if (*end || !isfinite(*num))
            return field_bad(w, col, "expected a finite number or nothing", s, n);
        return KV_OK;
    case 'm':
        if (n != 4 || (memcmp(s, "cold", 4) != 0 && memcmp(s, "warm", 4) != 0))
            return field_bad(w, col, "expected cold or warm", s, n);
        *iv = s[0] == 'w';
        return KV_OK;
    default:
        if (!fast_integer(s, n, iv) || (COLUMNS[col].type == 'b' && *iv > 1))
            return field_bad(w, col,
                             COLUMNS[col].type == 'b' ? "expected 0 or 1"
                                                      : "expected a non-negative integer",
                             s, n);
        return KV_OK;
    }
}

/* Stores the parsed values v (numbers) / iv (others) of one row into r. */
static void row_store(points_row *r, const double *v, const long *iv)
{
    r->target = iv[0];
    r->order = iv[1];
    r->turn = iv[2];
    r->warm = (int)iv[3];
    r->system_prompt_tokens = iv[4];
    r->query_tokens = iv[5];
    r->query_count = iv[6];
    r->contaminated = (int)iv[7];
    r->x = v[8];
    r->new_tokens = v[9];
    r->cached = v[10];
    r->ttft_ms = v[11];
    r->server_prefill_ms = v[12];
    r->ttft_residual_ms = v[13];
    r->prefill_residual_ms = v[14];
}

/* One data line (without its '\n') into r. */
static kv_status row_parse(const where *w, const char *s, size_t len, long n_targets, points_row *r)
{
    double v[N_COLUMNS];
    long iv[N_COLUMNS];
    const char *p = s, *end = s + len;
    for (size_t col = 0; col < N_COLUMNS; col++) {
        const char *q = memchr(p, ',', (size_t)(end - p));
        if (col + 1 < N_COLUMNS && !q)
            return kv_fail(w->err, KV_ERR_INPUT, "%s:%zu: %zu fields, expected %zu (no field %s)",
                           w->name, w->line, col + 1, N_COLUMNS, COLUMNS[col + 1].name);
        if (col + 1 == N_COLUMNS && q)
            return kv_fail(w->err, KV_ERR_INPUT, "%s:%zu: more than %zu fields", w->name, w->line,
                           N_COLUMNS);
        size_t n = (size_t)((q ? q : end) - p);
        v[col] = NAN;
        iv[col] = 0;
        kv_status st = field_parse(w, col, p, n, &v[col], &iv[col]);
        if (st != KV_OK)
            return st;
        p = q ? q + 1 : end;
    }
    if (n_targets >= 0 && iv[0] >= n_targets)
        return kv_fail(w->err, KV_ERR_INPUT,
                       "%s:%zu: field target: %ld, but results.json has %ld target(s)", w->name,
                       w->line, iv[0], n_targets);
    row_store(r, v, iv);
    return KV_OK;
}

/* ---- header and column lines ---------------------------------------------- */

/* "# kvproof-points V rows=N id=H": *rows and id (17 bytes). */
static kv_status header_parse(const where *w, const char *s, const points_expect *ex, size_t *rows,
                              char *id)
{
    char fmt[32] = "";
    int version = 0;
    unsigned long long n = 0;
    if (sscanf(s, "# %31s %d rows= %llu id=%16[0-9a-f]", fmt, &version, &n, id) != 4 ||
        strcmp(fmt, RESULTS_POINTS_FORMAT) != 0 || strlen(id) != 16)
        return kv_fail(w->err, KV_ERR_INPUT,
                       "%s:1: not a kvproof points file (expected \"# %s %d rows=N id=...\")",
                       w->name, RESULTS_POINTS_FORMAT, RESULTS_POINTS_VERSION);
    if (version != RESULTS_POINTS_VERSION)
        return kv_fail(w->err, KV_ERR_INPUT,
                       "%s:1: field version: %d, this kvproof reads version %d", w->name, version,
                       RESULTS_POINTS_VERSION);
    if (ex->id && strcmp(ex->id, id) != 0)
        return kv_fail(w->err, KV_ERR_INPUT,
                       "%s:1: field id: %s, but results.json names points file %s: the pair "
                       "is from different runs (run kvproof analyze again)",
                       w->name, id, ex->id);
    if (ex->rows >= 0 && (unsigned long long)ex->rows != n)
        return kv_fail(w->err, KV_ERR_INPUT,
                       "%s:1: field rows: %llu, but results.json says %ld: the pair is from "
                       "different runs (run kvproof analyze again)",
                       w->name, n, ex->rows);
    *rows = (size_t)n;
    return KV_OK;
}

static kv_status columns_check(const where *w, const char *s, size_t len)
{
    const char *p = s;
    for (size_t col = 0; col < N_COLUMNS; col++) {
        size_t n = strlen(COLUMNS[col].name);
        if ((size_t)(s + len - p) < n || memcmp(p, COLUMNS[col].name, n) != 0 ||
            (p[n] != (col + 1 < N_COLUMNS ? ',' : '\0')))
            return kv_fail(w->err, KV_ERR_INPUT, "%s:2: column %zu: expected %s", w->name, col + 1,
                           COLUMNS[col].name);
        p += n + 1;
    }
    return KV_OK;
}

/* ---- the reservoir -------------------------------------------------------- */

typedef struct reservoir {
    points_row *rows;
    size_t *line; /* each kept row's position, to restore file order */
    size_t n, cap;
    uint64_t s; /* splitmix64 state */
} reservoir;

/* Room for cap rows, drawn with the seed; false when out of memory
 * (reservoir_free then releases what was allocated). */
static bool reservoir_init(reservoir *rv, size_t cap, uint64_t seed)
{
    *rv = (reservoir){.cap = cap, .s = seed};
    rv->rows = malloc(cap * sizeof *rv->rows);
    rv->line = malloc(cap * sizeof *rv->line);
    return rv->rows && rv->line;
}

static void reservoir_free(reservoir *rv)
{
    free(rv->rows);
    free(rv->line);
}

/* The slot for row i (0-based) of the file, or -1 when it is not kept. */
static long reservoir_slot(reservoir *rv, size_t i)
{
    if (i < rv->cap)
        return (long)i;
    uint64_t j = kv_splitmix64(&rv->s) % (uint64_t)(i + 1);
    return j < rv->cap ? (long)j : -1;
}

static int by_line(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

/* Sorts the kept rows back into file order. false when out of memory. */
static bool reservoir_order(reservoir *rv, points_sample *out)
{
    size_t *idx = malloc((rv->n ? rv->n : 1) * 2 * sizeof *idx);
    points_row *rows = malloc((rv->n ? rv->n : 1) * sizeof *rows);
    if (!idx || !rows) {
        free(idx);
        free(rows);
        return false;
    }
    for (size_t k = 0; k < rv->n; k++) {
        idx[2 * k] = rv->line[k];
        idx[2 * k + 1] = k;
    }
    qsort(idx, rv->n, 2 * sizeof *idx, by_line);
    for (size_t k = 0; k < rv->n; k++)
        rows[k] = rv->rows[idx[2 * k + 1]];
    free(idx);
    out->rows = rows;
    out->n = rv->n;
    return true;
}

/* ---- the file ------------------------------------------------------------- */

/* Header and column lines; *rows from the header, *digest started. */
static kv_status head_read(FILE *f, const where *w0, const points_expect *ex, size_t *rows,
                           char *id, uint64_t *digest, char **line, size_t *cap)
{
    where w = *w0;
    ssize_t n = getline(line, cap, f);
    if (n <= 0 || (*line)[n - 1] != '\n')
        return kv_fail(w.err, KV_ERR_INPUT, "%s:1: empty or without a header line", w.name);
    (*line)[n - 1] = '\0';
    kv_status st = header_parse(&w, *line, ex, rows, id);
    if (st != KV_OK)
        return st;
    w.line = 2;
    n = getline(line, cap, f);
    if (n <= 0 || (*line)[n - 1] != '\n')
        return kv_fail(w.err, KV_ERR_INPUT, "%s:2: no column line", w.name);
    *digest = kv_hash64_more(KV_HASH64_INIT, *line, (size_t)n);
    (*line)[n - 1] = '\0';
    return columns_check(&w, *line, (size_t)n - 1);
}

/* The data lines into rv; *total rows read, *digest continued. */
static kv_status rows_read(FILE *f, const where *w0, long n_targets, reservoir *rv, size_t *total,
                           uint64_t *digest, char **line, size_t *cap)
{
    where w = *w0;
    ssize_t n;
    points_row r;
    while ((n = getline(line, cap, f)) > 0) {
        w.line = *total + 3;
        if ((*line)[n - 1] != '\n')
            return kv_fail(w.err, KV_ERR_INPUT, "%s:%zu: the last line is cut short", w.name,
                           w.line);
        *digest = kv_hash64_more(*digest, *line, (size_t)n);
        (*line)[n - 1] = '\0';
        kv_status st = row_parse(&w, *line, (size_t)n - 1, n_targets, &r);
        if (st != KV_OK)
            return st;
        long slot = reservoir_slot(rv, *total);
        if (slot >= 0) {
            rv->rows[slot] = r;
            rv->line[slot] = *total;
            rv->n = rv->n > (size_t)slot + 1 ? rv->n : (size_t)slot + 1;
        }
        (*total)++;
    }
    if (ferror(f))
        return kv_fail(w.err, KV_ERR_IO, "%s: read error", w.name);
    return KV_OK;
}

kv_status points_read_stream(FILE *f, const char *name, const points_expect *ex, points_sample *out,
                             char *err)
{
    memset(out, 0, sizeof *out);
    where w = {name, 1, err};
    reservoir rv;
    char *line = NULL, id[17] = "";
    size_t cap = 0, rows = 0, total = 0;
    uint64_t digest = 0;
    kv_status st = KV_OK;
    if (!reservoir_init(&rv, ex->limit ? ex->limit : POINTS_READ_LIMIT, ex->seed))
        st = kv_fail(err, KV_ERR_NOMEM, "%s: out of memory", name);
    if (st == KV_OK)
        st = head_read(f, &w, ex, &rows, id, &digest, &line, &cap);
    if (st == KV_OK)
        st = rows_read(f, &w, ex->n_targets, &rv, &total, &digest, &line, &cap);
    char hex[17];
    snprintf(hex, sizeof hex, "%016llx", (unsigned long long)digest);
    if (st == KV_OK && total != rows)
        st = kv_fail(err, KV_ERR_INPUT, "%s: %zu rows, but its header says %zu (cut short?)", name,
                     total, rows);
    if (st == KV_OK && strcmp(hex, id) != 0)
        st = kv_fail(err, KV_ERR_INPUT,
                     "%s: field id: the rows' digest is %s, the header says %s: the file was "
                     "edited or damaged",
                     name, hex, id);
    if (st == KV_OK && !reservoir_order(&rv, out))
        st = kv_fail(err, KV_ERR_NOMEM, "%s: out of memory", name);
    if (st == KV_OK)
        out->total = total;
    free(line);
    reservoir_free(&rv);
    return st;
}

kv_status points_read_file(const char *path, const points_expect *ex, points_sample *out,
                           int *missing, char *err)
{
    memset(out, 0, sizeof *out);
    *missing = 0;
    FILE *f = fopen(path, "r");
    if (!f) {
        *missing = errno == ENOENT;
        return kv_fail(err, KV_ERR_IO, "%s: %s", path, strerror(errno));
    }
    kv_status st = points_read_stream(f, path, ex, out, err);
    fclose(f);
    return st;
}

void points_sample_free(points_sample *s)
{
    if (!s)
        return;
    free(s->rows);
    s->rows = NULL;
    s->n = s->total = 0;
}
