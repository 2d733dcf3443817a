/* table.h - text tables for the report: a header row (repeated after page
 * breaks), wrapped cells, zebra rows and per-cell text colours.
 *
 * Column widths are relative: they are scaled to fill the content width.
 */
#ifndef KV_REPORT_TABLE_H
#define KV_REPORT_TABLE_H

#include "report/doc.h"

enum { TABLE_MAX_COLS = 12 };

typedef struct table_col {
    const char *title;
    double width; /* relative */
    int align;    /* 0 left, 1 right, 2 centre */
} table_col;

typedef struct table {
    rdoc *d;
    table_col cols[TABLE_MAX_COLS];
    double w[TABLE_MAX_COLS]; /* absolute widths, points */
    int n;
    double size; /* font size */
    int rows;    /* rows drawn since the header */
} table;

/* Draws the header row at the cursor. */
void table_begin(table *t, rdoc *d, const table_col *cols, int n, double size);
/* One row; colours (NULL: black) per cell; bold 1 draws the row bold. */
void table_row(table *t, const char *const *cells, const rgb *colours, int bold);
/* Ends the table: a rule and a little space. */
void table_end(table *t);

#endif
