/* results_read.h - results.json (docs/results.md) read into the report's own
 * structs, so the page code never sees JSON.
 *
 * Absent or null numbers are NAN in memory (results.json never holds NaN, so
 * NAN always means "not given"); absent strings are "". Every string and
 * array is owned by the rr_results and released by results_read_free.
 */
#ifndef KV_REPORT_RESULTS_READ_H
#define KV_REPORT_RESULTS_READ_H

#include <stddef.h>

#include "common/status.h"
#include "stats/estimate.h"

/* An estimate object: its numbers (stats/estimate.h: value NAN when null;
 * lo and hi NAN and has_ci false when "ci" is null; level NAN and n 0 when
 * absent) and the text beside them, borrowed from the file. "present" is
 * here and not in the estimate: whether a key held an object is a fact of
 * the file read, which the writer's estimates never lack. */
typedef struct rr_est {
    int present;        /* the key held an object */
    estimate est;       /* its numbers */
    const char *method; /* how it was computed; "" when absent */
    const char *note;   /* why value or ci is null; "" when absent */
} rr_est;

/* One measured request. */
typedef struct rr_point {
    double x;              /* actual prompt tokens */
    double y;              /* time to first token, ms */
    double new_tokens;     /* x - cached, tokens (NAN when unknown) */
    double cached;         /* cached tokens (NAN when unknown) */
    double server_prefill; /* server-reported prefill, ms (NAN when not given) */
    int warm;              /* 1 warm, 0 cold */
    long system_prompt_tokens;
    long query_tokens;
    long query_count;
    long turn;
    long order; /* run position */
    int contaminated;
} rr_point;

typedef struct rr_cell {
    long system_prompt_tokens, query_tokens, query_count, turn;
    int warm;       /* cache_mode == "warm" */
    long n;         /* requests in the cell */
    rr_est mean;    /* ms, t interval */
    rr_est median;  /* ms, rank interval */
    rr_est typical; /* ms: median, rank interval at its own level (absent: present 0) */
    double p90, p99, mad, iqr, cv, min, max, q1, q3, whisker_low, whisker_high; /* ms */
    long mild, severe; /* Tukey outlier counts */
    double *outliers;  /* outlying values, ms */
    size_t n_outliers;
    double lag1;            /* lag-1 autocorrelation; NAN when absent */
    long contaminated;      /* contaminated requests in the cell */
    long stalls;            /* requests flagged as stalls (0 when results.json has none) */
    double stall_max_ratio; /* largest stall / cell median; NAN without stalls */
} rr_cell;

typedef struct rr_coef {
    const char *name, *unit;
    double value, sd, lo, hi;
} rr_coef;

typedef struct rr_fit {
    const char *model;
    const char *terms; /* joined with " + " */
    rr_coef *coefs;
    size_t n_coefs;
    double r_squared, residual_sd, rss, df, aicc;
    double robust_aic; /* robust fits' robust AIC (optional key), else NAN */
    int weighted;
    double heteroscedasticity_p, normality_p, lag1;
} rr_fit;

typedef struct rr_curve_pt {
    double x, mean, ci_lo, ci_hi, pi_lo, pi_hi;
} rr_curve_pt;

typedef struct rr_resid {
    double x, order, residual;
} rr_resid;

typedef struct rr_model {
    int present;      /* 0: the model is null (see note) */
    const char *note; /* why it is null, or "" */
    const char *y, *x;
    long n;
    const char *chosen, *why;
    const char **rejected; /* "model: reason" */
    size_t n_rejected;
    rr_fit *fits;
    size_t n_fits;
    rr_est prefill_ms_per_token, prefill_tokens_per_second;
    rr_curve_pt *curve;
    size_t n_curve;
    rr_resid *residuals;
    size_t n_residuals;
} rr_model;

typedef struct rr_speedup {
    long system_prompt_tokens;
    long query_tokens; /* -1 when absent */
    rr_est speedup;    /* cold / warm, median ratio (older files: ratio of geometric means) */
    rr_est speedup_gm, speedup_means; /* secondary ratios (absent: present 0) */
    const char *test;
    double p_value, p_holm;
    rr_est hodges_lehmann_ms;
} rr_speedup;

typedef struct rr_overhead {
    long system_prompt_tokens;
    long query_tokens;     /* -1 when absent */
    rr_est estimate;       /* fraction 0..1 */
    rr_est estimate_means; /* secondary, from the ratio of means (absent: present 0) */
    int from_model;        /* T(0) extrapolated from the cold model */
} rr_overhead;

typedef struct rr_cum {
    long query;
    rr_est estimate; /* cumulative ms */
} rr_cum;

typedef struct rr_session {
    long query_count;
    long system_prompt_tokens, query_tokens; /* -1 when absent */
    rr_est cold_total_ms, warm_total_ms, measured_speedup;
    rr_est measured_speedup_means; /* secondary (absent: present 0) */
    rr_est projected_cold_total_ms, projected_warm_total_ms, projected_speedup;
    double theoretical_speedup;
    rr_cum *cum_cold, *cum_warm, *proj_cold, *proj_warm;
    size_t n_cum_cold, n_cum_warm, n_proj_cold, n_proj_warm;
} rr_session;

typedef struct rr_target {
    const char *name, *dialect, *model;
    int simulated;
    rr_cell *cells;
    size_t n_cells;
    rr_point *points;
    size_t n_points;
    rr_model cold_ttft, warm_ttft, cold_server_prefill;
    rr_speedup *speedup;
    size_t n_speedup;
    rr_overhead *overhead;
    size_t n_overhead;
    rr_session *sessions;
    size_t n_sessions;
} rr_target;

typedef struct rr_hypothesis {
    const char *id, *description, *metric, *target, *criterion, *verdict, *reason;
    double min, max;
    rr_est estimate;
} rr_hypothesis;

typedef struct rr_question {
    long id;
    const char *question, *answer;
    rr_est estimate;
} rr_question;

typedef struct rr_comparison {
    const char *target;
    rr_est cold_ttft_ms, warm_ttft_ms, speedup, session_total_ms;
} rr_comparison;

/* The contention section (docs/results.md, "Contention"). */
enum { RR_WARM_CLASSES = 6 };
/* Keys of rr_warm_group.classes, in that order. */
extern const char *const results_read_warm_class_keys[RR_WARM_CLASSES];

typedef struct rr_warm_group {
    const char *target;
    long agents, system_prompt_tokens;
    long requests, failed, after_resume, scored, hits, inferred, full_slot_unknown;
    long
        classes[RR_WARM_CLASSES]; /* scored requests by class, results_read_warm_class_keys order */
    rr_est hit_rate;              /* fraction 0..1, Wilson interval */
    rr_est median_ttft_ms, hit_ttft_ms, miss_ttft_ms, saving_ms; /* ms */
    rr_est session_with_cache_s, session_without_cache_s;        /* s */
} rr_warm_group;

typedef struct rr_warm_capacity {
    const char *target;
    long system_prompt_tokens, smallest_swept, largest_swept;
    long capacity, low, high;            /* agents; 0 = not even the smallest swept */
    int high_open;                       /* the sweep does not bound it above */
    long cold_from, cold_low, cold_high; /* agents; -1 when null (none swept) */
    const char *summary;
} rr_warm_capacity;

typedef struct rr_contention {
    int present; /* results.json has the section */
    const char *pattern;
    long concurrency; /* -1 when null */
    double hit_threshold, cold_threshold;
    long session_requests;
    long requests_planned, requests_journaled; /* -1 when null */
    rr_warm_group *groups;
    size_t n_groups;
    rr_warm_capacity *caps;
    size_t n_caps;
    const char *summary; /* the sentence for page 1 */
} rr_contention;

typedef struct rr_failure {
    const char *trial; /* trial id, e.g. "ref/s550/q25/n1/cold/r2" */
    long attempts;
    const char *target, *reason;
} rr_failure;

typedef struct rr_env_target {
    const char *name, *base_url, *dialect, *model, *server_version, *flags;
    int simulated;
    double time_scale; /* reference server's time scale from flags; NAN when none */
} rr_env_target;

typedef struct rr_results {
    const char *path; /* the file read */
    long version;
    int simulated, partial;
    /* source */
    const char *journal, *spec_name, *spec_path, *spec_hash, *seed, *kvproof_version, *run_date;
    double confidence_level;
    /* method */
    const char *order, *method_seed, *ttft_definition, *exclusions, *cache_modes;
    long repetitions, warmup_requests, bootstrap_resamples;
    const char *bootstrap_seed;
    /* environment */
    const char *client_host, *client_cpu, *client_os, *client_version;
    rr_env_target *env_targets;
    size_t n_env_targets;
    /* counts */
    long planned, completed, failed, contaminated, inferred, warmup;
    rr_failure *failures;
    size_t n_failures;
    int failures_truncated;
    rr_target *targets;
    size_t n_targets;
    rr_hypothesis *hypotheses;
    size_t n_hypotheses;
    /* verdict */
    const char *summary, *recommendation;
    rr_est v_overhead, v_speedup, v_prefill_ms, v_prefill_tps;
    long v_system_prompt_tokens;
    rr_question *questions;
    size_t n_questions;
    rr_contention contention;
    rr_comparison *comparison;
    size_t n_comparison;
    /* points file (results.json's points_file; absent in older files, which
     * hold their points inline) */
    const char *points_id;   /* its id, 16 hex digits */
    long points_rows;        /* its rows; -1 when results.json names no points file */
    const char *points_path; /* where results_read_load_points looked; "" before */
    size_t points_total;     /* requests in the points file (inline: n_points summed);
                                those drawn are targets[].n_points summed (fewer: a
                                seeded subsample) */
    const char *points_note; /* why no points are drawn ("" when they are) */

    struct rr_arena *arena; /* owns everything above */
} rr_results;

/* Reads and checks path. On failure *out is NULL and err names the file, and
 * the line:column (syntax) or the field (schema). */
kv_status results_read_load(const char *path, rr_results **out, char *err) KV_MUST_USE;
/* Parses text already in memory; name is used in messages. */
kv_status results_read_parse(const char *text, size_t len, const char *name, rr_results **out,
                             char *err) KV_MUST_USE;
void results_read_free(rr_results *r);

/* Fills targets[].points and the models' residuals from the points file
 * results.json names (found next to it: stats/results_schema.h,
 * results_points_path), at most POINTS_READ_LIMIT of its rows, a uniform
 * subsample seeded with POINTS_READ_SEED (report/points_read.h) beyond
 * that. A file without points_file keeps its inline points. A missing
 * points file is not an error: KV_OK, points_note says so and warn gets
 * the same text (KV_ERRLEN bytes); a bad or mismatched one is KV_ERR_INPUT
 * with file:line: field in err. */
kv_status results_read_load_points(rr_results *r, char *warn, char *err) KV_MUST_USE;

#endif
