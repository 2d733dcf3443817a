/* journal_cols.h - the one reader of a journal file: a single pass over its
 * lines, each read once from a bounded buffer and parsed with the line
 * decoders of journal_json.c, the text freed as it goes (a million-trial
 * journal is ~770 MB of text; the reader holds one chunk and one line).
 *
 * `kvproof analyze` (journal_load), `run --resume` (journal_open: which plan
 * indexes are done) and the stopping rule's samples on resume (runner.c)
 * all read through journal_cols_scan; what each keeps of a trial is the
 * visitor's choice.
 *
 * Rules, the same for every caller: line 1 is the header; an empty line or
 * a line that does not decode is an error naming file:line and the field
 * ("run/journal.jsonl:12: $.turns[0].ttft_ms: expected a number"); a later
 * line repeating a plan index is counted and skipped (the first is kept);
 * an unterminated last line (a crash mid-write) is counted as torn and
 * skipped, and an unterminated header is an error unless the caller allows
 * it (resume rewrites it).
 *
 * The columns (journal_cols_load): what the analysis reads of each trial,
 * kept as one array per field (about 40 bytes a trial and 42 a turn,
 * against ~1 KB for a trial_record and its turns), turns of all trials in
 * one run of arrays; strings only for the failed measured trials listed in
 * results.json and one name per target index.
 *
 * Ownership: the header is the caller's (journal_header_clear); the trial
 * passed to the visitor is the scanner's, cleared after the call unless the
 * visitor moves it out (copies it and zeroes *t). journal_cols_load and
 * journal_cols_from_data return columns freed by journal_cols_free
 * (journal_cols_free(NULL) is a no-op).
 */
#ifndef KV_JOURNAL_COLS_H
#define KV_JOURNAL_COLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "experiments/journal.h"

/* Called once per distinct trial in file order; a status other than KV_OK
 * stops the scan and is returned (err filled by the visitor). */
typedef kv_status (*journal_cols_visit)(void *ctx, trial_record *t, const char *where, char *err);

/* Called once after the header line decoded (may be NULL). */
typedef kv_status (*journal_cols_on_header)(void *ctx, const journal_header *h, char *err);

typedef struct journal_cols_scan_opts {
    journal_cols_on_header header; /* may be NULL */
    journal_cols_visit trial;      /* may be NULL: the trials are only counted */
    void *ctx;
    bool torn_header_ok; /* an unterminated header line is a torn line, not an error */
    bool empty_ok;       /* a file of 0 bytes is an empty scan, not an error */
} journal_cols_scan_opts;

typedef struct journal_cols_scan_info {
    size_t lines;      /* complete lines read, header included */
    size_t trials;     /* distinct trials passed to the visitor */
    size_t duplicates; /* later lines repeating a plan index (skipped) */
    size_t torn_bytes; /* bytes of an unterminated last line (0 if none) */
    size_t complete;   /* bytes of complete lines: where the next line goes */
} journal_cols_scan_info;

/* Scans the journal open on fd (read from offset 0) named path in messages.
 * h receives the header. */
kv_status journal_cols_scan_fd(int fd, const char *path, const journal_cols_scan_opts *o,
                               journal_header *h, journal_cols_scan_info *info,
                               char *err) KV_MUST_USE;

/* The same, opening path read-only. */
kv_status journal_cols_scan(const char *path, const journal_cols_scan_opts *o, journal_header *h,
                            journal_cols_scan_info *info, char *err) KV_MUST_USE;

/* ---- the columns ---- */

/* Failed measured trials whose id, target and reason are kept. */
#define JOURNAL_COLS_FAILURES 1000

typedef struct journal_cols_failure {
    char *id;          /* trial id */
    char *target_name; /* as the trial line names it */
    char *error;       /* its first failure reason */
    long attempts;     /* HTTP attempts over its turns */
} journal_cols_failure;

/* A contention request (kind PLAN_CONTENTION with a turn): what the
 * contention statistics read of its first turn (docs/journal.md,
 * "Contention fields"). Kept in a table of its own: the other trials pay
 * nothing for it. */
typedef struct journal_cols_contention {
    size_t target, cell;
    long agents; /* K from the id "<target>/contention/k<K>/..."; 0 when the id has none */
    long agent;  /* 0-based agent id */
    long sys;    /* system_prompt_tokens */
    long agent_position;
    uint8_t hit;  /* trial_hit; TRIAL_HIT_NONE unless ok and in_contention */
    uint8_t held; /* trial_slot_held */
    bool after_resume;
    double ttft_ms; /* NAN unless ok with a finite, non-negative time */
} journal_cols_contention;

typedef struct journal_cols {
    const journal_header *h; /* &own_header, or the journal_data's (from_data) */
    journal_header own_header;
    size_t n_trials; /* distinct trials, file order (duplicates skipped) */
    /* per trial i < n_trials (the trial_record fields of the same name; the
     * narrow types hold every value the loader accepts: an index, position
     * or token count beyond them is an error naming file:line and field) */
    uint32_t *plan_index;
    uint8_t *kind; /* plan_kind */
    uint32_t *target;
    uint32_t *cell;
    int32_t *sys, *query, *count; /* system_prompt_tokens, query_tokens, query_count */
    uint8_t *mode;                /* spec_cache_mode */
    uint32_t *run_position;
    uint8_t *ok, *contaminated;
    uint32_t *turn0;   /* index of the trial's first turn in the turn columns */
    uint32_t *n_turns; /* its turns */
    size_t n_turns_all;
    /* per turn k < n_turns_all (the trial_request fields of the same name) */
    int16_t *turn;
    uint8_t *turn_ok;
    uint8_t *cache_state;                                   /* trial_cache_state */
    int32_t *prompt_tokens, *cached_tokens, *prefix_tokens; /* -1: not known */
    double *ttft_ms, *total_ms, *server_prefill_ms;
    /* contention requests, file order */
    journal_cols_contention *contention;
    size_t n_contention;
    /* names and failures */
    char **target_names; /* per target index: the first trial's target_name; NULL if none */
    size_t n_target_names;
    journal_cols_failure *failures; /* the first JOURNAL_COLS_FAILURES failed measured trials */
    size_t n_failures;
    size_t torn_lines;       /* an incomplete last line that was skipped (0 or 1) */
    size_t duplicate_trials; /* later lines repeating a plan index: skipped */
} journal_cols;

/* Reads a journal into columns in one pass (journal_load's rules and
 * messages). */
kv_status journal_cols_load(const char *path, journal_cols **out, char *err) KV_MUST_USE;

/* The columns of a journal already in memory (merged journals, tests); its
 * header is borrowed: d must outlive the columns. */
kv_status journal_cols_from_data(const journal_data *d, journal_cols **out, char *err) KV_MUST_USE;

/* Frees the columns only the measured points are made from (turn,
 * turn_ok, cache_state, prompt_tokens, cached_tokens, prefix_tokens,
 * server_prefill_ms, run_position): NULL after; the others, the header,
 * names, failures and contention table stay. For a reader that has copied
 * its points out and keeps going with the rest (results.c). */
void journal_cols_drop_point_fields(journal_cols *c);

void journal_cols_free(journal_cols *c);

#endif
