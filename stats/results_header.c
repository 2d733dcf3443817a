/* results_header.c - format, source, method, environment and counts of
 * results.json (results_header.h), from the journal header, the embedded
 * spec and the gathered counts.
 */
#include "stats/results_header.h"
#include "stats/results_models.h"
#include "stats/results_schema.h"

#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#define FAILURES_LISTED 200 /* failed trials listed by name; the rest are counted */

static void source_write(jsonw *w, const journal_header *h, const char *journal_path)
{
    char hash[17], date[32] = "";
    snprintf(hash, sizeof hash, "%016llx", (unsigned long long)h->spec_hash);
    struct tm tmv;
    /* In range before the cast (the journal decoder refuses anything else). */
    if (h->created_unix > 0 && h->created_unix < 253402300800.0) {
        time_t tt = (time_t)h->created_unix;
        if (gmtime_r(&tt, &tmv))
            strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &tmv);
    }
    jsonw_key(w, "source");
    jsonw_begin_obj(w);
    jsonw_kstr(w, "journal", journal_path);
    jsonw_kstr(w, "spec_name", h->spec_name);
    jsonw_kstr(w, "spec_path", h->spec_path);
    jsonw_kstr(w, "spec_hash", hash);
    jsonw_kint(w, "seed", (long long)h->seed);
    jsonw_kstr(w, "kvproof_version", h->kvproof_version);
    jsonw_kstr(w, "run_date", date[0] ? date : NULL);
    jsonw_key(w, "imported"); /* the journal's mark of other tools' data */
    if (h->import_format) {
        jsonw_begin_obj(w);
        jsonw_kstr(w, "format", h->import_format);
        jsonw_key(w, "files");
        jsonw_begin_arr(w);
        for (size_t i = 0; i < h->n_import_files; i++) {
            jsonw_begin_obj(w);
            jsonw_kstr(w, "path", h->import_files[i].path);
            jsonw_kstr(w, "sha256", h->import_files[i].sha256);
            jsonw_end_obj(w);
        }
        jsonw_end_arr(w);
        jsonw_end_obj(w);
    } else {
        jsonw_null(w);
    }
    jsonw_end_obj(w);
}

/* Only when a model had more than RES_FIT_LIMIT points (results_models.h). */
static void fit_sample_write(jsonw *w, const results_ctx *c)
{
    char text[512];
    snprintf(text, sizeof text,
             "%zu model(s) had more than %d points: their robust fits and model choice use a "
             "simple random subsample of %d (Knuth's selection sampling, run order kept; "
             "mt19937 seeded with fit_sample_seed + 3 x target index + model, 0 cold, 1 warm, "
             "2 prefill); the model's fit_n is the points used, n all of them, and residuals "
             "cover every point",
             c->fit_sampled, RES_FIT_LIMIT, RES_FIT_LIMIT);
    jsonw_kstr(w, "fit_sample", text);
    jsonw_kint(w, "fit_sample_limit", RES_FIT_LIMIT);
    jsonw_kint(w, "fit_sample_seed", (long long)c->boot_seed);
}

static void method_write(jsonw *w, const results_ctx *c)
{
    const journal_header *h = c->h;
    const spec *s = c->s;
    jsonw_key(w, "method");
    jsonw_begin_obj(w);
    jsonw_kstr(w, "order", s ? (s->order == SPEC_ORDER_BLOCKED ? "blocked" : "random") : NULL);
    jsonw_kint(w, "seed", (long long)h->seed);
    jsonw_key(w, "repetitions");
    if (s)
        jsonw_int(w, s->repetitions);
    else
        jsonw_null(w);
    jsonw_key(w, "warmup_requests");
    if (s)
        jsonw_int(w, s->warmup_requests);
    else
        jsonw_null(w);
    jsonw_key(w, "cache_modes");
    jsonw_begin_arr(w);
    if (!s || s->cold)
        jsonw_str(w, "cold");
    if (!s || s->warm)
        jsonw_str(w, "warm");
    jsonw_end_arr(w);
    jsonw_kstr(w, "ttft_definition",
               "client-side time from sending the request to the first non-empty content, "
               "reasoning or tool-call delta (CLOCK_MONOTONIC); role-only, usage and progress "
               "chunks do not count");
    char excl[512];
    snprintf(excl, sizeof excl,
             "warm-up trials discarded; failed requests excluded; %zu request(s) with a "
             "missing or negative time to first token excluded; contaminated requests (cold "
             "with cached tokens, warm with < 90%% of the prefix cached) are kept in points "
             "but excluded from summaries, models and comparisons; outliers are flagged, never "
             "removed",
             c->excluded_bad);
    jsonw_kstr(w, "exclusions", excl);
    jsonw_kint(w, "bootstrap_resamples", c->opt->bootstrap_resamples);
    jsonw_kint(w, "bootstrap_seed", (long long)c->boot_seed);
    jsonw_kstr(w, "bootstrap_interval",
               "secondary ratio-of-means figures only (the headline ratios are median ratios "
               "with exact rank intervals): studentized (bootstrap-t) on the log ratio of means, "
               "percentile when the bootstrap-t leaves the resampled range (a stall among few "
               "values)");
    jsonw_kstr(w, "spec_note", c->err_note[0] ? c->err_note : NULL);
    if (c->fit_sampled)
        fit_sample_write(w, c);
    jsonw_end_obj(w);
}

static void environment_write(jsonw *w, const journal_header *h)
{
    jsonw_key(w, "environment");
    jsonw_begin_obj(w);
    jsonw_key(w, "client");
    jsonw_begin_obj(w);
    jsonw_kstr(w, "host", h->client_host);
    jsonw_kstr(w, "cpu", NULL); /* both in host's text */
    jsonw_kstr(w, "os", NULL);
    jsonw_kstr(w, "kvproof_version", h->kvproof_version);
    jsonw_end_obj(w);
    jsonw_key(w, "targets");
    jsonw_begin_arr(w);
    for (size_t i = 0; i < h->n_targets; i++) {
        const journal_target_meta *t = &h->targets[i];
        jsonw_begin_obj(w);
        jsonw_kstr(w, "name", t->name);
        jsonw_kstr(w, "base_url", t->base_url);
        jsonw_kstr(w, "dialect", t->dialect);
        jsonw_kstr(w, "model", t->model);
        jsonw_kstr(w, "server_version", t->server_version);
        jsonw_kstr(w, "flags", t->props);
        jsonw_kbool(w, "simulated", t->simulated);
        jsonw_end_obj(w);
    }
    jsonw_end_arr(w);
    jsonw_end_obj(w);
}

static void failures_write(jsonw *w, const results_ctx *c)
{
    const journal_cols *j = c->j;
    jsonw_key(w, "failures");
    jsonw_begin_arr(w);
    for (size_t i = 0; i < j->n_failures && i < FAILURES_LISTED; i++) {
        const journal_cols_failure *f = &j->failures[i];
        jsonw_begin_obj(w);
        jsonw_kstr(w, "trial", f->id);
        jsonw_kstr(w, "target", f->target_name);
        jsonw_kstr(w, "reason", f->error);
        jsonw_kint(w, "attempts", f->attempts);
        jsonw_end_obj(w);
    }
    jsonw_end_arr(w);
    jsonw_kbool(w, "failures_truncated", c->counts.failed > FAILURES_LISTED);
}

static void counts_write(jsonw *w, const results_ctx *c)
{
    const results_counts *n = &c->counts;
    jsonw_key(w, "counts");
    jsonw_begin_obj(w);
    /* trials: the contention requests are counted in "contention" */
    jsonw_kint(w, "planned", (long long)(c->h->planned_trials - c->contention_planned));
    jsonw_kint(w, "completed", (long long)n->completed);
    jsonw_kint(w, "failed", (long long)n->failed);
    jsonw_kint(w, "contaminated", (long long)n->contaminated);
    jsonw_kint(w, "inferred", (long long)n->inferred);
    jsonw_kint(w, "warmup", (long long)n->warmup);
    jsonw_kint(w, "excluded_bad_times", (long long)c->excluded_bad);
    failures_write(w, c);
    jsonw_end_obj(w);
}

void results_header_write(jsonw *w, const results_ctx *c, const char *journal_path)
{
    const journal_header *h = c->h;
    bool simulated = false;
    for (size_t i = 0; i < h->n_targets; i++)
        simulated = simulated || h->targets[i].simulated;
    size_t recorded = c->j->n_trials;
    jsonw_kstr(w, "format", RESULTS_FORMAT);
    jsonw_kint(w, "version", RESULTS_VERSION_MAJOR);
    jsonw_kbool(w, "simulated", simulated);
    jsonw_kbool(w, "partial",
                c->opt->partial || (h->planned_trials && recorded < h->planned_trials));
    source_write(w, h, journal_path);
    jsonw_knum(w, "confidence_level", c->level);
    method_write(w, c);
    environment_write(w, h);
    counts_write(w, c);
}
