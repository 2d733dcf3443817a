/* journal_merge.h - several journals of one spec as one journal_data, for
 * the analysis (docs/journal.md, "Merging journals").
 *
 * A trial is identified by its client host and its trial id: journals from
 * different client hosts (a cluster measured from many clients) merge, the
 * same trial from the same host twice (the same journal given twice) is
 * refused with the ids. Journals of different specs (spec hash) are refused.
 *
 * Ownership: journal_merge takes every parts[i] (it frees them or moves
 * their trials into *out, and sets parts[i] to NULL, also on failure);
 * *out is freed by journal_data_free.
 */
#ifndef KV_JOURNAL_MERGE_H
#define KV_JOURNAL_MERGE_H

#include <stddef.h>

#include "common/status.h"
#include "experiments/journal.h"

/* How many duplicate ids an error message names before "and N more". */
#define JOURNAL_MERGE_IDS_LISTED 5

/* Merges parts[0..n) (n >= 1; names[i] is the file parts[i] came from, for
 * messages). With one part *out is that part. With several: the header is
 * the first part's, with client_host the distinct hosts joined by " + ";
 * the trials are ordered by run_position, and when positions repeat across
 * hosts (their clients ran at the same time) they are renumbered in order
 * of started_unix. KV_ERR_INPUT names both files when their spec hashes
 * differ, and the repeated ids when a host's trial appears twice. */
kv_status journal_merge(journal_data **parts, const char *const *names, size_t n,
                        journal_data **out, char *err) KV_MUST_USE;

/* Where each cell of a merge by cells came from. */
typedef struct journal_merge_cell {
    char target[128];
    long sys, query, count; /* system prompt, query, turns */
    spec_cache_mode mode;
    size_t *trials; /* per part: trials of this cell merged from it */
} journal_merge_cell;

typedef struct journal_merge_report {
    size_t n_parts;
    journal_merge_cell *cells; /* the first part's cells, in first-seen order */
    size_t n_cells;
    size_t *left_out; /* per part: trials whose target or cell the first part lacks */
} journal_merge_report;

/* As journal_merge, and also journals of different specs: the first
 * part's spec, targets and cells are the analysis; every other part
 * contributes the trials of the cells the first has too (same target
 * name, system prompt, query, turns and mode; target and cell indexes
 * renumbered to the first's) and the rest are left out; rep says which
 * cells came from where (journal_merge_report_free releases it). Journals
 * of one spec merge as journal_merge does (rep then lists no cells). */
kv_status journal_merge_cells(journal_data **parts, const char *const *names, size_t n,
                              journal_data **out, journal_merge_report *rep, char *err) KV_MUST_USE;
void journal_merge_report_free(journal_merge_report *rep);

#endif
