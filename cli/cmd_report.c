/* cmd_report.c - 'kvproof report DIR|results.json [-o FILE] [--format
 * pdf|md]': writes the PDF report, or (--format md) the Markdown summary to
 * stdout or FILE. DIR means DIR/results.json; the default PDF is report.pdf
 * next to the results file. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/commands.h"
#include "common/status.h"
#include "common/util.h"
#include "report/report.h"
#include "report/report_md.h"

static void usage(FILE *f)
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

int cmd_report(int argc, char **argv)
{
    static const struct option opts[] = {{"output", required_argument, NULL, 'o'},
                                         {"help", no_argument, NULL, 'h'},
                                         {"list-figures", no_argument, NULL, 'F'},
                                         {"format", required_argument, NULL, 'f'},
                                         {0, 0, 0, 0}};
    int list = 0;
    const char *format = "pdf";
    const char *out = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            out = optarg;
            break;
        case 'F':
            list = 1;
            break;
        case 'f':
            format = optarg;
            break;
        case 'h':
            usage(stdout);
            return KV_EXIT_OK;
        default:
            usage(stderr);
            return KV_EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "kvproof report: expected one DIR or results.json (see --help)\n");
        return KV_EXIT_USAGE;
    }
    bool md = strcmp(format, "md") == 0;
    if (!md && strcmp(format, "pdf") != 0) {
        fprintf(stderr, "kvproof report: --format %s: expected pdf or md\n", format);
        return KV_EXIT_USAGE;
    }
    const char *in = argv[optind];
    char json[4096], pdf[4096], dir[4096];
    struct stat sb;
    int is_dir = stat(in, &sb) == 0 && S_ISDIR(sb.st_mode);
    if (is_dir) {
        snprintf(dir, sizeof dir, "%s", in);
        if (snprintf(json, sizeof json, "%s/results.json", in) >= (int)sizeof json)
            return fprintf(stderr, "kvproof report: path too long\n"), KV_EXIT_USAGE;
    } else {
        snprintf(json, sizeof json, "%s", in);
        snprintf(dir, sizeof dir, "%s", in);
        char *slash = strrchr(dir, '/');
        if (slash)
            *slash = '\0';
        else
            snprintf(dir, sizeof dir, ".");
    }
    if (md)
        return report_markdown(json, out);
    if (out)
        snprintf(pdf, sizeof pdf, "%s", out);
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
    if (list)
        for (size_t i = 0; i < nf; i++)
            printf("%s\t%d\t%.1f\t%.1f\t%.1f\t%.1f\n", figs[i].name, figs[i].page + 1, figs[i].x,
                   figs[i].y, figs[i].w, figs[i].h);
    else
        printf("%s\n", pdf);
    return KV_EXIT_OK;
}
