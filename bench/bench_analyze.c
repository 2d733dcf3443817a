/* bench_analyze.c - how `kvproof analyze` scales: journals of 10^3 .. 10^6
 * runner-shaped trials (10 cells: 5 system prompt lengths x cold/warm, times
 * a + bN + cN^2 with lognormal noise, warm trials reusing the prefix) are
 * written to DIR, and for each the program times results.json alone (the
 * analysis stage in-process: results_from_journal), `kvproof analyze`
 * (results.json and report.pdf) and, as the floor, merely parsing every
 * line of the same journal with cJSON. Each runs in a child process: wall seconds and
 * the child's peak RSS (wait4). Prints the table and the growth exponents
 * (log-log slope from 10^4 to the largest size). A program, not a test.
 *
 * Usage: bench_analyze [--kvproof PATH] [--max N] [--keep] [DIR]
 *   PATH default: kvproof next to this program; N default 1000000;
 *   DIR default /tmp (journals in DIR/kvproof-bench-analyze-<n>/). */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "common/util.h"
#include "experiments/journal.h"
#include "experiments/plan.h"
#include "experiments/spec.h"
#include "stats/results.h"

#define BENCH_SPEC                                                                                 \
    "{\"name\":\"bench-analyze\",\"seed\":3,\"targets\":[{\"name\":\"reference\","                 \
    "\"base_url\":\"http://127.0.0.1:8080\",\"api\":\"openai-chat\",\"model\":\"m\"}],"            \
    "\"workload\":{\"system_prompt_tokens\":[0,550,2048,8192,18490],\"query_tokens\":[25],"        \
    "\"max_output_tokens\":8},\"cache_modes\":[\"cold\",\"warm\"],\"repetitions\":%zu,"            \
    "\"warmup_requests\":0,\"order\":\"random\",\"hypotheses\":["                                  \
    "{\"id\":\"H1\",\"metric\":\"overhead_fraction\",\"at_system_prompt_tokens\":18490,"           \
    "\"min\":0.7},{\"id\":\"H2\",\"metric\":\"speedup\",\"at_system_prompt_tokens\":18490,"        \
    "\"min\":5}]}"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* One trial's times: cold prefills every prompt token, warm only the query. */
static void fill_turn(trial_request *q, const plan_trial *pt, gsl_rng *g)
{
    long n = pt->system_prompt_tokens + pt->query_tokens;
    long fresh = pt->mode == SPEC_WARM ? pt->query_tokens : n;
    double dn = (double)fresh;
    double ttft = (8.0 + 0.05 * dn + 2e-6 * dn * dn) * exp(gsl_ran_gaussian(g, 0.08));
    memset(q, 0, sizeof *q);
    q->turn = 1;
    q->attempts = 1;
    q->ok = true;
    q->http_status = 200;
    q->prompt_tokens = n;
    q->cached_tokens = n - fresh;
    q->prefix_tokens = pt->mode == SPEC_WARM ? pt->system_prompt_tokens : 0;
    q->output_tokens = 8;
    q->cache_state = TRIAL_CACHE_VERIFIED;
    q->ttfb_ms = ttft * 0.99;
    q->ttft_ms = ttft;
    q->first_content_ms = ttft;
    q->last_token_ms = ttft + 7 * 4.0;
    q->total_ms = ttft + 7 * 4.0 + 0.5;
    q->gap_median_ms = 4.0;
    q->gap_p99_ms = 4.6;
    q->server_prefill_ms = ttft * 0.95;
    q->server_overhead_us = NAN;
}

static kv_status header_of(const spec *s, const plan *p, journal_header *h)
{
    memset(h, 0, sizeof *h);
    h->kvproof_version = strdup("bench");
    h->spec_name = strdup(s->name);
    h->spec_path = strdup("bench-analyze.json");
    h->spec_json = strdup(s->canonical);
    h->spec_hash = s->hash;
    h->seed = s->seed;
    h->planned_trials = p->n_trials;
    h->created_unix = 1764547200;
    h->client_host = strdup("bench; synthetic; Linux");
    h->targets = calloc(1, sizeof *h->targets);
    if (!h->targets)
        return KV_ERR_NOMEM;
    h->n_targets = 1;
    h->targets[0].name = strdup("reference");
    h->targets[0].base_url = strdup("http://127.0.0.1:8080");
    h->targets[0].dialect = strdup("kvproof-reference");
    h->targets[0].model = strdup("m");
    h->targets[0].simulated = true;
    return KV_OK;
}

static kv_status write_trials(FILE *f, const plan *p, kv_buf *b, char *err)
{
    gsl_rng *g = gsl_rng_alloc(gsl_rng_mt19937);
    trial_request q;
    kv_status st = KV_OK;
    for (size_t i = 0; st == KV_OK && i < p->n_trials; i++) {
        const plan_trial *pt = &p->trials[i];
        trial_record t;
        memset(&t, 0, sizeof t);
        t.plan_index = pt->index;
        snprintf(t.id, sizeof t.id, "%s", pt->id);
        t.kind = pt->kind;
        snprintf(t.target_name, sizeof t.target_name, "reference");
        t.cell = pt->cell;
        t.system_prompt_tokens = pt->system_prompt_tokens;
        t.query_tokens = pt->query_tokens;
        t.query_count = pt->query_count;
        t.mode = pt->mode;
        t.repetition = pt->repetition;
        t.run_position = i;
        t.started_unix = 1764547200.0 + (double)i * 0.001;
        t.ok = true;
        fill_turn(&q, pt, g);
        t.turns = &q;
        t.n_turns = 1;
        b->len = 0;
        st = journal_trial_to_json(&t, b, err);
        if (st == KV_OK && (fwrite(b->data, 1, b->len, f) != b->len || fputc('\n', f) == EOF))
            st = kv_fail(err, KV_ERR_IO, "write failed");
    }
    gsl_rng_free(g);
    return st;
}

/* Writes path: a journal of about n measured trials (n / 10 repetitions). */
static kv_status journal_make(const char *path, size_t n, char *err)
{
    char text[2048];
    snprintf(text, sizeof text, BENCH_SPEC, n / 10 ? n / 10 : 1);
    spec *s = NULL;
    plan *p = NULL;
    journal_header h;
    memset(&h, 0, sizeof h);
    kv_buf b = {0};
    FILE *f = NULL;
    kv_status st = spec_parse(text, strlen(text), "bench spec", &s, err);
    if (st == KV_OK)
        st = plan_build(s, s->seed, &p, err);
    if (st == KV_OK && header_of(s, p, &h) != KV_OK)
        st = kv_fail(err, KV_ERR_NOMEM, "out of memory");
    if (st == KV_OK)
        st = journal_header_to_json(&h, &b, err);
    if (st == KV_OK && !(f = fopen(path, "w")))
        st = kv_fail(err, KV_ERR_IO, "%s: cannot create", path);
    if (st == KV_OK && (fwrite(b.data, 1, b.len, f) != b.len || fputc('\n', f) == EOF))
        st = kv_fail(err, KV_ERR_IO, "%s: write failed", path);
    if (st == KV_OK)
        st = write_trials(f, p, &b, err);
    /* on disk before anything is timed: writeback of 771 MB would otherwise
     * run beside the first measurements */
    if (f && st == KV_OK && (fflush(f) != 0 || fsync(fileno(f)) != 0))
        st = kv_fail(err, KV_ERR_IO, "%s: write failed", path);
    if (f && fclose(f) != 0 && st == KV_OK)
        st = kv_fail(err, KV_ERR_IO, "%s: write failed", path);
    free(b.data);
    journal_header_clear(&h);
    plan_free(p);
    spec_free(s);
    return st;
}

/* The floor: every line read and parsed with cJSON, then freed. */
static int parse_only(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 1;
    char *line = NULL;
    size_t cap = 0, lines = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) > 0) {
        cJSON *o = cJSON_ParseWithLength(line, (size_t)len);
        lines += o != NULL;
        cJSON_Delete(o);
    }
    free(line);
    fclose(f);
    return lines > 0 ? 0 : 1;
}

typedef struct bench_run {
    double seconds;
    double peak_mb;
    int status;
} bench_run;

/* results.json alone (no report): the analysis stage in-process, as
 * `kvproof analyze` computes it (journal columns, statistics, writer). */
static int results_only(const char *path, const char *out)
{
    gsl_set_error_handler_off();
    char err[KV_ERRLEN] = "";
    kv_status st = results_from_journal(path, out, NULL, err);
    if (st != KV_OK)
        fprintf(stderr, "bench_analyze: results: %s\n", err);
    return st == KV_OK ? 0 : 1;
}

/* Runs argv in a child, or without argv parse_only(path) (out NULL) or
 * results_only(path, out); the command's stderr goes to log (argv only). */
static bench_run child_run(char *const *argv, const char *path, const char *out, const char *log)
{
    bench_run r = {NAN, NAN, -1};
    fflush(stdout);
    double t0 = now_s();
    pid_t pid = fork();
    if (pid == 0) {
        if (!argv)
            _exit(out ? results_only(path, out) : parse_only(path));
        if (!freopen("/dev/null", "w", stdout) || !freopen(log, "w", stderr))
            _exit(126);
        execv(argv[0], argv);
        _exit(127);
    }
    int wst = 0;
    struct rusage ru;
    if (pid < 0 || wait4(pid, &wst, 0, &ru) != pid)
        return r;
    r.seconds = now_s() - t0;
    r.peak_mb = (double)ru.ru_maxrss / 1024.0;
    r.status = WIFEXITED(wst) ? WEXITSTATUS(wst) : 128 + WTERMSIG(wst);
    return r;
}

static double file_mb(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (double)sb.st_size / 1e6 : NAN;
}

typedef struct bench_opts {
    char kvproof[1024];
    const char *dir;
    size_t max;
    bool keep;
} bench_opts;

static int bench_opts_parse(int argc, char **argv, bench_opts *o)
{
    memset(o, 0, sizeof *o);
    o->dir = "/tmp";
    o->max = 1000000;
    snprintf(o->kvproof, sizeof o->kvproof, "%s", argv[0]);
    char *slash = strrchr(o->kvproof, '/');
    snprintf(slash ? slash + 1 : o->kvproof,
             sizeof o->kvproof - (size_t)(slash ? slash + 1 - o->kvproof : 0), "kvproof");
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--kvproof") == 0 && i + 1 < argc)
            snprintf(o->kvproof, sizeof o->kvproof, "%s", argv[++i]);
        else if (strcmp(argv[i], "--max") == 0 && i + 1 < argc)
            o->max = (size_t)strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--keep") == 0)
            o->keep = true;
        else if (argv[i][0] != '-')
            o->dir = argv[i];
        else {
            fprintf(stderr, "usage: bench_analyze [--kvproof PATH] [--max N] [--keep] [DIR]\n");
            return 2;
        }
    }
    return 0;
}

/* One size: journal written, parse floor, results.json alone and analyze
 * (results.json + report.pdf) timed; row printed. */
static int bench_size(const bench_opts *o, size_t n, bench_run *an, bench_run *pa, bench_run *rs)
{
    char dir[1200], path[1300], res[1300], only[1300], err[KV_ERRLEN] = "";
    snprintf(dir, sizeof dir, "%s/kvproof-bench-analyze-%zu", o->dir, n);
    snprintf(path, sizeof path, "%s/journal.jsonl", dir);
    snprintf(res, sizeof res, "%s/results.json", dir);
    if (kv_mkdirs(dir, err) != KV_OK || journal_make(path, n, err) != KV_OK) {
        fprintf(stderr, "bench_analyze: %s\n", err);
        return 1;
    }
    *pa = child_run(NULL, path, NULL, NULL);
    snprintf(only, sizeof only, "%s/results-only.json", dir);
    *rs = child_run(NULL, path, only, NULL);
    unlink(only);
    snprintf(only, sizeof only, "%s/results-only.points.csv", dir);
    unlink(only);
    char exe[1024], cmd[] = "analyze", out[] = "--out";
    snprintf(exe, sizeof exe, "%s", o->kvproof);
    char *argv[] = {exe, cmd, path, out, dir, NULL};
    char log[1300];
    snprintf(log, sizeof log, "%s/analyze.log", dir);
    *an = child_run(argv, NULL, NULL, log);
    printf("%9zu  %8.2f  %8.1f  %8.2f  %8.1f  %7.1fx  %8.2f  %8.1f  %8.1f  %8.1f  %s\n", n,
           rs->seconds, rs->peak_mb, pa->seconds, pa->peak_mb, rs->seconds / pa->seconds,
           an->seconds, an->peak_mb, file_mb(path), file_mb(res),
           an->status == 0 && rs->status == 0 ? "ok" : "FAILED");
    if (an->status != 0)
        printf("           exit status %d; %s kept\n", an->status, log);
    fflush(stdout);
    if (!o->keep && an->status == 0) {
        unlink(path);
        unlink(res);
        snprintf(res, sizeof res, "%s/report.pdf", dir);
        unlink(res);
        snprintf(res, sizeof res, "%s/points.csv", dir);
        unlink(res);
        unlink(log);
        rmdir(dir);
    }
    return 0;
}

int main(int argc, char **argv)
{
    bench_opts o;
    int rc = bench_opts_parse(argc, argv, &o);
    if (rc)
        return rc;
    printf("the analysis (results.json alone, and `kvproof analyze`: results.json + report.pdf)\n"
           "against parsing the journal with cJSON (%s; 10 cells; each in a child\n"
           "process; peak RSS of the child; ratio = results_s / parse_s)\n\n",
           o.kvproof);
    printf("%9s  %8s  %8s  %8s  %8s  %8s  %8s  %8s  %8s  %8s\n", "trials", "result_s", "result_MB",
           "parse_s", "parse_MB", "ratio", "analyz_s", "analyz_MB", "journ_MB", "resul_MB");
    bench_run an[4], pa[4], rs[4];
    size_t sizes[4] = {1000, 10000, 100000, 1000000}, done = 0;
    for (size_t i = 0; i < 4 && sizes[i] <= o.max; i++, done++)
        if (bench_size(&o, sizes[i], &an[i], &pa[i], &rs[i]) != 0)
            return 1;
    if (done >= 3) {
        size_t k = done - 1;
        double span = log((double)sizes[k] / 1e4);
        printf("\ngrowth exponent 10^4 -> %zu: results.json %.2f, analyze %.2f, parse %.2f\n",
               sizes[k], log(rs[k].seconds / rs[1].seconds) / span,
               log(an[k].seconds / an[1].seconds) / span,
               log(pa[k].seconds / pa[1].seconds) / span);
    }
    return 0;
}
