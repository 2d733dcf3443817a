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

kv_status csv_parse(const char *text, size_t len, const char *name, csv_table **out, char *err)
{
    *out = NULL;
    kv_status st = KV_OK;
    kv_buf field = {0};
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
    long line = 1, row_line = 1;
    size_t row_start = 0, i = 0;
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        i = 3; /* UTF-8 byte order mark */
    bool quoted = false, was_quoted = false, any = false;
    for (; i < len; i++) {
        char c = text[i];
        if (quoted) {
            if (c == '"') {
                if (i + 1 < len && text[i + 1] == '"') {
                    st = kv_buf_append(&field, "\"", 1);
                    i++;
                } else {
                    quoted = false;
                }
            } else {
                if (c == '\n')
                    line++;
                st = kv_buf_append(&field, &c, 1);
            }
        } else if (c == '"') {
            if (field.len != 0 || was_quoted) {
                st = kv_fail(err, KV_ERR_INPUT, "%s:%ld: a quote inside an unquoted field", name,
                             line);
                goto out;
            }
            quoted = was_quoted = true;
        } else if (c == ',') {
            st = csv_push(t, &field, err);
            was_quoted = false;
        } else if (c == '\n' || c == '\r') {
            if (c == '\r' && i + 1 < len && text[i + 1] == '\n')
                i++;
            st = csv_push(t, &field, err);
            if (st == KV_OK)
                st = csv_end_row(t, row_start, row_line, err);
            was_quoted = false;
            line++;
            row_line = line;
            row_start = t->n_cells;
            any = false;
            if (st != KV_OK)
                goto out;
            continue;
        } else {
            if (was_quoted) {
                st = kv_fail(err, KV_ERR_INPUT, "%s:%ld: text after a closing quote", name, line);
                goto out;
            }
            st = kv_buf_append(&field, &c, 1);
        }
        any = true;
        if (st != KV_OK)
            goto out;
    }
    if (quoted) {
        st = kv_fail(err, KV_ERR_INPUT, "%s:%ld: unterminated quoted field", name, row_line);
        goto out;
    }
    if (any) {
        st = csv_push(t, &field, err);
        if (st == KV_OK)
            st = csv_end_row(t, row_start, row_line, err);
        if (st != KV_OK)
            goto out;
    }
    if (t->n_rows == 0) {
        st = kv_fail(err, KV_ERR_INPUT, "%s: empty file (a header row is required)", name);
        goto out;
    }
out:
    kv_buf_free(&field);
    if (st != KV_OK) {
        csv_free(t);
        return st;
    }
    *out = t;
    return KV_OK;
}

kv_status csv_load(const char *path, csv_table **out, char *err)
{
    char *text = NULL;
    size_t len = 0;
    *out = NULL;
    kv_status st = kv_read_file(path, &text, &len, err);
    if (st != KV_OK)
        return st;
    st = csv_parse(text, len, path, out, err);
    free(text);
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
