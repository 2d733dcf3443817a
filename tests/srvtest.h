/* srvtest.h - helpers shared by the reference-server tests: start a server
 * on an ephemeral port with a tiny time scale (failing the test when it
 * cannot), and make HTTP requests to it with the libcurl easy API. Header-only (static inline)
 * because every tests/test_*.c is its own executable. */
#ifndef KV_SRVTEST_H
#define KV_SRVTEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "common/util.h"
#include "server/refsrv.h"

typedef struct http_reply {
    long status;    /* HTTP status, 0 if none */
    CURLcode rc;    /* transfer result */
    kv_buf body;    /* response body */
    kv_buf headers; /* raw header lines */
    long writes;    /* body write callbacks (a drip shows as many) */
} http_reply;

static inline void http_reply_free(http_reply *r)
{
    kv_buf_free(&r->body);
    kv_buf_free(&r->headers);
}

static inline size_t srvtest_write(char *p, size_t size, size_t n, void *arg)
{
    return kv_buf_append(arg, p, size * n) == KV_OK ? size * n : 0;
}

static inline size_t srvtest_body(char *p, size_t size, size_t n, void *arg)
{
    http_reply *r = arg;
    r->writes++;
    return srvtest_write(p, size, n, &r->body);
}

/* One request; body NULL = GET. */
static inline void http_do(int port, const char *method, const char *path, const char *body,
                           double timeout_s, http_reply *out)
{
    memset(out, 0, sizeof *out);
    char url[512];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    CURL *h = curl_easy_init();
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, srvtest_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, srvtest_write);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &out->headers);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(timeout_s * 1000));
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    } else if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    out->rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    if (!out->body.data && kv_buf_append(&out->body, "", 0) != KV_OK)
        out->rc = CURLE_OUT_OF_MEMORY;
    if (!out->headers.data && kv_buf_append(&out->headers, "", 0) != KV_OK)
        out->rc = CURLE_OUT_OF_MEMORY;
}

static inline void srvtest_config(refsrv_config *c, refsrv_dialect d)
{
    refsrv_config_default(c);
    c->dialect = d;
    (void)costmodel_preset("flat", &c->cost);
    c->cost.cv = 0;
    c->cost.time_scale = 0.002; /* 50 ms prefill -> 0.1 ms */
    c->reply_tokens = 8;
}

/* Starts a server with cfg; fails the test with the reason when it cannot. */
static inline refsrv *srvtest_start(const refsrv_config *cfg)
{
    refsrv *s = NULL;
    char err[KV_ERRLEN] = "";
    if (refsrv_start(cfg, &s, err) != KV_OK)
        fail_msg("refsrv_start: %s", err);
    return s;
}

/* Starts a server of dialect d with srvtest_config's settings. */
static inline refsrv *srvtest_start_dialect(refsrv_dialect d)
{
    refsrv_config cfg;
    srvtest_config(&cfg, d);
    return srvtest_start(&cfg);
}

/* The JSON objects of the lines of body that start with prefix (the prefix
 * removed; lines that are not JSON, such as "data: [DONE]", skipped). */
static inline cJSON *srvtest_json_lines(const char *body, const char *prefix)
{
    cJSON *arr = cJSON_CreateArray();
    size_t plen = strlen(prefix);
    const char *p = body;
    while (p && *p) {
        const char *eol = strchr(p, '\n');
        size_t n = eol ? (size_t)(eol - p) : strlen(p);
        if (n > plen && strncmp(p, prefix, plen) == 0) {
            cJSON *o = cJSON_ParseWithLength(p + plen, n - plen);
            if (o)
                cJSON_AddItemToArray(arr, o);
        }
        p = eol ? eol + 1 : NULL;
    }
    return arr;
}

/* The JSON objects of an SSE stream's data lines (not [DONE]), as an array. */
static inline cJSON *sse_events(const char *body)
{
    return srvtest_json_lines(body, "data: ");
}

/* The JSON objects of an NDJSON body, as an array. */
static inline cJSON *ndjson_lines(const char *body)
{
    return srvtest_json_lines(body, "");
}

static inline const cJSON *json_at(const cJSON *o, const char *path)
{
    char key[128];
    const char *p = path;
    while (o && *p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (n >= sizeof key)
            return NULL;
        memcpy(key, p, n);
        key[n] = '\0';
        o = cJSON_GetObjectItemCaseSensitive(o, key);
        p = dot ? dot + 1 : p + n;
    }
    return o;
}

/* Number at a dotted path ("usage.prompt_tokens_details.cached_tokens"); -1e300 if absent. */
static inline double json_num(const cJSON *o, const char *path)
{
    const cJSON *it = json_at(o, path);
    return cJSON_IsNumber(it) ? it->valuedouble : -1e300;
}

#endif
