/* page_figures.c - the figure pages: time to first token against prompt
 * tokens (linear and log axes), speedup per system-prompt length, the
 * session picture, residuals (against prompt tokens and run order),
 * per-cell box plots and warm requests against new (uncached) tokens.
 * Several targets overlay in one figure each.
 */
#include "report/pages.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/figures.h"
#include "report/fmt.h"
#include "report/points_read.h"

#define THIN_ABOVE 2000 /* points per figure above which thinning starts */
#define THIN_PT 0.5

/* "Figure N. title" of figure f (report/figures.h). */
static const char *fig_title(figures_id f, char *buf, size_t n)
{
    snprintf(buf, n, "Figure %d. %s", figures_number(f), figures_title(f));
    return buf;
}

static size_t total_points(const rr_results *r)
{
    size_t n = 0;
    for (size_t t = 0; t < r->n_targets; t++)
        n += r->targets[t].n_points;
    return n;
}

/* "name: " of target t when several targets share a figure (the name as
 * pages_target_label gives it in 96 bytes), else "": the start of a
 * series' legend label. out holds at least 98 bytes. */
static const char *series_prefix(const rr_results *r, size_t t, char *out, size_t cap)
{
    char tl[96];
    out[0] = '\0';
    if (r->n_targets > 1)
        snprintf(out, cap, "%s: ", pages_target_label(r, t, tl, sizeof tl));
    return out;
}

/* The caption "Figure N caption: text" of figure f at y. */
static void fig_caption(rdoc *d, double y, figures_id f, const char *text)
{
    char cap[1024];
    snprintf(cap, sizeof cap, "Figure %d caption: %s", figures_number(f), text);
    pages_caption(d, y, cap);
}

/* The sentence a scatter caption ends with when its points are a seeded
 * subsample of the points file, or not drawn at all; "" otherwise. */
static const char *points_sentence(const rr_results *r, char *buf, size_t cap)
{
    buf[0] = '\0';
    if (r->points_note[0])
        snprintf(buf, cap, " Points are not drawn: %s.", r->points_note);
    else if (total_points(r) < r->points_total)
        snprintf(buf, cap,
                 " Drawn: %zu of %zu points, a seeded uniform subsample (seed %d, at most %d "
                 "per report, the same rows in every figure); every point is in the journal "
                 "and in %s.",
                 total_points(r), r->points_total, POINTS_READ_SEED, POINTS_READ_LIMIT,
                 r->points_path[0] ? r->points_path : "the points file");
    return buf;
}

/* True when a model's regressor is the prompt length (the TTFT figures and
 * the residuals against prompt tokens); a warm model may be fitted on new
 * (uncached) tokens instead. */
static int on_prompt_axis(const rr_model *m)
{
    return m->present && (m->x[0] == '\0' || strcmp(m->x, "prompt_tokens") == 0);
}

/* Draws a model's bands and curve (in the regressor's own units: the caller
 * checks that they are the plot's x axis). */
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

/* Points of one target and mode into xs/ys (caller frees); x is the prompt
 * length, or with by_new the new (uncached) tokens. */
static size_t collect(const rr_target *t, int warm, int by_new, double **xs, double **ys)
{
    *xs = malloc((t->n_points + 1) * sizeof **xs);
    *ys = malloc((t->n_points + 1) * sizeof **ys);
    size_t n = 0;
    if (!*xs || !*ys)
        return 0;
    for (size_t i = 0; i < t->n_points; i++)
        if (t->points[i].warm == warm) {
            (*xs)[n] = by_new ? t->points[i].new_tokens : t->points[i].x;
            (*ys)[n] = t->points[i].y;
            n++;
        }
    return n;
}

/* The legend items "model curve" and the bands (text bands) after the n
 * series items; returns the new count. */
static int curve_legend(plot_legend_item *items, char (*labels)[160], int n, const char *bands)
{
    snprintf(labels[n], sizeof labels[n], "model curve");
    items[n] = (plot_legend_item){labels[n], DOC_GREY, 1, MARK_CIRCLE, 1};
    n++;
    snprintf(labels[n], sizeof labels[n], "%s", bands);
    items[n] = (plot_legend_item){labels[n], DOC_GREY, 2, MARK_CIRCLE, 1};
    return n + 1;
}

/* The TTFT figures' caption at y: what is drawn, thinning, the warm model's
 * axis and the subsample. */
static void ttft_caption(rdoc *d, const rr_results *r, int logscale, const char *fig, size_t total,
                         size_t drawn, int thin, double y)
{
    char cap[1600], sub[700];
    char thin_note[200] = "", other[320] = "";
    for (size_t t = 0; t < r->n_targets; t++)
        if (r->targets[t].warm_ttft.present && !on_prompt_axis(&r->targets[t].warm_ttft))
            snprintf(other, sizeof other,
                     " Warm points sit at their whole prompt length, but the warm model is "
                     "fitted on %s (the tokens the server still had to process), so its curve "
                     "is not drawn here: Figure %d shows it against those tokens.",
                     r->targets[t].warm_ttft.x, figures_number(FIGURES_WARM_NEW));
    if (thin && drawn < total)
        snprintf(thin_note, sizeof thin_note,
                 " With %zu requests, markers falling on the same 0.5 pt spot are drawn once "
                 "(%zu markers drawn); the tables hold every number.",
                 total, drawn);
    char see[160];
    snprintf(see, sizeof see,
             " (the prediction band is left out on log axes, where its lower edge "
             "reaches zero; see Figure %d)",
             figures_number(FIGURES_TTFT_LINEAR));
    snprintf(cap, sizeof cap,
             "%s Every request is a point (n = %zu; cold = no cached prefix, warm = system "
             "prompt cached). Curves: the model chosen per mode (see Models) with its 95%% "
             "confidence band for the mean%s.%s",
             fig, total, logscale ? see : " and 95% prediction band for a single request",
             thin_note);
    size_t len = strlen(cap);
    snprintf(cap + len, sizeof cap - len, "%s%s", other, points_sentence(r, sub, sizeof sub));
    pages_caption(d, y, cap);
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
    plot_axis xa = plot_axis_nice(logscale ? PLOT_LOG : PLOT_LINEAR, "prompt tokens (tokens)", NULL,
                                  0, lox, hix, 1);
    plot_axis ya = plot_axis_nice(logscale ? PLOT_LOG : PLOT_LINEAR, "time to first token (ms)",
                                  NULL, 0, loy, hiy, 1);
    plot p;
    pages_plot_begin(&p, d, name, y, h, &xa, &ya);
    plot_title(&p, title);
    int thin = total_points(r) > THIN_ABOVE;
    size_t drawn = 0, total = 0;
    plot_clip_begin(&p);
    for (size_t t = 0; t < r->n_targets; t++) {
        for (int warm = 0; warm < 2; warm++) {
            const rr_model *m = warm ? &r->targets[t].warm_ttft : &r->targets[t].cold_ttft;
            if (on_prompt_axis(m))
                draw_model(&p, m, pages_colour(t, warm), !logscale);
        }
    }
    for (size_t t = 0; t < r->n_targets; t++)
        for (int warm = 0; warm < 2; warm++) {
            double *xs = NULL, *ys = NULL;
            size_t n = collect(&r->targets[t], warm, 0, &xs, &ys);
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
        char tp[100];
        series_prefix(r, t, tp, sizeof tp);
        for (int warm = 0; warm < 2; warm++) {
            const rr_model *m = warm ? &r->targets[t].warm_ttft : &r->targets[t].cold_ttft;
            snprintf(labels[n], sizeof labels[n], "%s%s%s%s%s", tp, warm ? "warm" : "cold",
                     on_prompt_axis(m) ? ", " : "", on_prompt_axis(m) ? m->chosen : "",
                     on_prompt_axis(m) ? " model" : "");
            items[n] =
                (plot_legend_item){labels[n], pages_colour(t, warm), 0, pages_marker(t, warm), 1};
            n++;
        }
    }
    n = curve_legend(items, labels, n,
                     logscale ? "95% mean band" : "95% mean band (dark), prediction band (light)");
    plot_legend(&p, items, n, 0);
    ttft_caption(d, r, logscale, fig, total, drawn, thin, y + h + 32);
}

/* FIGURES_WARM_NEW's caption at y. */
static void warm_new_caption(rdoc *d, const rr_results *r, int curves, double y)
{
    char cap[1400], sub[700];
    snprintf(cap, sizeof cap, "Figure %d caption: %s%s", figures_number(FIGURES_WARM_NEW),
             curves ? "every warm request at its new (uncached) prompt tokens, "
                      "the prompt length minus the tokens the server reported (or was assumed) "
                      "to have cached. The warm model is fitted against these tokens; its curve "
                      "has the 95% confidence band for the mean and the 95% prediction band for "
                      "a single request (see Models)."
                    : "every warm request at its new (uncached) prompt tokens, "
                      "the prompt length minus the tokens cached. No warm model is fitted on "
                      "these tokens, so no curve is drawn (see Models).",
             points_sentence(r, sub, sizeof sub));
    pages_caption(d, y, cap);
}

/* FIGURES_WARM_NEW: warm requests against the tokens the server still had to
 * process (x - cached), where the warm model is fitted, with that model's
 * curve and bands when it is fitted on them. */
static void warm_new_figure(rdoc *d, const rr_results *r, double y, double h)
{
    double lox = INFINITY, hix = -INFINITY, loy = INFINITY, hiy = -INFINITY;
    size_t total = 0;
    for (size_t t = 0; t < r->n_targets; t++)
        for (size_t i = 0; i < r->targets[t].n_points; i++) {
            const rr_point *q = &r->targets[t].points[i];
            if (!q->warm || !isfinite(q->new_tokens) || !isfinite(q->y))
                continue;
            lox = fmin(lox, q->new_tokens);
            hix = fmax(hix, q->new_tokens);
            loy = fmin(loy, q->y);
            hiy = fmax(hiy, q->y);
            total++;
        }
    char title[160];
    fig_title(FIGURES_WARM_NEW, title, sizeof title);
    if (total == 0) {
        pages_plot_empty(d, "warm_new_tokens", y, h, title,
                         r->points_note[0]
                             ? "the points file is missing: no points to draw"
                             : "results.json holds no warm request with a known count "
                               "of new tokens");
        return;
    }
    plot_axis xa =
        plot_axis_nice(PLOT_LINEAR, "new (uncached) prompt tokens (tokens)", NULL, 0, lox, hix, 1);
    plot_axis ya = plot_axis_nice(PLOT_LINEAR, "time to first token (ms)", NULL, 0, loy, hiy, 1);
    plot p;
    pages_plot_begin(&p, d, "warm_new_tokens", y, h, &xa, &ya);
    plot_title(&p, title);
    plot_legend_item items[8];
    char labels[8][160];
    int ni = 0, curves = 0;
    plot_clip_begin(&p);
    for (size_t t = 0; t < r->n_targets; t++) {
        const rr_model *m = &r->targets[t].warm_ttft;
        if (m->present && !on_prompt_axis(m)) {
            draw_model(&p, m, pages_colour(t, 1), 1);
            curves = 1;
        }
    }
    for (size_t t = 0; t < r->n_targets; t++) {
        double *xs = NULL, *ys = NULL;
        size_t n = collect(&r->targets[t], 1, 1, &xs, &ys);
        plot_markers(&p, pages_marker(t, 1), 1, 3.6, pages_colour(t, 1), xs, ys, n,
                     total > THIN_ABOVE ? THIN_PT : 0);
        free(xs);
        free(ys);
        const rr_model *m = &r->targets[t].warm_ttft;
        if (ni < 6) {
            char tp[100];
            int with_model = m->present && !on_prompt_axis(m);
            snprintf(labels[ni], sizeof labels[ni], "%swarm%s%s%s",
                     series_prefix(r, t, tp, sizeof tp), with_model ? ", " : "",
                     with_model ? m->chosen : "", with_model ? " model" : "");
            items[ni] =
                (plot_legend_item){labels[ni], pages_colour(t, 1), 0, pages_marker(t, 1), 1};
            ni++;
        }
    }
    plot_clip_end(&p);
    if (curves)
        ni = curve_legend(items, labels, ni, "95% mean band (dark), prediction band (light)");
    plot_legend(&p, items, ni, 0);
    warm_new_caption(d, r, curves, y + h + 32);
}

/* ---- small sets of distinct values ---- */

static int add_distinct(long *vals, int n, int cap, long v)
{
    for (int i = 0; i < n; i++)
        if (vals[i] == v)
            return n;
    if (n < cap)
        vals[n++] = v;
    for (int i = n - 1; i > 0 && vals[i - 1] > vals[i]; i--) {
        long t = vals[i];
        vals[i] = vals[i - 1];
        vals[i - 1] = t;
    }
    return n;
}

static int index_of(const long *vals, int n, long v)
{
    for (int i = 0; i < n; i++)
        if (vals[i] == v)
            return i;
    return -1;
}

/* Category labels for system-prompt lengths. */
static void length_cats(const long *lens, int nl, char labs[][24], const char **cats)
{
    for (int i = 0; i < nl; i++) {
        snprintf(labs[i], sizeof labs[i], "%ld", lens[i]);
        cats[i] = labs[i];
    }
}

/* The marker of the qi-th query length (one length: the target's marker). */
static plot_marker query_marker(size_t t, int qi, int nq)
{
    static const plot_marker m[] = {MARK_CIRCLE, MARK_TRIANGLE, MARK_SQUARE, MARK_DIAMOND};
    return nq <= 1 ? pages_marker(t, 1) : m[qi % 4];
}

/* The speedup figure's categories (system prompt lengths, query lengths)
 * and the y range its intervals need. */
typedef struct speedup_cats {
    long lens[64], qs[8];
    int nl, nq;
    double lo, hi;
} speedup_cats;

static void speedup_scan(const rr_results *r, speedup_cats *c)
{
    c->nl = c->nq = 0;
    c->lo = 0.8;
    c->hi = 1.25;
    for (size_t t = 0; t < r->n_targets; t++)
        for (size_t i = 0; i < r->targets[t].n_speedup; i++) {
            const rr_speedup *sp = &r->targets[t].speedup[i];
            c->nl = add_distinct(c->lens, c->nl, 64, sp->system_prompt_tokens);
            c->nq = add_distinct(c->qs, c->nq, 8, sp->query_tokens);
            const rr_est *e = &sp->speedup;
            double a = isnan(e->est.lo) ? e->est.value : e->est.lo,
                   b = isnan(e->est.hi) ? e->est.value : e->est.hi;
            if (a > 0)
                c->lo = fmin(c->lo, a);
            if (b > 0)
                c->hi = fmax(c->hi, b);
        }
}

/* One speedup with its rank interval at category position cx of slot
 * `slot` of `slots`; a value label while labels cannot collide. */
static void speedup_point(plot *p, rdoc *d, const rr_speedup *sp, double cx, size_t slot,
                          size_t slots, plot_marker m, rgb c)
{
    plot_whisker(p, cx, sp->speedup.est.lo, sp->speedup.est.hi, 3.5, c, 1.0);
    double xs[1] = {cx}, ys[1] = {sp->speedup.est.value};
    plot_markers(p, m, 1, 5, c, xs, ys, 1, 0);
    if (isnan(sp->speedup.est.value))
        doc_text(d, 0, 7, plot_px(p, cx), d->ph - plot_py(p, 1) - 5, 2, DOC_GREY, "n/a");
    /* Value labels while they cannot collide: one series, or two
     * targets labelled on opposite sides. */
    if (slots <= 2 && !isnan(sp->speedup.est.value) && sp->speedup.est.value > 0) {
        char v[64], num[48];
        snprintf(v, sizeof v, "%s×", fmt_num(sp->speedup.est.value, num, sizeof num));
        /* Above the interval, or above the point when the upper end
         * is missing or cannot be placed (not above the value). */
        double top = isfinite(sp->speedup.est.hi) && sp->speedup.est.hi > sp->speedup.est.value
                         ? sp->speedup.est.hi
                         : sp->speedup.est.value;
        int left = slots == 2 && slot == 0;
        doc_text(d, 1, 7, plot_px(p, cx) + (left ? -6 : 6), d->ph - plot_py(p, top) + 4,
                 left ? 1 : 0, c, v);
    }
}

/* Every target's speedups, and their legend items (ni of them). */
static void speedup_series(plot *p, rdoc *d, const rr_results *r, const speedup_cats *sc,
                           plot_legend_item *items, char (*labels)[128], int *ni)
{
    int nq = sc->nq;
    size_t slots = r->n_targets * (size_t)(nq ? nq : 1);
    double slot_w = slots > 1 ? 0.7 / (double)slots : 0;
    for (size_t t = 0; t < r->n_targets; t++) {
        rgb c = pages_colour(t, 1);
        for (size_t i = 0; i < r->targets[t].n_speedup; i++) {
            const rr_speedup *sp = &r->targets[t].speedup[i];
            int k = index_of(sc->lens, sc->nl, sp->system_prompt_tokens);
            int qi = index_of(sc->qs, nq, sp->query_tokens);
            size_t slot = t * (size_t)(nq ? nq : 1) + (size_t)(qi < 0 ? 0 : qi);
            double cx = k + 1 + ((double)slot - ((double)slots - 1) / 2) * slot_w;
            speedup_point(p, d, sp, cx, slot, slots, query_marker(t, qi, nq), c);
        }
        for (int qi = 0; qi < (nq ? nq : 1) && *ni < 20; qi++) {
            char tl[96], ql[48] = "";
            if (nq > 1)
                snprintf(ql, sizeof ql, ", %ld-token query", sc->qs[qi]);
            snprintf(labels[*ni], sizeof labels[*ni], "%s%s (rank interval)",
                     pages_target_label(r, t, tl, sizeof tl), ql);
            items[*ni] = (plot_legend_item){labels[*ni], c, 0, query_marker(t, qi, nq), 1};
            (*ni)++;
        }
    }
}

static void speedup_figure(rdoc *d, const rr_results *r, double y, double h)
{
    speedup_cats sc;
    speedup_scan(r, &sc);
    char labs[64][24];
    const char *cats[64] = {0};
    length_cats(sc.lens, sc.nl, labs, cats);
    plot_axis xa =
        plot_axis_nice(PLOT_CATEGORY, "system prompt length (tokens)", cats, sc.nl, 0, 0, 0);
    plot_axis ya =
        plot_axis_nice(PLOT_LOG, "speedup, cold ÷ warm TTFT (×)", NULL, 0, sc.lo, sc.hi * 1.3, 0);
    plot p;
    pages_plot_begin(&p, d, "speedup", y, h, &xa, &ya);
    char title[160];
    plot_title(&p, fig_title(FIGURES_SPEEDUP, title, sizeof title));
    plot_hline(&p, 1, DOC_GREY, 0.8, 1);
    plot_legend_item items[24];
    char labels[24][128];
    int ni = 0;
    speedup_series(&p, d, r, &sc, items, labels, &ni);
    snprintf(labels[ni], sizeof labels[ni], "1× = no speedup");
    items[ni] = (plot_legend_item){labels[ni], DOC_GREY, 3, MARK_CIRCLE, 1};
    ni++;
    plot_legend(&p, items, ni, 0);
    fig_caption(d, y + h + 32, FIGURES_SPEEDUP,
                "speedup = cold TTFT ÷ warm TTFT (median ratio: Hodges-Lehmann on log times) "
                "with its rank interval (95%, or the level few values allow, as in the Tests "
                "table); log scale. A point above the dashed line means the cache made the first "
                "token arrive sooner.");
}

/* The session with the most queries (the seed's "10 queries" picture). */
static const rr_session *longest_session(const rr_target *t)
{
    const rr_session *best = &t->sessions[0];
    for (size_t i = 1; i < t->n_sessions; i++)
        if (t->sessions[i].query_count > best->query_count)
            best = &t->sessions[i];
    return best;
}

/* The session figure's y range (s->cum_cold's upper ends, or values, and
 * the cold projection's) and longest session; 0 when no target has one. */
static int session_range(const rr_results *r, double *hi, long *qmax)
{
    *hi = 0;
    *qmax = 1;
    int have = 0;
    for (size_t t = 0; t < r->n_targets; t++)
        if (r->targets[t].n_sessions) {
            have = 1;
            const rr_session *s = longest_session(&r->targets[t]);
            *qmax = s->query_count > *qmax ? s->query_count : *qmax;
            for (size_t i = 0; i < s->n_cum_cold; i++)
                *hi = fmax(*hi, isnan(s->cum_cold[i].estimate.est.hi)
                                    ? s->cum_cold[i].estimate.est.value
                                    : s->cum_cold[i].estimate.est.hi);
            for (size_t i = 0; i < s->n_proj_cold; i++)
                *hi = fmax(*hi, s->proj_cold[i].estimate.est.hi);
        }
    return have;
}

/* One target's cold or warm session: the projection with its band, the
 * measured points with their intervals, the last point's value. */
static void session_series(rdoc *d, plot *p, const rr_session *s, size_t t, int warm)
{
    const rr_cum *proj = warm ? s->proj_warm : s->proj_cold;
    size_t np = warm ? s->n_proj_warm : s->n_proj_cold;
    const rr_cum *cum = warm ? s->cum_warm : s->cum_cold;
    size_t nc = warm ? s->n_cum_warm : s->n_cum_cold;
    rgb c = pages_colour(t, warm);
    double px[256], pm[256], pl[256], ph[256];
    size_t m = 0;
    for (size_t i = 0; i < np && m < 256; i++, m++) {
        px[m] = (double)proj[i].query;
        pm[m] = proj[i].estimate.est.value / 1000;
        pl[m] = proj[i].estimate.est.lo / 1000;
        ph[m] = proj[i].estimate.est.hi / 1000;
    }
    plot_band(p, px, pl, ph, m, c, 1);
    plot_line(p, px, pm, m, c, 1.1, 1);
    for (size_t i = 0; i < nc; i++) {
        double qx = (double)cum[i].query;
        plot_whisker(p, qx, cum[i].estimate.est.lo / 1000, cum[i].estimate.est.hi / 1000, 2.5, c,
                     0.8);
        double xs[1] = {qx}, ys[1] = {cum[i].estimate.est.value / 1000};
        plot_markers(p, pages_marker(t, warm), 1, 4.2, c, xs, ys, 1, 0);
    }
    if (nc) {
        char v[96], num[48];
        double last = cum[nc - 1].estimate.est.value / 1000;
        snprintf(v, sizeof v, "%s s", fmt_num(last, num, sizeof num));
        /* A null estimate has no point: its "n/a s" sits on the x axis. */
        double at = isfinite(last) ? last : p->ya.lo;
        doc_text(d, 1, 7.5, plot_px(p, (double)cum[nc - 1].query) - 8, d->ph - plot_py(p, at) - 6,
                 1, c, v);
    }
}

/* The session figure's caption: what it shows, then per target the
 * measured session speedup against the seed's arithmetic. */
static void session_caption(rdoc *d, const rr_results *r, double y)
{
    char cap[1024];
    snprintf(cap, sizeof cap,
             "Figure %d caption: cumulative time to first token over the queries of one "
             "session. Cold: every query pays for the whole system prompt; warm: the "
             "first query fills the cache, later queries reuse it. Points: measured, "
             "with 95%% intervals; dashed: the fitted model's projection.",
             figures_number(FIGURES_SESSION));
    for (size_t t = 0; t < r->n_targets; t++) {
        if (!r->targets[t].n_sessions)
            continue;
        const rr_session *s = longest_session(&r->targets[t]);
        char a[48], b[48];
        size_t len = strlen(cap);
        snprintf(cap + len, sizeof cap - len,
                 " %s%s: measured session speedup %s×; the seed's arithmetic (first cold, then "
                 "warm) predicts %s×.",
                 r->n_targets > 1 ? "" : "Session", r->n_targets > 1 ? r->targets[t].name : "",
                 fmt_num(s->measured_speedup.est.value, a, sizeof a),
                 fmt_num(s->theoretical_speedup, b, sizeof b));
    }
    pages_caption(d, y, cap);
}

static void session_figure(rdoc *d, const rr_results *r, double y, double h)
{
    double hi;
    long qmax;
    if (!session_range(r, &hi, &qmax)) {
        char empty[80];
        pages_plot_empty(d, "session", y, h, fig_title(FIGURES_SESSION, empty, sizeof empty),
                         "results.json holds no session data (no sessions were computed)");
        return;
    }
    plot_axis xa = plot_axis_nice(PLOT_LINEAR, "query number in the session", NULL, 0, 0,
                                  (double)(qmax < 2 ? 2 : qmax), 1);
    plot_axis ya = plot_axis_nice(PLOT_LINEAR, "cumulative time to first token (s)", NULL, 0, 0,
                                  hi / 1000.0, 1);
    plot p;
    pages_plot_begin(&p, d, "session", y, h, &xa, &ya);
    char title[160];
    snprintf(title, sizeof title, "Figure %d. A %ld-query session with one system prompt",
             figures_number(FIGURES_SESSION), qmax);
    plot_title(&p, title);
    plot_legend_item items[12];
    char labels[12][128];
    int ni = 0;
    int any = 0;
    for (size_t t = 0; t < r->n_targets; t++) {
        if (!r->targets[t].n_sessions)
            continue;
        any = 1;
        const rr_session *s = longest_session(&r->targets[t]);
        for (int warm = 0; warm < 2; warm++) {
            session_series(d, &p, s, t, warm);
            if (ni < 10) {
                char tp[100];
                snprintf(labels[ni], sizeof labels[ni], "%s%s measured (95%% CI)",
                         series_prefix(r, t, tp, sizeof tp),
                         warm ? "warm (cache)" : "cold (no cache)");
                items[ni] = (plot_legend_item){labels[ni], pages_colour(t, warm), 0,
                                               pages_marker(t, warm), 1};
                ni++;
            }
        }
    }
    snprintf(labels[ni], sizeof labels[ni], "model projection (dashed) and its band");
    items[ni] = (plot_legend_item){labels[ni], DOC_GREY, 3, MARK_CIRCLE, 1};
    ni++;
    if (any)
        plot_legend(&p, items, ni, 0);
    session_caption(d, r, y + h + 32);
}

/* The residual figures' caption at y. */
static void residual_caption(rdoc *d, const rr_results *r, int by_order, int thin, double y)
{
    char cap[1300], sub[700];
    figures_id fig = by_order ? FIGURES_RESIDUALS_ORDER : FIGURES_RESIDUALS_TOKENS;
    snprintf(cap, sizeof cap, "Figure %d caption: %s%s%s", figures_number(fig),
             by_order ? "residuals in the order the requests ran. A trend or "
                        "runs of same-sign residuals would mean drift (thermal, caching, "
                        "background load); the lag-1 autocorrelation is in the Models table."
                      : "residuals of each chosen model against prompt tokens. "
                        "A funnel means unequal variance, a curve a missing term; the tests are "
                        "in the Models table.",
             thin ? " With this many requests, markers falling on the same 0.5 pt spot are "
                    "drawn once."
                  : "",
             points_sentence(r, sub, sizeof sub));
    pages_caption(d, y, cap);
}

/* The residuals' x range (run order or prompt tokens) and y range; the
 * count of drawable residuals. */
static size_t residual_range(const rr_results *r, int by_order, double *lox, double *hix,
                             double *lo, double *hi)
{
    size_t total = 0;
    *lox = *lo = INFINITY;
    *hix = *hi = -INFINITY;
    for (size_t t = 0; t < r->n_targets; t++)
        for (int warm = 0; warm < 2; warm++) {
            const rr_model *m = warm ? &r->targets[t].warm_ttft : &r->targets[t].cold_ttft;
            int use = by_order ? m->present : on_prompt_axis(m);
            for (size_t i = 0; use && i < m->n_residuals; i++) {
                double xv = by_order ? m->residuals[i].order : m->residuals[i].x;
                if (isnan(xv) || isnan(m->residuals[i].residual))
                    continue;
                *lox = fmin(*lox, xv);
                *hix = fmax(*hix, xv);
                *lo = fmin(*lo, m->residuals[i].residual);
                *hi = fmax(*hi, m->residuals[i].residual);
                total++;
            }
        }
    return total;
}

static void residual_figure(rdoc *d, const rr_results *r, int by_order, double y, double h)
{
    double lox, hix, lo, hi;
    size_t total = residual_range(r, by_order, &lox, &hix, &lo, &hi);
    figures_id fig = by_order ? FIGURES_RESIDUALS_ORDER : FIGURES_RESIDUALS_TOKENS;
    char title[160];
    fig_title(fig, title, sizeof title);
    if (total == 0) {
        pages_plot_empty(d, by_order ? "residuals_order" : "residuals_tokens", y, h, title,
                         r->points_note[0]
                             ? "the points file is missing: no residuals to draw (see Models)"
                             : "no model was fitted, so there are no residuals (see Models)");
        return;
    }
    double mag = fmax(fabs(lo), fabs(hi));
    plot_axis xa = plot_axis_nice(PLOT_LINEAR,
                                  by_order ? "run order (position in the randomised run)"
                                           : "prompt tokens (tokens)",
                                  NULL, 0, lox, hix, !by_order);
    plot_axis ya =
        plot_axis_nice(PLOT_LINEAR, "residual, measured − model (ms)", NULL, 0, -mag, mag, 0);
    plot p;
    pages_plot_begin(&p, d, by_order ? "residuals_order" : "residuals_tokens", y, h, &xa, &ya);
    plot_title(&p, title);
    plot_hline(&p, 0, DOC_GREY, 0.8, 0);
    plot_clip_begin(&p);
    int thin = total > THIN_ABOVE;
    plot_legend_item items[8];
    char labels[8][128];
    int ni = 0;
    for (size_t t = 0; t < r->n_targets; t++)
        for (int warm = 0; warm < 2; warm++) {
            const rr_model *m = warm ? &r->targets[t].warm_ttft : &r->targets[t].cold_ttft;
            if (!(by_order ? m->present : on_prompt_axis(m)) || m->n_residuals == 0)
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
                char tp[100];
                snprintf(labels[ni], sizeof labels[ni], "%s%s model (%s)",
                         series_prefix(r, t, tp, sizeof tp), warm ? "warm" : "cold", m->chosen);
                items[ni] = (plot_legend_item){labels[ni], pages_colour(t, warm), 0,
                                               pages_marker(t, warm), 1};
                ni++;
            }
        }
    plot_clip_end(&p);
    if (ni)
        plot_legend(&p, items, ni, 1);
    residual_caption(d, r, by_order, thin, y + h + 32);
}

static void box_figure(rdoc *d, const rr_results *r, double y, double h)
{
    long lens[64], qs[8];
    int nl = 0, nq = 0;
    double lo = INFINITY, hi = -INFINITY;
    for (size_t t = 0; t < r->n_targets; t++)
        for (size_t i = 0; i < r->targets[t].n_cells; i++) {
            const rr_cell *c = &r->targets[t].cells[i];
            if (c->query_count > 1 || c->turn > 1)
                continue; /* session cells are in the session figure */
            nl = add_distinct(lens, nl, 64, c->system_prompt_tokens);
            nq = add_distinct(qs, nq, 8, c->query_tokens);
            if (c->min > 0)
                lo = fmin(lo, c->min);
            if (!isnan(c->max))
                hi = fmax(hi, c->max);
        }
    char labs[64][24];
    const char *cats[64] = {0};
    length_cats(lens, nl, labs, cats);
    plot_axis xa =
        plot_axis_nice(PLOT_CATEGORY, "system prompt length (tokens)", cats, nl, 0, 0, 0);
    plot_axis ya = plot_axis_nice(PLOT_LOG, "time to first token (ms)", NULL, 0, lo, hi, 0);
    plot p;
    pages_plot_begin(&p, d, "boxplots", y, h, &xa, &ya);
    char title[160];
    plot_title(&p, fig_title(FIGURES_BOX, title, sizeof title));
    /* Slots within a length: target, then query length, then cold / warm. */
    size_t per_t = (size_t)(nq ? nq : 1) * 2, slots = r->n_targets * per_t;
    double slot = 0.84 / (double)(slots ? slots : 1);
    double half = fmin(14, slot * p.w / (nl ? nl : 1) * 0.36);
    plot_legend_item items[8];
    char labels[8][128];
    int ni = 0;
    for (size_t t = 0; t < r->n_targets; t++) {
        for (size_t i = 0; i < r->targets[t].n_cells; i++) {
            const rr_cell *c = &r->targets[t].cells[i];
            if (c->query_count > 1 || c->turn > 1)
                continue;
            int k = index_of(lens, nl, c->system_prompt_tokens);
            int qi = index_of(qs, nq, c->query_tokens);
            size_t sidx = t * per_t + (size_t)(qi < 0 ? 0 : qi) * 2 + (size_t)c->warm;
            double cx = k + 1 - 0.42 + slot * ((double)sidx + 0.5);
            plot_box(&p, cx, half, c->q1, c->median.est.value, c->q3, c->whisker_low,
                     c->whisker_high, c->outliers, c->n_outliers, pages_colour(t, c->warm));
        }
        for (int warm = 0; warm < 2 && ni < 8; warm++) {
            char tp[100];
            snprintf(labels[ni], sizeof labels[ni], "%s%s", series_prefix(r, t, tp, sizeof tp),
                     warm ? "warm" : "cold");
            items[ni] = (plot_legend_item){labels[ni], pages_colour(t, warm), 2, MARK_CIRCLE, 1};
            ni++;
        }
    }
    plot_legend(&p, items, ni, 0);
    char cap[700], order[200] = "";
    if (nq > 1) {
        size_t len = 0;
        len += (size_t)snprintf(order, sizeof order,
                                " Within each length the boxes run by query "
                                "length (");
        for (int i = 0; i < nq && len < sizeof order; i++)
            len += (size_t)snprintf(order + len, sizeof order - len, "%s%ld", i ? ", " : "", qs[i]);
        if (len < sizeof order)
            snprintf(order + len, sizeof order - len, " tokens), cold before warm.");
    }
    snprintf(cap, sizeof cap,
             "Figure %d caption: box = quartiles, thick line = median, whiskers = most extreme "
             "values within 1.5 IQR of the box (Tukey), open circles = outliers (kept, not "
             "removed). Log scale; one-query cells (session cells are in Figure %d). Counts per "
             "cell are in the cell table.%s",
             figures_number(FIGURES_BOX), figures_number(FIGURES_SESSION), order);
    pages_caption(d, y + h + 32, cap);
}

void page_figures(rdoc *d, const rr_results *r)
{
    double h = 250;
    doc_new_page(d);
    double y = d->y + 14;
    char title[160], fig[40];
    fig_title(FIGURES_TTFT_LINEAR, title, sizeof title);
    snprintf(fig, sizeof fig, "Figure %d caption:", figures_number(FIGURES_TTFT_LINEAR));
    ttft_figure(d, r, 0, y, h, "ttft_linear", title, fig);
    y += h + 92;
    fig_title(FIGURES_TTFT_LOG, title, sizeof title);
    snprintf(fig, sizeof fig, "Figure %d caption:", figures_number(FIGURES_TTFT_LOG));
    ttft_figure(d, r, 1, y, h - 20, "ttft_log", title, fig);
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
    box_figure(d, r, y, h);
    y += h + 92;
    warm_new_figure(d, r, y, h - 20);
    d->y = y + h - 20 + 80;
}
