/* util.c - monotonic clock, growable buffer, bounded file reads, hashing. */
#include "common/util.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

int64_t kv_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void kv_sleep_until_ns(int64_t deadline_ns)
{
    struct timespec ts;
    ts.tv_sec = (time_t)(deadline_ns / 1000000000LL);
    ts.tv_nsec = (long)(deadline_ns % 1000000000LL);
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
    }
}

long kv_raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return -1;
    if (rl.rlim_cur < rl.rlim_max) {
        struct rlimit up = {rl.rlim_max, rl.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &up) == 0)
            rl.rlim_cur = rl.rlim_max;
    }
    return rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (rlim_t)LONG_MAX ? LONG_MAX
                                                                          : (long)rl.rlim_cur;
}

kv_status kv_grow(void *array, size_t *cap, size_t need, size_t elem, size_t first)
{
    if (need <= *cap)
        return KV_OK;
    size_t n = *cap ? *cap : first;
    while (n < need) {
        if (n > SIZE_MAX / 2)
            return KV_ERR_NOMEM;
        n *= 2;
    }
    if (n > SIZE_MAX / elem)
        return KV_ERR_NOMEM;
    void *old;
    memcpy(&old, array, sizeof old); /* array is a T **; T * and void * share a representation */
    void *p = realloc(old, n * elem);
    if (!p)
        return KV_ERR_NOMEM;
    memcpy(array, &p, sizeof p);
    *cap = n;
    return KV_OK;
}

static kv_status buf_reserve(kv_buf *b, size_t extra)
{
    return kv_grow(&b->data, &b->cap, b->len + extra + 1, 1, 256);
}

kv_status kv_buf_append(kv_buf *b, const void *p, size_t n)
{
    if (buf_reserve(b, n) != KV_OK)
        return KV_ERR_NOMEM;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return KV_OK;
}

kv_status kv_buf_appendf(kv_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return KV_ERR_INTERNAL;
    if (buf_reserve(b, (size_t)n) != KV_OK)
        return KV_ERR_NOMEM;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return KV_OK;
}

void kv_buf_reset(kv_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void kv_buf_free(kv_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

char *kv_strdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

kv_status kv_read_file(const char *path, char **out, size_t *len, char *err)
{
    return kv_read_file_max(path, KV_READ_MAX, out, len, err);
}

static kv_status read_too_large(const char *path, size_t max, char *err)
{
    return kv_fail(err, KV_ERR_INPUT, "%s: larger than the %zu MiB kvproof reads for this file",
                   path, max >> 20);
}

kv_status kv_read_file_max(const char *path, size_t max, char **out, size_t *len, char *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return kv_fail(err, KV_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    kv_buf b = {0};
    char chunk[65536];
    size_t n;
    kv_status st = KV_OK;
    struct stat sb;
    if (fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode) && (uintmax_t)sb.st_size > max) {
        st = read_too_large(path, max, err);
        goto out;
    }
    /* Devices and pipes (/dev/zero) have no size: the limit is checked as
     * the bytes arrive. */
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (n > max - b.len) {
            st = read_too_large(path, max, err);
            goto out;
        }
        if (kv_buf_append(&b, chunk, n) != KV_OK) {
            st = kv_fail(err, KV_ERR_NOMEM, "%s: out of memory", path);
            goto out;
        }
    }
    if (ferror(f)) {
        st = kv_fail(err, KV_ERR_IO, "%s: read error: %s", path, strerror(errno));
        goto out;
    }
    if (kv_buf_append(&b, "", 0) != KV_OK) {
        st = kv_fail(err, KV_ERR_NOMEM, "%s: out of memory", path);
        goto out;
    }
    *out = b.data;
    if (len)
        *len = b.len;
    b.data = NULL;
out:
    kv_buf_free(&b);
    fclose(f);
    return st;
}

uint64_t kv_hash64_more(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

uint64_t kv_hash64(const void *p, size_t n, uint64_t seed)
{
    return kv_hash64_more(KV_HASH64_INIT ^ seed, p, n);
}

uint64_t kv_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void kv_line_col(const char *text, size_t off, int *line, int *col)
{
    int l = 1, c = 1;
    for (size_t i = 0; i < off && text[i]; i++) {
        if (text[i] == '\n') {
            l++;
            c = 1;
        } else {
            c++;
        }
    }
    *line = l;
    *col = c;
}

kv_status kv_mkdirs(const char *dir, char *err)
{
    char path[1024];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path)
        return kv_fail(err, KV_ERR_USAGE, "--out %s: path too long", dir);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0777) != 0 && errno != EEXIST)
            return kv_fail(err, KV_ERR_IO, "%s: %s", path, strerror(errno));
        *p = '/';
    }
    if (mkdir(path, 0777) != 0 && errno != EEXIST)
        return kv_fail(err, KV_ERR_IO, "%s: %s", path, strerror(errno));
    return KV_OK;
}

int kv_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}
