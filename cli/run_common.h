/* run_common.h - what 'run' and 'demo' share: the --url override, the chain runner -> analysis ->
 * report, and the closing summary with its exit code. */
#ifndef KV_CLI_RUN_COMMON_H
#define KV_CLI_RUN_COMMON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cli/analyze.h"
#include "common/status.h"
#include "experiments/runner.h"
#include "experiments/spec.h"

/* Applies "NAME=URL": target NAME's base_url becomes URL. */
kv_status run_common_override_url(spec *s, const char *arg, char *err) KV_MUST_USE;

/* Runs the plan of s with ro (its progress and adaptive-stopping fields are
 * set here) under a progress display on stderr (nothing when quiet), with
 * Ctrl-C stopping it gracefully; then, when the run ended or was
 * interrupted, analyses its journal into ro->out_dir's results.json and
 * report.pdf (outs says which were written and why not). The shared core
 * of 'run' and 'demo'; returns the runner's status. */
kv_status run_common_with_progress(const spec *s, runner_options *ro, bool quiet,
                                   runner_summary *sum, cli_outputs *outs, char *err) KV_MUST_USE;

/* Prints where the journal, results and report are, the verdict lines from
 * results.json and (interrupted) how to resume; returns the exit code.
 * resume_hint: the command that continues the run, or NULL. */
int run_common_report(FILE *out, FILE *errf, const char *cmd, const char *resume_hint, kv_status st,
                      const runner_summary *sum, const cli_outputs *outs, const char *err,
                      bool simulated);

#endif
