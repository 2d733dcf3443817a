/* results_options.h - the options of the analysis (stats/results.h), in a
 * header of their own so that the internal results modules
 * (results_ctx.h) can hold them without including results.h, which
 * results.c's include of every module would make a cycle. */
#ifndef KV_RESULTS_OPTIONS_H
#define KV_RESULTS_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

typedef struct results_options {
    long bootstrap_resamples; /* resamples per bootstrap interval; default 10000 */
    bool has_bootstrap_seed;  /* false: use the spec's (journal header's) seed */
    uint64_t bootstrap_seed;  /* seed of the bootstrap generator when has_bootstrap_seed */
    double confidence;        /* confidence level of every interval; default 0.95 */
    bool partial;             /* the run was interrupted (also inferred from the counts) */
} results_options;

#endif
