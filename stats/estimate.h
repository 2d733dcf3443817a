/* estimate.h - the one estimate type: a value with its interval, the level
 * the interval holds at and the observations behind it. The comparisons
 * (stats/compare.h) and the contention statistics (stats/warm.h) compute
 * it, the results writer (stats/results_ctx.h) writes it as the estimate
 * object of results.json (docs/results.md: "value", "ci", "level", "n"), and
 * the report reads it back (report/results_read.h).
 *
 * Numbers only. The text that goes with an estimate in results.json, its
 * "method" and "note", is kept by each side in its own wrapper: the writer's
 * results_est owns it (built with snprintf), the reader's rr_est borrows it
 * from the parsed file. Whether a key held an estimate at all is a fact of
 * a file, not of the estimate, so rr_est's wrapper has "present" too.
 *
 * Header only: a type with no computation, so the report may include it
 * beside stats/results_schema.h.
 */
#ifndef KV_ESTIMATE_H
#define KV_ESTIMATE_H

#include <stdbool.h>
#include <stddef.h>

typedef struct estimate {
    double value;  /* NAN when not computable */
    double lo, hi; /* the interval when has_ci (else undefined; the reader and the
                      writer's "none" estimates leave NAN) */
    bool has_ci;   /* false: too few values, no variation, or (read) "ci" null */
    double level;  /* the level the interval holds at: the requested one or, for
                      exact rank intervals, the achieved one (below the request when
                      too few values allow it). Not a positive number = not stated:
                      the writer leaves 0 (read as the run's level), the reader NAN
                      when the file has none */
    size_t n;      /* observations behind it; 0 = not counted (compare_* leave it to
                      their caller) or, read from a file, not stated */
} estimate;

#endif
