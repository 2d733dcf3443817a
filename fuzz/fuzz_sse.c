/* fuzz_sse.c - the SSE feeder (net/sse.h): the input fed in one
 * piece and fed in chunks cut at seeded random places must deliver the same
 * events and end with the same status. The first byte picks the size limit
 * (small, so the limit paths run), the next four seed the chunking.
 */
#include <string.h>

#include "common/util.h"
#include "net/sse.h"
#include "fuzz/fuzz.h"

/* Appends every field of an event to the log. */
static kv_status on_event(void *ctx, const sse_event *ev, char *err)
{
    (void)err;
    kv_buf *log = ctx;
    FUZZ_CHECK(strlen(ev->data) == ev->data_len || memchr(ev->data, 0, ev->data_len),
               "data_len disagrees with the data");
    char flag = ev->has_data ? 'D' : '-';
    if (kv_buf_append(log, &flag, 1) != KV_OK ||
        kv_buf_append(log, ev->event, strlen(ev->event) + 1) != KV_OK ||
        kv_buf_append(log, ev->data, ev->data_len + 1) != KV_OK ||
        kv_buf_append(log, ev->comments, ev->comments_len + 1) != KV_OK)
        return KV_ERR_NOMEM;
    return KV_OK;
}

FUZZ_FEEDER(feed, sse, sse_parser, on_event, sse_events)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_feeder_check(data, size, feed, "events");
}
