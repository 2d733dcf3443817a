/* fuzz.h - what the libFuzzer targets in fuzz/ share: the entry point's
 * prototype, a check that aborts (so libFuzzer records the input), a
 * deterministic splitter that cuts an input into chunks the way a transport
 * might, the whole-versus-chunks check of the streaming feeders (SSE,
 * NDJSON) and the decode-encode round trip of the journal's lines.
 * Header-only (static) because every fuzz/fuzz_*.c is its own program.
 */
#ifndef KV_FUZZ_H
#define KV_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property of the code under test failed: report and abort. */
#define FUZZ_CHECK(cond, ...)                                                                      \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz check failed: %s: ", #cond);                                     \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* A parser refused the input: it must have returned nothing (nothing_out)
 * and said why (err). Returns 0, LLVMFuzzerTestOneInput's value. */
static inline int fuzz_refused(int nothing_out, const char *err)
{
    FUZZ_CHECK(nothing_out, "a failed parse returned something");
    FUZZ_CHECK(err[0] != '\0', "a failed parse gave no message");
    return 0;
}

/* Chunk lengths drawn from a seed: mostly 1..16 bytes (splits inside
 * "\r\n" and UTF-8 sequences), sometimes up to 4 KB. */
typedef struct fuzz_chunker {
    uint64_t state;
} fuzz_chunker;

static inline size_t fuzz_next_chunk(fuzz_chunker *c, size_t left)
{
    c->state = c->state * 6364136223846793005ULL + 1442695040888963407ULL;
    uint64_t r = c->state >> 33;
    size_t n = (r & 7) == 0 ? 1 + (size_t)(r >> 3) % 4096 : 1 + (size_t)(r >> 3) % 16;
    return n < left ? n : left;
}

/* ---- streaming feeders: whole input versus chunks ------------------------ */

/* What one feeding of the input gave: the callback's log of what it was
 * handed, the status of the last feed and of finish, the count the parser
 * reports (lines, events). */
typedef struct fuzz_outcome {
    kv_buf log;
    kv_status feed, finish;
    size_t events;
} fuzz_outcome;

/* Feeds data to a parser (in chunks when chunks is not NULL) into *o. */
typedef void (*fuzz_feed_fn)(const uint8_t *data, size_t size, size_t max, fuzz_chunker *chunks,
                             fuzz_outcome *o);

/* Defines `static void NAME(...)`, a fuzz_feed_fn for the feeder PREFIX
 * (PREFIX_new / _feed / _finish / _free over PARSER, COUNT giving the count)
 * whose callback CB appends to the outcome's log. */
#define FUZZ_FEEDER(NAME, PREFIX, PARSER, CB, COUNT)                                               \
    static void NAME(const uint8_t *data, size_t size, size_t max, fuzz_chunker *chunks,           \
                     fuzz_outcome *o)                                                              \
    {                                                                                              \
        char err[KV_ERRLEN] = "";                                                                  \
        PARSER *p = NULL;                                                                          \
        memset(o, 0, sizeof *o);                                                                   \
        FUZZ_CHECK(PREFIX##_new(max, CB, &o->log, &p, err) == KV_OK, #PREFIX "_new: %s", err);     \
        size_t off = 0;                                                                            \
        while (off < size && o->feed == KV_OK) {                                                   \
            size_t n = chunks ? fuzz_next_chunk(chunks, size - off) : size - off;                  \
            err[0] = '\0';                                                                         \
            o->feed = PREFIX##_feed(p, data + off, n, err);                                        \
            off += n;                                                                              \
        }                                                                                          \
        err[0] = '\0';                                                                             \
        o->finish = o->feed == KV_OK ? PREFIX##_finish(p, err) : o->feed;                          \
        o->events = COUNT(p);                                                                      \
        PREFIX##_free(p);                                                                          \
    }

/* The whole check: the first byte picks the size limit (8 + 8 * byte), the
 * next four seed the chunking, the rest is the stream; fed whole and in
 * chunks it must give the same log, count and final status. what names the
 * things counted ("lines", "events"). */
static inline int fuzz_feeder_check(const uint8_t *data, size_t size, fuzz_feed_fn feed,
                                    const char *what)
{
    if (size < 5)
        return 0;
    size_t max = 8 + (size_t)data[0] * 8;
    fuzz_chunker c = {(uint64_t)data[1] | (uint64_t)data[2] << 8 | (uint64_t)data[3] << 16 |
                      (uint64_t)data[4] << 24};
    data += 5;
    size -= 5;
    fuzz_outcome whole, cut;
    feed(data, size, max, NULL, &whole);
    feed(data, size, max, &c, &cut);
    FUZZ_CHECK(whole.events == cut.events, "%zu %s whole, %zu in chunks", whole.events, what,
               cut.events);
    FUZZ_CHECK(whole.log.len == cut.log.len &&
                   (whole.log.len == 0 || memcmp(whole.log.data, cut.log.data, whole.log.len) == 0),
               "chunking changed the %s", what);
    FUZZ_CHECK(whole.finish == cut.finish, "status %d whole, %d in chunks", (int)whole.finish,
               (int)cut.finish);
    kv_buf_free(&whole.log);
    kv_buf_free(&cut.log);
    return 0;
}

/* ---- journal lines: decode -> encode -> decode -> encode ------------------ */

/* Defines LLVMFuzzerTestOneInput for one kind of journal line: TYPE decoded
 * by DECODE(text, len, where, TYPE *, err), encoded by ENCODE(const TYPE *,
 * kv_buf *, err), released by CLEAR(TYPE *). A line that decodes must
 * encode to text that decodes again and encodes to the same text. One
 * trailing '\n' is dropped (the journal reader hands the decoders a line
 * without it). WHAT names the line in messages. */
#define FUZZ_ROUND_TRIP(TYPE, DECODE, ENCODE, CLEAR, WHAT)                                         \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)                                   \
    {                                                                                              \
        char err[KV_ERRLEN] = "";                                                                  \
        if (size > 0 && data[size - 1] == '\n')                                                    \
            size--;                                                                                \
        TYPE v;                                                                                    \
        memset(&v, 0, sizeof v);                                                                   \
        if (DECODE((const char *)data, size, "fuzz:1", &v, err) != KV_OK) {                        \
            CLEAR(&v);                                                                             \
            return fuzz_refused(1, err);                                                           \
        }                                                                                          \
        kv_buf a = {0}, b = {0};                                                                   \
        FUZZ_CHECK(ENCODE(&v, &a, err) == KV_OK, "encode: %s", err);                               \
        CLEAR(&v);                                                                                 \
        memset(&v, 0, sizeof v);                                                                   \
        kv_status st = DECODE(a.data, a.len, "fuzz:2", &v, err);                                   \
        FUZZ_CHECK(st == KV_OK, "the encoded " WHAT " does not decode: %s\n%.*s", err, (int)a.len, \
                   a.data);                                                                        \
        FUZZ_CHECK(ENCODE(&v, &b, err) == KV_OK, "encode again: %s", err);                         \
        FUZZ_CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0,                           \
                   "round trip changed the " WHAT ":\n%.*s\n%.*s", (int)a.len, a.data, (int)b.len, \
                   b.data);                                                                        \
        CLEAR(&v);                                                                                 \
        kv_buf_free(&a);                                                                           \
        kv_buf_free(&b);                                                                           \
        return 0;                                                                                  \
    }

#endif
