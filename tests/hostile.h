/* hostile.h - an in-process hostile LLM server for tests/test_hostile.c:
 * libmicrohttpd on 127.0.0.1 with an ephemeral port (plain or TLS), speaking
 * just enough of the OpenAI chat dialect for kvproof to run a spec against
 * it, and misbehaving in one chosen way on every other generation request
 * (so a run has failed and finished trials side by side):
 *
 *   HOSTILE_ECHO         echoes the Authorization header everywhere: /props,
 *                        /v1/models, /tokenize (200, and a 401 every 7th),
 *                        the cache resets (401), a response header, the
 *                        stream's content and usage (raw and JSON-escaped
 *                        "\/"), and every 5th generation a 401 with the key
 *                        where a cut at 200 or 300 bytes may split it
 *   HOSTILE_ENDLESS      a token stream that never ends
 *   HOSTILE_DRIP         a token at once, then one every 100 ms, forever
 *   HOSTILE_HUGELINE     one 50 MB data: line
 *   HOSTILE_HUGEHEADERS  a 520 KB block of response headers
 *   HOSTILE_BADUTF8      bytes that are not UTF-8 in a 500 body and in a
 *                        stream error event
 *   HOSTILE_CJK          a 500 whose error message is 400 Chinese characters
 *   HOSTILE_INF          1e999 in the stream's usage and /v1/models (and in
 *                        /tokenize with inf_tokenize)
 *
 * Header-only (static inline) because every tests/test_*.c is its own
 * executable; include it after <cmocka.h>.
 */
#ifndef KV_HOSTILE_H
#define KV_HOSTILE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "common/util.h"
#include "runnertest.h"

typedef enum hostile_mode {
    HOSTILE_NORMAL = 0,
    HOSTILE_ECHO,
    HOSTILE_ENDLESS,
    HOSTILE_DRIP,
    HOSTILE_HUGELINE,
    HOSTILE_HUGEHEADERS,
    HOSTILE_BADUTF8,
    HOSTILE_CJK,
    HOSTILE_INF
} hostile_mode;

#define HOSTILE_HUGELINE_BYTES ((uint64_t)50 << 20)

typedef struct hostile {
    struct MHD_Daemon *d;
    int port;
    hostile_mode mode;
    atomic_long gen;          /* generation requests seen */
    atomic_long tokenizes;    /* /tokenize requests seen */
    atomic_long misbehaved;   /* generation requests given the mode's hostile reply */
    atomic_llong streamed;    /* body bytes of the endless/drip/huge-line streams */
    atomic_bool stopping;     /* refsrv-style: ends sleeping drips */
    atomic_bool inf_tokenize; /* /tokenize answers {"count":1e999} */
    atomic_bool stamp_drip;   /* each drip token carries a ": kvproof-sent-ns=" stamp */
} hostile;

typedef struct hostile_req {
    kv_buf body;
} hostile_req;

/* One never-ending or huge streamed reply. */
typedef struct hostile_stream {
    hostile *h;
    hostile_mode mode;
} hostile_stream;

static const char hostile_token[] = "data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n";
static const char hostile_line_head[] = "data: {\"choices\":[{\"delta\":{\"content\":\"";
static const char hostile_line_tail[] = "\"}}]}\n\ndata: [DONE]\n\n";

static inline ssize_t hostile_stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    hostile_stream *st = cls;
    size_t tl = sizeof hostile_token - 1, n = 0;
    if (atomic_load(&st->h->stopping))
        return MHD_CONTENT_READER_END_WITH_ERROR;
    if (st->mode == HOSTILE_ENDLESS) {
        for (; n + tl <= max; n += tl)
            memcpy(buf + n, hostile_token, tl);
    } else if (st->mode == HOSTILE_DRIP) {
        /* The first token goes out with the headers, so the drip has begun
         * as soon as any reply could have; only then the 100 ms pauses. */
        struct timespec ts = {0, 100 * 1000 * 1000};
        if (pos > 0)
            nanosleep(&ts, NULL);
        char stamp[64] = "";
        if (atomic_load(&st->h->stamp_drip))
            snprintf(stamp, sizeof stamp, ": kvproof-sent-ns=%lld\n", (long long)kv_now_ns());
        size_t sl = strlen(stamp);
        if (sl + tl <= max) {
            memcpy(buf, stamp, sl);
            memcpy(buf + sl, hostile_token, tl);
            n = sl + tl;
        }
    } else { /* the huge line, laid out virtually: head, filler, tail */
        uint64_t hl = sizeof hostile_line_head - 1, fl = HOSTILE_HUGELINE_BYTES;
        uint64_t total = hl + fl + sizeof hostile_line_tail - 1;
        if (pos >= total)
            return MHD_CONTENT_READER_END_OF_STREAM;
        for (; n < max && pos + n < total; n++) {
            uint64_t p = pos + n;
            buf[n] = p < hl        ? hostile_line_head[p]
                     : p < hl + fl ? 'a'
                                   : hostile_line_tail[p - hl - fl];
        }
    }
    atomic_fetch_add(&st->h->streamed, (long long)n);
    return (ssize_t)n;
}

static inline enum MHD_Result hostile_queue(struct MHD_Connection *c, unsigned status,
                                            const char *ctype, const char *body, size_t len,
                                            const char *echo, int pad_headers)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", ctype);
    if (echo)
        MHD_add_response_header(r, "X-Echo", echo);
    char pad[4001];
    memset(pad, 'h', sizeof pad - 1);
    pad[sizeof pad - 1] = '\0';
    for (int i = 0; i < pad_headers; i++) {
        char name[32];
        snprintf(name, sizeof name, "X-Pad-%d", i);
        MHD_add_response_header(r, name, pad);
    }
    enum MHD_Result res = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return res;
}

static inline enum MHD_Result hostile_json(struct MHD_Connection *c, unsigned status,
                                           const char *body, const char *echo)
{
    return hostile_queue(c, status, "application/json", body, strlen(body), echo, 0);
}

static inline enum MHD_Result hostile_text(struct MHD_Connection *c, unsigned status,
                                           const char *ctype, const char *body)
{
    return hostile_queue(c, status, ctype, body, strlen(body), NULL, 0);
}

/* The Authorization header with '/' written as JSON's "\/". */
static inline void hostile_escaped(const char *auth, char *out, size_t cap)
{
    size_t o = 0;
    for (const char *p = auth; *p && o + 3 < cap; p++) {
        if (*p == '/')
            out[o++] = '\\';
        out[o++] = *p;
    }
    out[o] = '\0';
}

/* Tokens of every message's content (the fake tokenizer of runnertest.h). */
static inline long hostile_prompt_tokens(const char *body)
{
    cJSON *j = cJSON_Parse(body);
    long n = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(j, "messages"))
    {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(m, "content");
        if (cJSON_IsString(t))
            n += runnertest_text_tokens(t->valuestring);
    }
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(j, "content");
    if (!cJSON_IsString(p))
        p = cJSON_GetObjectItemCaseSensitive(j, "prompt");
    if (cJSON_IsString(p))
        n += runnertest_text_tokens(p->valuestring);
    cJSON_Delete(j);
    return n;
}

/* A well-formed reply: role chunk, one token, usage, [DONE]. `extra`
 * (JSON members, may be "") goes into usage; `content` is the token. */
static inline enum MHD_Result hostile_ok_stream(struct MHD_Connection *c, long prompt,
                                                const char *content, const char *extra,
                                                const char *echo, int pad_headers)
{
    kv_buf b = {0};
    if (kv_buf_appendf(&b,
                       "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}\n\n"
                       "data: {\"choices\":[{\"delta\":{\"content\":\"%s\"}}]}\n\n"
                       "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}],"
                       "\"usage\":{\"prompt_tokens\":%ld,\"completion_tokens\":1%s%s}}\n\n"
                       "data: [DONE]\n\n",
                       content, prompt, *extra ? "," : "", extra) != KV_OK)
        return MHD_NO;
    enum MHD_Result r =
        hostile_queue(c, 200, "text/event-stream", b.data, b.len, echo, pad_headers);
    kv_buf_free(&b);
    return r;
}

static inline void hostile_stream_free(void *cls)
{
    free(cls);
}

static inline enum MHD_Result hostile_callback_stream(hostile *h, struct MHD_Connection *c)
{
    hostile_stream *st = calloc(1, sizeof *st);
    if (!st)
        return MHD_NO;
    st->h = h;
    st->mode = h->mode;
    struct MHD_Response *r = MHD_create_response_from_callback(
        MHD_SIZE_UNKNOWN, 64 * 1024, hostile_stream_read, st, hostile_stream_free);
    if (!r) {
        free(st);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "text/event-stream");
    enum MHD_Result res = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return res;
}

/* A 401 whose message holds the key after `pad` bytes: where a cut of the
 * message at 200 (tokenize) or 300 (generation) bytes falls inside it, only
 * the key's beginning is left, which must not leak either. */
static inline enum MHD_Result hostile_echo_401(struct MHD_Connection *c, const char *auth,
                                               size_t pad)
{
    char dots[400];
    size_t pl = pad < sizeof dots ? pad : sizeof dots - 1;
    memset(dots, '.', pl);
    dots[pl] = '\0';
    char esc[512];
    hostile_escaped(auth, esc, sizeof esc);
    kv_buf b = {0};
    enum MHD_Result r = MHD_NO;
    if (kv_buf_appendf(&b, "{\"error\":{\"message\":\"%s invalid key %s\"},\"echo\":\"%s\"}", dots,
                       auth, esc) == KV_OK)
        r = hostile_json(c, 401, b.data, auth);
    kv_buf_free(&b);
    return r;
}

static inline enum MHD_Result hostile_generate(hostile *h, struct MHD_Connection *c,
                                               const char *auth, const char *body)
{
    long n = atomic_fetch_add(&h->gen, 1);
    long prompt = hostile_prompt_tokens(body);
    char esc[512], extra[640];
    hostile_escaped(auth, esc, sizeof esc);
    if (h->mode == HOSTILE_ECHO) {
        if (n % 5 == 4) /* the key whole, then cut at 300 bytes inside it */
            return hostile_echo_401(c, auth, n % 10 == 4 ? 250 : 100);
        snprintf(extra, sizeof extra, "\"echo\":\"%s\",\"raw_echo\":\"%s\"", esc, auth);
        return hostile_ok_stream(c, prompt, esc, extra, auth, 0);
    }
    if (n % 2 == 0 || h->mode == HOSTILE_NORMAL)
        return hostile_ok_stream(c, prompt, "ok", "", NULL, 0);
    atomic_fetch_add(&h->misbehaved, 1);
    switch (h->mode) {
    case HOSTILE_ENDLESS:
    case HOSTILE_DRIP:
    case HOSTILE_HUGELINE:
        return hostile_callback_stream(h, c);
    case HOSTILE_HUGEHEADERS:
        return hostile_ok_stream(c, prompt, "ok", "", NULL, 130); /* 130 x 4 KB */
    case HOSTILE_BADUTF8:
        if (n % 4 == 1)
            return hostile_text(c, 500, "text/html", "<h1>\xff\xfe broken \xc3</h1>");
        return hostile_text(c, 200, "text/event-stream",
                            "data: {\"error\":{\"message\":\"bad \xff\xfe bytes \xe4\xb8\"}}\n\n");
    case HOSTILE_CJK: {
        kv_buf b = {0};
        enum MHD_Result r = MHD_NO;
        if (kv_buf_append(&b, "{\"error\":{\"message\":\"", 21) == KV_OK) {
            for (int i = 0; i < 400; i++)
                if (kv_buf_append(&b, "\xe9\x94\x99", 3) != KV_OK)
                    break;
            if (kv_buf_append(&b, "\"}}", 3) == KV_OK)
                r = hostile_json(c, 500, b.data, NULL);
        }
        kv_buf_free(&b);
        return r;
    }
    case HOSTILE_INF:
        return hostile_text(c, 200, "text/event-stream",
                            "data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n"
                            "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1e999}}\n\n"
                            "data: [DONE]\n\n");
    default:
        return hostile_ok_stream(c, prompt, "ok", "", NULL, 0);
    }
}

static inline enum MHD_Result hostile_route(hostile *h, struct MHD_Connection *c, const char *url,
                                            const char *body)
{
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (!auth)
        auth = "";
    bool echo = h->mode == HOSTILE_ECHO;
    char esc[512], buf[2048];
    hostile_escaped(auth, esc, sizeof esc);
    if (strcmp(url, "/v1/chat/completions") == 0)
        return hostile_generate(h, c, auth, body);
    if (strcmp(url, "/props") == 0 && echo) {
        snprintf(buf, sizeof buf,
                 "{\"default_generation_settings\":{\"n_ctx\":4096},\"build_info\":\"b1 %s\","
                 "\"echo\":\"%s\"}",
                 auth, esc);
        return hostile_json(c, 200, buf, auth);
    }
    if (strcmp(url, "/v1/models") == 0) {
        if (echo)
            snprintf(buf, sizeof buf, "{\"data\":[{\"id\":\"m %s\",\"owned_by\":\"%s\"}]}", esc,
                     auth);
        else
            snprintf(buf, sizeof buf, "{\"data\":[{\"id\":\"hostile-model\",\"created\":%s}]}",
                     h->mode == HOSTILE_INF ? "1e999" : "1");
        return hostile_json(c, 200, buf, echo ? auth : NULL);
    }
    if (strcmp(url, "/tokenize") == 0) {
        long k = atomic_fetch_add(&h->tokenizes, 1);
        if (echo && k % 7 == 0) /* cut at 200 bytes inside the key */
            return hostile_echo_401(c, auth, 160);
        if (echo) {
            snprintf(buf, sizeof buf, "{\"count\":%ld,\"echo\":\"%s\"}",
                     hostile_prompt_tokens(body), esc);
            return hostile_json(c, 200, buf, auth);
        }
        if (atomic_load(&h->inf_tokenize))
            return hostile_json(c, 200, "{\"count\":1e999}", NULL);
        snprintf(buf, sizeof buf, "{\"count\":%ld}", hostile_prompt_tokens(body));
        return hostile_json(c, 200, buf, NULL);
    }
    if (echo && (strcmp(url, "/reset_prefix_cache") == 0 || strcmp(url, "/flush_cache") == 0))
        return hostile_echo_401(c, auth, 20);
    return hostile_json(c, 404, "{\"error\":{\"message\":\"not found\"}}", NULL);
}

static inline enum MHD_Result hostile_on_request(void *cls, struct MHD_Connection *c,
                                                 const char *url, const char *method,
                                                 const char *version, const char *upload_data,
                                                 size_t *upload_data_size, void **con_cls)
{
    (void)method;
    (void)version;
    hostile_req *rq = *con_cls;
    if (!rq) {
        rq = calloc(1, sizeof *rq);
        *con_cls = rq;
        return rq ? MHD_YES : MHD_NO;
    }
    if (*upload_data_size) {
        if (kv_buf_append(&rq->body, upload_data, *upload_data_size) != KV_OK)
            return MHD_NO;
        *upload_data_size = 0;
        return MHD_YES;
    }
    return hostile_route(cls, c, url, rq->body.data ? rq->body.data : "");
}

static inline void hostile_on_done(void *cls, struct MHD_Connection *c, void **con_cls,
                                   enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    hostile_req *rq = *con_cls;
    if (rq) {
        kv_buf_free(&rq->body);
        free(rq);
        *con_cls = NULL;
    }
}

/* Starts the server (TLS when cert and key, PEM text, are given). */
static inline hostile *hostile_start(hostile_mode mode, const char *cert, const char *key)
{
    hostile *h = calloc(1, sizeof *h);
    assert_non_null(h);
    h->mode = mode;
    atomic_init(&h->gen, 0);
    atomic_init(&h->tokenizes, 0);
    atomic_init(&h->misbehaved, 0);
    atomic_init(&h->streamed, 0);
    atomic_init(&h->stopping, false);
    atomic_init(&h->inf_tokenize, false);
    atomic_init(&h->stamp_drip, false);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION;
    if (cert)
        h->d = MHD_start_daemon(
            flags | MHD_USE_TLS, 0, NULL, NULL, hostile_on_request, h, MHD_OPTION_SOCK_ADDR,
            (const struct sockaddr *)&sa, MHD_OPTION_NOTIFY_COMPLETED, hostile_on_done, h,
            MHD_OPTION_HTTPS_MEM_CERT, cert, MHD_OPTION_HTTPS_MEM_KEY, key, MHD_OPTION_END);
    else
        h->d = MHD_start_daemon(flags, 0, NULL, NULL, hostile_on_request, h, MHD_OPTION_SOCK_ADDR,
                                (const struct sockaddr *)&sa, MHD_OPTION_NOTIFY_COMPLETED,
                                hostile_on_done, h, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                                (size_t)(4 << 20), MHD_OPTION_END);
    assert_non_null(h->d);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    assert_non_null(info);
    h->port = (int)info->port;
    return h;
}

static inline void hostile_stop(hostile *h)
{
    if (!h)
        return;
    atomic_store(&h->stopping, true);
    MHD_stop_daemon(h->d);
    free(h);
}

#endif
