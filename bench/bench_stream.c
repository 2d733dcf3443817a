/* bench_stream.c - throughput of the SSE and NDJSON parsers and the journal's
 * append rate (each line fdatasync'd). A program, not a test: prints figures.
 * Usage: bench_stream [DIR]   (the journal is written in DIR, default /tmp) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "experiments/journal.h"
#include "net/ndjson.h"
#include "net/sse.h"

static kv_status count_event(void *ctx, const sse_event *ev, char *err)
{
    (void)err;
    *(size_t *)ctx += ev->data_len;
    return KV_OK;
}

static kv_status count_line(void *ctx, const char *line, size_t len, size_t lineno, char *err)
{
    (void)line;
    (void)lineno;
    (void)err;
    *(size_t *)ctx += len;
    return KV_OK;
}

/* Defines `static double NAME(const kv_buf *s, size_t chunk)`: the feeder
 * PREFIX (PREFIX_new / _feed / _finish / _free over PARSER, callback CB)
 * fed s in chunks of `chunk` bytes; MB/s, NAN on a parse error. */
#define BENCH_FEEDER(NAME, PREFIX, PARSER, CB)                                                     \
    static double NAME(const kv_buf *s, size_t chunk)                                              \
    {                                                                                              \
        PARSER *p = NULL;                                                                          \
        size_t bytes = 0;                                                                          \
        char err[KV_ERRLEN] = "";                                                                  \
        if (PREFIX##_new(0, CB, &bytes, &p, err) != KV_OK)                                         \
            return NAN;                                                                            \
        int64_t t0 = kv_now_ns();                                                                  \
        for (size_t at = 0; at < s->len; at += chunk) {                                            \
            size_t n = s->len - at < chunk ? s->len - at : chunk;                                  \
            if (PREFIX##_feed(p, s->data + at, n, err) != KV_OK)                                   \
                return NAN;                                                                        \
        }                                                                                          \
        int64_t t1 = kv_now_ns();                                                                  \
        if (PREFIX##_finish(p, err) != KV_OK)                                                      \
            return NAN;                                                                            \
        PREFIX##_free(p);                                                                          \
        return (double)s->len / 1e6 / ((double)(t1 - t0) / 1e9);                                   \
    }

BENCH_FEEDER(bench_sse, sse, sse_parser, count_event)
BENCH_FEEDER(bench_ndjson, ndjson, ndjson_parser, count_line)

static int bench_journal(const char *dir)
{
    enum { N = 200 };
    char path[512], err[KV_ERRLEN] = "";
    snprintf(path, sizeof path, "%s/bench-journal-%ld.jsonl", dir, (long)getpid());
    char spec_text[] = "{\"name\":\"bench\"}", name[] = "bench";
    journal_header h = {.spec_name = name, .spec_json = spec_text, .planned_trials = N};
    journal *j = NULL;
    if (journal_open(path, &h, false, NULL, &j, err) != KV_OK) {
        fprintf(stderr, "bench_stream: %s\n", err);
        return 1;
    }
    trial_request turn = {.turn = 1,
                          .attempts = 1,
                          .ok = true,
                          .http_status = 200,
                          .prompt_tokens = 4096,
                          .cached_tokens = 4000,
                          .prefix_tokens = 4000,
                          .output_tokens = 1,
                          .ttfb_ms = 1.25,
                          .ttft_ms = 35.5,
                          .first_content_ms = 35.5,
                          .last_token_ms = 35.5,
                          .total_ms = 36,
                          .gap_median_ms = NAN,
                          .gap_p99_ms = NAN,
                          .server_prefill_ms = 30.1,
                          .server_overhead_us = NAN};
    trial_record t = {.query_count = 1, .ok = true, .turns = &turn, .n_turns = 1};
    int64_t t0 = kv_now_ns();
    for (size_t i = 0; i < N; i++) {
        t.plan_index = i;
        if (journal_append(j, &t, err) != KV_OK) {
            fprintf(stderr, "bench_stream: %s\n", err);
            return 1;
        }
    }
    int64_t t1 = kv_now_ns();
    journal_close(j);
    journal_data *d = NULL;
    int64_t t2 = kv_now_ns();
    kv_status st = journal_load(path, &d, err);
    int64_t t3 = kv_now_ns();
    journal_data_free(d);
    unlink(path);
    if (st != KV_OK)
        return 1;
    printf("journal (%s): %.2f ms per appended+synced trial, load %.1f us per trial\n", dir,
           (double)(t1 - t0) / 1e6 / N, (double)(t3 - t2) / 1e3 / N);
    return 0;
}

int main(int argc, char **argv)
{
    kv_buf sse = {0}, nd = {0};
    for (int i = 0; i < 200000; i++) {
        if (kv_buf_appendf(&sse,
                           ": kvproof-sent-ns=%d\ndata: {\"choices\":[{\"delta\":{\"content\":"
                           "\"tok%d\"}}]}\n\n",
                           i, i) != KV_OK ||
            kv_buf_appendf(&nd, "{\"response\":\"tok%d\",\"done\":false}\n", i) != KV_OK)
            return 1;
    }
    static const size_t chunks[] = {1, 64, 4096, 65536};
    for (size_t k = 0; k < sizeof chunks / sizeof *chunks; k++)
        printf("chunk %6zu B: SSE %7.1f MB/s, NDJSON %7.1f MB/s\n", chunks[k],
               bench_sse(&sse, chunks[k]), bench_ndjson(&nd, chunks[k]));
    kv_buf_free(&sse);
    kv_buf_free(&nd);
    return bench_journal(argc > 1 ? argv[1] : "/tmp");
}
