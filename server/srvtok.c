/* srvtok.c - word/punctuation tokenizer, token ids, chat template. */
#include "server/srvtok.h"

#include <stdlib.h>
#include <string.h>

#include "common/util.h"

static int is_word_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

static int is_space_byte(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* The first token at or after p (NULL when only whitespace is left, or p is
 * NULL); *n receives its length in bytes. */
static const char *next_token(const char *text, size_t *n)
{
    const unsigned char *p = (const unsigned char *)text;
    while (p && is_space_byte(*p))
        p++;
    if (!p || !*p)
        return NULL;
    const unsigned char *start = p++;
    if (is_word_byte(*start))
        while (*p && is_word_byte(*p))
            p++;
    *n = (size_t)(p - start);
    return (const char *)start;
}

void srvtok_scan(const char *text, void (*fn)(void *arg, const char *p, size_t n), void *arg)
{
    size_t n;
    for (const char *p = next_token(text, &n); p; p = next_token(p + n, &n))
        fn(arg, p, n);
}

long srvtok_count(const char *text)
{
    long count = 0;
    size_t n;
    for (const char *p = next_token(text, &n); p; p = next_token(p + n, &n))
        count++;
    return count;
}

int32_t srvtok_id(const char *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 16777619u;
    }
    return (int32_t)(SRVTOK_TEXT_BASE + h % 2000000000u);
}

kv_status srvtok_push(srvtok_seq *s, int32_t id)
{
    if (kv_grow(&s->ids, &s->cap, s->n + 1, sizeof *s->ids, 256) != KV_OK)
        return KV_ERR_NOMEM;
    s->ids[s->n++] = id;
    return KV_OK;
}

kv_status srvtok_text(srvtok_seq *s, const char *text)
{
    size_t n;
    for (const char *p = next_token(text, &n); p; p = next_token(p + n, &n))
        if (srvtok_push(s, srvtok_id(p, n)) != KV_OK)
            return KV_ERR_NOMEM;
    return KV_OK;
}

static kv_status push_header(srvtok_seq *s, const char *role)
{
    kv_status st = srvtok_push(s, SRVTOK_IM_START);
    if (st == KV_OK)
        st = srvtok_push(s, srvtok_id(role, strlen(role))); /* a role is one token */
    if (st == KV_OK)
        st = srvtok_push(s, SRVTOK_NEWLINE);
    return st;
}

kv_status srvtok_message(srvtok_seq *s, const char *role, const char *content)
{
    kv_status st = push_header(s, role);
    if (st == KV_OK)
        st = srvtok_text(s, content);
    if (st == KV_OK)
        st = srvtok_push(s, SRVTOK_IM_END);
    return st;
}

kv_status srvtok_message_begin(srvtok_seq *s, const char *role)
{
    return push_header(s, role);
}

kv_status srvtok_message_end(srvtok_seq *s)
{
    return srvtok_push(s, SRVTOK_IM_END);
}

kv_status srvtok_gen_prompt(srvtok_seq *s)
{
    return push_header(s, "assistant");
}

void srvtok_free(srvtok_seq *s)
{
    free(s->ids);
    s->ids = NULL;
    s->n = s->cap = 0;
}
