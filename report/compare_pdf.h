/* compare_pdf.h - compare.pdf (kvproof compare --out DIR): page 1 the
 * verdicts table, then (below it, or on the next page) a figure of both
 * runs' cold TTFT against prompt tokens with each run's OLS line.
 * Saved atomically (pdf.tmp then rename).
 *
 * The report draws plain values: cli/cmd_compare.c fills compare_pdf_data
 * from stats/change.h's change_result and change_points (the report never
 * includes a computation header). Nothing here is owned: every pointer
 * stays the caller's.
 */
#ifndef KV_REPORT_COMPARE_PDF_H
#define KV_REPORT_COMPARE_PDF_H

#include <stdbool.h>
#include <stddef.h>

#include "common/status.h"

/* One verdicts-table row. */
typedef struct compare_pdf_row {
    char what[160];       /* the quantity and its cell, e.g. "speedup s256 q32" */
    const char *target;   /* target name */
    double ratio, lo, hi; /* B / A and its interval; NAN when not computable */
    const char *verdict;  /* "improved", "regressed", "no change", "not computable" */
} compare_pdf_row;

/* One run's cold points (prompt tokens, TTFT ms) and its OLS line a + b x. */
typedef struct compare_pdf_run {
    const double *x, *y;
    size_t n;
    bool fit_ok; /* false: no line */
    double a, b; /* intercept (ms) and slope (ms/token) */
} compare_pdf_run;

typedef struct compare_pdf_data {
    const compare_pdf_row *rows;
    size_t n;
    double threshold;       /* relative noise threshold, e.g. 0.05 */
    compare_pdf_run run[2]; /* A, B */
} compare_pdf_data;

kv_status compare_pdf_write(const compare_pdf_data *c, const char *a_name, const char *b_name,
                            const char *pdf_path, char *err) KV_MUST_USE;

#endif
