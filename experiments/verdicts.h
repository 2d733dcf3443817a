/* verdicts.h - the headline of a results.json (docs/results.md) for the
 * CLI's closing summary: the verdict sentence and each hypothesis's
 * verdict with its estimate. Reads only; the CLI formats.
 *
 * Ownership: verdicts_load fills a caller's struct whose strings and array
 * verdicts_clear releases (it accepts a zeroed struct).
 */
#ifndef KV_VERDICTS_H
#define KV_VERDICTS_H

#include <stdbool.h>
#include <stddef.h>

#include "common/status.h"

typedef struct verdict_hypothesis {
    char id[32];        /* e.g. "H1" */
    char metric[48];    /* e.g. "overhead_fraction" */
    char target[128];   /* target name, "" for all */
    char criterion[64]; /* e.g. ">= 0.70" as results.json words it */
    char verdict[32];   /* "confirmed" / "refuted" / "inconclusive" */
    double value;       /* the estimate; NAN when null */
    double lo, hi;      /* its interval; NAN when null */
    double level;       /* the level that interval holds at (0.95 when absent) */
    char reason[256];   /* why, when results.json says */
} verdict_hypothesis;

typedef struct verdicts {
    char *summary;                                 /* verdict.summary, or NULL */
    bool simulated;                                /* results.json "simulated" */
    bool partial;                                  /* results.json "partial" */
    long planned, completed, failed, contaminated; /* counts; -1 when absent */
    verdict_hypothesis *h;
    size_t n;
} verdicts;

kv_status verdicts_load(const char *results_path, verdicts *out, char *err) KV_MUST_USE;
void verdicts_clear(verdicts *v);

#endif
