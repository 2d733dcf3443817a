/* change.h - what changed between two runs (kvproof compare): per target
 * and cell the ratio B/A of mean time to first token, and per target the
 * ratio of the cold prefill slopes, each with its interval, and a verdict
 * by criterion.rs's rule: "regressed" when the whole interval lies above
 * 1 + threshold, "improved" when it lies below 1 - threshold, else
 * "no change" (within the noise threshold, or not distinguishable from
 * it). Lower is better for both (times and ms/token).
 *
 * Targets match by name, cells by (system prompt, query, count, mode,
 * turn). Requests used: measured, ok, not contaminated, a finite time to
 * first token.
 *
 * Ownership: change_compute fills a caller's change_result released by
 * change_free (which accepts a zeroed one); change_to_json appends to a
 * caller-owned kv_buf.
 */
#ifndef KV_CHANGE_H
#define KV_CHANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "common/util.h"
#include "experiments/journal.h"

typedef enum change_kind {
    CHANGE_CELL_TTFT = 0, /* mean time to first token of one cell, ms */
    CHANGE_COLD_SLOPE,    /* slope b of a linear fit of cold TTFT on prompt tokens, ms/token */
    CHANGE_SPEEDUP,       /* mean cold / mean warm TTFT of a single-query cell (higher is better) */
    CHANGE_SESSION_TOTAL  /* mean of a session's summed TTFTs (count > 1), ms */
} change_kind;

typedef struct change_row {
    change_kind kind;
    char target[128];
    long sys, query, count, turn; /* the cell; -1 where a row has none (slope; turn of
                                     speedup and session rows) */
    int mode;                     /* spec_cache_mode of the cell; -1 for slope and speedup */
    size_t n_a, n_b;              /* values (requests, or sessions) used from A and B */
    double a, b;                  /* the estimate in A and in B */
    double sd_a, sd_b;            /* standard deviations of the values (cell rows) */
    double ratio, lo, hi;         /* B / A and its interval; NAN when not computable */
    const char *verdict;          /* "improved", "regressed", "no change", "not computable" */
    char method[160];             /* how the interval was computed, or why it was not */
} change_row;

typedef struct change_result {
    change_row *rows;
    size_t n;
    double threshold; /* relative noise threshold, e.g. 0.05 */
    double level;     /* confidence level of every interval */
} change_result;

/* Compares run b with run a. seed drives the bootstrap (n >= 6 per side;
 * below, a delta-method t interval). KV_ERR_STATS when the runs share no
 * target and cell. */
kv_status change_compute(const journal_data *a, const journal_data *b, double threshold,
                         double level, uint64_t seed, change_result *out, char *err) KV_MUST_USE;
void change_free(change_result *r);

/* The verdict of an interval of a quantity where lower is better (times),
 * by the rule above. */
const char *change_verdict(double lo, double hi, double threshold);

/* compare.json (docs/compare.md): sources a_name, b_name, threshold,
 * level, rows. */
kv_status change_to_json(const change_result *r, const char *a_name, const char *b_name,
                         kv_buf *out, char *err) KV_MUST_USE;

/* The cold points (prompt tokens, TTFT ms) of both runs, every target,
 * for the compare figure, and per run the OLS line a + b * tokens through
 * them (fit_ok false when there is none). Released by change_points_free
 * (which accepts a zeroed one). */
typedef struct change_run_points {
    double *x, *y;
    size_t n;
    bool fit_ok;
    double a, b; /* intercept (ms) and slope (ms/token) */
} change_run_points;

typedef struct change_points {
    change_run_points run[2]; /* A, B */
} change_points;

kv_status change_cold_points(const journal_data *a, const journal_data *b, change_points *out,
                             char *err) KV_MUST_USE;
void change_points_free(change_points *p);

#endif
