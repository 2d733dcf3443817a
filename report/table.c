/* table.c - text tables (report/table.h): header, wrapped rows, page breaks. */
#include "report/table.h"

#include <string.h>

#define PAD 3.0

typedef struct cell_ctx {
    rdoc *d;
    double x, y, w, size, lead;
    int align, bold;
    rgb c;
} cell_ctx;

static void cell_line(void *ctx, const char *text, size_t len)
{
    cell_ctx *c = ctx;
    char buf[1024];
    doc_line_copy(buf, sizeof buf, text, len);
    double tx = c->align == 1 ? c->x + c->w - PAD : c->align == 2 ? c->x + c->w / 2 : c->x + PAD;
    doc_text(c->d, c->bold, c->size, tx, c->y, c->align, c->c, buf);
    c->y += c->lead;
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
        cell_ctx c = {
            d, x,        d->y + PAD + t->size * 0.95, t->w[i], t->size, lead, t->cols[i].align,
            1, DOC_BLACK};
        doc_wrap(d, 1, t->size, t->w[i] - 2 * PAD, t->cols[i].title, cell_line, &c);
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
        cell_ctx c = {d,
                      x,
                      d->y + PAD + t->size * 0.95,
                      t->w[i],
                      t->size,
                      lead,
                      t->cols[i].align,
                      bold,
                      colours ? colours[i] : DOC_BLACK};
        doc_wrap(d, bold, t->size, t->w[i] - 2 * PAD, cells[i] ? cells[i] : "", cell_line, &c);
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
