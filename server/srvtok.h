/* srvtok.h - the reference server's tokenizer and chat template.
 *
 * Tokenizer: each run of ASCII letters/digits (bytes >= 0x80 count as
 * letters, so UTF-8 words stay whole) is one token; every other non-space
 * byte is one token; whitespace is free. A token's id is a stable hash of its
 * bytes (>= SRVTOK_TEXT_BASE).
 * Chat template: each message is <|im_start|> role \n content <|im_end|>
 * (4 tokens + content), the generation prompt <|im_start|> assistant \n (3).
 *
 * Ownership: a srvtok_seq owns its ids; srvtok_free releases them.
 */
#ifndef KV_SRVTOK_H
#define KV_SRVTOK_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

enum { SRVTOK_IM_START = 1, SRVTOK_IM_END = 2, SRVTOK_NEWLINE = 3, SRVTOK_TEXT_BASE = 1000 };

typedef struct srvtok_seq {
    int32_t *ids; /* token ids */
    size_t n;     /* tokens used */
    size_t cap;   /* tokens allocated */
} srvtok_seq;

/* Calls fn for each token of text (pointer and length of its bytes). */
void srvtok_scan(const char *text, void (*fn)(void *arg, const char *p, size_t n), void *arg);
long srvtok_count(const char *text);
int32_t srvtok_id(const char *p, size_t n);

kv_status srvtok_push(srvtok_seq *s, int32_t id) KV_MUST_USE;
kv_status srvtok_text(srvtok_seq *s, const char *text) KV_MUST_USE;
/* Appends one templated message (4 + content tokens). */
kv_status srvtok_message(srvtok_seq *s, const char *role, const char *content) KV_MUST_USE;
/* The same message in two halves: header (3 tokens) ... end (1 token). */
kv_status srvtok_message_begin(srvtok_seq *s, const char *role) KV_MUST_USE;
kv_status srvtok_message_end(srvtok_seq *s) KV_MUST_USE;
/* Appends the generation prompt (3 tokens). */
kv_status srvtok_gen_prompt(srvtok_seq *s) KV_MUST_USE;
void srvtok_free(srvtok_seq *s);

#endif
