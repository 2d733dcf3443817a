/* utf8.h - strict UTF-8 (RFC 3629): validation, cutting at a character
 * boundary, and repair of bytes that are not UTF-8.
 *
 * Every string kvproof writes to a journal, results.json or the terminal
 * passes through here when it may hold bytes from a server, so that any JSON
 * reader (Python's json, jq, pandas, R) loads what kvproof wrote.
 * "Strict" rejects overlong forms, surrogates (U+D800..U+DFFF) and code
 * points above U+10FFFF.
 *
 * Ownership: nothing here allocates except kv_utf8_repair, which appends to
 * a caller-owned kv_buf.
 */
#ifndef KV_UTF8_H
#define KV_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "common/util.h"

/* The replacement character U+FFFD in UTF-8. */
#define KV_UTF8_REPLACEMENT "\xEF\xBF\xBD"

/* Length (1..4) of the valid UTF-8 sequence at p (n bytes available), or 0
 * when the bytes there are not one. *cp receives the code point when not
 * NULL. */
size_t kv_utf8_seq(const char *p, size_t n, uint32_t *cp);

/* Where kv_utf8_seq gives 0: the length (>= 1) of the maximal invalid
 * subpart at p, the bytes one U+FFFD stands for. */
size_t kv_utf8_invalid_len(const char *p, size_t n);

/* Whether the n bytes at s are strict UTF-8 (NUL bytes count as valid). */
bool kv_utf8_valid(const char *s, size_t n);

/* The longest prefix of the n bytes at s, at most max bytes, that does not
 * end inside a multi-byte character (s assumed to be UTF-8). */
size_t kv_utf8_cut(const char *s, size_t n, size_t max);

/* Cuts the NUL-terminated s to at most max bytes at a character boundary. */
void kv_utf8_truncate(char *s, size_t max);

/* Appends the n bytes at s to out, every invalid sequence replaced by
 * U+FFFD (one per maximal invalid subpart, as the Unicode standard
 * recommends). */
kv_status kv_utf8_repair(kv_buf *out, const char *s, size_t n) KV_MUST_USE;

#endif
