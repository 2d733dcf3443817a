/* srvtok.c - word/punctuation tokenizer, token ids, chat template. */
#include "server/srvtok.h"

#include <stdlib.h>
#include <string.h>

static int is_word_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

static int is_space_byte(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

void srvtok_scan(const char *text, void (*fn)(void *arg, const char *p, size_t n), void *arg)
{
    const unsigned char *p = (const unsigned char *)text;
    while (p && *p) {
        if (is_space_byte(*p)) {
            p++;
            continue;
        }
        const unsigned char *start = p;
        if (is_word_byte(*p)) {
            while (*p && is_word_byte(*p))
                p++;
        } else {
            p++;
        }
        fn(arg, (const char *)start, (size_t)(p - start));
    }
}

static void count_one(void *arg, const char *p, size_t n)
{
    (void)p;
    (void)n;
    (*(long *)arg)++;
}

long srvtok_count(const char *text)
{
    long n = 0;
    srvtok_scan(text, count_one, &n);
    return n;
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
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        int32_t *p = realloc(s->ids, cap * sizeof *p);
        if (!p)
            return KV_ERR_NOMEM;
        s->ids = p;
        s->cap = cap;
    }
    s->ids[s->n++] = id;
    return KV_OK;
}

typedef struct push_ctx {
    srvtok_seq *s;
    kv_status st;
} push_ctx;

static void push_one(void *arg, const char *p, size_t n)
{
    push_ctx *c = arg;
    if (c->st == KV_OK)
        c->st = srvtok_push(c->s, srvtok_id(p, n));
}

kv_status srvtok_text(srvtok_seq *s, const char *text)
{
    push_ctx c = {s, KV_OK};
    srvtok_scan(text, push_one, &c);
    return c.st;
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
