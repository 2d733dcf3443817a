/* replay.c - the golden-fixture replay server (replay.h).
 *
 * Divided into: loading the manifest and its reply files (with the literal
 * substitutions applied once); expanding placeholders per request; the
 * streamed response (one event per write, the first-token delay slept before
 * its event); answering one request (route, prompt, cache, log); start/stop.
 */
#include "server/replay.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <netinet/in.h>

#include "common/util.h"
#include "server/replaytok.h"
#include "server/srvreq.h"

#define REPLAY_MAX_BODY (64u << 20)

enum { REPLAY_EV_NONE = 0, REPLAY_EV_SSE, REPLAY_EV_LINES };
enum { REPLAY_ACT_NONE = 0, REPLAY_ACT_GENERATE, REPLAY_ACT_TOKENIZE, REPLAY_ACT_RESET };

typedef struct replay_reply {
    char *text; /* the file, substitutions applied (placeholders left) */
    int events;
    long first_event; /* event the first-token delay precedes, -1 none */
} replay_reply;

typedef struct replay_route {
    char method[8];
    char *path;
    bool prefix;
    int stream;  /* -1 any, 0 or 1: the body's stream flag must match */
    char *has;   /* the body must have this top-level key, or NULL */
    char *lacks; /* the body must not have this top-level key, or NULL */
    int status;
    char *ctype;
    int action;
    cJSON *headers; /* extra response headers, or NULL */
    replay_reply reply;
    replay_reply uncached;
    bool has_uncached;
} replay_route;

struct replay {
    struct MHD_Daemon *daemon;
    int port;
    replay_route *routes;
    size_t n_routes;
    replay_route fallback;
    bool has_fallback;
    bool http10;
    bool stream_default;
    double delay_ms;
    long cache_min;     /* prompts shorter than this are never served from cache */
    pthread_mutex_t mu; /* the cache and the log */
    replaytok_cache *cache;
    replay_entry *log;
    size_t n_log, cap_log;
};

/* ---- loading ------------------------------------------------------------------- */

static const char *rp_str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double rp_num(const cJSON *o, const char *key, double dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

/* Replaces every occurrence of lit in *text by rep. */
static kv_status rp_replace(char **text, const char *lit, const char *rep, bool *found)
{
    kv_buf b = {0};
    size_t ll = strlen(lit);
    const char *p = *text;
    *found = false;
    for (const char *hit; ll && (hit = strstr(p, lit)) != NULL; p = hit + ll) {
        *found = true;
        if (kv_buf_append(&b, p, (size_t)(hit - p)) != KV_OK ||
            kv_buf_append(&b, rep, strlen(rep)) != KV_OK)
            goto nomem;
    }
    if (kv_buf_append(&b, p, strlen(p)) != KV_OK)
        goto nomem;
    free(*text);
    *text = b.data;
    return KV_OK;
nomem:
    kv_buf_free(&b);
    return KV_ERR_NOMEM;
}

static kv_status rp_subst(replay_reply *rr, const cJSON *subst, const char *where, char *err)
{
    size_t k = 0;
    for (const cJSON *it = subst ? subst->child : NULL; it; it = it->next, k++) {
        const cJSON *a = cJSON_GetArrayItem(it, 0), *b = cJSON_GetArrayItem(it, 1);
        if (!cJSON_IsString(a) || !cJSON_IsString(b) || !*a->valuestring)
            return kv_fail(err, KV_ERR_INPUT, "%s.subst[%zu]: expected [\"literal\", \"template\"]",
                           where, k);
        bool found = false;
        if (rp_replace(&rr->text, a->valuestring, b->valuestring, &found) != KV_OK)
            return kv_fail(err, KV_ERR_NOMEM, "out of memory");
        if (!found)
            return kv_fail(err, KV_ERR_INPUT, "%s.subst[%zu]: literal %s not found in the file",
                           where, k, a->valuestring);
    }
    return KV_OK;
}

static kv_status rp_load_reply(const char *dir, const cJSON *o, const char *where, replay_reply *rr,
                               char *err)
{
    if (!cJSON_IsObject(o))
        return kv_fail(err, KV_ERR_INPUT, "%s: expected an object", where);
    const char *file = rp_str(o, "file"), *body = rp_str(o, "body");
    if (file) {
        char path[2048];
        size_t len = 0;
        snprintf(path, sizeof path, "%s/%s", dir, file);
        if (kv_read_file(path, &rr->text, &len, err) != KV_OK)
            return kv_fail(err, KV_ERR_INPUT, "%s.file: cannot read %s", where, path);
    } else if (body) {
        rr->text = kv_strdup(body);
        if (!rr->text)
            return kv_fail(err, KV_ERR_NOMEM, "out of memory");
    } else {
        return kv_fail(err, KV_ERR_INPUT, "%s: needs \"file\" or \"body\"", where);
    }
    const char *ev = rp_str(o, "events");
    rr->events = !ev || strcmp(ev, "none") == 0 ? REPLAY_EV_NONE
                 : strcmp(ev, "sse") == 0       ? REPLAY_EV_SSE
                 : strcmp(ev, "lines") == 0     ? REPLAY_EV_LINES
                                                : -1;
    if (rr->events < 0)
        return kv_fail(err, KV_ERR_INPUT, "%s.events: expected sse, lines or none", where);
    rr->first_event = (long)rp_num(o, "first_token_event", -1);
    return rp_subst(rr, cJSON_GetObjectItemCaseSensitive(o, "subst"), where, err);
}

static kv_status rp_load_route(const char *dir, const cJSON *o, const char *where, replay_route *rt,
                               char *err)
{
    char sub[2300];
    const char *m = rp_str(o, "method"), *path = rp_str(o, "path");
    snprintf(rt->method, sizeof rt->method, "%s", m ? m : "");
    rt->path = kv_strdup(path ? path : "*");
    rt->ctype =
        kv_strdup(rp_str(o, "content_type") ? rp_str(o, "content_type") : "application/json");
    if (!rt->path || !rt->ctype)
        return kv_fail(err, KV_ERR_NOMEM, "out of memory");
    size_t pl = strlen(rt->path);
    rt->prefix = pl > 0 && rt->path[pl - 1] == '*';
    if (rt->prefix)
        rt->path[pl - 1] = '\0';
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(o, "stream");
    rt->stream = cJSON_IsBool(s) ? cJSON_IsTrue(s) : -1;
    rt->has = kv_strdup(rp_str(o, "body_has"));
    rt->lacks = kv_strdup(rp_str(o, "body_lacks"));
    if ((rp_str(o, "body_has") && !rt->has) || (rp_str(o, "body_lacks") && !rt->lacks))
        return kv_fail(err, KV_ERR_NOMEM, "out of memory");
    rt->status = (int)rp_num(o, "status", 200);
    const char *act = rp_str(o, "action");
    rt->action = !act || strcmp(act, "none") == 0 ? REPLAY_ACT_NONE
                 : strcmp(act, "generate") == 0   ? REPLAY_ACT_GENERATE
                 : strcmp(act, "tokenize") == 0   ? REPLAY_ACT_TOKENIZE
                 : strcmp(act, "reset") == 0      ? REPLAY_ACT_RESET
                                                  : -1;
    if (rt->action < 0)
        return kv_fail(err, KV_ERR_INPUT, "%s.action: expected generate, tokenize, reset or none",
                       where);
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(o, "headers");
    if (cJSON_IsObject(h) && !(rt->headers = cJSON_Duplicate(h, 1)))
        return kv_fail(err, KV_ERR_NOMEM, "out of memory");
    snprintf(sub, sizeof sub, "%s.reply", where);
    kv_status st =
        rp_load_reply(dir, cJSON_GetObjectItemCaseSensitive(o, "reply"), sub, &rt->reply, err);
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(o, "reply_uncached");
    if (st == KV_OK && u) {
        snprintf(sub, sizeof sub, "%s.reply_uncached", where);
        st = rp_load_reply(dir, u, sub, &rt->uncached, err);
        rt->has_uncached = true;
    }
    return st;
}

static void rp_route_free(replay_route *rt)
{
    free(rt->has);
    free(rt->lacks);
    free(rt->path);
    free(rt->ctype);
    cJSON_Delete(rt->headers);
    free(rt->reply.text);
    free(rt->uncached.text);
}

static kv_status rp_load(replay *r, const char *dir, char *err)
{
    char path[2048], where[2200];
    char *text = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/replay.json", dir);
    if (kv_read_file(path, &text, &len, err) != KV_OK)
        return KV_ERR_INPUT;
    cJSON *j = cJSON_ParseWithLength(text, len);
    free(text);
    kv_status st = KV_OK;
    const cJSON *routes = cJSON_GetObjectItemCaseSensitive(j, "routes");
    if (!cJSON_IsArray(routes)) {
        st = kv_fail(err, KV_ERR_INPUT, "%s: %s", path,
                     j ? "routes: expected an array" : "not valid JSON");
        goto out;
    }
    const char *fr = rp_str(j, "framing");
    r->http10 = fr && strcmp(fr, "http1.0") == 0;
    r->stream_default = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "stream_default"));
    r->delay_ms = rp_num(j, "first_token_delay_ms", 20);
    r->cache_min = (long)rp_num(j, "cache_min", 0);
    if ((st = replaytok_cache_new((long)rp_num(j, "cache_block", 1), &r->cache)) != KV_OK)
        goto out;
    r->routes = calloc((size_t)cJSON_GetArraySize(routes) + 1, sizeof *r->routes);
    if (!r->routes) {
        st = kv_fail(err, KV_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (const cJSON *it = routes->child; it && st == KV_OK; it = it->next) {
        snprintf(where, sizeof where, "%s: routes[%zu]", path, r->n_routes);
        st = rp_load_route(dir, it, where, &r->routes[r->n_routes++], err);
    }
    const cJSON *fb = cJSON_GetObjectItemCaseSensitive(j, "fallback");
    if (st == KV_OK && fb) {
        snprintf(where, sizeof where, "%s: fallback", path);
        r->has_fallback = true;
        st = rp_load_route(dir, fb, where, &r->fallback, err);
    }
out:
    cJSON_Delete(j);
    return st;
}

/* ---- placeholders ------------------------------------------------------------- */

typedef struct rp_values {
    long prompt, cached, token_count;
    const char *token_ids;
    double prefill_ms;
    const char *method, *path; /* of the request */
} rp_values;

static kv_status rp_value(const rp_values *v, const char *name, size_t n, kv_buf *out)
{
#define RP_IS(s) (n == sizeof(s) - 1 && memcmp(name, s, n) == 0)
    if (RP_IS("prompt_tokens"))
        return kv_buf_appendf(out, "%ld", v->prompt);
    if (RP_IS("cached_tokens"))
        return kv_buf_appendf(out, "%ld", v->cached);
    if (RP_IS("uncached_tokens"))
        return kv_buf_appendf(out, "%ld", v->prompt - v->cached);
    if (RP_IS("token_count"))
        return kv_buf_appendf(out, "%ld", v->token_count);
    if (RP_IS("token_ids"))
        return kv_buf_append(out, v->token_ids ? v->token_ids : "",
                             strlen(v->token_ids ? v->token_ids : ""));
    if (RP_IS("prefill_ms"))
        return kv_buf_appendf(out, "%.3f", v->prefill_ms);
    if (RP_IS("prefill_s"))
        return kv_buf_appendf(out, "%.6f", v->prefill_ms / 1e3);
    if (RP_IS("prefill_ns"))
        return kv_buf_appendf(out, "%.0f", v->prefill_ms * 1e6);
    if (RP_IS("method"))
        return kv_buf_append(out, v->method, strlen(v->method));
    if (RP_IS("path"))
        return kv_buf_append(out, v->path, strlen(v->path));
    if (RP_IS("created"))
        return kv_buf_appendf(out, "%lld", (long long)time(NULL));
#undef RP_IS
    return kv_buf_append(out, name - 2, n + 4); /* unknown: left as it was */
}

static kv_status rp_expand(const char *text, const rp_values *v, kv_buf *out)
{
    const char *p = text;
    for (const char *o; (o = strstr(p, "{{")) != NULL;) {
        const char *c = strstr(o + 2, "}}");
        if (!c)
            break;
        if (kv_buf_append(out, p, (size_t)(o - p)) != KV_OK ||
            rp_value(v, o + 2, (size_t)(c - o - 2), out) != KV_OK)
            return KV_ERR_NOMEM;
        p = c + 2;
    }
    if (kv_buf_append(out, p, strlen(p)) != KV_OK)
        return KV_ERR_NOMEM;
    return KV_OK;
}

/* ---- the streamed response ------------------------------------------------------ */

typedef struct rp_stream {
    kv_buf body;
    size_t off;
    size_t *ends; /* end offset of each event */
    size_t n_ev;
    long delay_event;
    int64_t delay_ns;
    bool slept;
} rp_stream;

static void rp_stream_free(void *cls)
{
    rp_stream *s = cls;
    kv_buf_free(&s->body);
    free(s->ends);
    free(s);
}

static kv_status rp_split(rp_stream *s, int events)
{
    size_t cap = 16;
    s->ends = malloc(cap * sizeof *s->ends);
    if (!s->ends)
        return KV_ERR_NOMEM;
    const char *b = s->body.data;
    size_t len = s->body.len;
    for (size_t i = 0; i < len; i++) {
        bool end = i + 1 == len;
        if (events == REPLAY_EV_LINES)
            end |= b[i] == '\n';
        else if (events == REPLAY_EV_SSE)
            end |= b[i] == '\n' && i > 0 &&
                   (b[i - 1] == '\n' || (i > 1 && b[i - 1] == '\r' && b[i - 2] == '\n'));
        if (!end)
            continue;
        if (s->n_ev == cap) {
            size_t *p = realloc(s->ends, 2 * cap * sizeof *p);
            if (!p)
                return KV_ERR_NOMEM;
            s->ends = p;
            cap *= 2;
        }
        s->ends[s->n_ev++] = i + 1;
    }
    return KV_OK;
}

static ssize_t rp_stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    rp_stream *s = cls;
    if (s->off >= s->body.len)
        return MHD_CONTENT_READER_END_OF_STREAM;
    size_t ev = 0;
    while (ev < s->n_ev && s->ends[ev] <= s->off)
        ev++;
    if ((long)ev >= s->delay_event && s->delay_event >= 0 && !s->slept) {
        s->slept = true;
        kv_sleep_until_ns(kv_now_ns() + s->delay_ns);
    }
    size_t end = ev < s->n_ev ? s->ends[ev] : s->body.len;
    size_t n = end - s->off;
    if (n > max)
        n = max;
    memcpy(buf, s->body.data + s->off, n);
    s->off += n;
    return (ssize_t)n;
}

/* ---- one request ------------------------------------------------------------------ */

static const replay_route *rp_route(const replay *r, const char *method, const char *url,
                                    bool stream, const cJSON *body)
{
    for (size_t i = 0; i < r->n_routes; i++) {
        const replay_route *rt = &r->routes[i];
        bool path_ok =
            rt->prefix ? strncmp(url, rt->path, strlen(rt->path)) == 0 : strcmp(url, rt->path) == 0;
        bool body_ok = (!rt->has || cJSON_GetObjectItemCaseSensitive(body, rt->has)) &&
                       (!rt->lacks || !cJSON_GetObjectItemCaseSensitive(body, rt->lacks));
        if (path_ok && body_ok && (!rt->method[0] || strcmp(rt->method, method) == 0) &&
            (rt->stream < 0 || rt->stream == (int)stream))
            return rt;
    }
    return r->has_fallback ? &r->fallback : NULL;
}

static long rp_max_tokens(const cJSON *j)
{
    static const char *const keys[] = {"max_tokens", "max_completion_tokens", "max_output_tokens",
                                       "n_predict"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, keys[i]);
        if (cJSON_IsNumber(v))
            return (long)v->valuedouble;
    }
    const cJSON *np = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(j, "options"), "num_predict");
    if (!cJSON_IsNumber(np)) /* SGLang /generate */
        np = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(j, "sampling_params"), "max_new_tokens");
    return cJSON_IsNumber(np) ? (long)np->valuedouble : -1;
}

/* Fills e and v from the request body; the cache and token ids under r->mu. */
static kv_status rp_measure(replay *r, const replay_route *rt, const srvreq *q, replay_entry *e,
                            rp_values *v, kv_buf *ids_text)
{
    uint64_t *ids = NULL;
    size_t n = 0;
    bool chat = false;
    kv_status st = KV_OK;
    cJSON *j = q->body.len ? cJSON_ParseWithLength(q->body.data, q->body.len) : NULL;
    bool use_cache = !cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j, "cache_prompt"));
    e->max_tokens = rp_max_tokens(j);
    cJSON_Delete(j);
    if (rt->action == REPLAY_ACT_GENERATE || rt->action == REPLAY_ACT_TOKENIZE) {
        if (q->body.len &&
            replaytok_request(q->body.data, q->body.len, &ids, &n, &chat) == KV_ERR_NOMEM)
            return KV_ERR_NOMEM;
    }
    pthread_mutex_lock(&r->mu);
    if (rt->action == REPLAY_ACT_GENERATE) {
        e->generate = true;
        e->prompt_tokens = v->prompt = (long)n;
        e->cached_tokens = v->cached =
            replaytok_cache_lookup(r->cache, ids, n, use_cache && (long)n >= r->cache_min);
    } else if (rt->action == REPLAY_ACT_TOKENIZE) {
        v->token_count = (long)n;
        for (size_t i = 0; st == KV_OK && i < n; i++)
            st = kv_buf_appendf(ids_text, "%s%" PRIu64, i ? "," : "", ids[i] % 100000);
    } else if (rt->action == REPLAY_ACT_RESET) {
        replaytok_cache_clear(r->cache);
    }
    pthread_mutex_unlock(&r->mu);
    free(ids);
    return st;
}

static void rp_log(replay *r, const replay_entry *e)
{
    pthread_mutex_lock(&r->mu);
    if (kv_grow(&r->log, &r->cap_log, r->n_log + 1, sizeof *r->log, 64) == KV_OK)
        r->log[r->n_log++] = *e; /* out of memory: the entry is not logged */
    pthread_mutex_unlock(&r->mu);
}

static enum MHD_Result rp_answer(replay *r, struct MHD_Connection *c, const replay_route *rt,
                                 const replay_reply *rr, const rp_values *v)
{
    rp_stream *s = calloc(1, sizeof *s);
    if (!s)
        return MHD_NO;
    s->delay_event = rr->first_event;
    s->delay_ns = (int64_t)(r->delay_ms * 1e6);
    if (rp_expand(rr->text, v, &s->body) != KV_OK || rp_split(s, rr->events) != KV_OK) {
        rp_stream_free(s);
        return MHD_NO;
    }
    uint64_t size = rr->events == REPLAY_EV_NONE ? s->body.len : MHD_SIZE_UNKNOWN;
    struct MHD_Response *resp =
        MHD_create_response_from_callback(size, 64 * 1024, rp_stream_read, s, rp_stream_free);
    if (!resp) {
        rp_stream_free(s);
        return MHD_NO;
    }
    if (r->http10)
        MHD_set_response_options(resp, MHD_RF_HTTP_1_0_SERVER, MHD_RO_END);
    MHD_add_response_header(resp, "Content-Type", rt->ctype);
    for (const cJSON *h = rt->headers ? rt->headers->child : NULL; h; h = h->next)
        if (cJSON_IsString(h))
            MHD_add_response_header(resp, h->string, h->valuestring);
    enum MHD_Result res = MHD_queue_response(c, (unsigned)rt->status, resp);
    MHD_destroy_response(resp);
    return res;
}

static enum MHD_Result rp_dispatch(replay *r, struct MHD_Connection *c, const char *url,
                                   const char *method, const srvreq *q)
{
    replay_entry e;
    memset(&e, 0, sizeof e);
    snprintf(e.method, sizeof e.method, "%s", method);
    snprintf(e.path, sizeof e.path, "%s", url);
    e.prompt_tokens = e.cached_tokens = e.max_tokens = -1;
    cJSON *j = q->body.len ? cJSON_ParseWithLength(q->body.data, q->body.len) : NULL;
    const cJSON *sf = cJSON_GetObjectItemCaseSensitive(j, "stream");
    e.stream = cJSON_IsBool(sf) ? cJSON_IsTrue(sf) : r->stream_default;
    const replay_route *rt = rp_route(r, method, url, e.stream, j);
    cJSON_Delete(j);
    if (!rt) {
        static const char nf[] = "Not Found";
        struct MHD_Response *resp = MHD_create_response_from_buffer(
            sizeof nf - 1, (void *)(uintptr_t)nf, MHD_RESPMEM_PERSISTENT);
        e.status = 404;
        rp_log(r, &e);
        enum MHD_Result res = resp ? MHD_queue_response(c, 404, resp) : MHD_NO;
        MHD_destroy_response(resp);
        return res;
    }
    rp_values v = {0, 0, 0, NULL, r->delay_ms, method, url};
    kv_buf ids = {0};
    if (rp_measure(r, rt, q, &e, &v, &ids) != KV_OK) {
        kv_buf_free(&ids);
        return MHD_NO;
    }
    v.token_ids = ids.data ? ids.data : "";
    e.status = rt->status;
    rp_log(r, &e);
    const replay_reply *rr = rt->has_uncached && v.cached == 0 ? &rt->uncached : &rt->reply;
    enum MHD_Result res = rp_answer(r, c, rt, rr, &v);
    kv_buf_free(&ids);
    return res;
}

/* ---- the daemon ------------------------------------------------------------------- */

static enum MHD_Result rp_on_request(void *cls, struct MHD_Connection *c, const char *url,
                                     const char *method, const char *version,
                                     const char *upload_data, size_t *upload_data_size,
                                     void **con_cls)
{
    (void)version;
    enum MHD_Result res;
    srvreq *q = srvreq_gather(con_cls, upload_data, upload_data_size, REPLAY_MAX_BODY, &res);
    if (!q)
        return res;
    if (q->too_big)
        return MHD_NO;
    return rp_dispatch(cls, c, url, method, q);
}

void replay_options_default(replay_options *o)
{
    o->first_token_delay_ms = -1;
    o->framing = NULL;
}

static kv_status rp_listen(replay *r, char *err)
{
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = 0;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    r->daemon =
        MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL,
                         NULL, rp_on_request, r, MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)&sa,
                         MHD_OPTION_NOTIFY_COMPLETED, srvreq_completed, r,
                         MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)0, MHD_OPTION_END);
    if (!r->daemon)
        return kv_fail(err, KV_ERR_NET, "replay: cannot listen on 127.0.0.1");
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(r->daemon, MHD_DAEMON_INFO_BIND_PORT);
    r->port = di ? di->port : 0;
    return r->port ? KV_OK : kv_fail(err, KV_ERR_NET, "replay: no port bound");
}

kv_status replay_start(const char *dir, const replay_options *o, replay **out, char *err)
{
    *out = NULL;
    replay *r = calloc(1, sizeof *r);
    if (!r)
        return kv_fail(err, KV_ERR_NOMEM, "out of memory");
    pthread_mutex_init(&r->mu, NULL);
    kv_status st = rp_load(r, dir, err);
    if (st == KV_OK && o && o->first_token_delay_ms >= 0)
        r->delay_ms = o->first_token_delay_ms;
    if (st == KV_OK && o && o->framing)
        r->http10 = strcmp(o->framing, "http1.0") == 0;
    if (st == KV_OK)
        st = rp_listen(r, err);
    if (st != KV_OK) {
        replay_stop(r);
        return st;
    }
    *out = r;
    return KV_OK;
}

int replay_port(const replay *r)
{
    return r->port;
}

void replay_stop(replay *r)
{
    if (!r)
        return;
    if (r->daemon)
        MHD_stop_daemon(r->daemon);
    for (size_t i = 0; i < r->n_routes; i++)
        rp_route_free(&r->routes[i]);
    free(r->routes);
    if (r->has_fallback)
        rp_route_free(&r->fallback);
    replaytok_cache_free(r->cache);
    free(r->log);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

size_t replay_log(replay *r, size_t from, replay_entry *out, size_t cap)
{
    pthread_mutex_lock(&r->mu);
    size_t total = r->n_log;
    for (size_t i = 0; out && from + i < total && i < cap; i++)
        out[i] = r->log[from + i];
    pthread_mutex_unlock(&r->mu);
    return total;
}
