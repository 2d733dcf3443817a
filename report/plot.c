/* plot.c - plotting primitives (report/plot.h): scales and nice ticks,
 * axes and grid, markers with thinning, lines, bands, whiskers, box plots,
 * legends.
 */
#include "report/plot.h"

#include "report/draw.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    /* Ends within +-1e300 (log: 1e-300 .. 1e300), so that the range, its
     * steps and decades stay finite and non-zero (1e308 - -1e308 is inf,
     * and the decade below 5e-324 is 0). */
    lo = fmax(-1e300, fmin(lo, 1e300));
    hi = fmax(-1e300, fmin(hi, 1e300));
    if (a->scale == PLOT_LOG) {
        if (!(lo > 0))
            lo = hi > 0 ? hi / 10 : 1;
        if (!(hi > 0))
            hi = lo * 10;
        lo = fmax(lo, 1e-300);
        hi = fmax(hi, 1e-299);
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

plot_axis plot_axis_nice(plot_scale scale, const char *label, const char *const *cats, int n_cats,
                         double lo, double hi, int from_zero)
{
    plot_axis a = {scale, 0, 0, label, cats, n_cats};
    plot_nice_range(&a, lo, hi, from_zero);
    return a;
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

/* Where v falls on the axis: 0 at lo, 1 at hi; NaN when it cannot be
 * placed (not finite, or <= 0 on a log axis). A finite value more than a
 * million axis lengths away is held there, so that page coordinates stay
 * finite (1e300 on an axis up to 1 would be infinite). */
static double frac(const plot_axis *a, double v)
{
    if (!isfinite(v))
        return NAN;
    double f = a->scale == PLOT_LOG
                   ? ((v > 0) ? (log10(v) - log10(a->lo)) / (log10(a->hi) - log10(a->lo)) : NAN)
                   : (v - a->lo) / (a->hi - a->lo);
    return f > 1e6 ? 1e6 : f < -1e6 ? -1e6 : f;
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

/* ---- axes ---- */

/* Minor log ticks (2..9 per decade) as faint grid lines. */
static void minor_log_grid(plot *p)
{
    rdoc *d = p->d;
    double x = p->x, w = p->w, h = p->h, bottom = d->ph - (p->y + h);
    for (int axis = 0; axis < 2; axis++) {
        const plot_axis *a = axis ? &p->ya : &p->xa;
        if (a->scale != PLOT_LOG || log10(a->hi / a->lo) > 4.5)
            continue;
        draw_stroke_style(d, (rgb){0.93, 0.93, 0.95}, 0.3);
        int any = 0;
        for (double base = pow(10, floor(log10(a->lo) + 1e-9)); base < a->hi * 0.999; base *= 10)
            for (int m = 2; m <= 9; m++) {
                double v = base * m;
                if (v <= a->lo * (1 + 1e-9) || v >= a->hi * (1 - 1e-9))
                    continue;
                any = 1;
                if (axis == 0) {
                    draw_move(d, plot_px(p, v), bottom);
                    draw_line(d, plot_px(p, v), bottom + h);
                } else {
                    draw_move(d, x, plot_py(p, v));
                    draw_line(d, x + w, plot_py(p, v));
                }
            }
        /* An axis from 1 to 2 has no minor tick inside it: stroking the
         * empty path would be a libharu error. */
        if (any)
            draw_stroke(d);
    }
}

static const rgb GRID = {0.86, 0.86, 0.89};

/* One stroked segment in style (c, lw). */
static void segment(rdoc *d, rgb c, double lw, double x0, double y0, double x1, double y1)
{
    draw_stroke_style(d, c, lw);
    draw_move(d, x0, y0);
    draw_line(d, x1, y1);
    draw_stroke(d);
}

/* X ticks: grid line (not for categories), tick mark, label. */
static void x_ticks(plot *p)
{
    rdoc *d = p->d;
    double ticks[64], bottom = d->ph - (p->y + p->h);
    char lab[64];
    int n = plot_ticks(&p->xa, ticks, 64);
    double step = p->xa.scale == PLOT_LINEAR ? axis_step(&p->xa) : 1;
    for (int i = 0; i < n; i++) {
        double px = plot_px(p, ticks[i]);
        if (p->xa.scale != PLOT_CATEGORY)
            segment(d, GRID, 0.5, px, bottom, px, bottom + p->h);
        segment(d, DOC_GREY, 0.6, px, bottom, px, bottom - 3);
        plot_tick_label(&p->xa, ticks[i], step, lab, sizeof lab);
        doc_text(d, 0, 7.5, px, p->y + p->h + 12, 2, DOC_BLACK, lab);
    }
}

/* Y ticks: grid line, tick mark, label; returns the widest label's width. */
static double y_ticks(plot *p)
{
    rdoc *d = p->d;
    double ticks[64], x = p->x;
    char lab[64];
    int n = plot_ticks(&p->ya, ticks, 64);
    double step = p->ya.scale == PLOT_LINEAR ? axis_step(&p->ya) : 1;
    double maxw = 0;
    for (int i = 0; i < n; i++) {
        double pyv = plot_py(p, ticks[i]);
        segment(d, GRID, 0.5, x, pyv, x + p->w, pyv);
        segment(d, DOC_GREY, 0.6, x, pyv, x - 3, pyv);
        plot_tick_label(&p->ya, ticks[i], step, lab, sizeof lab);
        double tw = doc_width(d, 0, 7.5, lab);
        if (tw > maxw)
            maxw = tw;
        doc_text(d, 0, 7.5, x - 5, d->ph - pyv + 2.6, 1, DOC_BLACK, lab);
    }
    return maxw;
}

void plot_begin(plot *p, rdoc *d, const char *name, double x, double y, double w, double h,
                const plot_axis *xa, const plot_axis *ya)
{
    *p = (plot){.d = d, .x = x, .y = y, .w = w, .h = h, .xa = *xa, .ya = *ya};
    doc_figure(d, name, x, y, w, h);
    double bottom = d->ph - (y + h);
    draw_fill_colour(d, (rgb){0.985, 0.985, 0.99});
    draw_rect(d, x, bottom, w, h);
    draw_fill(d);
    minor_log_grid(p);
    x_ticks(p);
    double maxw = y_ticks(p);
    draw_stroke_style(d, DOC_GREY, 0.7);
    draw_rect(d, x, bottom, w, h);
    draw_stroke(d);
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
    rdoc *d = p->d;
    draw_save(d);
    draw_rect(d, p->x, p->d->ph - (p->y + p->h), p->w, p->h);
    draw_clip(d);
}

void plot_clip_end(plot *p)
{
    draw_restore(p->d);
}

/* ---- marks ---- */

static void marker_path(rdoc *d, plot_marker m, double x, double y, double s)
{
    double r = s / 2;
    switch (m) {
    case MARK_CIRCLE:
        draw_circle(d, x, y, r);
        break;
    case MARK_TRIANGLE:
        draw_move(d, x, y + r * 1.15);
        draw_line(d, x - r, y - r * 0.75);
        draw_line(d, x + r, y - r * 0.75);
        draw_close(d);
        break;
    case MARK_SQUARE:
        draw_rect(d, x - r * 0.85, y - r * 0.85, r * 1.7, r * 1.7);
        break;
    case MARK_DIAMOND:
        draw_move(d, x, y + r * 1.2);
        draw_line(d, x + r, y);
        draw_line(d, x, y - r * 1.2);
        draw_line(d, x - r, y);
        draw_close(d);
        break;
    }
}

size_t plot_markers(plot *p, plot_marker m, int filled, double size, rgb c, const double *xs,
                    const double *ys, size_t n, double thin_pt)
{
    rdoc *d = p->d;
    size_t gw = 0, gh = 0;
    unsigned char *seen = NULL;
    if (thin_pt > 0) {
        gw = (size_t)(p->w / thin_pt) + 2;
        gh = (size_t)(p->h / thin_pt) + 2;
        seen = calloc(gw * gh, 1);
    }
    if (filled)
        draw_fill_colour(d, c);
    else
        draw_stroke_style(d, c, 0.7);
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
        marker_path(d, m, px, pyv, size);
        drawn++;
        /* Flush long paths in batches so viewers never meet huge paths. */
        if (++batch == 500) {
            if (filled)
                draw_fill(d);
            else
                draw_stroke(d);
            batch = 0;
        }
    }
    if (batch) {
        if (filled)
            draw_fill(d);
        else
            draw_stroke(d);
    }
    free(seen);
    return drawn;
}

void plot_line(plot *p, const double *xs, const double *ys, size_t n, rgb c, double lw, int dash)
{
    rdoc *d = p->d;
    draw_stroke_style(d, c, lw);
    draw_dash(d, dash);
    int pen = 0, any = 0;
    for (size_t i = 0; i < n; i++) {
        double fx = frac(&p->xa, xs[i]), fy = frac(&p->ya, ys[i]);
        if (!isfinite(fx) || !isfinite(fy)) {
            pen = 0;
            continue;
        }
        if (pen)
            draw_line(d, plot_px(p, xs[i]), plot_py(p, ys[i]));
        else
            draw_move(d, plot_px(p, xs[i]), plot_py(p, ys[i]));
        pen = any = 1;
    }
    /* A curve with no finite point (e.g. a model that could not be fitted)
     * draws nothing: stroking an empty path is a libharu error. */
    if (any)
        draw_stroke(d);
    draw_dash(d, 0);
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
    rdoc *d = p->d;
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
    draw_save(d);
    draw_alpha(d, light ? d->alpha_light : d->alpha_band);
    draw_fill_colour(d, c);
    int first = 1;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(frac(&p->xa, xs[i])) || !isfinite(frac(&p->ya, lo[i])) ||
            !isfinite(frac(&p->ya, hi[i])))
            continue;
        if (first)
            draw_move(d, plot_px(p, xs[i]), plot_py(p, lo[i]));
        else
            draw_line(d, plot_px(p, xs[i]), plot_py(p, lo[i]));
        first = 0;
    }
    for (size_t i = n; i-- > 0;) {
        if (!isfinite(frac(&p->xa, xs[i])) || !isfinite(frac(&p->ya, lo[i])) ||
            !isfinite(frac(&p->ya, hi[i])))
            continue;
        draw_line(d, plot_px(p, xs[i]), plot_py(p, hi[i]));
    }
    draw_close(d);
    draw_fill(d);
    draw_restore(d);
    free(lo);
}

void plot_whisker(plot *p, double x, double lo, double hi, double cap_pt, rgb c, double lw)
{
    lo = floor_log(&p->ya, lo);
    if (!isfinite(frac(&p->xa, x)) || !isfinite(frac(&p->ya, lo)) || !isfinite(frac(&p->ya, hi)))
        return;
    rdoc *d = p->d;
    double px = plot_px(p, x), y0 = plot_py(p, lo), y1 = plot_py(p, hi);
    draw_stroke_style(d, c, lw);
    draw_move(d, px, y0);
    draw_line(d, px, y1);
    draw_move(d, px - cap_pt, y0);
    draw_line(d, px + cap_pt, y0);
    draw_move(d, px - cap_pt, y1);
    draw_line(d, px + cap_pt, y1);
    draw_stroke(d);
}

void plot_hline(plot *p, double y, rgb c, double lw, int dash)
{
    if (!isfinite(frac(&p->ya, y)))
        return;
    rdoc *d = p->d;
    draw_stroke_style(d, c, lw);
    draw_dash(d, dash);
    draw_move(d, p->x, plot_py(p, y));
    draw_line(d, p->x + p->w, plot_py(p, y));
    draw_stroke(d);
    draw_dash(d, 0);
}

void plot_box(plot *p, double x, double half_w, double q1, double med, double q3, double wlo,
              double whi, const double *outliers, size_t n_outliers, rgb c)
{
    rdoc *d = p->d;
    if (!isfinite(frac(&p->xa, x)))
        return;
    double px = plot_px(p, x);
    if (isfinite(frac(&p->ya, wlo)) && isfinite(frac(&p->ya, whi)) && isfinite(frac(&p->ya, q1)) &&
        isfinite(frac(&p->ya, q3))) {
        draw_stroke_style(d, c, 0.8);
        draw_move(d, px, plot_py(p, wlo));
        draw_line(d, px, plot_py(p, q1));
        draw_move(d, px, plot_py(p, q3));
        draw_line(d, px, plot_py(p, whi));
        draw_move(d, px - half_w / 2, plot_py(p, wlo));
        draw_line(d, px + half_w / 2, plot_py(p, wlo));
        draw_move(d, px - half_w / 2, plot_py(p, whi));
        draw_line(d, px + half_w / 2, plot_py(p, whi));
        draw_stroke(d);
    }
    if (isfinite(frac(&p->ya, q1)) && isfinite(frac(&p->ya, q3))) {
        double y0 = plot_py(p, q1), y1 = plot_py(p, q3);
        if (y1 - y0 < 1.2) {
            y0 -= 0.6;
            y1 += 0.6;
        }
        draw_save(d);
        draw_alpha(d, d->alpha_band);
        draw_fill_colour(d, c);
        draw_rect(d, px - half_w, y0, 2 * half_w, y1 - y0);
        draw_fill(d);
        draw_restore(d);
        draw_stroke_style(d, c, 0.9);
        draw_rect(d, px - half_w, y0, 2 * half_w, y1 - y0);
        draw_stroke(d);
    }
    if (isfinite(frac(&p->ya, med))) {
        draw_stroke_style(d, c, 1.8);
        draw_move(d, px - half_w, plot_py(p, med));
        draw_line(d, px + half_w, plot_py(p, med));
        draw_stroke(d);
    }
    draw_stroke_style(d, c, 0.7);
    int any = 0;
    for (size_t i = 0; i < n_outliers; i++) {
        if (!isfinite(frac(&p->ya, outliers[i])))
            continue;
        draw_circle(d, px, plot_py(p, outliers[i]), 2.0f);
        any = 1;
    }
    if (any)
        draw_stroke(d);
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
    for (int i = 0; i < n; i++) {
        const plot_legend_item *it = &items[i];
        double cy = by + pad + row * i + row / 2 - 1; /* top-left coordinates */
        double sx = bx + pad, pyv = d->ph - cy;
        switch (it->kind) {
        case 0:
            if (it->filled)
                draw_fill_colour(d, it->c);
            else
                draw_stroke_style(d, it->c, 0.7);
            marker_path(d, it->marker, sx + sw / 2, pyv, 4.5);
            if (it->filled)
                draw_fill(d);
            else
                draw_stroke(d);
            break;
        case 2:
            draw_save(d);
            draw_alpha(d, d->alpha_band);
            draw_fill_colour(d, it->c);
            draw_rect(d, sx, pyv - 3.5, sw, 7);
            draw_fill(d);
            draw_restore(d);
            break;
        default:
            draw_stroke_style(d, it->c, 1.4);
            draw_dash(d, it->kind == 3 ? 1 : 0);
            draw_move(d, sx, pyv);
            draw_line(d, sx + sw, pyv);
            draw_stroke(d);
            draw_dash(d, 0);
            break;
        }
        doc_text(d, 0, fs, sx + sw + 4, cy + 2.7, 0, DOC_BLACK, it->label);
    }
}
