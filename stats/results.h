/* results.h - from a journal to results.json (docs/results.md): per-cell
 * summaries, prefill models, cold-vs-warm comparisons, session totals,
 * hypothesis verdicts and the seed's four questions.
 *
 * Ownership: results_from_data appends to a caller-owned kv_buf; nothing the
 * caller passes is kept after the call returns.
 */
#ifndef KV_RESULTS_H
#define KV_RESULTS_H

#include <stdbool.h>
#include <stdint.h>

#include "common/status.h"
#include "common/util.h"
#include "experiments/journal.h"
#include "experiments/journal_cols.h"
#include "stats/results_options.h"

/* Fills the defaults listed above. */
void results_options_default(results_options *opt);

/* Loads the journal, computes everything and writes results.json to
 * results_path (atomically: a temporary file renamed over it), and first the
 * points file it names (results_points_path in stats/results_schema.h:
 * DIR/points.csv for DIR/results.json). opt may be
 * NULL for the defaults. KV_ERR_INPUT for a bad journal, KV_ERR_STATS when
 * no measured trial is usable (err says why), KV_ERR_IO when writing fails. */
kv_status results_from_journal(const char *journal_path, const char *results_path,
                               const results_options *opt, char *err) KV_MUST_USE;

/* The same from a journal already in memory (e.g. several journals merged
 * by journal_merge); journal_path is only recorded as the source. */
kv_status results_write(const journal_data *d, const char *journal_path, const char *results_path,
                        const results_options *opt, char *err) KV_MUST_USE;

/* The same from a journal already in memory (tests build journal_data by
 * hand); appends the JSON text to out, without a points file (results.json
 * then has no "points_file"). journal_path is only recorded. */
kv_status results_from_data(const journal_data *d, const char *journal_path,
                            const results_options *opt, kv_buf *out, char *err) KV_MUST_USE;

/* The same from a journal's columns (experiments/journal_cols.h), what
 * `kvproof analyze` holds in memory: results_from_data and results_write
 * convert to columns and call these. */
kv_status results_from_cols(const journal_cols *j, const char *journal_path,
                            const results_options *opt, kv_buf *out, char *err) KV_MUST_USE;
kv_status results_write_cols(const journal_cols *j, const char *journal_path,
                             const char *results_path, const results_options *opt,
                             char *err) KV_MUST_USE;

/* results_write_cols for `kvproof analyze`, which keeps nothing of the
 * journal for afterwards: once the points are copied out, the columns they
 * were made from are freed (journal_cols_drop_point_fields), ~28 MB at a
 * million trials. */
kv_status results_write_cols_lean(journal_cols *j, const char *journal_path,
                                  const char *results_path, const results_options *opt,
                                  char *err) KV_MUST_USE;

#endif
