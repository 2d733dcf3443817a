/* cmd_analyze.c - 'kvproof analyze JOURNAL... [--out DIR]': journals to
 * results.json and report.pdf without a network or a spec file (the
 * journal header carries the spec). Several journals of one spec merge
 * (trials keyed by client host and trial id). Divided into: usage, the
 * arguments (a run directory stands for its journal.jsonl), and the
 * command. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/analyze.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "common/status.h"
#include "common/util.h"

#define ANALYZE_MAX_JOURNALS 256

static void analyze_usage(FILE *f)
{
    fprintf(f, "usage: kvproof analyze JOURNAL... [--out DIR] [--merge-cells] [--quiet]\n\n"
               "Computes results.json and report.pdf from one or more journals, with no\n"
               "network and no spec file: the journal header carries the spec and seed.\n"
               "JOURNAL is a journal file or a run directory (its journal.jsonl). The\n"
               "journal is only read, also while a run is still appending to it.\n\n"
               "Several journals of one spec merge into one analysis: a trial is\n"
               "identified by its client host and trial id, so journals measured from\n"
               "different client hosts combine, and the same journal given twice is\n"
               "refused with the repeated ids. Journals of different specs are refused,\n"
               "unless --merge-cells: then the first journal's spec and cells are the\n"
               "analysis, the others add the trials of the cells it has too, and stdout\n"
               "lists which cells came from which journal and what was left out.\n"
               "An incomplete journal is analysed as it is (results.json says partial);\n"
               "the trials it lacks are named on stderr.\n\n"
               "options:\n"
               "  --out DIR   where results.json and report.pdf go (created if missing);\n"
               "              default: the directory of the journal (one journal only)\n"
               "  --merge-cells  merge journals of different specs where their cells\n"
               "              coincide (target, system prompt, query, turns, mode)\n"
               "  --quiet     no notes on stderr, no verdict lines\n\n"
               "exit codes: 0 written, 1 results or report failed, 2 usage, 3 bad journal\n"
               "(or journals that do not merge).\n");
}

/* The directory part of path ("." when it has none). */
static void dir_of(const char *path, char *buf, size_t n)
{
    snprintf(buf, n, "%s", path);
    char *slash = strrchr(buf, '/');
    if (slash == buf)
        buf[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        snprintf(buf, n, ".");
}

/* The source recorded in results.json: the journal paths joined by " + ". */
static kv_status source_of(char **paths, size_t n, kv_buf *b, char *err)
{
    for (size_t i = 0; i < n; i++)
        if (kv_buf_appendf(b, "%s%s", i ? " + " : "", paths[i]) != KV_OK)
            return kv_fail(err, KV_ERR_NOMEM, "out of memory");
    return KV_OK;
}

/* One journal is read straight into columns (one pass, no records kept);
 * several are loaded and merged (*d, which the columns borrow from). */
static kv_status load_cols(const char *const *cp, size_t n, bool cells, journal_data **d,
                           journal_cols **j, char *err)
{
    if (n == 1 && !cells)
        return journal_cols_load(cp[0], j, err);
    kv_status st = cells ? analyze_load_cells(cp, n, stdout, d, err) : analyze_load(cp, n, d, err);
    return st == KV_OK ? journal_cols_from_data(*d, j, err) : st;
}

static int analyze_main(char **paths, size_t n, const char *out, bool cells, bool quiet)
{
    char err[KV_ERRLEN] = "";
    journal_data *d = NULL;
    journal_cols *j = NULL;
    kv_buf source = {0};
    cli_outputs outs;
    memset(&outs, 0, sizeof outs);
    const char *const *cp = (const char *const *)paths;
    kv_status st = load_cols(cp, n, cells, &d, &j, err);
    if (st == KV_OK)
        st = source_of(paths, n, &source, err);
    if (st != KV_OK) {
        fprintf(stderr, "kvproof analyze: %s\n", err);
        if (!cells && strstr(err, "different specs"))
            fprintf(stderr, "kvproof analyze: --merge-cells merges them where their cells "
                            "coincide\n");
        goto out;
    }
    if (!quiet && n > 1)
        fprintf(stderr, "kvproof analyze: %zu journals merged (%zu trials; client hosts: %s)\n", n,
                j->n_trials, j->h->client_host ? j->h->client_host : "unknown");
    if (!quiet && d)
        analyze_missing(stderr, "analyze", d);
    else if (!quiet)
        analyze_missing_cols(stderr, "analyze", j);
    st = analyze_results_cols(j, source.data, out, false, &outs, err);
    journal_cols_free(j); /* the report reads only results.json and its points file */
    journal_data_free(d);
    j = NULL;
    d = NULL;
    if (st == KV_OK)
        st = analyze_report(&outs, err);
    if (outs.results_written)
        printf("results: %s\n", outs.results_path);
    if (outs.report_written)
        printf("report:  %s\n", outs.report_path);
    if (st != KV_OK)
        fprintf(stderr, "kvproof analyze: %s\n", err);
    if (outs.results_written && !quiet)
        analyze_print_verdicts(stdout, outs.results_path, false);
out:
    kv_buf_free(&source);
    journal_cols_free(j);
    journal_data_free(d);
    return st == KV_OK ? KV_EXIT_OK : kv_exit_code(st);
}

typedef struct analyze_config {
    const char *out;
    bool quiet;
    bool cells;
    int n;
    char **journals;
} analyze_config;

static const args_opt analyze_opts[] = {
    {"out", 'o', ARGS_STR, offsetof(analyze_config, out), 0, 0, NULL},
    {"quiet", 'q', ARGS_FLAG, offsetof(analyze_config, quiet), 0, 0, NULL},
    {"merge-cells", 0, ARGS_FLAG, offsetof(analyze_config, cells), 0, 0, NULL},
    {NULL, 0, ARGS_FLAG, 0, 0, 0, NULL},
};

static args_verdict analyze_check(void *cfg, int npos, char **pos, char *err)
{
    analyze_config *c = cfg;
    size_t n = npos > 0 ? (size_t)npos : 0;
    if (n == 0 || n > ANALYZE_MAX_JOURNALS || (n > 1 && !c->out)) {
        snprintf(err, KV_ERRLEN, "%s",
                 n == 0  ? "missing JOURNAL"
                 : n > 1 ? "several journals need --out DIR"
                         : "too many journals");
        return ARGS_BAD_USAGE;
    }
    c->n = npos;
    c->journals = pos;
    return ARGS_OK;
}

static int analyze_exec(void *cfg)
{
    const analyze_config *c = cfg;
    size_t n = (size_t)c->n;
    const char *out = c->out;
    char(*bufs)[1024] = calloc(n, sizeof *bufs);
    char *paths[ANALYZE_MAX_JOURNALS];
    if (!bufs) {
        fprintf(stderr, "kvproof analyze: out of memory\n");
        return KV_EXIT_FAILURE;
    }
    int code = KV_EXIT_OK;
    for (size_t i = 0; code == KV_EXIT_OK && i < n; i++) {
        paths[i] = bufs[i];
        if (!analyze_journal_arg(c->journals[i], bufs[i], sizeof bufs[i])) {
            fprintf(stderr, "kvproof analyze: %s: path too long\n", c->journals[i]);
            code = KV_EXIT_USAGE;
        }
    }
    char dir[1024];
    if (!out) {
        dir_of(paths[0], dir, sizeof dir);
        out = dir;
    }
    if (code == KV_EXIT_OK)
        code = analyze_main(paths, n, out, c->cells, c->quiet);
    free(bufs);
    return code;
}

const args_cmd cmd_analyze =
    ARGS_CMD(analyze, analyze_config, analyze_opts, .unknown = ARGS_SEE_HELP);
