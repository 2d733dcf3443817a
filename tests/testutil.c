/* testutil.c - the helpers of testutil.h: the CLI's path, commands run
 * through the shell or forked, temporary directories, whole files. */
#include "tests/testutil.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <gsl/gsl_errno.h>

#include "experiments/journal_cols.h"

const char *tu_bin(void)
{
    const char *b = getenv("KVPROOF_BIN");
    return b && *b ? b : "build/kvproof";
}

/* Runs cmd, its stdout into out (NULL: dropped); the exit code or -1. */
static int run_command(kv_buf *out, const char *cmd)
{
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    if (out)
        kv_buf_reset(out);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, p)) > 0)
        if (out)
            assert_int_equal(kv_buf_append(out, chunk, n), KV_OK);
    if (out && !out->data)
        assert_int_equal(kv_buf_append(out, "", 0), KV_OK);
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int tu_run(kv_buf *out, const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    assert_true(n > 0 && (size_t)n < sizeof cmd);
    return run_command(out, cmd);
}

int tu_kvproof(kv_buf *out, const char *fmt, ...)
{
    char cmd[8192];
    int head = snprintf(cmd, sizeof cmd, "'%s' ", tu_bin());
    assert_true(head > 0 && (size_t)head < sizeof cmd);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(cmd + head, sizeof cmd - (size_t)head, fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < sizeof cmd - (size_t)head);
    return run_command(out, cmd);
}

pid_t tu_spawn_run(const char *spec_path, const char *dir, bool resume, const char *log)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        FILE *f = freopen(log, "a", stdout);
        (void)f;
        dup2(STDOUT_FILENO, STDERR_FILENO);
        const char *argv[] = {
            tu_bin(), "run", spec_path, "--out", dir, "--quiet", resume ? "--resume" : NULL, NULL};
        execv(tu_bin(), (char *const *)(uintptr_t)argv);
        _exit(127);
    }
    return pid;
}

int tu_wait(pid_t pid, bool *killed)
{
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    *killed = WIFSIGNALED(status);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void tu_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

size_t tu_count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = 0;
    int ch;
    while ((ch = fgetc(f)) != EOF)
        n += ch == '\n';
    fclose(f);
    return n;
}

void tu_header(journal_header *h, const char *spec_name, const char *spec_json, size_t planned,
               size_t n_targets)
{
    memset(h, 0, sizeof *h);
    h->kvproof_version = tu_strdup("0.1.0-test");
    h->spec_name = tu_strdup(spec_name);
    h->spec_json = tu_strdup(spec_json);
    h->planned_trials = planned;
    h->n_targets = n_targets;
    h->targets = calloc(n_targets, sizeof *h->targets);
    assert_non_null(h->targets);
}

void tu_trial(trial_record *t, trial_request *q, size_t index, const char *target, size_t cell,
              long sys, long query, spec_cache_mode mode, long rep)
{
    bool warm = mode == SPEC_WARM;
    memset(t, 0, sizeof *t);
    memset(q, 0, sizeof *q);
    t->plan_index = t->run_position = index;
    snprintf(t->id, sizeof t->id, "%s/s%ld/q%ld/n1/%s/r%ld", target, sys, query,
             warm ? "warm" : "cold", rep);
    t->kind = PLAN_MEASURE;
    snprintf(t->target_name, sizeof t->target_name, "%s", target);
    t->cell = cell;
    t->system_prompt_tokens = sys;
    t->query_tokens = query;
    t->query_count = 1;
    t->mode = mode;
    t->repetition = rep;
    t->ok = true;
    t->turns = q;
    t->n_turns = 1;
    q->turn = q->attempts = 1;
    q->ok = true;
    q->prompt_tokens = sys + query;
    q->cached_tokens = q->prefix_tokens = warm ? sys : 0;
    q->cache_state = TRIAL_CACHE_VERIFIED;
    q->ttfb_ms = q->ttft_ms = q->first_content_ms = q->last_token_ms = q->total_ms = NAN;
    q->gap_median_ms = q->gap_p99_ms = q->server_prefill_ms = q->server_overhead_us = NAN;
}

void tu_rmtree(const char *dir)
{
    assert_int_equal(tu_run(NULL, "rm -rf '%s'", dir), 0);
}

void tu_refsrv_config(refsrv_config *cfg, double time_scale)
{
    refsrv_config_default(cfg);
    cfg->port = 0;
    assert_true(costmodel_preset("laptop", &cfg->cost));
    cfg->cost.time_scale = time_scale;
}

refsrv *tu_refsrv_start(const refsrv_config *cfg)
{
    refsrv *s = NULL;
    char err[KV_ERRLEN] = "";
    if (refsrv_start(cfg, &s, err) != KV_OK)
        fail_msg("refsrv_start: %s", err);
    return s;
}

spec *tu_spec(const char *text, const char *name)
{
    spec *s = NULL;
    char err[KV_ERRLEN] = "";
    if (spec_parse(text, strlen(text), name, &s, err) != KV_OK)
        fail_msg("%s", err);
    return s;
}

client *tu_client(double base_s, double max_s)
{
    client *c = NULL;
    char err[KV_ERRLEN] = "";
    if (client_new(&c, err) != KV_OK)
        fail_msg("client_new: %s", err);
    client_set_backoff(c, base_s, max_s);
    return c;
}

kv_status tu_io_tokenize(void *ctx, const spec_target *tg, spec_api api, const char *text, long *n,
                         char *err)
{
    client *const *first = ctx;
    return client_tokenize(*first, tg, api, text, n, err);
}

kv_status tu_io_reset(void *ctx, const spec_target *tg, spec_api api, char *err)
{
    client *const *first = ctx;
    return client_reset_cache(*first, tg, api, err);
}

char *tu_request_body(client_request rq, const char *base_url, const char *model,
                      const char *system, const char *user)
{
    char name[] = "t", url[256], m[128];
    snprintf(url, sizeof url, "%s", base_url);
    snprintf(m, sizeof m, "%s", model);
    spec_target tg = {.name = name, .base_url = url, .model = m};
    client_message msgs[] = {{"system", system}, {"user", user}};
    rq.target = &tg;
    rq.messages = msgs;
    rq.n_messages = 2;
    kv_buf b = {0};
    char err[KV_ERRLEN] = "";
    if (dialect_build_request(&rq, &b, err) != KV_OK)
        fail_msg("dialect_build_request: %s", err);
    return b.data;
}

cJSON *tu_read_json(const char *path)
{
    char *text = tu_read(path, NULL);
    cJSON *j = cJSON_Parse(text);
    free(text);
    if (!j)
        fail_msg("%s: not JSON", path);
    return j;
}

void tu_run_fixture_up(tu_run_fixture *fx, const refsrv_config *cfg, const char *tag)
{
    memset(fx, 0, sizeof *fx);
    fx->srv = tu_refsrv_start(cfg);
    tu_tmpdir(fx->dir, sizeof fx->dir, tag);
    snprintf(fx->spec_path, sizeof fx->spec_path, "%s/spec.json", fx->dir);
    snprintf(fx->out, sizeof fx->out, "%s/run", fx->dir);
    snprintf(fx->log, sizeof fx->log, "%s/log.txt", fx->dir);
    snprintf(fx->journal_path, sizeof fx->journal_path, "%s/journal.jsonl", fx->out);
}

void tu_run_fixture_spec(tu_run_fixture *fx, const char *fmt, ...)
{
    FILE *f = fopen(fx->spec_path, "w");
    assert_non_null(f);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    assert_int_equal(fclose(f), 0);
    char err[KV_ERRLEN] = "";
    if (spec_load(fx->spec_path, &fx->s, err) != KV_OK)
        fail_msg("spec_load: %s", err);
    if (plan_build(fx->s, fx->s->seed, &fx->p, err) != KV_OK)
        fail_msg("plan_build: %s", err);
}

void tu_run_fixture_down(tu_run_fixture *fx)
{
    plan_free(fx->p);
    spec_free(fx->s);
    refsrv_stop(fx->srv);
    tu_rmtree(fx->dir);
}

journal_data *tu_journal_of_plan(const char *path, const plan *p)
{
    char err[KV_ERRLEN] = "";
    journal_data *d = NULL;
    if (journal_load(path, &d, err) != KV_OK)
        fail_msg("%s", err);
    assert_int_equal(d->torn_lines, 0);
    assert_int_equal(d->duplicate_trials, 0);
    assert_int_equal(d->n_trials, p->n_trials);
    /* n trials, none twice: every planned one once */
    size_t *times = calloc(p->n_trials, sizeof *times);
    assert_non_null(times);
    for (const trial_record *t = d->trials; t < d->trials + d->n_trials; t++) {
        assert_in_range(t->plan_index, 0, p->n_trials - 1);
        assert_int_equal(++times[t->plan_index], 1);
        assert_string_equal(t->id, p->trials[t->plan_index].id);
    }
    free(times);
    return d;
}

void tu_tmpdir(char *buf, size_t size, const char *tag)
{
    int n = snprintf(buf, size, "/tmp/kvproof-%s-XXXXXX", tag);
    assert_true(n > 0 && (size_t)n < size);
    assert_non_null(mkdtemp(buf));
}

char *tu_read(const char *path, size_t *len)
{
    char *text = NULL, err[KV_ERRLEN] = "";
    size_t n = 0;
    if (kv_read_file(path, &text, &n, err) != KV_OK)
        fail_msg("%s", err);
    if (len)
        *len = n;
    return text;
}

void tu_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_true(fputs(text, f) >= 0);
    assert_int_equal(fclose(f), 0);
}

char *tu_strdup(const char *s)
{
    char *d = strdup(s);
    assert_non_null(d);
    return d;
}

int tu_setup_curl(void **state)
{
    (void)state;
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

int tu_teardown_curl(void **state)
{
    (void)state;
    curl_global_cleanup();
    return 0;
}

int tu_setup_gsl(void **state)
{
    (void)state;
    gsl_set_error_handler_off();
    return 0;
}

void tu_expect_split(tu_split_fn run, const char *text, size_t n, const size_t *cuts, size_t n_cuts,
                     const char *expected)
{
    char *log = run(text, n, cuts, n_cuts);
    assert_string_equal(log, expected);
    free(log);
}

void tu_expect_any_cut(tu_split_fn run, const char *text, size_t n, const char *expected)
{
    for (size_t i = 0; i <= n; i++)
        tu_expect_split(run, text, n, &i, 1, expected);
}

void tu_expect_any_two_cuts(tu_split_fn run, const char *text, size_t n, size_t step,
                            const char *expected)
{
    for (size_t i = 0; i <= n; i += step)
        for (size_t j = i; j <= n; j++) {
            size_t cuts[2] = {i, j};
            tu_expect_split(run, text, n, cuts, 2, expected);
        }
}

void tu_expect_bytewise(tu_split_fn run, const char *text, size_t n, const char *expected)
{
    size_t *cuts = malloc(n * sizeof *cuts + 1);
    assert_non_null(cuts);
    for (size_t i = 0; i < n; i++)
        cuts[i] = i;
    tu_expect_split(run, text, n, cuts, n, expected);
    free(cuts);
}

void tu_contains(const char *text, const char *const *needles)
{
    assert_non_null(text);
    for (const char *const *n = needles; *n; n++)
        if (!strstr(text, *n))
            fail_msg("missing \"%s\" in:\n%s", *n, text);
}

const fit_result *tu_fit_auto(const double *x, const double *y, size_t n, bool weighted,
                              bool robust, fit_choice *ch)
{
    const double *cols[1] = {x};
    fit_input in = {cols, 1, y, NULL, n, false};
    char err[KV_ERRLEN] = "";
    kv_status st = robust ? fit_auto_robust(&in, 0.95, weighted, ch, err)
                          : fit_auto(&in, 0.95, weighted, ch, err);
    if (st != KV_OK)
        fail_msg("%s: %s", robust ? "fit_auto_robust" : "fit_auto", err);
    return &ch->fits[ch->chosen];
}

int tu_cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ---- Shared by the runner, client, probe, server and journal tests ---- */

int tu_free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
    close(s);
    return ntohs(a.sin_port);
}

size_t tu_each_rejected(const char *dir, tu_load_fn load)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t checked = 0;
    const struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n < 7 || strcmp(e->d_name + n - 6, ".jsonl") != 0)
            continue;
        char path[512], expected_path[512];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        snprintf(expected_path, sizeof expected_path, "%s/%.*s.expected", dir, (int)(n - 6),
                 e->d_name);
        size_t elen = 0;
        char *expected = tu_read(expected_path, &elen);
        while (elen > 0 && expected[elen - 1] == '\n')
            expected[--elen] = '\0';
        char err[KV_ERRLEN] = "";
        kv_status st = load(path, err);
        if (st != KV_ERR_INPUT || strcmp(err, expected) != 0)
            fail_msg("%s: got status %d, message\n  %s\nexpected\n  %s", path, (int)st, err,
                     expected);
        free(expected);
        checked++;
    }
    closedir(d);
    return checked;
}

void tu_assert_same_double(double got, double want)
{
    if (isnan(want))
        assert_true(isnan(got));
    else
        assert_true(got == want);
}

/* ---- shared by the results, points and report tests ---- */

char *tu_mkdtemp(const char *prefix)
{
    size_t n = strlen(prefix) + sizeof "-XXXXXX";
    char *d = malloc(n);
    assert_non_null(d);
    snprintf(d, n, "%s-XXXXXX", prefix);
    assert_non_null(mkdtemp(d));
    return d;
}

void tu_rmtree_free(char *dir)
{
    tu_rmtree(dir);
    free(dir);
}

int tu_teardown_dir(void **state)
{
    char *dir = *state;
    tu_rmtree(dir);
    free(dir);
    return 0;
}

int tu_kvproof_text(char *out, size_t cap, const char *args)
{
    kv_buf b = {0};
    int rc = tu_kvproof(&b, "%s 2>&1", args);
    snprintf(out, cap, "%s", b.data);
    kv_buf_free(&b);
    return rc;
}

char *tu_capture(const char *cmd)
{
    kv_buf b = {0};
    (void)run_command(&b, cmd);
    return b.data;
}

void tu_expect_same_file(const char *got, const char *want)
{
    size_t n1 = 0, n2 = 0;
    char *a = tu_read(got, &n1), *b = tu_read(want, &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(a, b, n1);
    free(a);
    free(b);
}

/* ---- wire, dialect and client tests ---- */

void tu_split_test(void **state)
{
    const tu_split_case *c = *state;
    if (c->ways & TU_WHOLE)
        tu_expect_split(c->run, c->text, c->n, NULL, 0, c->expected);
    if (c->ways & TU_ANY_CUT)
        tu_expect_any_cut(c->run, c->text, c->n, c->expected);
    if (c->ways & TU_ANY_TWO_CUTS)
        tu_expect_any_two_cuts(c->run, c->text, c->n, c->step, c->expected);
    if (c->ways & TU_BYTEWISE)
        tu_expect_bytewise(c->run, c->text, c->n, c->expected);
}

void tu_feed_cuts(tu_feed_fn feed, void *ctx, const char *text, size_t n, const size_t *cuts,
                  size_t n_cuts)
{
    char err[KV_ERRLEN] = "";
    size_t at = 0;
    for (size_t i = 0; i <= n_cuts; i++) {
        size_t end = i < n_cuts ? cuts[i] : n;
        assert_int_equal(feed(ctx, text + at, end - at, err), KV_OK);
        at = end;
    }
}

/* ---- spec, plan, prompt, server and report tests ---- */

spec *tu_spec_load(const char *path)
{
    char err[KV_ERRLEN] = "";
    spec *s = NULL;
    if (spec_load(path, &s, err) != KV_OK)
        fail_msg("%s", err);
    return s;
}

int tu_setup_scratch(void **state)
{
    *state = tu_mkdtemp("/tmp/kvproof-scratch");
    return 0;
}

int tu_teardown_scratch(void **state)
{
    tu_rmtree_free(*state);
    return 0;
}

void tu_sim_target(journal_header *h, const char *name, const char *dialect)
{
    h->targets = calloc(1, sizeof *h->targets);
    assert_non_null(h->targets);
    h->n_targets = 1;
    h->targets[0].name = tu_strdup(name);
    h->targets[0].dialect = tu_strdup(dialect);
    h->targets[0].simulated = true;
}

/* ---- runner tests ---- */

kv_status tu_load_no_journal(const char *path, char *err)
{
    journal_data *d = NULL;
    kv_status st = journal_load(path, &d, err);
    assert_null(d);
    return st;
}

kv_status tu_load_no_columns(const char *path, char *err)
{
    journal_cols *j = NULL;
    kv_status st = journal_cols_load(path, &j, err);
    assert_int_equal(kv_exit_code(st), 3);
    assert_null(j);
    return st;
}
