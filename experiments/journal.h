/* journal.h - the crash-safe trial journal (JSON Lines), docs/journal.md.
 *
 * Line 1 is a header (format, version, kvproof version, spec hash, seed,
 * planned trials, the spec itself, target metadata from probe); every later
 * line is one finished trial (failed trials too, with their reason), written
 * and fdatasync'd before the next trial starts. A lock (flock on the journal
 * file) keeps two runners off one journal. Reopening for --resume repairs a
 * torn last line (truncates the partial bytes after the last '\n') and never
 * rewrites earlier lines.
 *
 * Ownership: journal_open returns a handle closed by journal_close
 * (journal_close(NULL) is a no-op). journal_load returns journal_data freed
 * by journal_data_free.
 */
#ifndef KV_JOURNAL_H
#define KV_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "common/status.h"
#include "common/util.h"
#include "experiments/trial.h"

typedef struct journal journal;

typedef struct journal_target_meta {
    char *name; /* spec target name */
    char *base_url;
    char *dialect; /* detected or configured dialect, e.g. "llama.cpp" */
    char *model;
    char *server_version; /* as probed; may be NULL */
    char *props;          /* probed server properties as compact JSON; may be NULL */
    bool simulated;       /* the target is kvproof's reference server */
    char *cold_method;    /* how cold trials were kept cold, e.g. "cache_prompt:false
                             + nonce; cache reset unsupported: ..."; NULL when
                             unknown (optional key "cold_method") */
} journal_target_meta;

/* One file an imported journal was made from. */
typedef struct journal_import_file {
    char *path;      /* as given to kvproof import */
    char sha256[65]; /* SHA-256 of its bytes, 64 lower-case hex digits */
} journal_import_file;

typedef struct journal_header {
    char *kvproof_version;
    char *spec_name;
    char *spec_path;
    char *spec_json; /* canonical spec JSON (spec->canonical) */
    uint64_t spec_hash;
    uint64_t seed;
    size_t planned_trials;
    double created_unix; /* wall clock when the journal was created */
    char *client_host;   /* hostname, CPU model, OS, the measuring threads' slice */
    journal_target_meta *targets;
    size_t n_targets;
    /* Imported journals (kvproof import): the tool whose output this is,
     * e.g. "llama-bench", and the files; NULL / 0 when kvproof measured it.
     * An imported journal may have no spec (spec_json NULL). */
    char *import_format;
    journal_import_file *import_files;
    size_t n_import_files;
} journal_header;

/* Creates `path` with the header, or with resume=true reopens it, checks the
 * header's spec hash and seed match, repairs a torn last line and reports the
 * plan indexes already finished via `done` (a caller-provided array of
 * `planned_trials` bools). Takes the lock; KV_ERR_LOCKED if held. */
kv_status journal_open(const char *path, const journal_header *h, bool resume, bool *done,
                       journal **out, char *err) KV_MUST_USE;
/* Appends one trial line and fdatasyncs it. */
kv_status journal_append(journal *j, const trial_record *t, char *err) KV_MUST_USE;
/* Group commit: appends n trial lines, in order, with one write and one
 * fdatasync; all or none are recorded (on failure the file is cut back to
 * where the batch began). journal_append is the batch of one. */
kv_status journal_append_batch(journal *j, const trial_record *const *t, size_t n,
                               char *err) KV_MUST_USE;
void journal_close(journal *j);

/* Trials the journal holds (after journal_open: those found on resume plus
 * those appended since). */
size_t journal_trials(const journal *j);
/* Bytes of a torn last line that journal_open truncated on resume (0 if none). */
size_t journal_repaired_bytes(const journal *j);
/* Trial lines repeating an earlier plan index found on resume (the first is
 * kept; journal_append never writes one). */
size_t journal_duplicates(const journal *j);

typedef struct journal_data {
    journal_header header;
    trial_record *trials; /* in file order */
    size_t n_trials;
    size_t torn_lines;       /* an incomplete last line that was skipped (0 or 1) */
    size_t duplicate_trials; /* later lines repeating a plan index: skipped, first kept */
} journal_data;

/* Reads a journal for analysis. Errors name file:line and the field, e.g.
 * "run/journal.jsonl:12: $.turns[0].ttft_ms: expected a number". */
kv_status journal_load(const char *path, journal_data **out, char *err) KV_MUST_USE;
void journal_data_free(journal_data *d);
void journal_header_clear(journal_header *h);

/* Describes the measuring machine for journal_header.client_host:
 * "<hostname>; <CPU model> x<online CPUs>; <OS release machine>; <sched>",
 * e.g. "lab1; AMD Ryzen 9 7950X 16-Core Processor x32; Linux 6.12.9 x86_64;
 * 100 us scheduler slice", sched being how the measuring threads ran
 * (common/slice.h's text; NULL leaves that part out). Parts that cannot be
 * read are "unknown", "unknown CPU", "unknown OS". *out is malloc'd. */
kv_status journal_describe_host(const char *sched, char **out, char *err) KV_MUST_USE;

/* JSON conversion of single lines (experiments/journal_json.c), without the
 * trailing newline. Appends to `out`. NaN times become null, -1 token counts
 * stay -1, `props`/`raw`/`spec_json` are embedded as JSON values. */
kv_status journal_header_to_json(const journal_header *h, kv_buf *out, char *err) KV_MUST_USE;
kv_status journal_trial_to_json(const trial_record *t, kv_buf *out, char *err) KV_MUST_USE;
/* Parse one line into a header / trial (the caller clears it, also on
 * failure). `where` prefixes messages ("file:line"); `planned_trials` bounds
 * plan_index (SIZE_MAX = unbounded). */
kv_status journal_header_from_json(const char *line, size_t len, const char *where,
                                   journal_header *h, char *err) KV_MUST_USE;
kv_status journal_trial_from_json(const char *line, size_t len, const char *where,
                                  size_t planned_trials, trial_record *t, char *err) KV_MUST_USE;

#endif
