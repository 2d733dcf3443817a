/* compare_pdf.c - compare_pdf_write: the verdicts table and the cold TTFT
 * figure of kvproof compare. Divided into: row text, the table, the
 * figure, the document. */
#include "report/compare_pdf.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "report/doc.h"
#include "report/plot.h"
#include "report/table.h"

static rgb verdict_colour(const char *v)
{
    return strcmp(v, "regressed") == 0  ? DOC_RED
           : strcmp(v, "improved") == 0 ? DOC_GREEN
                                        : DOC_BLACK;
}

static void verdicts_table(rdoc *d, const compare_pdf_data *r)
{
    static const table_col cols[] = {{"What", 3.2, 0},
                                     {"Target", 1.4, 0},
                                     {"B/A", 0.9, 1},
                                     {"95% interval", 1.8, 1},
                                     {"Verdict", 1.3, 0}};
    char buf[400], c[64];
    doc_heading(d, "Verdicts", 60);
    snprintf(buf, sizeof buf,
             "A change only when the whole 95%% interval of B/A lies beyond 1 ± %g (noise "
             "threshold %g %%): regressed in the worse direction (longer times, smaller speedups), "
             "improved in the other, else no change.",
             r->threshold, 100 * r->threshold);
    doc_paragraph(d, 0, 9, d->left, d->right - d->left, DOC_BLACK, buf);
    table t;
    table_begin(&t, d, cols, 5, 8);
    for (size_t i = 0; i < r->n; i++) {
        const compare_pdf_row *row = &r->rows[i];
        char ratio[64];
        snprintf(ratio, sizeof ratio, isfinite(row->ratio) ? "%.3f" : "n/a", row->ratio);
        if (isfinite(row->lo) && isfinite(row->hi))
            snprintf(c, sizeof c, "[%.3f, %.3f]", row->lo, row->hi);
        else
            snprintf(c, sizeof c, "n/a");
        const char *cells[] = {row->what, row->target, ratio, c, row->verdict};
        rgb colours[] = {DOC_BLACK, DOC_BLACK, DOC_BLACK, DOC_BLACK, verdict_colour(row->verdict)};
        table_row(&t, cells, colours, 0);
    }
    table_end(&t);
}

static void range_of(const compare_pdf_data *p, double *lox, double *hix, double *loy, double *hiy)
{
    *lox = *loy = INFINITY;
    *hix = *hiy = -INFINITY;
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < p->run[k].n; i++) {
            *lox = fmin(*lox, p->run[k].x[i]);
            *hix = fmax(*hix, p->run[k].x[i]);
            *loy = fmin(*loy, p->run[k].y[i]);
            *hiy = fmax(*hiy, p->run[k].y[i]);
        }
}

static void cold_figure(rdoc *d, const compare_pdf_data *p)
{
    double x = d->left, w = d->right - d->left, h = 300;
    doc_ensure(d, h + 80);
    double y = d->y + 24;
    if (p->run[0].n + p->run[1].n == 0) {
        plot_empty(d, "compare_cold_ttft", x, y, w, h, "Cold TTFT vs prompt tokens",
                   "no cold requests in either run");
        return;
    }
    double lox, hix, loy, hiy;
    range_of(p, &lox, &hix, &loy, &hiy);
    plot_axis xa = plot_axis_nice(PLOT_LINEAR, "prompt tokens (tokens)", NULL, 0, lox, hix, 1);
    plot_axis ya = plot_axis_nice(PLOT_LINEAR, "time to first token (ms)", NULL, 0, loy, hiy, 1);
    plot pl;
    plot_begin(&pl, d, "compare_cold_ttft", x, y, w, h, &xa, &ya);
    plot_title(&pl, "Cold TTFT vs prompt tokens, runs A and B");
    static const char *const names[2] = {"A", "B"};
    const rgb colours[2] = {DOC_BLUE, DOC_ORANGE};
    plot_legend_item items[2];
    char labels[2][64];
    plot_clip_begin(&pl);
    for (int k = 0; k < 2; k++) {
        const compare_pdf_run *q = &p->run[k];
        if (q->fit_ok) {
            double xs[2] = {xa.lo, xa.hi}, ys[2] = {q->a + q->b * xa.lo, q->a + q->b * xa.hi};
            plot_line(&pl, xs, ys, 2, colours[k], 1.2, k);
        }
        plot_markers(&pl, k ? MARK_TRIANGLE : MARK_CIRCLE, k == 0, 3.6, colours[k], q->x, q->y,
                     q->n, 0);
        if (q->fit_ok)
            snprintf(labels[k], sizeof labels[k], "%s: cold, line %.4g + %.4g ms/token", names[k],
                     q->a, q->b);
        else
            snprintf(labels[k], sizeof labels[k], "%s: cold (no line)", names[k]);
        items[k] =
            (plot_legend_item){labels[k], colours[k], 0, k ? MARK_TRIANGLE : MARK_CIRCLE, k == 0};
    }
    plot_clip_end(&pl);
    plot_legend(&pl, items, 2, 0);
    d->y = y + h + 50;
}

static kv_status save(rdoc *d, const char *pdf_path, char *err)
{
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", pdf_path) >= sizeof tmp)
        return kv_fail(err, KV_ERR_IO, "compare: output path too long: %s", pdf_path);
    kv_status st = doc_save(d, tmp, err);
    if (st == KV_OK && rename(tmp, pdf_path) != 0)
        st = kv_fail(err, KV_ERR_IO, "compare: cannot rename %s to %s", tmp, pdf_path);
    if (st != KV_OK)
        remove(tmp);
    return st;
}

kv_status compare_pdf_write(const compare_pdf_data *c, const char *a_name, const char *b_name,
                            const char *pdf_path, char *err)
{
    rdoc d;
    kv_status st = doc_init(&d, "kvproof compare", "", err);
    if (st != KV_OK)
        return st;
    snprintf(d.header, sizeof d.header, "kvproof compare · B/A");
    snprintf(d.footer, sizeof d.footer, "A %.110s · B %.110s", a_name, b_name);
    doc_new_page(&d);
    char buf[600];
    snprintf(buf, sizeof buf, "A: %s", a_name);
    doc_paragraph(&d, 0, 9, d.left, d.right - d.left, DOC_GREY, buf);
    snprintf(buf, sizeof buf, "B: %s", b_name);
    doc_paragraph(&d, 0, 9, d.left, d.right - d.left, DOC_GREY, buf);
    verdicts_table(&d, c);
    if ((st = doc_check(&d, err)) == KV_OK) {
        cold_figure(&d, c); /* below the table, or on the next page */
        doc_finish(&d);
        st = doc_check(&d, err);
    }
    if (st == KV_OK)
        st = save(&d, pdf_path, err);
    doc_free(&d);
    return st;
}
