/* fuzz_points.c - the points file reader (report/points_read.h): any bytes
 * either fail with a message naming the file or give a sample of at most
 * the limit's rows, no more than the file's total, that frees cleanly. The
 * limit is small (16) so the reservoir's replacement path runs.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "report/points_read.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[KV_ERRLEN] = "";
    if (size == 0)
        return 0;
    FILE *f = fmemopen((void *)(uintptr_t)data, size, "r");
    FUZZ_CHECK(f != NULL, "fmemopen");
    points_expect ex = {-1, NULL, 4, 16, 1};
    points_sample s;
    kv_status st = points_read_stream(f, "fuzz.csv", &ex, &s, err);
    fclose(f);
    if (st != KV_OK) {
        FUZZ_CHECK(s.rows == NULL && s.n == 0, "a failed read returned rows");
        FUZZ_CHECK(strstr(err, "fuzz.csv") != NULL, "the message lacks the file: %s", err);
        return 0;
    }
    FUZZ_CHECK(s.n <= 16 && s.n <= s.total, "%zu rows kept of %zu", s.n, s.total);
    for (size_t i = 0; i < s.n; i++)
        FUZZ_CHECK(s.rows[i].target >= 0 && s.rows[i].target < 4, "target %ld", s.rows[i].target);
    points_sample_free(&s);
    return 0;
}
