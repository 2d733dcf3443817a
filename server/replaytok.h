/* replaytok.h - the replay server's stand-in for a model: a deterministic
 * word tokenizer, the prompt a request body renders to, and a tiny prefix
 * cache, so the numbers a replayed reply reports (prompt tokens, cached
 * tokens) stay consistent with what the client sent.
 *
 * Tokenizer: every maximal run of ASCII letters and digits is one token,
 * every other non-space byte is one token, white space is no token.
 * Rendering: each chat message is one role token plus its content's tokens,
 * then one token that opens the reply (LM Studio's `input` is one user
 * message); a bare prompt ("prompt", "content", "text") is its text's
 * tokens only.
 *
 * Ownership: replaytok_cache_new returns a handle freed by
 * replaytok_cache_free (NULL is a no-op); token arrays handed out are
 * malloc'd and freed by the caller.
 */
#ifndef KV_REPLAYTOK_H
#define KV_REPLAYTOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

/* Appends the tokens of text (ids are 64-bit hashes of the token text). */
kv_status replaytok_text(const char *text, size_t len, uint64_t **ids, size_t *n,
                         size_t *cap) KV_MUST_USE;

/* The tokens a request body renders to: chat messages (OpenAI, Ollama,
 * Anthropic with its `system`, LM Studio `input`), else "prompt" / "content"
 * / "text".
 * chat is set when messages were rendered. Fails on a body that is not JSON. */
kv_status replaytok_request(const char *body, size_t len, uint64_t **ids, size_t *n,
                            bool *chat) KV_MUST_USE;

typedef struct replaytok_cache replaytok_cache;

/* block: cached counts are multiples of it (vLLM's 16-token blocks); 1 = any. */
kv_status replaytok_cache_new(long block, replaytok_cache **out) KV_MUST_USE;
void replaytok_cache_free(replaytok_cache *c);
/* Tokens of ids served from the cache (the longest prefix shared with an
 * earlier prompt, at most n - 1, rounded down to the block), then remembers
 * ids. use false: reports 0 but still remembers (llama.cpp cache_prompt:false). */
long replaytok_cache_lookup(replaytok_cache *c, const uint64_t *ids, size_t n, bool use);
/* Forgets every prompt (a cache reset). */
void replaytok_cache_clear(replaytok_cache *c);

#endif
