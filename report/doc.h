/* doc.h - the report's document context: the libharu document, its fonts,
 * the page cursor, page decorations (simulated/partial bands, running header,
 * page numbers), text drawing and wrapping, and the figure registry.
 *
 * Coordinates given to doc_* are in points from the page's TOP-left corner;
 * doc converts to PDF's bottom-left origin. libharu errors are recorded by an
 * error handler (no longjmp) and checked with doc_check at page boundaries.
 * Every number reaching a page goes through report/draw.h, which checks it.
 * HPDF_* never leaves report/.
 */
#ifndef KV_REPORT_DOC_H
#define KV_REPORT_DOC_H

#include <stdbool.h>
#include <stddef.h>

#include <hpdf.h>

#include "common/status.h"
#include "report/rdoc.h"

/* Creates the document with DejaVu Sans (regular and bold) embedded and the
 * UTF-8 encoder. run_date (ISO 8601) sets the info dates; "" omits them. */
kv_status doc_init(rdoc *d, const char *title, const char *run_date, char *err) KV_MUST_USE;
void doc_free(rdoc *d);
/* KV_ERR_INTERNAL with libharu's code when an error was recorded. */
kv_status doc_check(rdoc *d, char *err) KV_MUST_USE;
/* Starts a page: decorations drawn, cursor at the top of the content. */
void doc_new_page(rdoc *d);
/* Starts a new page unless h points fit below the cursor. */
void doc_ensure(rdoc *d, double h);
/* Draws "Page i of N" footers on every page; call once before saving. */
void doc_finish(rdoc *d);
kv_status doc_save(rdoc *d, const char *path, char *err) KV_MUST_USE;

/* Text. y is the baseline from the top. align: 0 left, 1 right (x is the
 * right edge), 2 centre (x is the centre). */
double doc_width(rdoc *d, int bold, double size, const char *s);
void doc_text(rdoc *d, int bold, double size, double x, double y, int align, rgb c, const char *s);
/* Rotated 90 degrees counter-clockwise, centred on (x, y). */
void doc_text_up(rdoc *d, int bold, double size, double x, double y, rgb c, const char *s);
/* The lines of s wrapped no wider than w (at spaces; inside a word only
 * when one word is wider than w; each '\n' starts a new line), one at a
 * time, for a loop that draws them:
 *     doc_wrapped it = doc_wrap_begin(d, bold, size, w, s);
 *     while (doc_wrap_next(&it, buf, sizeof buf))
 *         ... draw buf ...
 * The state is doc_wrap_next's own; s must outlive it. */
typedef struct doc_wrapped {
    rdoc *d;
    int bold;
    double size, w;
    const char *s; /* the current paragraph and what follows it */
    size_t para;   /* bytes of the current paragraph */
    size_t off;    /* bytes of it already handed out */
    bool in_para;  /* a line of the current paragraph was handed out */
} doc_wrapped;
doc_wrapped doc_wrap_begin(rdoc *d, int bold, double size, double w, const char *s);
/* The next line as a string in buf (cap bytes; cut at cap - 1 bytes; cap 0
 * copies nothing); false when there is none. */
bool doc_wrap_next(doc_wrapped *it, char *buf, size_t cap);
/* Lines s would take at width w. */
int doc_lines(rdoc *d, int bold, double size, double w, const char *s);
/* A wrapped paragraph at the cursor (page breaks as needed); advances y. */
void doc_paragraph(rdoc *d, int bold, double size, double x, double w, rgb c, const char *s);
/* A section heading at the cursor, kept with space for `keep` points after. */
void doc_heading(rdoc *d, const char *s, double keep);
/* Records a figure's plotting area (top-left coordinates) on this page. */
void doc_figure(rdoc *d, const char *name, double x, double y, double w, double h);

/* Shapes in top-left coordinates. */
void doc_fill_rect(rdoc *d, double x, double y, double w, double h, rgb c);
void doc_stroke_rect(rdoc *d, double x, double y, double w, double h, rgb c, double lw);
void doc_hline(rdoc *d, double x0, double x1, double y, rgb c, double lw);

extern const rgb DOC_BLACK, DOC_GREY, DOC_LIGHT, DOC_RED, DOC_GREEN, DOC_AMBER, DOC_WHITE, DOC_BLUE,
    DOC_ORANGE;

#endif
