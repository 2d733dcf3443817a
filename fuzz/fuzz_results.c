/* fuzz_results.c - the results.json reader (report/results_read.h): any
 * bytes either fail with a message naming the file or give results that
 * free cleanly.
 */
#include <string.h>

#include "fuzz/fuzz.h"
#include "report/results_read.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[KV_ERRLEN] = "";
    rr_results *r = NULL;
    if (results_read_parse((const char *)data, size, "fuzz.json", &r, err) != KV_OK) {
        FUZZ_CHECK(r == NULL, "a failed parse returned results");
        FUZZ_CHECK(strstr(err, "fuzz.json") != NULL, "the message lacks the file: %s", err);
        return 0;
    }
    results_read_free(r);
    return 0;
}
