/* fuzz.h - what the libFuzzer targets in fuzz/ share: the entry point's
 * prototype, a check that aborts (so libFuzzer records the input), and a
 * deterministic splitter that cuts an input into chunks the way a transport
 * might. Header-only (static) because every fuzz/fuzz_*.c is its own
 * program.
 */
#ifndef KV_FUZZ_H
#define KV_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

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

#endif
