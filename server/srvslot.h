/* srvslot.h - the reference server's slots: which slot a request takes, what
 * each slot holds (its last prompt and reply, as llama.cpp's slot keeps its
 * KV), the per-slot cache of --cache-mode slot with its host-RAM tier
 * (--ram-cache-tokens, restored at --restore-ms-per-token), and the
 * llama.cpp-shaped GET /slots reply.
 *
 * Not thread-safe: the server holds its lock around every call.
 * Ownership: srvslot_init allocates the table, srvslot_fini releases it.
 */
#ifndef KV_SRVSLOT_H
#define KV_SRVSLOT_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "server/pcache.h"

typedef struct srvslot {
    int32_t *ids;     /* tokens held (prompt, then prompt + reply) */
    size_t n, cap;    /* tokens held / allocated */
    bool busy;        /* a request is being served */
    long last_used;   /* seq of the last request (0 = never used) */
    long id_task;     /* seq of the last request, -1 = none */
    long n_prompt;    /* that request's prompt tokens */
    long n_cache;     /* ... of which reused */
    long n_processed; /* ... of which evaluated */
} srvslot;

typedef struct srvslot_table {
    int n;             /* number of slots */
    srvslot *slot;     /* n entries */
    bool per_slot;     /* --cache-mode slot: a slot's own tokens are its cache */
    pcache *ram;       /* host-RAM tier (per_slot only), NULL = off */
    double restore_ms; /* model ms per restored token */
} srvslot_table;

kv_status srvslot_init(srvslot_table *t, int n, bool per_slot, long ram_tokens,
                       double restore_ms) KV_MUST_USE;
void srvslot_fini(srvslot_table *t);
/* Number of free slots. */
int srvslot_free_count(const srvslot_table *t);
/* Takes a free slot for a prompt (at least one must be free) and returns its
 * id: per_slot, the free slot whose tokens share the longest prefix with ids
 * when that prefix is at least a tenth of the prompt (llama.cpp's
 * --slot-prompt-similarity 0.1), else the least recently used free slot;
 * otherwise the lowest free id. */
int srvslot_take(srvslot_table *t, const int32_t *ids, size_t n);
void srvslot_release(srvslot_table *t, int id);
/* per_slot: tokens of ids reusable from slot id, or from the RAM tier when it
 * holds a longer prefix (then *restored = that count, else 0). The slot's
 * old tokens go to the RAM tier when the new prompt does not extend them. */
size_t srvslot_lookup(srvslot_table *t, int id, const int32_t *ids, size_t n, size_t *restored);
/* Records the request seq on slot id (for GET /slots). */
void srvslot_note(srvslot_table *t, int id, long seq, long n_prompt, long n_cache);
/* Slot id now holds ids (a copy); false when out of memory (it then holds
 * nothing). */
bool srvslot_hold(srvslot_table *t, int id, const int32_t *ids, size_t n);
/* Forgets what slot id holds (-1 = every slot and the RAM tier); returns the
 * tokens it held. */
long srvslot_clear(srvslot_table *t, int id);
/* An id of the prefix a slot holds: a hash of its first message (the tokens
 * up to the first end-of-message), or of its first 256 tokens. 16 hex
 * digits, "" when it holds nothing. */
void srvslot_prefix_id(const srvslot *s, char out[17]);
/* GET /slots: an array of {id, n_ctx, speculative, is_processing, id_task,
 * n_prompt_tokens, n_prompt_tokens_processed, n_prompt_tokens_cache} as
 * llama.cpp, plus kvproof_prefix_id and kvproof_held_tokens. */
cJSON *srvslot_json(const srvslot_table *t, long n_ctx);

#endif
