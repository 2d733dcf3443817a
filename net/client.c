/* client.c - one measured streaming request over libcurl's multi interface
 * (client.h).
 *
 * Divided into: the handle (one multi + one reused easy handle, so
 * connections stay alive); headers (API key from the environment, never
 * copied anywhere else, and redaction of anything a server echoes);
 * the transfer loop (libcurl's socket interface over one poll(): libcurl
 * is told which socket is ready, so it reads without polling it again;
 * first-token and total deadlines);
 * one streamed attempt (write/header callbacks timestamp with
 * CLOCK_MONOTONIC and feed the dialect reader); the retry policy; and the
 * plain JSON helpers (client_call, tokenize, cache reset).
 */
#include "net/client.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "common/utf8.h"
#include "common/util.h"
#include "net/dialect.h"

#define CLIENT_ERRBODY_MAX 4096           /* bytes of an error body kept */
#define CLIENT_CALL_MAX ((size_t)8 << 20) /* largest client_call response */
#define CLIENT_MAX_ATTEMPTS 20            /* hard bound whatever `retries` says */
/* A streamed reply is cut off past this many bytes plus CLIENT_STREAM_PER_TOKEN
 * per requested output token, or past 2 x max_output_tokens + CLIENT_TOKEN_SLACK
 * token events: a server that never stops cannot grow memory without bound. */
#define CLIENT_STREAM_MAX ((size_t)64 << 20)
#define CLIENT_STREAM_PER_TOKEN ((size_t)4096)
#define CLIENT_TOKEN_SLACK 64
#define CLIENT_MAX_SOCKS 16 /* sockets libcurl may ask to watch at once */

struct client {
    CURLM *multi;
    CURL *easy;
    char errbuf[CURL_ERROR_SIZE];
    struct pollfd socks[CLIENT_MAX_SOCKS]; /* kept as libcurl's socket callback says */
    size_t n_socks;
    bool socks_full;  /* libcurl asked for more than CLIENT_MAX_SOCKS */
    bool timer_set;   /* libcurl wants a timeout action at timer_ns */
    int64_t timer_ns; /* CLOCK_MONOTONIC */
    double backoff_base_s;
    double backoff_cap_s;
    long retry_waits;         /* waits between attempts so far */
    double retry_wait_s;      /* their planned total (backoff or Retry-After) */
    dialect_stamp_fn observe; /* per-token stamp observer (benchmark), or NULL */
    void *observe_ctx;
    int64_t wake_ns; /* when the last wait for the sockets returned */
};

void client_observe_stamps(client *c, void (*fn)(void *ctx, int64_t recv_ns, int64_t sent_ns),
                           void *ctx)
{
    c->observe = fn;
    c->observe_ctx = ctx;
}

int64_t client_wake_ns(const client *c)
{
    return c->wake_ns;
}

/* libcurl's socket callback: remembers what to watch on s, as poll's events. */
static int client_on_socket(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
    (void)e;
    (void)socketp;
    client *c = userp;
    size_t i = 0;
    while (i < c->n_socks && c->socks[i].fd != s)
        i++;
    if (what == CURL_POLL_REMOVE) {
        if (i < c->n_socks)
            c->socks[i] = c->socks[--c->n_socks];
        return 0;
    }
    if (i == c->n_socks) {
        if (c->n_socks == CLIENT_MAX_SOCKS) {
            c->socks_full = true;
            return 0;
        }
        c->socks[c->n_socks++].fd = s;
    }
    c->socks[i].events =
        (short)(((what & CURL_POLL_IN) ? POLLIN : 0) | ((what & CURL_POLL_OUT) ? POLLOUT : 0));
    return 0;
}

/* libcurl's timer callback: when to call it with CURL_SOCKET_TIMEOUT. */
static int client_on_timer(CURLM *m, long timeout_ms, void *userp)
{
    (void)m;
    client *c = userp;
    c->timer_set = timeout_ms >= 0;
    c->timer_ns = kv_now_ns() + (int64_t)(timeout_ms > 0 ? timeout_ms : 0) * 1000000;
    return 0;
}

static CURLMcode client_multi_setup(client *c)
{
    CURLMcode mc = curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, client_on_socket);
    if (mc == CURLM_OK)
        mc = curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    if (mc == CURLM_OK)
        mc = curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, client_on_timer);
    if (mc == CURLM_OK)
        mc = curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    return mc;
}

kv_status client_new(client **out, char *err)
{
    *out = NULL;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return kv_fail(err, KV_ERR_INTERNAL, "curl_global_init failed");
    client *c = calloc(1, sizeof *c);
    if (!c) {
        curl_global_cleanup();
        return kv_fail(err, KV_ERR_NOMEM, "out of memory for the HTTP client");
    }
    c->backoff_base_s = 0.5;
    c->backoff_cap_s = 8.0;
    c->multi = curl_multi_init();
    c->easy = curl_easy_init();
    if (!c->multi || !c->easy || client_multi_setup(c) != CURLM_OK) {
        client_free(c);
        return kv_fail(err, KV_ERR_INTERNAL, "libcurl could not create a handle");
    }
    *out = c;
    return KV_OK;
}

void client_free(client *c)
{
    if (!c)
        return;
    if (c->easy)
        curl_easy_cleanup(c->easy);
    if (c->multi)
        curl_multi_cleanup(c->multi);
    free(c);
    curl_global_cleanup();
}

void client_retry_waits(const client *c, long *waits, double *seconds)
{
    *waits = c->retry_waits;
    *seconds = c->retry_wait_s;
}

void client_set_backoff(client *c, double base_s, double cap_s)
{
    c->backoff_base_s = base_s > 0 ? base_s : 0;
    c->backoff_cap_s = cap_s > 0 ? cap_s : 0;
}

/* ---- secrets ----------------------------------------------------------- */

/* The API key named by the target, or NULL. Points into the environment:
 * never copy it into anything but the header list. */
static const char *client_key(const spec_target *t)
{
    if (!t || !t->api_key_env || !*t->api_key_env)
        return NULL;
    const char *k = getenv(t->api_key_env);
    return k && *k ? k : NULL;
}

/* Replaces every occurrence of the key in s (NUL-terminated) by "***", and
 * a beginning of the key that a cut left at the end of s (before an optional
 * "...": a server's message truncated inside the key) as well. Returns
 * whether s changed. */
static bool client_redact(char *s, const char *key)
{
    if (!s || !key)
        return false;
    size_t kl = strlen(key);
    if (kl < 4) /* too short to search for without mangling ordinary text */
        return false;
    bool changed = false;
    char *p;
    while ((p = strstr(s, key)) != NULL) {
        memcpy(p, "***", 3);
        memmove(p + 3, p + kl, strlen(p + kl) + 1);
        changed = true;
    }
    size_t n = strlen(s);
    size_t end = n >= 3 && strcmp(s + n - 3, "...") == 0 ? n - 3 : n;
    for (size_t m = kl - 1 < end ? kl - 1 : end; m >= 4; m--) {
        if (memcmp(s + end - m, key, m) == 0) {
            memcpy(s + end - m, "***", 3);
            memmove(s + end - m + 3, s + end, n - end + 1);
            return true;
        }
    }
    return changed;
}

/* Redacts every string and member name of a parsed JSON value (so a key the
 * server escaped, "sk\/..." or "\u0073k-...", is found once decoded). */
static bool client_redact_tree(cJSON *j, const char *key)
{
    bool changed = false;
    for (; j; j = j->next) {
        if (j->string)
            changed |= client_redact(j->string, key);
        if (cJSON_IsString(j))
            changed |= client_redact(j->valuestring, key);
        if (j->child)
            changed |= client_redact_tree(j->child, key);
    }
    return changed;
}

/* The one gate for bytes that came from a server (a body, headers, a raw
 * usage object): *s (malloc'd, NUL-terminated) becomes valid UTF-8 and holds
 * no copy of the key, raw or JSON-escaped. */
static kv_status client_scrub(char **s, const char *key)
{
    if (!*s)
        return KV_OK;
    size_t n = strlen(*s);
    if (!kv_utf8_valid(*s, n)) {
        kv_buf b = {0};
        if (kv_utf8_repair(&b, *s, n) != KV_OK || kv_buf_append(&b, "", 0) != KV_OK) {
            kv_buf_free(&b);
            return KV_ERR_NOMEM;
        }
        free(*s);
        *s = b.data;
    }
    if (!key || strlen(key) < 4)
        return KV_OK;
    client_redact(*s, key);
    cJSON *j = cJSON_Parse(*s);
    kv_status st = KV_OK;
    if (j && client_redact_tree(j, key)) {
        char *text = cJSON_PrintUnformatted(j);
        char *copy = kv_strdup(text);
        cJSON_free(text);
        if (copy) {
            free(*s);
            *s = copy;
        } else {
            st = KV_ERR_NOMEM;
        }
    }
    cJSON_Delete(j);
    return st;
}

/* client_scrub for a fixed buffer of cap bytes (a reason, an error message):
 * repaired, redacted and cut at a character boundary. */
static void client_scrub_fixed(char *buf, size_t cap, const char *key)
{
    if (!buf || cap == 0)
        return;
    size_t n = strlen(buf);
    if (!kv_utf8_valid(buf, n)) {
        kv_buf b = {0};
        if (kv_utf8_repair(&b, buf, n) == KV_OK && b.data) {
            size_t k = kv_utf8_cut(b.data, b.len, cap - 1);
            memcpy(buf, b.data, k);
            buf[k] = '\0';
        } else {
            snprintf(buf, cap, "(unreadable server message)");
        }
        kv_buf_free(&b);
    }
    client_redact(buf, key);
}

/* Appends one header line to *h; false when out of memory (*h kept). */
static bool client_add_header(struct curl_slist **h, const char *line)
{
    struct curl_slist *n = curl_slist_append(*h, line);
    if (!n)
        return false;
    *h = n;
    return true;
}

/* Headers for a request: JSON content, no Expect, auth, the target's own. */
static kv_status client_headers(const spec_target *t, spec_api api, const char *accept,
                                struct curl_slist **out, char *err)
{
    struct curl_slist *h = NULL;
    char line[1024];
    kv_status st = KV_OK;
    const char *key = client_key(t);
    if (t && t->api_key_env && *t->api_key_env && !key) {
        st = kv_fail(err, KV_ERR_INPUT, "environment variable %s (api_key_env) is not set",
                     t->api_key_env);
        goto out;
    }
    const char *fixed[] = {"Content-Type: application/json", "Expect:", accept};
    for (size_t i = 0; i < 3; i++)
        if (fixed[i] && !client_add_header(&h, fixed[i]))
            goto nomem;
    if (api == SPEC_API_ANTHROPIC && !client_add_header(&h, "anthropic-version: 2023-06-01"))
        goto nomem;
    if (key) {
        int len = api == SPEC_API_ANTHROPIC
                      ? snprintf(line, sizeof line, "x-api-key: %s", key)
                      : snprintf(line, sizeof line, "Authorization: Bearer %s", key);
        if (len < 0 || (size_t)len >= sizeof line) {
            st = kv_fail(err, KV_ERR_INPUT, "the key in %s is too long", t->api_key_env);
            goto out;
        }
        bool added = client_add_header(&h, line);
        memset(line, 0, sizeof line);
        if (!added)
            goto nomem;
    }
    for (size_t i = 0; t && i < t->n_headers; i++) {
        int len = snprintf(line, sizeof line, "%s: %s", t->headers[i].name, t->headers[i].value);
        if (len < 0 || (size_t)len >= sizeof line) {
            st = kv_fail(err, KV_ERR_INPUT, "header %s is too long", t->headers[i].name);
            goto out;
        }
        if (!client_add_header(&h, line))
            goto nomem;
    }
    *out = h;
    return KV_OK;
nomem:
    st = kv_fail(err, KV_ERR_NOMEM, "out of memory for request headers");
out:
    curl_slist_free_all(h);
    *out = NULL;
    return st;
}

/* ---- transfer loop ------------------------------------------------------ */

/* Per-attempt state shared with the callbacks. */
typedef struct client_xfer {
    client *c;
    dialect_reader *rd; /* NULL for client_call */
    bool ndjson;
    int64_t start_ns;
    int64_t first_byte_ns;
    bool checked; /* status and content type looked at */
    long status;
    bool http_error; /* status >= 300: body is an error message */
    kv_buf body;     /* error body, or the whole client_call response */
    size_t body_max;
    size_t stream_bytes; /* streamed reply bytes fed to the reader */
    size_t stream_max;   /* cut the stream off past this many bytes (0 = no limit) */
    size_t tokens_max;   /* ... or past this many token events (0 = no limit) */
    kv_buf hdrs;         /* response headers (client_call_headers) */
    bool keep_hdrs;
    double retry_after_s; /* -1 none */
    kv_status fail;       /* set by a callback that aborted the transfer */
    char fail_msg[KV_ERRLEN];
} client_xfer;

static void client_xfer_fail(client_xfer *x, kv_status st, const char *msg)
{
    if (x->fail)
        return;
    x->fail = st;
    snprintf(x->fail_msg, sizeof x->fail_msg, "%s", msg);
}

static bool client_ct_ok(const char *ct, bool ndjson)
{
    if (!ct)
        return false;
    if (ndjson)
        return strstr(ct, "ndjson") || strncasecmp(ct, "application/json", 16) == 0 ||
               strstr(ct, "jsonl");
    return strncasecmp(ct, "text/event-stream", 17) == 0;
}

static size_t client_on_header(char *p, size_t size, size_t nmemb, void *ud)
{
    client_xfer *x = ud;
    size_t n = size * nmemb;
    if (!x->first_byte_ns)
        x->first_byte_ns = kv_now_ns();
    if (n >= 12 && strncasecmp(p, "retry-after:", 12) == 0) {
        char tmp[64];
        size_t l = n - 12 < sizeof tmp - 1 ? n - 12 : sizeof tmp - 1;
        memcpy(tmp, p + 12, l);
        tmp[l] = '\0';
        char *end = NULL;
        double v = strtod(tmp, &end);
        if (end != tmp && v >= 0 && isfinite(v))
            x->retry_after_s = v;
    }
    if (n >= 5 && strncmp(p, "HTTP/", 5) == 0)
        kv_buf_reset(&x->hdrs); /* a new response (after 100 Continue) */
    else if (x->keep_hdrs && n > 2 && x->hdrs.len < 65536) {
        size_t l = n;
        while (l && (p[l - 1] == '\r' || p[l - 1] == '\n'))
            l--;
        if (kv_buf_append(&x->hdrs, p, l) != KV_OK || kv_buf_append(&x->hdrs, "\n", 1) != KV_OK)
            return 0;
    }
    return n;
}

static size_t client_on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    client_xfer *x = ud;
    size_t n = size * nmemb;
    int64_t now = kv_now_ns();
    if (!x->first_byte_ns)
        x->first_byte_ns = now;
    if (!x->checked) {
        x->checked = true;
        curl_easy_getinfo(x->c->easy, CURLINFO_RESPONSE_CODE, &x->status);
        x->http_error = x->status >= 300;
        if (!x->http_error && x->rd) {
            const char *ct = NULL;
            curl_easy_getinfo(x->c->easy, CURLINFO_CONTENT_TYPE, &ct);
            if (!client_ct_ok(ct, x->ndjson)) {
                char msg[256], clean[100];
                dialect_sanitize(clean, sizeof clean, ct ? ct : "none", ct ? strlen(ct) : 4);
                snprintf(msg, sizeof msg, "wrong content type '%s' (expected %s)", clean,
                         x->ndjson ? "application/x-ndjson" : "text/event-stream");
                client_xfer_fail(x, KV_ERR_PROTOCOL, msg);
                return 0;
            }
        }
    }
    if (x->http_error || !x->rd) {
        if (x->body.len < x->body_max) {
            size_t take = n < x->body_max - x->body.len ? n : x->body_max - x->body.len;
            if (kv_buf_append(&x->body, p, take) != KV_OK) {
                client_xfer_fail(x, KV_ERR_NOMEM, "out of memory for the response");
                return 0;
            }
        } else if (!x->rd) {
            client_xfer_fail(x, KV_ERR_PROTOCOL, "response larger than the client's limit");
            return 0;
        }
        return n;
    }
    x->stream_bytes += n;
    if (x->stream_max && x->stream_bytes > x->stream_max) {
        char msg[160];
        snprintf(msg, sizeof msg, "reply cut off: more than %zu MiB streamed (the client's limit)",
                 x->stream_max >> 20);
        client_xfer_fail(x, KV_ERR_PROTOCOL, msg);
        return 0;
    }
    char err[KV_ERRLEN];
    err[0] = '\0'; /* per chunk: clear only the first byte, not all KV_ERRLEN */
    kv_status st = dialect_reader_feed(x->rd, p, n, now, err);
    if (st != KV_OK) {
        client_xfer_fail(x, st, err);
        return 0;
    }
    if (x->tokens_max && dialect_reader_tokens(x->rd) > x->tokens_max) {
        char msg[200];
        snprintf(msg, sizeof msg,
                 "reply cut off: more than %zu token events streamed (max_output_tokens %zu)",
                 x->tokens_max, (x->tokens_max - CLIENT_TOKEN_SLACK) / 2);
        client_xfer_fail(x, KV_ERR_PROTOCOL, msg);
        return 0;
    }
    return n;
}

/* Waits up to wait_ms for the watched sockets, then hands libcurl each ready
 * socket with what it is ready for (so libcurl reads it without polling it
 * again), and a timeout action when its timer is due. */
static CURLMcode client_wait(client *c, int wait_ms, int *running)
{
    struct pollfd pf[CLIENT_MAX_SOCKS]; /* a copy: the actions below may change c->socks */
    size_t n = c->n_socks;
    memcpy(pf, c->socks, n * sizeof *pf);
    int r = poll(n ? pf : NULL, (nfds_t)n, wait_ms);
    c->wake_ns = kv_now_ns(); /* also the time libcurl's timer is judged by below */
    if (r < 0 && errno != EINTR)
        return CURLM_INTERNAL_ERROR;
    CURLMcode mc = CURLM_OK;
    for (size_t i = 0; r > 0 && i < n && mc == CURLM_OK; i++) {
        short re = pf[i].revents;
        if (!re)
            continue;
        int ev = ((re & (POLLIN | POLLHUP)) ? CURL_CSELECT_IN : 0) |
                 ((re & POLLOUT) ? CURL_CSELECT_OUT : 0) |
                 ((re & (POLLERR | POLLNVAL)) ? CURL_CSELECT_ERR : 0);
        mc = curl_multi_socket_action(c->multi, pf[i].fd, ev, running);
    }
    if (mc == CURLM_OK && c->timer_set && c->wake_ns >= c->timer_ns) {
        c->timer_set = false;
        mc = curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, running);
    }
    return mc;
}

/* How long to wait for the sockets: until the earliest of libcurl's timer,
 * the deadline `next`, and 100 ms. */
static int client_wait_ms(const client *c, int64_t now, int64_t next)
{
    if (c->timer_set && c->timer_ns < next)
        next = c->timer_ns;
    if (next <= now)
        return 0;
    int64_t ms = (next - now + 999999) / 1000000;
    return ms > 100 ? 100 : (int)ms;
}

/* Whether a deadline has passed at `now`: the first-token one (ft_deadline,
 * 0 = none) while no token has come, else the total one. */
static bool client_deadline_passed(const client_xfer *x, int64_t now, int64_t ft_deadline,
                                   int64_t deadline_ns, bool *ft_timeout, bool *total_timeout)
{
    if (ft_deadline && now >= ft_deadline && x->rd && !dialect_reader_first_token(x->rd, NULL) &&
        !x->http_error)
        *ft_timeout = true;
    else if (now >= deadline_ns)
        *total_timeout = true;
    return *ft_timeout || *total_timeout;
}

/* Runs the easy handle to completion. first_token_s > 0 aborts when no token
 * arrived that long after start; deadline_ns bounds the whole transfer. A
 * client that ran late (not scheduled, or slow in a callback), past the
 * deadline and libcurl's backstop behind it (CURLOPT_TIMEOUT_MS), sees
 * libcurl end the transfer first: that timeout is judged as the deadline
 * it is, so the reason does not depend on how late the client ran. */
static CURLcode client_run(client_xfer *x, double first_token_s, int64_t deadline_ns,
                           bool *ft_timeout, bool *total_timeout)
{
    client *c = x->c;
    CURLcode res = CURLE_OK;
    *ft_timeout = *total_timeout = false;
    c->socks_full = false;
    if (curl_multi_add_handle(c->multi, c->easy) != CURLM_OK)
        return CURLE_FAILED_INIT;
    int running = 1;
    int64_t ft_deadline = first_token_s > 0 ? x->start_ns + (int64_t)(first_token_s * 1e9) : 0;
    c->timer_set = false; /* the action below starts the transfer; libcurl sets the next */
    CURLMcode mc = curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    int64_t now = kv_now_ns(); /* then the stamp client_wait takes when poll returns */
    while (mc == CURLM_OK && running && !c->socks_full) {
        if (client_deadline_passed(x, now, ft_deadline, deadline_ns, ft_timeout, total_timeout))
            break;
        int64_t next = deadline_ns;
        if (ft_deadline && ft_deadline < next && x->rd && !dialect_reader_first_token(x->rd, NULL))
            next = ft_deadline;
        mc = client_wait(c, client_wait_ms(c, now, next), &running);
        now = c->wake_ns;
    }
    if (mc != CURLM_OK || c->socks_full)
        res = CURLE_FAILED_INIT;
    if (!*ft_timeout && !*total_timeout) {
        int left;
        CURLMsg *m;
        while ((m = curl_multi_info_read(c->multi, &left)) != NULL)
            if (m->msg == CURLMSG_DONE && m->easy_handle == c->easy)
                res = m->data.result;
        if (res == CURLE_OPERATION_TIMEDOUT && /* now may be from before the stall */
            client_deadline_passed(x, kv_now_ns(), ft_deadline, deadline_ns, ft_timeout,
                                   total_timeout))
            res = CURLE_OK;
    }
    curl_multi_remove_handle(c->multi, c->easy);
    if (!x->checked)
        curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &x->status);
    return res;
}

/* The CA bundle for TLS: the target's ca_file, else curl's own environment
 * variables (CURL_CA_BUNDLE, then SSL_CERT_FILE); NULL = libcurl's default.
 * Verification itself always stays on. */
static const char *client_ca_file(const spec_target *t)
{
    if (t && t->ca_file && *t->ca_file)
        return t->ca_file;
    static const char *const vars[] = {"CURL_CA_BUNDLE", "SSL_CERT_FILE"};
    for (size_t i = 0; i < 2; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v)
            return v;
    }
    return NULL;
}

static kv_status client_tls(CURL *e, const spec_target *t, char *err)
{
    const char *ca = client_ca_file(t);
    const char *dir = getenv("SSL_CERT_DIR");
    if (curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
        (ca && curl_easy_setopt(e, CURLOPT_CAINFO, ca) != CURLE_OK) ||
        (!ca && dir && *dir && curl_easy_setopt(e, CURLOPT_CAPATH, dir) != CURLE_OK))
        return kv_fail(err, KV_ERR_INTERNAL, "libcurl rejected the TLS options");
    return KV_OK;
}

/* Common easy-handle options. */
static kv_status client_setup(client *c, const spec_target *t, const char *url, const char *body,
                              struct curl_slist *hdrs, double connect_s, int64_t deadline_ns,
                              client_xfer *x, char *err)
{
    CURL *e = c->easy;
    curl_easy_reset(e);
    c->errbuf[0] = '\0';
    int64_t left_ms = (deadline_ns - kv_now_ns()) / 1000000;
    if (left_ms < 1)
        left_ms = 1;
    long cms = connect_s > 0 ? (long)(connect_s * 1000) : 10000;
    if (cms < 1)
        cms = 1;
    if (curl_easy_setopt(e, CURLOPT_URL, url) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->errbuf) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, cms) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)left_ms + 50) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, client_on_body) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_WRITEDATA, x) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, client_on_header) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_HEADERDATA, x) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK)
        return kv_fail(err, KV_ERR_INTERNAL, "libcurl rejected an option");
    if (client_tls(e, t, err) != KV_OK)
        return KV_ERR_INTERNAL;
    if (body &&
        (curl_easy_setopt(e, CURLOPT_POSTFIELDS, body) != CURLE_OK ||
         curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body)) != CURLE_OK))
        return kv_fail(err, KV_ERR_INTERNAL, "libcurl rejected the request body");
    return KV_OK;
}

static kv_status client_url(const spec_target *t, const char *path, kv_buf *url, char *err)
{
    if (!t || !t->base_url || !*t->base_url)
        return kv_fail(err, KV_ERR_INPUT, "target has no base_url");
    size_t bl = strlen(t->base_url);
    while (bl && t->base_url[bl - 1] == '/')
        bl--;
    if (kv_buf_append(url, t->base_url, bl) != KV_OK ||
        kv_buf_append(url, path, strlen(path)) != KV_OK)
        return kv_fail(err, KV_ERR_NOMEM, "out of memory for the URL");
    return KV_OK;
}

/* Whether libcurl's message says it refused the response headers for their
 * size ("Too large response headers", "Avoided giant realloc for header",
 * "Header data size exceeds ..."). */
static bool client_headers_too_large(const char *detail)
{
    char low[CURL_ERROR_SIZE];
    size_t i = 0;
    for (; detail[i] && i + 1 < sizeof low; i++)
        low[i] = (char)tolower((unsigned char)detail[i]);
    low[i] = '\0';
    return strstr(low, "header") &&
           (strstr(low, "too large") || strstr(low, "giant") || strstr(low, "exceeds"));
}

/* Words for a libcurl failure, with the error buffer's detail. */
static kv_status client_curl_reason(client *c, CURLcode res, char *msg, size_t cap)
{
    const char *detail = c->errbuf[0] ? c->errbuf : curl_easy_strerror(res);
    kv_status st = KV_ERR_NET;
    const char *what = "network error";
    if (client_headers_too_large(detail)) {
        snprintf(msg, cap, "response headers too large: libcurl refused them (%s)", detail);
        return KV_ERR_PROTOCOL;
    }
    switch (res) {
    case CURLE_PEER_FAILED_VERIFICATION:
        what = "TLS certificate not trusted (a private CA needs the target's ca_file or "
               "CURL_CA_BUNDLE)";
        break;
    case CURLE_SSL_CACERT_BADFILE:
        what = "cannot use the CA file";
        break;
    case CURLE_SSL_CONNECT_ERROR:
        what = "TLS handshake failed";
        break;
    case CURLE_COULDNT_CONNECT:
        what = "connection refused";
        break;
    case CURLE_OPERATION_TIMEDOUT:
        what = "timeout";
        st = KV_ERR_TIMEOUT;
        break;
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SEND_ERROR:
        what = "connection reset";
        break;
    case CURLE_COULDNT_RESOLVE_HOST:
        what = "could not resolve host";
        break;
    default:
        break;
    }
    snprintf(msg, cap, "%s (%s)", what, detail);
    size_t l = strlen(msg);
    while (l && (msg[l - 1] == '\n' || msg[l - 1] == '\r'))
        msg[--l] = '\0';
    return st;
}

/* ---- one streamed attempt ---------------------------------------------- */

typedef enum client_outcome { CLIENT_DONE, CLIENT_RETRY, CLIENT_FAILED } client_outcome;

/* Where a streamed reply is cut off (see CLIENT_STREAM_MAX). */
static void client_stream_limits(client_xfer *x, long max_output_tokens)
{
    x->stream_max = CLIENT_STREAM_MAX;
    if (max_output_tokens > 0) {
        size_t mo = (size_t)max_output_tokens;
        x->tokens_max = 2 * mo + CLIENT_TOKEN_SLACK;
        x->stream_max += CLIENT_STREAM_PER_TOKEN * mo;
    }
}

typedef struct client_attempt {
    kv_status st;
    char reason[KV_ERRLEN];
    double retry_after_s;
    int http_status;
} client_attempt;

/* A transfer that ended with a libcurl error: its reason, and whether the
 * server never took the request (refused, or closed before any reply byte:
 * restarting, backlog full), so that trying again is safe. */
static client_outcome client_judge_curl(client *c, const client_request *rq, const client_xfer *x,
                                        CURLcode res, client_attempt *a)
{
    a->st = client_curl_reason(c, res, a->reason, sizeof a->reason);
    if (res == CURLE_OPERATION_TIMEDOUT && !x->first_byte_ns && x->status == 0)
        snprintf(a->reason, sizeof a->reason, "connect timeout after %.3g s",
                 rq->timeout_connect_s);
    if (res == CURLE_COULDNT_CONNECT)
        return CLIENT_RETRY;
    if (!x->first_byte_ns && a->st == KV_ERR_NET &&
        (res == CURLE_GOT_NOTHING || res == CURLE_RECV_ERROR || res == CURLE_SEND_ERROR)) {
        char detail[KV_ERRLEN];
        snprintf(detail, sizeof detail, "%s", a->reason);
        snprintf(a->reason, sizeof a->reason, "connection closed before any reply: %.900s", detail);
        return CLIENT_RETRY;
    }
    return CLIENT_FAILED;
}

/* Judges a finished transfer, in this order: a timeout, a stream the client
 * cut off, an HTTP error (429 and 503 are retried), a libcurl error, a
 * stream without its terminator; else the reply is complete and its text
 * goes to *reply. */
static client_outcome client_judge(client *c, const client_request *rq, client_xfer *x,
                                   CURLcode res, bool ft_to, bool total_to, char **reply,
                                   client_attempt *a)
{
    char err[KV_ERRLEN] = "";
    if (ft_to) {
        a->st = KV_ERR_TIMEOUT;
        snprintf(a->reason, sizeof a->reason, "no first token within %.3g s (first-token timeout)",
                 rq->timeout_first_token_s);
    } else if (total_to) {
        a->st = KV_ERR_TIMEOUT;
        snprintf(a->reason, sizeof a->reason, "reply not complete within the total timeout");
    } else if (x->fail) {
        a->st = x->fail;
        snprintf(a->reason, sizeof a->reason, "%s", x->fail_msg);
    } else if (x->http_error || x->status >= 300) {
        char msg[300];
        dialect_error_message(msg, sizeof msg, x->body.data, x->body.len);
        a->st = KV_ERR_HTTP;
        snprintf(a->reason, sizeof a->reason, "HTTP %ld%s%s", x->status, msg[0] ? ": " : "", msg);
        if (x->status == 429 || x->status == 503)
            return CLIENT_RETRY;
    } else if (res != CURLE_OK) {
        return client_judge_curl(c, rq, x, res, a);
    } else if ((a->st = dialect_reader_finish(x->rd, err)) != KV_OK) {
        snprintf(a->reason, sizeof a->reason, "%s", err);
    } else if (reply && (a->st = dialect_reader_take_reply(x->rd, reply, err)) != KV_OK) {
        snprintf(a->reason, sizeof a->reason, "%s", err[0] ? err : kv_strerror(a->st));
    } else {
        return CLIENT_DONE;
    }
    return CLIENT_FAILED;
}

static client_outcome client_attempt_once(client *c, const client_request *rq, const char *url,
                                          const char *body, struct curl_slist *hdrs,
                                          int64_t deadline_ns, trial_request *out, char **reply,
                                          client_attempt *a)
{
    client_xfer x = {.c = c, .ndjson = dialect_is_ndjson(rq->api), .retry_after_s = -1};
    client_outcome oc = CLIENT_FAILED;
    char err[KV_ERRLEN] = "";
    a->st = KV_OK;
    a->reason[0] = '\0';
    a->retry_after_s = -1;
    a->http_status = 0;
    x.body_max = CLIENT_ERRBODY_MAX;
    client_stream_limits(&x, rq->max_output_tokens);
    if ((a->st = dialect_reader_new(rq->api, 0, reply != NULL, &x.rd, err)) != KV_OK)
        goto fail;
    if (c->observe)
        dialect_reader_observe(x.rd, c->observe, c->observe_ctx);
    if ((a->st = client_setup(c, rq->target, url, body, hdrs, rq->timeout_connect_s, deadline_ns,
                              &x, err)) != KV_OK)
        goto fail;
    x.start_ns = kv_now_ns();
    bool ft_to, total_to;
    CURLcode res = client_run(&x, rq->timeout_first_token_s, deadline_ns, &ft_to, &total_to);
    int64_t end_ns = kv_now_ns();
    a->http_status = (int)x.status;
    a->retry_after_s = x.retry_after_s;

    out->http_status = (int)x.status;
    out->ttfb_ms = x.first_byte_ns ? (double)(x.first_byte_ns - x.start_ns) / 1e6 : NAN;
    out->total_ms = (double)(end_ns - x.start_ns) / 1e6;
    if ((a->st = dialect_reader_fill(x.rd, x.start_ns, out, err)) != KV_OK)
        goto fail;
    oc = client_judge(c, rq, &x, res, ft_to, total_to, reply, a);
    goto out;
fail:
    snprintf(a->reason, sizeof a->reason, "%s", err[0] ? err : kv_strerror(a->st));
    oc = CLIENT_FAILED;
out:
    dialect_reader_free(x.rd);
    kv_buf_free(&x.body);
    kv_buf_free(&x.hdrs);
    return oc;
}

static void client_reset_out(trial_request *out)
{
    int turn = out->turn;
    long prefix = out->prefix_tokens;
    free(out->raw);
    memset(out, 0, sizeof *out);
    out->turn = turn;
    out->prefix_tokens = prefix;
    out->prompt_tokens = out->cached_tokens = out->output_tokens = -1;
    out->ttfb_ms = out->ttft_ms = out->first_content_ms = out->last_token_ms = NAN;
    out->total_ms = out->gap_median_ms = out->gap_p99_ms = NAN;
    out->server_prefill_ms = out->server_overhead_us = NAN;
}

/* Copies the reason into dst, cut so that " (after N attempts)" still fits. */
static void client_set_error(char *dst, size_t cap, const char *reason, int attempts)
{
    char suffix[48] = "";
    if (attempts > 1)
        snprintf(suffix, sizeof suffix, " (after %d attempts)", attempts);
    size_t sl = strlen(suffix), rl = strlen(reason);
    if (rl + sl + 1 > cap)
        rl = kv_utf8_cut(reason, rl, cap - sl - 1);
    memcpy(dst, reason, rl);
    memcpy(dst + rl, suffix, sl + 1);
}

/* Adds {"kvproof_attempt_errors":[...]} to out->raw. */
static void client_raw_attempts(trial_request *out, cJSON *errors)
{
    if (!errors || cJSON_GetArraySize(errors) == 0)
        return;
    cJSON *raw = out->raw ? cJSON_Parse(out->raw) : cJSON_CreateObject();
    if (!raw)
        return;
    cJSON *dup = cJSON_Duplicate(errors, 1);
    if (dup)
        cJSON_AddItemToObject(raw, "kvproof_attempt_errors", dup);
    char *text = cJSON_PrintUnformatted(raw);
    if (text) {
        char *copy = strdup(text);
        if (copy) {
            free(out->raw);
            out->raw = copy;
        }
        cJSON_free(text);
    }
    cJSON_Delete(raw);
}

/* The wait before the attempt after attempt k (0-based): the backoff base x
 * 2^k up to the cap, or the server's Retry-After when it gave one (>= 0). */
static double client_retry_wait(const client *c, long k, double retry_after_s)
{
    double wait_s = c->backoff_base_s * pow(2.0, (double)k);
    if (wait_s > c->backoff_cap_s)
        wait_s = c->backoff_cap_s;
    return retry_after_s >= 0 ? retry_after_s : wait_s;
}

/* Counts a wait of wait_s (client_retry_waits) and sleeps until wake_ns. */
static void client_retry_sleep(client *c, double wait_s, int64_t wake_ns)
{
    c->retry_waits++;
    c->retry_wait_s += wait_s;
    kv_sleep_until_ns(wake_ns);
}

/* The attempts of one request: each failed attempt's reason goes to
 * errors; a retryable failure is tried again after the backoff wait, unless
 * that wait would pass the deadline. */
static kv_status client_attempts(client *c, const client_request *rq, const char *url,
                                 const char *body, struct curl_slist *hdrs, int64_t deadline,
                                 long max_attempts, trial_request *out, char **reply,
                                 client_attempt *a, cJSON *errors)
{
    const char *key = client_key(rq->target);
    kv_status st = KV_OK;
    for (long k = 0; k < max_attempts; k++) {
        client_reset_out(out);
        out->attempts = (int)(k + 1);
        client_outcome oc = client_attempt_once(c, rq, url, body, hdrs, deadline, out, reply, a);
        client_scrub_fixed(a->reason, sizeof a->reason, key);
        if (oc == CLIENT_DONE)
            return KV_OK;
        st = a->st;
        cJSON *s = cJSON_CreateString(a->reason);
        if (s)
            cJSON_AddItemToArray(errors, s);
        if (oc != CLIENT_RETRY || k + 1 >= max_attempts)
            break;
        double wait_s = client_retry_wait(c, k, a->retry_after_s);
        int64_t wake = kv_now_ns() + (int64_t)(wait_s * 1e9);
        if (wake >= deadline) {
            size_t l = strlen(a->reason);
            snprintf(a->reason + l, sizeof a->reason - l,
                     "; no retry: the wait of %.3g s would pass the total timeout", wait_s);
            break;
        }
        client_retry_sleep(c, wait_s, wake);
    }
    return st;
}

kv_status client_send(client *c, const client_request *rq, trial_request *out, char **reply,
                      char *err)
{
    kv_status st = KV_OK;
    kv_buf url = {0}, body = {0};
    struct curl_slist *hdrs = NULL;
    cJSON *errors = cJSON_CreateArray();
    client_attempt a = {0};
    const char *key = client_key(rq->target);
    if (reply)
        *reply = NULL;
    client_reset_out(out);
    int64_t t0 = kv_now_ns();
    double total_s = rq->timeout_total_s > 0 ? rq->timeout_total_s : 900;
    int64_t deadline = t0 + (int64_t)(total_s * 1e9);
    long max_attempts = 1 + (rq->retries > 0 ? rq->retries : 0);
    if (max_attempts > CLIENT_MAX_ATTEMPTS)
        max_attempts = CLIENT_MAX_ATTEMPTS;

    if (!errors) {
        st = kv_fail(err, KV_ERR_NOMEM, "out of memory");
        goto done;
    }
    if ((st = client_url(rq->target, dialect_path(rq->api), &url, a.reason)) != KV_OK ||
        (st = dialect_build_request(rq, &body, a.reason)) != KV_OK ||
        (st = client_headers(rq->target, rq->api,
                             dialect_is_ndjson(rq->api) ? "Accept: application/x-ndjson"
                                                        : "Accept: text/event-stream",
                             &hdrs, a.reason)) != KV_OK)
        goto done;

    st = client_attempts(c, rq, url.data, body.data, hdrs, deadline, max_attempts, out, reply, &a,
                         errors);
done:
    if (st != KV_OK) {
        client_scrub_fixed(a.reason, sizeof a.reason, key);
        out->ok = false;
        client_set_error(out->error, sizeof out->error, a.reason, out->attempts);
        client_scrub_fixed(out->error, sizeof out->error, key);
        kv_fail(err, st, "%s", out->error);
        if (reply) {
            free(*reply);
            *reply = NULL;
        }
    } else {
        out->ok = true;
        out->error[0] = '\0';
    }
    client_raw_attempts(out, errors);
    if (client_scrub(&out->raw, key) != KV_OK) {
        free(out->raw); /* cannot be made safe: keep nothing */
        out->raw = NULL;
    }
    cJSON_Delete(errors);
    curl_slist_free_all(hdrs);
    kv_buf_free(&url);
    kv_buf_free(&body);
    return st;
}

/* ---- plain JSON calls ---------------------------------------------------- */

/* Hands the body (and headers) of a finished call to the caller, through
 * the one gate for server bytes (client_scrub). */
static kv_status client_take_reply(client_xfer *x, char **response, char **headers, const char *key,
                                   char *err)
{
    if (kv_buf_append(&x->body, "", 0) != KV_OK ||
        (headers && kv_buf_append(&x->hdrs, "", 0) != KV_OK))
        return kv_fail(err, KV_ERR_NOMEM, "out of memory");
    *response = x->body.data;
    x->body = (kv_buf){0};
    if (headers) {
        *headers = x->hdrs.data;
        x->hdrs = (kv_buf){0};
    }
    if (client_scrub(response, key) != KV_OK || (headers && client_scrub(headers, key) != KV_OK))
        return kv_fail(err, KV_ERR_NOMEM, "out of memory");
    return KV_OK;
}

kv_status client_call_headers(client *c, const spec_target *t, const char *path, const char *body,
                              double timeout_s, int *http_status, char **response, char **headers,
                              char *err)
{
    kv_status st = KV_OK;
    kv_buf url = {0};
    struct curl_slist *hdrs = NULL;
    client_xfer x = {.c = c, .retry_after_s = -1, .body_max = CLIENT_CALL_MAX};
    x.keep_hdrs = headers != NULL;
    const char *key = client_key(t);
    *response = NULL;
    if (headers)
        *headers = NULL;
    *http_status = 0;
    if (timeout_s <= 0)
        timeout_s = 10;
    int64_t deadline = kv_now_ns() + (int64_t)(timeout_s * 1e9);
    if ((st = client_url(t, path, &url, err)) != KV_OK ||
        (st = client_headers(t, t ? t->api : SPEC_API_AUTO, "Accept: application/json", &hdrs,
                             err)) != KV_OK ||
        (st = client_setup(c, t, url.data, body, hdrs, timeout_s, deadline, &x, err)) != KV_OK)
        goto out;
    if (!body)
        curl_easy_setopt(c->easy, CURLOPT_HTTPGET, 1L);
    x.start_ns = kv_now_ns();
    bool ft_to, total_to;
    CURLcode res = client_run(&x, 0, deadline, &ft_to, &total_to);
    char msg[KV_ERRLEN];
    if (total_to) {
        st = kv_fail(err, KV_ERR_TIMEOUT, "%s: no reply within %.3g s", path, timeout_s);
    } else if (x.fail) {
        st = kv_fail(err, x.fail, "%s: %s", path, x.fail_msg);
    } else if (res != CURLE_OK) {
        kv_status cst = client_curl_reason(c, res, msg, sizeof msg);
        client_redact(msg, key);
        st = kv_fail(err, cst, "%s: %s", path, msg);
    } else {
        *http_status = (int)x.status;
        st = client_take_reply(&x, response, headers, key, err);
    }
out:
    if (st != KV_OK && response && *response) {
        free(*response);
        *response = NULL;
    }
    if (st != KV_OK && headers && *headers) {
        free(*headers);
        *headers = NULL;
    }
    curl_slist_free_all(hdrs);
    kv_buf_free(&url);
    kv_buf_free(&x.body);
    kv_buf_free(&x.hdrs);
    return st;
}

kv_status client_call(client *c, const spec_target *t, const char *path, const char *body,
                      double timeout_s, int *http_status, char **response, char *err)
{
    return client_call_headers(c, t, path, body, timeout_s, http_status, response, NULL, err);
}

/* A 2xx reply whose JSON body holds a top-level "error" is an error: LM
 * Studio answers unknown endpoints with HTTP 200 and {"error":"Unexpected
 * endpoint or method. (POST /path)"} (lmstudio-bug-tracker #618, #1323). */
static bool client_error_body(const char *body)
{
    cJSON *j = body ? cJSON_Parse(body) : NULL;
    const cJSON *e = cJSON_IsObject(j) ? cJSON_GetObjectItemCaseSensitive(j, "error") : NULL;
    bool is_error = e && !cJSON_IsNull(e);
    cJSON_Delete(j);
    return is_error;
}

kv_status client_count(client *c, const client_request *rq, long *prompt_tokens, char *err)
{
    client_request q = *rq;
    q.no_stream = true;
    kv_buf body = {0};
    char *resp = NULL;
    int status = 0;
    *prompt_tokens = -1;
    kv_status st = dialect_build_request(&q, &body, err);
    if (st == KV_OK)
        st = client_call(c, q.target, dialect_path(q.api), body.data, q.timeout_total_s, &status,
                         &resp, err);
    if (st == KV_OK && status != 200) {
        char msg[200];
        dialect_error_message(msg, sizeof msg, resp, strlen(resp));
        st = kv_fail(err, KV_ERR_HTTP, "%s (not streamed): HTTP %d: %s", dialect_path(q.api),
                     status, msg);
    }
    if (st == KV_OK)
        st = dialect_count_reply(q.api, resp, strlen(resp), prompt_tokens, err);
    if (st == KV_OK && *prompt_tokens < 0)
        st = kv_fail(err, KV_ERR_UNSUPPORTED,
                     "%s (not streamed): the reply holds no prompt token count",
                     dialect_path(q.api));
    kv_buf_free(&body);
    free(resp);
    return st;
}

kv_status client_tokenize(client *c, const spec_target *t, spec_api api, const char *text,
                          long *n_tokens, char *err)
{
    kv_status st = KV_OK;
    char *req = NULL, *resp = NULL;
    cJSON *o = NULL, *j = NULL;
    int status = 0;
    *n_tokens = -1;
    if (api == SPEC_API_OLLAMA || api == SPEC_API_LMSTUDIO || api == SPEC_API_ANTHROPIC ||
        api == SPEC_API_LMSTUDIO_CHAT)
        return kv_fail(err, KV_ERR_UNSUPPORTED, "%s has no tokenize endpoint", dialect_name(api));
    o = cJSON_CreateObject();
    if (!o)
        goto nomem;
    if (api == SPEC_API_LLAMACPP || api == SPEC_API_LLAMACPP_COMPLETION) {
        if (!cJSON_AddStringToObject(o, "content", text))
            goto nomem;
    } else {
        if ((t->model && !cJSON_AddStringToObject(o, "model", t->model)) ||
            !cJSON_AddStringToObject(o, "prompt", text))
            goto nomem;
    }
    req = cJSON_PrintUnformatted(o);
    if (!req)
        goto nomem;
    st = client_call(c, t, "/tokenize", req, 30, &status, &resp, err);
    if (st != KV_OK)
        goto out;
    if (status == 404 || status == 405 || status == 501 ||
        (status == 200 && client_error_body(resp))) {
        st = kv_fail(err, KV_ERR_UNSUPPORTED, "the server has no /tokenize (HTTP %d)", status);
        goto out;
    }
    if (status != 200) {
        char msg[200];
        dialect_error_message(msg, sizeof msg, resp, strlen(resp));
        st = kv_fail(err, KV_ERR_HTTP, "/tokenize: HTTP %d: %s", status, msg);
        goto out;
    }
    j = cJSON_Parse(resp);
    const cJSON *count = cJSON_GetObjectItemCaseSensitive(j, "count");
    const cJSON *tokens = cJSON_GetObjectItemCaseSensitive(j, "tokens");
    if (cJSON_IsNumber(count) && count->valuedouble >= 0 && count->valuedouble <= 1e15)
        *n_tokens = (long)count->valuedouble;
    else if (cJSON_IsNumber(count))
        st = kv_fail(err, KV_ERR_PROTOCOL, "/tokenize: count out of range");
    else if (cJSON_IsArray(tokens))
        *n_tokens = cJSON_GetArraySize(tokens);
    else
        st = kv_fail(err, KV_ERR_PROTOCOL, "/tokenize: reply has neither count nor tokens");
    goto out;
nomem:
    st = kv_fail(err, KV_ERR_NOMEM, "out of memory");
out:
    cJSON_Delete(j);
    cJSON_Delete(o);
    cJSON_free(req);
    free(resp);
    return st;
}

/* The llama.cpp slots that have served a request (GET /slots entries with
 * an id_task): appended to ids (at most cap); 0 when /slots is off. */
static size_t client_used_slots(client *c, const spec_target *t, long *ids, size_t cap)
{
    int status = 0;
    char *resp = NULL, err[KV_ERRLEN];
    size_t n = 0;
    if (client_call(c, t, "/slots", NULL, 30, &status, &resp, err) != KV_OK)
        return 0;
    cJSON *j = status == 200 ? cJSON_Parse(resp) : NULL;
    const cJSON *it;
    const cJSON *arr = cJSON_IsArray(j) ? j : NULL;
    cJSON_ArrayForEach(it, arr)
    {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "id");
        if (n < cap && cJSON_IsNumber(id) && cJSON_GetObjectItemCaseSensitive(it, "id_task"))
            ids[n++] = (long)id->valuedouble;
    }
    cJSON_Delete(j);
    free(resp);
    return n;
}

/* POSTs one reset path. KV_OK: reset; KV_ERR_UNSUPPORTED: the server has no
 * such endpoint (404, 405, 501, or LM Studio's HTTP 200 error body). */
static kv_status client_reset_one(client *c, const spec_target *t, const char *path, char *err)
{
    int status = 0;
    char *resp = NULL;
    kv_status st = client_call(c, t, path, "{}", 30, &status, &resp, err);
    if (st != KV_OK)
        return st;
    char msg[200];
    dialect_error_message(msg, sizeof msg, resp, strlen(resp));
    bool error_body = client_error_body(resp);
    free(resp);
    if (status >= 200 && status < 300 && !error_body)
        return KV_OK;
    if (status == 404 || status == 405 || status == 501 || (status < 300 && error_body))
        return kv_fail(err, KV_ERR_UNSUPPORTED, "%s: HTTP %d: %s", path, status, msg);
    return kv_fail(err, KV_ERR_HTTP, "%s: HTTP %d: %s", path, status, msg);
}

/* llama.cpp: erase every slot that has served a request (a multi-slot server
 * puts a request in the slot of the longest common prefix, not slot 0), or
 * slot 0 when GET /slots is off. Answers 501 unless llama-server was started
 * with --slot-save-path (tools/server: "This server does not support slots
 * action"). */
static kv_status client_reset_llama(client *c, const spec_target *t, char *err)
{
    long ids[64];
    size_t n = client_used_slots(c, t, ids, sizeof ids / sizeof ids[0]);
    if (n == 0)
        ids[n++] = 0;
    for (size_t i = 0; i < n; i++) {
        char path[64];
        snprintf(path, sizeof path, "/slots/%ld?action=erase", ids[i]);
        kv_status st = client_reset_one(c, t, path, err);
        if (st != KV_OK)
            return st;
    }
    return KV_OK;
}

kv_status client_reset_cache(client *c, const spec_target *t, spec_api api, char *err)
{
    static const char *const oai[] = {"/reset_prefix_cache", "/flush_cache", NULL};
    if (dialect_honours_no_cache(api))
        return client_reset_llama(c, t, err);
    if (api == SPEC_API_SGLANG_GENERATE)
        return client_reset_one(c, t, "/flush_cache", err);
    if (api != SPEC_API_OPENAI_CHAT && api != SPEC_API_OPENAI_COMPLETIONS)
        return kv_fail(err, KV_ERR_UNSUPPORTED, "%s has no cache reset endpoint",
                       dialect_name(api));
    char last[KV_ERRLEN] = "";
    for (size_t i = 0; oai[i]; i++) {
        kv_status st = client_reset_one(c, t, oai[i], err);
        if (st != KV_ERR_UNSUPPORTED)
            return st;
        snprintf(last, sizeof last, "%s", err);
    }
    return kv_fail(err, KV_ERR_UNSUPPORTED, "the server offers no cache reset endpoint (%s)", last);
}
