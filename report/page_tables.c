/* page_tables.c - the table pages: per-cell summaries, models with their
 * coefficients, intervals and choice, tests and p-values (speedup, overhead,
 * sessions), and failures and contaminated trials.
 */
#include "report/pages.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/fmt.h"
#include "report/table.h"

static int cmp_long(long a, long b)
{
    return (a > b) - (a < b);
}

static int cell_cmp(const void *pa, const void *pb)
{
    const rr_cell *a = *(const rr_cell *const *)pa, *b = *(const rr_cell *const *)pb;
    int c = cmp_long(a->system_prompt_tokens, b->system_prompt_tokens);
    if (!c)
        c = cmp_long(a->query_tokens, b->query_tokens);
    if (!c)
        c = cmp_long(a->query_count, b->query_count);
    if (!c)
        c = cmp_long(a->turn, b->turn);
    if (!c)
        c = cmp_long(a->warm, b->warm);
    return c;
}

/* The heading of one target's table or block: lead, then the target's name. */
static void target_heading(rdoc *d, const char *lead, const char *name, double keep)
{
    char title[200];
    snprintf(title, sizeof title, "%s%s", lead, name);
    doc_heading(d, title, keep);
}

static void cells_table(rdoc *d, const rr_results *r, size_t ti)
{
    const rr_target *t = &r->targets[ti];
    target_heading(d, "Per-cell summaries: ", t->name, 60);
    static const table_col cols[] = {{"System prompt (tokens)", 1.0, 1},
                                     {"Query (tokens) × count, turn", 1.1, 1},
                                     {"Mode", 0.75, 0},
                                     {"n", 0.45, 1},
                                     {"Mean (ms) [95% CI]", 2.0, 1},
                                     {"Median (ms) [95% CI]", 1.9, 1},
                                     {"p90 (ms)", 0.8, 1},
                                     {"p99 (ms)", 0.8, 1},
                                     {"CV", 0.9, 1},
                                     {"Outliers mild / severe; stalls", 1.0, 1},
                                     {"Lag-1 r", 0.85, 1},
                                     {"Contam.", 1.05, 1}};
    table tb;
    table_begin(&tb, d, cols, 12, 7);
    /* Rows in a reader's order (length, query, count, turn, mode), not the
     * order results.json lists them in. */
    const rr_cell **order = malloc((t->n_cells + 1) * sizeof *order);
    if (!order)
        return;
    for (size_t i = 0; i < t->n_cells; i++)
        order[i] = &t->cells[i];
    qsort(order, t->n_cells, sizeof *order, cell_cmp);
    for (size_t i = 0; i < t->n_cells; i++) {
        const rr_cell *c = order[i];
        char q[112], qt[32], qc[32];
        fmt_long(c->query_tokens, qt, sizeof qt);
        fmt_long(c->query_count, qc, sizeof qc);
        if (c->query_count > 1 && c->turn > 0)
            snprintf(q, sizeof q, "%s × %s, #%ld", qt, qc, c->turn);
        else
            snprintf(q, sizeof q, "%s × %s", qt, qc);
        char L[32], n[32], mean[160], med[160], p90[32], p99[32], cv[32], out[96], lag[32], con[32],
            a[32], b[32];
        fmt_long(c->system_prompt_tokens, L, sizeof L);
        fmt_long(c->n, n, sizeof n);
        fmt_est(&c->mean, 1, "", mean, sizeof mean);
        fmt_est(c->typical.present ? &c->typical : &c->median, 1, "", med, sizeof med);
        fmt_num(c->p90, p90, sizeof p90);
        fmt_num(c->p99, p99, sizeof p99);
        fmt_num(c->cv, cv, sizeof cv);
        snprintf(out, sizeof out, "%s / %s", fmt_long(c->mild, a, sizeof a),
                 fmt_long(c->severe, b, sizeof b));
        if (c->stalls > 0) {
            size_t len = strlen(out);
            snprintf(out + len, sizeof out - len, "; %ld stall%s (up to %.0f×)", c->stalls,
                     c->stalls == 1 ? "" : "s", c->stall_max_ratio);
        }
        fmt_num(c->lag1, lag, sizeof lag);
        fmt_long(c->contaminated, con, sizeof con);
        const char *cells[] = {L,   q,  c->warm ? "warm" : "cold", n, mean, med, p90, p99, cv, out,
                               lag, con};
        rgb colours[12];
        for (int k = 0; k < 12; k++)
            colours[k] = DOC_BLACK;
        colours[2] = pages_colour(ti, c->warm);
        table_row(&tb, cells, colours, 0);
    }
    free(order);
    table_end(&tb);
}

static void model_block(rdoc *d, const char *what, const rr_model *m)
{
    char b[1024];
    if (!m->present) {
        snprintf(b, sizeof b, "%s: no model%s%s.", what, m->note[0] ? " — " : "", m->note);
        doc_paragraph(d, 0, 8, d->left, d->right - d->left, DOC_GREY, b);
        d->y += 4;
        return;
    }
    char n[32];
    snprintf(b, sizeof b, "%s (n = %s): chosen %s. %s", what, fmt_long(m->n, n, sizeof n),
             m->chosen, m->why);
    doc_ensure(d, 60);
    doc_paragraph(d, 1, 8, d->left, d->right - d->left, DOC_BLACK, b);
    for (size_t i = 0; i < m->n_rejected; i++) {
        snprintf(b, sizeof b, "Rejected %s", m->rejected[i]);
        doc_paragraph(d, 0, 7.5, d->left, d->right - d->left, DOC_GREY, b);
    }
    d->y += 3;
    static const table_col cols[] = {{"Model", 1.3, 0},
                                     {"Coef.", 0.6, 0},
                                     {"Value [95% CI]", 2.5, 1},
                                     {"Unit", 1.25, 0},
                                     {"R²", 0.8, 1},
                                     {"Resid. SD (ms)", 0.9, 1},
                                     {"AICc / robust AIC", 0.7, 1},
                                     {"Unequal var. p", 1.0, 1},
                                     {"Normality p", 1.0, 1},
                                     {"Lag-1", 0.8, 1}};
    table tb;
    table_begin(&tb, d, cols, 10, 7);
    for (size_t f = 0; f < m->n_fits; f++) {
        const rr_fit *fit = &m->fits[f];
        int chosen = strcmp(fit->model, m->chosen) == 0;
        for (size_t k = 0; k < fit->n_coefs || k == 0; k++) {
            char val[160] = "", r2[32] = "", sd[32] = "", aicc[32] = "", het[32] = "", nor[32] = "",
                 lag[32] = "", model[96] = "";
            const rr_coef *c = k < fit->n_coefs ? &fit->coefs[k] : NULL;
            if (c) {
                rr_est e = {1, {c->value, c->lo, c->hi, !isnan(c->lo), NAN, 0}, "", ""};
                fmt_est(&e, 1, "", val, sizeof val);
            }
            if (k == 0) {
                snprintf(model, sizeof model, "%s%s", fit->model, chosen ? " (chosen)" : "");
                fmt_num(fit->r_squared, r2, sizeof r2);
                fmt_num(fit->residual_sd, sd, sizeof sd);
                fmt_num(isfinite(fit->robust_aic) ? fit->robust_aic : fit->aicc, aicc, sizeof aicc);
                fmt_p(fit->heteroscedasticity_p, het, sizeof het);
                fmt_p(fit->normality_p, nor, sizeof nor);
                fmt_num(fit->lag1, lag, sizeof lag);
            }
            const char *cells[] = {
                model, c ? c->name : "", val, c ? c->unit : "", r2, sd, aicc, het, nor, lag};
            table_row(&tb, cells, NULL, chosen && k == 0);
        }
    }
    table_end(&tb);
    if (m->prefill_ms_per_token.present) {
        char a[200], c[200];
        fmt_est(&m->prefill_ms_per_token, 1, " ms/token", a, sizeof a);
        fmt_est(&m->prefill_tokens_per_second, 1, " tokens/s", c, sizeof c);
        snprintf(b, sizeof b, "Prefill cost %s; throughput %s (%s).", a, c,
                 m->prefill_ms_per_token.method);
        doc_paragraph(d, 0, 8, d->left, d->right - d->left, DOC_BLACK, b);
        d->y += 4;
    }
}

static void tests_tables(rdoc *d, const rr_results *r, size_t ti)
{
    const rr_target *t = &r->targets[ti];
    target_heading(d, "Tests: warm vs cold, ", t->name, 60);
    static const table_col cols[] = {{"System prompt (tokens)", 1.0, 1},
                                     {"Query (tokens)", 0.8, 1},
                                     {"Speedup [95% CI]", 2.0, 1},
                                     {"Test", 1.5, 0},
                                     {"p", 0.95, 1},
                                     {"p (Holm)", 0.95, 1},
                                     {"Cold − warm (ms), Hodges–Lehmann [95% CI]", 2.6, 1},
                                     {"Overhead of the system prompt [95% CI]", 2.0, 1}};
    table tb;
    table_begin(&tb, d, cols, 8, 7);
    for (size_t i = 0; i < t->n_speedup; i++) {
        const rr_speedup *s = &t->speedup[i];
        char L[32], Q[32], sp[160], p[32], ph[32], hl[160], ov[160] = "—";
        fmt_long(s->system_prompt_tokens, L, sizeof L);
        fmt_long(s->query_tokens, Q, sizeof Q);
        fmt_est(&s->speedup, 1, "×", sp, sizeof sp);
        fmt_p(s->p_value, p, sizeof p);
        fmt_p(s->p_holm, ph, sizeof ph);
        fmt_est(&s->hodges_lehmann_ms, 1, "", hl, sizeof hl);
        for (size_t k = 0; k < t->n_overhead; k++)
            if (t->overhead[k].system_prompt_tokens == s->system_prompt_tokens &&
                t->overhead[k].query_tokens == s->query_tokens) {
                const rr_est *e = &t->overhead[k].estimate;
                if (e->present && !isnan(e->est.value)) {
                    char v[64], ci[128];
                    snprintf(ov, sizeof ov, "%s %%%s%s", fmt_num(100 * e->est.value, v, sizeof v),
                             isnan(e->est.lo) ? "" : " ",
                             fmt_ci(e->est.lo, e->est.hi, 100, ci, sizeof ci));
                } else {
                    fmt_est(e, 100, " %", ov, sizeof ov);
                }
            }
        const char *cells[] = {L, Q, sp, s->test, p, ph, hl, ov};
        table_row(&tb, cells, NULL, 0);
    }
    table_end(&tb);
    for (size_t i = 0; i < t->n_sessions; i++) {
        const rr_session *s = &t->sessions[i];
        char q[32], a[160], b[160], c[160], e[160], th[32], buf[1024];
        snprintf(buf, sizeof buf,
                 "Session of %s queries: cold total %s ms, warm total %s ms, measured speedup %s, "
                 "model projection %s, seed arithmetic %s×.",
                 fmt_long(s->query_count, q, sizeof q),
                 fmt_est(&s->cold_total_ms, 1, "", a, sizeof a),
                 fmt_est(&s->warm_total_ms, 1, "", b, sizeof b),
                 fmt_est(&s->measured_speedup, 1, "×", c, sizeof c),
                 fmt_est(&s->projected_speedup, 1, "×", e, sizeof e),
                 fmt_num(s->theoretical_speedup, th, sizeof th));
        doc_paragraph(d, 0, 8, d->left, d->right - d->left, DOC_BLACK, buf);
    }
    d->y += 4;
}

static void failures_table(rdoc *d, const rr_results *r)
{
    doc_heading(d, "Failures and contaminated trials", 40);
    char a[32], b[32], c[32], e[32], buf[512];
    snprintf(buf, sizeof buf,
             "%s trials failed; %s were contaminated (a cold request that found its prompt "
             "cached; kept and flagged, see the Contam. column); %s cached-token counts were "
             "inferred rather than reported; %s warm-up requests were excluded.",
             fmt_long(r->failed, a, sizeof a), fmt_long(r->contaminated, b, sizeof b),
             fmt_long(r->inferred, c, sizeof c), fmt_long(r->warmup, e, sizeof e));
    doc_paragraph(d, 0, 8, d->left, d->right - d->left, DOC_BLACK, buf);
    d->y += 3;
    if (r->n_failures == 0)
        return;
    static const table_col cols[] = {
        {"Trial", 2.4, 0}, {"Target", 1.2, 0}, {"Attempts", 1.0, 1}, {"Reason", 4.4, 0}};
    table tb;
    table_begin(&tb, d, cols, 4, 7.5);
    for (size_t i = 0; i < r->n_failures; i++) {
        const rr_failure *f = &r->failures[i];
        char at[32];
        const char *cells[] = {f->trial, f->target, fmt_long(f->attempts, at, sizeof at),
                               f->reason};
        table_row(&tb, cells, NULL, 0);
    }
    table_end(&tb);
    if (r->failures_truncated)
        doc_paragraph(d, 0, 7.5, d->left, d->right - d->left, DOC_GREY,
                      "Only the first 200 failures are listed; the journal holds all.");
}

void page_tables(rdoc *d, const rr_results *r, int questions)
{
    doc_new_page(d);
    if (questions)
        page_summary_questions(d, r);
    for (size_t t = 0; t < r->n_targets; t++)
        cells_table(d, r, t);
    for (size_t t = 0; t < r->n_targets; t++) {
        target_heading(d, "Models of time to first token: ", r->targets[t].name, 80);
        model_block(d, "Cold TTFT against prompt tokens", &r->targets[t].cold_ttft);
        model_block(d, "Warm TTFT against prompt tokens", &r->targets[t].warm_ttft);
        model_block(d, "Server-reported cold prefill time", &r->targets[t].cold_server_prefill);
    }
    for (size_t t = 0; t < r->n_targets; t++)
        tests_tables(d, r, t);
    failures_table(d, r);
}
