/* analyze.c - the analysis stage as the CLI chains it (analyze.h).
 *
 * Divided into: loading and merging journals; writing results.json and
 * report.pdf; the note on what an incomplete journal lacks; the verdict
 * lines.
 */
#include "cli/analyze.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/util.h"
#include "experiments/journal_merge.h"
#include "experiments/plan.h"
#include "experiments/spec.h"
#include "report/report.h"
#include "report/results_read.h"
#include "stats/results.h"

/* ---- loading -------------------------------------------------------------- */

bool analyze_journal_arg(const char *arg, char *buf, size_t n)
{
    struct stat sb;
    bool dir = stat(arg, &sb) == 0 && S_ISDIR(sb.st_mode);
    return snprintf(buf, n, dir ? "%s/journal.jsonl" : "%s", arg) < (int)n;
}

/* Loads every journal into *parts (n entries, freed by parts_free even when
 * a load failed). */
static kv_status parts_load(const char *const *paths, size_t n, journal_data ***parts, char *err)
{
    *parts = calloc(n ? n : 1, sizeof **parts);
    if (!*parts)
        return kv_fail(err, KV_ERR_NOMEM, "out of memory");
    kv_status st = KV_OK;
    for (size_t i = 0; st == KV_OK && i < n; i++)
        st = journal_load(paths[i], &(*parts)[i], err);
    return st;
}

static void parts_free(journal_data **parts, size_t n)
{
    for (size_t i = 0; parts && i < n; i++)
        journal_data_free(parts[i]);
    free(parts);
}

kv_status analyze_load(const char *const *paths, size_t n, journal_data **out, char *err)
{
    *out = NULL;
    journal_data **parts = NULL;
    kv_status st = parts_load(paths, n, &parts, err);
    if (st == KV_OK)
        st = journal_merge(parts, paths, n, out, err);
    parts_free(parts, n);
    return st;
}

static void cells_print(FILE *f, const char *const *paths, const journal_merge_report *rep)
{
    if (rep->n_cells == 0)
        return;
    fprintf(f, "merged by cells: the analysis has the cells of %s; trials per journal:\n",
            paths[0]);
    for (size_t c = 0; c < rep->n_cells; c++) {
        const journal_merge_cell *k = &rep->cells[c];
        fprintf(f, "  %s s%ld q%ld n%ld %s:", k->target, k->sys, k->query, k->count,
                spec_cache_mode_name(k->mode));
        for (size_t p = 0; p < rep->n_parts; p++)
            fprintf(f, "%s %zu from %s", p ? "," : "", k->trials[p], paths[p]);
        fputc('\n', f);
    }
    for (size_t p = 1; p < rep->n_parts; p++)
        if (rep->left_out[p])
            fprintf(f, "  left out: %zu trial(s) of %s whose target or cell %s does not have\n",
                    rep->left_out[p], paths[p], paths[0]);
}

kv_status analyze_load_cells(const char *const *paths, size_t n, FILE *f, journal_data **out,
                             char *err)
{
    *out = NULL;
    journal_data **parts = NULL;
    kv_status st = parts_load(paths, n, &parts, err);
    journal_merge_report rep;
    memset(&rep, 0, sizeof rep);
    if (st == KV_OK)
        st = journal_merge_cells(parts, paths, n, out, &rep, err);
    if (st == KV_OK)
        cells_print(f, paths, &rep);
    journal_merge_report_free(&rep);
    parts_free(parts, n);
    return st;
}

/* ---- outputs -------------------------------------------------------------- */

static void note_error(cli_outputs *o, const char *what, const char *e)
{
    snprintf(o->error, sizeof o->error, "%s not written: %.*s", what, (int)sizeof o->error - 32, e);
}

static kv_status paths_set(const char *out_dir, cli_outputs *o, char *err)
{
    memset(o, 0, sizeof *o);
    if (snprintf(o->results_path, sizeof o->results_path, "%s/results.json", out_dir) >=
            (int)sizeof o->results_path ||
        snprintf(o->report_path, sizeof o->report_path, "%s/report.pdf", out_dir) >=
            (int)sizeof o->report_path)
        return kv_fail(err, KV_ERR_USAGE, "--out %s: path too long", out_dir);
    return KV_OK;
}

kv_status analyze_report(cli_outputs *o, char *err)
{
    char e[KV_ERRLEN] = "";
    kv_status st = report_write(o->results_path, o->report_path, e);
    if (st != KV_OK) {
        note_error(o, "report.pdf", e);
        return kv_fail(err, st, "%s", o->error);
    }
    if (e[0])
        fprintf(stderr, "kvproof: warning: %s\n", e);
    o->report_written = true;
    return KV_OK;
}

kv_status analyze_write(const journal_data *d, const char *source, const char *out_dir,
                        bool partial, cli_outputs *o, char *err)
{
    journal_cols *j = NULL;
    kv_status st = journal_cols_from_data(d, &j, err);
    if (st == KV_OK)
        st = analyze_write_cols(j, source, out_dir, partial, o, err);
    journal_cols_free(j);
    return st;
}

kv_status analyze_write_cols(journal_cols *j, const char *source, const char *out_dir, bool partial,
                             cli_outputs *o, char *err)
{
    kv_status st = analyze_results_cols(j, source, out_dir, partial, o, err);
    return st == KV_OK ? analyze_report(o, err) : st;
}

/* The results options of an analysis (partial: an incomplete journal). */
static results_options options_of(bool partial)
{
    results_options ro;
    results_options_default(&ro);
    ro.partial = partial;
    return ro;
}

/* Records the results step's outcome st (e: its message) in o. */
static kv_status results_noted(cli_outputs *o, kv_status st, const char *e, char *err)
{
    if (st != KV_OK) {
        note_error(o, "results.json", e);
        return kv_fail(err, st, "%s", o->error);
    }
    o->results_written = true;
    return KV_OK;
}

kv_status analyze_results_cols(journal_cols *j, const char *source, const char *out_dir,
                               bool partial, cli_outputs *o, char *err)
{
    kv_status st = paths_set(out_dir, o, err);
    if (st == KV_OK)
        st = kv_mkdirs(out_dir, err);
    if (st != KV_OK)
        return st;
    results_options ro = options_of(partial);
    char e[KV_ERRLEN] = "";
    return results_noted(o, results_write_cols_lean(j, source, o->results_path, &ro, e), e, err);
}

kv_status analyze_journal(const char *journal_path, const char *out_dir, bool partial,
                          cli_outputs *o, char *err)
{
    kv_status st = paths_set(out_dir, o, err);
    if (st != KV_OK)
        return st;
    results_options ro = options_of(partial);
    char e[KV_ERRLEN] = "";
    st = results_noted(o, results_from_journal(journal_path, o->results_path, &ro, e), e, err);
    if (st != KV_OK)
        return st;
    return analyze_report(o, err);
}

/* ---- what is missing ------------------------------------------------------ */

static int id_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* d's trial ids sorted, for bsearch (a linear scan per planned trial was
 * quadratic: 10^12 comparisons at a million trials); NULL when out of
 * memory or empty. */
static const char **ids_sorted(const journal_data *d)
{
    const char **ids = d->n_trials ? malloc(d->n_trials * sizeof *ids) : NULL;
    for (size_t i = 0; ids && i < d->n_trials; i++)
        ids[i] = d->trials[i].id;
    if (ids)
        qsort(ids, d->n_trials, sizeof *ids, id_cmp);
    return ids;
}

static bool recorded(const journal_data *d, const char **ids, const char *id)
{
    if (ids)
        return bsearch(&id, ids, d->n_trials, sizeof *ids, id_cmp) != NULL;
    for (size_t i = 0; i < d->n_trials; i++)
        if (strcmp(d->trials[i].id, id) == 0)
            return true;
    return false;
}

/* The plan of h's embedded spec and seed, or NULL (imported or unreadable). */
static plan *plan_of(const journal_header *h)
{
    spec *s = NULL;
    plan *p = NULL;
    char e[KV_ERRLEN] = "";
    if (h->spec_json &&
        spec_parse(h->spec_json, strlen(h->spec_json), "journal header spec", &s, e) == KV_OK) {
        if (plan_build(s, h->seed, &p, e) != KV_OK)
            p = NULL;
    }
    spec_free(s);
    return p;
}

/* Notes the plan's trials that seen[] leaves false (the first
 * CLI_MISSING_LISTED by id); false when none is missing. */
static bool note_unseen(FILE *f, const char *cmd, const plan *p, const bool *seen)
{
    size_t n_missing = 0, len = 0;
    char ids[1024] = "";
    for (size_t i = 0; i < p->n_trials; i++) {
        if (seen[i])
            continue;
        if (n_missing++ < CLI_MISSING_LISTED && len < sizeof ids) {
            int w = snprintf(ids + len, sizeof ids - len, "%s%s", len ? ", " : "", p->trials[i].id);
            len += w > 0 ? (size_t)w : 0;
        }
    }
    if (n_missing == 0)
        return false;
    fprintf(f,
            "kvproof %s: incomplete: %zu of the plan's %zu trials are not in the journal "
            "(interrupted, or skipped by adaptive stopping or a cap): %s%s\n",
            cmd, n_missing, p->n_trials, ids, n_missing > CLI_MISSING_LISTED ? ", ..." : "");
    return true;
}

/* Marks in seen[] the plan's trials that d records (by trial id). */
static void mark_data(const void *src, const plan *p, bool *seen)
{
    const journal_data *d = src;
    const char **sorted = ids_sorted(d);
    for (size_t i = 0; i < p->n_trials; i++)
        seen[i] = recorded(d, sorted, p->trials[i].id);
    free(sorted);
}

/* Marks in seen[] the plan's trials whose index a trial line has (one
 * journal: its plan indexes are the plan's). */
static void mark_cols(const void *src, const plan *p, bool *seen)
{
    const journal_cols *j = src;
    for (size_t i = 0; i < j->n_trials; i++)
        if (j->plan_index[i] < p->n_trials)
            seen[j->plan_index[i]] = true;
}

static void torn_note(FILE *f, const char *cmd)
{
    fprintf(f,
            "kvproof %s: the journal's last line is incomplete (a crash mid-write); it "
            "is left out\n",
            cmd);
}

/* What analyze_missing and analyze_missing_cols share: the torn-line note,
 * then the planned trials mark() leaves unseen (plan rebuilt from h; the
 * count alone when it cannot be), or nothing when complete (every planned
 * trial known to be there: the plan is not built). */
static bool missing_note(FILE *f, const char *cmd, const journal_header *h, size_t n_trials,
                         size_t torn, bool complete,
                         void (*mark)(const void *src, const plan *p, bool *seen), const void *src)
{
    bool missing = false;
    if (torn)
        torn_note(f, cmd);
    plan *p = complete ? NULL : plan_of(h);
    if (p) {
        bool *seen = calloc(p->n_trials ? p->n_trials : 1, sizeof *seen);
        if (seen) {
            mark(src, p, seen);
            missing = note_unseen(f, cmd, p, seen);
        }
        free(seen);
    } else if (!complete && n_trials < h->planned_trials) {
        fprintf(f, "kvproof %s: incomplete: %zu of %zu planned trials are in the journal\n", cmd,
                n_trials, h->planned_trials);
        missing = true;
    }
    plan_free(p);
    return missing || torn > 0;
}

bool analyze_missing(FILE *f, const char *cmd, const journal_data *d)
{
    return missing_note(f, cmd, &d->header, d->n_trials, d->torn_lines, false, mark_data, d);
}

/* Every index 0 .. planned_trials - 1 has a trial line (the indexes are
 * distinct: n of them below n), so no trial of the plan is missing and the
 * plan (~180 bytes a trial) need not be built. */
static bool cols_complete(const journal_cols *j)
{
    if (j->n_trials != j->h->planned_trials)
        return false;
    for (size_t i = 0; i < j->n_trials; i++)
        if (j->plan_index[i] >= j->h->planned_trials)
            return false;
    return true;
}

bool analyze_missing_cols(FILE *f, const char *cmd, const journal_cols *j)
{
    return missing_note(f, cmd, j->h, j->n_trials, j->torn_lines, cols_complete(j), mark_cols, j);
}

/* ---- verdicts ------------------------------------------------------------- */

void analyze_print_verdicts(FILE *out, const char *results_path, bool simulated)
{
    rr_results *r = NULL;
    char err[KV_ERRLEN] = "";
    if (results_read_load(results_path, &r, err) != KV_OK) {
        fprintf(out, "  (verdicts unavailable: %s)\n", err);
        return;
    }
    const char *sim = (simulated || r->simulated) ? "[SIMULATED TARGET] " : "";
    if (r->partial)
        fprintf(out, "PARTIAL RUN: not every planned trial ran.\n");
    if (r->summary && r->summary[0])
        fprintf(out, "%sVerdict: %s\n", sim, r->summary);
    for (size_t i = 0; i < r->n_hypotheses; i++) {
        const rr_hypothesis *h = &r->hypotheses[i];
        fprintf(out, "%s%s %s%s%s %s: %s", sim, h->id, h->metric, h->target[0] ? " on " : "",
                h->target, h->criterion, h->verdict[0] ? h->verdict : "no verdict");
        if (isfinite(h->estimate.est.value)) {
            fprintf(out, " (estimate %.4g", h->estimate.est.value);
            double level = h->estimate.est.level > 0 && h->estimate.est.level < 1
                               ? h->estimate.est.level
                               : 0.95;
            if (isfinite(h->estimate.est.lo) && isfinite(h->estimate.est.hi))
                fprintf(out, ", %.3g%% CI %.4g to %.4g", 100 * level, h->estimate.est.lo,
                        h->estimate.est.hi);
            if (h->estimate.note && h->estimate.note[0]) /* e.g. a bound the sweep leaves open */
                fprintf(out, "; %s", h->estimate.note);
            fputs(")", out);
        }
        fputs("\n", out);
    }
    results_read_free(r);
}
