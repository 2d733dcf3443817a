/* cmd_report.c - 'kvproof report DIR|results.json [-o report.pdf]': writes
 * the PDF report. DIR means DIR/results.json; the default output is
 * report.pdf next to the results file. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/commands.h"
#include "common/status.h"
#include "report/report.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: kvproof report DIR|results.json [-o report.pdf]\n\n"
               "Writes the PDF report from a run's results.json: the verdict with its 95%%\n"
               "intervals on page 1, figures, tables, method and environment.\n\n"
               "  DIR            a run directory: reads DIR/results.json\n"
               "  results.json   a results file\n"
               "  -o, --output   the PDF to write (default: report.pdf next to results.json)\n"
               "  --list-figures print each figure's plotting area after writing:\n"
               "                 name, page (1-based), x, y, width, height in points from the\n"
               "                 page's top-left corner (for cropping with pdftoppm)\n"
               "  -h, --help     this text\n\n"
               "The same results.json always gives a byte-identical PDF.\n"
               "exit codes: 0 written, 2 usage, 3 invalid results.json, 1 other failure\n");
}

int cmd_report(int argc, char **argv)
{
    static const struct option opts[] = {{"output", required_argument, NULL, 'o'},
                                         {"help", no_argument, NULL, 'h'},
                                         {"list-figures", no_argument, NULL, 'F'},
                                         {0, 0, 0, 0}};
    int list = 0;
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
    if (list)
        for (size_t i = 0; i < nf; i++)
            printf("%s\t%d\t%.1f\t%.1f\t%.1f\t%.1f\n", figs[i].name, figs[i].page + 1, figs[i].x,
                   figs[i].y, figs[i].w, figs[i].h);
    else
        printf("%s\n", pdf);
    return KV_EXIT_OK;
}
