/* bench_client_overhead.c - how late kvproof's client sees a token chunk,
 * compared with `curl -N`, against the in-process reference server.
 *
 * The reference server stamps every SSE event with ": kvproof-sent-ns=<ns>"
 * (CLOCK_MONOTONIC, just before writing it). Overhead of a chunk = the
 * receive time minus that stamp, on the same machine and clock:
 *  - kvproof: the client's write callback timestamps each token chunk
 *    (client_observe_stamps); the first-token figure is the runner's
 *    trial_request.server_overhead_us;
 *  - curl -N: the benchmark runs `curl -sN` through popen and timestamps each
 *    data line as fgets returns it (curl + pipe + stdio).
 * The server's model costs nothing but a fixed 0.2 ms per output token, so
 * chunks arrive spaced out rather than in one burst. Prints median and p99 in
 * microseconds over >= 10,000 chunks for each, side by side, with ratios.
 *
 * usage: bench_client_overhead [chunks]   (default 10000)
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "experiments/client.h"
#include "server/refsrv.h"

#define TOKENS_PER_REQUEST 500
#define DECODE_MS 0.2

typedef struct samples {
    double *v;
    size_t n, cap;
} samples;

static void samples_add(samples *s, double x)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        double *p = realloc(s->v, cap * sizeof *p);
        if (!p)
            return;
        s->v = p;
        s->cap = cap;
    }
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

static void on_stamp(void *ctx, int64_t recv_ns, int64_t sent_ns)
{
    samples_add(ctx, (double)(recv_ns - sent_ns) / 1e3);
}

static const char body_fmt[] =
    "{\"model\":\"kvproof-reference-sim\",\"stream\":true,\"max_tokens\":%d,\"temperature\":0,"
    "\"messages\":[{\"role\":\"system\",\"content\":\"You are a benchmark.\"},"
    "{\"role\":\"user\",\"content\":\"Count slowly.\"}]}";

/* curl -N: one process per request, each data line timestamped on arrival. */
static int run_curl(int port, long chunks, samples *all, samples *first)
{
    char body[512], cmd[1024];
    snprintf(body, sizeof body, body_fmt, TOKENS_PER_REQUEST);
    snprintf(cmd, sizeof cmd,
             "curl -sN -H 'Content-Type: application/json' -H 'Expect:' -d '%s' "
             "http://127.0.0.1:%d/v1/chat/completions",
             body, port);
    char *line = malloc(1 << 16);
    if (!line)
        return -1;
    while ((long)all->n < chunks) {
        FILE *p = popen(cmd, "r");
        if (!p) {
            free(line);
            return -1;
        }
        int64_t stamp = 0;
        bool got_first = false;
        size_t before = all->n;
        while (fgets(line, 1 << 16, p)) {
            int64_t now = kv_now_ns();
            if (strncmp(line, ": kvproof-sent-ns=", 18) == 0) {
                stamp = strtoll(line + 18, NULL, 10);
            } else if (strncmp(line, "data: ", 6) == 0 && stamp > 0) {
                if (strstr(line, "\"content\":\"") && !strstr(line, "\"content\":\"\"")) {
                    double us = (double)(now - stamp) / 1e3;
                    samples_add(all, us);
                    if (!got_first)
                        samples_add(first, us);
                    got_first = true;
                }
                stamp = 0;
            }
        }
        if (pclose(p) != 0 || all->n == before) {
            free(line);
            return -1;
        }
    }
    free(line);
    return 0;
}

int main(int argc, char **argv)
{
    long chunks = argc > 1 ? strtol(argv[1], NULL, 10) : 10000;
    if (chunks < 1)
        chunks = 10000;
    char err[KV_ERRLEN] = "";
    refsrv_config cfg;
    refsrv_config_default(&cfg);
    cfg.dialect = REFSRV_VLLM;
    cfg.cost = (cost_params){.d0 = DECODE_MS, .time_scale = 1.0};
    cfg.reply_tokens = TOKENS_PER_REQUEST;
    refsrv *srv = NULL;
    client *c = NULL;
    samples k_all = {0}, k_first = {0}, c_all = {0}, c_first = {0};
    int rc = 1;
    if (refsrv_start(&cfg, &srv, err) != KV_OK || client_new(&c, err) != KV_OK) {
        fprintf(stderr, "bench_client_overhead: %s\n", err);
        goto out;
    }
    int port = refsrv_port(srv);
    char name[] = "bench", model[] = "kvproof-reference-sim", url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    spec_target t = {.name = name, .base_url = url, .api = SPEC_API_OPENAI_CHAT, .model = model};
    client_message msgs[] = {{"system", "You are a benchmark."}, {"user", "Count slowly."}};
    client_request rq = {.target = &t,
                         .api = SPEC_API_OPENAI_CHAT,
                         .messages = msgs,
                         .n_messages = 2,
                         .max_output_tokens = TOKENS_PER_REQUEST,
                         .timeout_connect_s = 5,
                         .timeout_first_token_s = 30,
                         .timeout_total_s = 60};
    client_observe_stamps(c, on_stamp, &k_all);
    int64_t t0 = kv_now_ns();
    long requests = 0;
    while ((long)k_all.n < chunks) {
        trial_request tr = {0};
        if (client_send(c, &rq, &tr, NULL, err) != KV_OK) {
            fprintf(stderr, "bench_client_overhead: kvproof client: %s\n", err);
            free(tr.raw);
            goto out;
        }
        if (!isnan(tr.server_overhead_us))
            samples_add(&k_first, tr.server_overhead_us);
        free(tr.raw);
        requests++;
    }
    double k_s = (double)(kv_now_ns() - t0) / 1e9;
    t0 = kv_now_ns();
    if (run_curl(port, chunks, &c_all, &c_first) != 0) {
        fprintf(stderr, "bench_client_overhead: curl -N failed (is curl installed?)\n");
        goto out;
    }
    double c_s = (double)(kv_now_ns() - t0) / 1e9;

    double km = quantile(&k_all, 0.5), kp = quantile(&k_all, 0.99);
    double cm = quantile(&c_all, 0.5), cp = quantile(&c_all, 0.99);
    double kfm = quantile(&k_first, 0.5), cfm = quantile(&c_first, 0.5);
    printf("client overhead: token chunk receive time - reference server send stamp\n");
    printf("(vLLM dialect, %d tokens per request, %.1f ms per token, same CLOCK_MONOTONIC)\n\n",
           TOKENS_PER_REQUEST, DECODE_MS);
    printf("%-22s %10s %12s %12s %18s %9s\n", "reader", "chunks", "median us", "p99 us",
           "first-token med us", "wall s");
    printf("%-22s %10zu %12.1f %12.1f %18.1f %9.2f\n", "kvproof (libcurl)", k_all.n, km, kp, kfm,
           k_s);
    printf("%-22s %10zu %12.1f %12.1f %18.1f %9.2f\n", "curl -N | pipe", c_all.n, cm, cp, cfm, c_s);
    printf("\nratio kvproof / curl -N: median %.2f, p99 %.2f (first token over %zu and %zu "
           "requests)\n",
           km / cm, kp / cp, k_first.n, c_first.n);
    (void)requests;
    rc = 0;
out:
    client_free(c);
    refsrv_stop(srv);
    free(k_all.v);
    free(k_first.v);
    free(c_all.v);
    free(c_first.v);
    return rc;
}
