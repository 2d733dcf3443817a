/* jsonadd.h - the cJSON writing steps the experiments stage shares (the
 * plan, the contention plan, the canonical spec, the journal's lines).
 *
 * Each returns false (NULL) when cJSON ran out of memory, so a writer chains
 * them with &&. What they add belongs to the object or array they add it to.
 */
#ifndef KV_JSONADD_H
#define KV_JSONADD_H

#include <stdbool.h>

#include <cjson/cJSON.h>

/* A new, empty object appended to the array arr. */
cJSON *jsonadd_object(cJSON *arr);
/* o[k] = v, written exactly (cJSON's own printer goes through a double). */
bool jsonadd_int(cJSON *o, const char *k, long long v);

#endif
