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
 * Ownership: the header is the caller's (journal_header_clear); the trial
 * passed to the visitor is the scanner's, cleared after the call unless the
 * visitor moves it out (copies it and zeroes *t).
 */
#ifndef KV_JOURNAL_COLS_H
#define KV_JOURNAL_COLS_H

#include <stdbool.h>
#include <stddef.h>

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

#endif
