/* utf8.c - strict UTF-8 validation, cutting and repair (utf8.h). */
#include "common/utf8.h"

#include <string.h>

/* Whether b is a continuation byte in [lo, hi] (hi <= 0xBF). */
static bool utf8_cont(unsigned char b, unsigned char lo, unsigned char hi)
{
    return b >= lo && b <= hi;
}

/* Valid length of the sequence at p, or the number of bytes of its maximal
 * invalid subpart negated (so repair replaces each subpart once). */
static long utf8_scan(const unsigned char *p, size_t n, uint32_t *cp)
{
    unsigned char b = p[0];
    if (b < 0x80) {
        *cp = b;
        return 1;
    }
    size_t need;
    unsigned char lo = 0x80, hi = 0xBF;
    if (b >= 0xC2 && b <= 0xDF) {
        need = 1;
        *cp = b & 0x1Fu;
    } else if (b >= 0xE0 && b <= 0xEF) {
        need = 2;
        *cp = b & 0x0Fu;
        lo = b == 0xE0 ? 0xA0 : 0x80; /* no overlong forms */
        hi = b == 0xED ? 0x9F : 0xBF; /* no surrogates */
    } else if (b >= 0xF0 && b <= 0xF4) {
        need = 3;
        *cp = b & 0x07u;
        lo = b == 0xF0 ? 0x90 : 0x80; /* no overlong forms */
        hi = b == 0xF4 ? 0x8F : 0xBF; /* nothing above U+10FFFF */
    } else {
        return -1;
    }
    for (size_t i = 1; i <= need; i++) {
        if (i >= n || !utf8_cont(p[i], i == 1 ? lo : 0x80, i == 1 ? hi : 0xBF))
            return -(long)i;
        *cp = (*cp << 6) | (p[i] & 0x3Fu);
    }
    return (long)need + 1;
}

size_t kv_utf8_seq(const char *p, size_t n, uint32_t *cp)
{
    uint32_t c = 0;
    if (!p || n == 0)
        return 0;
    long k = utf8_scan((const unsigned char *)p, n, &c);
    if (k <= 0)
        return 0;
    if (cp)
        *cp = c;
    return (size_t)k;
}

size_t kv_utf8_invalid_len(const char *p, size_t n)
{
    uint32_t c = 0;
    if (!p || n == 0)
        return 0;
    long k = utf8_scan((const unsigned char *)p, n, &c);
    return k < 0 ? (size_t)-k : 0;
}

bool kv_utf8_valid(const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t k = kv_utf8_seq(s + i, n - i, NULL);
        if (!k)
            return false;
        i += k;
    }
    return true;
}

size_t kv_utf8_cut(const char *s, size_t n, size_t max)
{
    if (n <= max)
        return n;
    size_t k = max;
    /* Step back over continuation bytes to the lead byte of the character
     * that straddles the cut; it then starts the cut-off part. */
    while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80)
        k--;
    return k;
}

void kv_utf8_truncate(char *s, size_t max)
{
    if (!s)
        return;
    size_t n = strlen(s);
    s[kv_utf8_cut(s, n, max)] = '\0';
}

kv_status kv_utf8_repair(kv_buf *out, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t run = 0; /* start of the valid bytes not yet copied */
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        long k = utf8_scan(p + i, n - i, &cp);
        if (k > 0) {
            i += (size_t)k;
            continue;
        }
        if (kv_buf_append(out, s + run, i - run) != KV_OK ||
            kv_buf_append(out, KV_UTF8_REPLACEMENT, 3) != KV_OK)
            return KV_ERR_NOMEM;
        i += (size_t)-k;
        run = i;
    }
    return kv_buf_append(out, s + run, n - run);
}
