/* page_summary.c - page 1: title, date, targets and model, the verdict in
 * plain language with its numbers and intervals, the pre-registered
 * hypotheses, the seed's four questions, and (several targets) the
 * comparison that answers "which server should I use for this workload".
 */
#include "report/pages.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "report/fmt.h"
#include "report/table.h"

static rgb verdict_colour(const char *v)
{
    if (strcmp(v, "confirmed") == 0)
        return DOC_GREEN;
    if (strcmp(v, "refuted") == 0)
        return DOC_RED;
    return DOC_AMBER;
}

/* One headline tile: label, big value, interval line, explanation. */
static void tile(rdoc *d, double x, double y, double w, double h, const char *label,
                 const char *value, const char *ci, const char *expl)
{
    doc_fill_rect(d, x, y, w, h, (rgb){0.95, 0.97, 0.99});
    doc_stroke_rect(d, x, y, w, h, (rgb){0.75, 0.82, 0.90}, 0.6);
    doc_fill_rect(d, x, y, 3, h, DOC_BLUE);
    doc_text(d, 1, 7.5, x + 11, y + 13, 0, DOC_GREY, label);
    double fs = 18;
    while (fs > 9 && doc_width(d, 1, fs, value) > w - 14)
        fs -= 1;
    doc_text(d, 1, fs, x + 11, y + 35, 0, DOC_BLACK, value);
    double cs = 8, es = 7;
    while (cs > 5.5 && doc_width(d, 0, cs, ci) > w - 16)
        cs -= 0.25;
    while (es > 5.5 && doc_width(d, 0, es, expl) > w - 16)
        es -= 0.25;
    doc_text(d, 0, cs, x + 11, y + 45, 0, DOC_BLACK, ci);
    doc_text(d, 0, es, x + 11, y + 55, 0, DOC_GREY, expl);
}

static void tile_est(rdoc *d, double x, double y, double w, double h, const char *label,
                     const rr_est *e, double scale, const char *unit, const char *expl)
{
    char v[96], lo[64], hi[64], ci[200], num[64];
    if (e->present && !isnan(e->est.value))
        snprintf(v, sizeof v, "%s%s", fmt_num(e->est.value * scale, num, sizeof num), unit);
    else
        snprintf(v, sizeof v, "n/a");
    if (e->present && !isnan(e->est.lo) && !isnan(e->est.hi))
        snprintf(ci, sizeof ci, "%s%% CI [%s, %s]%s",
                 fmt_num(100 * (isnan(e->est.level) ? 0.95 : e->est.level), num, sizeof num),
                 fmt_num(e->est.lo * scale, lo, sizeof lo),
                 fmt_num(e->est.hi * scale, hi, sizeof hi), unit);
    else if (e->present && e->note[0])
        snprintf(ci, sizeof ci, "%s", e->note);
    else
        snprintf(ci, sizeof ci, "no interval");
    tile(d, x, y, w, h, label, v, ci, expl);
}

static void title_block(rdoc *d, const rr_results *r)
{
    char b[512];
    d->y += 6;
    doc_text(d, 1, 19, d->left, d->y + 18, 0, DOC_BLACK, "KV-cache validation report");
    d->y += 24;
    doc_text(d, 0, 11, d->left, d->y + 14, 0, DOC_GREY,
             "Does the prefix cache remove the cost of a long system prompt?");
    d->y += 26;
    snprintf(b, sizeof b, "Experiment “%s” · run %s · spec hash %s · seed %s",
             r->spec_name[0] ? r->spec_name : "unnamed", r->run_date[0] ? r->run_date : "n/a",
             r->spec_hash[0] ? r->spec_hash : "n/a", r->seed[0] ? r->seed : "n/a");
    doc_paragraph(d, 0, 8.5, d->left, d->right - d->left, DOC_BLACK, b);
    for (size_t i = 0; i < r->n_targets; i++) {
        const rr_target *t = &r->targets[i];
        const char *ver = "";
        const char *url = "";
        double scale = NAN;
        for (size_t k = 0; k < r->n_env_targets; k++)
            if (strcmp(r->env_targets[k].name, t->name) == 0) {
                ver = r->env_targets[k].server_version;
                url = r->env_targets[k].base_url;
                scale = r->env_targets[k].time_scale;
            }
        snprintf(b, sizeof b, "Target %s: %s server%s%s%s, model %s%s%s%s", t->name,
                 t->dialect[0] ? t->dialect : "unknown", ver[0] ? " " : "", ver,
                 t->simulated && !strstr(ver, "simulated") ? " (SIMULATED)" : "",
                 t->model[0] ? t->model : "n/a", url[0] ? " at " : "", url, "");
        doc_paragraph(d, 0, 8.5, d->left, d->right - d->left, DOC_BLACK, b);
        if (isfinite(scale) && scale != 1.0) {
            snprintf(b, sizeof b,
                     "Simulated time scale %.4g: the reference server ran its cost model %.3g "
                     "times faster than the server it models. Times are as measured (scaled); "
                     "ratios and fractions do not depend on the scale, up to HTTP overhead.",
                     scale, 1.0 / scale);
            doc_paragraph(d, 0, 8.5, d->left, d->right - d->left, DOC_RED, b);
        }
    }
    char c1[32], c2[32], c3[32], c4[32], c5[32];
    snprintf(b, sizeof b,
             "Trials: %s completed of %s planned, %s failed, %s contaminated, %s warm-up "
             "requests excluded.%s",
             fmt_long(r->completed, c1, sizeof c1), fmt_long(r->planned, c2, sizeof c2),
             fmt_long(r->failed, c3, sizeof c3), fmt_long(r->contaminated, c4, sizeof c4),
             fmt_long(r->warmup, c5, sizeof c5),
             r->partial ? " PARTIAL RUN: the run was interrupted; not every planned trial ran."
                        : "");
    doc_paragraph(d, r->partial, 8.5, d->left, d->right - d->left,
                  r->partial ? DOC_AMBER : DOC_BLACK, b);
    d->y += 8;
}

static void verdict_block(rdoc *d, const rr_results *r)
{
    char b[1024], tok[32];
    double w = d->right - d->left;
    double top = d->y;
    int lines = doc_lines(d, 1, 11, w - 24, r->summary[0] ? r->summary : "No verdict.");
    double h = 26 + lines * 11 * 1.35 + 8;
    doc_fill_rect(d, d->left, top, w, h, (rgb){0.93, 0.96, 0.99});
    doc_fill_rect(d, d->left, top, 4, h, DOC_BLUE);
    doc_text(d, 1, 9, d->left + 12, top + 15, 0, DOC_BLUE, "VERDICT");
    d->y = top + 20;
    doc_paragraph(d, 1, 11, d->left + 12, w - 24, DOC_BLACK,
                  r->summary[0] ? r->summary : "No verdict.");
    d->y = top + h + 8;
    fmt_long(r->v_system_prompt_tokens, tok, sizeof tok);
    double gap = 6, tw = (w - gap) / 2, th = 61;
    doc_ensure(d, 2 * th + gap + 10);
    double y = d->y;
    snprintf(b, sizeof b, "share of cold time to first token spent on a %s-token system prompt",
             tok);
    tile_est(d, d->left, y, tw, th, "SYSTEM-PROMPT OVERHEAD", &r->v_overhead, 100, " %", b);
    snprintf(b, sizeof b, "cold ÷ warm time to first token at %s tokens", tok);
    tile_est(d, d->left + tw + gap, y, tw, th, "WARM-VS-COLD SPEEDUP", &r->v_speedup, 1, "×", b);
    y += th + gap;
    tile_est(d, d->left, y, tw, th, "PREFILL COST", &r->v_prefill_ms, 1, " ms/token",
             "marginal time per prompt token without the cache");
    tile_est(d, d->left + tw + gap, y, tw, th, "PREFILL THROUGHPUT", &r->v_prefill_tps, 1,
             " tokens/s", "prompt tokens processed per second without the cache");
    d->y = y + th + 6;
    const char *m = r->v_speedup.present ? r->v_speedup.method : "";
    snprintf(b, sizeof b,
             "Intervals are %.0f%% confidence intervals unless another level is shown beside "
             "one (rank intervals from few values hold at the level they can reach). Speedup: "
             "%s. Overhead: %s. Prefill: %s.",
             100 * r->confidence_level, m[0] ? m : "n/a",
             r->v_overhead.method[0] ? r->v_overhead.method : "n/a",
             r->v_prefill_ms.method[0] ? r->v_prefill_ms.method : "n/a");
    doc_paragraph(d, 0, 7, d->left, w, DOC_GREY, b);
    if (r->recommendation[0]) {
        d->y += 4;
        doc_paragraph(d, 1, 9.5, d->left, w, DOC_GREEN, r->recommendation);
    }
    d->y += 4;
}

static void hypotheses_table(rdoc *d, const rr_results *r)
{
    if (r->n_hypotheses == 0)
        return;
    doc_heading(d, "Pre-registered hypotheses", 40);
    static const table_col cols[] = {{"ID", 0.5, 0},        {"Hypothesis", 2.85, 0},
                                     {"Criterion", 1.1, 0}, {"Estimate [95% CI]", 2.0, 0},
                                     {"Verdict", 1.75, 0},  {"Why", 1.6, 0}};
    table t;
    table_begin(&t, d, cols, 6, 8);
    for (size_t i = 0; i < r->n_hypotheses; i++) {
        const rr_hypothesis *h = &r->hypotheses[i];
        char est[256], v[64];
        fmt_est(&h->estimate, 1, "", est, sizeof est);
        snprintf(v, sizeof v, "%s", h->verdict[0] ? h->verdict : "n/a");
        for (char *p = v; *p; p++)
            if (*p >= 'a' && *p <= 'z')
                *p = (char)(*p - 'a' + 'A');
        const char *cells[] = {h->id, h->description, h->criterion, est, v, h->reason};
        rgb colours[] = {DOC_BLACK, DOC_BLACK, DOC_BLACK, DOC_BLACK, verdict_colour(h->verdict),
                         DOC_GREY};
        table_row(&t, cells, colours, 0);
    }
    table_end(&t);
}

static void questions_table(rdoc *d, const rr_results *r)
{
    if (r->n_questions == 0)
        return;
    doc_heading(d, "The four questions", 40);
    static const table_col cols[] = {
        {"#", 0.3, 0}, {"Question", 2.6, 0}, {"Answer", 4.0, 0}, {"Estimate [95% CI]", 2.0, 0}};
    table t;
    table_begin(&t, d, cols, 4, 8);
    for (size_t i = 0; i < r->n_questions; i++) {
        const rr_question *q = &r->questions[i];
        char id[32], est[256];
        fmt_long(q->id, id, sizeof id);
        if (q->estimate.present)
            fmt_est(&q->estimate, 1, "", est, sizeof est);
        else
            snprintf(est, sizeof est, "—");
        const char *cells[] = {id, q->question, q->answer, est};
        table_row(&t, cells, NULL, 0);
    }
    table_end(&t);
}

static void comparison_table(rdoc *d, const rr_results *r)
{
    if (r->n_comparison == 0)
        return;
    char tok[32], title[160];
    fmt_long(r->v_system_prompt_tokens, tok, sizeof tok);
    snprintf(title, sizeof title, "Which server for this workload? (system prompt %s tokens)", tok);
    doc_heading(d, title, 40);
    static const table_col cols[] = {{"Target", 1.6, 0},
                                     {"Cold TTFT (ms) [95% CI]", 2.0, 1},
                                     {"Warm TTFT (ms) [95% CI]", 2.0, 1},
                                     {"Speedup [95% CI]", 1.7, 1},
                                     {"Warm session total (ms) [95% CI]", 2.2, 1}};
    table t;
    table_begin(&t, d, cols, 5, 8);
    for (size_t i = 0; i < r->n_comparison; i++) {
        const rr_comparison *c = &r->comparison[i];
        char a[160], b[160], s[160], e[160];
        fmt_est(&c->cold_ttft_ms, 1, "", a, sizeof a);
        fmt_est(&c->warm_ttft_ms, 1, "", b, sizeof b);
        fmt_est(&c->speedup, 1, "×", s, sizeof s);
        fmt_est(&c->session_total_ms, 1, "", e, sizeof e);
        const char *cells[] = {c->target, a, b, s, e};
        table_row(&t, cells, NULL, 0);
    }
    table_end(&t);
}

/* Height the questions table will take (heading, header, rows). */
static double questions_height(rdoc *d, const rr_results *r)
{
    double w = d->right - d->left, h = 33 + 8 * 1.25 + 6;
    for (size_t i = 0; i < r->n_questions; i++) {
        const rr_question *q = &r->questions[i];
        int a = doc_lines(d, 0, 8, w * 2.6 / 8.9 - 6, q->question);
        int b = doc_lines(d, 0, 8, w * 4.0 / 8.9 - 6, q->answer);
        h += (a > b ? a : b) * 8 * 1.25 + 5;
    }
    return h + 40; /* and the closing note */
}

void page_summary_questions(rdoc *d, const rr_results *r)
{
    questions_table(d, r);
}

int page_summary(rdoc *d, const rr_results *r)
{
    doc_new_page(d);
    title_block(d, r);
    verdict_block(d, r);
    page_contention_verdict(d, r);
    comparison_table(d, r);
    hypotheses_table(d, r);
    /* Page 1 holds the verdict; the questions follow it only when they fit,
     * else they open the tables (no page of leftovers). */
    int deferred = d->y + questions_height(d, r) > d->bottom;
    if (!deferred)
        questions_table(d, r);
    d->y += 2;
    doc_paragraph(d, 0, 7, d->left, d->right - d->left, DOC_GREY,
                  "Every number in this report is read from results.json and can be checked "
                  "against the raw per-request data in the journal it names (Method, last "
                  "pages). TTFT = time to first token; cold = prompt not in the server's cache; "
                  "warm = system prompt already cached by an earlier identical request.");
    return deferred;
}
