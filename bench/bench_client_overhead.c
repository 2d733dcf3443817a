/* bench_client_overhead.c - how late kvproof's client sees a token chunk,
 * compared with libcurl alone, `curl -N` and a bare recv loop, against the
 * in-process reference server.
 *
 * The reference server stamps every SSE event with ": kvproof-sent-ns=<ns>"
 * (CLOCK_MONOTONIC, just before writing it). Overhead of a chunk = the
 * receive time minus that stamp, on the same machine and clock:
 *  - kvproof: the client's write callback timestamps each token chunk
 *    (client_observe_stamps); the first-token figure is the runner's
 *    trial_request.server_overhead_us;
 *  - libcurl alone (the floor of any libcurl reader): curl_easy_perform on
 *    one reused handle (HTTP/1.1, keep-alive, chunked), its write callback
 *    timestamping each complete data line, no SSE or JSON parsing;
 *  - curl -N: the benchmark runs `curl -sN` through popen and timestamps each
 *    data line as fgets returns it (curl + pipe + stdio);
 *  - a bare recv loop (the floor): a fresh socket per request, the request
 *    sent with one send, then recv into a buffer, each complete data line
 *    timestamped when the recv that completed it returns (HTTP/1.0, so no
 *    chunk framing); the same over HTTP/1.1 with "Connection: close" (the
 *    server's chunked framing, as libcurl gets it); over HTTP/1.1 waiting in
 *    poll() before each recv, as any event loop does; the same with a 100 ms
 *    poll timeout, as kvproof's deadlines make its waits; the poll loop on
 *    one HTTP/1.1 connection kept alive across requests, as kvproof and
 *    libcurl keep theirs; and that kept loop busy-waiting 20 us before each
 *    request, as a client does that works between requests.
 * Each reader's CPU time per chunk (the reading thread's) is printed too,
 * and for kvproof and the polled loops the chunk's delay is split at the
 * return from poll(): server stamp -> wake-up (the kernel and the scheduler)
 * and wake-up -> timestamp (user space). The server's model costs nothing
 * but a fixed 0.2 ms per output token (and the third phase's prefill), so
 * chunks arrive spaced out rather than in one burst. Prints median and p99
 * in microseconds over >= 10,000 chunks for each, side by side, with ratios;
 * the acceptance figure is kvproof's median first-token overhead after the
 * prefill over the bare recv loop's, measured in the same run (printed
 * beside the same without a prefill and kvproof's over libcurl alone's).
 *
 * Three phases: streams of 500 tokens (every chunk); short requests of 2
 * tokens whose first token follows the headers at once (no prefill: it races
 * the reader's own send path); and the same after a 1 ms modelled prefill,
 * as every real server sends a first token (a cached prefix still takes
 * milliseconds), so that every reader is waiting when it comes. The
 * acceptance figure is taken in that third phase. curl -N runs a tenth as
 * many short requests. Within a phase the readers take turns in ROUNDS
 * rounds, so that each sees the same load on a shared machine.
 *
 * The reading thread asks for the kernel's shortest scheduler slice
 * (common/slice.h), as the runner's workers do; --default-slice keeps the
 * default, for comparison. --busy N spins N threads at the default slice
 * beside the readers (an inference engine's compute threads on every core).
 *
 * What it shows (2-core Firecracker VM, kernel 6.18 with EEVDF, libcurl
 * 7.88; three runs of each at load 0.1-0.7, medians in us):
 *
 *                          short slice          default slice
 *                       chunk  1st  1st+pf    chunk  1st  1st+pf
 *   kvproof (libcurl)   7.1-7.2 16.5-17.2 7.0-7.4  12.7-14.5 16.3-16.6 15.8-15.9
 *   libcurl alone       7.4-7.6 16.2-16.5 7.2-7.5   8.2-8.5  16.0-16.3  8.7-14.9
 *   bare recv loop      5.9-6.0  4.5-4.6  9.2-10.5  6.2-6.3   4.4-4.6   8.2-8.6
 *   kept bare poll loop 6.5-6.6  6.3-7.2  6.2-6.5   6.8-7.5   4.4-4.5   7.6-8.0
 *   (chunk: every chunk of the streams; 1st: first token, no prefill;
 *   1st+pf: first token after the 1 ms prefill)
 *
 * With the short slice kvproof / the bare recv loop is 1.20-1.21 for every
 * chunk and 0.67-0.78 for the first token after the prefill (the acceptance
 * line; 1.10-1.20 against the kept poll loop); with the default slice
 * 1.84-1.94. kvproof is within 0.94-1.04 of libcurl alone everywhere.
 *
 * Why the slice matters: the reader is woken on the server thread's CPU for
 * >95% of chunks (perf sched), and with the default slice it often waits for
 * that thread to block, the more often the more CPU it spent per chunk
 * (kvproof ~6.7 us, libcurl alone ~5.3, bare ~3.3): kvproof's chunks were
 * seen 5-7 us later than libcurl alone's. A short slice lets the woken reader
 * preempt. A cross-CPU wake-up costs ~50 us here (pinning the readers and
 * the server to different CPUs gave ~50 us for every reader).
 *
 * Why the first token without a prefill stays at 3.6-3.8x the bare recv
 * loop: the bare loop blocks in recv right after its send, while in about 2
 * of 3 short requests libcurl reads the headers and the first event inside
 * the curl_multi_socket_action call that sends the request (~42 us on
 * average, counters put in for a run, not kept), so the token waits in the
 * socket while libcurl works. The bare loops' own first token depends on
 * how soon the next request follows the last reply: 4.4-4.5 us at once,
 * 13.4-13.5 us 20 us later (default slice). kvproof's own work, first header callback ->
 * first token callback, is 1.5-1.6 us (printed below). With --busy 2 (two
 * runs each): with the slice kvproof's medians stay at 6.9-7.1 us for every
 * chunk and 7.2 for the first token after the prefill; with the default
 * slice they are 6.8 or 25.7, and 15.5 or 7.7. The p99 are hundreds of us
 * to milliseconds either way, for every reader.
 *
 * usage: bench_client_overhead [chunks] [first-tokens] [--default-slice] [--busy N]
 *        (default 10000 2000)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <time.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>

#include "common/slice.h"
#include "common/util.h"
#include "net/client.h"
#include "server/refsrv.h"

#define TOKENS_PER_REQUEST 500
#define FIRST_TOKENS 2 /* tokens per request of the first-token phase */
#define STR_(x) #x
#define STR(x) STR_(x)
#define DECODE_MS 0.2
#define PREFILL_MS 1.0 /* the third phase's modelled prefill before the first token */
#define ROUNDS 10      /* turns each reader takes within a phase */
#define N_READERS 9
#define KEPT_PAUSE_US 20 /* the paused kept loop's busy wait between requests (above 5 us) */
#define NO_POLL (-2)     /* bare_request's poll_ms: recv without poll */

typedef struct samples {
    double *v;
    size_t n, cap;
} samples;

static void samples_add(samples *s, double x)
{
    if (kv_grow(&s->v, &s->cap, s->n + 1, sizeof *s->v, 1024) != KV_OK)
        return;
    s->v[s->n++] = x;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double quantile(samples *s, double q)
{
    if (!s->n)
        return NAN;
    qsort(s->v, s->n, sizeof *s->v, cmp_double);
    double h = (double)(s->n - 1) * q;
    size_t lo = (size_t)floor(h), hi = lo + 1 < s->n ? lo + 1 : lo;
    return s->v[lo] + (h - (double)lo) * (s->v[hi] - s->v[lo]);
}

/* kvproof's chunks: the delay, and server stamp -> the client's wake-up. */
typedef struct stamp_ctx {
    const client *c;
    samples *all, *wake;
} stamp_ctx;

static void on_stamp(void *ctx, int64_t recv_ns, int64_t sent_ns)
{
    stamp_ctx *k = ctx;
    samples_add(k->all, (double)(recv_ns - sent_ns) / 1e3);
    samples_add(k->wake, (double)(client_wake_ns(k->c) - sent_ns) / 1e3);
}

static const char body_fmt[] =
    "{\"model\":\"kvproof-reference-sim\",\"stream\":true,\"max_tokens\":%d,\"temperature\":0,"
    "\"messages\":[{\"role\":\"system\",\"content\":\"You are a benchmark.\"},"
    "{\"role\":\"user\",\"content\":\"Count slowly.\"}]}";

/* Until `chunks` chunks and `firsts` first tokens were seen. */
static bool enough(const samples *all, long chunks, const samples *first, long firsts)
{
    return (long)all->n >= chunks && (long)first->n >= firsts;
}

/* What a reader without kvproof's parser keeps while reading one reply. */
typedef struct line_state {
    int64_t stamp; /* of the last stamp line, 0 after its data line */
    bool got_first;
    samples *all, *first;
    samples *wake; /* server stamp -> wake-up, or NULL */
} line_state;

/* The complete lines of buf[0..*len): a stamp line remembers its stamp, a
 * data line with content after it is a chunk received at `now`, the reader
 * having woken at wake_ns. Keeps the partial last line at the start of buf. */
static void bare_lines(char *buf, size_t *len, int64_t now, int64_t wake_ns, line_state *ls)
{
    size_t start = 0;
    for (size_t i = 0; i < *len; i++) {
        if (buf[i] != '\n')
            continue;
        buf[i] = '\0';
        const char *line = buf + start;
        if (strncmp(line, ": kvproof-sent-ns=", 18) == 0) {
            ls->stamp = strtoll(line + 18, NULL, 10);
        } else if (strncmp(line, "data: ", 6) == 0 && ls->stamp > 0) {
            if (strstr(line, "\"content\":\"") && !strstr(line, "\"content\":\"\"")) {
                double us = (double)(now - ls->stamp) / 1e3;
                samples_add(ls->all, us);
                if (!ls->got_first)
                    samples_add(ls->first, us);
                ls->got_first = true;
                if (ls->wake)
                    samples_add(ls->wake, (double)(wake_ns - ls->stamp) / 1e3);
            }
            ls->stamp = 0;
        }
        start = i + 1;
    }
    memmove(buf, buf + start, *len - start);
    *len -= start;
}

/* curl -N: one process per request, each data line timestamped on arrival. */
static int run_curl(int port, int tokens, long chunks, long firsts, samples *all, samples *first)
{
    char body[512], cmd[1024];
    snprintf(body, sizeof body, body_fmt, tokens);
    snprintf(cmd, sizeof cmd,
             "curl -sN -H 'Content-Type: application/json' -H 'Expect:' -d '%s' "
             "http://127.0.0.1:%d/v1/chat/completions",
             body, port);
    char *line = malloc(1 << 16);
    if (!line)
        return -1;
    while (!enough(all, chunks, first, firsts)) {
        FILE *p = popen(cmd, "r");
        if (!p) {
            free(line);
            return -1;
        }
        line_state ls = {.all = all, .first = first};
        size_t before = all->n;
        while (fgets(line, 1 << 16, p)) {
            int64_t now = kv_now_ns();
            size_t len = strlen(line);
            bare_lines(line, &len, now, now, &ls);
        }
        if (pclose(p) != 0 || all->n == before) {
            free(line);
            return -1;
        }
    }
    free(line);
    return 0;
}

/* A connected socket to the server (TCP_NODELAY), or -1. */
static int bare_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Whether the bytes seen so far end with the last chunk of a chunked body
 * ("\r\n0\r\n\r\n"); tail keeps the last 7 bytes. */
static bool chunked_end(char tail[8], const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        memmove(tail, tail + 1, 6);
        tail[6] = p[i];
    }
    return memcmp(tail, "\r\n0\r\n\r\n", 7) == 0;
}

/* One request on socket fd: send it, then recv until the server closes, or
 * (kept) until the end of its chunked reply; poll_ms other than NO_POLL
 * waits in poll() with that timeout before each recv, as an event loop does.
 * pause_us > 0 busy-waits that long before sending (a client that works
 * between requests). Returns 0, or -1 when the connection fails. */
static int bare_exchange(int fd, bool kept, int pause_us, const char *req, size_t req_len,
                         char *buf, size_t cap, int poll_ms, line_state *ls)
{
    for (int64_t end = kv_now_ns() + (int64_t)pause_us * 1000; kv_now_ns() < end;)
        ;
    if (send(fd, req, req_len, 0) != (ssize_t)req_len)
        return -1;
    size_t len = 0;
    char tail[8] = "";
    ls->stamp = 0;
    ls->got_first = false;
    for (;;) {
        if (len == cap)
            len = 0; /* a line longer than the buffer: drop it */
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        int r = poll_ms != NO_POLL ? poll(&pf, 1, poll_ms) : 1;
        int64_t wake = kv_now_ns();
        if (r < 0 && errno != EINTR)
            break;
        if (r <= 0)
            continue; /* a timeout (or a signal): wait again */
        ssize_t n = recv(fd, buf + len, cap - len, 0);
        int64_t now = kv_now_ns();
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        bool end = kept && chunked_end(tail, buf + len, (size_t)n);
        len += (size_t)n;
        bare_lines(buf, &len, now, poll_ms != NO_POLL ? wake : now, ls);
        if (end)
            break;
    }
    return ls->got_first ? 0 : -1;
}

/* One request over a fresh socket (bare_exchange until the server closes). */
static int bare_request(int port, const char *req, size_t req_len, char *buf, size_t cap,
                        int poll_ms, line_state *ls)
{
    int fd = bare_connect(port);
    if (fd < 0)
        return -1;
    int rc = bare_exchange(fd, false, 0, req, req_len, buf, cap, poll_ms, ls);
    close(fd);
    return rc;
}

/* The bare recv loop: requests until `chunks` chunks arrived. HTTP/1.0, or
 * HTTP/1.1 with "Connection: close" (the server's chunked framing: its size
 * lines match neither prefix, and each event is one chunk), the latter also
 * with a poll() before each recv (poll_ms, see bare_request); or (kept)
 * HTTP/1.1 on one connection kept alive across the turn's requests, as
 * kvproof and libcurl keep theirs, pause_us apart (bare_exchange). */
static int run_bare(int port, int tokens, long chunks, long firsts, line_state *ls, bool http11,
                    int poll_ms, bool kept, int pause_us)
{
    char body[512], req[1024];
    int bl = snprintf(body, sizeof body, body_fmt, tokens);
    int rl =
        snprintf(req, sizeof req,
                 "POST /v1/chat/completions HTTP/1.%d\r\nHost: 127.0.0.1:%d\r\n%s"
                 "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
                 http11 ? 1 : 0, port, http11 && !kept ? "Connection: close\r\n" : "", bl, body);
    size_t cap = 1 << 16;
    char *buf = malloc(cap);
    if (!buf || rl <= 0 || (size_t)rl >= sizeof req) {
        free(buf);
        return -1;
    }
    int rc = 0, fd = kept ? bare_connect(port) : 0;
    if (fd < 0)
        rc = -1;
    while (rc == 0 && !enough(ls->all, chunks, ls->first, firsts))
        rc = kept ? bare_exchange(fd, true, pause_us, req, (size_t)rl, buf, cap, poll_ms, ls)
                  : bare_request(port, req, (size_t)rl, buf, cap, poll_ms, ls);
    if (kept && fd >= 0)
        close(fd);
    free(buf);
    return rc;
}

/* libcurl alone: the write callback's state. */
typedef struct easy_ctx {
    char *buf;
    size_t len, cap;
    line_state ls;
} easy_ctx;

static size_t easy_on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    easy_ctx *e = ud;
    size_t n = size * nmemb;
    int64_t now = kv_now_ns();
    if (e->len + n > e->cap)
        e->len = 0; /* a line longer than the buffer: drop it */
    if (n > e->cap)
        return n;
    memcpy(e->buf + e->len, p, n);
    e->len += n;
    bare_lines(e->buf, &e->len, now, now, &e->ls);
    return n;
}

/* libcurl alone: curl_easy_perform on one reused handle until enough. */
static int run_easy(CURL *h, int port, int tokens, long chunks, long firsts, samples *all,
                    samples *first)
{
    char body[512], url[64];
    snprintf(body, sizeof body, body_fmt, tokens);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/chat/completions", port);
    struct curl_slist *hd = curl_slist_append(NULL, "Content-Type: application/json");
    struct curl_slist *h2 = hd ? curl_slist_append(hd, "Expect:") : NULL;
    easy_ctx e = {.buf = malloc(1 << 16), .cap = 1 << 16, .ls = {.all = all, .first = first}};
    int rc = h2 && e.buf ? 0 : -1;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, easy_on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &e);
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    while (rc == 0 && !enough(all, chunks, first, firsts)) {
        e.len = 0;
        e.ls.stamp = 0;
        e.ls.got_first = false;
        if (curl_easy_perform(h) != CURLE_OK || !e.ls.got_first)
            rc = -1;
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hd);
    free(e.buf);
    return rc;
}

/* One measurement: each reader's chunk and first-token samples, wall time. */
typedef struct phase {
    samples all[N_READERS], first[N_READERS]; /* in reader_names' order */
    samples wake[N_READERS];                  /* server stamp -> wake-up (kvproof, polled loops) */
    samples hdr; /* kvproof: first header callback -> first token callback */
    double wall_s[N_READERS];
    double cpu_s[N_READERS]; /* the reading thread's CPU time */
} phase;

enum {
    R_KVPROOF,
    R_EASY,
    R_CURL_N,
    R_BARE,
    R_BARE11,
    R_BARE_POLL,
    R_BARE_POLL_MS,
    R_BARE_KEPT,
    R_BARE_KEPT_PAUSED
};
static const char *const reader_names[N_READERS] = {
    "kvproof (libcurl)",     "libcurl alone",        "curl -N | pipe",
    "bare recv loop",        "bare recv, HTTP/1.1",  "bare poll+recv, 1.1",
    "bare poll(100ms)+recv", "bare poll+recv, kept", "kept, 20 us apart"};

/* kvproof's client: requests until enough chunks and first tokens. */
static int run_kvproof(client *c, client_request rq, int tokens, long chunks, long firsts,
                       samples *all, samples *first, samples *wake, samples *hdr, char *err)
{
    rq.max_output_tokens = tokens;
    stamp_ctx k = {c, all, wake};
    client_observe_stamps(c, on_stamp, &k);
    while (!enough(all, chunks, first, firsts)) {
        trial_request tr = {0};
        kv_status st = client_send(c, &rq, &tr, NULL, err);
        if (st == KV_OK && !isnan(tr.server_overhead_us)) {
            samples_add(first, tr.server_overhead_us);
            samples_add(hdr, (tr.ttft_ms - tr.ttfb_ms) * 1e3);
        }
        free(tr.raw);
        if (st != KV_OK)
            break;
    }
    client_observe_stamps(c, NULL, NULL);
    return enough(all, chunks, first, firsts) ? 0 : -1;
}

/* What a phase measures: tokens per request, and how many chunks and first
 * tokens each reader collects (curl -N: curl_firsts, a process per request). */
typedef struct phase_want {
    int tokens;
    long chunks, firsts, curl_firsts;
} phase_want;

/* The calling thread's CPU time (user + system), nanoseconds. */
static int64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The poll timeout of bare reader i (ms), or NO_POLL. */
static int bare_poll_ms(int i)
{
    return i == R_BARE_POLL || i >= R_BARE_KEPT ? -1 : i == R_BARE_POLL_MS ? 100 : NO_POLL;
}

/* Reader i's turn in round r (of ROUNDS): until its share of the phase. */
static int run_turn(int i, int r, client *c, CURL *h, const client_request *rq, int port,
                    const phase_want *w, phase *ph, char *err)
{
    long ch = w->chunks * (r + 1) / ROUNDS, fi = w->firsts * (r + 1) / ROUNDS;
    samples *all = &ph->all[i], *first = &ph->first[i];
    line_state ls = {.all = all, .first = first};
    if (bare_poll_ms(i) != NO_POLL)
        ls.wake = &ph->wake[i];
    int64_t t0 = kv_now_ns(), c0 = thread_cpu_ns();
    int rc = 0;
    if (i == R_KVPROOF)
        rc = run_kvproof(c, *rq, w->tokens, ch, fi, all, first, &ph->wake[i], &ph->hdr, err);
    else if (i == R_EASY && (rc = run_easy(h, port, w->tokens, ch, fi, all, first)) != 0)
        snprintf(err, KV_ERRLEN, "the libcurl-alone reader failed");
    else if (i == R_CURL_N && (rc = run_curl(port, w->tokens, ch, w->curl_firsts * (r + 1) / ROUNDS,
                                             all, first)) != 0)
        snprintf(err, KV_ERRLEN, "curl -N failed (is curl installed?)");
    else if (i >= R_BARE &&
             (rc = run_bare(port, w->tokens, ch, fi, &ls, i != R_BARE, bare_poll_ms(i),
                            i >= R_BARE_KEPT, i == R_BARE_KEPT_PAUSED ? KEPT_PAUSE_US : 0)) != 0)
        snprintf(err, KV_ERRLEN, "the bare recv loop failed");
    ph->wall_s[i] += (double)(kv_now_ns() - t0) / 1e9;
    ph->cpu_s[i] += (double)(thread_cpu_ns() - c0) / 1e9;
    return rc;
}

/* The readers take turns, ROUNDS rounds, so a shared machine's load falls on
 * all of them alike. */
static int run_phase(client *c, CURL *h, const client_request *rq, int port, const phase_want *w,
                     phase *ph, char *err)
{
    for (int r = 0; r < ROUNDS; r++)
        for (int i = 0; i < N_READERS; i++)
            if (run_turn(i, r, c, h, rq, port, w, ph, err) != 0)
                return -1;
    return 0;
}

static void phase_print(phase *ph, const char *what)
{
    printf("%s\n", what);
    printf("%-22s %7s %9s %9s %8s %12s %12s %7s %8s %8s\n", "reader", "chunks", "median us",
           "p99 us", "requests", "first med us", "first p99 us", "wall s", "cpu us", "wake us");
    for (int i = 0; i < N_READERS; i++) {
        samples *a = &ph->all[i], *f = &ph->first[i];
        double cpu_us = a->n ? ph->cpu_s[i] * 1e6 / (double)a->n : NAN;
        printf("%-22s %7zu %9.1f %9.1f %8zu %12.1f %12.1f %7.2f %8.1f %8.1f\n", reader_names[i],
               a->n, quantile(a, 0.5), quantile(a, 0.99), f->n, quantile(f, 0.5), quantile(f, 0.99),
               ph->wall_s[i], cpu_us, quantile(&ph->wake[i], 0.5));
    }
    printf("(cpu us: the reading thread's CPU time per chunk; wake us: median server stamp ->\n"
           " return from poll, the rest of the median being user space up to the timestamp)\n\n");
}

/* kvproof's median first token over reader o's in phase ph. */
static double first_ratio(phase *ph, int o)
{
    return quantile(&ph->first[R_KVPROOF], 0.5) / quantile(&ph->first[o], 0.5);
}

/* kvproof's medians and p99 over reader o's: chunks, first tokens without
 * and after the prefill. */
static void print_ratios(phase *stream, phase *first, phase *prefilled, int o)
{
    printf("ratio kvproof / %s: chunk median %.2f, p99 %.2f; first token median %.2f, after a "
           "prefill %.2f\n",
           reader_names[o], quantile(&stream->all[R_KVPROOF], 0.5) / quantile(&stream->all[o], 0.5),
           quantile(&stream->all[R_KVPROOF], 0.99) / quantile(&stream->all[o], 0.99),
           first_ratio(first, o), first_ratio(prefilled, o));
}

static void phase_free(phase *ph)
{
    for (int i = 0; i < N_READERS; i++) {
        free(ph->all[i].v);
        free(ph->first[i].v);
        free(ph->wake[i].v);
    }
    free(ph->hdr.v);
}

/* One in-process reference server and the request kvproof sends it. */
typedef struct bench_srv {
    refsrv *srv;
    int port;
    char url[64];
    spec_target t;
    client_request rq;
} bench_srv;

static char target_name[] = "bench", target_model[] = "kvproof-reference-sim";
static client_message bench_msgs[] = {{"system", "You are a benchmark."},
                                      {"user", "Count slowly."}};

/* Starts a vLLM-dialect server: prefill_ms before the first token, then
 * DECODE_MS per token, no noise. */
static kv_status bench_srv_start(bench_srv *b, double prefill_ms, char *err)
{
    refsrv_config cfg;
    refsrv_config_default(&cfg);
    cfg.dialect = REFSRV_VLLM;
    cfg.cost = (costmodel_params){.a = prefill_ms, .d0 = DECODE_MS, .time_scale = 1.0};
    cfg.reply_tokens = TOKENS_PER_REQUEST;
    kv_status st = refsrv_start(&cfg, &b->srv, err);
    if (st != KV_OK)
        return st;
    b->port = refsrv_port(b->srv);
    snprintf(b->url, sizeof b->url, "http://127.0.0.1:%d", b->port);
    b->t = (spec_target){.name = target_name,
                         .base_url = b->url,
                         .api = SPEC_API_OPENAI_CHAT,
                         .model = target_model};
    b->rq = (client_request){.target = &b->t,
                             .api = SPEC_API_OPENAI_CHAT,
                             .messages = bench_msgs,
                             .n_messages = 2,
                             .timeout_connect_s = 5,
                             .timeout_first_token_s = 30,
                             .timeout_total_s = 60};
    return KV_OK;
}

static void print_results(phase *stream, phase *first, phase *prefilled, const char *sl, int busy)
{
    printf("client overhead: token chunk receive time - reference server send stamp\n");
    printf("(vLLM dialect, %.1f ms per token, same CLOCK_MONOTONIC, %d rounds;\n"
           " the reading thread: %s; %d spinning threads beside it)\n\n",
           DECODE_MS, ROUNDS, sl, busy);
    phase_print(stream, "streams of " STR(TOKENS_PER_REQUEST) " tokens: every chunk");
    phase_print(first, "requests of " STR(FIRST_TOKENS) " tokens: the first token, no prefill");
    phase_print(prefilled, "requests of " STR(FIRST_TOKENS) " tokens: the first token after a "
                                                            "1 ms prefill");
    for (int o = R_EASY; o < N_READERS; o++)
        print_ratios(stream, first, prefilled, o);
    printf("kvproof, first header callback -> first token callback: median %.1f us, p99 %.1f us "
           "(no prefill)\n",
           quantile(&first->hdr, 0.5), quantile(&first->hdr, 0.99));
    printf("acceptance (at most 1.2): kvproof / bare recv loop, first token after a 1 ms prefill, "
           "median %.2f\n(without a prefill %.2f; kvproof / libcurl alone %.2f and %.2f)\n",
           first_ratio(prefilled, R_BARE), first_ratio(first, R_BARE),
           first_ratio(prefilled, R_EASY), first_ratio(first, R_EASY));
}

/* Threads that spin at the default slice while the readers run, as an
 * inference engine's compute threads keep every core busy. */
static atomic_bool busy_quit;

static void *busy_main(void *arg)
{
    (void)arg;
    volatile uint64_t x = 0;
    while (!atomic_load_explicit(&busy_quit, memory_order_relaxed))
        x++;
    return NULL;
}

/* The command line: [chunks] [first-tokens] [--default-slice] [--busy N]. */
typedef struct bench_args {
    long chunks, firsts;
    bool default_slice; /* the reading thread keeps the kernel's default slice */
    int busy;           /* spinning threads beside the readers */
} bench_args;

static void parse_args(int argc, char **argv, bench_args *a)
{
    long v[2] = {10000, 2000};
    int k = 0;
    a->default_slice = false;
    a->busy = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--default-slice") == 0)
            a->default_slice = true;
        else if (strcmp(argv[i], "--busy") == 0 && i + 1 < argc)
            a->busy = (int)strtol(argv[++i], NULL, 10);
        else if (k < 2) {
            long x = strtol(argv[i], NULL, 10);
            if (x >= 1)
                v[k] = x;
            k++;
        }
    }
    a->chunks = v[0];
    a->firsts = v[1];
    if (a->busy < 0 || a->busy > 16)
        a->busy = 0;
}

int main(int argc, char **argv)
{
    bench_args a;
    parse_args(argc, argv, &a);
    pthread_t busy[16];
    int n_busy = 0;
    char err[KV_ERRLEN] = "";
    bench_srv plain = {0}, slow = {0};
    client *c = NULL;
    CURL *h = NULL;
    phase stream, first, prefilled;
    memset(&stream, 0, sizeof stream);
    memset(&first, 0, sizeof first);
    memset(&prefilled, 0, sizeof prefilled);
    int rc = 1;
    if (bench_srv_start(&plain, 0, err) != KV_OK ||
        bench_srv_start(&slow, PREFILL_MS, err) != KV_OK || client_new(&c, err) != KV_OK)
        goto out;
    if (!(h = curl_easy_init())) {
        snprintf(err, KV_ERRLEN, "curl_easy_init failed");
        goto out;
    }
    /* Threads inherit the slice: the servers' and the spinners' start before
     * the readers' thread asks, as the runner's workers do, so they keep the
     * default. */
    while (n_busy < a.busy && pthread_create(&busy[n_busy], NULL, busy_main, NULL) == 0)
        n_busy++;
    const char *sl = a.default_slice ? "kernel default slice (--default-slice)"
                                     : slice_state_text(slice_request_short());
    phase_want ws = {TOKENS_PER_REQUEST, a.chunks, 0, 0};
    phase_want wf = {FIRST_TOKENS, 0, a.firsts, a.firsts / 10};
    if (run_phase(c, h, &plain.rq, plain.port, &ws, &stream, err) != 0 ||
        run_phase(c, h, &plain.rq, plain.port, &wf, &first, err) != 0 ||
        run_phase(c, h, &slow.rq, slow.port, &wf, &prefilled, err) != 0)
        goto out;
    print_results(&stream, &first, &prefilled, sl, n_busy);
    rc = 0;
out:
    atomic_store(&busy_quit, true);
    for (int i = 0; i < n_busy; i++)
        pthread_join(busy[i], NULL);
    if (rc != 0)
        fprintf(stderr, "bench_client_overhead: %s\n", err);
    if (h)
        curl_easy_cleanup(h);
    client_free(c);
    refsrv_stop(plain.srv);
    refsrv_stop(slow.srv);
    phase_free(&stream);
    phase_free(&first);
    phase_free(&prefilled);
    return rc;
}
