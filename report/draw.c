/* draw.c - the checked boundary to libharu's page operators (report/draw.h):
 * the number check, graphics state, path construction and painting, text.
 */
#include "report/draw.h"

#include <assert.h>
#include <stdbool.h>
#include <math.h>

/* ---- the check ---- */

/* A non-finite number reached the page: counted, and a bug in debug builds. */
static void caught(rdoc *d)
{
    d->nonfinite++;
    assert(!"non-finite number passed to the PDF page");
}

static int finite2(rdoc *d, double a, double b)
{
    if (isfinite(a) && isfinite(b))
        return 1;
    caught(d);
    return 0;
}

/* A finite number within libharu's range (it writes reals as +-32767.xxxxx). */
static HPDF_REAL clamp(double v)
{
    if (v > HPDF_LIMIT_MAX_REAL)
        return (HPDF_REAL)HPDF_LIMIT_MAX_REAL;
    if (v < HPDF_LIMIT_MIN_REAL)
        return (HPDF_REAL)HPDF_LIMIT_MIN_REAL;
    return (HPDF_REAL)v;
}

/* A path coordinate: a non-finite one spoils the path (written as 0). */
static HPDF_REAL path_num(rdoc *d, double v)
{
    if (isfinite(v))
        return clamp(v);
    caught(d);
    d->path_bad = 1;
    return 0;
}

/* ---- graphics state ---- */

void draw_fill_colour(rdoc *d, rgb c)
{
    HPDF_Page_SetRGBFill(d->page, (HPDF_REAL)c.r, (HPDF_REAL)c.g, (HPDF_REAL)c.b);
}

void draw_stroke_style(rdoc *d, rgb c, double line_width)
{
    HPDF_Page_SetRGBStroke(d->page, (HPDF_REAL)c.r, (HPDF_REAL)c.g, (HPDF_REAL)c.b);
    if (!isfinite(line_width)) {
        caught(d);
        line_width = 1;
    }
    /* Out-of-range widths are left to libharu, which reports them. */
    HPDF_Page_SetLineWidth(d->page, clamp(line_width));
}

void draw_dash(rdoc *d, int dash)
{
    static const HPDF_UINT16 dashed[] = {4, 2};
    static const HPDF_UINT16 dotted[] = {1, 2};
    if (dash == 1)
        HPDF_Page_SetDash(d->page, dashed, 2, 0);
    else if (dash == 2)
        HPDF_Page_SetDash(d->page, dotted, 2, 0);
    else
        HPDF_Page_SetDash(d->page, NULL, 0, 0);
}

void draw_alpha(rdoc *d, HPDF_ExtGState state)
{
    HPDF_Page_SetExtGState(d->page, state);
}

void draw_save(rdoc *d)
{
    HPDF_Page_GSave(d->page);
}

void draw_restore(rdoc *d)
{
    HPDF_Page_GRestore(d->page);
}

/* ---- paths ---- */

void draw_move(rdoc *d, double x, double y)
{
    HPDF_REAL px = path_num(d, x), py = path_num(d, y);
    HPDF_Page_MoveTo(d->page, px, py);
}

void draw_line(rdoc *d, double x, double y)
{
    HPDF_REAL px = path_num(d, x), py = path_num(d, y);
    HPDF_Page_LineTo(d->page, px, py);
}

void draw_rect(rdoc *d, double x, double y, double w, double h)
{
    HPDF_REAL px = path_num(d, x), py = path_num(d, y);
    HPDF_REAL pw = path_num(d, w), ph = path_num(d, h);
    HPDF_Page_Rectangle(d->page, px, py, pw, ph);
}

void draw_circle(rdoc *d, double x, double y, double r)
{
    HPDF_REAL px = path_num(d, x), py = path_num(d, y), pr = path_num(d, r);
    HPDF_Page_Circle(d->page, px, py, pr);
}

void draw_close(rdoc *d)
{
    HPDF_Page_ClosePath(d->page);
}

/* Ends a spoiled path without painting it; 1 when it did. */
static int drop_bad_path(rdoc *d)
{
    if (!d->path_bad)
        return 0;
    d->path_bad = 0;
    HPDF_Page_EndPath(d->page);
    return 1;
}

void draw_fill(rdoc *d)
{
    if (!drop_bad_path(d))
        HPDF_Page_Fill(d->page);
}

void draw_stroke(rdoc *d)
{
    if (!drop_bad_path(d))
        HPDF_Page_Stroke(d->page);
}

void draw_clip(rdoc *d)
{
    if (drop_bad_path(d))
        return;
    HPDF_Page_Clip(d->page);
    HPDF_Page_EndPath(d->page);
}

/* ---- text ---- */

/* Opens a text object in colour c and font f at size; false (nothing
 * opened) when a number is not finite. */
static bool text_begin(rdoc *d, HPDF_Font f, double size, double x, double y, rgb c)
{
    if (!finite2(d, x, y) || !finite2(d, size, 0))
        return false;
    HPDF_Page_SetRGBFill(d->page, (HPDF_REAL)c.r, (HPDF_REAL)c.g, (HPDF_REAL)c.b);
    HPDF_Page_BeginText(d->page);
    HPDF_Page_SetFontAndSize(d->page, f, (HPDF_REAL)size);
    return true;
}

void draw_text(rdoc *d, HPDF_Font f, double size, double x, double y, rgb c, const char *s)
{
    if (!text_begin(d, f, size, x, y, c))
        return;
    HPDF_Page_TextOut(d->page, clamp(x), clamp(y), s);
    HPDF_Page_EndText(d->page);
}

void draw_text_rotated(rdoc *d, HPDF_Font f, double size, double x, double y, rgb c, const char *s)
{
    if (!text_begin(d, f, size, x, y, c))
        return;
    HPDF_Page_SetTextMatrix(d->page, 0, 1, -1, 0, clamp(x), clamp(y));
    HPDF_Page_ShowText(d->page, s);
    HPDF_Page_EndText(d->page);
}
