/* plot.h - plotting primitives drawn through report/draw.h: scales
 * (linear, log10, categorical), nice 1-2-5 ticks and decades, axes with
 * units, markers (with optional thinning), lines, bands, whiskers, box plots
 * and legends. Page layout lives in report/pages*.c, not here.
 *
 * A plot owns nothing; it draws into the rdoc's current page. The plotting
 * area is given in top-left page coordinates and recorded as a figure.
 */
#ifndef KV_REPORT_PLOT_H
#define KV_REPORT_PLOT_H

#include <stddef.h>

#include "report/doc.h"

typedef enum plot_scale { PLOT_LINEAR, PLOT_LOG, PLOT_CATEGORY } plot_scale;

typedef struct plot_axis {
    plot_scale scale;
    double lo, hi;           /* data range shown (categories: 0.5 .. n + 0.5) */
    const char *label;       /* with its unit, e.g. "prompt tokens" */
    const char *const *cats; /* category labels (PLOT_CATEGORY) */
    int n_cats;
} plot_axis;

typedef enum plot_marker { MARK_CIRCLE, MARK_TRIANGLE, MARK_SQUARE, MARK_DIAMOND } plot_marker;

typedef struct plot {
    rdoc *d;
    double x, y, w, h; /* plotting area, top-left coordinates */
    plot_axis xa, ya;
} plot;

/* Nice axis range covering [lo, hi]: 1-2-5 steps (linear, optionally from
 * zero) or whole decades (log; lo > 0 required, else 1). */
void plot_nice_range(plot_axis *a, double lo, double hi, int from_zero);
/* An axis (cats: category labels of PLOT_CATEGORY, else NULL and 0) with
 * its ends from plot_nice_range(lo, hi, from_zero). */
plot_axis plot_axis_nice(plot_scale scale, const char *label, const char *const *cats, int n_cats,
                         double lo, double hi, int from_zero);
/* Tick values of an axis (at most max); returns the count. */
int plot_ticks(const plot_axis *a, double *ticks, int max);
/* Tick label text: integers without decimals, 1-2-5 steps as needed, "1k"
 * style never (units are on the axis label). */
void plot_tick_label(const plot_axis *a, double v, double step, char *out, size_t cap);

/* Sets up the plot, records the figure `name`, draws grid, ticks and labels. */
void plot_begin(plot *p, rdoc *d, const char *name, double x, double y, double w, double h,
                const plot_axis *xa, const plot_axis *ya);
/* A figure whose data is absent: records the figure, draws a framed box with
 * the title and the message instead of empty axes. */
void plot_empty(rdoc *d, const char *name, double x, double y, double w, double h,
                const char *title, const char *message);
/* Title above the plot area (bold) and a caption below the x label. */
void plot_title(plot *p, const char *title);
/* Page coordinates (PDF bottom-left origin) of a data point. */
double plot_px(const plot *p, double x);
double plot_py(const plot *p, double y);
int plot_inside(const plot *p, double x, double y);

/* Clip subsequent drawing to the plotting area until plot_clip_end. */
void plot_clip_begin(plot *p);
void plot_clip_end(plot *p);

/* Markers for n points. Points that fall on the same thin_pt x thin_pt cell
 * of the page as an earlier point are drawn once (thin_pt 0: draw all).
 * Returns how many markers were drawn. */
size_t plot_markers(plot *p, plot_marker m, int filled, double size, rgb c, const double *xs,
                    const double *ys, size_t n, double thin_pt);
/* Polyline through the points that are inside the scale's domain. dash 0:
 * solid, 1: dashed, 2: dotted. */
void plot_line(plot *p, const double *xs, const double *ys, size_t n, rgb c, double lw, int dash);
/* Band between lo(x) and hi(x), filled with alpha (light: 1 lighter). */
void plot_band(plot *p, const double *xs, const double *lo, const double *hi, size_t n, rgb c,
               int light);
/* Vertical interval with caps at x. */
void plot_whisker(plot *p, double x, double lo, double hi, double cap_pt, rgb c, double lw);
/* A horizontal reference line across the plot. */
void plot_hline(plot *p, double y, rgb c, double lw, int dash);
/* Box plot at x, half-width in points. Outliers drawn as open circles. */
void plot_box(plot *p, double x, double half_w, double q1, double med, double q3, double wlo,
              double whi, const double *outliers, size_t n_outliers, rgb c);

typedef struct plot_legend_item {
    const char *label;
    rgb c;
    int kind; /* 0 marker, 1 line, 2 band, 3 dashed line */
    plot_marker marker;
    int filled;
} plot_legend_item;
/* Legend box inside the plot; corner 0 top-left, 1 top-right, 2 bottom-right,
 * 3 bottom-left. */
void plot_legend(plot *p, const plot_legend_item *items, int n, int corner);

#endif
