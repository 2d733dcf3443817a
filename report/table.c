/* table.c - text tables (report/table.h): header, wrapped rows, page breaks. */
#include "report/table.h"

#include <string.h>

#define PAD 3.0

/* Cell i's text, its left edge at x, its first baseline below the cursor. */
static void cell_draw(const table *t, int i, double x, int bold, rgb c, const char *s)
{
    rdoc *d = t->d;
    double y = d->y + PAD + t->size * 0.95, w = t->w[i], lead = t->size * 1.25;
    int align = t->cols[i].align;
    double tx = align == 1 ? x + w - PAD : align == 2 ? x + w / 2 : x + PAD;
    doc_wrapped it = doc_wrap_begin(d, bold, t->size, w - 2 * PAD, s);
    char buf[1024];
    while (doc_wrap_next(&it, buf, sizeof buf)) {
        doc_text(d, bold, t->size, tx, y, align, c, buf);
        y += lead;
    }
}

static void header(table *t)
{
    rdoc *d = t->d;
    double h = 0, lead = t->size * 1.25;
    for (int i = 0; i < t->n; i++) {
        int l = doc_lines(d, 1, t->size, t->w[i] - 2 * PAD, t->cols[i].title);
        double hh = l * lead + 2 * PAD;
        if (hh > h)
            h = hh;
    }
    doc_ensure(d, h + t->size * 2.6);
    doc_fill_rect(d, d->left, d->y, d->right - d->left, h, (rgb){0.86, 0.90, 0.95});
    double x = d->left;
    for (int i = 0; i < t->n; i++) {
        cell_draw(t, i, x, 1, DOC_BLACK, t->cols[i].title);
        x += t->w[i];
    }
    d->y += h;
    t->rows = 0;
}

void table_begin(table *t, rdoc *d, const table_col *cols, int n, double size)
{
    memset(t, 0, sizeof *t);
    t->d = d;
    t->n = n > TABLE_MAX_COLS ? TABLE_MAX_COLS : n;
    t->size = size;
    double sum = 0;
    for (int i = 0; i < t->n; i++) {
        t->cols[i] = cols[i];
        sum += cols[i].width;
    }
    for (int i = 0; i < t->n; i++)
        t->w[i] = (d->right - d->left) * cols[i].width / (sum > 0 ? sum : 1);
    header(t);
}

void table_row(table *t, const char *const *cells, const rgb *colours, int bold)
{
    rdoc *d = t->d;
    double lead = t->size * 1.25;
    int lines = 1;
    for (int i = 0; i < t->n; i++) {
        int l = doc_lines(d, bold, t->size, t->w[i] - 2 * PAD, cells[i] ? cells[i] : "");
        if (l > lines)
            lines = l;
    }
    double h = lines * lead + 2 * PAD - 1;
    if (d->y + h > d->bottom) {
        doc_new_page(d);
        header(t);
    }
    if (t->rows % 2 == 1)
        doc_fill_rect(d, d->left, d->y, d->right - d->left, h, (rgb){0.96, 0.965, 0.975});
    double x = d->left;
    for (int i = 0; i < t->n; i++) {
        cell_draw(t, i, x, bold, colours ? colours[i] : DOC_BLACK, cells[i] ? cells[i] : "");
        x += t->w[i];
    }
    d->y += h;
    t->rows++;
}

void table_end(table *t)
{
    doc_hline(t->d, t->d->left, t->d->right, t->d->y, (rgb){0.70, 0.72, 0.78}, 0.6);
    t->d->y += 8;
}
