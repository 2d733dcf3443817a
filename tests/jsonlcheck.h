/* jsonlcheck.h - checks that every line of a journal (JSON Lines) is strict
 * UTF-8 and one valid JSON object, so that any JSON reader (Python's json on
 * strict UTF-8 bytes, jq, pandas, R) loads what kvproof wrote. The UTF-8
 * validator here is written apart from common/utf8.c on purpose: a test does
 * not trust the code it checks. A last line without its '\n' is a write cut
 * short by a crash (the journal's own rule) and is not checked.
 * Header-only (static inline): every tests/test_*.c is its own executable;
 * include it after <cmocka.h>. */
#ifndef KV_JSONLCHECK_H
#define KV_JSONLCHECK_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

/* Offset of the first byte that is not strict UTF-8 (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF), or n when all are. */
static inline size_t jsonlcheck_bad_utf8(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t len;
        unsigned min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            len = 2;
            min = 0x80;
            c &= 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3;
            min = 0x800;
            c &= 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4;
            min = 0x10000;
            c &= 0x07;
        } else {
            return i;
        }
        if (i + len > n)
            return i;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return i;
            c = (c << 6) | (s[i + k] & 0x3F);
        }
        if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
            return i;
        i += len;
    }
    return n;
}

/* Fails the test unless every complete line of the file at path is strict
 * UTF-8 and a JSON object; returns the number of lines checked. */
static inline size_t jsonlcheck_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("jsonlcheck: cannot open %s", path);
    size_t cap = 1 << 16, len = 0, got;
    char *text = malloc(cap);
    assert_non_null(text);
    while ((got = fread(text + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) {
            cap *= 2;
            text = realloc(text, cap);
            assert_non_null(text);
        }
    }
    fclose(f);
    size_t lines = 0;
    for (size_t pos = 0; pos < len;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        if (!nl)
            break; /* a torn last line */
        size_t n = (size_t)(nl - (text + pos));
        lines++;
        size_t bad = jsonlcheck_bad_utf8((const unsigned char *)text + pos, n);
        if (bad != n)
            fail_msg("%s:%zu: byte %zu (0x%02x) is not strict UTF-8", path, lines, bad + 1,
                     (unsigned char)text[pos + bad]);
        const char *end = NULL;
        cJSON *j = cJSON_ParseWithLengthOpts(text + pos, n, &end, false);
        if (!j || !cJSON_IsObject(j) || end != nl)
            fail_msg("%s:%zu: not one JSON object", path, lines);
        cJSON_Delete(j);
        pos += n + 1;
    }
    free(text);
    return lines;
}

#endif
