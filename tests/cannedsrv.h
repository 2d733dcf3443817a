/* cannedsrv.h - a canned-reply HTTP server for the wire-quirk tests: each
 * route answers one method and path (a path ending in '*' matches a prefix;
 * the query string is part of the path) with a fixed status, content type,
 * body (read from a fixture file or given inline) and optional extra header
 * line. It counts the hits per route and keeps the last request body, so a
 * test can check what kvproof sent and how often. Unmatched requests get the
 * server's fallback route. Header-only (static inline) because every
 * tests/test_*.c is its own executable.
 *
 * Ownership: canned_start copies nothing; the routes array must outlive the
 * server. canned_stop stops the daemon and frees the recorded bodies.
 */
#ifndef KV_CANNEDSRV_H
#define KV_CANNEDSRV_H

#include <microhttpd.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

#ifndef KV_SOURCE_DIR
#define KV_SOURCE_DIR "."
#endif

typedef struct canned_route {
    const char *method; /* "GET", "POST"; NULL = any */
    const char *path;   /* exact, or a prefix ending in '*' */
    unsigned status;
    const char *content_type;
    const char *file;   /* fixture path relative to tests/fixtures/wire/, or NULL */
    const char *body;   /* inline body when file is NULL */
    const char *header; /* extra "Name: value" line, or NULL */
    int hits;           /* requests answered (written by the server) */
    char *last_body;    /* last request body (malloc'd by the server) */
} canned_route;

typedef struct canned_srv {
    struct MHD_Daemon *d;
    int port;
    canned_route *routes; /* terminated by a route with path NULL */
    canned_route *fallback;
    pthread_mutex_t lock;
} canned_srv;

typedef struct canned_conn {
    kv_buf body;
} canned_conn;

/* Reads tests/fixtures/wire/<rel> into a malloc'd string (NULL on failure). */
static inline char *canned_fixture(const char *rel, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/wire/%s", KV_SOURCE_DIR, rel);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    kv_buf b = {0};
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (kv_buf_append(&b, chunk, n) != KV_OK)
            break;
    fclose(f);
    if (kv_buf_append(&b, "", 0) != KV_OK) {
        kv_buf_free(&b);
        return NULL;
    }
    if (len)
        *len = b.len;
    return b.data;
}

static inline bool canned_match(const canned_route *r, const char *method, const char *path)
{
    if (r->method && strcmp(r->method, method) != 0)
        return false;
    size_t n = strlen(r->path);
    if (n && r->path[n - 1] == '*')
        return strncmp(path, r->path, n - 1) == 0;
    return strcmp(path, r->path) == 0;
}

static inline enum MHD_Result canned_answer(canned_srv *s, struct MHD_Connection *c,
                                            canned_route *r, canned_conn *cc)
{
    pthread_mutex_lock(&s->lock);
    r->hits++;
    free(r->last_body);
    r->last_body = cc->body.data ? strdup(cc->body.data) : strdup("");
    pthread_mutex_unlock(&s->lock);
    size_t len = 0;
    char *text = r->file ? canned_fixture(r->file, &len) : strdup(r->body ? r->body : "");
    if (!text)
        text = strdup("missing fixture");
    if (!r->file)
        len = strlen(text);
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return MHD_NO;
    }
    if (r->content_type)
        MHD_add_response_header(resp, "Content-Type", r->content_type);
    if (r->header) {
        char name[128];
        const char *colon = strchr(r->header, ':');
        if (colon && (size_t)(colon - r->header) < sizeof name) {
            snprintf(name, sizeof name, "%.*s", (int)(colon - r->header), r->header);
            MHD_add_response_header(resp, name, colon + 1 + (colon[1] == ' '));
        }
    }
    enum MHD_Result ok = MHD_queue_response(c, r->status, resp);
    MHD_destroy_response(resp);
    return ok;
}

static inline enum MHD_Result canned_handler(void *cls, struct MHD_Connection *c, const char *url,
                                             const char *method, const char *version,
                                             const char *data, size_t *size, void **ctx)
{
    (void)version;
    canned_srv *s = cls;
    canned_conn *cc = *ctx;
    if (!cc) {
        cc = calloc(1, sizeof *cc);
        if (!cc)
            return MHD_NO;
        *ctx = cc;
        return MHD_YES;
    }
    if (*size) {
        if (kv_buf_append(&cc->body, data, *size) != KV_OK)
            return MHD_NO;
        *size = 0;
        return MHD_YES;
    }
    if (kv_buf_append(&cc->body, "", 0) != KV_OK)
        return MHD_NO;
    char path[512];
    const char *action = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "action");
    snprintf(path, sizeof path, "%s%s%s", url, action ? "?action=" : "", action ? action : "");
    for (canned_route *r = s->routes; r->path; r++)
        if (canned_match(r, method, path))
            return canned_answer(s, c, r, cc);
    return canned_answer(s, c, s->fallback, cc);
}

static inline void canned_done(void *cls, struct MHD_Connection *c, void **ctx,
                               enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    canned_conn *cc = *ctx;
    if (cc) {
        kv_buf_free(&cc->body);
        free(cc);
    }
    *ctx = NULL;
}

/* Starts the server on 127.0.0.1 with an ephemeral port; 0 on success. */
static inline int canned_start(canned_srv *s, canned_route *routes, canned_route *fallback)
{
    memset(s, 0, sizeof *s);
    s->routes = routes;
    s->fallback = fallback;
    pthread_mutex_init(&s->lock, NULL);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                            canned_handler, s, MHD_OPTION_SOCK_ADDR, &sa,
                            MHD_OPTION_NOTIFY_COMPLETED, canned_done, NULL, MHD_OPTION_END);
    if (!s->d)
        return -1;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? (int)info->port : 0;
    return s->port > 0 ? 0 : -1;
}

static inline void canned_stop(canned_srv *s)
{
    if (s->d)
        MHD_stop_daemon(s->d);
    s->d = NULL;
    for (canned_route *r = s->routes; r && r->path; r++) {
        free(r->last_body);
        r->last_body = NULL;
    }
    if (s->fallback) {
        free(s->fallback->last_body);
        s->fallback->last_body = NULL;
    }
    pthread_mutex_destroy(&s->lock);
}

static inline void canned_url(const canned_srv *s, char *buf, size_t cap)
{
    snprintf(buf, cap, "http://127.0.0.1:%d", s->port);
}

#endif
