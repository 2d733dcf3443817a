/* refsrv.c - the reference server's HTTP side: configuration and names, the
 * libmicrohttpd daemon (one thread per connection, polled with poll()), the route table per
 * dialect, the small endpoints (health, models, props, tokenize, cache
 * resets), fault injection, and streaming through a content-reader callback.
 * The timed generation itself lives in srvgen.c. */
#include "server/refsrv.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/util.h"
#include "server/srvgen.h"
#include "server/srvreq.h"

#define MAX_BODY (64u * 1024u * 1024u)
/* Connections at once: a run at the spec's highest concurrency (1024) plus
 * its probes. The daemon polls with poll(), not select(), so descriptors
 * above FD_SETSIZE work (epoll cannot be combined with a thread per
 * connection in libmicrohttpd, and the generation blocks in its thread). */
#define REFSRV_MAX_CONNECTIONS 4096
#define HUGELINE_BYTES (10u * 1024u * 1024u)

/* ---- names and configuration ---- */

static const char *const dialect_names[REFSRV_DIALECT_COUNT] = {
    "llama.cpp", "vllm", "sglang", "ollama", "lmstudio", "mlx", "openai", "anthropic"};
static const char *const fault_names[REFSRV_FAULT_COUNT] = {
    "refuse",    "reset",    "http500",  "http503",      "http429", "stall",
    "malformed", "truncate", "hugeline", "content-type", "drip"};

const char *refsrv_dialect_name(refsrv_dialect d)
{
    return (unsigned)d < REFSRV_DIALECT_COUNT ? dialect_names[d] : "?";
}

bool refsrv_dialect_parse(const char *name, refsrv_dialect *out)
{
    for (int i = 0; i < REFSRV_DIALECT_COUNT; i++) {
        if (strcmp(name, dialect_names[i]) == 0) {
            *out = (refsrv_dialect)i;
            return true;
        }
    }
    if (strcmp(name, "llamacpp") == 0 || strcmp(name, "llama-cpp") == 0) {
        *out = REFSRV_LLAMACPP;
        return true;
    }
    return false;
}

const char *refsrv_fault_name(refsrv_fault f)
{
    return (unsigned)f < REFSRV_FAULT_COUNT ? fault_names[f] : "?";
}

bool refsrv_cache_preset(const char *name, refsrv_config *c)
{
    if (strcmp(name, "shared") == 0) {
        c->cache_mode = REFSRV_CACHE_SHARED;
        c->ram_cache_tokens = 0;
    } else if (strcmp(name, "llama.cpp") == 0) {
        c->cache_mode = REFSRV_CACHE_SLOT;
        c->ram_cache_tokens = 0;
    } else if (strcmp(name, "llama.cpp-ram") == 0) {
        c->cache_mode = REFSRV_CACHE_SLOT;
        c->ram_cache_tokens = 262144;
        c->restore_ms_per_token = 0.01;
    } else {
        return false;
    }
    return true;
}

kv_status refsrv_fault_parse(const char *arg, refsrv_config *c, char *err)
{
    const char *colon = strchr(arg, ':');
    size_t len = colon ? (size_t)(colon - arg) : strlen(arg);
    double p = 1.0;
    if (colon) {
        char *end = NULL;
        p = strtod(colon + 1, &end);
        if (end == colon + 1 || *end != '\0' || !(p >= 0 && p <= 1))
            return kv_fail(err, KV_ERR_USAGE,
                           "--fault %s: the probability must be a number in [0,1]", arg);
    }
    for (int i = 0; i < REFSRV_FAULT_COUNT; i++) {
        if (strlen(fault_names[i]) == len && strncmp(arg, fault_names[i], len) == 0) {
            c->fault_p[i] = p;
            return KV_OK;
        }
    }
    return kv_fail(err, KV_ERR_USAGE,
                   "--fault %s: unknown kind (refuse, reset, http500, http503, http429, stall, "
                   "malformed, truncate, hugeline, content-type, drip)",
                   arg);
}

void refsrv_config_default(refsrv_config *c)
{
    *c = (refsrv_config){.host = "127.0.0.1",
                         .port = 0,
                         .dialect = REFSRV_LLAMACPP,
                         .model = "kvproof-reference-sim",
                         .slots = 1,
                         .cache_tokens = 262144,
                         .cache_enabled = true,
                         .restore_ms_per_token = 0.01,
                         .ctx_tokens = 131072,
                         .reply_tokens = 64,
                         .seed = 1,
                         .fault_reset_after = 2,
                         .fault_stall_ms = 30000,
                         .fault_drip_ms = 1};
    (void)costmodel_preset("laptop", &c->cost);
}

long refsrv_count_tokens(const char *text)
{
    return srvtok_count(text);
}

long refsrv_chat_tokens(long n_messages, long content_tokens)
{
    return 4 * n_messages + content_tokens + 3;
}

/* ---- routes ---- */

typedef enum endpoint {
    EP_NONE = 0,
    EP_HEALTH,
    EP_MODELS,
    EP_GEN, /* a generation endpoint; srvfmt_api says which */
    EP_TOKENIZE,
    EP_PROPS,
    EP_OLLAMA_VERSION,
    EP_OLLAMA_ROOT,
    EP_LMS_MODELS,
    EP_RESET_PREFIX,
    EP_FLUSH,
    EP_LAST,
    EP_SLOTS
} endpoint;

#define D(x) (1u << (x))
#define ALL 0xffu
#define OAI (ALL & ~D(REFSRV_ANTHROPIC))

typedef struct route {
    const char *method; /* NULL = GET or POST */
    const char *path;
    endpoint ep;
    srvfmt_api api;
    unsigned dialects;
} route;

static const route routes[] = {
    {"GET", "/health", EP_HEALTH, 0,
     D(REFSRV_LLAMACPP) | D(REFSRV_VLLM) | D(REFSRV_SGLANG) | D(REFSRV_MLX)},
    {"GET", "/v1/health", EP_HEALTH, 0, D(REFSRV_LLAMACPP)},
    {"GET", "/v1/models", EP_MODELS, 0, ALL},
    {"POST", "/v1/chat/completions", EP_GEN, SRVFMT_OAI_CHAT, OAI},
    {"POST", "/chat/completions", EP_GEN, SRVFMT_OAI_CHAT, D(REFSRV_LLAMACPP) | D(REFSRV_MLX)},
    {"POST", "/v1/completions", EP_GEN, SRVFMT_OAI_COMPL, OAI},
    {"POST", "/completions", EP_GEN, SRVFMT_OAI_COMPL, D(REFSRV_LLAMACPP)},
    {"POST", "/completion", EP_GEN, SRVFMT_LLAMA_COMPL, D(REFSRV_LLAMACPP)},
    {"POST", "/tokenize", EP_TOKENIZE, 0, D(REFSRV_LLAMACPP) | D(REFSRV_VLLM) | D(REFSRV_SGLANG)},
    {"GET", "/props", EP_PROPS, 0, D(REFSRV_LLAMACPP)},
    {"GET", "/slots", EP_SLOTS, 0, D(REFSRV_LLAMACPP)},
    {"POST", "/api/generate", EP_GEN, SRVFMT_OLLAMA_GEN, D(REFSRV_OLLAMA)},
    {"POST", "/api/chat", EP_GEN, SRVFMT_OLLAMA_CHAT, D(REFSRV_OLLAMA)},
    {"GET", "/api/version", EP_OLLAMA_VERSION, 0, D(REFSRV_OLLAMA)},
    {"GET", "/", EP_OLLAMA_ROOT, 0, D(REFSRV_OLLAMA)},
    {"POST", "/api/v0/chat/completions", EP_GEN, SRVFMT_LMS_CHAT, D(REFSRV_LMSTUDIO)},
    {"POST", "/api/v0/completions", EP_GEN, SRVFMT_LMS_COMPL, D(REFSRV_LMSTUDIO)},
    {"GET", "/api/v0/models", EP_LMS_MODELS, 0, D(REFSRV_LMSTUDIO)},
    {"POST", "/v1/messages", EP_GEN, SRVFMT_ANTHROPIC, D(REFSRV_ANTHROPIC)},
    {"POST", "/reset_prefix_cache", EP_RESET_PREFIX, 0, D(REFSRV_VLLM)},
    {NULL, "/flush_cache", EP_FLUSH, 0, D(REFSRV_SGLANG)},
    {"GET", "/kvproof/last", EP_LAST, 0, ALL},
};

static const route *find_route(refsrv_dialect d, const char *method, const char *url)
{
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        const route *r = &routes[i];
        if (!(r->dialects & D(d)) || strcmp(r->path, url) != 0)
            continue;
        if (r->method ? strcmp(r->method, method) == 0
                      : strcmp(method, "GET") == 0 || strcmp(method, "POST") == 0)
            return r;
    }
    return NULL;
}

/* ---- responses ---- */

/* Adds the headers every reply carries, queues resp and releases it. */
static enum MHD_Result queue_response(struct MHD_Connection *c, unsigned status,
                                      struct MHD_Response *resp, const char *ctype)
{
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", ctype);
    MHD_add_response_header(resp, "X-Kvproof-Simulated", "1");
    enum MHD_Result r = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return r;
}

static enum MHD_Result queue_buf(struct MHD_Connection *c, unsigned status, const char *ctype,
                                 const char *data, size_t len)
{
    return queue_response(
        c, status,
        MHD_create_response_from_buffer(len, (void *)(uintptr_t)data, MHD_RESPMEM_MUST_COPY),
        ctype);
}

static enum MHD_Result queue_json(struct MHD_Connection *c, unsigned status, cJSON *obj)
{
    char *s = obj ? cJSON_PrintUnformatted(obj) : NULL;
    cJSON_Delete(obj);
    if (!s)
        return MHD_NO;
    enum MHD_Result r = queue_buf(c, status, "application/json", s, strlen(s));
    cJSON_free(s);
    return r;
}

static enum MHD_Result queue_error(refsrv *s, struct MHD_Connection *c, unsigned status,
                                   const char *msg, const char *retry_after)
{
    kv_buf b = {0};
    const char *ctype = "application/json";
    if (srvfmt_error(s->cfg.dialect, (int)status, msg, &b, &ctype) != KV_OK) {
        kv_buf_free(&b);
        return MHD_NO;
    }
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(b.len, b.data, MHD_RESPMEM_MUST_COPY);
    kv_buf_free(&b);
    if (resp && retry_after)
        MHD_add_response_header(resp, "Retry-After", retry_after);
    return queue_response(c, status, resp, ctype);
}

/* ---- small endpoints ---- */

static cJSON *models_json(refsrv *s)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "object", "list");
    cJSON *data = cJSON_AddArrayToObject(o, "data");
    cJSON *m = cJSON_CreateObject();
    cJSON_AddItemToArray(data, m);
    cJSON_AddStringToObject(m, "id", s->model);
    cJSON_AddStringToObject(m, "object", "model");
    if (s->cfg.dialect == REFSRV_LMSTUDIO) {
        cJSON_AddStringToObject(m, "type", "llm");
        cJSON_AddStringToObject(m, "publisher", "kvproof");
        cJSON_AddStringToObject(m, "arch", "kvproof-sim");
        cJSON_AddStringToObject(m, "compatibility_type", "gguf");
        cJSON_AddStringToObject(m, "quantization", "none");
        cJSON_AddStringToObject(m, "state", "loaded");
        cJSON_AddNumberToObject(m, "max_context_length", (double)s->cfg.ctx_tokens);
    } else {
        cJSON_AddNumberToObject(m, "created", (double)time(NULL));
        cJSON_AddStringToObject(m, "owned_by", "kvproof-reference-simulated");
        if (s->cfg.dialect == REFSRV_VLLM || s->cfg.dialect == REFSRV_SGLANG)
            cJSON_AddNumberToObject(m, "max_model_len", (double)s->cfg.ctx_tokens);
    }
    return o;
}

static cJSON *props_json(refsrv *s)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *g = cJSON_AddObjectToObject(o, "default_generation_settings");
    cJSON_AddNumberToObject(g, "n_ctx", (double)s->cfg.ctx_tokens);
    cJSON_AddNumberToObject(o, "total_slots", s->cfg.slots);
    cJSON_AddStringToObject(o, "model_path", "kvproof-reference (simulated)");
    cJSON_AddStringToObject(o, "build_info", "kvproof-" KVPROOF_VERSION " (simulated)");
    cJSON_AddStringToObject(
        o, "chat_template",
        "<|im_start|>{role}\\n{content}<|im_end|> ... <|im_start|>assistant\\n");
    /* Not a llama.cpp field: the simulation's settings, so that a journal and
     * a report say how fast the simulated server ran relative to its model. */
    cJSON *sim = cJSON_AddObjectToObject(o, "kvproof_simulation");
    cJSON_AddNumberToObject(sim, "time_scale", s->cfg.cost.time_scale);
    cJSON_AddNumberToObject(sim, "a_ms", s->cfg.cost.a);
    cJSON_AddNumberToObject(sim, "b_ms_per_token", s->cfg.cost.b);
    cJSON_AddNumberToObject(sim, "c_ms_per_token2", s->cfg.cost.c);
    cJSON_AddNumberToObject(sim, "d0_ms", s->cfg.cost.d0);
    cJSON_AddNumberToObject(sim, "d1_ms_per_token", s->cfg.cost.d1);
    cJSON_AddNumberToObject(sim, "cv", s->cfg.cost.cv);
    cJSON_AddBoolToObject(sim, "cache_enabled", s->cfg.cache_enabled);
    return o;
}

static cJSON *truth_json(refsrv *s)
{
    refsrv_truth t;
    bool any = refsrv_last(s, &t);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "simulated", true);
    cJSON_AddNumberToObject(o, "requests", (double)refsrv_requests(s));
    if (!any)
        return o;
    cJSON_AddNumberToObject(o, "seq", (double)t.seq);
    cJSON_AddNumberToObject(o, "prompt_tokens", (double)t.prompt_tokens);
    cJSON_AddNumberToObject(o, "cached_tokens", (double)t.cached_tokens);
    cJSON_AddNumberToObject(o, "restored_tokens", (double)t.restored_tokens);
    cJSON_AddNumberToObject(o, "slot", t.slot);
    cJSON_AddNumberToObject(o, "new_tokens", (double)t.new_tokens);
    cJSON_AddNumberToObject(o, "output_tokens", (double)t.output_tokens);
    cJSON_AddNumberToObject(o, "model_prefill_ms", t.model_prefill_ms);
    cJSON_AddNumberToObject(o, "noise_factor", t.noise_factor);
    cJSON_AddNumberToObject(o, "stall_ms", t.stall_ms);
    cJSON_AddNumberToObject(o, "stall_x", t.stall_x);
    cJSON_AddBoolToObject(o, "idle_slow", t.idle_slow);
    cJSON_AddNumberToObject(o, "queue_ms", t.queue_ms);
    cJSON_AddNumberToObject(o, "prefill_ms", t.prefill_ms);
    cJSON_AddNumberToObject(o, "decode_ms", t.decode_ms);
    cJSON_AddNumberToObject(o, "arrived_ns", (double)t.arrived_ns);
    cJSON_AddNumberToObject(o, "first_token_ns", (double)t.first_token_ns);
    cJSON_AddNumberToObject(o, "last_token_ns", (double)t.last_token_ns);
    cJSON_AddBoolToObject(o, "completed", t.completed);
    if (t.fault >= 0)
        cJSON_AddStringToObject(o, "fault", refsrv_fault_name((refsrv_fault)t.fault));
    return o;
}

typedef struct piece_ctx {
    cJSON *tokens;
    bool with_pieces;
} piece_ctx;

static void add_piece(void *arg, const char *p, size_t n)
{
    piece_ctx *pc = arg;
    int32_t id = srvtok_id(p, n);
    if (!pc->with_pieces) {
        cJSON_AddItemToArray(pc->tokens, cJSON_CreateNumber(id));
        return;
    }
    char piece[256];
    size_t k = n < sizeof piece - 1 ? n : sizeof piece - 1;
    memcpy(piece, p, k);
    piece[k] = '\0';
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", id);
    cJSON_AddStringToObject(o, "piece", piece);
    cJSON_AddItemToArray(pc->tokens, o);
}

static enum MHD_Result do_tokenize(refsrv *s, struct MHD_Connection *c, const char *body)
{
    cJSON *root = cJSON_Parse(body ? body : "");
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return queue_error(s, c, 400, "the request body is not a JSON object", NULL);
    }
    cJSON *o = cJSON_CreateObject();
    cJSON *tokens = cJSON_AddArrayToObject(o, "tokens");
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(root, "content");
    const cJSON *prompt = cJSON_GetObjectItemCaseSensitive(root, "prompt");
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(root, "messages");
    enum MHD_Result r;
    if (s->cfg.dialect == REFSRV_LLAMACPP) {
        if (!cJSON_IsString(content)) {
            cJSON_Delete(o);
            cJSON_Delete(root);
            return queue_error(s, c, 400, "\"content\" must be a string", NULL);
        }
        const cJSON *wp = cJSON_GetObjectItemCaseSensitive(root, "with_pieces");
        piece_ctx pc = {tokens, cJSON_IsTrue(wp)};
        srvtok_scan(content->valuestring, add_piece, &pc);
        r = queue_json(c, 200, o);
    } else if (cJSON_IsString(prompt)) {
        piece_ctx pc = {tokens, false};
        srvtok_scan(prompt->valuestring, add_piece, &pc);
        cJSON_AddNumberToObject(o, "count", cJSON_GetArraySize(tokens));
        cJSON_AddNumberToObject(o, "max_model_len", (double)s->cfg.ctx_tokens);
        cJSON_AddNullToObject(o, "token_strs");
        r = queue_json(c, 200, o);
    } else if (cJSON_IsArray(msgs)) {
        srvtok_seq seq = {0};
        kv_status st = KV_OK;
        const cJSON *m;
        cJSON_ArrayForEach(m, msgs)
        {
            const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
            const cJSON *mc = cJSON_GetObjectItemCaseSensitive(m, "content");
            if (st == KV_OK)
                st = srvtok_message(&seq, cJSON_IsString(role) ? role->valuestring : "user",
                                    cJSON_IsString(mc) ? mc->valuestring : "");
        }
        if (st == KV_OK)
            st = srvtok_gen_prompt(&seq);
        for (size_t i = 0; st == KV_OK && i < seq.n; i++)
            cJSON_AddItemToArray(tokens, cJSON_CreateNumber(seq.ids[i]));
        cJSON_AddNumberToObject(o, "count", (double)seq.n);
        cJSON_AddNumberToObject(o, "max_model_len", (double)s->cfg.ctx_tokens);
        cJSON_AddNullToObject(o, "token_strs");
        srvtok_free(&seq);
        r = st == KV_OK ? queue_json(c, 200, o) : MHD_NO;
        if (st != KV_OK)
            cJSON_Delete(o);
    } else {
        cJSON_Delete(o);
        r = queue_error(s, c, 400, "expected \"prompt\" (string) or \"messages\"", NULL);
    }
    cJSON_Delete(root);
    return r;
}

static enum MHD_Result do_slots(refsrv *s, struct MHD_Connection *c, const char *url)
{
    char *end = NULL;
    long id = strtol(url + 7, &end, 10);
    const char *action = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "action");
    if (end == url + 7 || *end != '\0' || id < 0 || id >= s->cfg.slots)
        return queue_error(s, c, 400, "Invalid slot ID", NULL);
    if (!action || strcmp(action, "erase") != 0)
        return queue_error(s, c, 400, "Invalid action (this server supports erase only)", NULL);
    pthread_mutex_lock(&s->mu);
    long n;
    if (s->tab.per_slot) {
        n = srvslot_clear(&s->tab, (int)id);
    } else {
        n = pcache_tokens(s->cache);
        pcache_clear(s->cache);
        (void)srvslot_clear(&s->tab, -1);
    }
    pthread_mutex_unlock(&s->mu);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id_slot", (double)id);
    cJSON_AddNumberToObject(o, "n_erased", (double)n);
    return queue_json(c, 200, o);
}

static enum MHD_Result do_flush(refsrv *s, struct MHD_Connection *c)
{
    pthread_mutex_lock(&s->mu);
    bool busy = s->waiting > 0 || s->slots_free < s->cfg.slots;
    if (!busy) {
        pcache_clear(s->cache);
        (void)srvslot_clear(&s->tab, -1);
    }
    pthread_mutex_unlock(&s->mu);
    static const char ok[] = "Cache flushed.\nPlease check backend logs for more details. (When "
                             "there are running or waiting requests, the operation will not be "
                             "performed.)\n";
    static const char no[] = "Cache not flushed. Please check backend logs for more details. "
                             "(When there are running or waiting requests, the operation will "
                             "not be performed.)\n";
    return busy ? queue_buf(c, 400, "text/plain; charset=utf-8", no, sizeof no - 1)
                : queue_buf(c, 200, "text/plain; charset=utf-8", ok, sizeof ok - 1);
}

/* ---- generation replies and faults ---- */

typedef struct stream_ctx {
    refsrv *s;
    srvgen *g;      /* NULL for a prepared body */
    kv_buf pending; /* bytes not yet written */
    size_t off;
    int fault;   /* -1 none */
    long events; /* token events produced */
    bool stalled;
    bool done;
} stream_ctx;

static void stream_free(void *cls)
{
    stream_ctx *sc = cls;
    srvgen_free(sc->g);
    kv_buf_free(&sc->pending);
    free(sc);
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    stream_ctx *sc = cls;
    refsrv *s = sc->s;
    if (sc->fault == REFSRV_FAULT_STALL && !sc->stalled) {
        sc->stalled = true;
        if (!srvgen_sleep_until(s, kv_now_ns() + (int64_t)(s->cfg.fault_stall_ms * 1e6)))
            return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    while (sc->off >= sc->pending.len) {
        kv_buf_reset(&sc->pending);
        sc->off = 0;
        if (sc->done || !sc->g)
            return MHD_CONTENT_READER_END_OF_STREAM;
        if (sc->fault == REFSRV_FAULT_RESET && sc->events >= s->cfg.fault_reset_after)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        size_t before_tokens = (size_t)srvgen_reply(sc->g)->output_tokens;
        srvgen_result r = srvgen_step(sc->g, &sc->pending);
        if (r == SRVGEN_ABORT)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        bool token = (size_t)srvgen_reply(sc->g)->output_tokens > before_tokens;
        if (token) {
            sc->events++;
            kv_status st = KV_OK;
            if (sc->events == 1 && sc->fault == REFSRV_FAULT_MALFORMED)
                st = srvfmt_malformed(srvgen_reply(sc->g), &sc->pending);
            if (sc->events == 1 && sc->fault == REFSRV_FAULT_HUGELINE)
                st = srvfmt_hugeline(srvgen_reply(sc->g), HUGELINE_BYTES, &sc->pending);
            if (st != KV_OK)
                return MHD_CONTENT_READER_END_WITH_ERROR;
        }
        if (r == SRVGEN_DONE) {
            sc->done = true;
            if (sc->fault == REFSRV_FAULT_TRUNCATE)
                return MHD_CONTENT_READER_END_OF_STREAM; /* no final events */
        }
    }
    size_t n = sc->pending.len - sc->off;
    if (sc->fault == REFSRV_FAULT_DRIP) {
        n = 1;
        if (!srvgen_sleep_until(s, kv_now_ns() + (int64_t)(s->cfg.fault_drip_ms * 1e6)))
            return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    if (n > max)
        n = max;
    memcpy(buf, sc->pending.data + sc->off, n);
    sc->off += n;
    return (ssize_t)n;
}

static enum MHD_Result queue_stream(struct MHD_Connection *c, stream_ctx *sc, uint64_t size,
                                    const char *ctype)
{
    struct MHD_Response *resp =
        MHD_create_response_from_callback(size, 64 * 1024, stream_read, sc, stream_free);
    if (!resp) {
        stream_free(sc);
        return MHD_NO;
    }
    if (size == MHD_SIZE_UNKNOWN) {
        MHD_add_response_header(resp, "Cache-Control", "no-cache");
        MHD_add_response_header(resp, "X-Kvproof-Clock", "CLOCK_MONOTONIC");
    }
    return queue_response(c, 200, resp, ctype);
}

static int draw_fault(refsrv *s)
{
    for (int i = REFSRV_FAULT_RESET; i < REFSRV_FAULT_COUNT; i++) {
        if (s->cfg.fault_p[i] <= 0)
            continue;
        if (s->cfg.fault_p[i] >= 1 || srvgen_uniform(s) < s->cfg.fault_p[i])
            return i;
    }
    return -1;
}

static enum MHD_Result do_generate(refsrv *s, struct MHD_Connection *c, const route *rt, srvreq *rq)
{
    char err[KV_ERRLEN] = "";
    int fault = draw_fault(s);
    if (fault == REFSRV_FAULT_HTTP500)
        return queue_error(s, c, 500, "simulated internal server error (kvproof fault)", NULL);
    if (fault == REFSRV_FAULT_HTTP503)
        return queue_error(s, c, 503, "simulated: server busy or loading (kvproof fault)", NULL);
    if (fault == REFSRV_FAULT_HTTP429)
        return queue_error(s, c, 429, "simulated rate limit (kvproof fault)", "1");
    srvgen *g = NULL;
    kv_status st = srvgen_parse(s, rt->api, rq->body.data, rq->arrived, &g, err);
    if (st == KV_ERR_INPUT)
        return queue_error(s, c, 400, err, NULL);
    if (st != KV_OK)
        return queue_error(s, c, 500, kv_strerror(st), NULL);
    srvgen_set_fault(g, fault);
    const char *ctype = srvfmt_content_type(rt->api, srvgen_stream(g));
    if (fault == REFSRV_FAULT_CONTENT_TYPE)
        ctype = "text/html; charset=utf-8";
    stream_ctx *sc = calloc(1, sizeof *sc);
    if (!sc) {
        srvgen_free(g);
        return MHD_NO;
    }
    sc->s = s;
    sc->fault = fault;
    if (srvgen_stream(g)) {
        sc->g = g;
        return queue_stream(c, sc, MHD_SIZE_UNKNOWN, ctype);
    }
    /* Not streamed: generate now (this thread serves only this connection). */
    if (fault == REFSRV_FAULT_STALL) {
        sc->stalled = true;
        (void)srvgen_sleep_until(s, kv_now_ns() + (int64_t)(s->cfg.fault_stall_ms * 1e6));
    }
    st = srvgen_run_full(g, fault == REFSRV_FAULT_HUGELINE ? HUGELINE_BYTES : 0, &sc->pending);
    srvgen_free(g);
    if (st != KV_OK || fault == REFSRV_FAULT_RESET) {
        stream_free(sc);
        return MHD_NO; /* close the connection without a reply */
    }
    if (fault == REFSRV_FAULT_MALFORMED) {
        kv_buf_reset(&sc->pending);
        if (kv_buf_appendf(&sc->pending, "{\"error\": simulated malformed reply") != KV_OK) {
            stream_free(sc);
            return MHD_NO;
        }
    }
    if (fault == REFSRV_FAULT_TRUNCATE)
        sc->pending.len /= 2;
    return queue_stream(c, sc, sc->pending.len, ctype);
}

static enum MHD_Result dispatch(refsrv *s, struct MHD_Connection *c, const char *url,
                                const char *method, srvreq *rq)
{
    if (rq->too_big)
        return queue_error(s, c, 413, "request body too large", NULL);
    const route *rt = find_route(s->cfg.dialect, method, url);
    if (!rt && s->cfg.dialect == REFSRV_LLAMACPP && strncmp(url, "/slots/", 7) == 0 &&
        strcmp(method, "POST") == 0)
        return do_slots(s, c, url);
    if (!rt) {
        if (s->cfg.dialect == REFSRV_MLX)
            return queue_buf(c, 404, "text/plain", "", 0);
        if (s->cfg.dialect == REFSRV_LLAMACPP)
            return queue_error(s, c, 404, "File Not Found", NULL);
        return queue_error(s, c, 404, "Not Found", NULL);
    }
    switch (rt->ep) {
    case EP_HEALTH: {
        if (s->cfg.dialect == REFSRV_VLLM || s->cfg.dialect == REFSRV_SGLANG)
            return queue_buf(c, 200, "application/json", "", 0);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "status", "ok");
        return queue_json(c, 200, o);
    }
    case EP_MODELS:
    case EP_LMS_MODELS:
        return queue_json(c, 200, models_json(s));
    case EP_PROPS:
        return queue_json(c, 200, props_json(s));
    case EP_TOKENIZE:
        return do_tokenize(s, c, rq->body.data);
    case EP_OLLAMA_VERSION: {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "version", "0.30.0-kvproof-sim");
        return queue_json(c, 200, o);
    }
    case EP_OLLAMA_ROOT:
        return queue_buf(c, 200, "text/plain; charset=utf-8", "Ollama is running", 17);
    case EP_RESET_PREFIX:
        refsrv_reset_cache(s);
        return queue_buf(c, 200, "application/json", "", 0);
    case EP_FLUSH:
        return do_flush(s, c);
    case EP_LAST:
        return queue_json(c, 200, truth_json(s));
    case EP_SLOTS: {
        pthread_mutex_lock(&s->mu);
        cJSON *a = srvslot_json(&s->tab, s->cfg.ctx_tokens / s->cfg.slots);
        pthread_mutex_unlock(&s->mu);
        return queue_json(c, 200, a);
    }
    case EP_GEN:
        return do_generate(s, c, rt, rq);
    default:
        return queue_error(s, c, 404, "Not Found", NULL);
    }
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    refsrv *s = cls;
    enum MHD_Result res;
    srvreq *rq = srvreq_gather(con_cls, upload_data, upload_data_size, MAX_BODY, &res);
    if (!rq)
        return res;
    return dispatch(s, c, url, method, rq);
}

static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t len)
{
    (void)addr;
    (void)len;
    refsrv *s = cls;
    double p = s->cfg.fault_p[REFSRV_FAULT_REFUSE];
    if (p > 0 && (p >= 1 || srvgen_uniform(s) < p))
        return MHD_NO; /* accepted, then closed at once */
    return MHD_YES;
}

/* ---- lifecycle ---- */

kv_status refsrv_start(const refsrv_config *cfg, refsrv **out, char *err)
{
    *out = NULL;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)cfg->port);
    const char *host = cfg->host ? cfg->host : "127.0.0.1";
    if (strcmp(host, "localhost") == 0)
        host = "127.0.0.1";
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        return kv_fail(err, KV_ERR_USAGE, "--host %s: not an IPv4 address", host);
    if (cfg->port < 0 || cfg->port > 65535)
        return kv_fail(err, KV_ERR_USAGE, "--port %d: out of range", cfg->port);
    if (cfg->slots < 1)
        return kv_fail(err, KV_ERR_USAGE, "--slots must be at least 1");
    if (!(cfg->cost.time_scale > 0))
        return kv_fail(err, KV_ERR_USAGE, "--time-scale must be positive");
    if (cfg->ram_cache_tokens < 0 || !(cfg->restore_ms_per_token >= 0)) {
        return kv_fail(err, KV_ERR_USAGE,
                       "--ram-cache-tokens and --restore-ms-per-token must not be negative");
    }
    if (cfg->ram_cache_tokens > 0 && cfg->cache_mode != REFSRV_CACHE_SLOT) {
        return kv_fail(err, KV_ERR_USAGE, "--ram-cache-tokens needs --cache-mode slot");
    }
    refsrv *s = calloc(1, sizeof *s);
    if (!s)
        return KV_ERR_NOMEM;
    s->cfg = *cfg;
    s->host = kv_strdup(host);
    s->model = kv_strdup(cfg->model ? cfg->model : "kvproof-reference-sim");
    s->cache = pcache_new(cfg->cache_tokens);
    bool tab = srvslot_init(&s->tab, cfg->slots, cfg->cache_mode == REFSRV_CACHE_SLOT,
                            cfg->ram_cache_tokens, cfg->restore_ms_per_token) == KV_OK;
    if (!s->host || !s->model || !s->cache || !tab) {
        if (tab)
            srvslot_fini(&s->tab);
        pcache_free(s->cache);
        free(s->host);
        free(s->model);
        free(s);
        return KV_ERR_NOMEM;
    }
    s->cfg.host = s->host;
    s->cfg.model = s->model;
    s->slots_free = cfg->slots;
    s->rng = cfg->seed;
    s->started_ns = kv_now_ns();
    atomic_init(&s->stopping, false);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->slot_cv, NULL);
    s->daemon = MHD_start_daemon(
        MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_THREAD_PER_CONNECTION, (uint16_t)cfg->port,
        on_accept, s, on_request, s, MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)&sa,
        MHD_OPTION_NOTIFY_COMPLETED, srvreq_completed, s, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)0, MHD_OPTION_CONNECTION_LIMIT, (unsigned)REFSRV_MAX_CONNECTIONS,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)REFSRV_MAX_CONNECTIONS, MHD_OPTION_END);
    if (!s->daemon) {
        kv_status st =
            kv_fail(err, KV_ERR_NET, "cannot listen on %s:%d (address in use?)", host, cfg->port);
        s->daemon = NULL;
        refsrv_stop(s);
        return st;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? (int)info->port : cfg->port;
    *out = s;
    return KV_OK;
}

int refsrv_port(const refsrv *s)
{
    return s->port;
}

void refsrv_stop(refsrv *s)
{
    if (!s)
        return;
    atomic_store(&s->stopping, true);
    pthread_mutex_lock(&s->mu);
    pthread_cond_broadcast(&s->slot_cv);
    pthread_mutex_unlock(&s->mu);
    if (s->daemon)
        MHD_stop_daemon(s->daemon);
    pcache_free(s->cache);
    srvslot_fini(&s->tab);
    pthread_cond_destroy(&s->slot_cv);
    pthread_mutex_destroy(&s->mu);
    free(s->host);
    free(s->model);
    free(s);
}

bool refsrv_last(refsrv *s, refsrv_truth *out)
{
    pthread_mutex_lock(&s->mu);
    bool any = s->finished > 0;
    if (any)
        *out = s->last;
    pthread_mutex_unlock(&s->mu);
    return any;
}

long refsrv_requests(refsrv *s)
{
    pthread_mutex_lock(&s->mu);
    long n = s->finished;
    pthread_mutex_unlock(&s->mu);
    return n;
}

void refsrv_reset_cache(refsrv *s)
{
    pthread_mutex_lock(&s->mu);
    pcache_clear(s->cache);
    (void)srvslot_clear(&s->tab, -1);
    pthread_mutex_unlock(&s->mu);
}
