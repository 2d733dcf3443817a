/* page_figures.c - the figure pages: time to first token against prompt
 * tokens (linear and log axes), speedup per system-prompt length, the
 * session picture, residuals (against prompt tokens and run order) and
 * per-cell box plots. Several targets overlay in one figure each.
 */
#include "report/pages.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/fmt.h"

#define THIN_ABOVE 2000 /* points per figure above which thinning starts */
#define THIN_PT 0.5

/* Plot geometry: the area right of the y labels, full content width. */
static void area(const rdoc *d, double *x, double *w)
{
    *x = d->left + 52;
    *w = d->right - *x - 4;
}

static size_t total_points(const rr_results *r)
{
    size_t n = 0;
    for (size_t t = 0; t < r->n_targets; t++)
        n += r->targets[t].n_points;
    return n;
}

static void caption(rdoc *d, double y, const char *s)
{
    double keep = d->y;
    d->y = y;
    doc_paragraph(d, 0, 7.5, d->left, d->right - d->left, DOC_GREY, s);
    if (d->y < keep)
        d->y = keep;
}

/* Draws a model's bands and curve. */
static void draw_model(plot *p, const rr_model *m, rgb c, int with_pi)
{
    if (!m->present || m->n_curve < 2)
        return;
    size_t n = m->n_curve;
    double *buf = malloc(6 * n * sizeof *buf);
    if (!buf)
        return;
    double *x = buf, *mean = buf + n, *cl = buf + 2 * n, *ch = buf + 3 * n, *pl = buf + 4 * n,
           *ph = buf + 5 * n;
    for (size_t i = 0; i < n; i++) {
        x[i] = m->curve[i].x;
        mean[i] = m->curve[i].mean;
        cl[i] = m->curve[i].ci_lo;
        ch[i] = m->curve[i].ci_hi;
        pl[i] = m->curve[i].pi_lo;
        ph[i] = m->curve[i].pi_hi;
    }
    if (with_pi)
        plot_band(p, x, pl, ph, n, c, 1);
    plot_band(p, x, cl, ch, n, c, 0);
    plot_line(p, x, mean, n, c, 1.3, 0);
    free(buf);
}

/* Points of one target and mode into xs/ys (caller frees). */
static size_t collect(const rr_target *t, int warm, double **xs, double **ys)
{
    *xs = malloc((t->n_points + 1) * sizeof **xs);
    *ys = malloc((t->n_points + 1) * sizeof **ys);
    size_t n = 0;
    if (!*xs || !*ys)
        return 0;
    for (size_t i = 0; i < t->n_points; i++)
        if (t->points[i].warm == warm) {
            (*xs)[n] = t->points[i].x;
            (*ys)[n] = t->points[i].y;
            n++;
        }
    return n;
}

static void ttft_figure(rdoc *d, const rr_results *r, int logscale, double y, double h,
                        const char *name, const char *title, const char *fig)
{
    double lox = INFINITY, hix = -INFINITY, loy = INFINITY, hiy = -INFINITY;
    for (size_t t = 0; t < r->n_targets; t++)
        for (size_t i = 0; i < r->targets[t].n_points; i++) {
            const rr_point *q = &r->targets[t].points[i];
            if (logscale && (q->x <= 0 || q->y <= 0))
                continue;
            lox = fmin(lox, q->x);
            hix = fmax(hix, q->x);
            loy = fmin(loy, q->y);
            hiy = fmax(hiy, q->y);
        }
    plot_axis xa = {logscale ? PLOT_LOG : PLOT_LINEAR, 0, 0, "prompt tokens (tokens)", NULL, 0};
    plot_axis ya = {logscale ? PLOT_LOG : PLOT_LINEAR, 0, 0, "time to first token (ms)", NULL, 0};
    plot_nice_range(&xa, lox, hix, 1);
    plot_nice_range(&ya, loy, hiy, 1);
    double x, w;
    area(d, &x, &w);
    plot p;
    plot_begin(&p, d, name, x, y, w, h, &xa, &ya);
    plot_title(&p, title);
    int thin = total_points(r) > THIN_ABOVE;
    size_t drawn = 0, total = 0;
    plot_clip_begin(&p);
    for (size_t t = 0; t < r->n_targets; t++) {
        draw_model(&p, &r->targets[t].cold_ttft, pages_colour(t, 0), !logscale);
        draw_model(&p, &r->targets[t].warm_ttft, pages_colour(t, 1), !logscale);
    }
    for (size_t t = 0; t < r->n_targets; t++)
        for (int warm = 0; warm < 2; warm++) {
            double *xs = NULL, *ys = NULL;
            size_t n = collect(&r->targets[t], warm, &xs, &ys);
            total += n;
            drawn += plot_markers(&p, pages_marker(t, warm), 1, 3.6, pages_colour(t, warm), xs, ys,
                                  n, thin ? THIN_PT : 0);
            free(xs);
            free(ys);
        }
    plot_clip_end(&p);
    plot_legend_item items[16];
    char labels[16][160];
    int n = 0;
    for (size_t t = 0; t < r->n_targets && n < 12; t++) {
        char tl[96];
        pages_target_label(r, t, tl, sizeof tl);
        for (int warm = 0; warm < 2; warm++) {
            const rr_model *m = warm ? &r->targets[t].warm_ttft : &r->targets[t].cold_ttft;
            snprintf(labels[n], sizeof labels[n], "%s%s%s, %s model", r->n_targets > 1 ? tl : "",
                     r->n_targets > 1 ? ": " : "", warm ? "warm" : "cold",
                     m->present ? m->chosen : "no");
            items[n] =
                (plot_legend_item){labels[n], pages_colour(t, warm), 0, pages_marker(t, warm), 1};
            n++;
        }
    }
    snprintf(labels[n], sizeof labels[n], "model curve");
    items[n] = (plot_legend_item){labels[n], DOC_GREY, 1, MARK_CIRCLE, 1};
    n++;
    snprintf(labels[n], sizeof labels[n], "%s",
             logscale ? "95% mean band" : "95% mean band (dark), prediction band (light)");
    items[n] = (plot_legend_item){labels[n], DOC_GREY, 2, MARK_CIRCLE, 1};
    n++;
    plot_legend(&p, items, n, 0);
    char cap[512];
    char thin_note[200] = "";
    if (thin && drawn < total)
        snprintf(thin_note, sizeof thin_note,
                 " With %zu requests, markers falling on the same 0.5 pt spot are drawn once "
                 "(%zu markers drawn); the tables hold every number.",
                 total, drawn);
    snprintf(cap, sizeof cap,
             "%s Every request is a point (n = %zu; cold = no cached prefix, warm = system "
             "prompt cached). Curves: the model chosen per mode (see Models) with its 95%% "
             "confidence band for the mean%s.%s",
             fig, total,
             logscale ? " (the prediction band is left out on log axes, where its lower edge "
                        "reaches zero; see Figure 1)"
                      : " and 95% prediction band for a single request",
             thin_note);
    caption(d, y + h + 32, cap);
}

static void speedup_figure(rdoc *d, const rr_results *r, double y, double h)
{
    /* Categories: distinct system-prompt lengths over all targets, sorted. */
    long lens[64];
    int nl = 0;
    for (size_t t = 0; t < r->n_targets; t++)
        for (size_t i = 0; i < r->targets[t].n_speedup; i++) {
            long L = r->targets[t].speedup[i].system_prompt_tokens;
            int k = 0;
            while (k < nl && lens[k] != L)
                k++;
            if (k == nl && nl < 64)
                lens[nl++] = L;
        }
    for (int i = 1; i < nl; i++)
        for (int j = i; j > 0 && lens[j - 1] > lens[j]; j--) {
            long tmp = lens[j];
            lens[j] = lens[j - 1];
            lens[j - 1] = tmp;
        }
    char labs[64][24];
    const char *cats[64];
    for (int i = 0; i < nl; i++) {
        snprintf(labs[i], sizeof labs[i], "%ld", lens[i]);
        cats[i] = labs[i];
    }
    double lo = 0.8, hi = 1.25;
    for (size_t t = 0; t < r->n_targets; t++)
        for (size_t i = 0; i < r->targets[t].n_speedup; i++) {
            const rr_est *e = &r->targets[t].speedup[i].speedup;
            double a = isnan(e->lo) ? e->value : e->lo, b = isnan(e->hi) ? e->value : e->hi;
            if (a > 0)
                lo = fmin(lo, a);
            if (b > 0)
                hi = fmax(hi, b);
        }
    plot_axis xa = {PLOT_CATEGORY, 0, 0, "system prompt length (tokens)", cats, nl};
    plot_axis ya = {PLOT_LOG, 0, 0, "speedup, cold ÷ warm TTFT (×)", NULL, 0};
    plot_nice_range(&xa, 0, 0, 0);
    plot_nice_range(&ya, lo, hi * 1.3, 0);
    double x, w;
    area(d, &x, &w);
    plot p;
    plot_begin(&p, d, "speedup", x, y, w, h, &xa, &ya);
    plot_title(&p, "Figure 3. Warm-vs-cold speedup per system-prompt length");
    plot_hline(&p, 1, DOC_GREY, 0.8, 1);
    plot_legend_item items[8];
    char labels[8][128];
    int ni = 0;
    for (size_t t = 0; t < r->n_targets; t++) {
        double off = r->n_targets > 1 ? ((double)t - (r->n_targets - 1) / 2.0) * 0.18 : 0;
        rgb c = pages_colour(t, 1);
        for (size_t i = 0; i < r->targets[t].n_speedup; i++) {
            const rr_speedup *s = &r->targets[t].speedup[i];
            int k = 0;
            while (k < nl && lens[k] != s->system_prompt_tokens)
                k++;
            double cx = k + 1 + off;
            plot_whisker(&p, cx, s->speedup.lo, s->speedup.hi, 4, c, 1.0);
            double xs[1] = {cx}, ys[1] = {s->speedup.value};
            plot_markers(&p, pages_marker(t, 1), 1, 5, c, xs, ys, 1, 0);
            if (isnan(s->speedup.value))
                doc_text(d, 0, 7, plot_px(&p, cx), d->ph - plot_py(&p, 1) - 5, 2, DOC_GREY, "n/a");
            if (!isnan(s->speedup.value) && s->speedup.value > 0) {
                char v[64], num[48];
                snprintf(v, sizeof v, "%s×", rfmt_num(s->speedup.value, num, sizeof num));
                double top = isnan(s->speedup.hi) ? s->speedup.value : s->speedup.hi;
                doc_text(d, 1, 7, plot_px(&p, cx) + 6, d->ph - plot_py(&p, top) + 4, 0, c, v);
            }
        }
        if (ni < 8) {
            char tl[96];
            snprintf(labels[ni], sizeof labels[ni], "%s speedup with 95%% CI",
                     pages_target_label(r, t, tl, sizeof tl));
            items[ni] = (plot_legend_item){labels[ni], c, 0, pages_marker(t, 1), 1};
            ni++;
        }
    }
    snprintf(labels[ni], sizeof labels[ni], "1× = no speedup");
    items[ni++] = (plot_legend_item){labels[ni - 1], DOC_GREY, 3, MARK_CIRCLE, 1};
    plot_legend(&p, items, ni, 0);
    caption(d, y + h + 32,
            "Figure 3 caption: speedup = cold TTFT ÷ warm TTFT (ratio of geometric means over "
            "paired trials) with its 95% confidence interval; log scale. A point above the "
            "dashed line means the cache made the first token arrive sooner.");
}

static void session_figure(rdoc *d, const rr_results *r, double y, double h)
{
    double hi = 0;
    long qmax = 1;
    for (size_t t = 0; t < r->n_targets; t++)
        if (r->targets[t].n_sessions) {
            const rr_session *s = &r->targets[t].sessions[0];
            qmax = s->query_count > qmax ? s->query_count : qmax;
            for (size_t i = 0; i < s->n_cum_cold; i++)
                hi = fmax(hi, isnan(s->cum_cold[i].estimate.hi) ? s->cum_cold[i].estimate.value
                                                                : s->cum_cold[i].estimate.hi);
            for (size_t i = 0; i < s->n_proj_cold; i++)
                hi = fmax(hi, s->proj_cold[i].estimate.hi);
        }
    int have = 0;
    for (size_t t = 0; t < r->n_targets; t++)
        have |= r->targets[t].n_sessions > 0;
    if (!have) {
        double x0, w0;
        area(d, &x0, &w0);
        plot_empty(d, "session", x0, y, w0, h, "Figure 4. Session picture",
                   "results.json holds no session data (no sessions were computed)");
        return;
    }
    plot_axis xa = {PLOT_LINEAR, 0, 0, "query number in the session", NULL, 0};
    plot_axis ya = {PLOT_LINEAR, 0, 0, "cumulative time to first token (s)", NULL, 0};
    plot_nice_range(&xa, 0, (double)qmax, 1);
    plot_nice_range(&ya, 0, hi / 1000.0, 1);
    double x, w;
    area(d, &x, &w);
    plot p;
    plot_begin(&p, d, "session", x, y, w, h, &xa, &ya);
    char title[160];
    snprintf(title, sizeof title, "Figure 4. A %ld-query session with one system prompt", qmax);
    plot_title(&p, title);
    plot_legend_item items[12];
    char labels[12][128];
    int ni = 0;
    int any = 0;
    for (size_t t = 0; t < r->n_targets; t++) {
        if (!r->targets[t].n_sessions)
            continue;
        any = 1;
        const rr_session *s = &r->targets[t].sessions[0];
        for (int warm = 0; warm < 2; warm++) {
            const rr_cum *proj = warm ? s->proj_warm : s->proj_cold;
            size_t np = warm ? s->n_proj_warm : s->n_proj_cold;
            const rr_cum *cum = warm ? s->cum_warm : s->cum_cold;
            size_t nc = warm ? s->n_cum_warm : s->n_cum_cold;
            rgb c = pages_colour(t, warm);
            double px[256], pm[256], pl[256], ph[256];
            size_t m = 0;
            for (size_t i = 0; i < np && m < 256; i++, m++) {
                px[m] = (double)proj[i].query;
                pm[m] = proj[i].estimate.value / 1000;
                pl[m] = proj[i].estimate.lo / 1000;
                ph[m] = proj[i].estimate.hi / 1000;
            }
            plot_band(&p, px, pl, ph, m, c, 1);
            plot_line(&p, px, pm, m, c, 1.1, 1);
            for (size_t i = 0; i < nc; i++) {
                double qx = (double)cum[i].query;
                plot_whisker(&p, qx, cum[i].estimate.lo / 1000, cum[i].estimate.hi / 1000, 2.5, c,
                             0.8);
                double xs[1] = {qx}, ys[1] = {cum[i].estimate.value / 1000};
                plot_markers(&p, pages_marker(t, warm), 1, 4.2, c, xs, ys, 1, 0);
            }
            if (nc) {
                char v[96], num[48];
                snprintf(v, sizeof v, "%s s",
                         rfmt_num(cum[nc - 1].estimate.value / 1000, num, sizeof num));
                doc_text(d, 1, 7.5, plot_px(&p, (double)cum[nc - 1].query) - 8,
                         d->ph - plot_py(&p, cum[nc - 1].estimate.value / 1000) - 6, 1, c, v);
            }
            if (ni < 10) {
                char tl[96];
                snprintf(labels[ni], sizeof labels[ni], "%s%s%s measured (95%% CI)",
                         r->n_targets > 1 ? pages_target_label(r, t, tl, sizeof tl) : "",
                         r->n_targets > 1 ? ": " : "", warm ? "warm (cache)" : "cold (no cache)");
                items[ni] = (plot_legend_item){labels[ni], c, 0, pages_marker(t, warm), 1};
                ni++;
            }
        }
    }
    snprintf(labels[ni], sizeof labels[ni], "model projection (dashed) and its band");
    items[ni] = (plot_legend_item){labels[ni], DOC_GREY, 3, MARK_CIRCLE, 1};
    ni++;
    if (any)
        plot_legend(&p, items, ni, 0);
    char cap[512] = "Figure 4 caption: cumulative time to first token over the queries of one "
                    "session. Cold: every query pays for the whole system prompt; warm: the "
                    "first query fills the cache, later queries reuse it. Points: measured, "
                    "with 95% intervals; dashed: the fitted model's projection.";
    if (any && r->targets[0].n_sessions) {
        const rr_session *s = &r->targets[0].sessions[0];
        char a[48], b[48];
        size_t len = strlen(cap);
        snprintf(cap + len, sizeof cap - len,
                 " Measured session speedup %s×; the seed's arithmetic (first cold, then warm) "
                 "predicts %s×.",
                 rfmt_num(s->measured_speedup.value, a, sizeof a),
                 rfmt_num(s->theoretical_speedup, b, sizeof b));
    }
    caption(d, y + h + 32, cap);
}

static void residual_figure(rdoc *d, const rr_results *r, int by_order, double y, double h)
{
    double lox = INFINITY, hix = -INFINITY, lo = INFINITY, hi = -INFINITY;
    size_t total = 0;
    for (size_t t = 0; t < r->n_targets; t++)
        for (int warm = 0; warm < 2; warm++) {
            const rr_model *m = warm ? &r->targets[t].warm_ttft : &r->targets[t].cold_ttft;
            for (size_t i = 0; m->present && i < m->n_residuals; i++) {
                double xv = by_order ? m->residuals[i].order : m->residuals[i].x;
                if (isnan(xv) || isnan(m->residuals[i].residual))
                    continue;
                lox = fmin(lox, xv);
                hix = fmax(hix, xv);
                lo = fmin(lo, m->residuals[i].residual);
                hi = fmax(hi, m->residuals[i].residual);
                total++;
            }
        }
    if (total == 0) {
        double x0, w0;
        area(d, &x0, &w0);
        plot_empty(d, by_order ? "residuals_order" : "residuals_tokens", x0, y, w0, h,
                   by_order ? "Figure 6. Residuals against run order"
                            : "Figure 5. Residuals against prompt tokens",
                   "no model was fitted, so there are no residuals (see Models)");
        return;
    }
    double mag = fmax(fabs(lo), fabs(hi));
    plot_axis xa = {
        PLOT_LINEAR,
        0,
        0,
        by_order ? "run order (position in the randomised run)" : "prompt tokens (tokens)",
        NULL,
        0};
    plot_axis ya = {PLOT_LINEAR, 0, 0, "residual, measured − model (ms)", NULL, 0};
    plot_nice_range(&xa, lox, hix, !by_order);
    plot_nice_range(&ya, -mag, mag, 0);
    double x, w;
    area(d, &x, &w);
    plot p;
    plot_begin(&p, d, by_order ? "residuals_order" : "residuals_tokens", x, y, w, h, &xa, &ya);
    plot_title(&p, by_order ? "Figure 6. Residuals against run order"
                            : "Figure 5. Residuals against prompt tokens");
    plot_hline(&p, 0, DOC_GREY, 0.8, 0);
    plot_clip_begin(&p);
    int thin = total > THIN_ABOVE;
    plot_legend_item items[8];
    char labels[8][128];
    int ni = 0;
    for (size_t t = 0; t < r->n_targets; t++)
        for (int warm = 0; warm < 2; warm++) {
            const rr_model *m = warm ? &r->targets[t].warm_ttft : &r->targets[t].cold_ttft;
            if (!m->present || m->n_residuals == 0)
                continue;
            double *xs = malloc(m->n_residuals * sizeof *xs);
            double *ys = malloc(m->n_residuals * sizeof *ys);
            if (xs && ys) {
                for (size_t i = 0; i < m->n_residuals; i++) {
                    xs[i] = by_order ? m->residuals[i].order : m->residuals[i].x;
                    ys[i] = m->residuals[i].residual;
                }
                plot_markers(&p, pages_marker(t, warm), 1, 3.4, pages_colour(t, warm), xs, ys,
                             m->n_residuals, thin ? THIN_PT : 0);
            }
            free(xs);
            free(ys);
            if (ni < 8) {
                char tl[96];
                snprintf(labels[ni], sizeof labels[ni], "%s%s%s model (%s)",
                         r->n_targets > 1 ? pages_target_label(r, t, tl, sizeof tl) : "",
                         r->n_targets > 1 ? ": " : "", warm ? "warm" : "cold", m->chosen);
                items[ni] = (plot_legend_item){labels[ni], pages_colour(t, warm), 0,
                                               pages_marker(t, warm), 1};
                ni++;
            }
        }
    plot_clip_end(&p);
    if (ni)
        plot_legend(&p, items, ni, 1);
    char cap[600];
    snprintf(cap, sizeof cap, "%s%s",
             by_order ? "Figure 6 caption: residuals in the order the requests ran. A trend or "
                        "runs of same-sign residuals would mean drift (thermal, caching, "
                        "background load); the lag-1 autocorrelation is in the Models table."
                      : "Figure 5 caption: residuals of each chosen model against prompt tokens. "
                        "A funnel means unequal variance, a curve a missing term; the tests are "
                        "in the Models table.",
             thin ? " With this many requests, markers falling on the same 0.5 pt spot are "
                    "drawn once."
                  : "");
    caption(d, y + h + 32, cap);
}

static void box_figure(rdoc *d, const rr_results *r, double y, double h)
{
    long lens[64];
    int nl = 0;
    double lo = INFINITY, hi = -INFINITY;
    for (size_t t = 0; t < r->n_targets; t++)
        for (size_t i = 0; i < r->targets[t].n_cells; i++) {
            const rr_cell *c = &r->targets[t].cells[i];
            int k = 0;
            while (k < nl && lens[k] != c->system_prompt_tokens)
                k++;
            if (k == nl && nl < 64)
                lens[nl++] = c->system_prompt_tokens;
            if (c->min > 0)
                lo = fmin(lo, c->min);
            if (!isnan(c->max))
                hi = fmax(hi, c->max);
        }
    for (int i = 1; i < nl; i++)
        for (int j = i; j > 0 && lens[j - 1] > lens[j]; j--) {
            long tmp = lens[j];
            lens[j] = lens[j - 1];
            lens[j - 1] = tmp;
        }
    char labs[64][24];
    const char *cats[64];
    for (int i = 0; i < nl; i++) {
        snprintf(labs[i], sizeof labs[i], "%ld", lens[i]);
        cats[i] = labs[i];
    }
    plot_axis xa = {PLOT_CATEGORY, 0, 0, "system prompt length (tokens)", cats, nl};
    plot_axis ya = {PLOT_LOG, 0, 0, "time to first token (ms)", NULL, 0};
    plot_nice_range(&xa, 0, 0, 0);
    plot_nice_range(&ya, lo, hi, 0);
    double x, w;
    area(d, &x, &w);
    plot p;
    plot_begin(&p, d, "boxplots", x, y, w, h, &xa, &ya);
    plot_title(&p, "Figure 7. Distribution of time to first token per cell");
    size_t series = r->n_targets * 2;
    double slot = 0.8 / (double)(series ? series : 1);
    double half = fmin(14, slot * w / (nl ? nl : 1) * 0.35);
    plot_legend_item items[8];
    char labels[8][128];
    int ni = 0;
    for (size_t t = 0; t < r->n_targets; t++) {
        for (size_t i = 0; i < r->targets[t].n_cells; i++) {
            const rr_cell *c = &r->targets[t].cells[i];
            int k = 0;
            while (k < nl && lens[k] != c->system_prompt_tokens)
                k++;
            size_t sidx = t * 2 + (size_t)c->warm;
            double cx = k + 1 - 0.4 + slot * ((double)sidx + 0.5);
            plot_box(&p, cx, half, c->q1, c->median.value, c->q3, c->whisker_low, c->whisker_high,
                     c->outliers, c->n_outliers, pages_colour(t, c->warm));
        }
        for (int warm = 0; warm < 2 && ni < 8; warm++) {
            char tl[96];
            snprintf(labels[ni], sizeof labels[ni], "%s%s%s",
                     r->n_targets > 1 ? pages_target_label(r, t, tl, sizeof tl) : "",
                     r->n_targets > 1 ? ": " : "", warm ? "warm" : "cold");
            items[ni] = (plot_legend_item){labels[ni], pages_colour(t, warm), 2, MARK_CIRCLE, 1};
            ni++;
        }
    }
    plot_legend(&p, items, ni, 3);
    caption(d, y + h + 32,
            "Figure 7 caption: box = quartiles, thick line = median, whiskers = most extreme "
            "values within 1.5 IQR of the box (Tukey), open circles = outliers (kept, not "
            "removed). Log scale. Counts per cell are in the cell table.");
}

void pages_figures(rdoc *d, const rr_results *r)
{
    double h = 250;
    doc_new_page(d);
    double y = d->y + 14;
    ttft_figure(d, r, 0, y, h, "ttft_linear",
                "Figure 1. Time to first token against prompt length (linear axes)",
                "Figure 1 caption:");
    y += h + 92;
    ttft_figure(d, r, 1, y, h - 20, "ttft_log",
                "Figure 2. Time to first token against prompt length (log axes)",
                "Figure 2 caption:");
    doc_new_page(d);
    y = d->y + 14;
    speedup_figure(d, r, y, h);
    y += h + 92;
    session_figure(d, r, y, h - 20);
    doc_new_page(d);
    y = d->y + 14;
    residual_figure(d, r, 0, y, h);
    y += h + 92;
    residual_figure(d, r, 1, y, h - 20);
    doc_new_page(d);
    y = d->y + 14;
    box_figure(d, r, y, 320);
    d->y = y + 320 + 80;
}
