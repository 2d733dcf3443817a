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

typedef struct outcome {
    kv_buf log;
    kv_status feed, finish;
    size_t events;
} outcome;

static void run(const uint8_t *data, size_t size, size_t max, fuzz_chunker *chunks, outcome *o)
{
    char err[KV_ERRLEN] = "";
    ndjson_parser *p = NULL;
    memset(o, 0, sizeof *o);
    FUZZ_CHECK(ndjson_new(max, on_line, &o->log, &p, err) == KV_OK, "ndjson_new: %s", err);
    size_t off = 0;
    while (off < size && o->feed == KV_OK) {
        size_t n = chunks ? fuzz_next_chunk(chunks, size - off) : size - off;
        err[0] = '\0';
        o->feed = ndjson_feed(p, data + off, n, err);
        off += n;
    }
    err[0] = '\0';
    o->finish = o->feed == KV_OK ? ndjson_finish(p, err) : o->feed;
    o->events = ndjson_lines(p);
    ndjson_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 5)
        return 0;
    size_t max = 8 + (size_t)data[0] * 8;
    fuzz_chunker c = {(uint64_t)data[1] | (uint64_t)data[2] << 8 | (uint64_t)data[3] << 16 |
                      (uint64_t)data[4] << 24};
    data += 5;
    size -= 5;
    outcome whole, cut;
    run(data, size, max, NULL, &whole);
    run(data, size, max, &c, &cut);
    FUZZ_CHECK(whole.events == cut.events, "%zu lines whole, %zu in chunks", whole.events,
               cut.events);
    FUZZ_CHECK(whole.log.len == cut.log.len &&
                   (whole.log.len == 0 || memcmp(whole.log.data, cut.log.data, whole.log.len) == 0),
               "chunking changed the lines");
    FUZZ_CHECK(whole.finish == cut.finish, "status %d whole, %d in chunks", (int)whole.finish,
               (int)cut.finish);
    kv_buf_free(&whole.log);
    kv_buf_free(&cut.log);
    return 0;
}
