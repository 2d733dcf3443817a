/* prompt.h - synthesised prompts of an exact token length.
 *
 * System prompts and queries are cut from a text corpus (spec->corpus, or a
 * built-in generated prose when there is none) so that the text has exactly
 * the requested number of tokens by the target's tokenizer, where the
 * tokenizer allows. Tokens are counted through a callback (the runner passes
 * the server's /tokenize, or a calibration against usage.prompt_tokens): the
 * search interpolates on the number of corpus words, then adjusts with
 * one-token filler words.
 *
 * A system prompt starts with a nonce text (a few words derived from a 64-bit
 * nonce) at token 0, so two trials with different nonces never share a
 * prefix. The body after it depends on the seed and the nonce's class
 * (nonce % PROMPT_VARIANTS) and is searched once per (role, length, class):
 * later calls reuse the cached word count and, when counting is cheap, only
 * verify (and if needed adjust) the final text.
 *
 * Ownership: prompt_synth_new returns a handle freed by prompt_synth_free
 * (free(NULL) is a no-op). Texts returned through char ** are malloc'd; the
 * caller frees them.
 */
#ifndef KV_PROMPT_H
#define KV_PROMPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

/* Number of distinct corpus offsets per (role, length): nonce classes. */
#define PROMPT_VARIANTS 8
/* Room for a nonce text ("Amber orbit seven river.\n\n" style). */
#define PROMPT_NONCE_LEN 64

/* Counts the tokens of text by the target's tokenizer. */
typedef kv_status (*prompt_count_fn)(void *ctx, const char *text, long *n_tokens, char *err);

typedef enum prompt_role {
    PROMPT_SYSTEM = 0, /* system prompt: nonce + corpus text */
    PROMPT_QUERY,      /* user question: corpus text from another offset */
    PROMPT_PRIME       /* the short, different question of a warm priming request */
} prompt_role;

typedef struct prompt_synth prompt_synth;

typedef struct prompt_stats {
    long count_calls; /* calls of the count callback so far */
    long cache_hits;  /* prompts served from the (role, length, class) cache */
    long inexact;     /* prompts whose count could not be made exact */
} prompt_stats;

/* corpus: UTF-8 text (copied), or NULL for the built-in generated prose.
 * count_is_cheap: verify every prompt (a /tokenize call) instead of trusting
 * the cache for later nonces. */
kv_status prompt_synth_new(const char *corpus, size_t corpus_len, uint64_t seed,
                           prompt_count_fn count, void *count_ctx, bool count_is_cheap,
                           prompt_synth **out, char *err) KV_MUST_USE;
void prompt_synth_free(prompt_synth *p);

/* Loads a corpus file; a NULL path or "builtin" yields the built-in prose
 * (*out = NULL, *len = 0). Relative paths are tried as given, then under
 * KVPROOF_SOURCE_DIR. */
kv_status prompt_corpus_load(const char *path, char **out, size_t *len, char *err) KV_MUST_USE;

/* Writes the nonce text for `nonce` (unique short words, ending "\n\n"). */
void prompt_nonce_text(uint64_t nonce, char *buf, size_t size);

/* A text of n_tokens tokens for the role. For PROMPT_SYSTEM the text starts
 * with prompt_nonce_text(nonce); n_tokens == 0 yields "" (no nonce). `variant`
 * selects the corpus text for queries (e.g. the turn number); for system
 * prompts the class is nonce % PROMPT_VARIANTS. *counted (may be NULL)
 * receives the tokenizer's count of the returned text. */
kv_status prompt_make(prompt_synth *p, prompt_role role, long n_tokens, uint64_t nonce,
                      long variant, char **out, long *counted, char *err) KV_MUST_USE;

/* prompt_make, counting with count_ctx instead of the context given to
 * prompt_synth_new. Thread-safe: several threads may call it on one
 * synthesiser at once (the count callback must then be safe with their
 * contexts); the cache is shared, the mutex is not held while counting. */
kv_status prompt_make_with(prompt_synth *p, void *count_ctx, prompt_role role, long n_tokens,
                           uint64_t nonce, long variant, char **out, long *counted,
                           char *err) KV_MUST_USE;

prompt_stats prompt_synth_stats(const prompt_synth *p);

#endif
