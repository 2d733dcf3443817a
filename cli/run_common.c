/* run_common.c - what 'run' and 'demo' share (run_common.h). */
#include "cli/run_common.h"

#include <stdlib.h>
#include <string.h>

#include "cli/progress.h"
#include "stats/stopping.h"

kv_status run_common_override_url(spec *s, const char *arg, char *err)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || !eq[1])
        return kv_fail(err, KV_ERR_USAGE, "expected NAME=URL");
    size_t nlen = (size_t)(eq - arg);
    for (size_t i = 0; i < s->n_targets; i++) {
        spec_target *t = &s->targets[i];
        if (strlen(t->name) != nlen || strncmp(t->name, arg, nlen) != 0)
            continue;
        char *url = strdup(eq + 1);
        if (!url)
            return kv_fail(err, KV_ERR_NOMEM, "out of memory");
        size_t ul = strlen(url);
        while (ul > 0 && url[ul - 1] == '/')
            url[--ul] = '\0';
        free(t->base_url);
        t->base_url = url;
        return KV_OK;
    }
    return kv_fail(err, KV_ERR_USAGE, "the spec has no target named '%.*s'", (int)nlen, arg);
}

/* Adaptive stopping as the runner asks for it: stats/stopping.h's rule. */
static bool cell_done(void *ctx, const double *ttft_ms, size_t n, double target_rel_ci,
                      long min_repetitions)
{
    (void)ctx;
    return stopping_cell_done(ttft_ms, n, target_rel_ci, min_repetitions);
}

kv_status run_common_with_progress(const spec *s, runner_options *ro, bool quiet,
                                   runner_summary *sum, cli_outputs *outs, char *err)
{
    cli_progress prog;
    progress_init(&prog, quiet);
    ro->progress = progress_update;
    ro->progress_ctx = &prog;
    ro->cell_done = cell_done;
    ro->cell_done_ctx = NULL;
    runner_clear_stop();
    runner_install_signals();
    kv_status st = runner_run(s, ro, sum, err);
    progress_finish(&prog);
    ro->progress = NULL;
    ro->progress_ctx = NULL;
    memset(outs, 0, sizeof *outs);
    if (st == KV_OK || st == KV_ERR_INTERRUPT) {
        bool partial = sum->interrupted || sum->done_before + sum->ran < sum->planned;
        char e[KV_ERRLEN] = "";
        if (analyze_journal(sum->journal_path, ro->out_dir, partial, outs, e) != KV_OK &&
            !outs->error[0])
            snprintf(outs->error, sizeof outs->error, "%s", e);
    }
    return st;
}

int run_common_report(FILE *out, FILE *errf, const char *cmd, const char *resume_hint, kv_status st,
                      const runner_summary *sum, const cli_outputs *outs, const char *err,
                      bool simulated)
{
    if (st != KV_OK && st != KV_ERR_INTERRUPT) {
        fprintf(errf, "kvproof %s: %s\n", cmd, err && *err ? err : kv_strerror(st));
        if (sum->journal_path[0] && (sum->ran > 0 || sum->done_before > 0))
            fprintf(errf, "kvproof %s: the trials so far are in %s\n", cmd, sum->journal_path);
        return kv_exit_code(st);
    }
    size_t done = sum->done_before + sum->ran;
    if (simulated)
        fprintf(out, "SIMULATED TARGET: every number below comes from kvproof's reference "
                     "server, not a real LLM.\n");
    fprintf(out, "journal: %s (%zu of %zu trials", sum->journal_path, done, sum->planned);
    if (sum->done_before)
        fprintf(out, ", %zu from before", sum->done_before);
    fprintf(out, "; %zu failed, %zu contaminated", sum->failed, sum->contaminated);
    if (sum->skipped)
        fprintf(out, ", %zu skipped by adaptive stopping or caps", sum->skipped);
    fprintf(out, ")\n");
    if (outs->results_written)
        fprintf(out, "results: %s\n", outs->results_path);
    if (outs->report_written)
        fprintf(out, "report:  %s\n", outs->report_path);
    if (outs->error[0])
        fprintf(errf, "kvproof %s: %s\n", cmd, outs->error);
    if (outs->results_written)
        analyze_print_verdicts(out, outs->results_path, simulated);
    if (st == KV_ERR_INTERRUPT) {
        fprintf(errf, "kvproof %s: interrupted after %zu of %zu trials; the journal is intact.\n",
                cmd, done, sum->planned);
        if (resume_hint)
            fprintf(errf, "continue with: %s\n", resume_hint);
        return KV_EXIT_INTERRUPTED;
    }
    if (sum->ran > 0 && sum->failed == sum->ran && sum->done_before == 0)
        return KV_EXIT_TARGET;
    if (sum->failed > 0 || !outs->report_written)
        return KV_EXIT_FAILURE;
    return KV_EXIT_OK;
}
