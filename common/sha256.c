/* sha256.c - SHA-256 as hex, through OpenSSL's EVP interface. */
#include "common/sha256.h"

#include <openssl/evp.h>
#include <stdio.h>

bool sha256_hex(const void *p, size_t n, char hex[SHA256_HEX_LEN])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    hex[0] = '\0';
    if (EVP_Digest(p, n, md, &len, EVP_sha256(), NULL) != 1 || len != 32)
        return false;
    for (unsigned int i = 0; i < len; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return true;
}
