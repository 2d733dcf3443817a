/* doc.c - the report's document context (report/doc.h): creation with
 * embedded fonts and deterministic metadata, the recording error handler,
 * pages and their decorations, text measuring, wrapping and drawing, and
 * simple shapes (drawn through report/draw.h's checked operators).
 */
#include "report/doc.h"

#include "report/draw.h"
#include "report/tounicode.h"

#include <stdio.h>
#include <string.h>

const rgb DOC_BLACK = {0.10, 0.10, 0.12};
const rgb DOC_GREY = {0.42, 0.42, 0.45};
const rgb DOC_LIGHT = {0.93, 0.93, 0.95};
const rgb DOC_RED = {0.78, 0.10, 0.12};
const rgb DOC_GREEN = {0.10, 0.52, 0.25};
const rgb DOC_AMBER = {0.80, 0.52, 0.00};
const rgb DOC_WHITE = {1.0, 1.0, 1.0};
const rgb DOC_BLUE = {0.0, 0.45, 0.70};
const rgb DOC_ORANGE = {0.84, 0.37, 0.0};

#define FONT_REGULAR "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
#define FONT_BOLD "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"

static void on_error(HPDF_STATUS error_no, HPDF_STATUS detail_no, void *user_data)
{
    rdoc *d = user_data;
    if (d->error == 0) {
        d->error = error_no;
        d->detail = detail_no;
    }
}

/* "2025-03-14T09:26:53Z" -> HPDF_Date; 0 when it does not parse. */
static int parse_date(const char *s, HPDF_Date *out)
{
    int y, mo, da, h = 0, mi = 0, se = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &da, &h, &mi, &se) < 3)
        return 0;
    if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || da < 1 || da > 31 || h < 0 || h > 23 ||
        mi < 0 || mi > 59 || se < 0 || se > 59)
        return 0;
    *out = (HPDF_Date){
        .year = y, .month = mo, .day = da, .hour = h, .minutes = mi, .seconds = se, .ind = 'Z'};
    return 1;
}

kv_status doc_init(rdoc *d, const char *title, const char *run_date, char *err)
{
    memset(d, 0, sizeof *d);
    d->pdf = HPDF_New(on_error, d);
    if (!d->pdf)
        return kv_fail(err, KV_ERR_NOMEM, "report: cannot create the PDF document");
    HPDF_SetCompressionMode(d->pdf, HPDF_COMP_ALL);
    HPDF_UseUTFEncodings(d->pdf);
    HPDF_SetCurrentEncoder(d->pdf, "UTF-8");
    const char *r = HPDF_LoadTTFontFromFile(d->pdf, FONT_REGULAR, HPDF_TRUE);
    const char *b = HPDF_LoadTTFontFromFile(d->pdf, FONT_BOLD, HPDF_TRUE);
    if (!r || !b) {
        doc_free(d);
        return kv_fail(err, KV_ERR_IO,
                       "report: cannot load the DejaVu Sans fonts (%s); install fonts-dejavu-core",
                       FONT_REGULAR);
    }
    d->regular = HPDF_GetFont(d->pdf, r, "UTF-8");
    d->bold = HPDF_GetFont(d->pdf, b, "UTF-8");
    /* A libharu without the faulty map has nothing to replace; a failed
     * write is a libharu error, reported by doc_check below. */
    (void)tounicode_install(d->regular);
    (void)tounicode_install(d->bold);
    d->alpha_band = HPDF_CreateExtGState(d->pdf);
    HPDF_ExtGState_SetAlphaFill(d->alpha_band, 0.22f);
    d->alpha_light = HPDF_CreateExtGState(d->pdf);
    HPDF_ExtGState_SetAlphaFill(d->alpha_light, 0.12f);
    d->opaque = HPDF_CreateExtGState(d->pdf);
    HPDF_ExtGState_SetAlphaFill(d->opaque, 1.0f);
    HPDF_SetInfoAttr(d->pdf, HPDF_INFO_TITLE, title);
    HPDF_SetInfoAttr(d->pdf, HPDF_INFO_CREATOR, "kvproof " KVPROOF_VERSION);
    HPDF_SetInfoAttr(d->pdf, HPDF_INFO_SUBJECT, "KV/prefix cache validation report");
    HPDF_Date date;
    if (run_date && parse_date(run_date, &date)) {
        HPDF_SetInfoDateAttr(d->pdf, HPDF_INFO_CREATION_DATE, date);
        HPDF_SetInfoDateAttr(d->pdf, HPDF_INFO_MOD_DATE, date);
    }
    d->pw = 595.276;
    d->ph = 841.89;
    d->left = 50;
    d->right = d->pw - 50;
    d->top = 62;
    d->bottom = d->ph - 48;
    return doc_check(d, err);
}

void doc_free(rdoc *d)
{
    if (d->pdf)
        HPDF_Free(d->pdf);
    d->pdf = NULL;
}

kv_status doc_check(rdoc *d, char *err)
{
    if (d->error == 0)
        return KV_OK;
    return kv_fail(err, KV_ERR_INTERNAL,
                   "report: libharu error 0x%04X (detail %u) while drawing page %d",
                   (unsigned)d->error, (unsigned)d->detail, d->n_pages);
}

static double py(const rdoc *d, double y)
{
    return d->ph - y;
}

void doc_fill_rect(rdoc *d, double x, double y, double w, double h, rgb c)
{
    draw_fill_colour(d, c);
    draw_rect(d, x, py(d, y + h), w, h);
    draw_fill(d);
}

void doc_stroke_rect(rdoc *d, double x, double y, double w, double h, rgb c, double lw)
{
    draw_stroke_style(d, c, lw);
    draw_rect(d, x, py(d, y + h), w, h);
    draw_stroke(d);
}

void doc_hline(rdoc *d, double x0, double x1, double y, rgb c, double lw)
{
    draw_stroke_style(d, c, lw);
    draw_move(d, x0, py(d, y));
    draw_line(d, x1, py(d, y));
    draw_stroke(d);
}

double doc_width(rdoc *d, int bold, double size, const char *s)
{
    HPDF_Font f = bold ? d->bold : d->regular;
    size_t n = strlen(s);
    if (n == 0)
        return 0;
    HPDF_TextWidth tw = HPDF_Font_TextWidth(f, (const HPDF_BYTE *)s, (HPDF_UINT)n);
    return tw.width * size / 1000.0;
}

void doc_text(rdoc *d, int bold, double size, double x, double y, int align, rgb c, const char *s)
{
    if (!s || !*s)
        return;
    double w = align ? doc_width(d, bold, size, s) : 0;
    if (align == 1)
        x -= w;
    else if (align == 2)
        x -= w / 2;
    draw_text(d, bold ? d->bold : d->regular, size, x, py(d, y), c, s);
}

void doc_text_up(rdoc *d, int bold, double size, double x, double y, rgb c, const char *s)
{
    double w = doc_width(d, bold, size, s);
    draw_text_rotated(d, bold ? d->bold : d->regular, size, x, py(d, y) - w / 2, c, s);
}

/* Byte length of the longest prefix of s (up to a space or the end) that fits
 * in w; breaks inside a word only when a single word is wider than w. */
static size_t fit_prefix(rdoc *d, int bold, double size, double w, const char *s, size_t n)
{
    HPDF_Font f = bold ? d->bold : d->regular;
    size_t best = 0;
    for (size_t i = 1; i <= n; i++) {
        if (i < n && s[i] != ' ')
            continue;
        HPDF_TextWidth tw = HPDF_Font_TextWidth(f, (const HPDF_BYTE *)s, (HPDF_UINT)i);
        if (tw.width * size / 1000.0 > w)
            break;
        best = i;
    }
    if (best == 0) {
        /* One over-long word: cut at a UTF-8 character boundary that fits. */
        for (size_t i = 1; i <= n; i++) {
            if (i < n && (s[i] & 0xC0) == 0x80)
                continue;
            HPDF_TextWidth tw = HPDF_Font_TextWidth(f, (const HPDF_BYTE *)s, (HPDF_UINT)i);
            if (tw.width * size / 1000.0 > w && best > 0)
                break;
            best = i;
        }
    }
    return best;
}

doc_wrapped doc_wrap_begin(rdoc *d, int bold, double size, double w, const char *s)
{
    return (doc_wrapped){.d = d, .bold = bold, .size = size, .w = w, .s = s};
}

bool doc_wrap_next(doc_wrapped *it, char *buf, size_t cap)
{
    if (it->in_para && it->off >= it->para) { /* the paragraph and its '\n' are done */
        it->s += it->para + (it->s[it->para] == '\n' ? 1 : 0);
        it->in_para = false;
    }
    if (!it->in_para) { /* a paragraph gives at least one line, "" too */
        if (!*it->s)
            return false;
        const char *nl = strchr(it->s, '\n');
        it->para = nl ? (size_t)(nl - it->s) : strlen(it->s);
        it->off = 0;
        it->in_para = true;
    }
    while (it->off < it->para && it->s[it->off] == ' ')
        it->off++;
    const char *text = it->s + it->off;
    size_t len = fit_prefix(it->d, it->bold, it->size, it->w, text, it->para - it->off);
    it->off += len;
    if (cap > 0) {
        if (len >= cap)
            len = cap - 1;
        memcpy(buf, text, len);
        buf[len] = '\0';
    }
    return true;
}

int doc_lines(rdoc *d, int bold, double size, double w, const char *s)
{
    doc_wrapped it = doc_wrap_begin(d, bold, size, w, s);
    int lines = 0;
    while (doc_wrap_next(&it, NULL, 0))
        lines++;
    return lines;
}

void doc_paragraph(rdoc *d, int bold, double size, double x, double w, rgb c, const char *s)
{
    doc_wrapped it = doc_wrap_begin(d, bold, size, w, s);
    char buf[2048];
    while (doc_wrap_next(&it, buf, sizeof buf)) {
        double lead = size * 1.35;
        doc_ensure(d, lead);
        d->y += lead;
        doc_text(d, bold, size, x, d->y - size * 0.3, 0, c, buf);
    }
}

void doc_heading(rdoc *d, const char *s, double keep)
{
    doc_ensure(d, 30 + keep);
    d->y += 22;
    doc_text(d, 1, 13, d->left, d->y, 0, DOC_BLACK, s);
    d->y += 5;
    doc_hline(d, d->left, d->right, d->y, DOC_BLUE, 0.8);
    d->y += 6;
}

void doc_figure(rdoc *d, const char *name, double x, double y, double w, double h)
{
    if (!d->figs || d->n_figs >= d->fig_cap)
        return;
    report_figure *f = &d->figs[d->n_figs++];
    snprintf(f->name, sizeof f->name, "%s", name);
    f->page = d->n_pages - 1;
    f->x = x;
    f->y = y;
    f->w = w;
    f->h = h;
    f->page_w = d->pw;
    f->page_h = d->ph;
}

static void band(rdoc *d, double y, double h, rgb bg, const char *text)
{
    doc_fill_rect(d, 0, y, d->pw, h, bg);
    doc_text(d, 1, 8.5, d->pw / 2, y + h / 2 + 3, 2, DOC_WHITE, text);
}

void doc_new_page(rdoc *d)
{
    if (d->n_pages >= DOC_MAX_PAGES) {
        if (d->error == 0)
            d->error = HPDF_PAGE_INVALID_PARAM_COUNT; /* too many pages */
        return;
    }
    d->page = HPDF_AddPage(d->pdf);
    if (!d->page)
        return;
    HPDF_Page_SetWidth(d->page, (HPDF_REAL)d->pw);
    HPDF_Page_SetHeight(d->page, (HPDF_REAL)d->ph);
    d->pages[d->n_pages++] = d->page;
    double y = 0;
    if (d->simulated) {
        band(d, 0, 16, DOC_RED,
             "SIMULATED TARGET — measured against kvproof's reference server, not a real LLM "
             "server");
        band(d, d->ph - 14, 14, DOC_RED, "SIMULATED TARGET");
        y = 16;
    }
    if (d->partial) {
        band(d, y, 14, DOC_AMBER, d->partial_text);
        y += 14;
    }
    doc_text(d, 0, 7.5, d->left, y + 22, 0, DOC_GREY, d->header);
    doc_hline(d, d->left, d->right, y + 26, DOC_LIGHT, 0.6);
    d->y = y + 34;
    if (d->y < d->top - 20)
        d->y = d->top - 20;
}

void doc_ensure(rdoc *d, double h)
{
    if (d->y + h > d->bottom)
        doc_new_page(d);
}

void doc_finish(rdoc *d)
{
    HPDF_Page keep = d->page;
    for (int i = 0; i < d->n_pages; i++) {
        char b[64];
        d->page = d->pages[i];
        double y = d->ph - (d->simulated ? 24 : 22);
        doc_hline(d, d->left, d->right, y - 10, DOC_LIGHT, 0.6);
        snprintf(b, sizeof b, "Page %d of %d", i + 1, d->n_pages);
        doc_text(d, 0, 7.5, d->right, y, 1, DOC_GREY, b);
        doc_text(d, 0, 7.5, d->left, y, 0, DOC_GREY, d->footer);
    }
    d->page = keep;
}

kv_status doc_save(rdoc *d, const char *path, char *err)
{
    kv_status st = doc_check(d, err);
    if (st != KV_OK)
        return st;
    if (HPDF_SaveToFile(d->pdf, path) != HPDF_OK)
        return kv_fail(err, KV_ERR_IO, "report: cannot write %s (libharu error 0x%04X)", path,
                       (unsigned)d->error);
    return KV_OK;
}
