/* fuzz_ndjson.c - the NDJSON feeder (net/ndjson.h): the input fed in one
 * piece and fed in chunks cut at seeded random places must deliver the same
 * lines and end with the same status. The first byte picks the size limit
 * (small, so the limit paths run), the next four seed the chunking.
 */
#include <string.h>

#include "common/util.h"
#include "net/ndjson.h"
#include "fuzz/fuzz.h"

/* Appends every line (with its number) to the log. */
static kv_status on_line(void *ctx, const char *line, size_t len, size_t lineno, char *err)
{
    (void)err;
    kv_buf *log = ctx;
    FUZZ_CHECK(line[len] == '\0', "the line is not NUL-terminated");
    if (kv_buf_append(log, &lineno, sizeof lineno) != KV_OK ||
        kv_buf_append(log, line, len + 1) != KV_OK)
        return KV_ERR_NOMEM;
    return KV_OK;
}

FUZZ_FEEDER(feed, ndjson, ndjson_parser, on_line, ndjson_lines)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_feeder_check(data, size, feed, "lines");
}
