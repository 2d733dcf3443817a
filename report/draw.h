/* draw.h - the one checked boundary between the report and libharu's page
 * operators. Every number the report hands to a page (coordinates, lengths,
 * radii, line widths, font sizes) passes through a draw_* call; no other
 * file calls HPDF_Page_* to draw.
 *
 * A non-finite number here is a bug upstream (a layout computed from a null
 * estimate): it is counted in rdoc.nonfinite and debug builds assert. In
 * release builds the drawing is skipped: text is not shown, and a path that
 * received one is ended without painting (its points are written as 0 so the
 * path operators stay well-formed). Finite numbers are clamped to libharu's
 * range, +-32767 points, before the conversion to HPDF_REAL (float).
 *
 * Coordinates are PDF's: points from the page's BOTTOM-left corner (doc.h
 * converts from its top-left ones). Every call draws on rdoc.page.
 */
#ifndef KV_REPORT_DRAW_H
#define KV_REPORT_DRAW_H

#include "report/rdoc.h"

/* Colours and line state. */
void draw_fill_colour(rdoc *d, rgb c);
void draw_stroke_style(rdoc *d, rgb c, double line_width);
/* dash 0: solid, 1: dashed, 2: dotted. */
void draw_dash(rdoc *d, int dash);
void draw_alpha(rdoc *d, HPDF_ExtGState state);
void draw_save(rdoc *d);
void draw_restore(rdoc *d);

/* Path construction. */
void draw_move(rdoc *d, double x, double y);
void draw_line(rdoc *d, double x, double y);
void draw_rect(rdoc *d, double x, double y, double w, double h);
void draw_circle(rdoc *d, double x, double y, double r);
void draw_close(rdoc *d);
/* Path painting: each ends the current path. */
void draw_fill(rdoc *d);
void draw_stroke(rdoc *d);
/* Intersects the clipping area with the current path and ends it. */
void draw_clip(rdoc *d);

/* Text at baseline (x, y) with font f; rotated: turned 90 degrees
 * counter-clockwise about (x, y). */
void draw_text(rdoc *d, HPDF_Font f, double size, double x, double y, rgb c, const char *s);
void draw_text_rotated(rdoc *d, HPDF_Font f, double size, double x, double y, rgb c, const char *s);

#endif
