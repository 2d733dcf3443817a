/* cmd_run.c - 'kvproof run SPEC --out DIR': parses the options, applies
 * --url overrides, runs the plan (experiments/runner.h) with a progress
 * display, and maps the outcome onto the documented exit codes. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
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

typedef struct run_config {
    const char *spec_path;
    const char *out;
    bool resume;
    args_u64 seed;
    bool quiet;
    args_list urls;
} run_config;

static const args_opt run_opts[] = {
    {"out", 'o', ARGS_STR, offsetof(run_config, out), 0, 0, NULL},
    {"resume", 'r', ARGS_FLAG, offsetof(run_config, resume), 0, 0, NULL},
    {"seed", 's', ARGS_U64, offsetof(run_config, seed), 0, 0, NULL},
    {"quiet", 'q', ARGS_FLAG, offsetof(run_config, quiet), 0, 0, NULL},
    {"url", 'u', ARGS_LIST, offsetof(run_config, urls), 0, 0, NULL},
    {NULL, 0, ARGS_FLAG, 0, 0, 0, NULL},
};

static args_verdict run_check(void *cfg, int npos, char **pos, char *err)
{
    run_config *c = cfg;
    if (npos != 1 || !c->out) {
        snprintf(err, KV_ERRLEN, "%s",
                 npos < 1 ? "missing SPEC.json"
                          : (!c->out ? "missing --out DIR" : "exactly one SPEC.json expected"));
        return ARGS_BAD_USAGE;
    }
    c->spec_path = pos[0];
    return ARGS_OK;
}

/* The spec with the --url overrides applied; NULL after a message. */
static spec *run_load(const run_config *c, int *code)
{
    char err[KV_ERRLEN] = "";
    spec *s = NULL;
    kv_status st = spec_load(c->spec_path, &s, err);
    if (st != KV_OK) {
        fprintf(stderr, "kvproof run: %s\n", err);
        *code = kv_exit_code(st);
        return NULL;
    }
    for (size_t i = 0; i < c->urls.n; i++) {
        if (run_common_override_url(s, c->urls.v[i], err) != KV_OK) {
            fprintf(stderr, "kvproof run: --url %s: %s\n", c->urls.v[i], err);
            spec_free(s);
            *code = KV_EXIT_USAGE;
            return NULL;
        }
    }
    return s;
}

static int run_exec(void *cfg)
{
    const run_config *c = cfg;
    int code = KV_EXIT_OK;
    spec *s = run_load(c, &code);
    if (!s)
        return code;
    runner_options ro;
    memset(&ro, 0, sizeof ro);
    ro.resume = c->resume;
    ro.seed = c->seed.v;
    ro.seed_set = c->seed.set;
    ro.out_dir = c->out;
    runner_summary sum;
    cli_outputs outs;
    char err[KV_ERRLEN] = "";
    kv_status st = run_common_with_progress(s, &ro, c->quiet, &sum, &outs, err);
    char hint[2048];
    int hl = snprintf(hint, sizeof hint, "kvproof run %s --out %s --resume", c->spec_path, c->out);
    for (size_t i = 0; i < c->urls.n && hl > 0 && (size_t)hl < sizeof hint; i++)
        hl += snprintf(hint + hl, sizeof hint - (size_t)hl, " --url %s", c->urls.v[i]);
    code = run_common_report(stdout, stderr, "run", hint, st, &sum, &outs, err, sum.simulated);
    spec_free(s);
    return code;
}

const args_cmd cmd_run = ARGS_CMD(run, run_config, run_opts, .unknown = ARGS_SEE_HELP);
