/* pcache.c - LRU prefix cache over token sequences (a list, most recent
 * first; the server keeps few, long entries, so a linear scan suffices). */
#include "server/pcache.h"

#include <stdlib.h>
#include <string.h>

typedef struct pentry {
    int32_t *ids;
    size_t n;
    struct pentry *next;
} pentry;

struct pcache {
    long capacity;
    long used;
    pentry *head; /* most recently used first */
};

pcache *pcache_new(long capacity_tokens)
{
    pcache *c = calloc(1, sizeof *c);
    if (c)
        c->capacity = capacity_tokens > 0 ? capacity_tokens : 0;
    return c;
}

static void entry_free(pentry *e)
{
    free(e->ids);
    free(e);
}

void pcache_clear(pcache *c)
{
    if (!c)
        return;
    pentry *e = c->head;
    while (e) {
        pentry *next = e->next;
        entry_free(e);
        e = next;
    }
    c->head = NULL;
    c->used = 0;
}

void pcache_free(pcache *c)
{
    pcache_clear(c);
    free(c);
}

static size_t lcp(const int32_t *a, size_t na, const int32_t *b, size_t nb)
{
    size_t n = na < nb ? na : nb, i = 0;
    while (i < n && a[i] == b[i])
        i++;
    return i;
}

static void move_front(pcache *c, pentry *prev, pentry *e)
{
    if (!prev)
        return;
    prev->next = e->next;
    e->next = c->head;
    c->head = e;
}

size_t pcache_lookup(pcache *c, const int32_t *ids, size_t n)
{
    size_t best = 0;
    pentry *best_e = NULL, *best_prev = NULL, *prev = NULL;
    for (pentry *e = c->head; e; prev = e, e = e->next) {
        size_t k = lcp(e->ids, e->n, ids, n);
        if (k > best) {
            best = k;
            best_e = e;
            best_prev = prev;
        }
    }
    if (best_e)
        move_front(c, best_prev, best_e);
    return best;
}

kv_status pcache_insert(pcache *c, const int32_t *ids, size_t n)
{
    if ((long)n > c->capacity)
        n = (size_t)c->capacity;
    if (n == 0)
        return KV_OK;
    /* An entry that already holds ids as its prefix: just touch it. */
    pentry *prev = NULL;
    for (pentry *e = c->head; e; prev = e, e = e->next) {
        if (e->n >= n && lcp(e->ids, e->n, ids, n) == n) {
            move_front(c, prev, e);
            return KV_OK;
        }
    }
    /* Drop entries that are a prefix of ids. */
    pentry **pp = &c->head;
    while (*pp) {
        pentry *e = *pp;
        if (e->n <= n && lcp(e->ids, e->n, ids, n) == e->n) {
            *pp = e->next;
            c->used -= (long)e->n;
            entry_free(e);
        } else {
            pp = &e->next;
        }
    }
    pentry *ne = calloc(1, sizeof *ne);
    if (!ne)
        return KV_ERR_NOMEM;
    ne->ids = malloc(n * sizeof *ne->ids);
    if (!ne->ids) {
        free(ne);
        return KV_ERR_NOMEM;
    }
    memcpy(ne->ids, ids, n * sizeof *ids);
    ne->n = n;
    ne->next = c->head;
    c->head = ne;
    c->used += (long)n;
    /* Evict from the tail until it fits. */
    while (c->used > c->capacity) {
        pentry **tail = &c->head;
        while ((*tail)->next)
            tail = &(*tail)->next;
        c->used -= (long)(*tail)->n;
        entry_free(*tail);
        *tail = NULL;
    }
    return KV_OK;
}

long pcache_tokens(const pcache *c)
{
    return c->used;
}
