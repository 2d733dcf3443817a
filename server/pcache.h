/* pcache.h - the reference server's prefix cache: an LRU of token
 * sequences with a capacity in tokens. A lookup returns the longest common
 * prefix between a prompt and any stored sequence.
 *
 * Not thread-safe: the server holds its lock around every call.
 * Ownership: pcache_new allocates, pcache_free releases (NULL is a no-op);
 * pcache_insert copies the ids.
 */
#ifndef KV_PCACHE_H
#define KV_PCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

typedef struct pcache pcache;

pcache *pcache_new(long capacity_tokens);
void pcache_free(pcache *c);
/* Longest common prefix of ids with any entry; that entry becomes the most
 * recently used. 0 when empty. */
size_t pcache_lookup(pcache *c, const int32_t *ids, size_t n);
/* Stores ids (truncated to the capacity). Entries that are a prefix of ids are
 * dropped; least recently used entries are evicted to fit. */
kv_status pcache_insert(pcache *c, const int32_t *ids, size_t n) KV_MUST_USE;
void pcache_clear(pcache *c);
/* Tokens held. */
long pcache_tokens(const pcache *c);

#endif
