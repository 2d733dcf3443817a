/* rdoc.h - the state every drawing call takes: the colour type and the
 * document context (libharu document, fonts, page cursor, error record,
 * figure registry). doc.h works on it (pages, text, decorations) and
 * draw.h is the checked boundary to libharu's page operators; both
 * include this header, so neither includes the other's.
 *
 * Header only: types, no functions.
 */
#ifndef KV_REPORT_RDOC_H
#define KV_REPORT_RDOC_H

#include <stddef.h>

#include <hpdf.h>

#include "report/figures.h"

typedef struct rgb {
    double r, g, b;
} rgb;

enum { DOC_MAX_PAGES = 256 };

typedef struct rdoc {
    HPDF_Doc pdf;
    HPDF_Font regular, bold;
    HPDF_ExtGState alpha_band, alpha_light, opaque;
    HPDF_Page page;                 /* current page */
    HPDF_Page pages[DOC_MAX_PAGES]; /* every page, for the footers */
    int n_pages;
    double pw, ph;             /* page size, points */
    double left, right;        /* content x range */
    double top, bottom;        /* content y range (from the top) */
    double y;                  /* cursor, from the top */
    HPDF_STATUS error, detail; /* first libharu error, 0 when none */
    size_t nonfinite;          /* non-finite numbers caught by draw.h (a bug) */
    int path_bad;              /* the current path received one: not painted */
    int simulated, partial;
    char header[256]; /* running header text */
    char footer[256]; /* footer left text */
    char partial_text[256];
    report_figure *figs; /* caller's registry (may be NULL) */
    size_t fig_cap, n_figs;
} rdoc;

#endif
