/* page_contention.c - "How many sessions stay warm" (results.json's
 * contention section): the warm capacity of each target in words, hit rate
 * against agent count with Wilson intervals and the 90% / 50% lines,
 * median TTFT against agent count with rank intervals, and the hit-class
 * breakdown as stacked bars; and the one verdict sentence on page 1.
 *
 * Divided into: figure captions (numbered from report/figures.h); series
 * (target x system prompt length) and agent counts; the three figures; the
 * page; the page-1 sentence.
 */
#include "report/pages.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "report/draw.h"
#include "report/figures.h"
#include "report/fmt.h"
#include "report/table.h"

/* ---- figure captions ---------------------------------------------------- */

/* "Figure N. text" (caption 0) or "Figure N caption: text" (caption 1). */
static const char *fig_text(figures_id f, int caption, const char *text, char *out, size_t cap)
{
    snprintf(out, cap, caption ? "Figure %d caption: %s" : "Figure %d. %s", figures_number(f),
             text);
    return out;
}

/* ---- series and agent counts --------------------------------------------- */

#define MAX_SERIES 12
#define MAX_K 32

typedef struct series {
    const char *target;
    long sys;
} series;

typedef struct sweep {
    series s[MAX_SERIES];
    int ns;
    long k[MAX_K]; /* distinct agent counts, ascending */
    int nk;
    char labs[MAX_K][16];
    const char *cats[MAX_K];
} sweep;

static int series_of(const sweep *w, const rr_warm_group *g)
{
    for (int i = 0; i < w->ns; i++)
        if (strcmp(w->s[i].target, g->target) == 0 && w->s[i].sys == g->system_prompt_tokens)
            return i;
    return -1;
}

static int k_index(const sweep *w, long k)
{
    for (int i = 0; i < w->nk; i++)
        if (w->k[i] == k)
            return i;
    return -1;
}

static void sweep_of(const rr_contention *c, sweep *w)
{
    memset(w, 0, sizeof *w);
    for (size_t i = 0; i < c->n_groups; i++) {
        const rr_warm_group *g = &c->groups[i];
        if (series_of(w, g) < 0 && w->ns < MAX_SERIES)
            w->s[w->ns++] = (series){g->target, g->system_prompt_tokens};
        if (k_index(w, g->agents) < 0 && w->nk < MAX_K) {
            int j = w->nk++;
            for (; j > 0 && w->k[j - 1] > g->agents; j--)
                w->k[j] = w->k[j - 1];
            w->k[j] = g->agents;
        }
    }
    for (int i = 0; i < w->nk; i++) {
        snprintf(w->labs[i], sizeof w->labs[i], "%ld", w->k[i]);
        w->cats[i] = w->labs[i];
    }
}

/* "laptop" or "laptop, 550 tokens" when several lengths were swept. */
static const char *series_label(const sweep *w, int i, char *out, size_t cap)
{
    int lengths = 0;
    for (int j = 0; j < w->ns; j++)
        lengths += strcmp(w->s[j].target, w->s[i].target) == 0;
    if (lengths > 1)
        snprintf(out, cap, "%s, %ld tokens", w->s[i].target, w->s[i].sys);
    else
        snprintf(out, cap, "%s", w->s[i].target);
    return out;
}

static const rr_warm_capacity *capacity_of(const rr_contention *c, const series *s)
{
    for (size_t i = 0; i < c->n_caps; i++)
        if (strcmp(c->caps[i].target, s->target) == 0 && c->caps[i].system_prompt_tokens == s->sys)
            return &c->caps[i];
    return NULL;
}

/* x of series si at agent-count index ki: dodged so whiskers do not overlap. */
static double dodge(const sweep *w, int ki, int si)
{
    double step = w->ns > 1 ? fmin(0.12, 0.5 / (w->ns - 1)) : 0;
    return ki + 1 + (si - (w->ns - 1) / 2.0) * step;
}

/* ---- the figures --------------------------------------------------------- */

/* A key row below a plot at y (top-left): a swatch (a square, or a dashed
 * line when dash) and a label per item, wrapping to a second row. */
typedef struct key_item {
    const char *label;
    rgb c;
    int dash; /* 0 square, 1 dashed line, 2 dotted line */
} key_item;

static void key_row(rdoc *d, const key_item *items, int n, double y)
{
    double x0 = d->left + 52, x = x0;
    for (int k = 0; k < n; k++) {
        double w = doc_width(d, 0, 7.5, items[k].label) + 26;
        if (x + w > d->right && x > x0) {
            x = x0;
            y += 11;
        }
        if (items[k].dash) {
            draw_stroke_style(d, items[k].c, 1.2);
            draw_dash(d, items[k].dash);
            draw_move(d, x, d->ph - y + 2.5);
            draw_line(d, x + 14, d->ph - y + 2.5);
            draw_stroke(d);
            draw_dash(d, 0);
        } else {
            doc_fill_rect(d, x + 2, y - 6, 9, 7, items[k].c);
        }
        doc_text(d, 0, 7.5, x + 17, y, 0, DOC_BLACK, items[k].label);
        x += w;
    }
}

/* One series' line, whiskers, markers and value labels; v(g) picks the
 * estimate, scale multiplies it, unit follows labels. */
static void series_draw(plot *p, const rr_contention *c, const sweep *w, int si,
                        const rr_est *(*v)(const rr_warm_group *), double scale, const char *unit)
{
    double xs[MAX_K], ys[MAX_K];
    size_t n = 0;
    rgb col = pages_colour((size_t)si, 1);
    for (size_t i = 0; i < c->n_groups; i++) {
        const rr_warm_group *g = &c->groups[i];
        const rr_est *e = v(g);
        if (series_of(w, g) != si || isnan(e->est.value) || n >= MAX_K)
            continue;
        double x = dodge(w, k_index(w, g->agents), si);
        plot_whisker(p, x, e->est.lo * scale, e->est.hi * scale, 3, col, 0.9);
        xs[n] = x;
        ys[n++] = e->est.value * scale;
        if (w->ns <= 2) {
            char num[48], lab[64];
            snprintf(lab, sizeof lab, "%s%s", fmt_num(e->est.value * scale, num, sizeof num), unit);
            double ty = p->d->ph - plot_py(p, ys[n - 1]);
            ty = ty - 14 < p->y ? ty + 11 : ty - 4; /* near the top: below the point */
            doc_text(p->d, 1, 7, plot_px(p, x) + (si ? 5 : -5), ty, si ? 0 : 1, col, lab);
        }
    }
    plot_line(p, xs, ys, n, col, 1.2, 0);
    plot_markers(p, pages_marker((size_t)si, 1), 1, 5, col, xs, ys, n, 0);
}

static const rr_est *rate_of(const rr_warm_group *g)
{
    return &g->hit_rate;
}

static const rr_est *ttft_of(const rr_warm_group *g)
{
    return &g->median_ttft_ms;
}

static void hit_rate_figure(rdoc *d, const rr_contention *c, const sweep *w, double y, double h)
{
    char t[900];
    plot_axis xa =
        plot_axis_nice(PLOT_CATEGORY, "agents sharing the server (distinct system prompts)",
                       w->cats, w->nk, 0, 0, 0);
    plot_axis ya = plot_axis_nice(PLOT_LINEAR, "hit rate, requests after each agent's first (%)",
                                  NULL, 0, 0, 100, 1);
    plot p;
    pages_plot_begin(&p, d, "warm_hit_rate", y, h, &xa, &ya);
    plot_title(
        &p, fig_text(FIGURES_WARM_HIT_RATE, 0, figures_title(FIGURES_WARM_HIT_RATE), t, sizeof t));
    plot_hline(&p, 100 * c->hit_threshold, DOC_GREEN, 0.8, 1);
    plot_hline(&p, 100 * c->cold_threshold, DOC_RED, 0.8, 2);
    key_item items[MAX_SERIES + 2];
    char labels[MAX_SERIES][160];
    for (int si = 0; si < w->ns; si++) {
        series_draw(&p, c, w, si, rate_of, 100, "%");
        const rr_warm_capacity *k = capacity_of(c, &w->s[si]);
        char sl[96];
        series_label(w, si, sl, sizeof sl);
        if (k)
            snprintf(labels[si], sizeof labels[si], "%s: warm capacity %ld (bounds %ld to %s%ld)",
                     sl, k->capacity, k->low, k->high_open ? "at least " : "", k->high);
        else
            snprintf(labels[si], sizeof labels[si], "%s", sl);
        items[si] = (key_item){labels[si], pages_colour((size_t)si, 1), 0};
    }
    items[w->ns] = (key_item){"90%: stays warm", DOC_GREEN, 1};
    items[w->ns + 1] = (key_item){"50%: gone cold", DOC_RED, 2};
    key_row(d, items, w->ns + 2, y + h + 34);
    pages_caption(
        d, y + h + 58,
        fig_text(FIGURES_WARM_HIT_RATE, 1,
                 "share of requests whose agent's prefix was still cached (full or restored "
                 "hits; hits inferred from TTFT count and are labelled in results.json), "
                 "with its 95% Wilson interval. Each agent's first request is cold by "
                 "construction and not counted. The warm capacity is the largest agent count "
                 "whose hit rate, and every smaller one's, is at least 90%; its bounds apply "
                 "the rule to the intervals' ends.",
                 t, sizeof t));
}

static void ttft_figure(rdoc *d, const rr_contention *c, const sweep *w, double y, double h)
{
    char t[900];
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < c->n_groups; i++) {
        const rr_est *e = &c->groups[i].median_ttft_ms;
        double a = isnan(e->est.lo) ? e->est.value : e->est.lo,
               b = isnan(e->est.hi) ? e->est.value : e->est.hi;
        if (a > 0)
            lo = fmin(lo, a);
        if (b > 0)
            hi = fmax(hi, b);
    }
    plot_axis xa =
        plot_axis_nice(PLOT_CATEGORY, "agents sharing the server (distinct system prompts)",
                       w->cats, w->nk, 0, 0, 0);
    plot_axis ya =
        plot_axis_nice(PLOT_LOG, "median time to first token (ms)", NULL, 0, lo / 1.5, hi * 2, 0);
    plot p;
    pages_plot_begin(&p, d, "warm_ttft", y, h, &xa, &ya);
    plot_title(&p, fig_text(FIGURES_WARM_TTFT, 0, figures_title(FIGURES_WARM_TTFT), t, sizeof t));
    plot_legend_item items[MAX_SERIES];
    char labels[MAX_SERIES][96];
    for (int si = 0; si < w->ns; si++) {
        series_draw(&p, c, w, si, ttft_of, 1, " ms");
        items[si] =
            (plot_legend_item){series_label(w, si, labels[si], sizeof labels[si]),
                               pages_colour((size_t)si, 1), 0, pages_marker((size_t)si, 1), 1};
    }
    plot_legend(&p, items, w->ns, 0);
    pages_caption(
        d, y + h + 32,
        fig_text(FIGURES_WARM_TTFT, 1,
                 "median time to first token of the requests after each agent's first, "
                 "with its exact rank interval (95%, or the level few values allow); log "
                 "scale. Where the agents no longer fit the cache, every request pays the "
                 "full prefill again.",
                 t, sizeof t));
}

/* Stacked-bar colours and names, results_read_warm_class_keys order. */
static const rgb CLASS_RGB[RR_WARM_CLASSES] = {{0.00, 0.62, 0.45}, {0.00, 0.45, 0.70},
                                               {0.90, 0.62, 0.00}, {0.84, 0.37, 0.00},
                                               {0.55, 0.80, 0.70}, {0.95, 0.70, 0.55}};
static const char *const CLASS_NAME[RR_WARM_CLASSES] = {
    "full hit", "restored (host-RAM tier)", "partial", "miss", "inferred hit", "inferred miss"};

/* One bar: the classes of g stacked from 0 to 100% at category cx. */
static void class_bar(plot *p, const rr_warm_group *g, double cx, double half)
{
    rdoc *d = p->d;
    double base = 0;
    for (int k = 0; k < RR_WARM_CLASSES && g->scored > 0; k++) {
        double share = 100.0 * (double)g->classes[k] / (double)g->scored;
        if (!(share > 0))
            continue;
        double top = d->ph - plot_py(p, base + share), bottom = d->ph - plot_py(p, base);
        doc_fill_rect(d, plot_px(p, cx) - half, top, 2 * half, bottom - top, CLASS_RGB[k]);
        base += share;
    }
    char lab[64], num[32];
    snprintf(lab, sizeof lab, "n = %s", fmt_long(g->scored, num, sizeof num));
    doc_text(d, 1, 6.5, plot_px(p, cx), d->ph - plot_py(p, 100) + 9, 2, DOC_WHITE, lab);
}

/* The colour key below the figure. */
static void class_key(rdoc *d, double y)
{
    key_item items[RR_WARM_CLASSES];
    for (int k = 0; k < RR_WARM_CLASSES; k++)
        items[k] = (key_item){CLASS_NAME[k], CLASS_RGB[k], 0};
    key_row(d, items, RR_WARM_CLASSES, y);
}

static void classes_figure(rdoc *d, const rr_contention *c, double y, double h)
{
    char t[900], labs[64][48];
    const char *cats[64];
    int n = 0;
    for (size_t i = 0; i < c->n_groups && n < 64; i++, n++) {
        const rr_warm_group *g = &c->groups[i];
        snprintf(labs[n], sizeof labs[n], "%s · %ld", g->target, g->agents);
        cats[n] = labs[n];
    }
    plot_axis xa = plot_axis_nice(PLOT_CATEGORY, "target · agents", cats, n, 0, 0, 0);
    plot_axis ya = plot_axis_nice(PLOT_LINEAR, "share of requests after each agent's first (%)",
                                  NULL, 0, 0, 100, 1);
    plot p;
    pages_plot_begin(&p, d, "warm_classes", y, h, &xa, &ya);
    plot_title(&p,
               fig_text(FIGURES_WARM_CLASSES, 0, figures_title(FIGURES_WARM_CLASSES), t, sizeof t));
    double half = fmin(16, p.w / (n ? n : 1) * 0.3);
    for (int i = 0; i < n; i++)
        class_bar(&p, &c->groups[i], i + 1, half);
    class_key(d, y + h + 34);
    pages_caption(
        d, y + h + 50,
        fig_text(FIGURES_WARM_CLASSES, 1,
                 "full: the server reused at least 90% of the agent's prefix from the slot "
                 "that held it; restored: the same although the slots held other agents' "
                 "prefixes (a host-RAM tier brought it back); partial: some of it; miss: "
                 "none beyond the shared template; inferred: the server reports no cached "
                 "count, so its time to first token decided. n = requests counted.",
                 t, sizeof t));
}

/* ---- the numbers behind the figures ------------------------------------- */

static void groups_table(rdoc *d, const rr_contention *c)
{
    static const table_col cols[] = {{"Target", 1.1, 0},
                                     {"Agents", 0.75, 1},
                                     {"Hit rate [95% CI]", 1.7, 1},
                                     {"Median TTFT (ms)", 1.7, 1},
                                     {"Saving per request (ms)", 1.6, 1},
                                     {"10-request session, cache / none (s)", 2.1, 1}};
    char title[128];
    snprintf(title, sizeof title, "The numbers behind Figures %d-%d",
             figures_number(FIGURES_WARM_HIT_RATE), figures_number(FIGURES_WARM_CLASSES));
    doc_heading(d, title, 40);
    table t;
    table_begin(&t, d, cols, 6, 7.5);
    for (size_t i = 0; i < c->n_groups; i++) {
        const rr_warm_group *g = &c->groups[i];
        char k[32], rate[160], ttft[160], save[160], a[64], b[64], sess[160];
        fmt_long(g->agents, k, sizeof k);
        fmt_est(&g->hit_rate, 100, "%", rate, sizeof rate);
        fmt_est(&g->median_ttft_ms, 1, "", ttft, sizeof ttft);
        fmt_est(&g->saving_ms, 1, "", save, sizeof save);
        snprintf(sess, sizeof sess, "%s / %s",
                 fmt_num(g->session_with_cache_s.est.value, a, sizeof a),
                 fmt_num(g->session_without_cache_s.est.value, b, sizeof b));
        const char *cells[] = {g->target, k, rate, ttft, save, sess};
        table_row(&t, cells, NULL, 0);
    }
    table_end(&t);
}

/* ---- the page ------------------------------------------------------------ */

void page_contention(rdoc *d, const rr_results *r)
{
    const rr_contention *c = &r->contention;
    if (!c->present)
        return;
    sweep w;
    sweep_of(c, &w);
    doc_new_page(d);
    doc_heading(d, "How many sessions stay warm", 60);
    for (size_t i = 0; i < c->n_caps; i++) {
        doc_paragraph(d, 0, 8.5, d->left, d->right - d->left, DOC_BLACK, c->caps[i].summary);
        d->y += 2;
    }
    if (c->n_caps == 0)
        doc_paragraph(d, 0, 8.5, d->left, d->right - d->left, DOC_BLACK, c->summary);
    char b[400], n1[32], n2[32];
    snprintf(b, sizeof b,
             "%s contention requests journaled%s%s%s; pattern %s, %s. Each agent's first "
             "request is cold by construction; hit rates count the requests after it.",
             fmt_long(c->requests_journaled, n1, sizeof n1), c->requests_planned >= 0 ? " of " : "",
             c->requests_planned >= 0 ? fmt_long(c->requests_planned, n2, sizeof n2) : "",
             c->requests_planned >= 0 ? " planned" : "", c->pattern[0] ? c->pattern : "unknown",
             c->concurrency > 0 ? "several agents' requests in flight" : "one request at a time");
    doc_paragraph(d, 0, 7.5, d->left, d->right - d->left, DOC_GREY, b);
    if (w.nk == 0)
        return;
    double h = 200, y = d->y + 26;
    hit_rate_figure(d, c, &w, y, h);
    y += h + 116;
    if (y + h > d->bottom) {
        doc_new_page(d);
        y = d->y + 14;
    }
    ttft_figure(d, c, &w, y, h - 20);
    doc_new_page(d);
    y = d->y + 24;
    classes_figure(d, c, y, h);
    d->y = y + h + 96;
    groups_table(d, c);
}

void page_contention_verdict(rdoc *d, const rr_results *r)
{
    const rr_contention *c = &r->contention;
    if (!c->present || !c->summary[0])
        return;
    double w = d->right - d->left, top = d->y;
    int lines = doc_lines(d, 0, 9, w - 24, c->summary);
    double h = 22 + lines * 9 * 1.35 + 6;
    doc_ensure(d, h + 6);
    top = d->y;
    doc_fill_rect(d, d->left, top, w, h, (rgb){0.95, 0.98, 0.95});
    doc_fill_rect(d, d->left, top, 4, h, DOC_GREEN);
    doc_text(d, 1, 8, d->left + 12, top + 13, 0, DOC_GREEN, "HOW MANY SESSIONS STAY WARM");
    d->y = top + 17;
    doc_paragraph(d, 0, 9, d->left + 12, w - 24, DOC_BLACK, c->summary);
    d->y = top + h + 6;
}
