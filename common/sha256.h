/* sha256.h - SHA-256 of a byte string as lower-case hex: the identity of a
 * file kvproof imported (docs/journal.md). The digest is OpenSSL's libcrypto
 * (EVP), not a copy of the algorithm.
 *
 * Ownership: the caller owns every buffer; nothing is kept.
 */
#ifndef KV_SHA256_H
#define KV_SHA256_H

#include <stdbool.h>
#include <stddef.h>

#define SHA256_HEX_LEN 65 /* 64 hex digits and the terminator */

/* Writes the digest of p[0..n) as 64 lower-case hex digits and a NUL into
 * hex; false (hex empty) only when libcrypto fails. */
bool sha256_hex(const void *p, size_t n, char hex[SHA256_HEX_LEN]);

#endif
