/* points_read.h - the points file next to results.json (its format is in
 * stats/results_schema.h, "the points file"; docs/results.md) read as a
 * bounded, seeded sample of its rows for the report's scatter plots.
 *
 * Every row is checked (a bad one is named as file:line: field ...), the
 * digest and row count are checked against the header and against what
 * results.json expects, and at most `limit` rows are kept: a uniform
 * reservoir sample (algorithm R, splitmix64 seeded with `seed`), in file
 * order. The sample owns its rows; points_sample_free releases them.
 */
#ifndef KV_REPORT_POINTS_READ_H
#define KV_REPORT_POINTS_READ_H

#include <stdint.h>
#include <stdio.h>

#include "common/status.h"

#define POINTS_READ_LIMIT 5000 /* rows drawn per report (every figure draws a subset) */
#define POINTS_READ_SEED 1     /* seed of the subsample, stated in the report */

/* One row; NAN for an empty number. */
typedef struct points_row {
    long target, order, turn;
    int warm;
    long system_prompt_tokens, query_tokens, query_count;
    int contaminated;
    double x, new_tokens, cached; /* tokens */
    double ttft_ms, server_prefill_ms, ttft_residual_ms, prefill_residual_ms;
} points_row;

/* What results.json says the file holds. */
typedef struct points_expect {
    long rows;      /* data rows; -1: not checked */
    const char *id; /* 16 hex digits; NULL: not checked */
    long n_targets; /* target indices must be below; -1: not checked */
    size_t limit;   /* rows kept at most (0: POINTS_READ_LIMIT) */
    uint64_t seed;  /* seed of the subsample */
} points_expect;

typedef struct points_sample {
    points_row *rows; /* owned: the kept rows, in file order */
    size_t n;         /* rows kept */
    size_t total;     /* rows in the file */
} points_sample;

/* Reads f to its end; name is used in messages. KV_ERR_INPUT for a bad or
 * mismatched file (out is then empty), KV_ERR_NOMEM. */
kv_status points_read_stream(FILE *f, const char *name, const points_expect *ex, points_sample *out,
                             char *err) KV_MUST_USE;

/* Opens path and reads it. A file that does not exist: KV_ERR_IO with
 * *missing = 1 (else 0). */
kv_status points_read_file(const char *path, const points_expect *ex, points_sample *out,
                           int *missing, char *err) KV_MUST_USE;

void points_sample_free(points_sample *s);

#endif
