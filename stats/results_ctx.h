/* results_ctx.h - internal to stats/results*.c, not a public contract: the
 * estimate object every section writes, the measured points gathered from a
 * journal and the context the sections share.
 *
 * Names: results_ is the results module's internal prefix. The context borrows
 * the journal, spec and options; it owns only pts (freed by results_ctx_free).
 */
#ifndef KV_RESULTS_CTX_H
#define KV_RESULTS_CTX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "experiments/journal.h"
#include "experiments/journal_cols.h"
#include "experiments/spec.h"
#include "stats/compare.h"
#include "stats/describe.h"
#include "stats/estimate.h"
#include "stats/jsonw.h"
#include "stats/results_options.h"
#include "stats/warm.h"

#define RES_MAX 64 /* most distinct lengths, comparisons or sessions per target */

/* ---- estimate objects ---- */

/* An estimate (stats/estimate.h; level 0 = the run's confidence level) with
 * the text results.json writes beside it, owned here. */
typedef struct results_est {
    estimate est;
    char method[200]; /* "" = null */
    char note[200];   /* "" = none */
} results_est;

/* NAN everywhere, no interval, n 0, the note given. */
void results_est_none(results_est *e, const char *note);

/* The mean and its t-interval from a description of n values; the note
 * "n < 2: no interval" when there is no interval. */
void results_est_from_summary(results_est *e, const describe_summary *s, size_t n,
                              const char *method);

/* Mean with t-interval of v[0..n); what is the note when n is 0. */
void results_est_mean(const double *v, size_t n, double level, results_est *e, const char *what);

/* "1.23x (95% CI 1.1 to 1.4)" and the like, scaled, with the interval's own
 * level when it has one; "not computable (...)" without a value. */
void results_est_format(char *buf, size_t len, const results_est *e, double scale,
                        const char *unit);

/* {"value", "ci", "level", "n", "method"[, "note"]}; "level" is e->level
 * when set, else the run's level. */
void results_est_write(jsonw *w, const results_est *e, double level);

/* Key then estimate object (jsonw_key, results_est_write). */
void results_kest(jsonw *w, const char *key, const results_est *e, double level);

/* "system_prompt_tokens" and "query_tokens": the lengths that name a cell, a
 * comparison or a session. */
void results_klengths(jsonw *w, long long sys, long long query);

/* ---- measured points and the shared context ---- */

/* One measured request turn (~72 bytes: a million of them is the largest
 * thing the analysis holds beside the columns; the narrow integers hold what
 * journal_cols_load accepts). */
typedef struct results_point {
    double x;            /* actual prompt tokens (NAN unknown) */
    double newtok;       /* x - cached (NAN unknown) */
    double cached;       /* NAN when not reported */
    double y;            /* ttft ms */
    double prefill;      /* server prefill ms or NAN */
    uint32_t target;     /* target index */
    uint32_t order;      /* run position */
    int32_t sys, query;  /* nominal lengths */
    int32_t count;       /* the session's query count */
    int16_t turn;        /* 1-based */
    uint8_t mode;        /* spec_cache_mode */
    uint8_t cache_state; /* trial_cache_state */
    bool contaminated;
} results_point;

/* Trial counts over the whole journal. */
typedef struct results_counts {
    size_t completed, failed; /* measured trials */
    size_t contaminated;      /* measured trials with a contaminated turn */
    size_t inferred;          /* measured turns whose cache state was inferred */
    size_t warmup;            /* trials that are not measurements */
} results_counts;

typedef struct results_ctx {
    const journal_cols *j;   /* the journal's columns */
    const journal_header *h; /* its header (j->h) */
    const spec *s;           /* the journal's embedded spec; NULL when absent or bad */
    const results_options *opt;
    double level;
    uint64_t boot_seed;
    results_point *pts; /* owned; measured, ok turns in run order */
    size_t n_pts;
    size_t excluded_bad; /* ok turns with NaN/negative ttft */

    /* contention (stats/warm.h, results_warm.h) */
    const warm_result *warm;    /* contention statistics; NULL without contention */
    size_t contention_planned;  /* contention requests among the header's planned_trials */
    bool contention_plan_known; /* ... counted from the embedded spec's plan (else from the
                                   journaled lines) */

    results_counts counts;
    char err_note[512]; /* why the embedded spec was not used; "" = it was */
    size_t fit_sampled; /* models fitted on a subsample (results_models.h, RES_FIT_LIMIT) */
} results_ctx;

/* Fills pts (sorted by run position, then turn), excluded_bad and counts. */
kv_status results_gather(results_ctx *c, char *err) KV_MUST_USE;
void results_ctx_free(results_ctx *c);

/* Collects y of points matching a filter into a malloc'd array. turn 0 =
 * any turn, count -1 = any count, sys/query -1 = any. Contaminated points
 * are skipped. NULL when out of memory. */
double *results_collect(const results_ctx *c, size_t target, long sys, long query, long count,
                        int mode, int turn, size_t *n);

typedef enum results_field { RES_SYS, RES_QUERY, RES_COUNT } results_field;

/* Distinct sorted values of a field among a target's points (at most cap). */
size_t results_distinct(const results_ctx *c, size_t target, results_field which, long *out,
                        size_t cap);

/* Same cell and turn: target, lengths, count, mode and turn agree. */
bool results_same_cell(const results_point *p, const results_point *q);

/* Below this many values on either side a ratio of means gets the
 * delta-method t interval: the bootstrap-t is unstable at n <= 3 (resamples
 * with almost no spread give huge t values and intervals like -1500%..99%). */
#define RES_RATIO_BOOT_MIN 6

/* From this many values on both sides the ratio of means also gets the
 * delta-method interval: the bootstrap costs resamples x n (10^4 x 10^5 per
 * comparison at a million trials), and its asymptotic equivalent covers as
 * stated there (lognormal times, sigma 0.1-1.0, 1% stalls x10: 0.936-0.955
 * at 95%, 2000 replicates each, n = 500-5000 per side). */
#define RES_RATIO_DELTA_MIN 500

/* The median ratio x/y (Hodges-Lehmann on log times) with its exact rank
 * interval and the level it achieves (compare_median_ratio); what names the
 * two sides in the method text. */
void results_est_median_ratio(const results_ctx *c, const double *x, size_t nx, const double *y,
                              size_t ny, const char *what, results_est *e);

/* Ratio of means x/y with the studentized bootstrap interval, seeded with
 * the context's bootstrap seed + salt; with fewer than RES_RATIO_BOOT_MIN
 * values on a side, or RES_RATIO_DELTA_MIN or more on both, the
 * delta-method interval with Welch-Satterthwaite t (the method says why). */
void results_est_ratio(const results_ctx *c, const double *x, size_t nx, const double *y, size_t ny,
                       uint64_t salt, results_est *e);

#endif
