/* prompt.c - synthesised prompts of an exact token length.
 *
 * Divided into: the built-in prose and nonce words, the corpus word index,
 * text assembly (nonce + words + fillers), the length search, and the cache
 * of searched lengths per (role, length, class).
 *
 * Threads: the cache and the statistics are guarded by the synthesiser's
 * mutex, which is never held while the count callback runs, so several
 * threads (each with its own counting context, prompt_make_with) count
 * tokens at once.
 */
#include "experiments/prompt.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

/* ---- built-in words ------------------------------------------------------ */

/* 256 short common words: a nonce of three of them is usually three tokens. */
static const char *const nonce_words[] = {
    "amber",   "anchor",  "apple",     "arrow",    "aspen",   "atlas",    "autumn",   "badge",
    "baker",   "bamboo",  "banner",    "barley",   "basin",   "beacon",   "berry",    "birch",
    "blade",   "bloom",   "border",    "bottle",   "branch",  "breeze",   "brick",    "bridge",
    "bronze",  "brook",   "bucket",    "cabin",    "cactus",  "camel",    "candle",   "canyon",
    "carbon",  "castle",  "cedar",     "chalk",    "cherry",  "chess",    "cider",    "circle",
    "cliff",   "clock",   "cloud",     "clover",   "cobalt",  "comet",    "copper",   "coral",
    "cotton",  "crane",   "creek",     "crown",    "crystal", "daisy",    "dawn",     "delta",
    "desert",  "diamond", "dolphin",   "dragon",   "dream",   "drum",     "dune",     "eagle",
    "earth",   "echo",    "elder",     "ember",    "emerald", "engine",   "falcon",   "feather",
    "fern",    "field",   "flame",     "flint",    "forest",  "fossil",   "fountain", "fox",
    "frost",   "garden",  "garnet",    "ginger",   "glacier", "globe",    "granite",  "grape",
    "gravel",  "harbor",  "hazel",     "heron",    "hill",    "honey",    "horizon",  "island",
    "ivory",   "jade",    "jasmine",   "jungle",   "kettle",  "kite",     "lagoon",   "lake",
    "lantern", "laurel",  "lemon",     "lily",     "linen",   "lotus",    "lunar",    "magnet",
    "maple",   "marble",  "meadow",    "melon",    "mercury", "meteor",   "mint",     "mirror",
    "monsoon", "moss",    "mountain",  "nectar",   "needle",  "nickel",   "noble",    "north",
    "oak",     "oasis",   "ocean",     "olive",    "onyx",    "opal",     "orange",   "orbit",
    "orchid",  "otter",   "oyster",    "palm",     "panda",   "paper",    "parrot",   "pearl",
    "pebble",  "pepper",  "petal",     "pine",     "planet",  "plum",     "polar",    "pond",
    "poppy",   "prairie", "prism",     "quartz",   "quill",   "rabbit",   "rain",     "raven",
    "reef",    "ribbon",  "ridge",     "river",    "robin",   "rocket",   "rose",     "ruby",
    "saddle",  "saffron", "sage",      "salmon",   "sand",    "sapphire", "saturn",   "shadow",
    "shell",   "silver",  "sky",       "slate",    "snow",    "solar",    "spark",    "spice",
    "spring",  "spruce",  "star",      "stone",    "storm",   "stream",   "summit",   "sun",
    "swan",    "table",   "tango",     "thistle",  "thunder", "tide",     "tiger",    "timber",
    "topaz",   "torch",   "tower",     "trail",    "tulip",   "tundra",   "valley",   "velvet",
    "violet",  "walnut",  "wave",      "whale",    "willow",  "wind",     "winter",   "wolf",
    "zebra",   "zenith",  "acorn",     "agate",    "alpine",  "basil",    "bison",    "canvas",
    "cliffs",  "cocoa",   "cosmos",    "cypress",  "ebony",   "fig",      "gale",     "galaxy",
    "grove",   "harvest", "iris",      "juniper",  "koala",   "lark",     "lime",     "lynx",
    "mango",   "marsh",   "nova",      "orca",     "peach",   "quail",    "rapids",   "sequoia",
    "anvil",   "aurora",  "birchwood", "bluebell", "breaker", "canoe",    "cashew",   "cinder",
};
_Static_assert(sizeof nonce_words / sizeof nonce_words[0] == 256, "256 nonce words");

static const char *const subjects[] = {
    "the server",   "the engineer", "the request", "the cache",     "the model",
    "the client",   "the team",     "the report",  "the benchmark", "the scheduler",
    "the operator", "the journal",  "the prompt",  "the reviewer",  "the user"};
static const char *const verbs[] = {"measures", "records", "compares",  "explains", "reuses",
                                    "rebuilds", "checks",  "describes", "prepares", "computes",
                                    "reports",  "stores",  "answers",   "reads",    "plans"};
static const char *const objects[] = {
    "a long system prompt",    "every token of the context", "the previous answer",
    "the time to first token", "a small question",           "the whole conversation",
    "the cached prefix",       "each repeated trial",        "the median of the samples",
    "a detailed instruction",  "the attention weights",      "the generated reply",
    "a careful estimate",      "the next request",           "the configuration file"};
static const char *const tails[] = {
    "before the reply starts", "with great care",         "after a short pause",
    "for the final report",    "in a predictable order",  "without any shortcut",
    "at the start of the day", "when the queue is empty", "as the documentation says",
    "so that nothing is lost", "under a steady load",     "while the fans spin",
    "for every target",        "in plain language",       "to keep the promise"};

#define BUILTIN_WORDS 24000

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

#define PICK(arr, r) ((arr)[(r) % (sizeof(arr) / sizeof((arr)[0]))])

/* Deterministic pseudo-prose of about BUILTIN_WORDS words. */
static kv_status builtin_prose(kv_buf *b, char *err)
{
    uint64_t st = 0x6b7670726f6f66ULL; /* fixed: the built-in corpus never changes */
    size_t words = 0;
    while (words < BUILTIN_WORDS) {
        uint64_t r = splitmix64(&st);
        const char *s = PICK(subjects, r);
        const char *v = PICK(verbs, r >> 8);
        const char *o = PICK(objects, r >> 16);
        const char *t = PICK(tails, r >> 24);
        char first[64];
        snprintf(first, sizeof first, "%s", s);
        if (first[0] >= 'a' && first[0] <= 'z')
            first[0] = (char)(first[0] - 'a' + 'A');
        if (kv_buf_appendf(b, "%s %s %s %s. ", first, v, o, t) != KV_OK)
            return kv_fail(err, KV_ERR_NOMEM, "out of memory building the built-in corpus");
        words += 10;
    }
    return KV_OK;
}

/* ---- the synthesiser ----------------------------------------------------- */

typedef struct word_span {
    size_t off; /* byte offset in corpus */
    size_t len; /* bytes */
} word_span;

typedef struct cache_entry {
    prompt_role role;
    long n_tokens;
    long variant;
    long words; /* corpus words after the nonce */
    long fill;  /* one-token filler words after them */
    long got;   /* tokens the searched text had */
} cache_entry;

struct prompt_synth {
    char *corpus;
    word_span *words;
    size_t n_words;
    uint64_t seed;
    prompt_count_fn count;
    void *count_ctx;
    bool cheap;
    pthread_mutex_t mu; /* cache and stats */
    bool mu_init;
    cache_entry *cache;
    size_t n_cache, cap_cache;
    prompt_stats stats;
};

static kv_status index_words(prompt_synth *p, char *err)
{
    size_t cap = 0; /* of p->words */
    const char *c = p->corpus;
    size_t i = 0;
    while (c[i]) {
        while (c[i] == ' ' || c[i] == '\n' || c[i] == '\t' || c[i] == '\r')
            i++;
        if (!c[i])
            break;
        size_t start = i;
        while (c[i] && c[i] != ' ' && c[i] != '\n' && c[i] != '\t' && c[i] != '\r')
            i++;
        if (kv_grow(&p->words, &cap, p->n_words + 1, sizeof *p->words, 1024) != KV_OK)
            return kv_fail(err, KV_ERR_NOMEM, "out of memory indexing the corpus");
        p->words[p->n_words++] = (word_span){start, i - start};
    }
    if (p->n_words < 16)
        return kv_fail(err, KV_ERR_INPUT, "corpus: fewer than 16 words of text");
    return KV_OK;
}

kv_status prompt_synth_new(const char *corpus, size_t corpus_len, uint64_t seed,
                           prompt_count_fn count, void *count_ctx, bool count_is_cheap,
                           prompt_synth **out, char *err)
{
    kv_status st = KV_OK;
    kv_buf b = {0};
    prompt_synth *p = calloc(1, sizeof *p);
    *out = NULL;
    if (!p)
        return kv_fail(err, KV_ERR_NOMEM, "out of memory");
    if (!count) {
        st = kv_fail(err, KV_ERR_INTERNAL, "prompt_synth_new: no token counter");
        goto out;
    }
    if (corpus && corpus_len > 0)
        st = kv_buf_append(&b, corpus, corpus_len);
    else
        st = builtin_prose(&b, err);
    if (st != KV_OK) {
        kv_fail(err, st, "out of memory copying the corpus");
        goto out;
    }
    p->corpus = b.data;
    b.data = NULL;
    p->seed = seed;
    p->count = count;
    p->count_ctx = count_ctx;
    p->cheap = count_is_cheap;
    pthread_mutex_init(&p->mu, NULL);
    p->mu_init = true;
    st = index_words(p, err);
    if (st != KV_OK)
        goto out;
    *out = p;
    p = NULL;
out:
    kv_buf_free(&b);
    prompt_synth_free(p);
    return st;
}

void prompt_synth_free(prompt_synth *p)
{
    if (!p)
        return;
    free(p->corpus);
    free(p->words);
    free(p->cache);
    if (p->mu_init)
        pthread_mutex_destroy(&p->mu);
    free(p);
}

prompt_stats prompt_synth_stats(const prompt_synth *p)
{
    prompt_synth *m = (prompt_synth *)(uintptr_t)p; /* the mutex only */
    pthread_mutex_lock(&m->mu);
    prompt_stats st = p->stats;
    pthread_mutex_unlock(&m->mu);
    return st;
}

kv_status prompt_corpus_load(const char *path, char **out, size_t *len, char *err)
{
    *out = NULL;
    *len = 0;
    if (!path || !*path || strcmp(path, "builtin") == 0)
        return KV_OK;
    char tmp[KV_ERRLEN] = ""; /* kv_fail writes only into an empty buffer */
    if (kv_read_file(path, out, len, tmp) == KV_OK)
        return KV_OK;
    if (path[0] != '/') {
        const char *src = getenv("KVPROOF_SOURCE_DIR");
        char alt[4096];
#ifdef KVPROOF_SOURCE_DIR
        if (!src)
            src = KVPROOF_SOURCE_DIR;
#endif
        if (src) {
            snprintf(alt, sizeof alt, "%s/%s", src, path);
            if (kv_read_file(alt, out, len, NULL) == KV_OK)
                return KV_OK;
        }
    }
    return kv_fail(err, KV_ERR_INPUT, "corpus %s: %s", path, tmp);
}

void prompt_nonce_text(uint64_t nonce, char *buf, size_t size)
{
    uint64_t x = nonce;
    uint64_t r = splitmix64(&x);
    const char *a = nonce_words[r & 255];
    const char *b = nonce_words[(r >> 8) & 255];
    const char *c = nonce_words[(r >> 16) & 255];
    const char *d = nonce_words[(r >> 24) & 255];
    char first[32];
    snprintf(first, sizeof first, "%s", a);
    first[0] = (char)(first[0] - 'a' + 'A');
    snprintf(buf, size, "%s %s %s %s.\n\n", first, b, c, d);
}

/* ---- text assembly ------------------------------------------------------- */

static size_t role_offset(const prompt_synth *p, prompt_role role, long variant)
{
    uint64_t key[3] = {p->seed, (uint64_t)role, (uint64_t)variant};
    return (size_t)(kv_hash64(key, sizeof key, 0x70726f6d7074ULL) % p->n_words);
}

/* prefix + `words` corpus words from `off` (wrapping) + `fill` fillers. */
static kv_status assemble(const prompt_synth *p, const char *prefix, size_t off, long words,
                          long fill, char **out, char *err)
{
    kv_buf b = {0};
    kv_status st = kv_buf_append(&b, prefix, strlen(prefix));
    for (long i = 0; st == KV_OK && i < words; i++) {
        const word_span *w = &p->words[(off + (size_t)i) % p->n_words];
        if (i > 0)
            st = kv_buf_append(&b, " ", 1);
        if (st == KV_OK)
            st = kv_buf_append(&b, p->corpus + w->off, w->len);
    }
    for (long i = 0; st == KV_OK && i < fill; i++)
        st = kv_buf_append(&b, (words > 0 || i > 0) ? " a" : "a", (words > 0 || i > 0) ? 2 : 1);
    if (st == KV_OK && !b.data)
        st = kv_buf_append(&b, "", 0);
    if (st != KV_OK) {
        kv_buf_free(&b);
        return kv_fail(err, KV_ERR_NOMEM, "out of memory assembling a prompt");
    }
    *out = b.data;
    return KV_OK;
}

/* The counting context of one prompt_make_with call. */
typedef struct counter {
    prompt_synth *p;
    void *ctx;
} counter;

static void stat_add(prompt_synth *p, long *field)
{
    pthread_mutex_lock(&p->mu);
    (*field)++;
    pthread_mutex_unlock(&p->mu);
}

static kv_status count_text(const counter *k, const char *prefix, size_t off, long words, long fill,
                            long *n, char *err)
{
    prompt_synth *p = k->p;
    char *text = NULL;
    kv_status st = assemble(p, prefix, off, words, fill, &text, err);
    if (st != KV_OK)
        return st;
    stat_add(p, &p->stats.count_calls);
    st = p->count(k->ctx, text, n, err); /* without the mutex */
    free(text);
    return st;
}

/* Finds (words, fill) so prefix + text has `target` tokens; *got is the count
 * reached (== target unless the tokenizer does not allow it). `guess` > 0
 * starts the search there. */
static kv_status search(const counter *p, const char *prefix, size_t off, long target, long guess,
                        long *words_out, long *fill_out, long *got, char *err)
{
    kv_status st;
    long c0 = 0;
    if (*prefix) {
        st = count_text(p, prefix, off, 0, 0, &c0, err);
        if (st != KV_OK)
            return st;
    }
    long need = target - c0;
    if (need <= 0) {
        *words_out = 0;
        *fill_out = 0;
        *got = c0;
        return KV_OK;
    }
    /* Bracket: lo words give < target (or == target), hi words give > target. */
    long lo = 0, c_lo = c0, hi = -1;
    long w = guess > 0 ? guess : (long)((double)need / 1.3);
    if (w < 1)
        w = 1;
    for (int iter = 0; iter < 64; iter++) {
        long c;
        st = count_text(p, prefix, off, w, 0, &c, err);
        if (st != KV_OK)
            return st;
        if (c == target) {
            *words_out = w;
            *fill_out = 0;
            *got = c;
            return KV_OK;
        }
        if (c < target) {
            if (w > lo) {
                lo = w;
                c_lo = c;
            }
        } else if (hi < 0 || w < hi) {
            hi = w;
        }
        if (hi >= 0 && hi - lo <= 1)
            break;
        /* Secant step from the tokens-per-word seen so far, kept in the bracket. */
        double ratio = (double)(c - c0) / (double)w;
        if (ratio <= 0.05)
            ratio = 0.05;
        long next = w + (long)((double)(target - c) / ratio);
        if (next == w)
            next = w + (c < target ? 1 : -1);
        if (next <= lo || (hi >= 0 && next >= hi))
            next = hi >= 0 ? lo + (hi - lo) / 2 : 2 * lo + 1;
        if (next <= lo)
            next = lo + 1;
        w = next;
    }
    /* lo words fall short by (target - c_lo) tokens: add one-token fillers. */
    long fill = target - c_lo, best_fill = 0, best_c = c_lo;
    for (int iter = 0; iter < 8 && fill > 0; iter++) {
        long c;
        st = count_text(p, prefix, off, lo, fill, &c, err);
        if (st != KV_OK)
            return st;
        if (c <= target && c > best_c) {
            best_c = c;
            best_fill = fill;
        }
        if (c == target)
            break;
        fill += target - c;
    }
    *words_out = lo;
    *fill_out = best_fill;
    *got = best_c;
    return KV_OK;
}

static cache_entry *cache_find(prompt_synth *p, prompt_role role, long n, long variant)
{
    for (size_t i = 0; i < p->n_cache; i++)
        if (p->cache[i].role == role && p->cache[i].n_tokens == n && p->cache[i].variant == variant)
            return &p->cache[i];
    return NULL;
}

static kv_status cache_put(prompt_synth *p, cache_entry e, char *err)
{
    cache_entry *old = cache_find(p, e.role, e.n_tokens, e.variant);
    if (old) {
        *old = e;
        return KV_OK;
    }
    if (kv_grow(&p->cache, &p->cap_cache, p->n_cache + 1, sizeof *p->cache, 16) != KV_OK)
        return kv_fail(err, KV_ERR_NOMEM, "out of memory");
    p->cache[p->n_cache++] = e;
    return KV_OK;
}

/* The cached search for (role, n, variant), copied under the mutex. */
static bool cache_get(prompt_synth *p, prompt_role role, long n, long variant, cache_entry *out)
{
    pthread_mutex_lock(&p->mu);
    cache_entry *e = cache_find(p, role, n, variant);
    if (e) {
        *out = *e;
        p->stats.cache_hits++;
    }
    pthread_mutex_unlock(&p->mu);
    return e != NULL;
}

static kv_status cache_store(prompt_synth *p, cache_entry e, char *err)
{
    pthread_mutex_lock(&p->mu);
    kv_status st = cache_put(p, e, err);
    pthread_mutex_unlock(&p->mu);
    return st;
}

/* (words, fill) for the text: from the cache (verified when counting is
 * cheap and only the nonce differs), else searched and cached. */
static kv_status find_length(const counter *k, prompt_role role, long n_tokens, long variant,
                             const char *prefix, size_t off, long *words, long *fill, long *got,
                             char *err)
{
    prompt_synth *p = k->p;
    cache_entry e;
    kv_status st;
    if (cache_get(p, role, n_tokens, variant, &e)) {
        *words = e.words;
        *fill = e.fill;
        *got = e.got;
        if (!(p->cheap && role == PROMPT_SYSTEM))
            return KV_OK;
        st = count_text(k, prefix, off, *words, *fill, got, err);
        if (st != KV_OK || *got == n_tokens)
            return st;
        return search(k, prefix, off, n_tokens, *words, words, fill, got, err);
    }
    st = search(k, prefix, off, n_tokens, 0, words, fill, got, err);
    if (st != KV_OK)
        return st;
    return cache_store(p, (cache_entry){role, n_tokens, variant, *words, *fill, *got}, err);
}

kv_status prompt_make_with(prompt_synth *p, void *count_ctx, prompt_role role, long n_tokens,
                           uint64_t nonce, long variant, char **out, long *counted, char *err)
{
    *out = NULL;
    if (n_tokens < 0)
        return kv_fail(err, KV_ERR_INTERNAL, "prompt_make: negative length %ld", n_tokens);
    char prefix[PROMPT_NONCE_LEN] = "";
    if (role == PROMPT_SYSTEM) {
        if (n_tokens == 0) {
            if (counted)
                *counted = 0;
            return assemble(p, "", 0, 0, 0, out, err);
        }
        prompt_nonce_text(nonce, prefix, sizeof prefix);
        variant = p->cheap ? (long)(nonce % PROMPT_VARIANTS) : 0;
    }
    size_t off = role_offset(p, role, variant);
    counter k = {p, count_ctx};
    long words = 0, fill = 0, got = -1;
    kv_status st = find_length(&k, role, n_tokens, variant, prefix, off, &words, &fill, &got, err);
    if (st != KV_OK)
        return st;
    if (got != n_tokens)
        stat_add(p, &p->stats.inexact);
    if (counted)
        *counted = got;
    return assemble(p, prefix, off, words, fill, out, err);
}

kv_status prompt_make(prompt_synth *p, prompt_role role, long n_tokens, uint64_t nonce,
                      long variant, char **out, long *counted, char *err)
{
    return prompt_make_with(p, p->count_ctx, role, n_tokens, nonce, variant, out, counted, err);
}
