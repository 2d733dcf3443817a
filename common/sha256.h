/* sha256.h - SHA-256 (FIPS 180-4) of a byte string or a file, as lower-case
 * hex: the identity of a file kvproof imported (docs/journal.md).
 *
 * Ownership: the caller owns every buffer; nothing is kept.
 */
#ifndef KV_SHA256_H
#define KV_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

#define SHA256_HEX_LEN 65 /* 64 hex digits and the terminator */

typedef struct sha256_ctx {
    uint32_t h[8];
    uint64_t bytes;    /* message length so far */
    uint8_t block[64]; /* the partial block */
    size_t used;       /* bytes in block */
} sha256_ctx;

void sha256_init(sha256_ctx *c);
void sha256_update(sha256_ctx *c, const void *p, size_t n);
/* Writes the digest as 64 lower-case hex digits and a NUL into hex. */
void sha256_final(sha256_ctx *c, char hex[SHA256_HEX_LEN]);

/* The digest of p[0..n). */
void sha256_hex(const void *p, size_t n, char hex[SHA256_HEX_LEN]);

#endif
