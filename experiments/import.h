/* import.h - other tools' benchmark output as a kvproof journal
 * (docs/journal.md, "Imported journals"), so analyze, export and the report
 * apply to it: llama-bench JSON/JSONL, `vllm bench serve --save-result
 * --save-detailed` JSON, AIPerf profile_export.jsonl.
 *
 * The journal is marked imported (the format and every file with its
 * SHA-256) and has no spec. What a format does not say is recorded as
 * unknown, never guessed: a mode the tool does not fix is "unknown", every
 * cache_state is "unknown" (no server count checked it), absent times are
 * null, absent counts -1.
 *
 * The per-format parsers (import_llama.c, import_vllm.c, import_aiperf.c)
 * add trials through the builder below; import_files runs them.
 *
 * Ownership: import_files returns journal_data freed by journal_data_free.
 */
#ifndef KV_IMPORT_H
#define KV_IMPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "common/status.h"
#include "experiments/journal.h"

typedef enum import_format {
    IMPORT_LLAMA_BENCH = 0, /* llama-bench -o json or -o jsonl */
    IMPORT_VLLM_BENCH,      /* vllm bench serve --save-result --save-detailed */
    IMPORT_AIPERF           /* AIPerf profile_export.jsonl */
} import_format;

/* "llama-bench", "vllm-bench", "aiperf"; false for another name. */
bool import_format_from_name(const char *name, import_format *out);
const char *import_format_name(import_format f);

/* What an import left out, for the CLI to say. */
typedef struct import_notes {
    size_t skipped; /* records that are not prefill measurements (e.g. llama-bench tg tests) */
    char why[256];  /* the first skipped record's reason */
} import_notes;

/* Reads paths[0..n) in format f into one journal. KV_ERR_INPUT names the
 * file, line (JSON Lines) and field; KV_ERR_IO when a file cannot be read;
 * KV_ERR_STATS when no file holds a record to import. */
kv_status import_files(import_format f, const char *const *paths, size_t n, journal_data **out,
                       import_notes *notes, char *err) KV_MUST_USE;

/* ---- the builder the parsers use ------------------------------------------ */

typedef struct import_ctx import_ctx;

/* The target for a model (found or added; NULL is a model too: "not
 * given"): its index. A new target is named after the format ("llama-bench",
 * then "llama-bench-2", ...); dialect, version and props (JSON text) may be
 * NULL. */
kv_status import_target(import_ctx *c, const char *model, const char *dialect, const char *version,
                        const char *props, size_t *index, char *err) KV_MUST_USE;

/* Sets the header's client_host unless set already (host may be NULL). */
kv_status import_client_host(import_ctx *c, const char *host, char *err) KV_MUST_USE;

struct cJSON;
/* One record of a file; where is "FILE:LINE" or "FILE:LINE: [i]". */
typedef kv_status (*import_record_fn)(import_ctx *c, const struct cJSON *rec, const char *where,
                                      char *err);

/* Calls fn for every top-level JSON value of text (one document, or JSON
 * Lines / concatenated documents); with arrays, for every element of a
 * top-level array instead. KV_ERR_INPUT "FILE:LINE:COL: invalid JSON". */
kv_status import_each(import_ctx *c, const char *text, size_t len, const char *path, bool arrays,
                      import_record_fn fn, char *err) KV_MUST_USE;

/* Adds one single-turn trial: t's target, system_prompt_tokens,
 * query_tokens, mode, kind, started_unix, ok, error and turns[0] filled by
 * the parser (t->turns malloc'd, n_turns 1; taken over, also on failure);
 * the builder sets plan_index, id, cell, repetition and run_position. */
kv_status import_add(import_ctx *c, trial_record *t, char *err) KV_MUST_USE;

/* Counts a record left out, with the first reason. */
void import_skip(import_ctx *c, const char *why);

/* A turn with every time NAN, every count -1, cache_state unknown
 * (trial_request_init, turn 1) and one attempt. */
void import_turn_init(trial_request *r);

/* Gives t one turn (t->turns[0], as import_turn_init leaves it); KV_ERR_NOMEM if out of memory. */
kv_status import_one_turn(trial_record *t, char *err);

/* Median and 99th percentile of v[0..n) (sorted in place) into *median
 * and *p99 (NAN when n == 0): the gap fields of a turn. */
void import_gaps(double *v, size_t n, double *median, double *p99);

/* "WHERE: $.FIELD: expected WHAT" as KV_ERR_INPUT. */
kv_status import_bad(char *err, const char *where, const char *field, const char *what);
/* Field getters: false when absent or of another type (null counts as
 * absent). import_int wants an integer >= 0. */
bool import_num(const struct cJSON *o, const char *key, double *out);
bool import_int(const struct cJSON *o, const char *key, long *out);
const char *import_str(const struct cJSON *o, const char *key);
/* The numbers of the array o[key] (malloc'd into *out, *n of them); false
 * when absent, not an array or holding a non-number. */
bool import_nums(const struct cJSON *o, const char *key, double **out, size_t *n);
/* The JSON text of o without the listed keys (malloc'd), for a turn's raw. */
char *import_raw(const struct cJSON *o, const char *const *drop, size_t n_drop);

/* The per-format parsers: the file's text (NUL-terminated), its path for
 * messages. */
kv_status import_llama_parse(import_ctx *c, const char *text, size_t len, const char *path,
                             char *err) KV_MUST_USE;
kv_status import_vllm_parse(import_ctx *c, const char *text, size_t len, const char *path,
                            char *err) KV_MUST_USE;
kv_status import_aiperf_parse(import_ctx *c, const char *text, size_t len, const char *path,
                              char *err) KV_MUST_USE;

#endif
