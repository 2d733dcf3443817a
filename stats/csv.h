/* csv.h - a small RFC 4180 CSV reader for `kvproof fit`: header row
 * required, quoted fields (with "" escapes and embedded newlines), CRLF or
 * LF. Numeric columns are converted on request with file:line messages.
 *
 * Ownership: csv_load returns a table released with csv_free (csv_free(NULL)
 * is a no-op); csv_column returns a malloc'd array the caller frees.
 */
#ifndef KV_CSV_H
#define KV_CSV_H

#include <stddef.h>

#include "common/status.h"

typedef struct csv_table csv_table;

/* KV_ERR_IO when unreadable, KV_ERR_INPUT for a malformed file
 * ("data.csv:7: expected 3 fields, found 2"). */
kv_status csv_load(const char *path, csv_table **out, char *err) KV_MUST_USE;
/* Same from memory; name labels messages. */
kv_status csv_parse(const char *text, size_t len, const char *name, csv_table **out,
                    char *err) KV_MUST_USE;
void csv_free(csv_table *t);

size_t csv_rows(const csv_table *t); /* data rows (header excluded) */
size_t csv_columns(const csv_table *t);
const char *csv_header(const csv_table *t, size_t col);
/* Column index by header name (exact, then case-insensitive), or -1. */
long csv_find(const csv_table *t, const char *name);
const char *csv_cell(const csv_table *t, size_t row, size_t col);
/* The file line a data row starts on (1-based). */
long csv_line(const csv_table *t, size_t row);

/* Converts the named column to doubles (every row, in file order).
 * KV_ERR_INPUT: "data.csv: no column 'y' (columns: a, b)" or
 * "data.csv:12: column 'y': 'abc' is not a number". */
kv_status csv_column(const csv_table *t, const char *name, double **out, char *err) KV_MUST_USE;

#endif
