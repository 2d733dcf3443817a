/* run_common.c - what 'run' and 'demo' share (run_common.h). */
#include "cli/run_common.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/progress.h"
#include "experiments/verdicts.h"

bool cli_parse_u64(const char *s, uint64_t *out)
{
    if (!s || !*s || *s == '-' || *s == '+')
        return false;
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return false;
    *out = (uint64_t)v;
    return true;
}

bool cli_parse_positive(const char *s, double *out)
{
    if (!s || !*s)
        return false;
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || *end != '\0' || !isfinite(v) || v <= 0)
        return false;
    *out = v;
    return true;
}

kv_status cli_override_url(spec *s, const char *arg, char *err)
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

kv_status cli_run_with_progress(const spec *s, runner_options *ro, bool quiet, runner_summary *sum,
                                char *err)
{
    cli_progress prog;
    cli_progress_init(&prog, quiet);
    ro->progress = cli_progress_update;
    ro->progress_ctx = &prog;
    runner_clear_stop();
    runner_install_signals();
    kv_status st = runner_run(s, ro, sum, err);
    cli_progress_finish(&prog);
    ro->progress = NULL;
    ro->progress_ctx = NULL;
    return st;
}

static void print_verdicts(FILE *out, const char *results_path, bool simulated)
{
    verdicts v;
    char err[KV_ERRLEN] = "";
    if (verdicts_load(results_path, &v, err) != KV_OK) {
        fprintf(out, "  (verdicts unavailable: %s)\n", err);
        return;
    }
    const char *sim = (simulated || v.simulated) ? "[SIMULATED TARGET] " : "";
    if (v.partial)
        fprintf(out, "PARTIAL RUN: not every planned trial ran.\n");
    if (v.summary)
        fprintf(out, "%sVerdict: %s\n", sim, v.summary);
    for (size_t i = 0; i < v.n; i++) {
        const verdict_hypothesis *h = &v.h[i];
        fprintf(out, "%s%s %s%s%s %s: %s", sim, h->id, h->metric, h->target[0] ? " on " : "",
                h->target, h->criterion, h->verdict[0] ? h->verdict : "no verdict");
        if (isfinite(h->value)) {
            fprintf(out, " (estimate %.4g", h->value);
            if (isfinite(h->lo) && isfinite(h->hi))
                fprintf(out, ", %.3g%% CI %.4g to %.4g", 100 * h->level, h->lo, h->hi);
            fputs(")", out);
        }
        fputs("\n", out);
    }
    verdicts_clear(&v);
}

int cli_run_report(FILE *out, FILE *errf, const char *cmd, const char *resume_hint, kv_status st,
                   const runner_summary *sum, const char *err, bool simulated)
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
    if (sum->results_written)
        fprintf(out, "results: %s\n", sum->results_path);
    if (sum->outputs_written)
        fprintf(out, "report:  %s\n", sum->report_path);
    if (sum->outputs_error[0])
        fprintf(errf, "kvproof %s: %s\n", cmd, sum->outputs_error);
    if (sum->results_written)
        print_verdicts(out, sum->results_path, simulated);
    if (st == KV_ERR_INTERRUPT) {
        fprintf(errf, "kvproof %s: interrupted after %zu of %zu trials; the journal is intact.\n",
                cmd, done, sum->planned);
        if (resume_hint)
            fprintf(errf, "continue with: %s\n", resume_hint);
        return KV_EXIT_INTERRUPTED;
    }
    if (sum->ran > 0 && sum->failed == sum->ran && sum->done_before == 0)
        return KV_EXIT_TARGET;
    if (sum->failed > 0 || !sum->outputs_written)
        return KV_EXIT_FAILURE;
    return KV_EXIT_OK;
}
