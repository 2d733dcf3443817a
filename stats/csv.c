/* csv.c - RFC 4180 reader (csv.h): a tokenizer over the whole text that
 * appends fields to a flat array, then row/column accessors. */
#include "stats/csv.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/util.h"

struct csv_table {
    char *name;
    char **cells; /* rows x cols, header first */
    size_t n_cells, cap;
    size_t cols;
    long *lines;   /* start line of each row (header included) */
    size_t n_rows; /* including the header */
    size_t lines_cap;
};

void csv_free(csv_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n_cells; i++)
        free(t->cells[i]);
    free(t->cells);
    free(t->lines);
    free(t->name);
    free(t);
}

static kv_status csv_push(csv_table *t, kv_buf *field, char *err)
{
    if (t->n_cells == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 64;
        char **c = realloc(t->cells, cap * sizeof *c);
        if (!c)
            return kv_fail(err, KV_ERR_NOMEM, "out of memory reading %s", t->name);
        t->cells = c;
        t->cap = cap;
    }
    char *s = malloc(field->len + 1);
    if (!s)
        return kv_fail(err, KV_ERR_NOMEM, "out of memory reading %s", t->name);
    if (field->len)
        memcpy(s, field->data, field->len);
    s[field->len] = '\0';
    t->cells[t->n_cells++] = s;
    kv_buf_reset(field);
    return KV_OK;
}

static kv_status csv_end_row(csv_table *t, size_t row_start, long line, char *err)
{
    size_t nf = t->n_cells - row_start;
    /* a blank line is a single empty field: drop it */
    if (nf == 1 && t->cells[row_start][0] == '\0') {
        free(t->cells[row_start]);
        t->n_cells--;
        return KV_OK;
    }
    if (t->n_rows == 0)
        t->cols = nf;
    else if (nf != t->cols)
        return kv_fail(err, KV_ERR_INPUT, "%s:%ld: expected %zu fields, found %zu", t->name, line,
                       t->cols, nf);
    if (t->n_rows == t->lines_cap) {
        size_t cap = t->lines_cap ? 2 * t->lines_cap : 64;
        long *l = realloc(t->lines, cap * sizeof *l);
        if (!l)
            return kv_fail(err, KV_ERR_NOMEM, "out of memory reading %s", t->name);
        t->lines = l;
        t->lines_cap = cap;
    }
    t->lines[t->n_rows++] = line;
    return KV_OK;
}

/* The tokenizer's state over one text. */
typedef struct csv_scan {
    const char *text, *name;
    size_t len, i;       /* i: the byte being read */
    long line, row_line; /* current line; the line the current row started on */
    size_t row_start;    /* the current row's first cell */
    bool quoted, was_quoted, any;
    kv_buf field;
    csv_table *t;
} csv_scan;

static kv_status csv_new(const char *name, csv_table **out, char *err)
{
    csv_table *t = calloc(1, sizeof *t);
    if (!t)
        return kv_fail(err, KV_ERR_NOMEM, "out of memory");
    size_t nl = strlen(name);
    t->name = malloc(nl + 1);
    if (!t->name) {
        free(t);
        return kv_fail(err, KV_ERR_NOMEM, "out of memory");
    }
    memcpy(t->name, name, nl + 1);
    *out = t;
    return KV_OK;
}

/* A byte inside a quoted field: "" is one quote, " ends the quotes. */
static kv_status csv_scan_quoted(csv_scan *sc, char c)
{
    if (c != '"') {
        if (c == '\n')
            sc->line++;
        return kv_buf_append(&sc->field, &c, 1);
    }
    if (sc->i + 1 < sc->len && sc->text[sc->i + 1] == '"') {
        sc->i++;
        return kv_buf_append(&sc->field, "\"", 1);
    }
    sc->quoted = false;
    return KV_OK;
}

/* The end of a line (LF, CR or CRLF): the last field, then the row. */
static kv_status csv_scan_newline(csv_scan *sc, char c, char *err)
{
    if (c == '\r' && sc->i + 1 < sc->len && sc->text[sc->i + 1] == '\n')
        sc->i++;
    kv_status st = csv_push(sc->t, &sc->field, err);
    if (st == KV_OK)
        st = csv_end_row(sc->t, sc->row_start, sc->row_line, err);
    sc->was_quoted = false;
    sc->line++;
    sc->row_line = sc->line;
    sc->row_start = sc->t->n_cells;
    sc->any = false;
    return st;
}

/* One byte of the text. */
static kv_status csv_scan_byte(csv_scan *sc, char c, char *err)
{
    kv_status st = KV_OK;
    if (sc->quoted) {
        st = csv_scan_quoted(sc, c);
    } else if (c == '"') {
        if (sc->field.len != 0 || sc->was_quoted)
            return kv_fail(err, KV_ERR_INPUT, "%s:%ld: a quote inside an unquoted field", sc->name,
                           sc->line);
        sc->quoted = sc->was_quoted = true;
    } else if (c == ',') {
        st = csv_push(sc->t, &sc->field, err);
        sc->was_quoted = false;
    } else if (c == '\n' || c == '\r') {
        return csv_scan_newline(sc, c, err);
    } else {
        if (sc->was_quoted)
            return kv_fail(err, KV_ERR_INPUT, "%s:%ld: text after a closing quote", sc->name,
                           sc->line);
        st = kv_buf_append(&sc->field, &c, 1);
    }
    sc->any = true;
    return st;
}

/* After the last byte: an open quote is an error, a last line without a
 * newline is a row, and a header row is required. */
static kv_status csv_scan_end(csv_scan *sc, char *err)
{
    if (sc->quoted)
        return kv_fail(err, KV_ERR_INPUT, "%s:%ld: unterminated quoted field", sc->name,
                       sc->row_line);
    if (sc->any) {
        kv_status st = csv_push(sc->t, &sc->field, err);
        if (st == KV_OK)
            st = csv_end_row(sc->t, sc->row_start, sc->row_line, err);
        if (st != KV_OK)
            return st;
    }
    if (sc->t->n_rows == 0)
        return kv_fail(err, KV_ERR_INPUT, "%s: empty file (a header row is required)", sc->name);
    return KV_OK;
}

kv_status csv_parse(const char *text, size_t len, const char *name, csv_table **out, char *err)
{
    *out = NULL;
    csv_scan sc = {text, name, len, 0, 1, 1, 0, false, false, false, {0}, NULL};
    kv_status st = csv_new(name, &sc.t, err);
    if (st != KV_OK)
        return st;
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        sc.i = 3; /* UTF-8 byte order mark */
    for (; st == KV_OK && sc.i < len; sc.i++)
        st = csv_scan_byte(&sc, text[sc.i], err);
    if (st == KV_OK)
        st = csv_scan_end(&sc, err);
    kv_buf_free(&sc.field);
    if (st != KV_OK) {
        csv_free(sc.t);
        return st;
    }
    *out = sc.t;
    return KV_OK;
}

kv_status csv_load(const char *path, csv_table **out, char *err)
{
    char *text = NULL;
    size_t len = 0;
    *out = NULL;
    kv_status st = kv_read_file(path, &text, &len, err);
    if (st == KV_OK)
        st = csv_parse(text, len, path, out, err);
    free(text); /* NULL when the file was not read */
    return st;
}

size_t csv_rows(const csv_table *t)
{
    return t->n_rows - 1;
}

size_t csv_columns(const csv_table *t)
{
    return t->cols;
}

const char *csv_header(const csv_table *t, size_t col)
{
    return col < t->cols ? t->cells[col] : NULL;
}

long csv_find(const csv_table *t, const char *name)
{
    for (size_t j = 0; j < t->cols; j++)
        if (strcmp(t->cells[j], name) == 0)
            return (long)j;
    for (size_t j = 0; j < t->cols; j++)
        if (strcasecmp(t->cells[j], name) == 0)
            return (long)j;
    return -1;
}

const char *csv_cell(const csv_table *t, size_t row, size_t col)
{
    return t->cells[(row + 1) * t->cols + col];
}

long csv_line(const csv_table *t, size_t row)
{
    return t->lines[row + 1];
}

kv_status csv_column(const csv_table *t, const char *name, double **out, char *err)
{
    *out = NULL;
    long j = csv_find(t, name);
    if (j < 0) {
        kv_buf cols = {0};
        for (size_t c = 0; c < t->cols; c++)
            if (kv_buf_appendf(&cols, "%s%s", c ? ", " : "", t->cells[c]) != KV_OK)
                break;
        kv_status st = kv_fail(err, KV_ERR_INPUT, "%s: no column '%s' (columns: %s)", t->name, name,
                               cols.data ? cols.data : "");
        kv_buf_free(&cols);
        return st;
    }
    size_t n = csv_rows(t);
    double *v = malloc((n ? n : 1) * sizeof *v);
    if (!v)
        return kv_fail(err, KV_ERR_NOMEM, "out of memory");
    for (size_t r = 0; r < n; r++) {
        const char *s = csv_cell(t, r, (size_t)j);
        while (*s == ' ' || *s == '\t')
            s++;
        char *end = NULL;
        errno = 0;
        double d = strtod(s, &end);
        while (end && (*end == ' ' || *end == '\t'))
            end++;
        if (end == s || !end || *end != '\0' || !isfinite(d) || errno == ERANGE) {
            kv_status st = kv_fail(err, KV_ERR_INPUT, "%s:%ld: column '%s': '%s' is not a number",
                                   t->name, csv_line(t, r), t->cells[j], csv_cell(t, r, (size_t)j));
            free(v);
            return st;
        }
        v[r] = d;
    }
    *out = v;
    return KV_OK;
}
