/* fuzz_csv.c - the CSV reader `kvproof fit` uses (stats/csv.h): any bytes
 * either fail with a message or give a table whose every cell is readable
 * and whose every column converts (or fails with a message).
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "stats/csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[KV_ERRLEN] = "";
    csv_table *t = NULL;
    if (csv_parse((const char *)data, size, "fuzz.csv", &t, err) != KV_OK)
        return fuzz_refused(t == NULL, err);
    size_t rows = csv_rows(t), cols = csv_columns(t);
    size_t total = 0;
    for (size_t r = 0; r < rows; r++) {
        FUZZ_CHECK(csv_line(t, r) >= 2, "row %zu starts on line %ld", r, csv_line(t, r));
        for (size_t c = 0; c < cols; c++)
            total += strlen(csv_cell(t, r, c));
    }
    for (size_t c = 0; c < cols; c++) {
        const char *name = csv_header(t, c);
        FUZZ_CHECK(csv_find(t, name) >= 0, "column '%s' not found by its own name", name);
        double *v = NULL;
        err[0] = '\0';
        if (csv_column(t, name, &v, err) != KV_OK)
            FUZZ_CHECK(err[0] != '\0', "a failed conversion gave no message");
        free(v);
    }
    (void)total;
    csv_free(t);
    return 0;
}
