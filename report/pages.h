/* pages.h - the report's page layout: page 1 (verdict), figures, tables,
 * method and environment, contention. Each page_X function lives in
 * report/page_X.c, starts its own page(s) and draws only numbers read from
 * results.json, formatted by report/fmt.h; the pages_* helpers they share
 * live in report/pages.c.
 */
#ifndef KV_REPORT_PAGES_H
#define KV_REPORT_PAGES_H

#include "report/doc.h"
#include "report/plot.h"
#include "report/results_read.h"

/* Returns 1 when the four questions did not fit on page 1 and must be drawn
 * by page_summary_questions (at the start of the tables). */
int page_summary(rdoc *d, const rr_results *r);
void page_summary_questions(rdoc *d, const rr_results *r);
void page_figures(rdoc *d, const rr_results *r);
/* questions: 1 to open with the four questions (deferred from page 1). */
void page_tables(rdoc *d, const rr_results *r, int questions);
void page_method(rdoc *d, const rr_results *r);
/* "How many sessions stay warm" (report/page_contention.c): nothing when
 * results.json has no contention section. */
void page_contention(rdoc *d, const rr_results *r);
/* Its one sentence on page 1, at the cursor (nothing without the section). */
void page_contention_verdict(rdoc *d, const rr_results *r);

/* Series styling shared by figures and legends: colour and marker per
 * target index and cache mode (warm 1 / cold 0). */
rgb pages_colour(size_t target, int warm);
plot_marker pages_marker(size_t target, int warm);
/* A target's label for legends: its name, or "target" when it has none
 * (cut to cap bytes); returns out. */
const char *pages_target_label(const rr_results *r, size_t t, char *out, size_t cap);
/* A caption paragraph (small, grey) at y; the cursor ends below it, or
 * stays where it was when that is lower. */
void pages_caption(rdoc *d, double y, const char *s);
/* plot_begin over a figure's plotting area across the page (room for the
 * y axis on the left), from y, h points high. */
void pages_plot_begin(plot *p, rdoc *d, const char *name, double y, double h, const plot_axis *xa,
                      const plot_axis *ya);
/* plot_empty (title, and why nothing is drawn) over the same area. */
void pages_plot_empty(rdoc *d, const char *name, double y, double h, const char *title,
                      const char *why);

#endif
