/* spec_contention.h - the spec's contention block (docs/spec.md,
 * "contention"): its types (spec.h holds one in spec.contention), the
 * validator that fills it, its trace reader and its canonical form. The
 * loader functions are for experiments/ (spec.c, spec_canon.c).
 *
 * This header does not include spec.h (spec.h includes it): the functions
 * take the block, not the whole spec.
 */
#ifndef KV_SPEC_CONTENTION_H
#define KV_SPEC_CONTENTION_H

#include <stdbool.h>
#include <stddef.h>

struct cJSON;
struct spec_check_ctx;
struct spec_check_val;

/* The contention experiment (docs/spec.md, "contention"): several agents,
 * each with its own system prompt, share one server. */
typedef enum spec_pattern {
    SPEC_PATTERN_ROUND_ROBIN = 0,     /* agent 0, 1, ..., K-1, 0, 1, ... */
    SPEC_PATTERN_RANDOM,              /* each agent requests_per_agent times, seeded shuffle */
    SPEC_PATTERN_MAIN_WITH_SUBAGENTS, /* agent 0 (main) carries main_share of the requests */
    SPEC_PATTERN_TRACE                /* the order of a file, one agent id per line */
} spec_pattern;

#define SPEC_MAX_AGENTS 1024L

typedef struct spec_contention {
    bool enabled; /* the spec has a contention block */
    long *agents; /* sweep of distinct system-prompt counts, each >= 1;
                     a trace: one count, its largest id + 1 */
    size_t n_agents;
    spec_pattern pattern;
    double main_share;       /* main_with_subagents: share of agent 0, in (0, 1); else NAN */
    long requests_per_agent; /* requests per agent (a trace: unused, 0) */
    long concurrency;        /* agents in flight; 0 = one request at a time, interleaved */
    char *trace;             /* trace path as the spec gives it; NULL unless pattern trace */
    long *trace_ids;         /* the trace's agent ids in file order */
    size_t n_trace;
} spec_contention;

const char *spec_contention_pattern_name(spec_pattern p);

/* Validates v (the "contention" member) into *k, recording positioned
 * errors in c. A trace path is read relative to the spec file's directory
 * (c->name), then to the current directory. */
void spec_contention_load(struct spec_check_ctx *c, const struct spec_check_val *v,
                          spec_contention *k);
/* Adds "contention" to the canonical object (nothing when the spec has no
 * block, so older specs keep their hash); false when out of memory. */
bool spec_contention_canon(struct cJSON *root, const spec_contention *k);

#endif
