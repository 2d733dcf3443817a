/* results_verdicts.c - hypotheses, headline verdict, the seed's questions
 * and the adaptive-stopping saving (results_verdicts.h).
 *
 * Each part is first decided (a judged hypothesis, an answer's text, the
 * saving) and then written.
 */
#include "stats/results_verdicts.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats/results_warm.h"

/* ---- hypotheses --------------------------------------------------------------- */

typedef struct judged {
    results_est e;
    const char *verdict; /* confirmed, refuted or inconclusive */
    bool hi_open;        /* the interval's upper end is not bounded (warm_capacity) */
    char reason[256];
    char crit[96];
} judged;

static void hypothesis_estimate(const spec_hypothesis *h, const results_ctx *c, size_t t,
                                const results_target *ts, judged *j)
{
    results_est *e = &j->e;
    results_est_none(e, "no data for this metric");
    switch (h->metric) {
    case SPEC_METRIC_OVERHEAD_FRACTION: {
        const results_overhead *o = results_target_over(ts, h->system_prompt_tokens);
        if (o)
            *e = o->frac;
        break;
    }
    case SPEC_METRIC_SPEEDUP: {
        const results_speed *r = results_target_speed(ts, h->system_prompt_tokens);
        if (r)
            *e = r->speedup;
        break;
    }
    case SPEC_METRIC_SESSION_SPEEDUP: {
        const results_session *s = results_target_session(ts, h->query_count);
        if (s)
            *e = s->measured_speedup;
        break;
    }
    case SPEC_METRIC_PREFILL_MS_PER_TOKEN:
        if (ts->cold.ok)
            *e = ts->cold.ms_per_token;
        break;
    case SPEC_METRIC_WARM_CAPACITY:
        results_warm_capacity_est(c, t, h->system_prompt_tokens, e, &j->hi_open);
        break;
    }
}

/* A verdict needs the whole interval on one side of the criterion. */
static void hypothesis_judge(const spec_hypothesis *h, const results_ctx *c, size_t t,
                             const results_target *ts, judged *j)
{
    double level = c->level;
    j->hi_open = false;
    hypothesis_estimate(h, c, t, ts, j);
    const results_est *e = &j->e;
    j->verdict = "inconclusive";
    bool hasmin = isfinite(h->min), hasmax = isfinite(h->max);
    if (hasmin && hasmax)
        snprintf(j->crit, sizeof j->crit, "between %.6g and %.6g", h->min, h->max);
    else if (hasmin)
        snprintf(j->crit, sizeof j->crit, ">= %.6g", h->min);
    else if (hasmax)
        snprintf(j->crit, sizeof j->crit, "<= %.6g", h->max);
    else
        snprintf(j->crit, sizeof j->crit, "(no bound)");
    if (!e->est.has_ci || !isfinite(e->est.lo) || !isfinite(e->est.hi)) {
        snprintf(j->reason, sizeof j->reason,
                 "no interval (%s): a point estimate alone decides "
                 "nothing",
                 e->note[0] ? e->note : "not computable");
        return;
    }
    bool inside =
        (!hasmin || e->est.lo >= h->min) && (!hasmax || (!j->hi_open && e->est.hi <= h->max));
    bool outside = (hasmin && !j->hi_open && e->est.hi < h->min) || (hasmax && e->est.lo > h->max);
    const char *whole = "the whole ", *how;
    if ((hasmin || hasmax) && inside) {
        j->verdict = "confirmed";
        how = "satisfies";
    } else if (outside) {
        j->verdict = "refuted";
        how = "violates";
    } else {
        whole = "the ";
        how = "straddles the criterion";
    }
    snprintf(j->reason, sizeof j->reason, "%s%.3g%% interval [%.4g, %s%.4g] %s %s", whole,
             100 * (e->est.level > 0 ? e->est.level : level), e->est.lo,
             j->hi_open ? "at least " : "", e->est.hi, how, j->crit);
}

void results_hypotheses_write(jsonw *w, const results_ctx *c, const results_target *tss, size_t nt)
{
    jsonw_key(w, "hypotheses");
    jsonw_begin_arr(w);
    for (size_t i = 0; c->s && i < c->s->n_hypotheses; i++) {
        const spec_hypothesis *h = &c->s->hypotheses[i];
        for (size_t t = 0; t < nt; t++) {
            if (h->target && strcmp(h->target, tss[t].name) != 0)
                continue;
            judged j;
            hypothesis_judge(h, c, t, &tss[t], &j);
            jsonw_begin_obj(w);
            jsonw_kstr(w, "id", h->id);
            jsonw_kstr(w, "description", h->description);
            jsonw_kstr(w, "metric", spec_metric_name(h->metric));
            jsonw_kstr(w, "target", tss[t].name);
            jsonw_kstr(w, "criterion", j.crit);
            jsonw_knum(w, "min", h->min);
            jsonw_knum(w, "max", h->max);
            results_kest(w, "estimate", &j.e, c->level);
            jsonw_kstr(w, "verdict", j.verdict);
            jsonw_kstr(w, "reason", j.reason);
            jsonw_end_obj(w);
        }
    }
    jsonw_end_arr(w);
}

/* ---- headline verdict and comparison of targets ------------------------------- */

static void recommendation(const results_target *tss, size_t nt, char *rec, size_t len)
{
    size_t best = 0;
    double bestv = INFINITY;
    for (size_t t = 0; t < nt; t++) {
        const results_session *s = results_target_session(&tss[t], -1);
        if (s && isfinite(s->warm_total.est.value) && s->warm_total.est.value < bestv) {
            bestv = s->warm_total.est.value;
            best = t;
        }
    }
    if (isfinite(bestv))
        snprintf(rec, len,
                 "%s has the shortest cached session total (%.0f ms, point estimate; see "
                 "comparison for intervals).",
                 tss[best].name, bestv);
    else
        snprintf(rec, len, "No target has complete cached sessions to compare.");
}

static void comparison_write(jsonw *w, const results_ctx *c, const results_target *tss, size_t nt,
                             const results_est *none)
{
    jsonw_key(w, "comparison");
    jsonw_begin_arr(w);
    for (size_t t = 0; t < nt; t++) {
        const results_target *x = &tss[t];
        const results_speed *rs = results_target_speed(x, -1);
        const results_session *ss = results_target_session(x, -1);
        results_est cold, warm;
        size_t n1 = 0, n2 = 0;
        double *cv = results_collect(c, t, x->sys_max, x->query_min, -1, SPEC_COLD, 1, &n1);
        double *wv = results_collect(c, t, x->sys_max, x->query_min, -1, SPEC_WARM, 1, &n2);
        results_est_mean(cv, cv ? n1 : 0, c->level, &cold, "no cold requests");
        results_est_mean(wv, wv ? n2 : 0, c->level, &warm, "no warm requests");
        free(cv);
        free(wv);
        jsonw_begin_obj(w);
        jsonw_kstr(w, "target", x->name);
        jsonw_kint(w, "system_prompt_tokens", x->sys_max);
        results_kest(w, "cold_ttft_ms", &cold, c->level);
        results_kest(w, "warm_ttft_ms", &warm, c->level);
        results_kest(w, "speedup", rs ? &rs->speedup : none, c->level);
        results_kest(w, "session_total_ms", ss ? &ss->warm_total : none, c->level);
        jsonw_end_obj(w);
    }
    jsonw_end_arr(w);
}

/* The verdict's first clause: the system prompt's share of cold time. */
/* The estimate e formatted into num (results_est_format), or, when e is
 * NULL (not measured), the sentence missing into buf; false then. */
static bool est_text(const results_est *e, double scale, const char *unit, char *num, size_t nlen,
                     char *buf, size_t len, const char *missing)
{
    if (!e) {
        snprintf(buf, len, "%s", missing);
        return false;
    }
    results_est_format(num, nlen, e, scale, unit);
    return true;
}

static void overhead_clause(char *buf, size_t len, const results_overhead *o)
{
    char b1[200];
    if (!est_text(o ? &o->frac : NULL, 100, "%", b1, sizeof b1, buf, len,
                  "the system prompt's share of cold time to first token was not measured (no "
                  "cold requests without it, and no cold model to extrapolate from)"))
        return;
    if (!isfinite(o->frac.est.value))
        snprintf(buf, len,
                 "the system prompt's share of cold time to first token could not be "
                 "computed (%s)",
                 o->frac.note[0] ? o->frac.note : "no data");
    else
        snprintf(buf, len, "the system prompt is %s of cold time to first token%s", b1,
                 o->from_model ? " (time without it extrapolated from the cold model)" : "");
}

void results_verdict_write(jsonw *w, const results_ctx *c, const results_target *tss, size_t nt)
{
    const results_target *ts = &tss[0];
    const results_overhead *o = results_target_over(ts, -1);
    const results_speed *r = results_target_speed(ts, -1);
    char sum[1024], b1[512], b2[256];
    results_est none;
    results_est_none(&none, "not measured");
    overhead_clause(b1, sizeof b1, o);
    results_est_format(b2, sizeof b2, r ? &r->speedup : &none, 1, "x");
    if (r)
        snprintf(sum, sizeof sum,
                 "%s: at %ld system-prompt tokens %s, and the prefix cache makes follow-ups %s "
                 "faster (median ratio).",
                 ts->name, ts->sys_max, b1, b2);
    else
        snprintf(sum, sizeof sum,
                 "%s: at %ld system-prompt tokens %s; the warm-vs-cold speedup was not "
                 "measured.",
                 ts->name, ts->sys_max, b1);
    jsonw_key(w, "verdict");
    jsonw_begin_obj(w);
    jsonw_kstr(w, "summary", sum);
    jsonw_kint(w, "system_prompt_tokens", ts->sys_max);
    results_kest(w, "overhead_fraction", o ? &o->frac : &none, c->level);
    results_kest(w, "speedup", r ? &r->speedup : &none, c->level);
    results_kest(w, "prefill_ms_per_token", ts->cold.ok ? &ts->cold.ms_per_token : &none, c->level);
    results_kest(w, "prefill_tokens_per_second", ts->cold.ok ? &ts->cold.tokens_per_s : &none,
                 c->level);
    if (nt > 1) {
        char rec[512];
        recommendation(tss, nt, rec, sizeof rec);
        jsonw_kstr(w, "recommendation", rec);
    }
    jsonw_end_obj(w);
    if (nt > 1)
        comparison_write(w, c, tss, nt, &none);
}

/* ---- the seed's four questions ------------------------------------------------ */

static void answer_write(jsonw *w, int id, const char *question, const char *answer,
                         const results_est *e, double level)
{
    jsonw_begin_obj(w);
    jsonw_kint(w, "id", id);
    jsonw_kstr(w, "question", question);
    jsonw_kstr(w, "answer", answer);
    jsonw_key(w, "estimate");
    if (e)
        results_est_write(w, e, level);
    else
        jsonw_null(w);
    jsonw_end_obj(w);
}

static void answer_overhead(char *a, size_t len, const results_overhead *o, const char *name)
{
    char b1[256];
    if (!est_text(o ? &o->frac : NULL, 100, "%", b1, sizeof b1, a, len,
                  "Not measured: the overhead needs cold requests with and without "
                  "a system prompt (system_prompt_tokens 0)."))
        return;
    if (o->from_model)
        snprintf(a, len,
                 "With a %ld-token system prompt, %s of the cold time to first token is the "
                 "system prompt: the cold model gives %.4g ms with it vs %.4g ms without, the "
                 "latter extrapolated (no cold requests without a system prompt were "
                 "measured) (%s).",
                 o->sys, b1, o->tl, o->t0, name);
    else
        snprintf(a, len,
                 "With a %ld-token system prompt, %s of the cold time to first token is the "
                 "system prompt: median %.4g ms with it vs %.4g ms without (%s).",
                 o->sys, b1, o->tl_med, o->t0_med, name);
}

static void answer_cache_help(char *a, size_t len, const results_speed *r)
{
    char b1[256], b2[256];
    if (!est_text(r ? &r->speedup : NULL, 1, "x", b1, sizeof b1, a, len,
                  "Not measured: needs both cold and warm requests."))
        return;
    results_est_format(b2, sizeof b2, &r->hl, 1, " ms");
    snprintf(a, len,
             "A follow-up request with the %ld-token prefix cached reaches its first token "
             "%s faster than a cold one; it saves %s per request (Mann-Whitney p = %.2g, "
             "Holm-adjusted %.2g).",
             r->sys, b1, b2, r->p, r->p_holm);
}

static void answer_cache_works(char *a, size_t len, const results_speed *r,
                               const results_target *ts)
{
    const char *works = "cannot tell";
    if (r && r->speedup.est.has_ci)
        works = r->speedup.est.lo > 1.0   ? "yes: the whole speedup interval is above 1"
                : r->speedup.est.hi < 1.0 ? "no: warm requests are slower"
                                          : "not shown: the speedup interval includes 1";
    snprintf(a, len,
             "Cache working: %s. Evidence: of %zu warm requests, %zu had the server's "
             "cached-token count confirm the reuse (verified), %zu were assumed (inferred: the "
             "server reports no cached count), %zu were contaminated.",
             works, ts->warm_total, ts->warm_verified, ts->warm_inferred, ts->warm_contaminated);
}

static void answer_pursue(char *a, size_t len, const results_session *s)
{
    char b1[256];
    bool complete = s && isfinite(s->cold_total.est.value) && isfinite(s->warm_total.est.value);
    if (!est_text(complete ? &s->measured_speedup : NULL, 1, "x", b1, sizeof b1, a, len,
                  "Not measured: needs complete cold and warm sessions."))
        return;
    snprintf(a, len,
             "A %ld-query session with a %ld-token system prompt took %.4g ms without the "
             "cache and %.4g ms with it: measured session speedup %s, saving %.4g ms per "
             "session; the seed's arithmetic predicted %.3gx.",
             s->count, s->sys, s->cold_total.est.value, s->warm_total.est.value, b1,
             s->cold_total.est.value - s->warm_total.est.value, s->theoretical);
}

void results_questions_write(jsonw *w, const results_ctx *c, const results_target *ts)
{
    char a[1024];
    const results_overhead *o = results_target_over(ts, -1);
    const results_speed *r = results_target_speed(ts, -1);
    const results_session *s = results_target_session(ts, -1);
    jsonw_key(w, "questions");
    jsonw_begin_arr(w);
    answer_overhead(a, sizeof a, o, ts->name);
    answer_write(w, 1, "How much overhead does the system prompt add?", a, o ? &o->frac : NULL,
                 c->level);
    answer_cache_help(a, sizeof a, r);
    answer_write(w, 2, "How much could the KV cache help?", a, r ? &r->speedup : NULL, c->level);
    answer_cache_works(a, sizeof a, r, ts);
    answer_write(w, 3, "Is the server's cache working; is this server the right choice?", a,
                 r ? &r->speedup : NULL, c->level);
    answer_pursue(a, sizeof a, s);
    answer_write(w, 4, "Should we pursue this?", a, s ? &s->measured_speedup : NULL, c->level);
    jsonw_end_arr(w);
}

/* ---- adaptive stopping -------------------------------------------------------- */

typedef struct stop_saving {
    long not_run; /* trials the fixed design would have run in addition */
    double saved; /* their expected request time, ms */
} stop_saving;

/* Measured trial indexes ordered by target, cell and file position. */
typedef struct stop_key {
    uint32_t target, cell, i; /* the columns' widths (journal_cols.h) */
} stop_key;

static int stop_key_cmp(const void *a, const void *b)
{
    const stop_key *x = a, *y = b;
    if (x->target != y->target)
        return x->target < y->target ? -1 : 1;
    if (x->cell != y->cell)
        return x->cell < y->cell ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

/* Request time of trial i: its turns' total (else ttft) where ttft is good. */
static double trial_time(const journal_cols *j, size_t i)
{
    double tot = 0;
    for (size_t k = j->turn0[i]; k < j->turn0[i] + j->n_turns[i]; k++)
        if (isfinite(j->ttft_ms[k]) && j->ttft_ms[k] >= 0)
            tot += isfinite(j->total_ms[k]) ? j->total_ms[k] : j->ttft_ms[k];
    return tot;
}

static int stop_first_cmp(const void *a, const void *b)
{
    const stop_key *x = a, *y = b;
    return (x->i > y->i) - (x->i < y->i);
}

/* Sums the cells' savings in order of their first trial (keys: target =
 * trials missing, cell = index into sv, i = first trial). */
static void stopping_sum(stop_key *keys, const double *sv, size_t ng, stop_saving *out)
{
    qsort(keys, ng, sizeof *keys, stop_first_cmp);
    for (size_t g = 0; g < ng; g++) {
        out->not_run += (long)keys[g].target;
        out->saved += sv[keys[g].cell];
    }
}

/* Per cell: (repetitions - trials run) x the cell's mean request time (cells
 * in order of their first trial, as the sums were always added). */
static void stopping_compute(const results_ctx *c, stop_saving *out)
{
    const journal_cols *j = c->j;
    out->saved = 0;
    out->not_run = 0;
    stop_key *keys = malloc((j->n_trials ? j->n_trials : 1) * sizeof *keys);
    size_t nk = 0;
    for (size_t i = 0; keys && i < j->n_trials; i++)
        if (j->kind[i] == PLAN_MEASURE)
            keys[nk++] = (stop_key){j->target[i], j->cell[i], (uint32_t)i};
    if (!keys) {
        out->saved = NAN;
        return;
    }
    qsort(keys, nk, sizeof *keys, stop_key_cmp);
    /* one entry per cell, reusing keys: i = its first trial, target = the
     * trials missing, and the saving in sv (summed in first-trial order) */
    size_t ng = 0, cells = nk > 0;
    for (size_t a = 1; a < nk; a++)
        cells += keys[a].target != keys[a - 1].target || keys[a].cell != keys[a - 1].cell;
    double *sv = malloc((cells ? cells : 1) * sizeof *sv);
    for (size_t a = 0, b; sv && a < nk; a = b) {
        double tot = 0;
        for (b = a; b < nk && keys[b].target == keys[a].target && keys[b].cell == keys[a].cell; b++)
            tot += trial_time(j, keys[b].i);
        long missing = c->s->repetitions - (long)(b - a);
        if (missing > 0) {
            sv[ng] = (double)missing * tot / (double)(b - a);
            keys[ng] = (stop_key){(uint32_t)(missing < UINT32_MAX ? missing : UINT32_MAX),
                                  (uint32_t)ng, keys[a].i};
            ng++;
        }
    }
    stopping_sum(keys, sv, ng, out);
    if (!sv)
        out->saved = NAN;
    free(sv);
    free(keys);
}

void results_stopping_write(jsonw *w, const results_ctx *c)
{
    jsonw_key(w, "adaptive_stopping");
    if (!c->s || !c->s->stop.enabled) {
        jsonw_null(w);
        return;
    }
    stop_saving sv;
    stopping_compute(c, &sv);
    jsonw_begin_obj(w);
    jsonw_knum(w, "target_rel_ci", c->s->stop.target_rel_ci);
    jsonw_kint(w, "min_repetitions", c->s->stop.min_repetitions);
    jsonw_kint(w, "trials_not_run", sv.not_run);
    jsonw_knum(w, "saving_server_seconds", sv.saved / 1000.0);
    jsonw_kstr(w, "method",
               "per cell: (repetitions - trials run) x the cell's mean measured request "
               "time (total, else ttft) per trial, against the fixed design");
    jsonw_end_obj(w);
}
