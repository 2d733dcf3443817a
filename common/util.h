/* util.h - small helpers every module shares: the monotonic clock, a growable
 * byte buffer and arrays, whole-file reads and a stable 64-bit hash.
 *
 * Ownership: kv_buf owns its data; kv_buf_free releases it. kv_read_file
 * returns a malloc'd, NUL-terminated copy the caller frees.
 */
#ifndef KV_UTIL_H
#define KV_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

/* CLOCK_MONOTONIC in nanoseconds. */
int64_t kv_now_ns(void);
/* Sleeps until the monotonic deadline (absolute, ns); no busy-wait. */
void kv_sleep_until_ns(int64_t deadline_ns);
/* Raises the soft limit on open files to the hard limit (a run at
 * concurrency 1024 holds a socket per stream); returns the soft limit now in
 * force, or -1 when it cannot be read. */
long kv_raise_fd_limit(void);

typedef struct kv_buf {
    char *data; /* NUL-terminated while len < cap */
    size_t len; /* bytes used, excluding the terminator */
    size_t cap; /* bytes allocated */
} kv_buf;

kv_status kv_buf_append(kv_buf *b, const void *p, size_t n) KV_MUST_USE;
kv_status kv_buf_appendf(kv_buf *b, const char *fmt, ...) KV_MUST_USE
    __attribute__((format(printf, 2, 3)));
void kv_buf_reset(kv_buf *b); /* len = 0, keeps the memory */
void kv_buf_free(kv_buf *b);  /* releases the memory; b is empty after */

/* strdup that maps NULL to NULL (and returns NULL when out of memory). */
char *kv_strdup(const char *s);

/* Makes room for at least `need` elements of `elem` bytes in a growable
 * array: `array` is the address of the array's pointer (T **), *cap its
 * allocated element count. Grows by doubling, from `first` when empty;
 * first > 0; nothing changes when need <= *cap. KV_ERR_NOMEM (array and *cap left as
 * they were) when out of memory. */
kv_status kv_grow(void *array, size_t *cap, size_t need, size_t elem, size_t first) KV_MUST_USE;

/* Largest file kv_read_file reads (results.json, CSV, corpus, cost
 * parameters); kv_read_file_max sets another limit (specs, journals). */
#define KV_READ_MAX ((size_t)128 << 20)

/* Reads a whole file into a NUL-terminated malloc'd string. A file (or a
 * device such as /dev/zero) larger than the limit is refused with
 * KV_ERR_INPUT and a message naming it, before more than the limit is read. */
kv_status kv_read_file(const char *path, char **out, size_t *len, char *err) KV_MUST_USE;
kv_status kv_read_file_max(const char *path, size_t max, char **out, size_t *len,
                           char *err) KV_MUST_USE;

/* Creates dir and its missing parents (mkdir -p). KV_ERR_USAGE when the
 * path is too long, KV_ERR_IO naming the part that failed. */
kv_status kv_mkdirs(const char *dir, char *err) KV_MUST_USE;

/* FNV-1a 64-bit hash, for spec hashes and nonces (stable across machines). */
uint64_t kv_hash64(const void *p, size_t n, uint64_t seed);

/* FNV-1a over n more bytes, continuing from h (start with KV_HASH64_INIT):
 * kv_hash64(p, n, 0) == kv_hash64_more(KV_HASH64_INIT, p, n). */
#define KV_HASH64_INIT 14695981039346656037ULL
uint64_t kv_hash64_more(uint64_t h, const void *p, size_t n);

/* splitmix64 (Steele, Lea and Flood; Vigna's constants): advances *state and
 * returns the next value. Seeds the plan's generator, draws the reference
 * server's noise and the report's points subsample. */
uint64_t kv_splitmix64(uint64_t *state);

/* 1-based line and column of byte offset `off` in text. */
void kv_line_col(const char *text, size_t off, int *line, int *col);

/* qsort comparator of doubles, ascending: (x > y) - (x < y), so a NaN
 * compares equal to every value (callers sort finite values). */
int kv_cmp_double(const void *a, const void *b);

#endif
