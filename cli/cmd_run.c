/* cmd_run.c - 'kvproof run SPEC --out DIR': parses the options, applies
 * --url overrides, runs the plan (experiments/runner.h) with a progress
 * display, and maps the outcome onto the documented exit codes. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/run_common.h"
#include "common/status.h"
#include "experiments/runner.h"
#include "experiments/spec.h"

static void run_usage(FILE *f)
{
    fprintf(f, "usage: kvproof run SPEC.json --out DIR [--resume] [--seed N] [--quiet]\n"
               "                  [--url NAME=URL]...\n\n"
               "Runs every trial of the spec against its targets and appends each finished\n"
               "trial to DIR/journal.jsonl (fdatasync'd before the next starts), then writes\n"
               "DIR/results.json and DIR/report.pdf, also after an interrupted run.\n\n"
               "options:\n"
               "  --out DIR        run directory (created if missing)\n"
               "  --resume         continue DIR/journal.jsonl after a crash or Ctrl-C\n"
               "  --seed N         order and prompt seed instead of the spec's\n"
               "  --quiet          no progress on stderr\n"
               "  --url NAME=URL   use URL as target NAME's base_url (repeatable)\n\n"
               "An existing journal in DIR is never overwritten: without --resume it is an\n"
               "error. With the spec's concurrency N > 1, up to N trials run at once and are\n"
               "journaled in the order they finish. Ctrl-C stops starting trials, lets those\n"
               "in flight finish (exit 130).\n");
}

int cmd_run(int argc, char **argv)
{
    static const struct option opts[] = {{"out", required_argument, NULL, 'o'},
                                         {"resume", no_argument, NULL, 'r'},
                                         {"seed", required_argument, NULL, 's'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"url", required_argument, NULL, 'u'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    if (cmd_wants_help(argc, argv)) {
        run_usage(stdout);
        return KV_EXIT_OK;
    }
    const char *out = NULL;
    const char *urls[64];
    size_t n_urls = 0;
    runner_options ro;
    memset(&ro, 0, sizeof ro);
    bool quiet = false;
    optind = 1;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, "o:rs:qu:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'o':
            out = optarg;
            break;
        case 'r':
            ro.resume = true;
            break;
        case 's':
            if (!cli_parse_u64(optarg, &ro.seed)) {
                fprintf(stderr, "kvproof run: --seed %s: expected a non-negative integer\n",
                        optarg);
                return KV_EXIT_USAGE;
            }
            ro.seed_set = true;
            break;
        case 'q':
            quiet = true;
            break;
        case 'u':
            if (n_urls == sizeof urls / sizeof urls[0]) {
                fprintf(stderr, "kvproof run: too many --url options\n");
                return KV_EXIT_USAGE;
            }
            urls[n_urls++] = optarg;
            break;
        default:
            fprintf(stderr, "kvproof run: unknown or incomplete option '%s' (see --help)\n",
                    argv[optind - 1]);
            return KV_EXIT_USAGE;
        }
    }
    if (optind != argc - 1 || !out) {
        fprintf(stderr, "kvproof run: %s\n",
                optind >= argc ? "missing SPEC.json"
                               : (!out ? "missing --out DIR" : "exactly one SPEC.json expected"));
        run_usage(stderr);
        return KV_EXIT_USAGE;
    }
    const char *spec_path = argv[optind];
    char err[KV_ERRLEN] = "";
    spec *s = NULL;
    kv_status st = spec_load(spec_path, &s, err);
    if (st != KV_OK) {
        fprintf(stderr, "kvproof run: %s\n", err);
        return kv_exit_code(st);
    }
    for (size_t i = 0; i < n_urls; i++) {
        st = cli_override_url(s, urls[i], err);
        if (st != KV_OK) {
            fprintf(stderr, "kvproof run: --url %s: %s\n", urls[i], err);
            spec_free(s);
            return KV_EXIT_USAGE;
        }
    }
    ro.out_dir = out;
    runner_summary sum;
    cli_outputs outs;
    st = cli_run_with_progress(s, &ro, quiet, &sum, &outs, err);
    char hint[2048];
    int hl = snprintf(hint, sizeof hint, "kvproof run %s --out %s --resume", spec_path, out);
    for (size_t i = 0; i < n_urls && hl > 0 && (size_t)hl < sizeof hint; i++)
        hl += snprintf(hint + hl, sizeof hint - (size_t)hl, " --url %s", urls[i]);
    int code = cli_run_report(stdout, stderr, "run", hint, st, &sum, &outs, err, sum.simulated);
    spec_free(s);
    return code;
}
