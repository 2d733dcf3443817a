/* results.c - journal to results.json (results.h, docs/results.md): the
 * entry points and the order of the document.
 *
 * The work is divided over internal modules sharing results_ctx.h:
 * results_ctx (points, counts, estimates), results_cells (per-cell
 * summaries, raw points), results_models (prefill models), results_compare
 * (speedups, overhead fractions), results_sessions (multi-query sessions),
 * results_target (one target's statistics, computed once and written),
 * results_verdicts (hypotheses, headline verdict, questions, stopping
 * saving), results_header (provenance, method, environment, counts) and
 * results_points (the points file next to results.json: every measured
 * point with its residuals, written by results_write before results.json).
 */
#include "stats/results.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "experiments/contention.h"
#include "experiments/spec.h"
#include "stats/jsonw.h"
#include "stats/results_ctx.h"
#include "stats/results_header.h"
#include "stats/results_points.h"
#include "stats/results_schema.h"
#include "stats/results_target.h"
#include "stats/results_verdicts.h"
#include "stats/results_warm.h"

void results_options_default(results_options *opt)
{
    opt->bootstrap_resamples = 10000;
    opt->has_bootstrap_seed = false;
    opt->bootstrap_seed = 0;
    opt->confidence = 0.95;
    opt->partial = false;
}

/* The spec embedded in the journal header, or NULL with c->err_note saying
 * why it cannot be used (no note when there is none). */
static spec *embedded_spec(const journal_header *h, results_ctx *c)
{
    spec *sp = NULL;
    if (!h->spec_json)
        return NULL;
    char e2[KV_ERRLEN] = "";
    if (spec_parse(h->spec_json, strlen(h->spec_json), "journal header spec", &sp, e2) != KV_OK)
        snprintf(c->err_note, sizeof c->err_note,
                 "the embedded spec did not parse (%.200s): hypotheses and stopping skipped", e2);
    return sp;
}

/* Contention requests among the header's planned trials: the embedded
 * spec's contention plan, else the journaled ones (n). */
static void contention_planned(results_ctx *c, size_t n)
{
    contention_plan *p = NULL;
    char e2[KV_ERRLEN] = "";
    c->contention_planned = n;
    if (c->s && c->s->contention.enabled && contention_build(c->s, c->h->seed, &p, e2) == KV_OK) {
        c->contention_planned = p->n_reqs;
        c->contention_plan_known = true;
    }
    contention_free(p);
    if (c->contention_planned > c->h->planned_trials)
        c->contention_planned = c->h->planned_trials;
}

/* The contention statistics into *wr (c->warm set) when the spec has a
 * contention block or the journal holds contention requests. */
static kv_status warm_gather(results_ctx *c, warm_result *wr, char *err)
{
    warm_req *r = NULL;
    size_t n = 0;
    kv_status st = warm_from_cols(c->j, &r, &n, err);
    if (st == KV_OK)
        contention_planned(c, n);
    if (st == KV_OK && (n > 0 || (c->s && c->s->contention.enabled))) {
        st = warm_compute(r, n, c->level, wr, err);
        if (st == KV_OK)
            c->warm = wr;
    }
    free(r);
    return st;
}

/* One results_target per target index seen among the points, computed. */
static kv_status targets_compute(const results_ctx *c, results_target **out, size_t *nt, char *err)
{
    const journal_cols *j = c->j;
    size_t n = 0;
    for (size_t i = 0; i < c->n_pts; i++)
        n = c->pts[i].target + 1 > n ? c->pts[i].target + 1 : n;
    results_target *tss = calloc(n, sizeof *tss);
    if (!tss)
        return kv_fail(err, KV_ERR_NOMEM, "out of memory");
    for (size_t t = 0; t < n; t++) {
        tss[t].name = t < c->h->n_targets ? c->h->targets[t].name : NULL;
        if (!tss[t].name && t < j->n_target_names)
            tss[t].name = j->target_names[t];
        if (!tss[t].name)
            tss[t].name = "?";
        results_target_compute(c, t, &tss[t]);
    }
    *out = tss;
    *nt = n;
    return KV_OK;
}

/* The points file, written on a second thread while results.json's text
 * is made (both only read the context and the targets; on a million
 * points each takes about a second). */
typedef struct points_job {
    const results_ctx *c;
    const results_target *tss;
    size_t nt;
    const char *path;
    results_points_info info;
    kv_status st;
    char err[KV_ERRLEN];
    pthread_t thread;
    bool started;
} points_job;

static void *points_run(void *arg)
{
    points_job *pj = arg;
    pj->st = results_points_write(pj->c, pj->tss, pj->nt, pj->path, &pj->info, pj->err);
    return NULL;
}

/* Starts the job (or runs it here when no thread can be made). */
static void points_start(points_job *pj)
{
    pj->started = pthread_create(&pj->thread, NULL, points_run, pj) == 0;
    if (!pj->started)
        points_run(pj);
}

static kv_status points_finish(points_job *pj, char *err)
{
    if (pj->started)
        pthread_join(pj->thread, NULL);
    pj->started = false;
    if (pj->st != KV_OK)
        return kv_fail(err, pj->st, "%s", pj->err);
    return KV_OK;
}

/* Everything but the points file's entry and the closing brace. */
static void document_write(jsonw *w, const results_ctx *c, const char *journal_path,
                           const results_target *tss, size_t nt)
{
    jsonw_begin_obj(w);
    results_header_write(w, c, journal_path);
    jsonw_key(w, "targets");
    jsonw_begin_arr(w);
    for (size_t t = 0; t < nt; t++)
        results_target_write(w, c, t, &tss[t]);
    jsonw_end_arr(w);
    results_warm_write(w, c, tss, nt);
    results_hypotheses_write(w, c, tss, nt);
    results_verdict_write(w, c, tss, nt);
    results_questions_write(w, c, &tss[0]);
    results_stopping_write(w, c);
}

/* The document from the computed targets, the points file beside it when
 * points_path is set; the text in w->b. */
static kv_status document_make(jsonw *w, const results_ctx *c, const char *journal_path,
                               const results_target *tss, size_t nt, const char *points_path,
                               char *err)
{
    points_job pj = {.c = c, .tss = tss, .nt = nt, .path = points_path, .st = KV_OK};
    if (points_path)
        points_start(&pj);
    document_write(w, c, journal_path, tss, nt);
    kv_status st = points_path ? points_finish(&pj, err) : KV_OK;
    if (st != KV_OK)
        return st;
    if (points_path)
        results_points_json(w, &pj.info);
    jsonw_end_obj(w);
    if (w->st == KV_OK)
        w->st = kv_buf_append(&w->b, "\n", 1);
    if (w->st != KV_OK)
        return kv_fail(err, w->st, "out of memory writing results");
    return KV_OK;
}

/* results.json's text into out; with points_path, the points file written
 * there first (results.json then names it). */
static kv_status build(const journal_cols *d, journal_cols *lean, const char *journal_path,
                       const results_options *opt, const char *points_path, kv_buf *out, char *err)
{
    results_options defaults;
    results_options_default(&defaults);
    if (!opt)
        opt = &defaults;
    if (!d || !out)
        return kv_fail(err, KV_ERR_USAGE, "results: missing input");
    if (!(opt->confidence > 0 && opt->confidence < 1))
        return kv_fail(err, KV_ERR_USAGE, "confidence must be between 0 and 1");
    results_ctx c = {0};
    c.j = d;
    c.h = d->h;
    c.opt = opt;
    c.level = opt->confidence;
    c.boot_seed = opt->has_bootstrap_seed ? opt->bootstrap_seed : d->h->seed;
    spec *sp = embedded_spec(d->h, &c);
    warm_result wr = {0};
    results_target *tss = NULL;
    size_t nt = 0;
    jsonw w = {0};
    c.s = sp;
    kv_status st = results_gather(&c, err);
    if (st == KV_OK && lean)
        journal_cols_drop_point_fields(lean); /* the points hold them now */
    if (st == KV_OK)
        st = warm_gather(&c, &wr, err);
    if (st != KV_OK)
        goto out;
    if (c.n_pts == 0) {
        st = kv_fail(err, KV_ERR_STATS,
                     "%s: no usable measured request (%zu measured trial(s), %zu failed, %zu "
                     "with a missing or negative time to first token)",
                     journal_path ? journal_path : "journal", c.counts.completed + c.counts.failed,
                     c.counts.failed, c.excluded_bad);
        goto out;
    }
    st = targets_compute(&c, &tss, &nt, err);
    if (st != KV_OK)
        goto out;
    for (size_t t = 0; t < nt; t++)
        c.fit_sampled += (tss[t].cold.fit_n < tss[t].cold.n) + (tss[t].warm.fit_n < tss[t].warm.n) +
                         (tss[t].prefill.fit_n < tss[t].prefill.n);
    st = document_make(&w, &c, journal_path, tss, nt, points_path, err);
    if (st != KV_OK)
        goto out;
    st = kv_buf_append(out, w.b.data, w.b.len);
out:
    for (size_t t = 0; tss && t < nt; t++)
        results_target_free(&tss[t]);
    free(tss);
    kv_buf_free(&w.b);
    warm_result_free(&wr);
    results_ctx_free(&c);
    spec_free(sp);
    return st;
}

/* Writes text to path.tmp and renames it over path. */
static kv_status write_atomically(const char *path, const kv_buf *text, char *err)
{
    kv_status st = KV_OK;
    FILE *f = NULL;
    size_t len = strlen(path) + 16;
    char *tmp = malloc(len);
    if (!tmp)
        return kv_fail(err, KV_ERR_NOMEM, "out of memory");
    snprintf(tmp, len, "%s.tmp", path);
    f = fopen(tmp, "w");
    if (!f || fwrite(text->data, 1, text->len, f) != text->len || fflush(f) != 0) {
        st = kv_fail(err, KV_ERR_IO, "%s: cannot write results", tmp);
        goto out;
    }
    if (fclose(f) != 0) {
        f = NULL;
        st = kv_fail(err, KV_ERR_IO, "%s: cannot write results", tmp);
        goto out;
    }
    f = NULL;
    if (rename(tmp, path) != 0)
        st = kv_fail(err, KV_ERR_IO, "%s: cannot rename to %s", tmp, path);
out:
    if (f)
        fclose(f);
    if (st != KV_OK)
        remove(tmp);
    free(tmp);
    return st;
}

kv_status results_from_data(const journal_data *d, const char *journal_path,
                            const results_options *opt, kv_buf *out, char *err)
{
    if (!d || !out)
        return kv_fail(err, KV_ERR_USAGE, "results_from_data: missing input");
    journal_cols *j = NULL;
    kv_status st = journal_cols_from_data(d, &j, err);
    if (st == KV_OK)
        st = results_from_cols(j, journal_path, opt, out, err);
    journal_cols_free(j);
    return st;
}

kv_status results_from_cols(const journal_cols *j, const char *journal_path,
                            const results_options *opt, kv_buf *out, char *err)
{
    return build(j, NULL, journal_path, opt, NULL, out, err);
}

static kv_status write_cols(const journal_cols *j, journal_cols *lean, const char *journal_path,
                            const char *results_path, const results_options *opt, char *err)
{
    char points[4096];
    if (results_points_path(results_path, points, sizeof points) != 0)
        return kv_fail(err, KV_ERR_IO, "%s: path too long", results_path);
    kv_buf out = {0};
    kv_status st = build(j, lean, journal_path, opt, points, &out, err);
    if (st == KV_OK)
        st = write_atomically(results_path, &out, err);
    kv_buf_free(&out);
    return st;
}

kv_status results_write_cols(const journal_cols *j, const char *journal_path,
                             const char *results_path, const results_options *opt, char *err)
{
    return write_cols(j, NULL, journal_path, results_path, opt, err);
}

kv_status results_write_cols_lean(journal_cols *j, const char *journal_path,
                                  const char *results_path, const results_options *opt, char *err)
{
    return write_cols(j, j, journal_path, results_path, opt, err);
}

/* The lean write of columns just loaded (st: how loading them went), which
 * it then frees. */
static kv_status write_loaded(kv_status st, journal_cols *j, const char *journal_path,
                              const char *results_path, const results_options *opt, char *err)
{
    if (st == KV_OK)
        st = results_write_cols_lean(j, journal_path, results_path, opt, err);
    journal_cols_free(j);
    return st;
}

kv_status results_write(const journal_data *d, const char *journal_path, const char *results_path,
                        const results_options *opt, char *err)
{
    journal_cols *j = NULL;
    kv_status st = d ? journal_cols_from_data(d, &j, err)
                     : kv_fail(err, KV_ERR_USAGE, "results_write: missing input");
    return write_loaded(st, j, journal_path, results_path, opt, err);
}

kv_status results_from_journal(const char *journal_path, const char *results_path,
                               const results_options *opt, char *err)
{
    journal_cols *j = NULL;
    kv_status st = journal_cols_load(journal_path, &j, err);
    return write_loaded(st, j, journal_path, results_path, opt, err);
}
