/* test_hostile.c - kvproof against hostile servers (tests/hostile.h), in
 * this process on 127.0.0.1: a server that echoes the API key everywhere,
 * never stops streaming, drips, sends a 50 MB line, a 520 KB header block,
 * bytes that are not UTF-8, long Chinese error messages and 1e999. For each:
 * the hostile requests fail with the right reason, the run goes on to journal
 * every planned trial, every journal line is strict UTF-8 and valid JSON,
 * and memory stays bounded (peak RSS of this process, client and server
 * together). The secret test runs the CLI (KVPROOF_BIN) with a canary key
 * and greps every output for it: stdout, stderr, journal, results.json, the
 * report's text (pdftotext) and probe's JSON. Also: a run with 30% HTTP 500
 * still writes its report; TLS trusts a private CA only through ca_file or
 * CURL_CA_BUNDLE; inputs of unbounded size end with exit 3.
 * KVPROOF_HOSTILE_KEEP=1 keeps the run directories for a look.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "net/client.h"
#include "experiments/journal.h"
#include "experiments/runner.h"
#include "experiments/spec.h"
#include "hostile.h"
#include "runnertest.h"
#include "server/refsrv.h"
#include "tests/testutil.h"

#define CANARY_ENV "KVPROOF_HOSTILE_KEY"
#define CANARY "sk-canary/7f3a9c1e5b2d4f6a8c0e"
#define RSS_BOUND_KB (96L * 1024) /* the 50 MB line alone would be more */
/* The drip's first-token and total timeout. Equal, so that only the total
 * one can end a drip: its first token leaves with the headers, and the
 * first-token deadline (from the transfer's start) is never before the
 * total one (from the request's start), so a client that runs late, past
 * both, has that token and names the total timeout (also when libcurl's
 * backstop ends the transfer first: net/client.c). What is left to time is
 * that the server answers at all within 3 s, for the drip's first token and
 * for each ok trial (under 1 ms alone; at most 39 ms in 50 runs squeezed
 * onto one core beside 6 busy loops and a parallel ctest). */
#define DRIP_TIMEOUT_S 3.0

/* KVPROOF_HOSTILE_KEEP=1 keeps each test's directory (the path is printed). */
static void done_with(const char *dir)
{
    if (getenv("KVPROOF_HOSTILE_KEEP"))
        print_message("kept %s\n", dir);
    else
        runnertest_rmrf(dir);
}

static long maxrss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* A small spec against port: 2 lengths x 2 repetitions, cold only, no
 * retries. key: add api_key_env. */
static spec *small_spec(int port, double first_token_s, double total_s, bool key, bool model)
{
    char text[1024];
    snprintf(text, sizeof text,
             "{\"name\":\"hostile\",\"seed\":3,\"targets\":[{\"name\":\"h\",\"base_url\":"
             "\"http://127.0.0.1:%d\",\"api\":\"openai-chat\"%s%s}],\"workload\":{"
             "\"system_prompt_tokens\":[0,64],\"query_tokens\":[8]},\"cache_modes\":[\"cold\"],"
             "\"repetitions\":2,\"warmup_requests\":0,\"retries\":0,\"timeouts\":{\"connect\":5,"
             "\"first_token\":%g,\"total\":%g}}",
             port, model ? ",\"model\":\"hostile-model\"" : "",
             key ? ",\"api_key_env\":\"" CANARY_ENV "\"" : "", first_token_s, total_s);
    return tu_spec(text, "hostile.json");
}

/* Checks the journal of a run against h: every planned trial is there;
 * those the server gave its hostile reply (every other generation request,
 * tests/hostile.h; the trials ran one at a time, after the runner's own
 * setup requests) failed with `reason`, the others are ok. The slowest ok
 * trial's time goes to *ok_max_ms. */
static size_t check_trials(const journal_data *d, const hostile *h, const char *reason,
                           double *ok_max_ms)
{
    assert_int_equal(d->n_trials, d->header.planned_trials);
    long gen = atomic_load(&h->gen);
    assert_true(gen >= (long)d->n_trials);
    size_t setup = (size_t)gen - d->n_trials, failed = 0;
    *ok_max_ms = 0;
    for (size_t i = 0; i < d->n_trials; i++) {
        const trial_record *t = &d->trials[i];
        bool hostile_turn = (setup + t->run_position) % 2 == 1;
        if (t->ok && hostile_turn)
            fail_msg("%s (run position %zu): ok, expected '%s'", t->id, t->run_position, reason);
        if (!t->ok && !hostile_turn)
            fail_msg("%s (run position %zu): '%s', expected ok", t->id, t->run_position, t->error);
        if (!t->ok && !strstr(t->error, reason))
            fail_msg("%s: reason '%s', expected '%s'", t->id, t->error, reason);
        failed += !t->ok;
        for (size_t k = 0; t->ok && k < t->n_turns; k++)
            if (t->turns[k].total_ms > *ok_max_ms)
                *ok_max_ms = t->turns[k].total_ms;
    }
    assert_int_equal(failed, (setup + d->n_trials) / 2 - setup / 2);
    assert_int_equal(failed + setup / 2, atomic_load(&h->misbehaved)); /* one request a trial */
    assert_true(failed >= 1 && failed < d->n_trials); /* failed and finished side by side */
    return failed;
}

/* The first failure's reason in d, or "". */
static const char *first_error(const journal_data *d)
{
    for (size_t i = 0; i < d->n_trials; i++)
        if (!d->trials[i].ok)
            return d->trials[i].error;
    return "";
}

/* Runs the spec in this process with the real client; the journal must hold
 * every planned trial, hostile ones failed with `reason`, the others ok. */
static void run_against(hostile_mode mode, double first_token_s, double total_s, const char *reason)
{
    hostile *h = hostile_start(mode, NULL, NULL);
    spec *s = small_spec(h->port, first_token_s, total_s, false, true);
    char dir[64];
    runnertest_tmpdir(dir, sizeof dir, "hostile");
    runner_options o = {.out_dir = dir, .backoff_base_s = 0.001};
    runner_summary sum;
    char err[KV_ERRLEN] = "";
    long rss0 = maxrss_kb();
    kv_status st = runner_run(s, &o, &sum, err);
    long rss1 = maxrss_kb();
    if (st != KV_OK)
        fail_msg("runner: %s", err);
    journal_data *d = runnertest_load(dir); /* also: strict UTF-8, valid JSON */
    double ok_max_ms;
    size_t failed = check_trials(d, h, reason, &ok_max_ms);
    print_message("mode %d: %zu of %zu trials failed; e.g. '%s'; slowest ok %.1f ms; peak RSS "
                  "+%ld KB; %lld bytes streamed\n",
                  (int)mode, failed, d->n_trials, first_error(d), ok_max_ms, rss1 - rss0,
                  (long long)atomic_load(&h->streamed));
    assert_true(rss1 - rss0 < RSS_BOUND_KB);
    journal_data_free(d);
    spec_free(s);
    hostile_stop(h);
    done_with(dir);
}

/* One misbehaving server: its mode, the spec's first-token and total
 * timeouts (s), and the reason every hostile trial must fail with. */
typedef struct hostile_case {
    hostile_mode mode;
    double first_token_s, total_s;
    const char *reason;
} hostile_case;

static void run_case(void **state)
{
    const hostile_case *c = *state;
    run_against(c->mode, c->first_token_s, c->total_s, c->reason);
}

static void infinite_numbers_should_fail_the_request(void **state)
{
    (void)state;
    run_against(HOSTILE_INF, 30, 60, "number out of range");
    /* /tokenize answering 1e999 is an error, not a cast of infinity */
    hostile *h = hostile_start(HOSTILE_INF, NULL, NULL);
    spec *s = small_spec(h->port, 30, 60, false, true);
    client *c = NULL;
    char err[KV_ERRLEN] = "";
    assert_int_equal(client_new(&c, err), KV_OK);
    long n = -1;
    assert_int_equal(client_tokenize(c, &s->targets[0], SPEC_API_OPENAI_CHAT, "a b", &n, err),
                     KV_OK);
    assert_int_equal(n, 2);
    atomic_store(&h->inf_tokenize, true);
    err[0] = '\0';
    assert_int_equal(client_tokenize(c, &s->targets[0], SPEC_API_OPENAI_CHAT, "a b", &n, err),
                     KV_ERR_PROTOCOL);
    assert_non_null(strstr(err, "count out of range"));
    client_free(c);
    spec_free(s);
    hostile_stop(h);
}

/* Sends one user message to the spec's first target (openai-chat,
 * max_tokens output tokens, connect timeout 5 s, first-token and total
 * timeouts budget_s); the request's record in *out. */
static kv_status send_text(client *c, const spec *s, const char *text, long max_tokens,
                           double budget_s, trial_request *out, char *err)
{
    client_message m[] = {{"user", text}};
    client_request rq = {.target = &s->targets[0],
                         .api = SPEC_API_OPENAI_CHAT,
                         .messages = m,
                         .n_messages = 1,
                         .max_output_tokens = max_tokens,
                         .timeout_connect_s = 5,
                         .timeout_first_token_s = budget_s,
                         .timeout_total_s = budget_s};
    memset(out, 0, sizeof *out);
    return client_send(c, &rq, out, NULL, err);
}

/* send_text with one output token and 10 s. */
static kv_status send_one(client *c, const spec *s, const char *text, trial_request *out, char *err)
{
    return send_text(c, s, text, 1, 10, out, err);
}

/* Stands for a client thread that gets no CPU for a while: once, on the
 * first token chunk, sleeps the given time inside libcurl's write callback. */
typedef struct stall {
    double seconds;
    long chunks;
} stall;

static void stall_once(void *ctx, int64_t recv_ns, int64_t sent_ns)
{
    (void)recv_ns;
    (void)sent_ns;
    stall *s = ctx;
    if (s->chunks++ == 0) {
        struct timespec ts = {(time_t)s->seconds,
                              (long)((s->seconds - (double)(time_t)s->seconds) * 1e9)};
        nanosleep(&ts, NULL);
    }
}

/* A client that wakes long after the total deadline (here: stalled 0.8 s in
 * a 0.5 s budget, so past libcurl's own backstop of the deadline too) names
 * the total timeout, as a client woken on time does; not libcurl's
 * "Operation timed out" for the same event. */
static void drip_should_name_the_total_timeout_when_the_client_wakes_late(void **state)
{
    (void)state;
    hostile *h = hostile_start(HOSTILE_DRIP, NULL, NULL);
    atomic_store(&h->stamp_drip, true);
    atomic_store(&h->gen, 1); /* the next generation request drips */
    spec *s = small_spec(h->port, 30, 60, false, true);
    client *c = NULL;
    char err[KV_ERRLEN] = "";
    assert_int_equal(client_new(&c, err), KV_OK);
    stall st = {.seconds = 0.8};
    client_observe_stamps(c, stall_once, &st);
    trial_request out;
    assert_int_equal(send_text(c, s, "hello", 1000, 0.5, &out, err), KV_ERR_TIMEOUT);
    assert_true(st.chunks >= 1);
    if (!strstr(out.error, "reply not complete within the total timeout"))
        fail_msg("reason '%s'", out.error);
    free(out.raw);
    client_free(c);
    spec_free(s);
    hostile_stop(h);
}

/* Offset of needle in hay, or -1. */
__attribute__((noinline)) static long offset_of(const char *hay, const char *needle)
{
    const char *at = strstr(hay, needle);
    return at ? (long)(at - hay) : -1;
}

/* Fails when path holds the canary key or a piece of it a cut could leave. */
static void assert_no_canary(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *text = tu_read(path, NULL);
    static const char *const pieces[] = {CANARY, "sk-canary", "7f3a9c1e", "c1e5b2d4f6a8c0e"};
    for (size_t i = 0; i < sizeof pieces / sizeof pieces[0]; i++) {
        long at = offset_of(text, pieces[i]);
        if (at >= 0)
            fail_msg("%s holds the key piece '%s': ...%.200s", name, pieces[i],
                     text + (at > 100 ? at - 100 : 0));
    }
    free(text);
}

/* A server's message cut inside the key (an HTTP error body is cut to 300
 * bytes before the client sees it whole) leaves the key's beginning: that
 * is redacted too. */
static void key_cut_inside_a_message_should_not_leak(hostile *h)
{
    client *c = NULL;
    char err[KV_ERRLEN] = "";
    assert_int_equal(client_new(&c, err), KV_OK);
    spec *ks = small_spec(h->port, 30, 60, true, true);
    assert_int_equal(setenv(CANARY_ENV, CANARY, 1), 0);
    atomic_store(&h->gen, 4); /* the next generation is the 401 cut inside the key */
    trial_request out;
    assert_int_equal(send_one(c, ks, "hello", &out, err), KV_ERR_HTTP);
    unsetenv(CANARY_ENV);
    /* the whole reason is kept in raw.kvproof_attempt_errors */
    if (!out.raw || !strstr(out.raw, "invalid key Bearer ***...") || strstr(out.raw, "sk-c"))
        fail_msg("%s", out.raw ? out.raw : "(no raw)");
    free(out.raw);
    client_free(c);
    spec_free(ks);
}

/* The server echoes the key in every reply; no output of probe, run or
 * report may hold it (or a piece of it). */
static void canary_key_should_appear_in_no_output(void **state)
{
    (void)state;
    hostile *h = hostile_start(HOSTILE_ECHO, NULL, NULL);
    char dir[64], spec_path[128], spec_text[1024];
    runnertest_tmpdir(dir, sizeof dir, "canary");
    spec *s = small_spec(h->port, 30, 60, true, false);
    snprintf(spec_path, sizeof spec_path, "%s/spec.json", dir);
    snprintf(spec_text, sizeof spec_text, "%s", s->canonical);
    tu_write(spec_path, spec_text);
    spec_free(s);
    assert_int_equal(setenv(CANARY_ENV, CANARY, 1), 0);
    const char *b = tu_bin();
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", h->port);
    tu_run(NULL, "'%s' probe %s --api-key-env %s --format json > %s/probe.json 2> %s/probe.err", b,
           url, CANARY_ENV, dir, dir);
    tu_run(NULL, "'%s' probe %s --api-key-env %s > %s/probe.txt 2>&1", b, url, CANARY_ENV, dir);
    int rc = tu_run(NULL, "'%s' run %s --out %s/run > %s/run.out 2> %s/run.err", b, spec_path, dir,
                    dir, dir);
    if (rc != 0 && rc != 1) { /* 1: some trials failed (the 401s) */
        char log[128];
        snprintf(log, sizeof log, "%s/run.err", dir);
        fail_msg("run exit %d: %s", rc, tu_read(log, NULL));
    }
    assert_int_equal(tu_run(NULL, "'%s' report %s/run > %s/report.out 2>&1", b, dir, dir), 0);
    assert_int_equal(
        tu_run(NULL, "pdftotext %s/run/report.pdf %s/report.txt 2> /dev/null", dir, dir), 0);
    unsetenv(CANARY_ENV);
    static const char *const outputs[] = {"probe.json",        "probe.err",        "probe.txt",
                                          "run.out",           "run.err",          "report.out",
                                          "run/journal.jsonl", "run/results.json", "report.txt"};
    for (size_t i = 0; i < sizeof outputs / sizeof outputs[0]; i++)
        assert_no_canary(dir, outputs[i]);
    /* The echo did reach kvproof: what it kept shows the redaction. */
    char jpath[128];
    snprintf(jpath, sizeof jpath, "%s/run/journal.jsonl", dir);
    jsonlcheck_file(jpath);
    char *lines = tu_read(jpath, NULL);
    assert_non_null(strstr(lines, "Bearer ***"));
    assert_non_null(strstr(lines, "HTTP 401: ...")); /* the 401s with the key */
    assert_non_null(strstr(lines, "invalid key Bearer ***"));
    free(lines);
    char log[128];
    snprintf(log, sizeof log, "%s/run.err", dir);
    char *err_text = tu_read(log, NULL);
    assert_non_null(strstr(err_text, "HTTP 401: ..."));
    free(err_text);
    char *probe = tu_read(strcat(strcpy(jpath, dir), "/probe.json"), NULL);
    assert_non_null(strstr(probe, "Bearer ***"));
    free(probe);
    key_cut_inside_a_message_should_not_leak(h);
    print_message("canary: %ld generation requests echoed the key; no output holds it\n",
                  atomic_load(&h->gen));
    hostile_stop(h);
    done_with(dir);
}

/* The commonest real run: a server failing some requests. The report is
 * still written, `kvproof report` reads its results.json, and the report
 * lists the failures. */
static void run_with_30_percent_http_500_should_still_write_its_report(void **state)
{
    (void)state;
    refsrv_config cfg;
    refsrv_config_default(&cfg);
    cfg.cost.time_scale = 0.001;
    cfg.fault_p[REFSRV_FAULT_HTTP500] = 0.3;
    refsrv *srv = NULL;
    char err[KV_ERRLEN] = "";
    assert_int_equal(refsrv_start(&cfg, &srv, err), KV_OK);
    char dir[64], spec_path[128], spec_text[2048];
    runnertest_tmpdir(dir, sizeof dir, "http500");
    snprintf(spec_path, sizeof spec_path, "%s/spec.json", dir);
    snprintf(spec_text, sizeof spec_text,
             "{\"name\":\"faults\",\"seed\":7,\"targets\":[{\"name\":\"ref\",\"base_url\":"
             "\"http://127.0.0.1:%d\",\"api\":\"llama.cpp\"}],\"workload\":{"
             "\"system_prompt_tokens\":[0,550],\"query_tokens\":[25]},\"repetitions\":4,"
             "\"warmup_requests\":1,\"retries\":0}",
             refsrv_port(srv));
    tu_write(spec_path, spec_text);
    const char *b = tu_bin();
    int rc = tu_run(NULL, "'%s' run %s --out %s/run > %s/run.out 2>&1", b, spec_path, dir, dir);
    assert_int_equal(rc, 1); /* failed trials: exit 1, and still every output */
    char pdf[128];
    snprintf(pdf, sizeof pdf, "%s/run/report.pdf", dir);
    struct stat sb;
    if (stat(pdf, &sb) != 0)
        fail_msg("no report.pdf: %s", tu_read(strcat(strcpy(pdf, dir), "/run.out"), NULL));
    assert_int_equal(
        tu_run(NULL, "'%s' report %s/run -o %s/again.pdf > %s/report.out 2>&1", b, dir, dir, dir),
        0);
    assert_int_equal(tu_run(NULL, "pdftotext %s/again.pdf %s/report.txt 2> /dev/null", dir, dir),
                     0);
    char txt[128];
    snprintf(txt, sizeof txt, "%s/report.txt", dir);
    char *text = tu_read(txt, NULL);
    assert_non_null(strstr(text, "Failures and contaminated trials"));
    assert_non_null(strstr(text, "ref/s")); /* a failed trial's id */
    assert_non_null(strstr(text, "HTTP 500"));
    free(text);
    refsrv_stop(srv);
    done_with(dir);
}

/* Inputs without an end (/dev/zero) are refused with exit 3. */
static void unbounded_inputs_should_end_with_exit_3(void **state)
{
    (void)state;
    const char *b = tu_bin();
    assert_int_equal(tu_run(NULL, "'%s' plan /dev/zero > /dev/null 2>&1", b), 3);
    assert_int_equal(tu_run(NULL, "'%s' report /dev/zero -o /dev/null > /dev/null 2>&1", b), 3);
    char dir[64], spec_path[128];
    runnertest_tmpdir(dir, sizeof dir, "zero");
    snprintf(spec_path, sizeof spec_path, "%s/spec.json", dir);
    tu_write(spec_path, "{\"name\":\"z\",\"targets\":[{\"name\":\"a\",\"base_url\":"
                        "\"http://127.0.0.1:9\",\"api\":\"openai-chat\"}],\"workload\":{"
                        "\"system_prompt_tokens\":[0],\"query_tokens\":[5],\"corpus\":"
                        "\"/dev/zero\"}}");
    assert_int_equal(
        tu_run(NULL, "'%s' run %s --out %s/run > %s/out.txt 2>&1", b, spec_path, dir, dir), 3);
    char out[128];
    snprintf(out, sizeof out, "%s/out.txt", dir);
    char *text = tu_read(out, NULL);
    assert_non_null(strstr(text, "corpus /dev/zero: /dev/zero: larger than the 128 MiB"));
    free(text);
    done_with(dir);
}

/* A target behind a private CA: https to a server whose certificate is
 * signed by tests/fixtures/tls/ca.pem. */
static spec *tls_spec(int port, bool ca_file)
{
    char text[1024];
    snprintf(text, sizeof text,
             "{\"name\":\"tls\",\"targets\":[{\"name\":\"t\",\"base_url\":\"https://127.0.0.1:%d\","
             "\"api\":\"openai-chat\",\"model\":\"hostile-model\"%s}],\"workload\":{"
             "\"system_prompt_tokens\":[0],\"query_tokens\":[8]}}",
             port, ca_file ? ",\"ca_file\":\"tests/fixtures/tls/ca.pem\"" : "");
    return tu_spec(text, "tls.json");
}

static kv_status tls_get(client *c, const spec *s, int *status, char *err)
{
    char *resp = NULL;
    kv_status st = client_call(c, &s->targets[0], "/v1/models", NULL, 10, status, &resp, err);
    free(resp);
    return st;
}

/* Verification is always on: the private CA is trusted only when the spec's
 * ca_file or curl's CURL_CA_BUNDLE / SSL_CERT_FILE names it. */
static void tls_should_trust_a_private_ca_only_when_told(void **state)
{
    (void)state;
    static const char *const vars[] = {"CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR"};
    for (size_t i = 0; i < 3; i++)
        unsetenv(vars[i]);
    char *cert = tu_read("tests/fixtures/tls/server.pem", NULL);
    char *key = tu_read("tests/fixtures/tls/server-key.pem", NULL);
    hostile *h = hostile_start(HOSTILE_NORMAL, cert, key);
    spec *plain = tls_spec(h->port, false), *with_ca = tls_spec(h->port, true);
    client *c = NULL;
    char err[KV_ERRLEN] = "";
    int status = 0;
    assert_int_equal(client_new(&c, err), KV_OK);
    assert_int_equal(tls_get(c, plain, &status, err), KV_ERR_NET);
    assert_non_null(strstr(err, "TLS certificate not trusted"));
    err[0] = '\0';
    if (tls_get(c, with_ca, &status, err) != KV_OK)
        fail_msg("with ca_file: %s", err);
    assert_int_equal(status, 200);
    for (size_t i = 0; i < 2; i++) { /* curl's own variables, one at a time */
        assert_int_equal(setenv(vars[i], "tests/fixtures/tls/ca.pem", 1), 0);
        status = 0;
        if (tls_get(c, plain, &status, err) != KV_OK)
            fail_msg("with %s: %s", vars[i], err);
        assert_int_equal(status, 200);
        unsetenv(vars[i]);
    }
    /* the measured request takes the same road */
    trial_request out;
    if (send_one(c, with_ca, "hello there", &out, err) != KV_OK)
        fail_msg("stream over TLS: %s", err);
    assert_true(out.ok);
    assert_int_equal(out.prompt_tokens, 2);
    free(out.raw);
    client_free(c);
    spec_free(plain);
    spec_free(with_ca);
    hostile_stop(h);
    free(cert);
    free(key);
}

TU_MAIN(NULL, NULL,
        TU_CASE(endless_stream_should_be_cut_off_past_max_output_tokens, run_case, hostile_case,
                HOSTILE_ENDLESS, 30, 60, "reply cut off: more than 66 token events"),
        TU_CASE(slow_drip_should_end_at_the_total_timeout, run_case, hostile_case, HOSTILE_DRIP,
                DRIP_TIMEOUT_S, DRIP_TIMEOUT_S, "reply not complete within the total timeout"),
        TU_CASE(fifty_megabyte_line_should_fail_at_the_line_limit, run_case, hostile_case,
                HOSTILE_HUGELINE, 30, 60, "SSE line longer than 4194304 bytes"),
        TU_CASE(huge_header_block_should_be_named_not_called_a_reset, run_case, hostile_case,
                HOSTILE_HUGEHEADERS, 30, 60, "response headers too large"),
        TU_CASE(bytes_that_are_not_utf8_should_become_replacement_characters, run_case,
                hostile_case, HOSTILE_BADUTF8, 30, 60, "\xef\xbf\xbd"),
        TU_CASE(long_chinese_error_should_be_cut_between_characters, run_case, hostile_case,
                HOSTILE_CJK, 30, 60, "HTTP 500: \xe9\x94\x99\xe9\x94\x99"),
        cmocka_unit_test(drip_should_name_the_total_timeout_when_the_client_wakes_late),
        cmocka_unit_test(infinite_numbers_should_fail_the_request),
        cmocka_unit_test(canary_key_should_appear_in_no_output),
        cmocka_unit_test(run_with_30_percent_http_500_should_still_write_its_report),
        cmocka_unit_test(unbounded_inputs_should_end_with_exit_3),
        cmocka_unit_test(tls_should_trust_a_private_ca_only_when_told))
