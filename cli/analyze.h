/* analyze.h - the analysis stage as the CLI chains it: journals loaded and
 * merged (experiments/journal_merge.h), results.json computed
 * (stats/results.h), report.pdf drawn (report/report.h), and the closing
 * lines (what is missing, the verdicts). 'run', 'demo' and 'analyze' share
 * it: runner -> analysis -> report, like wrk's main and curl's tool_main.
 *
 * Ownership: analyze_load returns journal_data freed by
 * journal_data_free; nothing else is kept.
 */
#ifndef KV_CLI_ANALYZE_H
#define KV_CLI_ANALYZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "common/status.h"
#include "experiments/journal.h"
#include "experiments/journal_cols.h"

/* How many missing trial ids the incompleteness note names. */
#define CLI_MISSING_LISTED 8

/* What the analysis wrote. */
typedef struct cli_outputs {
    char results_path[1024];
    char report_path[1024];
    bool results_written;  /* results.json exists */
    bool report_written;   /* report.pdf exists */
    char error[KV_ERRLEN]; /* why an output was not written, or "" */
} cli_outputs;

/* A command's journal argument: arg, or arg/journal.jsonl when arg is a
 * directory (a run directory stands for its journal), into buf (n bytes);
 * false when it does not fit (buf then holds it cut short). */
bool analyze_journal_arg(const char *arg, char *buf, size_t n);

/* Loads the journals paths[0..n) and merges them (one spec; trials keyed by
 * client host and trial id). KV_ERR_INPUT names the file and what is wrong. */
kv_status analyze_load(const char *const *paths, size_t n, journal_data **out,
                       char *err) KV_MUST_USE;

/* As analyze_load, and journals of different specs merge by cells
 * (experiments/journal_merge.h journal_merge_cells): which cells came from
 * which journal, and what was left out, is printed to f. */
kv_status analyze_load_cells(const char *const *paths, size_t n, FILE *f, journal_data **out,
                             char *err) KV_MUST_USE;

/* Writes out_dir/results.json from d (source: the journal path(s) it
 * records) and out_dir/report.pdf from it; out_dir is created. partial:
 * the run was interrupted (also inferred from the counts). Fills o; returns
 * the first failure (o->error says which output it concerns). */
kv_status analyze_write(const journal_data *d, const char *source, const char *out_dir,
                        bool partial, cli_outputs *o, char *err) KV_MUST_USE;
/* The same from a journal's columns (what `kvproof analyze` of one journal
 * holds: experiments/journal_cols.h). */
kv_status analyze_write_cols(journal_cols *j, const char *source, const char *out_dir, bool partial,
                             cli_outputs *o, char *err) KV_MUST_USE;
/* The two halves of analyze_write_cols: results.json only (o filled as
 * far as it goes; the columns the points are made from are dropped:
 * results_write_cols_lean), then report.pdf from o->results_path; between
 * them the caller can free the journal (the report reads only the files). */
kv_status analyze_results_cols(journal_cols *j, const char *source, const char *out_dir,
                               bool partial, cli_outputs *o, char *err) KV_MUST_USE;
kv_status analyze_report(cli_outputs *o, char *err) KV_MUST_USE;

/* The same for one journal file on disk (what 'run' and 'demo' chain). */
kv_status analyze_journal(const char *journal_path, const char *out_dir, bool partial,
                          cli_outputs *o, char *err) KV_MUST_USE;

/* Prints what d lacks against its plan (from the embedded spec and seed):
 * how many planned trials are not recorded, the first ids, a torn last
 * line. Prints nothing for a complete journal. Returns true when
 * something is missing. */
bool analyze_missing(FILE *f, const char *cmd, const journal_data *d);
/* The same for one journal's columns (trials matched to the plan by plan
 * index: a single journal's indexes are its plan's). */
bool analyze_missing_cols(FILE *f, const char *cmd, const journal_cols *j);

/* Prints the verdict sentence and each hypothesis's verdict from
 * results.json (read by report/results_read.h). */
void analyze_print_verdicts(FILE *out, const char *results_path, bool simulated);

#endif
