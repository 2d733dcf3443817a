/* plot.c - plotting primitives (report/plot.h): scales and nice ticks,
 * axes and grid, markers with thinning, lines, bands, whiskers, box plots,
 * legends.
 */
#include "report/plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define R(v) ((HPDF_REAL)(v))

/* ---- scales and ticks ---- */

static double nice_step(double range, int target)
{
    if (!(range > 0))
        return 1;
    double raw = range / target;
    double mag = pow(10, floor(log10(raw)));
    double f = raw / mag;
    double s = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
    return s * mag;
}

void plot_nice_range(plot_axis *a, double lo, double hi, int from_zero)
{
    if (a->scale == PLOT_CATEGORY) {
        a->lo = 0.5;
        a->hi = a->n_cats + 0.5;
        return;
    }
    if (!isfinite(lo) || !isfinite(hi)) {
        lo = a->scale == PLOT_LOG ? 1 : 0;
        hi = a->scale == PLOT_LOG ? 10 : 1;
    }
    if (a->scale == PLOT_LOG) {
        if (!(lo > 0))
            lo = hi > 0 ? hi / 10 : 1;
        if (!(hi > 0))
            hi = lo * 10;
        /* Ends on 1-2-5 values: the largest at or below lo, the smallest at
         * or above hi. */
        static const double m125[] = {1, 2, 5, 10};
        double dl = pow(10, floor(log10(lo) + 1e-9)), dh = pow(10, floor(log10(hi) - 1e-9));
        a->lo = dl;
        for (int i = 0; i < 3; i++)
            if (dl * m125[i] <= lo * (1 + 1e-9))
                a->lo = dl * m125[i];
        a->hi = dh * 10;
        for (int i = 3; i-- > 0;)
            if (dh * m125[i] >= hi * (1 - 1e-9))
                a->hi = dh * m125[i];
        if (a->hi <= a->lo)
            a->hi = a->lo * 10;
        return;
    }
    if (from_zero && lo > 0)
        lo = 0;
    if (hi <= lo) {
        double pad = fabs(lo) > 0 ? fabs(lo) * 0.1 : 1;
        lo -= pad;
        hi += pad;
    }
    double step = nice_step(hi - lo, 5);
    a->lo = floor(lo / step + 1e-9) * step;
    a->hi = ceil(hi / step - 1e-9) * step;
}

static double axis_step(const plot_axis *a)
{
    return nice_step(a->hi - a->lo, 5);
}

int plot_ticks(const plot_axis *a, double *ticks, int max)
{
    int n = 0;
    if (a->scale == PLOT_CATEGORY) {
        for (int i = 1; i <= a->n_cats && n < max; i++)
            ticks[n++] = i;
        return n;
    }
    if (a->scale == PLOT_LOG) {
        double decades = log10(a->hi / a->lo);
        int k0 = (int)floor(log10(a->lo) + 1e-9), k1 = (int)ceil(log10(a->hi) - 1e-9);
        for (int k = k0; k <= k1 && n < max; k++) {
            double base = pow(10, k);
            static const double mult[] = {1, 2, 5};
            for (int j = 0; j < 3 && n < max; j++) {
                if (j > 0 && decades > 2.5)
                    break;
                double v = base * mult[j];
                if (v >= a->lo * (1 - 1e-9) && v <= a->hi * (1 + 1e-9))
                    ticks[n++] = v;
            }
        }
        return n;
    }
    double step = axis_step(a);
    for (double v = ceil(a->lo / step - 1e-9) * step; v <= a->hi + step * 1e-9 && n < max;
         v += step)
        ticks[n++] = fabs(v) < step * 1e-9 ? 0 : v;
    return n;
}

void plot_tick_label(const plot_axis *a, double v, double step, char *out, size_t cap)
{
    if (a->scale == PLOT_CATEGORY) {
        int i = (int)lround(v) - 1;
        snprintf(out, cap, "%s", (a->cats && i >= 0 && i < a->n_cats) ? a->cats[i] : "");
        return;
    }
    if (a->scale == PLOT_LOG)
        step = v;
    int dec = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
    if (dec > 6)
        dec = 6;
    snprintf(out, cap, "%.*f", dec, v);
}

/* ---- coordinates ---- */

static double frac(const plot_axis *a, double v)
{
    if (a->scale == PLOT_LOG)
        return (v > 0) ? (log10(v) - log10(a->lo)) / (log10(a->hi) - log10(a->lo)) : NAN;
    return (v - a->lo) / (a->hi - a->lo);
}

double plot_px(const plot *p, double x)
{
    return p->x + frac(&p->xa, x) * p->w;
}

double plot_py(const plot *p, double y)
{
    return (p->d->ph - (p->y + p->h)) + frac(&p->ya, y) * p->h;
}

int plot_inside(const plot *p, double x, double y)
{
    double fx = frac(&p->xa, x), fy = frac(&p->ya, y);
    return isfinite(fx) && isfinite(fy) && fx >= -1e-9 && fx <= 1 + 1e-9 && fy >= -1e-9 &&
           fy <= 1 + 1e-9;
}

static void set_stroke(HPDF_Page pg, rgb c, double lw)
{
    HPDF_Page_SetRGBStroke(pg, R(c.r), R(c.g), R(c.b));
    HPDF_Page_SetLineWidth(pg, R(lw));
}

static void set_fill(HPDF_Page pg, rgb c)
{
    HPDF_Page_SetRGBFill(pg, R(c.r), R(c.g), R(c.b));
}

static void set_dash(HPDF_Page pg, int dash)
{
    static const HPDF_UINT16 dashed[] = {4, 2};
    static const HPDF_UINT16 dotted[] = {1, 2};
    if (dash == 1)
        HPDF_Page_SetDash(pg, dashed, 2, 0);
    else if (dash == 2)
        HPDF_Page_SetDash(pg, dotted, 2, 0);
    else
        HPDF_Page_SetDash(pg, NULL, 0, 0);
}

/* ---- axes ---- */

void plot_begin(plot *p, rdoc *d, const char *name, double x, double y, double w, double h,
                const plot_axis *xa, const plot_axis *ya)
{
    memset(p, 0, sizeof *p);
    p->d = d;
    p->x = x;
    p->y = y;
    p->w = w;
    p->h = h;
    p->xa = *xa;
    p->ya = *ya;
    doc_figure(d, name, x, y, w, h);
    HPDF_Page pg = d->page;
    double bottom = d->ph - (y + h);
    set_fill(pg, (rgb){0.985, 0.985, 0.99});
    HPDF_Page_Rectangle(pg, R(x), R(bottom), R(w), R(h));
    HPDF_Page_Fill(pg);

    double ticks[64];
    char lab[64];
    rgb grid = {0.86, 0.86, 0.89};
    /* Minor log ticks (2..9 per decade) as faint grid lines. */
    for (int axis = 0; axis < 2; axis++) {
        const plot_axis *a = axis ? &p->ya : &p->xa;
        if (a->scale != PLOT_LOG || log10(a->hi / a->lo) > 4.5)
            continue;
        set_stroke(pg, (rgb){0.93, 0.93, 0.95}, 0.3);
        int any = 0;
        for (double base = pow(10, floor(log10(a->lo) + 1e-9)); base < a->hi * 0.999; base *= 10)
            for (int m = 2; m <= 9; m++) {
                double v = base * m;
                if (v <= a->lo * (1 + 1e-9) || v >= a->hi * (1 - 1e-9))
                    continue;
                any = 1;
                if (axis == 0) {
                    HPDF_Page_MoveTo(pg, R(plot_px(p, v)), R(bottom));
                    HPDF_Page_LineTo(pg, R(plot_px(p, v)), R(bottom + h));
                } else {
                    HPDF_Page_MoveTo(pg, R(x), R(plot_py(p, v)));
                    HPDF_Page_LineTo(pg, R(x + w), R(plot_py(p, v)));
                }
            }
        /* An axis from 1 to 2 has no minor tick inside it: stroking the
         * empty path would be a libharu error. */
        if (any)
            HPDF_Page_Stroke(pg);
    }
    /* X ticks. */
    int n = plot_ticks(&p->xa, ticks, 64);
    double step = p->xa.scale == PLOT_LINEAR ? axis_step(&p->xa) : 1;
    for (int i = 0; i < n; i++) {
        double px = plot_px(p, ticks[i]);
        if (p->xa.scale != PLOT_CATEGORY) {
            set_stroke(pg, grid, 0.5);
            HPDF_Page_MoveTo(pg, R(px), R(bottom));
            HPDF_Page_LineTo(pg, R(px), R(bottom + h));
            HPDF_Page_Stroke(pg);
        }
        set_stroke(pg, DOC_GREY, 0.6);
        HPDF_Page_MoveTo(pg, R(px), R(bottom));
        HPDF_Page_LineTo(pg, R(px), R(bottom - 3));
        HPDF_Page_Stroke(pg);
        plot_tick_label(&p->xa, ticks[i], step, lab, sizeof lab);
        doc_text(d, 0, 7.5, px, y + h + 12, 2, DOC_BLACK, lab);
    }
    /* Y ticks. */
    n = plot_ticks(&p->ya, ticks, 64);
    step = p->ya.scale == PLOT_LINEAR ? axis_step(&p->ya) : 1;
    double maxw = 0;
    for (int i = 0; i < n; i++) {
        double pyv = plot_py(p, ticks[i]);
        set_stroke(pg, grid, 0.5);
        HPDF_Page_MoveTo(pg, R(x), R(pyv));
        HPDF_Page_LineTo(pg, R(x + w), R(pyv));
        HPDF_Page_Stroke(pg);
        set_stroke(pg, DOC_GREY, 0.6);
        HPDF_Page_MoveTo(pg, R(x), R(pyv));
        HPDF_Page_LineTo(pg, R(x - 3), R(pyv));
        HPDF_Page_Stroke(pg);
        plot_tick_label(&p->ya, ticks[i], step, lab, sizeof lab);
        double tw = doc_width(d, 0, 7.5, lab);
        if (tw > maxw)
            maxw = tw;
        doc_text(d, 0, 7.5, x - 5, d->ph - pyv + 2.6, 1, DOC_BLACK, lab);
    }
    set_stroke(pg, DOC_GREY, 0.7);
    HPDF_Page_Rectangle(pg, R(x), R(bottom), R(w), R(h));
    HPDF_Page_Stroke(pg);
    if (p->xa.label)
        doc_text(d, 0, 8.5, x + w / 2, y + h + 25, 2, DOC_BLACK, p->xa.label);
    if (p->ya.label)
        doc_text_up(d, 0, 8.5, x - maxw - 12, y + h / 2, DOC_BLACK, p->ya.label);
}

void plot_empty(rdoc *d, const char *name, double x, double y, double w, double h,
                const char *title, const char *message)
{
    doc_figure(d, name, x, y, w, h);
    doc_fill_rect(d, x, y, w, h, (rgb){0.975, 0.975, 0.98});
    doc_stroke_rect(d, x, y, w, h, (rgb){0.80, 0.80, 0.83}, 0.6);
    doc_text(d, 1, 9.5, x, y - 7, 0, DOC_BLACK, title);
    doc_text(d, 0, 9, x + w / 2, y + h / 2, 2, DOC_GREY, message);
}

void plot_title(plot *p, const char *title)
{
    doc_text(p->d, 1, 9.5, p->x, p->y - 7, 0, DOC_BLACK, title);
}

void plot_clip_begin(plot *p)
{
    HPDF_Page pg = p->d->page;
    HPDF_Page_GSave(pg);
    HPDF_Page_Rectangle(pg, R(p->x), R(p->d->ph - (p->y + p->h)), R(p->w), R(p->h));
    HPDF_Page_Clip(pg);
    HPDF_Page_EndPath(pg);
}

void plot_clip_end(plot *p)
{
    HPDF_Page_GRestore(p->d->page);
}

/* ---- marks ---- */

static void marker_path(HPDF_Page pg, plot_marker m, double x, double y, double s)
{
    double r = s / 2;
    switch (m) {
    case MARK_CIRCLE:
        HPDF_Page_Circle(pg, R(x), R(y), R(r));
        break;
    case MARK_TRIANGLE:
        HPDF_Page_MoveTo(pg, R(x), R(y + r * 1.15));
        HPDF_Page_LineTo(pg, R(x - r), R(y - r * 0.75));
        HPDF_Page_LineTo(pg, R(x + r), R(y - r * 0.75));
        HPDF_Page_ClosePath(pg);
        break;
    case MARK_SQUARE:
        HPDF_Page_Rectangle(pg, R(x - r * 0.85), R(y - r * 0.85), R(r * 1.7), R(r * 1.7));
        break;
    case MARK_DIAMOND:
        HPDF_Page_MoveTo(pg, R(x), R(y + r * 1.2));
        HPDF_Page_LineTo(pg, R(x + r), R(y));
        HPDF_Page_LineTo(pg, R(x), R(y - r * 1.2));
        HPDF_Page_LineTo(pg, R(x - r), R(y));
        HPDF_Page_ClosePath(pg);
        break;
    }
}

size_t plot_markers(plot *p, plot_marker m, int filled, double size, rgb c, const double *xs,
                    const double *ys, size_t n, double thin_pt)
{
    HPDF_Page pg = p->d->page;
    size_t gw = 0, gh = 0;
    unsigned char *seen = NULL;
    if (thin_pt > 0) {
        gw = (size_t)(p->w / thin_pt) + 2;
        gh = (size_t)(p->h / thin_pt) + 2;
        seen = calloc(gw * gh, 1);
    }
    if (filled)
        set_fill(pg, c);
    else
        set_stroke(pg, c, 0.7);
    size_t drawn = 0, batch = 0;
    for (size_t i = 0; i < n; i++) {
        if (!plot_inside(p, xs[i], ys[i]))
            continue;
        double px = plot_px(p, xs[i]), pyv = plot_py(p, ys[i]);
        if (seen) {
            size_t gx = (size_t)((px - p->x) / thin_pt),
                   gy = (size_t)((pyv - (p->d->ph - p->y - p->h)) / thin_pt);
            if (gx >= gw || gy >= gh || seen[gy * gw + gx])
                continue;
            seen[gy * gw + gx] = 1;
        }
        marker_path(pg, m, px, pyv, size);
        drawn++;
        /* Flush long paths in batches so viewers never meet huge paths. */
        if (++batch == 500) {
            if (filled)
                HPDF_Page_Fill(pg);
            else
                HPDF_Page_Stroke(pg);
            batch = 0;
        }
    }
    if (batch) {
        if (filled)
            HPDF_Page_Fill(pg);
        else
            HPDF_Page_Stroke(pg);
    }
    free(seen);
    return drawn;
}

void plot_line(plot *p, const double *xs, const double *ys, size_t n, rgb c, double lw, int dash)
{
    HPDF_Page pg = p->d->page;
    set_stroke(pg, c, lw);
    set_dash(pg, dash);
    int pen = 0, any = 0;
    for (size_t i = 0; i < n; i++) {
        double fx = frac(&p->xa, xs[i]), fy = frac(&p->ya, ys[i]);
        if (!isfinite(fx) || !isfinite(fy)) {
            pen = 0;
            continue;
        }
        if (pen)
            HPDF_Page_LineTo(pg, R(plot_px(p, xs[i])), R(plot_py(p, ys[i])));
        else
            HPDF_Page_MoveTo(pg, R(plot_px(p, xs[i])), R(plot_py(p, ys[i])));
        pen = any = 1;
    }
    /* A curve with no finite point (e.g. a model that could not be fitted)
     * draws nothing: stroking an empty path is a libharu error. */
    if (any)
        HPDF_Page_Stroke(pg);
    set_dash(pg, 0);
}

/* On a log axis a bound at or below zero is drawn at the axis floor (the
 * plot is clipped there anyway), so an interval reaching zero stays visible. */
static double floor_log(const plot_axis *a, double v)
{
    if (a->scale == PLOT_LOG && !isnan(v) && v <= a->lo)
        return a->lo * 0.5;
    return v;
}

void plot_band(plot *p, const double *xs, const double *lo_in, const double *hi, size_t n, rgb c,
               int light)
{
    HPDF_Page pg = p->d->page;
    double *lo = malloc((n ? n : 1) * sizeof *lo);
    if (!lo)
        return;
    for (size_t i = 0; i < n; i++)
        lo[i] = floor_log(&p->ya, lo_in[i]);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(frac(&p->xa, xs[i])) && isfinite(frac(&p->ya, lo[i])) &&
            isfinite(frac(&p->ya, hi[i])))
            m++;
    if (m < 2) {
        free(lo);
        return;
    }
    HPDF_Page_GSave(pg);
    HPDF_Page_SetExtGState(pg, light ? p->d->alpha_light : p->d->alpha_band);
    set_fill(pg, c);
    int first = 1;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(frac(&p->xa, xs[i])) || !isfinite(frac(&p->ya, lo[i])) ||
            !isfinite(frac(&p->ya, hi[i])))
            continue;
        if (first)
            HPDF_Page_MoveTo(pg, R(plot_px(p, xs[i])), R(plot_py(p, lo[i])));
        else
            HPDF_Page_LineTo(pg, R(plot_px(p, xs[i])), R(plot_py(p, lo[i])));
        first = 0;
    }
    for (size_t i = n; i-- > 0;) {
        if (!isfinite(frac(&p->xa, xs[i])) || !isfinite(frac(&p->ya, lo[i])) ||
            !isfinite(frac(&p->ya, hi[i])))
            continue;
        HPDF_Page_LineTo(pg, R(plot_px(p, xs[i])), R(plot_py(p, hi[i])));
    }
    HPDF_Page_ClosePath(pg);
    HPDF_Page_Fill(pg);
    HPDF_Page_GRestore(pg);
    free(lo);
}

void plot_whisker(plot *p, double x, double lo, double hi, double cap_pt, rgb c, double lw)
{
    lo = floor_log(&p->ya, lo);
    if (!isfinite(frac(&p->ya, lo)) || !isfinite(frac(&p->ya, hi)))
        return;
    HPDF_Page pg = p->d->page;
    double px = plot_px(p, x), y0 = plot_py(p, lo), y1 = plot_py(p, hi);
    set_stroke(pg, c, lw);
    HPDF_Page_MoveTo(pg, R(px), R(y0));
    HPDF_Page_LineTo(pg, R(px), R(y1));
    HPDF_Page_MoveTo(pg, R(px - cap_pt), R(y0));
    HPDF_Page_LineTo(pg, R(px + cap_pt), R(y0));
    HPDF_Page_MoveTo(pg, R(px - cap_pt), R(y1));
    HPDF_Page_LineTo(pg, R(px + cap_pt), R(y1));
    HPDF_Page_Stroke(pg);
}

void plot_hline(plot *p, double y, rgb c, double lw, int dash)
{
    if (!isfinite(frac(&p->ya, y)))
        return;
    HPDF_Page pg = p->d->page;
    set_stroke(pg, c, lw);
    set_dash(pg, dash);
    HPDF_Page_MoveTo(pg, R(p->x), R(plot_py(p, y)));
    HPDF_Page_LineTo(pg, R(p->x + p->w), R(plot_py(p, y)));
    HPDF_Page_Stroke(pg);
    set_dash(pg, 0);
}

void plot_box(plot *p, double x, double half_w, double q1, double med, double q3, double wlo,
              double whi, const double *outliers, size_t n_outliers, rgb c)
{
    HPDF_Page pg = p->d->page;
    double px = plot_px(p, x);
    if (isfinite(frac(&p->ya, wlo)) && isfinite(frac(&p->ya, whi)) && isfinite(frac(&p->ya, q1)) &&
        isfinite(frac(&p->ya, q3))) {
        set_stroke(pg, c, 0.8);
        HPDF_Page_MoveTo(pg, R(px), R(plot_py(p, wlo)));
        HPDF_Page_LineTo(pg, R(px), R(plot_py(p, q1)));
        HPDF_Page_MoveTo(pg, R(px), R(plot_py(p, q3)));
        HPDF_Page_LineTo(pg, R(px), R(plot_py(p, whi)));
        HPDF_Page_MoveTo(pg, R(px - half_w / 2), R(plot_py(p, wlo)));
        HPDF_Page_LineTo(pg, R(px + half_w / 2), R(plot_py(p, wlo)));
        HPDF_Page_MoveTo(pg, R(px - half_w / 2), R(plot_py(p, whi)));
        HPDF_Page_LineTo(pg, R(px + half_w / 2), R(plot_py(p, whi)));
        HPDF_Page_Stroke(pg);
    }
    if (isfinite(frac(&p->ya, q1)) && isfinite(frac(&p->ya, q3))) {
        double y0 = plot_py(p, q1), y1 = plot_py(p, q3);
        if (y1 - y0 < 1.2) {
            y0 -= 0.6;
            y1 += 0.6;
        }
        HPDF_Page_GSave(pg);
        HPDF_Page_SetExtGState(pg, p->d->alpha_band);
        set_fill(pg, c);
        HPDF_Page_Rectangle(pg, R(px - half_w), R(y0), R(2 * half_w), R(y1 - y0));
        HPDF_Page_Fill(pg);
        HPDF_Page_GRestore(pg);
        set_stroke(pg, c, 0.9);
        HPDF_Page_Rectangle(pg, R(px - half_w), R(y0), R(2 * half_w), R(y1 - y0));
        HPDF_Page_Stroke(pg);
    }
    if (isfinite(frac(&p->ya, med))) {
        set_stroke(pg, c, 1.8);
        HPDF_Page_MoveTo(pg, R(px - half_w), R(plot_py(p, med)));
        HPDF_Page_LineTo(pg, R(px + half_w), R(plot_py(p, med)));
        HPDF_Page_Stroke(pg);
    }
    set_stroke(pg, c, 0.7);
    int any = 0;
    for (size_t i = 0; i < n_outliers; i++) {
        if (!isfinite(frac(&p->ya, outliers[i])))
            continue;
        HPDF_Page_Circle(pg, R(px), R(plot_py(p, outliers[i])), 2.0f);
        any = 1;
    }
    if (any)
        HPDF_Page_Stroke(pg);
}

void plot_legend(plot *p, const plot_legend_item *items, int n, int corner)
{
    if (n <= 0)
        return;
    rdoc *d = p->d;
    double fs = 7.5, row = 11, sw = 16, pad = 5, maxw = 0;
    for (int i = 0; i < n; i++) {
        double w = doc_width(d, 0, fs, items[i].label);
        if (w > maxw)
            maxw = w;
    }
    double bw = pad * 2 + sw + 4 + maxw, bh = pad * 2 + row * n - 2;
    double bx = (corner == 0 || corner == 3) ? p->x + 6 : p->x + p->w - bw - 6;
    double by = (corner <= 1) ? p->y + 6 : p->y + p->h - bh - 6;
    doc_fill_rect(d, bx, by, bw, bh, DOC_WHITE);
    doc_stroke_rect(d, bx, by, bw, bh, (rgb){0.75, 0.75, 0.78}, 0.5);
    HPDF_Page pg = d->page;
    for (int i = 0; i < n; i++) {
        const plot_legend_item *it = &items[i];
        double cy = by + pad + row * i + row / 2 - 1; /* top-left coordinates */
        double sx = bx + pad, pyv = d->ph - cy;
        switch (it->kind) {
        case 0:
            if (it->filled)
                set_fill(pg, it->c);
            else
                set_stroke(pg, it->c, 0.7);
            marker_path(pg, it->marker, sx + sw / 2, pyv, 4.5);
            if (it->filled)
                HPDF_Page_Fill(pg);
            else
                HPDF_Page_Stroke(pg);
            break;
        case 2:
            HPDF_Page_GSave(pg);
            HPDF_Page_SetExtGState(pg, d->alpha_band);
            set_fill(pg, it->c);
            HPDF_Page_Rectangle(pg, R(sx), R(pyv - 3.5), R(sw), R(7));
            HPDF_Page_Fill(pg);
            HPDF_Page_GRestore(pg);
            break;
        default:
            set_stroke(pg, it->c, 1.4);
            set_dash(pg, it->kind == 3 ? 1 : 0);
            HPDF_Page_MoveTo(pg, R(sx), R(pyv));
            HPDF_Page_LineTo(pg, R(sx + sw), R(pyv));
            HPDF_Page_Stroke(pg);
            set_dash(pg, 0);
            break;
        }
        doc_text(d, 0, fs, sx + sw + 4, cy + 2.7, 0, DOC_BLACK, it->label);
    }
}
