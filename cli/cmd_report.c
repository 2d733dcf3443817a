/* cmd_report.c - 'kvproof report DIR|results.json [-o FILE] [--format
 * pdf|md]': writes the PDF report, or (--format md) the Markdown summary to
 * stdout or FILE. DIR means DIR/results.json; the default PDF is report.pdf
 * next to the results file. */
#include <stddef.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "common/status.h"
#include "common/util.h"
#include "report/report.h"
#include "report/report_md.h"

static void report_usage(FILE *f)
{
    fprintf(f, "usage: kvproof report DIR|results.json [-o FILE] [--format pdf|md]\n\n"
               "Writes the PDF report from a run's results.json: the verdict with its 95%%\n"
               "intervals on page 1, figures, tables, method and environment. With\n"
               "--format md, writes instead a Markdown summary to paste into a GitHub\n"
               "issue (verdict, headline table with intervals, hypotheses, environment,\n"
               "and the line \"full report: report.pdf\") to stdout or -o FILE.\n\n"
               "  DIR            a run directory: reads DIR/results.json\n"
               "  results.json   a results file\n"
               "  -o, --output   the file to write (default: report.pdf next to results.json;\n"
               "                 with --format md, stdout)\n"
               "  --format F     pdf (default) or md\n"
               "  --list-figures print each figure's plotting area after writing:\n"
               "                 name, page (1-based), x, y, width, height in points from the\n"
               "                 page's top-left corner (for cropping with pdftoppm)\n"
               "  -h, --help     this text\n\n"
               "The same results.json always gives a byte-identical PDF.\n"
               "exit codes: 0 written, 2 usage, 3 invalid results.json, 1 other failure\n");
}

/* --format md: the summary to stdout, or to out. */
static int report_markdown(const char *json, const char *out)
{
    char err[KV_ERRLEN] = "";
    kv_buf b = {0};
    kv_status st = report_md_write(json, "report.pdf", &b, err);
    if (st != KV_OK) {
        fprintf(stderr, "kvproof report: %s\n", err[0] ? err : kv_strerror(st));
        kv_buf_free(&b);
        return kv_exit_code(st);
    }
    FILE *f = out ? fopen(out, "w") : stdout;
    bool ok = f && fwrite(b.data, 1, b.len, f) == b.len && fflush(f) == 0;
    if (f && out && fclose(f) != 0)
        ok = false;
    kv_buf_free(&b);
    if (!ok) {
        fprintf(stderr, "kvproof report: %s: cannot write\n", out ? out : "stdout");
        return KV_EXIT_FAILURE;
    }
    return KV_EXIT_OK;
}

typedef struct report_config {
    const char *out;
    bool list;
    bool md;                /* --format md (else pdf) */
    const char *bad_format; /* the last --format when neither, else NULL */
    const char *in;
} report_config;

/* A bad --format is told by report_check, as the last --format given and
 * after the count of arguments, as it always was. */
static kv_status report_format(void *cfg, const char *arg, char *err)
{
    report_config *c = cfg;
    (void)err;
    c->bad_format = args_pick(arg, "md", "pdf", &c->md) ? NULL : arg;
    return KV_OK;
}

static const args_opt report_opts[] = {
    {"output", 'o', ARGS_STR, offsetof(report_config, out), 0, 0, NULL},
    {"list-figures", 0, ARGS_FLAG, offsetof(report_config, list), 0, 0, NULL},
    {"format", 0, ARGS_FN, 0, 0, 0, report_format},
    {NULL, 0, ARGS_FLAG, 0, 0, 0, NULL},
};

static args_verdict report_check(void *cfg, int npos, char **pos, char *err)
{
    report_config *c = cfg;
    if (!args_npos(npos, 1, "expected one DIR or results.json (see --help)", err))
        return ARGS_BAD;
    if (c->bad_format) {
        snprintf(err, KV_ERRLEN, "--format %s: expected pdf or md", c->bad_format);
        return ARGS_BAD;
    }
    c->in = pos[0];
    return ARGS_OK;
}

/* The results.json to read and the directory beside it; false: too long. */
static bool report_paths(const char *in, char *json, char *dir, size_t n)
{
    struct stat sb;
    if (stat(in, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        snprintf(dir, n, "%s", in);
        return snprintf(json, n, "%s/results.json", in) < (int)n;
    }
    snprintf(json, n, "%s", in);
    snprintf(dir, n, "%s", in);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(dir, n, ".");
    return true;
}

static int report_exec(void *cfg)
{
    const report_config *c = cfg;
    char json[4096], pdf[4096], dir[4096];
    if (!report_paths(c->in, json, dir, sizeof json))
        return fprintf(stderr, "kvproof report: path too long\n"), KV_EXIT_USAGE;
    if (c->md)
        return report_markdown(json, c->out);
    if (c->out)
        snprintf(pdf, sizeof pdf, "%s", c->out);
    else if (snprintf(pdf, sizeof pdf, "%s/report.pdf", dir) >= (int)sizeof pdf)
        return fprintf(stderr, "kvproof report: path too long\n"), KV_EXIT_USAGE;
    char err[KV_ERRLEN] = "";
    report_figure figs[32];
    size_t nf = 0;
    kv_status st = report_write_ex(json, pdf, figs, 32, &nf, err);
    if (st != KV_OK) {
        fprintf(stderr, "kvproof report: %s\n", err[0] ? err : kv_strerror(st));
        return kv_exit_code(st);
    }
    if (err[0])
        fprintf(stderr, "kvproof report: warning: %s\n", err);
    if (c->list)
        for (size_t i = 0; i < nf; i++)
            printf("%s\t%d\t%.1f\t%.1f\t%.1f\t%.1f\n", figs[i].name, figs[i].page + 1, figs[i].x,
                   figs[i].y, figs[i].w, figs[i].h);
    else
        printf("%s\n", pdf);
    return KV_EXIT_OK;
}

const args_cmd cmd_report = ARGS_CMD(report, report_config, report_opts, .help_in_order = true);
