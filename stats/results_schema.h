/* results_schema.h - the contract of results.json: its format name, major
 * version and every key, with its type and whether it is required. The
 * writer (stats/results*.c) writes exactly these keys (tests check that its
 * output has no key missing from this table); the reader
 * (report/results_read.c) checks every file against the table before it
 * reads a number, and docs/results.md's key reference is checked against it
 * (tests/test_results_schema.c).
 *
 * The table is a list of objects ("kinds") and their keys. A path is built
 * from the keys: targets[].cells[].median is the key "median" of a CELL
 * object inside the array "cells" of a TARGET inside "targets".
 *
 * Rules a reader applies:
 * - a REQ key must be present in every object of its kind; a REQN key must
 *   be present unless the object has a "note" (a cell with no usable value,
 *   a model that could not be fitted); an OPT key may be absent (older
 *   files, or written only when it applies).
 * - a present key holds its type, or null: null means "not computable" or
 *   "not known" (results.json never holds NaN) — except NN keys, which are
 *   never null.
 * - keys not in the table are ignored (a newer minor writer may add some);
 *   a different major version is refused.
 *
 * Header only: X-macros, so a reader can build its own table and the
 * writer's tests can walk the same one, and two small inline helpers of
 * the points file that writer and reader share. No third-party types.
 */
#ifndef KV_RESULTS_SCHEMA_H
#define KV_RESULTS_SCHEMA_H

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define RESULTS_FORMAT "kvproof-results"
#define RESULTS_VERSION_MAJOR 1

/* Value types. NUM: any number; INT: an integral number; STR: a string;
 * SEED: a string or a number; BOOL; PAIR: [low, high] of numbers; OBJ: an
 * object of the child kind; ARR: an array of objects of the child kind (of
 * numbers or strings when the child kind is RS_NONE); EST: an estimate
 * object (kind EST). */
typedef enum rs_type {
    RS_NUM,
    RS_INT,
    RS_STR,
    RS_SEED,
    RS_BOOL,
    RS_PAIR,
    RS_OBJ,
    RS_ARR,
    RS_EST
} rs_type;

/* Flags: exactly one of REQ, REQN, OPT; NN may be added. */
enum { RS_OPT = 0, RS_REQ = 1, RS_REQN = 2, RS_NN = 4 };

/* The objects of the format. X(kind, name used in docs) */
#define RESULTS_KINDS(X)                                                                           \
    X(NONE, "")                                                                                    \
    X(TOP, "top level")                                                                            \
    X(SOURCE, "source")                                                                            \
    X(IMPORTED, "source.imported")                                                                 \
    X(IMPFILE, "source.imported.files[]")                                                          \
    X(METHOD, "method")                                                                            \
    X(ENV, "environment")                                                                          \
    X(CLIENT, "environment.client")                                                                \
    X(ENVT, "environment.targets[]")                                                               \
    X(COUNTS, "counts")                                                                            \
    X(FAILURE, "counts.failures[]")                                                                \
    X(STOPPING, "adaptive_stopping")                                                               \
    X(TARGET, "targets[]")                                                                         \
    X(EVIDENCE, "targets[].cache_evidence")                                                        \
    X(CELL, "targets[].cells[]")                                                                   \
    X(OUTLIERS, "targets[].cells[].outliers")                                                      \
    X(STALLS, "targets[].cells[].stalls")                                                          \
    X(STALL, "targets[].cells[].stalls.trials[]")                                                  \
    X(POINT, "targets[].points[]")                                                                 \
    X(MODELS, "targets[].models")                                                                  \
    X(MODEL, "model result")                                                                       \
    X(FTEST, "model result f_test")                                                                \
    X(REJECT, "model result rejected[]")                                                           \
    X(FIT, "model result fits[]")                                                                  \
    X(COEF, "model result fits[].coefficients[]")                                                  \
    X(ROBUST, "model result robust")                                                               \
    X(CURVE, "model result curve[]")                                                               \
    X(RESID, "model result residuals[]")                                                           \
    X(SPEEDUP, "targets[].speedup[]")                                                              \
    X(OVERHEAD, "targets[].overhead_fraction[]")                                                   \
    X(SESSION, "targets[].sessions[]")                                                             \
    X(CUMS, "targets[].sessions[].cumulative")                                                     \
    X(CUM, "targets[].sessions[].cumulative.cold[]")                                               \
    X(HYP, "hypotheses[]")                                                                         \
    X(VERDICT, "verdict")                                                                          \
    X(CONTENTION, "contention")                                                                    \
    X(WGROUP, "contention.groups[]")                                                               \
    X(WCLASSES, "contention.groups[].classes")                                                     \
    X(WCAP, "contention.capacity[]")                                                               \
    X(QUESTION, "questions[]")                                                                     \
    X(COMPARISON, "comparison[]")                                                                  \
    X(POINTSFILE, "points_file")                                                                   \
    X(EST, "estimate object")

/* X(kind, key, type, flags, child kind) */
#define RESULTS_KEYS_TOP(X)                                                                        \
    X(TOP, "format", RS_STR, RS_REQ | RS_NN, NONE)                                                 \
    X(TOP, "version", RS_INT, RS_REQ | RS_NN, NONE)                                                \
    X(TOP, "simulated", RS_BOOL, RS_REQ, NONE)                                                     \
    X(TOP, "partial", RS_BOOL, RS_REQ, NONE)                                                       \
    X(TOP, "source", RS_OBJ, RS_REQ | RS_NN, SOURCE)                                               \
    X(TOP, "confidence_level", RS_NUM, RS_REQ, NONE)                                               \
    X(TOP, "method", RS_OBJ, RS_REQ | RS_NN, METHOD)                                               \
    X(TOP, "environment", RS_OBJ, RS_REQ | RS_NN, ENV)                                             \
    X(TOP, "counts", RS_OBJ, RS_REQ | RS_NN, COUNTS)                                               \
    X(TOP, "targets", RS_ARR, RS_REQ | RS_NN, TARGET)                                              \
    X(TOP, "hypotheses", RS_ARR, RS_REQ, HYP)                                                      \
    X(TOP, "verdict", RS_OBJ, RS_REQ | RS_NN, VERDICT)                                             \
    X(TOP, "questions", RS_ARR, RS_REQ, QUESTION)                                                  \
    X(TOP, "comparison", RS_ARR, RS_OPT, COMPARISON)                                               \
    X(TOP, "contention", RS_OBJ, RS_OPT, CONTENTION)                                               \
    X(TOP, "adaptive_stopping", RS_OBJ, RS_OPT, STOPPING)                                          \
    X(TOP, "points_file", RS_OBJ, RS_OPT, POINTSFILE)                                              \
    X(POINTSFILE, "name", RS_STR, RS_REQ | RS_NN, NONE)                                            \
    X(POINTSFILE, "format", RS_STR, RS_REQ | RS_NN, NONE)                                          \
    X(POINTSFILE, "version", RS_INT, RS_REQ | RS_NN, NONE)                                         \
    X(POINTSFILE, "rows", RS_INT, RS_REQ | RS_NN, NONE)                                            \
    X(POINTSFILE, "id", RS_STR, RS_REQ | RS_NN, NONE)                                              \
    X(SOURCE, "journal", RS_STR, RS_REQ, NONE)                                                     \
    X(SOURCE, "spec_name", RS_STR, RS_REQ, NONE)                                                   \
    X(SOURCE, "spec_path", RS_STR, RS_REQ, NONE)                                                   \
    X(SOURCE, "spec_hash", RS_STR, RS_REQ, NONE)                                                   \
    X(SOURCE, "seed", RS_SEED, RS_REQ, NONE)                                                       \
    X(SOURCE, "kvproof_version", RS_STR, RS_REQ, NONE)                                             \
    X(SOURCE, "run_date", RS_STR, RS_REQ, NONE)                                                    \
    X(SOURCE, "imported", RS_OBJ, RS_OPT, IMPORTED)                                                \
    X(IMPORTED, "format", RS_STR, RS_REQ, NONE)                                                    \
    X(IMPORTED, "files", RS_ARR, RS_REQ, IMPFILE)                                                  \
    X(IMPFILE, "path", RS_STR, RS_REQ, NONE)                                                       \
    X(IMPFILE, "sha256", RS_STR, RS_REQ, NONE)                                                     \
    X(METHOD, "order", RS_STR, RS_REQ, NONE)                                                       \
    X(METHOD, "seed", RS_SEED, RS_REQ, NONE)                                                       \
    X(METHOD, "repetitions", RS_INT, RS_REQ, NONE)                                                 \
    X(METHOD, "warmup_requests", RS_INT, RS_REQ, NONE)                                             \
    X(METHOD, "cache_modes", RS_ARR, RS_REQ, NONE)                                                 \
    X(METHOD, "ttft_definition", RS_STR, RS_REQ, NONE)                                             \
    X(METHOD, "exclusions", RS_STR, RS_REQ, NONE)                                                  \
    X(METHOD, "bootstrap_resamples", RS_INT, RS_REQ, NONE)                                         \
    X(METHOD, "bootstrap_seed", RS_SEED, RS_REQ, NONE)                                             \
    X(METHOD, "bootstrap_interval", RS_STR, RS_OPT, NONE)                                          \
    X(METHOD, "spec_note", RS_STR, RS_OPT, NONE)                                                   \
    X(METHOD, "fit_sample", RS_STR, RS_OPT, NONE)                                                  \
    X(METHOD, "fit_sample_limit", RS_INT, RS_OPT, NONE)                                            \
    X(METHOD, "fit_sample_seed", RS_SEED, RS_OPT, NONE)                                            \
    X(ENV, "client", RS_OBJ, RS_REQ, CLIENT)                                                       \
    X(ENV, "targets", RS_ARR, RS_REQ, ENVT)                                                        \
    X(CLIENT, "host", RS_STR, RS_REQ, NONE)                                                        \
    X(CLIENT, "cpu", RS_STR, RS_REQ, NONE)                                                         \
    X(CLIENT, "os", RS_STR, RS_REQ, NONE)                                                          \
    X(CLIENT, "kvproof_version", RS_STR, RS_REQ, NONE)                                             \
    X(ENVT, "name", RS_STR, RS_REQ, NONE)                                                          \
    X(ENVT, "base_url", RS_STR, RS_REQ, NONE)                                                      \
    X(ENVT, "dialect", RS_STR, RS_REQ, NONE)                                                       \
    X(ENVT, "model", RS_STR, RS_REQ, NONE)                                                         \
    X(ENVT, "server_version", RS_STR, RS_REQ, NONE)                                                \
    X(ENVT, "flags", RS_STR, RS_REQ, NONE)                                                         \
    X(ENVT, "simulated", RS_BOOL, RS_REQ, NONE)                                                    \
    X(COUNTS, "planned", RS_INT, RS_REQ, NONE)                                                     \
    X(COUNTS, "completed", RS_INT, RS_REQ, NONE)                                                   \
    X(COUNTS, "failed", RS_INT, RS_REQ, NONE)                                                      \
    X(COUNTS, "contaminated", RS_INT, RS_REQ, NONE)                                                \
    X(COUNTS, "inferred", RS_INT, RS_REQ, NONE)                                                    \
    X(COUNTS, "warmup", RS_INT, RS_REQ, NONE)                                                      \
    X(COUNTS, "excluded_bad_times", RS_INT, RS_OPT, NONE)                                          \
    X(COUNTS, "failures", RS_ARR, RS_REQ, FAILURE)                                                 \
    X(COUNTS, "failures_truncated", RS_BOOL, RS_OPT, NONE)                                         \
    X(FAILURE, "trial", RS_STR, RS_REQ, NONE)                                                      \
    X(FAILURE, "target", RS_STR, RS_REQ, NONE)                                                     \
    X(FAILURE, "reason", RS_STR, RS_REQ, NONE)                                                     \
    X(FAILURE, "attempts", RS_INT, RS_REQ, NONE)                                                   \
    X(STOPPING, "target_rel_ci", RS_NUM, RS_REQ, NONE)                                             \
    X(STOPPING, "min_repetitions", RS_INT, RS_REQ, NONE)                                           \
    X(STOPPING, "trials_not_run", RS_INT, RS_REQ, NONE)                                            \
    X(STOPPING, "saving_server_seconds", RS_NUM, RS_REQ, NONE)                                     \
    X(STOPPING, "method", RS_STR, RS_REQ, NONE)

#define RESULTS_KEYS_TARGET(X)                                                                     \
    X(TARGET, "name", RS_STR, RS_REQ | RS_NN, NONE)                                                \
    X(TARGET, "dialect", RS_STR, RS_REQ, NONE)                                                     \
    X(TARGET, "model", RS_STR, RS_REQ, NONE)                                                       \
    X(TARGET, "simulated", RS_BOOL, RS_REQ, NONE)                                                  \
    X(TARGET, "cells", RS_ARR, RS_REQ | RS_NN, CELL)                                               \
    X(TARGET, "points", RS_ARR, RS_OPT, POINT)                                                     \
    X(TARGET, "models", RS_OBJ, RS_REQ | RS_NN, MODELS)                                            \
    X(TARGET, "speedup", RS_ARR, RS_REQ, SPEEDUP)                                                  \
    X(TARGET, "overhead_fraction", RS_ARR, RS_REQ, OVERHEAD)                                       \
    X(TARGET, "sessions", RS_ARR, RS_REQ, SESSION)                                                 \
    X(TARGET, "cache_evidence", RS_OBJ, RS_OPT, EVIDENCE)                                          \
    X(EVIDENCE, "warm_requests", RS_INT, RS_REQ, NONE)                                             \
    X(EVIDENCE, "verified", RS_INT, RS_REQ, NONE)                                                  \
    X(EVIDENCE, "inferred", RS_INT, RS_REQ, NONE)                                                  \
    X(EVIDENCE, "contaminated_warm", RS_INT, RS_REQ, NONE)                                         \
    X(EVIDENCE, "contaminated_cold", RS_INT, RS_REQ, NONE)                                         \
    X(CELL, "target", RS_STR, RS_OPT, NONE)                                                        \
    X(CELL, "system_prompt_tokens", RS_INT, RS_REQ | RS_NN, NONE)                                  \
    X(CELL, "query_tokens", RS_INT, RS_REQ | RS_NN, NONE)                                          \
    X(CELL, "query_count", RS_INT, RS_REQ | RS_NN, NONE)                                           \
    X(CELL, "cache_mode", RS_STR, RS_REQ | RS_NN, NONE)                                            \
    X(CELL, "turn", RS_INT, RS_REQ | RS_NN, NONE)                                                  \
    X(CELL, "n", RS_INT, RS_REQ | RS_NN, NONE)                                                     \
    X(CELL, "contaminated", RS_INT, RS_REQ, NONE)                                                  \
    X(CELL, "note", RS_STR, RS_OPT, NONE)                                                          \
    X(CELL, "mean", RS_EST, RS_REQN, EST)                                                          \
    X(CELL, "median", RS_EST, RS_REQN, EST)                                                        \
    X(CELL, "typical_ttft_ms", RS_EST, RS_OPT, EST)                                                \
    X(CELL, "p90", RS_NUM, RS_REQN, NONE)                                                          \
    X(CELL, "p90_ci", RS_PAIR, RS_OPT, NONE)                                                       \
    X(CELL, "p99", RS_NUM, RS_REQN, NONE)                                                          \
    X(CELL, "p99_ci", RS_PAIR, RS_OPT, NONE)                                                       \
    X(CELL, "sd", RS_NUM, RS_OPT, NONE)                                                            \
    X(CELL, "mad", RS_NUM, RS_REQN, NONE)                                                          \
    X(CELL, "iqr", RS_NUM, RS_REQN, NONE)                                                          \
    X(CELL, "cv", RS_NUM, RS_REQN, NONE)                                                           \
    X(CELL, "min", RS_NUM, RS_REQN, NONE)                                                          \
    X(CELL, "max", RS_NUM, RS_REQN, NONE)                                                          \
    X(CELL, "q1", RS_NUM, RS_REQN, NONE)                                                           \
    X(CELL, "q3", RS_NUM, RS_REQN, NONE)                                                           \
    X(CELL, "whisker_low", RS_NUM, RS_REQN, NONE)                                                  \
    X(CELL, "whisker_high", RS_NUM, RS_REQN, NONE)                                                 \
    X(CELL, "lag1_autocorrelation", RS_NUM, RS_REQN, NONE)                                         \
    X(CELL, "outliers", RS_OBJ, RS_REQN, OUTLIERS)                                                 \
    X(CELL, "stalls", RS_OBJ, RS_OPT, STALLS)                                                      \
    X(OUTLIERS, "mild", RS_INT, RS_REQ, NONE)                                                      \
    X(OUTLIERS, "severe", RS_INT, RS_REQ, NONE)                                                    \
    X(OUTLIERS, "values", RS_ARR, RS_REQ, NONE)                                                    \
    X(OUTLIERS, "rule", RS_STR, RS_OPT, NONE)                                                      \
    X(STALLS, "count", RS_INT, RS_REQ, NONE)                                                       \
    X(STALLS, "rule", RS_STR, RS_OPT, NONE)                                                        \
    X(STALLS, "median_ms", RS_NUM, RS_OPT, NONE)                                                   \
    X(STALLS, "trials", RS_ARR, RS_REQ, STALL)                                                     \
    X(STALLS, "note", RS_STR, RS_OPT, NONE)                                                        \
    X(STALL, "order", RS_INT, RS_REQ, NONE)                                                        \
    X(STALL, "ttft_ms", RS_NUM, RS_REQ, NONE)                                                      \
    X(STALL, "ratio_to_median", RS_NUM, RS_REQ, NONE)                                              \
    X(POINT, "x", RS_NUM, RS_REQ | RS_NN, NONE)                                                    \
    X(POINT, "new_tokens", RS_NUM, RS_REQ, NONE)                                                   \
    X(POINT, "cached", RS_NUM, RS_REQ, NONE)                                                       \
    X(POINT, "y", RS_NUM, RS_REQ | RS_NN, NONE)                                                    \
    X(POINT, "server_prefill_ms", RS_NUM, RS_REQ, NONE)                                            \
    X(POINT, "mode", RS_STR, RS_REQ | RS_NN, NONE)                                                 \
    X(POINT, "system_prompt_tokens", RS_INT, RS_REQ, NONE)                                         \
    X(POINT, "query_tokens", RS_INT, RS_REQ, NONE)                                                 \
    X(POINT, "query_count", RS_INT, RS_REQ, NONE)                                                  \
    X(POINT, "turn", RS_INT, RS_REQ, NONE)                                                         \
    X(POINT, "order", RS_INT, RS_REQ, NONE)                                                        \
    X(POINT, "contaminated", RS_BOOL, RS_REQ, NONE)

#define RESULTS_KEYS_MODEL(X)                                                                      \
    X(MODELS, "cold_ttft", RS_OBJ, RS_REQ, MODEL)                                                  \
    X(MODELS, "warm_ttft", RS_OBJ, RS_REQ, MODEL)                                                  \
    X(MODELS, "cold_server_prefill", RS_OBJ, RS_REQ, MODEL)                                        \
    X(MODELS, "cold_ttft_note", RS_STR, RS_OPT, NONE)                                              \
    X(MODELS, "warm_ttft_note", RS_STR, RS_OPT, NONE)                                              \
    X(MODELS, "cold_server_prefill_note", RS_STR, RS_OPT, NONE)                                    \
    X(MODEL, "y", RS_STR, RS_REQ, NONE)                                                            \
    X(MODEL, "x", RS_STR, RS_REQ, NONE)                                                            \
    X(MODEL, "n", RS_INT, RS_REQ, NONE)                                                            \
    X(MODEL, "fit_n", RS_INT, RS_OPT, NONE)                                                        \
    X(MODEL, "note", RS_STR, RS_OPT, NONE)                                                         \
    X(MODEL, "stalls", RS_INT, RS_OPT, NONE)                                                       \
    X(MODEL, "choice_method", RS_STR, RS_OPT, NONE)                                                \
    X(MODEL, "chosen", RS_STR, RS_REQN, NONE)                                                      \
    X(MODEL, "why", RS_STR, RS_REQN, NONE)                                                         \
    X(MODEL, "f_test", RS_OBJ, RS_OPT, FTEST)                                                      \
    X(MODEL, "rejected", RS_ARR, RS_REQN, REJECT)                                                  \
    X(MODEL, "fits", RS_ARR, RS_REQN, FIT)                                                         \
    X(MODEL, "robust", RS_OBJ, RS_OPT, ROBUST)                                                     \
    X(MODEL, "prefill_ms_per_token", RS_EST, RS_REQN, EST)                                         \
    X(MODEL, "prefill_tokens_per_second", RS_EST, RS_REQN, EST)                                    \
    X(MODEL, "curve", RS_ARR, RS_REQN, CURVE)                                                      \
    X(MODEL, "residuals", RS_ARR, RS_OPT, RESID)                                                   \
    X(FTEST, "F", RS_NUM, RS_REQ, NONE)                                                            \
    X(FTEST, "p", RS_NUM, RS_REQ, NONE)                                                            \
    X(REJECT, "model", RS_STR, RS_REQ, NONE)                                                       \
    X(REJECT, "reason", RS_STR, RS_REQ, NONE)                                                      \
    X(FIT, "model", RS_STR, RS_REQ | RS_NN, NONE)                                                  \
    X(FIT, "terms", RS_ARR, RS_REQ, NONE)                                                          \
    X(FIT, "coefficients", RS_ARR, RS_REQ, COEF)                                                   \
    X(FIT, "knee_n0", RS_NUM, RS_OPT, NONE)                                                        \
    X(FIT, "r_squared", RS_NUM, RS_REQ, NONE)                                                      \
    X(FIT, "residual_sd", RS_NUM, RS_REQ, NONE)                                                    \
    X(FIT, "rss", RS_NUM, RS_REQ, NONE)                                                            \
    X(FIT, "df", RS_NUM, RS_REQ, NONE)                                                             \
    X(FIT, "aicc", RS_NUM, RS_REQ, NONE)                                                           \
    X(FIT, "robust_fit", RS_BOOL, RS_OPT, NONE)                                                    \
    X(FIT, "robust_aic", RS_NUM, RS_OPT, NONE)                                                     \
    X(FIT, "weighted", RS_BOOL, RS_REQ, NONE)                                                      \
    X(FIT, "weight_power", RS_NUM, RS_OPT, NONE)                                                   \
    X(FIT, "covariance", RS_STR, RS_OPT, NONE)                                                     \
    X(FIT, "heteroscedasticity_test", RS_STR, RS_OPT, NONE)                                        \
    X(FIT, "heteroscedasticity_p", RS_NUM, RS_REQ, NONE)                                           \
    X(FIT, "normality_test", RS_STR, RS_OPT, NONE)                                                 \
    X(FIT, "normality_p", RS_NUM, RS_REQ, NONE)                                                    \
    X(FIT, "shapiro_wilk_w", RS_NUM, RS_OPT, NONE)                                                 \
    X(FIT, "shapiro_wilk_p", RS_NUM, RS_OPT, NONE)                                                 \
    X(FIT, "lag1_autocorrelation", RS_NUM, RS_REQ, NONE)                                           \
    X(COEF, "name", RS_STR, RS_REQ, NONE)                                                          \
    X(COEF, "unit", RS_STR, RS_REQ, NONE)                                                          \
    X(COEF, "value", RS_NUM, RS_REQ, NONE)                                                         \
    X(COEF, "sd", RS_NUM, RS_REQ, NONE)                                                            \
    X(COEF, "ci", RS_PAIR, RS_REQ, NONE)                                                           \
    X(COEF, "df", RS_NUM, RS_OPT, NONE)                                                            \
    X(ROBUST, "model", RS_STR, RS_REQ, NONE)                                                       \
    X(ROBUST, "method", RS_STR, RS_OPT, NONE)                                                      \
    X(ROBUST, "terms", RS_ARR, RS_OPT, NONE)                                                       \
    X(ROBUST, "coefficients", RS_ARR, RS_REQ, COEF)                                                \
    X(ROBUST, "residual_sd", RS_NUM, RS_OPT, NONE)                                                 \
    X(CURVE, "x", RS_NUM, RS_REQ, NONE)                                                            \
    X(CURVE, "mean", RS_NUM, RS_REQ, NONE)                                                         \
    X(CURVE, "ci", RS_PAIR, RS_REQ, NONE)                                                          \
    X(CURVE, "pi", RS_PAIR, RS_REQ, NONE)                                                          \
    X(RESID, "x", RS_NUM, RS_REQ, NONE)                                                            \
    X(RESID, "order", RS_NUM, RS_REQ, NONE)                                                        \
    X(RESID, "residual", RS_NUM, RS_REQ, NONE)

#define RESULTS_KEYS_HEADLINES(X)                                                                  \
    X(SPEEDUP, "system_prompt_tokens", RS_INT, RS_REQ | RS_NN, NONE)                               \
    X(SPEEDUP, "query_tokens", RS_INT, RS_OPT, NONE)                                               \
    X(SPEEDUP, "speedup", RS_EST, RS_REQ, EST)                                                     \
    X(SPEEDUP, "speedup_geometric_means", RS_EST, RS_OPT, EST)                                     \
    X(SPEEDUP, "speedup_means", RS_EST, RS_OPT, EST)                                               \
    X(SPEEDUP, "test", RS_STR, RS_REQ, NONE)                                                       \
    X(SPEEDUP, "p_value", RS_NUM, RS_REQ, NONE)                                                    \
    X(SPEEDUP, "p_holm", RS_NUM, RS_REQ, NONE)                                                     \
    X(SPEEDUP, "hodges_lehmann_ms", RS_EST, RS_REQ, EST)                                           \
    X(OVERHEAD, "system_prompt_tokens", RS_INT, RS_REQ | RS_NN, NONE)                              \
    X(OVERHEAD, "query_tokens", RS_INT, RS_OPT, NONE)                                              \
    X(OVERHEAD, "estimate", RS_EST, RS_REQ, EST)                                                   \
    X(OVERHEAD, "estimate_means", RS_EST, RS_OPT, EST)                                             \
    X(OVERHEAD, "mean_ttft_without_ms", RS_NUM, RS_OPT, NONE)                                      \
    X(OVERHEAD, "mean_ttft_with_ms", RS_NUM, RS_OPT, NONE)                                         \
    X(OVERHEAD, "median_ttft_without_ms", RS_NUM, RS_OPT, NONE)                                    \
    X(OVERHEAD, "median_ttft_with_ms", RS_NUM, RS_OPT, NONE)                                       \
    X(OVERHEAD, "from_model", RS_BOOL, RS_OPT, NONE)                                               \
    X(SESSION, "query_count", RS_INT, RS_REQ | RS_NN, NONE)                                        \
    X(SESSION, "system_prompt_tokens", RS_INT, RS_OPT, NONE)                                       \
    X(SESSION, "query_tokens", RS_INT, RS_OPT, NONE)                                               \
    X(SESSION, "cold_total_ms", RS_EST, RS_REQ, EST)                                               \
    X(SESSION, "warm_total_ms", RS_EST, RS_REQ, EST)                                               \
    X(SESSION, "measured_speedup", RS_EST, RS_REQ, EST)                                            \
    X(SESSION, "measured_speedup_means", RS_EST, RS_OPT, EST)                                      \
    X(SESSION, "projected_cold_total_ms", RS_EST, RS_REQ, EST)                                     \
    X(SESSION, "projected_warm_total_ms", RS_EST, RS_REQ, EST)                                     \
    X(SESSION, "projected_speedup", RS_EST, RS_REQ, EST)                                           \
    X(SESSION, "theoretical_speedup", RS_NUM, RS_REQ, NONE)                                        \
    X(SESSION, "theoretical_note", RS_STR, RS_OPT, NONE)                                           \
    X(SESSION, "cumulative", RS_OBJ, RS_REQ, CUMS)                                                 \
    X(SESSION, "projected_cumulative", RS_OBJ, RS_REQ, CUMS)                                       \
    X(CUMS, "cold", RS_ARR, RS_REQ, CUM)                                                           \
    X(CUMS, "warm", RS_ARR, RS_REQ, CUM)                                                           \
    X(CUM, "query", RS_INT, RS_REQ, NONE)                                                          \
    X(CUM, "estimate", RS_EST, RS_REQ, EST)                                                        \
    X(HYP, "id", RS_STR, RS_REQ, NONE)                                                             \
    X(HYP, "description", RS_STR, RS_REQ, NONE)                                                    \
    X(HYP, "metric", RS_STR, RS_REQ, NONE)                                                         \
    X(HYP, "target", RS_STR, RS_REQ, NONE)                                                         \
    X(HYP, "criterion", RS_STR, RS_REQ, NONE)                                                      \
    X(HYP, "min", RS_NUM, RS_REQ, NONE)                                                            \
    X(HYP, "max", RS_NUM, RS_REQ, NONE)                                                            \
    X(HYP, "estimate", RS_EST, RS_REQ, EST)                                                        \
    X(HYP, "verdict", RS_STR, RS_REQ, NONE)                                                        \
    X(HYP, "reason", RS_STR, RS_REQ, NONE)                                                         \
    X(VERDICT, "summary", RS_STR, RS_REQ, NONE)                                                    \
    X(VERDICT, "recommendation", RS_STR, RS_OPT, NONE)                                             \
    X(VERDICT, "system_prompt_tokens", RS_INT, RS_REQ, NONE)                                       \
    X(VERDICT, "overhead_fraction", RS_EST, RS_REQ, EST)                                           \
    X(VERDICT, "speedup", RS_EST, RS_REQ, EST)                                                     \
    X(VERDICT, "prefill_ms_per_token", RS_EST, RS_REQ, EST)                                        \
    X(VERDICT, "prefill_tokens_per_second", RS_EST, RS_REQ, EST)                                   \
    X(QUESTION, "id", RS_INT, RS_REQ, NONE)                                                        \
    X(QUESTION, "question", RS_STR, RS_REQ, NONE)                                                  \
    X(QUESTION, "answer", RS_STR, RS_REQ, NONE)                                                    \
    X(QUESTION, "estimate", RS_EST, RS_REQ, EST)                                                   \
    X(COMPARISON, "target", RS_STR, RS_REQ, NONE)                                                  \
    X(COMPARISON, "system_prompt_tokens", RS_INT, RS_OPT, NONE)                                    \
    X(COMPARISON, "cold_ttft_ms", RS_EST, RS_REQ, EST)                                             \
    X(COMPARISON, "warm_ttft_ms", RS_EST, RS_REQ, EST)                                             \
    X(COMPARISON, "speedup", RS_EST, RS_REQ, EST)                                                  \
    X(COMPARISON, "session_total_ms", RS_EST, RS_REQ, EST)                                         \
    X(EST, "value", RS_NUM, RS_REQ, NONE)                                                          \
    X(EST, "ci", RS_PAIR, RS_REQ, NONE)                                                            \
    X(EST, "level", RS_NUM, RS_OPT, NONE)                                                          \
    X(EST, "n", RS_INT, RS_OPT, NONE)                                                              \
    X(EST, "method", RS_STR, RS_OPT, NONE)                                                         \
    X(EST, "note", RS_STR, RS_OPT, NONE)

/* The contention section (stats/results_warm.c, stats/warm.h). */
#define RESULTS_KEYS_CONTENTION(X)                                                                 \
    X(CONTENTION, "pattern", RS_STR, RS_REQ, NONE)                                                 \
    X(CONTENTION, "concurrency", RS_INT, RS_REQ, NONE)                                             \
    X(CONTENTION, "hit_rate_threshold", RS_NUM, RS_REQ | RS_NN, NONE)                              \
    X(CONTENTION, "cold_rate_threshold", RS_NUM, RS_REQ | RS_NN, NONE)                             \
    X(CONTENTION, "session_requests", RS_INT, RS_REQ | RS_NN, NONE)                                \
    X(CONTENTION, "requests_planned", RS_INT, RS_REQ, NONE)                                        \
    X(CONTENTION, "requests_journaled", RS_INT, RS_REQ | RS_NN, NONE)                              \
    X(CONTENTION, "groups", RS_ARR, RS_REQ | RS_NN, WGROUP)                                        \
    X(CONTENTION, "capacity", RS_ARR, RS_REQ | RS_NN, WCAP)                                        \
    X(CONTENTION, "summary", RS_STR, RS_REQ | RS_NN, NONE)                                         \
    X(WGROUP, "target", RS_STR, RS_REQ | RS_NN, NONE)                                              \
    X(WGROUP, "agents", RS_INT, RS_REQ | RS_NN, NONE)                                              \
    X(WGROUP, "system_prompt_tokens", RS_INT, RS_REQ | RS_NN, NONE)                                \
    X(WGROUP, "requests", RS_INT, RS_REQ | RS_NN, NONE)                                            \
    X(WGROUP, "failed", RS_INT, RS_REQ | RS_NN, NONE)                                              \
    X(WGROUP, "after_resume", RS_INT, RS_REQ | RS_NN, NONE)                                        \
    X(WGROUP, "scored", RS_INT, RS_REQ | RS_NN, NONE)                                              \
    X(WGROUP, "hits", RS_INT, RS_REQ | RS_NN, NONE)                                                \
    X(WGROUP, "inferred", RS_INT, RS_REQ | RS_NN, NONE)                                            \
    X(WGROUP, "classes", RS_OBJ, RS_REQ | RS_NN, WCLASSES)                                         \
    X(WGROUP, "full_slot_unknown", RS_INT, RS_REQ | RS_NN, NONE)                                   \
    X(WGROUP, "hit_rate", RS_EST, RS_REQ, EST)                                                     \
    X(WGROUP, "median_ttft_ms", RS_EST, RS_REQ, EST)                                               \
    X(WGROUP, "hit_ttft_ms", RS_EST, RS_REQ, EST)                                                  \
    X(WGROUP, "miss_ttft_ms", RS_EST, RS_REQ, EST)                                                 \
    X(WGROUP, "saving_ms", RS_EST, RS_REQ, EST)                                                    \
    X(WGROUP, "session_with_cache_s", RS_EST, RS_REQ, EST)                                         \
    X(WGROUP, "session_without_cache_s", RS_EST, RS_REQ, EST)                                      \
    X(WCLASSES, "full", RS_INT, RS_REQ | RS_NN, NONE)                                              \
    X(WCLASSES, "restored", RS_INT, RS_REQ | RS_NN, NONE)                                          \
    X(WCLASSES, "partial", RS_INT, RS_REQ | RS_NN, NONE)                                           \
    X(WCLASSES, "miss", RS_INT, RS_REQ | RS_NN, NONE)                                              \
    X(WCLASSES, "inferred_hit", RS_INT, RS_REQ | RS_NN, NONE)                                      \
    X(WCLASSES, "inferred_miss", RS_INT, RS_REQ | RS_NN, NONE)                                     \
    X(WCAP, "target", RS_STR, RS_REQ | RS_NN, NONE)                                                \
    X(WCAP, "system_prompt_tokens", RS_INT, RS_REQ | RS_NN, NONE)                                  \
    X(WCAP, "smallest_swept", RS_INT, RS_REQ | RS_NN, NONE)                                        \
    X(WCAP, "largest_swept", RS_INT, RS_REQ | RS_NN, NONE)                                         \
    X(WCAP, "warm_capacity", RS_INT, RS_REQ | RS_NN, NONE)                                         \
    X(WCAP, "warm_capacity_low", RS_INT, RS_REQ | RS_NN, NONE)                                     \
    X(WCAP, "warm_capacity_high", RS_INT, RS_REQ | RS_NN, NONE)                                    \
    X(WCAP, "warm_capacity_high_open", RS_BOOL, RS_REQ | RS_NN, NONE)                              \
    X(WCAP, "cold_from", RS_INT, RS_REQ, NONE)                                                     \
    X(WCAP, "cold_from_low", RS_INT, RS_REQ, NONE)                                                 \
    X(WCAP, "cold_from_high", RS_INT, RS_REQ, NONE)                                                \
    X(WCAP, "summary", RS_STR, RS_REQ | RS_NN, NONE)

/* Every key of the format. */
#define RESULTS_KEYS(X)                                                                            \
    RESULTS_KEYS_TOP(X)                                                                            \
    RESULTS_KEYS_TARGET(X)                                                                         \
    RESULTS_KEYS_MODEL(X)                                                                          \
    RESULTS_KEYS_HEADLINES(X)                                                                      \
    RESULTS_KEYS_CONTENTION(X)

/* The kinds as an enum: RS_K_TOP, RS_K_CELL, ... */
#define RS_KIND_ENUM(kind, doc) RS_K_##kind,
typedef enum rs_kind { RESULTS_KINDS(RS_KIND_ENUM) RS_K_COUNT } rs_kind;
#undef RS_KIND_ENUM

/* One key of the table, as a reader or a test builds it with
 * RESULTS_KEYS(RS_KEY_ROW): { RS_K_kind, "key", type, flags, RS_K_child }. */
typedef struct rs_key {
    rs_kind kind;    /* the object the key belongs to */
    const char *key; /* its name */
    rs_type type;    /* its value's type */
    int flags;       /* RS_REQ / RS_REQN / RS_OPT, | RS_NN */
    rs_kind child;   /* kind of an OBJ, ARR or EST value; RS_K_NONE otherwise */
} rs_key;

#define RS_KEY_ROW(kind, key, type, flags, child) {RS_K_##kind, key, type, flags, RS_K_##child},

/* ---- the points file (docs/results.md, "The points file") ----
 *
 * Per-request points and model residuals live in a CSV file next to
 * results.json, not in it (results.json stays a few MB at 10^6 trials):
 *
 *   # kvproof-points 1 rows=N id=XXXXXXXXXXXXXXXX
 *   target,order,turn,...            (the columns below, in this order)
 *   0,17,1,cold,...                  (N rows, one per measured request turn)
 *
 * LF line ends; no field is quoted (every value is a number or a word); an
 * empty field is "not known". id is the FNV-1a 64-bit digest (16 lowercase
 * hex digits) of every byte after the header line; results.json's
 * points_file holds the same rows and id, so a points file from another run
 * (or an edited one) is refused. The header line has a fixed width so the
 * writer can fill in the id after the rows. */
#define RESULTS_POINTS_FORMAT "kvproof-points"
#define RESULTS_POINTS_VERSION 1

/* X(column name, type: 'i' integer, 'n' number (may be empty), 'm' cold|warm,
 *   'b' 0|1, docs) */
#define RESULTS_POINTS_COLUMNS(X)                                                                  \
    X("target", 'i', "index into results.json targets[] (0-based)")                                \
    X("order", 'i', "run position of the trial (1-based)")                                         \
    X("turn", 'i', "turn within a session (1-based)")                                              \
    X("mode", 'm', "cold or warm")                                                                 \
    X("system_prompt_tokens", 'i', "nominal system prompt length, tokens")                         \
    X("query_tokens", 'i', "nominal query length, tokens")                                         \
    X("query_count", 'i', "queries in the session")                                                \
    X("contaminated", 'b', "1: the cache state contradicts the mode")                              \
    X("x", 'n', "actual prompt tokens")                                                            \
    X("new_tokens", 'n', "x - cached, tokens")                                                     \
    X("cached", 'n', "cached prompt tokens reported by the server")                                \
    X("ttft_ms", 'n', "time to first token, ms")                                                   \
    X("server_prefill_ms", 'n', "server-reported prefill, ms")                                     \
    X("ttft_residual_ms", 'n', "measured - chosen ttft model (cold or warm), ms")                  \
    X("prefill_residual_ms", 'n', "measured - chosen cold server prefill model, ms")

/* The header line's width before its '\n': "# kvproof-points 1 rows=" +
 * 20 digits (right-aligned, space-padded) + " id=" + 16 hex digits. */
#define RESULTS_POINTS_HEADER_LEN (24 + 20 + 4 + 16)

/* The points file of a results file: DIR/results.json -> DIR/points.csv,
 * DIR/NAME.json -> DIR/NAME.points.csv, other names + ".points.csv".
 * Returns 0, or -1 when out is too small. */
static inline int results_points_path(const char *results_path, char *out, size_t cap)
{
    const char *slash = strrchr(results_path, '/');
    const char *name = slash ? slash + 1 : results_path;
    size_t dir = (size_t)(name - results_path), len = strlen(name);
    int n;
    if (strcmp(name, "results.json") == 0)
        n = snprintf(out, cap, "%.*spoints.csv", (int)dir, results_path);
    else if (len > 5 && strcmp(name + len - 5, ".json") == 0)
        n = snprintf(out, cap, "%.*s.points.csv", (int)(dir + len - 5), results_path);
    else
        n = snprintf(out, cap, "%s.points.csv", results_path);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

#endif
