/* srvgen.c - one generation request of the reference server: request
 * parsing per endpoint (messages, prompt, limits, cache switches), the slot
 * queue, the prefix-cache lookup, the timed prefill and decode driven by the
 * cost model, and the ground truth of the finished request. */
#include "server/srvgen.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/util.h"

enum { P_ADMIT, P_PREFILL, P_TOKENS, P_CLOSE, P_END };

struct srvgen {
    refsrv *s;
    srvfmt_reply r;
    srvtok_seq prompt;
    srvtok_seq all; /* prompt + generated, for the cache */
    long n_out;     /* tokens to generate */
    bool stream;
    bool cache_prompt; /* llama.cpp cache_prompt (default true) */
    long breakpoint;   /* anthropic: cacheable prefix length, -1 = no caching */
    unsigned word;     /* filler word index */
    int phase;
    bool slot_held;
    int64_t arrived, admitted, prefill_start, deadline, first_tok, last_tok;
    kv_buf text;
    refsrv_truth truth;
};

static const char *const filler[] = {"the",   "reference", "server", "simulates", "a",     "model",
                                     "that",  "answers",   "with",   "filler",    "words", "so",
                                     "every", "token",     "costs",  "time"};
#define N_FILLER (sizeof filler / sizeof filler[0])

/* ---- shared helpers ---- */

bool srvgen_sleep_until(refsrv *s, int64_t deadline_ns)
{
    const int64_t slice = 50 * 1000000LL;
    for (;;) {
        if (atomic_load(&s->stopping))
            return false;
        int64_t now = kv_now_ns();
        if (now >= deadline_ns)
            return true;
        kv_sleep_until_ns(deadline_ns - now > slice ? now + slice : deadline_ns);
    }
}

static double uniform_locked(refsrv *s)
{
    uint64_t z = kv_splitmix64(&s->rng);
    return ((double)(z >> 11) + 0.5) / 9007199254740992.0;
}

double srvgen_uniform(refsrv *s)
{
    pthread_mutex_lock(&s->mu);
    double u = uniform_locked(s);
    pthread_mutex_unlock(&s->mu);
    return u;
}

/* The prefill's noise: the full process, with the idle gap and the drift's
 * time in model units (real time / time_scale). Called with s->mu held. */
static double prefill_noise_locked(refsrv *s, int64_t now, costmodel_noise *nz)
{
    double u[COSTMODEL_UNIFORMS];
    for (int i = 0; i < COSTMODEL_UNIFORMS; i++)
        u[i] = uniform_locked(s);
    double scale = s->cfg.cost.time_scale > 0 ? s->cfg.cost.time_scale : 1.0;
    int64_t prev = s->last_admit_ns > 0 ? s->last_admit_ns : s->started_ns; /* start = idle */
    double gap = (double)(now - prev) / 1e6 / scale;
    double t_s = (double)(now - s->started_ns) / 1e9 / scale;
    s->last_admit_ns = now;
    return costmodel_noise_draw(&s->cfg.cost, u, gap, t_s, nz);
}

static double noise_locked(refsrv *s, double *stall_ms)
{
    double u1 = uniform_locked(s), u2 = uniform_locked(s);
    double u3 = uniform_locked(s), u4 = uniform_locked(s);
    return costmodel_noise_factor(&s->cfg.cost, u1, u2, u3, u4, stall_ms);
}

static int64_t ms_to_ns(double ms)
{
    return (int64_t)(ms * 1e6);
}

static double ns_to_ms(int64_t ns)
{
    return (double)ns / 1e6;
}

/* ---- parsing ---- */

static const char *item_string(const cJSON *o, const char *key)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(it) ? it->valuestring : NULL;
}

static bool item_long(const cJSON *o, const char *key, long *out)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(it))
        return false;
    *out = (long)it->valuedouble;
    return true;
}

static bool item_bool(const cJSON *o, const char *key, bool dflt)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsBool(it) ? cJSON_IsTrue(it) : dflt;
}

/* Appends content: a string or an array of {type:"text",text} parts. Marks
 * the position after a part with cache_control into *bp (anthropic). */
static kv_status push_content(srvtok_seq *seq, const cJSON *content, long *bp, char *err)
{
    if (cJSON_IsString(content))
        return srvtok_text(seq, content->valuestring);
    if (cJSON_IsNull(content) || !content)
        return KV_OK;
    if (!cJSON_IsArray(content))
        return kv_fail(err, KV_ERR_INPUT, "'content' must be a string or an array of parts");
    const cJSON *part;
    cJSON_ArrayForEach(part, content)
    {
        const char *t = item_string(part, "text");
        if (!t && cJSON_IsString(part))
            t = part->valuestring;
        if (t && srvtok_text(seq, t) != KV_OK)
            return KV_ERR_NOMEM;
        if (bp && cJSON_GetObjectItemCaseSensitive(part, "cache_control"))
            *bp = (long)seq->n;
    }
    return KV_OK;
}

static kv_status push_messages(srvtok_seq *seq, const cJSON *msgs, long *bp, char *err)
{
    if (!cJSON_IsArray(msgs) || cJSON_GetArraySize(msgs) == 0)
        return kv_fail(err, KV_ERR_INPUT, "'messages' must be a non-empty array");
    const cJSON *m;
    cJSON_ArrayForEach(m, msgs)
    {
        const char *role = item_string(m, "role");
        if (!role)
            return kv_fail(err, KV_ERR_INPUT, "every message needs a string 'role'");
        kv_status st = srvtok_message_begin(seq, role);
        if (st == KV_OK)
            st = push_content(seq, cJSON_GetObjectItemCaseSensitive(m, "content"), bp, err);
        if (st == KV_OK)
            st = srvtok_message_end(seq);
        if (st != KV_OK)
            return st;
    }
    return srvtok_gen_prompt(seq);
}

/* A raw prompt: a string, an array of token ids, or an array whose first
 * element is a string. */
static kv_status push_prompt(srvtok_seq *seq, const cJSON *prompt, char *err)
{
    if (cJSON_IsString(prompt))
        return srvtok_text(seq, prompt->valuestring);
    if (cJSON_IsArray(prompt) && cJSON_GetArraySize(prompt) > 0) {
        const cJSON *first = cJSON_GetArrayItem(prompt, 0);
        if (cJSON_IsString(first))
            return srvtok_text(seq, first->valuestring);
        const cJSON *t;
        cJSON_ArrayForEach(t, prompt)
        {
            if (!cJSON_IsNumber(t))
                return kv_fail(err, KV_ERR_INPUT, "'prompt' array must hold token ids");
            if (srvtok_push(seq, (int32_t)t->valuedouble) != KV_OK)
                return KV_ERR_NOMEM;
        }
        return KV_OK;
    }
    return kv_fail(err, KV_ERR_INPUT, "'prompt' must be a string or an array of tokens");
}

static kv_status parse_anthropic(srvgen *g, const cJSON *root, char *err)
{
    long bp = -1;
    const cJSON *sys = cJSON_GetObjectItemCaseSensitive(root, "system");
    if (sys) {
        kv_status st = srvtok_message_begin(&g->prompt, "system");
        if (st == KV_OK)
            st = push_content(&g->prompt, sys, &bp, err);
        if (st == KV_OK)
            st = srvtok_message_end(&g->prompt);
        if (st != KV_OK)
            return st;
    }
    kv_status st =
        push_messages(&g->prompt, cJSON_GetObjectItemCaseSensitive(root, "messages"), &bp, err);
    if (st != KV_OK)
        return st;
    long max_tokens = 0;
    if (!item_long(root, "max_tokens", &max_tokens) || max_tokens < 1)
        return kv_fail(err, KV_ERR_INPUT, "max_tokens: Field required (an integer >= 1)");
    g->breakpoint = bp;
    return KV_OK;
}

static kv_status parse_body(srvgen *g, srvfmt_api api, const cJSON *root, char *err)
{
    long limit = -1, v;
    bool stream_default = api == SRVFMT_OLLAMA_GEN || api == SRVFMT_OLLAMA_CHAT;
    g->stream = item_bool(root, "stream", stream_default);
    const cJSON *so = cJSON_GetObjectItemCaseSensitive(root, "stream_options");
    g->r.include_usage = g->stream && item_bool(so, "include_usage", false);
    g->cache_prompt = item_bool(root, "cache_prompt", true);
    kv_status st = KV_OK;
    switch (api) {
    case SRVFMT_OAI_CHAT:
    case SRVFMT_LMS_CHAT:
    case SRVFMT_OLLAMA_CHAT:
        st = push_messages(&g->prompt, cJSON_GetObjectItemCaseSensitive(root, "messages"), NULL,
                           err);
        break;
    case SRVFMT_OAI_COMPL:
    case SRVFMT_LMS_COMPL:
    case SRVFMT_LLAMA_COMPL:
        st = push_prompt(&g->prompt, cJSON_GetObjectItemCaseSensitive(root, "prompt"), err);
        break;
    case SRVFMT_OLLAMA_GEN: {
        const char *prompt = item_string(root, "prompt");
        const char *sys = item_string(root, "system");
        if (!prompt)
            return kv_fail(err, KV_ERR_INPUT, "'prompt' must be a string");
        if (item_bool(root, "raw", false)) {
            st = srvtok_text(&g->prompt, prompt);
        } else {
            if (sys)
                st = srvtok_message(&g->prompt, "system", sys);
            if (st == KV_OK)
                st = srvtok_message(&g->prompt, "user", prompt);
            if (st == KV_OK)
                st = srvtok_gen_prompt(&g->prompt);
        }
        break;
    }
    case SRVFMT_ANTHROPIC:
        st = parse_anthropic(g, root, err);
        break;
    }
    if (st != KV_OK)
        return st;
    if (g->prompt.n == 0)
        return kv_fail(err, KV_ERR_INPUT, "the prompt is empty");
    if (item_long(root, "max_tokens", &v) || item_long(root, "max_completion_tokens", &v))
        limit = v;
    if (g->r.dialect == REFSRV_LLAMACPP && item_long(root, "n_predict", &v))
        limit = v;
    const cJSON *opts = cJSON_GetObjectItemCaseSensitive(root, "options");
    if ((api == SRVFMT_OLLAMA_GEN || api == SRVFMT_OLLAMA_CHAT) &&
        item_long(opts, "num_predict", &v))
        limit = v;
    g->n_out = g->s->cfg.reply_tokens;
    if (limit >= 0 && limit <= g->n_out) {
        g->n_out = limit;
        g->r.hit_limit = true;
    }
    return KV_OK;
}

kv_status srvgen_parse(refsrv *s, srvfmt_api api, const char *body, int64_t arrived_ns,
                       srvgen **out, char *err)
{
    *out = NULL;
    kv_status st = KV_OK;
    cJSON *root = NULL;
    srvgen *g = calloc(1, sizeof *g);
    if (!g)
        return KV_ERR_NOMEM;
    g->s = s;
    g->breakpoint = -1;
    g->arrived = arrived_ns;
    g->truth.fault = -1;
    g->r.dialect = s->cfg.dialect;
    g->r.api = api;
    g->r.model = s->model;
    g->r.created = (long)time(NULL);
    g->r.ctx_tokens = s->cfg.ctx_tokens;
    root = cJSON_Parse(body ? body : "");
    if (!cJSON_IsObject(root)) {
        st = kv_fail(err, KV_ERR_INPUT, "the request body is not a JSON object");
        goto out;
    }
    st = parse_body(g, api, root, err);
    if (st != KV_OK)
        goto out;
    if ((long)g->prompt.n > s->cfg.ctx_tokens) {
        st = kv_fail(err, KV_ERR_INPUT,
                     "the prompt has %zu tokens, more than the context window of %ld", g->prompt.n,
                     s->cfg.ctx_tokens);
        goto out;
    }
    g->word =
        (unsigned)(kv_hash64(g->prompt.ids, g->prompt.n * sizeof *g->prompt.ids, 7) % N_FILLER);
    g->r.stream = g->stream;
    g->r.prompt_tokens = (long)g->prompt.n;
    *out = g;
    g = NULL;
out:
    cJSON_Delete(root);
    srvgen_free(g);
    return st;
}

bool srvgen_stream(const srvgen *g)
{
    return g->stream;
}

const srvfmt_reply *srvgen_reply(const srvgen *g)
{
    return &g->r;
}

void srvgen_set_fault(srvgen *g, int fault)
{
    g->truth.fault = fault;
}

/* ---- the timed generation ---- */

static bool acquire_slot(srvgen *g)
{
    refsrv *s = g->s;
    pthread_mutex_lock(&s->mu);
    s->waiting++;
    while (s->slots_free == 0 && !atomic_load(&s->stopping))
        pthread_cond_wait(&s->slot_cv, &s->mu);
    s->waiting--;
    bool ok = !atomic_load(&s->stopping);
    if (ok) {
        g->r.slot = srvslot_take(&s->tab, g->prompt.ids, g->prompt.n);
        s->slots_free--;
        g->slot_held = true;
    }
    pthread_mutex_unlock(&s->mu);
    return ok;
}

/* Called with s->mu held. */
static void release_slot_locked(srvgen *g)
{
    if (!g->slot_held)
        return;
    g->slot_held = false;
    srvslot_release(&g->s->tab, (int)g->r.slot);
    g->s->slots_free++;
    pthread_cond_signal(&g->s->slot_cv);
}

static void admit(srvgen *g)
{
    refsrv *s = g->s;
    g->admitted = kv_now_ns();
    size_t n = g->prompt.n, cached = 0;
    costmodel_noise nz;
    pthread_mutex_lock(&s->mu);
    g->r.seq = ++s->seq;
    bool lookup = s->cfg.cache_enabled && g->cache_prompt;
    if (g->r.api == SRVFMT_ANTHROPIC)
        lookup = lookup && g->breakpoint > 0;
    int slot = (int)g->r.slot;
    size_t restored = 0;
    if (lookup && s->tab.per_slot)
        cached = srvslot_lookup(&s->tab, slot, g->prompt.ids, n, &restored);
    else if (lookup)
        cached = pcache_lookup(s->cache, g->prompt.ids, n);
    if (cached >= n) /* an identical prompt still evaluates its last token */
        cached = n - 1;
    if (restored > cached)
        restored = cached;
    srvslot_note(&s->tab, slot, g->r.seq, (long)n, (long)cached);
    if (g->r.api == SRVFMT_ANTHROPIC && g->breakpoint >= 0 && cached > (size_t)g->breakpoint)
        cached = (size_t)g->breakpoint;
    double f = prefill_noise_locked(s, g->admitted, &nz), stall = nz.add_ms;
    pthread_mutex_unlock(&s->mu);
    if (g->r.api == SRVFMT_ANTHROPIC && g->breakpoint > 0 && s->cfg.cache_enabled)
        g->r.cache_creation = g->breakpoint - (long)cached;
    g->r.cached_tokens = (long)cached;
    double model = costmodel_prefill_ms(&s->cfg.cost, (double)(n - cached), (double)cached) * f +
                   stall + s->tab.restore_ms * (double)restored;
    g->truth.prompt_tokens = (long)n;
    g->truth.cached_tokens = (long)cached;
    g->truth.restored_tokens = (long)restored;
    g->truth.slot = slot;
    g->truth.new_tokens = (long)(n - cached);
    g->truth.model_prefill_ms = model;
    g->truth.noise_factor = f;
    g->truth.stall_ms = stall;
    g->truth.stall_x = nz.stall_x;
    g->truth.idle_slow = nz.idle;
    g->truth.arrived_ns = g->arrived;
    g->truth.queue_ms = ns_to_ms(g->admitted - g->arrived);
    g->r.queue_ms = g->truth.queue_ms;
    g->prefill_start = kv_now_ns();
    g->deadline = g->prefill_start + ms_to_ns(model * s->cfg.cost.time_scale);
}

static void cache_insert(srvgen *g, const srvtok_seq *seq)
{
    refsrv *s = g->s;
    if (!s->cfg.cache_enabled)
        return;
    size_t n = seq->n;
    if (g->r.api == SRVFMT_ANTHROPIC) {
        if (g->breakpoint <= 0)
            return;
        n = (size_t)g->breakpoint;
    }
    pthread_mutex_lock(&s->mu);
    (void)srvslot_hold(&s->tab, (int)g->r.slot, seq->ids, n); /* false: holds nothing */
    if (!s->tab.per_slot && pcache_insert(s->cache, seq->ids, n) != KV_OK)
        pcache_clear(s->cache); /* out of memory: forget rather than lie */
    pthread_mutex_unlock(&s->mu);
}

static kv_status emit_token(srvgen *g, kv_buf *out)
{
    const char *w = filler[(g->word + (unsigned)g->r.output_tokens) % N_FILLER];
    char piece[32];
    snprintf(piece, sizeof piece, "%s%s", g->r.output_tokens ? " " : "", w);
    bool first = g->r.output_tokens == 0;
    g->r.output_tokens++;
    g->last_tok = kv_now_ns();
    kv_status st = kv_buf_append(&g->text, piece, strlen(piece));
    if (st == KV_OK)
        st = srvtok_push(&g->all, srvtok_id(w, strlen(w)));
    if (st == KV_OK && g->stream)
        st = srvfmt_token(&g->r, piece, first, out);
    return st;
}

static void finish(srvgen *g, bool completed)
{
    refsrv *s = g->s;
    g->truth.completed = completed;
    g->truth.output_tokens = g->r.output_tokens;
    g->truth.seq = g->r.seq;
    g->truth.prefill_ms = g->r.prompt_ms;
    g->truth.first_token_ns = g->first_tok;
    g->truth.last_token_ns = g->last_tok;
    g->truth.decode_ms = g->first_tok ? ns_to_ms(g->last_tok - g->first_tok) : 0;
    pthread_mutex_lock(&s->mu);
    release_slot_locked(g);
    s->last = g->truth;
    s->finished++;
    pthread_mutex_unlock(&s->mu);
}

srvgen_result srvgen_step(srvgen *g, kv_buf *out)
{
    refsrv *s = g->s;
    kv_status st = KV_OK;
    switch (g->phase) {
    case P_ADMIT:
        if (!acquire_slot(g))
            return SRVGEN_ABORT;
        admit(g);
        g->phase = P_PREFILL;
        if (g->stream)
            st = srvfmt_open(&g->r, out);
        break;
    case P_PREFILL:
        if (!srvgen_sleep_until(s, g->deadline))
            return SRVGEN_ABORT;
        g->first_tok = kv_now_ns();
        g->last_tok = g->first_tok;
        g->r.prompt_ms = ns_to_ms(g->first_tok - g->prefill_start);
        for (size_t i = 0; st == KV_OK && i < g->prompt.n; i++)
            st = srvtok_push(&g->all, g->prompt.ids[i]);
        if (st == KV_OK && (g->r.api != SRVFMT_ANTHROPIC || g->cache_prompt))
            cache_insert(g, &g->prompt);
        g->phase = P_TOKENS;
        if (st == KV_OK && g->n_out > 0)
            st = emit_token(g, out);
        break;
    case P_TOKENS: {
        if (g->r.output_tokens >= g->n_out) {
            g->phase = P_CLOSE;
            return srvgen_step(g, out);
        }
        double stall = 0;
        pthread_mutex_lock(&s->mu);
        double f = s->cfg.cost.cv > 0 ? noise_locked(s, &stall) : 1.0;
        pthread_mutex_unlock(&s->mu);
        double ctx = (double)(g->prompt.n + (size_t)g->r.output_tokens);
        g->deadline +=
            ms_to_ns(costmodel_decode_ms(&s->cfg.cost, ctx) * f * s->cfg.cost.time_scale);
        if (!srvgen_sleep_until(s, g->deadline))
            return SRVGEN_ABORT;
        st = emit_token(g, out);
        break;
    }
    case P_CLOSE:
        g->r.predicted_ms = ns_to_ms(g->last_tok - g->first_tok);
        g->r.total_ms = ns_to_ms(kv_now_ns() - g->arrived);
        g->r.text = g->text.data ? g->text.data : "";
        cache_insert(g, &g->all);
        finish(g, true);
        g->phase = P_END;
        if (g->stream && srvfmt_close(&g->r, out) != KV_OK)
            return SRVGEN_ABORT;
        return SRVGEN_DONE;
    default:
        return SRVGEN_DONE;
    }
    return st == KV_OK ? SRVGEN_MORE : SRVGEN_ABORT;
}

kv_status srvgen_run_full(srvgen *g, size_t hugeline, kv_buf *out)
{
    kv_buf scratch = {0};
    srvgen_result r;
    do {
        r = srvgen_step(g, &scratch);
    } while (r == SRVGEN_MORE);
    kv_buf_free(&scratch);
    if (r == SRVGEN_ABORT)
        return KV_ERR_INTERRUPT;
    if (hugeline) {
        kv_buf big = {0};
        kv_status st = KV_OK;
        for (size_t i = 0; st == KV_OK && i < hugeline / 8; i++)
            st = kv_buf_append(&big, " filler ", 8);
        if (st == KV_OK) {
            g->r.text = big.data;
            st = srvfmt_full(&g->r, out);
        }
        g->r.text = g->text.data ? g->text.data : "";
        kv_buf_free(&big);
        return st;
    }
    return srvfmt_full(&g->r, out);
}

void srvgen_free(srvgen *g)
{
    if (!g)
        return;
    if (g->phase > P_ADMIT && g->phase < P_END) {
        finish(g, false);
    } else if (g->slot_held) {
        pthread_mutex_lock(&g->s->mu);
        release_slot_locked(g);
        pthread_mutex_unlock(&g->s->mu);
    }
    srvtok_free(&g->prompt);
    srvtok_free(&g->all);
    kv_buf_free(&g->text);
    free(g);
}
