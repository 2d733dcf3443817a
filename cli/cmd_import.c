/* cmd_import.c - 'kvproof import FORMAT FILE... --out DIR': other tools'
 * benchmark output (experiments/import.h) written as DIR/journal.jsonl by
 * the journal writer, marked imported with every file's SHA-256, so that
 * analyze, export and report apply. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "common/status.h"
#include "common/util.h"
#include "experiments/import.h"
#include "experiments/journal.h"

static void import_usage(FILE *f)
{
    fprintf(f, "usage: kvproof import FORMAT FILE... --out DIR\n\n"
               "Converts another tool's benchmark output into a kvproof journal,\n"
               "DIR/journal.jsonl, marked imported (the format and each file's SHA-256),\n"
               "for kvproof analyze, export and report. FORMAT:\n"
               "  llama-bench  llama-bench -o json or -o jsonl (prompt-processing tests;\n"
               "               one trial per entry of samples_ns)\n"
               "  vllm-bench   vllm bench serve --save-result --save-detailed (one trial\n"
               "               per request: input_lens, ttfts, itls, errors)\n"
               "  aiperf       AIPerf profile_export.jsonl (one trial per record)\n\n"
               "What a format does not say is recorded as unknown, never guessed: the\n"
               "cache state of every request, the cold/warm mode where the tool does not\n"
               "fix it (vllm-bench, aiperf), absent times and counts (docs/journal.md).\n\n"
               "options:\n"
               "  --out DIR   directory for journal.jsonl (created; an existing journal\n"
               "              there is never overwritten)\n\n"
               "exit codes: 0 written, 1 I/O error, 2 usage, 3 a file that does not parse\n"
               "(the message names file, line and field) or holds nothing to import.\n");
}

static kv_status import_write(const journal_data *d, const char *out, char *err)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/journal.jsonl", out) >= (int)sizeof path)
        return kv_fail(err, KV_ERR_USAGE, "--out %s: path too long", out);
    struct stat sb;
    if (stat(path, &sb) == 0 && sb.st_size > 0)
        return kv_fail(err, KV_ERR_USAGE,
                       "%s already exists: choose another --out directory (an import never "
                       "overwrites a journal)",
                       path);
    kv_status st = kv_mkdirs(out, err);
    journal *j = NULL;
    if (st == KV_OK)
        st = journal_open(path, &d->header, false, NULL, &j, err);
    for (size_t i = 0; st == KV_OK && i < d->n_trials; i++)
        st = journal_append(j, &d->trials[i], err);
    journal_close(j);
    return st;
}

typedef struct import_config {
    const char *out;
    import_format format;
    size_t n_files;
    char **files;
} import_config;

static const args_opt import_opts[] = {
    {"out", 'o', ARGS_STR, offsetof(import_config, out), 0, 0, NULL},
    {NULL, 0, ARGS_FLAG, 0, 0, 0, NULL},
};

static args_verdict import_check(void *cfg, int npos, char **pos, char *err)
{
    import_config *c = cfg;
    bool known = npos >= 1 && import_format_from_name(pos[0], &c->format);
    if (npos < 2 || !c->out || !known) {
        snprintf(err, KV_ERRLEN, "%s",
                 npos < 1   ? "missing FORMAT"
                 : !known   ? "FORMAT: expected llama-bench, vllm-bench or aiperf"
                 : npos < 2 ? "missing FILE"
                            : "missing --out DIR");
        return ARGS_BAD_USAGE;
    }
    c->n_files = (size_t)(npos - 1);
    c->files = pos + 1;
    return ARGS_OK;
}

static int import_exec(void *cfg)
{
    const import_config *c = cfg;
    char err[KV_ERRLEN] = "";
    journal_data *d = NULL;
    import_notes notes;
    kv_status st =
        import_files(c->format, (const char *const *)c->files, c->n_files, &d, &notes, err);
    if (st == KV_OK)
        st = import_write(d, c->out, err);
    if (st != KV_OK) {
        fprintf(stderr, "kvproof import: %s\n", err);
        journal_data_free(d);
        return kv_exit_code(st);
    }
    printf("journal: %s/journal.jsonl (%zu trials from %zu %s file(s), imported)\n", c->out,
           d->n_trials, c->n_files, import_format_name(c->format));
    if (notes.skipped)
        printf("skipped: %zu record(s): %s\n", notes.skipped, notes.why);
    printf("next: kvproof analyze %s\n", c->out);
    journal_data_free(d);
    return KV_EXIT_OK;
}

const args_cmd cmd_import = ARGS_CMD(import, import_config, import_opts, .unknown = ARGS_SEE_HELP);
