/* pages.c - what every page_*.c shares: the series styling (colour and
 * marker per target and cache mode), a target's legend label, and the
 * caption paragraph below a figure.
 */
#include "report/pages.h"

#include <stdio.h>

static const rgb COLD[] = {{0.84, 0.37, 0.00}, {0.80, 0.47, 0.65}, {0.90, 0.62, 0.00}};
static const rgb WARM[] = {{0.00, 0.45, 0.70}, {0.00, 0.62, 0.45}, {0.34, 0.71, 0.91}};

rgb pages_colour(size_t target, int warm)
{
    return warm ? WARM[target % 3] : COLD[target % 3];
}

plot_marker pages_marker(size_t target, int warm)
{
    if (target % 2 == 0)
        return warm ? MARK_TRIANGLE : MARK_CIRCLE;
    return warm ? MARK_DIAMOND : MARK_SQUARE;
}

const char *pages_target_label(const rr_results *r, size_t t, char *out, size_t cap)
{
    snprintf(out, cap, "%s", r->targets[t].name[0] ? r->targets[t].name : "target");
    return out;
}

void pages_caption(rdoc *d, double y, const char *s)
{
    double keep = d->y;
    d->y = y;
    doc_paragraph(d, 0, 7.5, d->left, d->right - d->left, DOC_GREY, s);
    if (d->y < keep)
        d->y = keep;
}

/* A figure's plotting area across the page (room for the y axis on the
 * left): x and width w. */
static void pages_area(const rdoc *d, double *x, double *w)
{
    *x = d->left + 52;
    *w = d->right - *x - 4;
}

void pages_plot_begin(plot *p, rdoc *d, const char *name, double y, double h, const plot_axis *xa,
                      const plot_axis *ya)
{
    double x, w;
    pages_area(d, &x, &w);
    plot_begin(p, d, name, x, y, w, h, xa, ya);
}

void pages_plot_empty(rdoc *d, const char *name, double y, double h, const char *title,
                      const char *why)
{
    double x, w;
    pages_area(d, &x, &w);
    plot_empty(d, name, x, y, w, h, title, why);
}
