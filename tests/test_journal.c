/* test_journal.c - the crash-safe journal: every field round-trips, torn
 * lines are repaired, the lock keeps a second runner out, resume refuses a
 * different spec, kill -9 at random moments never corrupts it, and bad
 * journals are rejected with exact messages (tests/fixtures/journals/bad). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/utf8.h"
#include "common/util.h"
#include "experiments/journal.h"
#include "jsonlcheck.h"
#include "tests/testutil.h"

#define PLANNED 40

typedef struct fixture {
    char dir[64];
    char path[128];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/kvproof-journal-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof f->path, "%s/journal.jsonl", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    unlink(f->path); /* every test writes only this file */
    rmdir(f->dir);
    free(f);
    return 0;
}

/* The number of trials journal_load reads from path. */
static size_t trials_in(const char *path)
{
    char err[KV_ERRLEN] = "";
    journal_data *d = NULL;
    if (journal_load(path, &d, err) != KV_OK)
        fail_msg("%s", err);
    size_t n = d->n_trials;
    journal_data_free(d);
    return n;
}

/* Closes j and clears its header h; the number of trials then in path. */
static size_t close_and_count(journal *j, journal_header *h, const char *path)
{
    journal_close(j);
    journal_header_clear(h);
    return trials_in(path);
}

/* A header the test owns (journal_header_clear frees it). */
static void make_header(journal_header *h, uint64_t hash, uint64_t seed, size_t planned)
{
    tu_header(h, "journal \"test\"",
              "{\"name\":\"journal \\\"test\\\"\",\"seed\":7,\"repetitions\":3,"
              "\"targets\":[{\"name\":\"a\",\"api_key_env\":\"KEY_NAME\"}]}",
              planned, 2);
    h->spec_path = tu_strdup("specs/test.json");
    h->spec_hash = hash;
    h->seed = seed;
    h->created_unix = 1735689600.25;
    h->client_host = tu_strdup("host; Intel(R) Xeon(R); Linux 6.1");
    h->targets[0].name = tu_strdup("llama");
    h->targets[0].base_url = tu_strdup("http://127.0.0.1:8080");
    h->targets[0].dialect = tu_strdup("llama.cpp");
    h->targets[0].model = tu_strdup("qwen2.5-0.5b");
    h->targets[0].server_version = tu_strdup("b4500");
    h->targets[0].props = tu_strdup("{\"n_ctx\":4096,\"slots\":[1,2]}");
    h->targets[1].name = tu_strdup("sim");
    h->targets[1].base_url = tu_strdup("http://127.0.0.1:1");
    h->targets[1].dialect = tu_strdup("openai-chat");
    h->targets[1].props = tu_strdup("not json at all");
    h->targets[1].simulated = true;
}

static const char awkward[] = "quote \" backslash \\ newline \n tab \t caf\xc3\xa9 \xe2\x9c\x93 "
                              "ctrl \x01 end";

/* A trial exercising every field; `big` pads raw to make long lines. */
static void make_trial(trial_record *t, size_t idx, size_t big)
{
    memset(t, 0, sizeof *t);
    t->plan_index = idx;
    snprintf(t->id, sizeof t->id, "llama/s%zu/q32/n2/warm/r%zu", idx * 100, idx);
    t->kind = idx % 5 == 0 ? PLAN_WARMUP : PLAN_MEASURE;
    t->target = idx % 2;
    snprintf(t->target_name, sizeof t->target_name, "%s", idx % 2 ? "sim" : "llama");
    t->cell = idx / 3;
    t->system_prompt_tokens = (long)idx * 100;
    t->query_tokens = 32;
    t->query_count = 2;
    t->mode = idx % 2 ? SPEC_WARM : SPEC_COLD;
    t->repetition = (long)idx % 3;
    t->run_position = idx + 1000;
    t->started_unix = 1735689600.0 + (double)idx * 0.123456789;
    t->ok = idx % 4 != 3;
    snprintf(t->error, sizeof t->error, "%s", t->ok ? "" : awkward);
    t->contaminated = idx % 7 == 6;
    t->n_turns = 2;
    t->turns = calloc(2, sizeof *t->turns);
    assert_non_null(t->turns);
    trial_request *a = &t->turns[0], *b = &t->turns[1];
    /* a: failed before any token, every count and time unknown */
    *a = (trial_request){.turn = 1,
                         .attempts = 3,
                         .ok = false,
                         .http_status = 503,
                         .prompt_tokens = -1,
                         .cached_tokens = -1,
                         .prefix_tokens = -1,
                         .output_tokens = -1,
                         .cache_state = TRIAL_CACHE_UNKNOWN,
                         .ttfb_ms = NAN,
                         .ttft_ms = NAN,
                         .first_content_ms = NAN,
                         .last_token_ms = NAN,
                         .total_ms = NAN,
                         .gap_median_ms = NAN,
                         .gap_p99_ms = NAN,
                         .server_prefill_ms = NAN,
                         .server_overhead_us = NAN,
                         .raw = NULL};
    snprintf(a->error, sizeof a->error, "%s", awkward);
    /* b: extreme values */
    *b = (trial_request){.turn = 2,
                         .attempts = 1,
                         .ok = true,
                         .http_status = 200,
                         .cache_state = (trial_cache_state)(idx % 4),
                         .prompt_tokens = 1234567,
                         .cached_tokens = 0,
                         .prefix_tokens = 1000,
                         .output_tokens = 1,
                         .ttfb_ms = 0.1,
                         .ttft_ms = 123456.789012345678 + (double)idx,
                         .first_content_ms = 1e-9,
                         .last_token_ms = 2.0 / 3.0,
                         .total_ms = 1e300,
                         .gap_median_ms = 0,
                         .gap_p99_ms = -0.5,
                         .server_prefill_ms = 98.25,
                         .server_overhead_us = 41.125};
    kv_buf raw = {0};
    assert_int_equal(kv_buf_appendf(&raw, "{\"timings\":{\"prompt_ms\":98.25,\"cache_n\":0},"
                                          "\"pad\":\""),
                     KV_OK);
    for (size_t i = 0; i < big; i++)
        assert_int_equal(kv_buf_append(&raw, "x", 1), KV_OK);
    assert_int_equal(kv_buf_append(&raw, "\"}", 2), KV_OK);
    b->raw = raw.data;
}

static void assert_turn_equal(const trial_request *g, const trial_request *w)
{
    assert_int_equal(g->turn, w->turn);
    assert_int_equal(g->attempts, w->attempts);
    assert_int_equal(g->ok, w->ok);
    assert_string_equal(g->error, w->error);
    assert_int_equal(g->http_status, w->http_status);
    assert_int_equal(g->prompt_tokens, w->prompt_tokens);
    assert_int_equal(g->cached_tokens, w->cached_tokens);
    assert_int_equal(g->prefix_tokens, w->prefix_tokens);
    assert_int_equal(g->output_tokens, w->output_tokens);
    assert_int_equal(g->cache_state, w->cache_state);
    tu_assert_same_double(g->ttfb_ms, w->ttfb_ms);
    tu_assert_same_double(g->ttft_ms, w->ttft_ms);
    tu_assert_same_double(g->first_content_ms, w->first_content_ms);
    tu_assert_same_double(g->last_token_ms, w->last_token_ms);
    tu_assert_same_double(g->total_ms, w->total_ms);
    tu_assert_same_double(g->gap_median_ms, w->gap_median_ms);
    tu_assert_same_double(g->gap_p99_ms, w->gap_p99_ms);
    tu_assert_same_double(g->server_prefill_ms, w->server_prefill_ms);
    tu_assert_same_double(g->server_overhead_us, w->server_overhead_us);
    if (w->raw)
        assert_string_equal(g->raw, w->raw);
    else
        assert_null(g->raw);
}

static void assert_trial_equal(const trial_record *g, const trial_record *w)
{
    assert_int_equal(g->plan_index, w->plan_index);
    assert_string_equal(g->id, w->id);
    assert_int_equal(g->kind, w->kind);
    assert_int_equal(g->target, w->target);
    assert_string_equal(g->target_name, w->target_name);
    assert_int_equal(g->cell, w->cell);
    assert_int_equal(g->system_prompt_tokens, w->system_prompt_tokens);
    assert_int_equal(g->query_tokens, w->query_tokens);
    assert_int_equal(g->query_count, w->query_count);
    assert_int_equal(g->mode, w->mode);
    assert_int_equal(g->repetition, w->repetition);
    assert_int_equal(g->run_position, w->run_position);
    assert_true(g->started_unix == w->started_unix);
    assert_int_equal(g->ok, w->ok);
    assert_string_equal(g->error, w->error);
    assert_int_equal(g->contaminated, w->contaminated);
    assert_int_equal(g->n_turns, w->n_turns);
    for (size_t i = 0; i < w->n_turns; i++)
        assert_turn_equal(&g->turns[i], &w->turns[i]);
}

static void append_trial(journal *j, size_t idx, size_t big)
{
    trial_record t;
    char err[KV_ERRLEN] = "";
    make_trial(&t, idx, big);
    kv_status st = journal_append(j, &t, err);
    if (st != KV_OK)
        fail_msg("journal_append: %s", err);
    trial_record_clear(&t);
}

/* journal_open of path (resume or not, done as journal_open takes it) with
 * make_header's standard header (hash 0x0123456789abcdef, seed 7, PLANNED
 * trials) in *h, which the caller clears; fails the test unless it opens. */
static journal *open_standard(const char *path, journal_header *h, bool resume, bool *done)
{
    journal *j = NULL;
    char err[KV_ERRLEN] = "";
    make_header(h, 0x0123456789abcdefULL, 7, PLANNED);
    if (journal_open(path, h, resume, done, &j, err) != KV_OK)
        fail_msg("journal_open: %s", err);
    return j;
}

static void create_journal(const char *path, size_t n_trials)
{
    journal_header h;
    journal *j = open_standard(path, &h, false, NULL);
    for (size_t i = 0; i < n_trials; i++)
        append_trial(j, i, 0);
    journal_close(j);
    journal_header_clear(&h);
}

/* A journal of n_trials trials at path (create_journal), opened again to
 * resume with the standard header in *h (open_standard). */
static journal *resume_created(const char *path, size_t n_trials, journal_header *h)
{
    create_journal(path, n_trials);
    return open_standard(path, h, true, NULL);
}

/* path still holds the len0 bytes before (which this frees). */
static void assert_unchanged(const char *path, char *before, size_t len0)
{
    size_t len1 = 0;
    char *after = tu_read(path, &len1);
    assert_int_equal(len1, len0);
    assert_memory_equal(before, after, len0);
    free(before);
    free(after);
}

static void append_bytes(const char *path, const char *bytes)
{
    int fd = open(path, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, bytes, strlen(bytes)), (ssize_t)strlen(bytes));
    close(fd);
}

static void journal_should_round_trip_every_field(void **state)
{
    fixture *f = *state;
    journal_header h;
    journal *j = NULL;
    journal_data *d = NULL;
    char err[KV_ERRLEN] = "";
    make_header(&h, 0xfedcba9876543210ULL, (UINT64_C(1) << 60) + 3, PLANNED);
    assert_int_equal(journal_open(f->path, &h, false, NULL, &j, err), KV_OK);
    trial_record want[4];
    static const size_t idx[4] = {3, 0, 13, 6};
    for (size_t i = 0; i < 4; i++) {
        make_trial(&want[i], idx[i], i * 100);
        assert_int_equal(journal_append(j, &want[i], err), KV_OK);
    }
    assert_int_equal(journal_trials(j), 4);
    journal_close(j);

    jsonlcheck_file(f->path); /* strict UTF-8, one JSON object a line */
    assert_int_equal(journal_load(f->path, &d, err), KV_OK);
    assert_string_equal(d->header.kvproof_version, h.kvproof_version);
    assert_string_equal(d->header.spec_name, h.spec_name);
    assert_string_equal(d->header.spec_path, h.spec_path);
    assert_string_equal(d->header.spec_json, h.spec_json);
    assert_true(d->header.spec_hash == h.spec_hash);
    assert_true(d->header.seed == h.seed);
    assert_int_equal(d->header.planned_trials, PLANNED);
    assert_true(d->header.created_unix == h.created_unix);
    assert_string_equal(d->header.client_host, h.client_host);
    assert_int_equal(d->header.n_targets, 2);
    for (size_t i = 0; i < 2; i++) {
        const journal_target_meta *g = &d->header.targets[i], *w = &h.targets[i];
        assert_string_equal(g->name, w->name);
        assert_string_equal(g->base_url, w->base_url);
        assert_string_equal(g->dialect, w->dialect);
        assert_string_equal(g->props, w->props);
        assert_int_equal(g->simulated, w->simulated);
    }
    assert_string_equal(d->header.targets[0].model, "qwen2.5-0.5b");
    assert_string_equal(d->header.targets[0].server_version, "b4500");
    assert_null(d->header.targets[1].model);
    assert_null(d->header.targets[1].server_version);
    assert_int_equal(d->n_trials, 4);
    assert_int_equal(d->torn_lines, 0);
    assert_int_equal(d->duplicate_trials, 0);
    for (size_t i = 0; i < 4; i++) {
        assert_trial_equal(&d->trials[i], &want[i]);
        trial_record_clear(&want[i]);
    }
    journal_data_free(d);

    /* on disk: NaN is null, the hash is hex, the spec is embedded, the
     * ISO date is there, one line per record */
    char *text = tu_read(f->path, NULL);
    assert_null(strstr(text, "nan"));
    assert_null(strstr(text, "NaN"));
    TU_CONTAINS(text, "\"ttft_ms\":null", "\"cached_tokens\":-1",
                "\"spec_hash\":\"fedcba9876543210\"", "\"seed\":\"1152921504606846979\"",
                "\"created\":\"2025-01-01T00:00:00Z\"",
                "\"spec\":{\"name\":", "\"props\":{\"n_ctx\":4096");
    assert_int_equal(tu_count_lines(f->path), 5);
    free(text);
    journal_header_clear(&h);
    journal_data_free(NULL);
    journal_close(NULL);
}

static void journal_should_repair_a_torn_last_line_on_resume(void **state)
{
    fixture *f = *state;
    create_journal(f->path, 3);
    static const char torn[] = "{\"type\":\"trial\",\"plan_index\":3,\"id\":\"llama/s3";
    append_bytes(f->path, torn);

    journal_data *d = NULL;
    char err[KV_ERRLEN] = "";
    assert_int_equal(journal_load(f->path, &d, err), KV_OK);
    assert_int_equal(d->n_trials, 3);
    assert_int_equal(d->torn_lines, 1);
    journal_data_free(d);

    journal_header h;
    bool done[PLANNED];
    memset(done, 1, sizeof done);
    journal *j = open_standard(f->path, &h, true, done);
    assert_int_equal(journal_repaired_bytes(j), strlen(torn));
    assert_int_equal(journal_trials(j), 3);
    for (size_t i = 0; i < PLANNED; i++)
        assert_int_equal(done[i], i < 3);
    append_trial(j, 3, 10);
    journal_close(j);

    size_t len = 0;
    char *text = tu_read(f->path, &len);
    assert_int_equal(text[len - 1], '\n');
    assert_null(strstr(text, "llama/s3\"{"));
    free(text);
    assert_int_equal(journal_load(f->path, &d, err), KV_OK);
    assert_int_equal(d->n_trials, 4);
    assert_int_equal(d->torn_lines, 0);
    assert_int_equal(d->trials[3].plan_index, 3);
    journal_data_free(d);
    journal_header_clear(&h);
}

static void journal_should_rewrite_a_torn_header_on_resume(void **state)
{
    fixture *f = *state;
    int fd = open(f->path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "{\"type\":\"hea", 12), 12);
    close(fd);
    journal_header h;
    bool done[PLANNED];
    journal *j = open_standard(f->path, &h, true, done);
    assert_int_equal(journal_repaired_bytes(j), 12);
    append_trial(j, 5, 0);
    assert_int_equal(close_and_count(j, &h, f->path), 1);
}

static void journal_should_create_a_missing_journal_on_resume(void **state)
{
    fixture *f = *state;
    journal_header h;
    journal *j = NULL;
    char err[KV_ERRLEN] = "";
    bool done[PLANNED];
    memset(done, 1, sizeof done);
    make_header(&h, 1, 2, PLANNED);
    assert_int_equal(journal_open(f->path, &h, true, done, &j, err), KV_OK);
    for (size_t i = 0; i < PLANNED; i++)
        assert_false(done[i]);
    assert_int_equal(journal_trials(j), 0);
    assert_int_equal(close_and_count(j, &h, f->path), 0);
}

static void journal_should_refuse_a_second_runner_while_locked(void **state)
{
    fixture *f = *state;
    journal_header h;
    journal *j = open_standard(f->path, &h, false, NULL), *j2 = NULL;
    char err[KV_ERRLEN] = "";

    /* another process */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        journal *c = NULL;
        char cerr[KV_ERRLEN] = "";
        kv_status st = journal_open(f->path, &h, true, NULL, &c, cerr);
        journal_close(c);
        _exit(st == KV_ERR_LOCKED && strstr(cerr, f->path) ? 0 : 1);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);

    /* the same process, another open file description */
    assert_int_equal(journal_open(f->path, &h, true, NULL, &j2, err), KV_ERR_LOCKED);
    assert_null(j2);
    assert_non_null(strstr(err, f->path));
    assert_non_null(strstr(err, "locked"));

    /* released on close */
    journal_close(j);
    err[0] = '\0';
    assert_int_equal(journal_open(f->path, &h, true, NULL, &j2, err), KV_OK);
    journal_close(j2);
    journal_header_clear(&h);
}

static void journal_should_refuse_to_resume_for_a_different_spec_or_seed(void **state)
{
    fixture *f = *state;
    create_journal(f->path, 2);
    append_bytes(f->path, "{\"torn\""); /* must survive: nothing is touched */
    size_t len0 = 0;
    char *before = tu_read(f->path, &len0);

    journal_header h;
    journal *j = NULL;
    char err[KV_ERRLEN] = "";
    make_header(&h, 0x0123456789abcdeeULL, 7, PLANNED);
    assert_int_equal(journal_open(f->path, &h, true, NULL, &j, err), KV_ERR_INPUT);
    assert_null(j);
    assert_non_null(strstr(err, "journal was written for a different spec"));
    assert_non_null(strstr(err, f->path));
    journal_header_clear(&h);

    err[0] = '\0';
    make_header(&h, 0x0123456789abcdefULL, 8, PLANNED);
    assert_int_equal(journal_open(f->path, &h, true, NULL, &j, err), KV_ERR_INPUT);
    assert_non_null(strstr(err, "different seed"));
    journal_header_clear(&h);

    err[0] = '\0';
    make_header(&h, 0x0123456789abcdefULL, 7, PLANNED);
    assert_int_equal(journal_open(f->path, &h, false, NULL, &j, err), KV_ERR_USAGE);
    assert_non_null(strstr(err, "already exists"));
    journal_header_clear(&h);

    assert_unchanged(f->path, before, len0);
}

static void journal_should_never_write_a_trial_twice(void **state)
{
    fixture *f = *state;
    journal_header h;
    journal *j = resume_created(f->path, 3, &h);
    char err[KV_ERRLEN] = "";
    trial_record t;
    make_trial(&t, 1, 0);
    assert_int_equal(journal_append(j, &t, err), KV_ERR_INTERNAL);
    assert_non_null(strstr(err, "already in journal"));
    trial_record_clear(&t);
    make_trial(&t, PLANNED, 0);
    err[0] = '\0';
    assert_int_equal(journal_append(j, &t, err), KV_ERR_INTERNAL);
    assert_non_null(strstr(err, "outside the plan"));
    trial_record_clear(&t);
    journal_close(j);

    /* a duplicate that got in some other way: the first is kept */
    char *text = tu_read(f->path, NULL);
    const char *line2 = strchr(text, '\n') + 1;
    const char *end2 = strchr(line2, '\n') + 1;
    char *dup = strndup(line2, (size_t)(end2 - line2));
    assert_non_null(dup);
    append_bytes(f->path, dup);
    free(dup);
    free(text);
    bool done[PLANNED];
    assert_int_equal(journal_open(f->path, &h, true, done, &j, err), KV_OK);
    assert_int_equal(journal_duplicates(j), 1);
    assert_int_equal(journal_trials(j), 3);
    journal_close(j);
    journal_data *d = NULL;
    assert_int_equal(journal_load(f->path, &d, err), KV_OK);
    assert_int_equal(d->n_trials, 3);
    assert_int_equal(d->duplicate_trials, 1);
    journal_data_free(d);
    journal_header_clear(&h);
}

/* Group commit: a batch is written whole, in order, or not at all. */
static void journal_should_append_a_batch_whole_or_not_at_all(void **state)
{
    fixture *f = *state;
    journal_header h;
    journal *j = resume_created(f->path, 2, &h);
    char err[KV_ERRLEN] = "";
    trial_record t[4];
    const size_t idx[4] = {4, 3, 4, 5};
    for (int i = 0; i < 4; i++)
        make_trial(&t[i], idx[i], 0);
    size_t before = 0, after = 0;
    free(tu_read(f->path, &before));
    const trial_record *dup[3] = {&t[0], &t[1], &t[2]}; /* 4, 3, 4 */
    assert_int_equal(journal_append_batch(j, dup, 3, err), KV_ERR_INTERNAL);
    assert_non_null(strstr(err, "already in journal"));
    free(tu_read(f->path, &after));
    assert_int_equal(after, before);
    assert_int_equal(journal_trials(j), 2);
    const trial_record *ok[3] = {&t[0], &t[1], &t[3]}; /* 4, 3, 5 */
    assert_int_equal(journal_append_batch(j, ok, 3, err), KV_OK);
    assert_int_equal(journal_trials(j), 5);
    assert_int_equal(journal_append(j, &t[1], err), KV_ERR_INTERNAL);
    journal_close(j);
    journal_data *d = NULL;
    assert_int_equal(journal_load(f->path, &d, err), KV_OK);
    assert_int_equal(d->n_trials, 5);
    assert_int_equal(d->duplicate_trials, 0);
    assert_int_equal(d->trials[2].plan_index, 4);
    assert_int_equal(d->trials[3].plan_index, 3);
    assert_int_equal(d->trials[4].plan_index, 5);
    assert_trial_equal(&d->trials[2], &t[0]);
    assert_trial_equal(&d->trials[4], &t[3]);
    journal_data_free(d);
    for (int i = 0; i < 4; i++)
        trial_record_clear(&t[i]);
    journal_header_clear(&h);
}

static void journal_should_remove_a_partial_line_when_the_disk_is_full(void **state)
{
    fixture *f = *state;
    create_journal(f->path, 2);
    size_t len0 = 0;
    char *before = tu_read(f->path, &len0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* the file may grow by 100 bytes only: the write comes up short
         * (EFBIG, as ENOSPC would) after a partial line is on disk */
        journal_header h;
        journal *j = NULL;
        char err[KV_ERRLEN] = "";
        make_header(&h, 0x0123456789abcdefULL, 7, PLANNED);
        if (journal_open(f->path, &h, true, NULL, &j, err) != KV_OK)
            _exit(2);
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = {(rlim_t)len0 + 100, (rlim_t)len0 + 100};
        if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
            _exit(3);
        trial_record t;
        make_trial(&t, 9, 5000);
        kv_status st = journal_append(j, &t, err);
        trial_record_clear(&t);
        _exit(st == KV_ERR_IO && strstr(err, "the partial line was removed") ? 0 : 4);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_unchanged(f->path, before, len0);
}

/* The child of the crash test: resume, then append every missing trial with
 * long lines until killed. */
static void crash_child(const char *path, size_t planned) __attribute__((noreturn));
static void crash_child(const char *path, size_t planned)
{
    journal_header h;
    journal *j = NULL;
    char err[KV_ERRLEN] = "";
    bool *done = calloc(planned, sizeof *done);
    make_header(&h, 0x0123456789abcdefULL, 7, planned);
    if (!done || journal_open(path, &h, true, done, &j, err) != KV_OK)
        _exit(2);
    for (size_t i = 0; i < planned; i++) {
        if (done[i])
            continue;
        trial_record t;
        make_trial(&t, i, 20000 + (i * 7919) % 60000);
        kv_status st = journal_append(j, &t, err);
        trial_record_clear(&t);
        if (st != KV_OK)
            _exit(3);
    }
    journal_close(j);
    _exit(0);
}

static void journal_should_survive_kill_9_at_random_moments(void **state)
{
    fixture *f = *state;
    enum { CRASH_PLANNED = 150, KILLS = 10 };
    uint64_t rng = 20250101;
    size_t repaired_total = 0, completed_early = 0;
    char err[KV_ERRLEN] = "";
    journal_header h;
    make_header(&h, 0x0123456789abcdefULL, 7, CRASH_PLANNED);
    for (int k = 0; k <= KILLS; k++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
            crash_child(f->path, CRASH_PLANNED);
        int status = 0;
        if (k < KILLS) {
            rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
            struct timespec ts = {0, (long)((rng >> 33) % 40000000)}; /* 0-40 ms */
            nanosleep(&ts, NULL);
            kill(pid, SIGKILL);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (WIFEXITED(status)) {
            assert_int_equal(WEXITSTATUS(status), 0);
            completed_early += k < KILLS;
        }
        /* the next runner resumes: every line valid, no duplicates */
        journal *j = NULL;
        bool done[CRASH_PLANNED];
        kv_status st = journal_open(f->path, &h, true, done, &j, err);
        if (st != KV_OK)
            fail_msg("resume after kill %d: %s", k, err);
        assert_int_equal(journal_duplicates(j), 0);
        repaired_total += journal_repaired_bytes(j);
        journal_close(j);
        journal_data *d = NULL;
        st = journal_load(f->path, &d, err);
        if (st != KV_OK)
            fail_msg("load after kill %d: %s", k, err);
        assert_int_equal(d->torn_lines, 0);
        assert_int_equal(d->duplicate_trials, 0);
        journal_data_free(d);
    }
    journal_data *d = NULL;
    assert_int_equal(journal_load(f->path, &d, err), KV_OK);
    assert_int_equal(d->n_trials, CRASH_PLANNED);
    bool seen[CRASH_PLANNED] = {0};
    for (size_t i = 0; i < d->n_trials; i++) {
        assert_false(seen[d->trials[i].plan_index]);
        seen[d->trials[i].plan_index] = true;
        trial_record want;
        make_trial(&want, d->trials[i].plan_index,
                   20000 + (d->trials[i].plan_index * 7919) % 60000);
        assert_trial_equal(&d->trials[i], &want);
        trial_record_clear(&want);
    }
    print_message("crash test: %d kills, %zu torn bytes repaired, %zu runs finished before "
                  "their kill\n",
                  KILLS, repaired_total, completed_early);
    journal_data_free(d);
    journal_header_clear(&h);
}

static void journal_load_should_reject_bad_journals_with_exact_messages(void **state)
{
    (void)state;
    assert_true(tu_each_rejected(TU_BAD_JOURNALS, tu_load_no_journal) >= 6);
}

static void journal_load_should_read_the_good_fixture(void **state)
{
    (void)state;
    journal_data *d = NULL;
    char err[KV_ERRLEN] = "";
    kv_status st = journal_load("tests/fixtures/journals/good.jsonl", &d, err);
    if (st != KV_OK)
        fail_msg("%s", err);
    assert_int_equal(d->n_trials, 2);
    assert_int_equal(d->torn_lines, 1);
    assert_true(isnan(d->trials[0].turns[0].ttft_ms));
    assert_int_equal(d->trials[0].turns[0].cached_tokens, -1);
    journal_data_free(d);
}

static void journal_load_should_name_a_missing_file(void **state)
{
    (void)state;
    char err[KV_ERRLEN] = "";
    assert_int_equal(tu_load_no_journal("tests/fixtures/journals/no-such.jsonl", err), KV_ERR_IO);
    assert_non_null(strstr(err, "no-such.jsonl"));
}

static void journal_describe_host_should_name_host_cpu_and_os(void **state)
{
    (void)state;
    char *host = NULL;
    char err[KV_ERRLEN] = "";
    assert_int_equal(journal_describe_host("100 us scheduler slice", &host, err), KV_OK);
    const char *first = strstr(host, "; ");
    assert_non_null(first);
    const char *second = strstr(first + 2, "; ");
    assert_non_null(second);
    assert_non_null(strstr(first, " x")); /* the online CPUs after the model */
    assert_non_null(strstr(second, "Linux"));
    const char *last = strrchr(host, ';');
    assert_string_equal(last, "; 100 us scheduler slice");
    free(host);
    assert_int_equal(journal_describe_host(NULL, &host, err), KV_OK);
    assert_null(strstr(host, "slice")); /* no scheduling part */
    free(host);
}

/* Bytes that are not UTF-8 (a server's, in a reason or raw) are written as
 * U+FFFD: the line stays loadable by any JSON reader. */
static void journal_lines_should_be_strict_utf8_whatever_the_strings_hold(void **state)
{
    (void)state;
    trial_record t;
    make_trial(&t, 3, 0);
    snprintf(t.error, sizeof t.error, "HTTP 500: bad \xff\xfe and cut \xe4\xb8");
    free(t.turns[0].raw);
    t.turns[0].raw = tu_strdup("{\"note\":\"\xc3\x28 \xed\xa0\x80\"}");
    kv_buf line = {0};
    char err[KV_ERRLEN] = "";
    assert_int_equal(journal_trial_to_json(&t, &line, err), KV_OK);
    assert_int_equal(jsonlcheck_bad_utf8((const unsigned char *)line.data, line.len), line.len);
    assert_non_null(strstr(line.data, "bad \xef\xbf\xbd\xef\xbf\xbd and cut \xef\xbf\xbd"));
    trial_record back;
    memset(&back, 0, sizeof back);
    assert_int_equal(journal_trial_from_json(line.data, line.len, "mem:1", 10, &back, err), KV_OK);
    assert_string_equal(back.error, "HTTP 500: bad \xef\xbf\xbd\xef\xbf\xbd and cut \xef\xbf\xbd");
    trial_record_clear(&back);
    trial_record_clear(&t);
    kv_buf_free(&line);
}

/* A line an older kvproof wrote with stray bytes (fuzz corpus
 * regress-invalid-utf8-grows) is read as the writer would write it now
 * (U+FFFD): a name its repair makes too long is refused naming the field,
 * instead of being accepted and then written as a line that does not load. */
static void journal_should_read_a_line_that_is_not_utf8_as_its_repair(void **state)
{
    (void)state;
    char *line = NULL, err[KV_ERRLEN] = "";
    size_t len = 0;
    assert_int_equal(kv_read_file("fuzz/corpus/journal_trial/regress-invalid-utf8-grows.jsonl",
                                  &line, &len, err),
                     KV_OK);
    while (len && line[len - 1] == '\n')
        len--;
    trial_record t;
    memset(&t, 0, sizeof t);
    assert_int_equal(journal_trial_from_json(line, len, "old:1", SIZE_MAX, &t, err), KV_ERR_INPUT);
    assert_non_null(strstr(err, "old:1: $.target_name: expected a string of at most 127 bytes"));
    trial_record_clear(&t);
    free(line);
}

TU_MAIN(NULL, NULL,
        cmocka_unit_test_setup_teardown(journal_should_round_trip_every_field, setup, teardown),
        cmocka_unit_test_setup_teardown(journal_should_repair_a_torn_last_line_on_resume, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(journal_should_rewrite_a_torn_header_on_resume, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(journal_should_create_a_missing_journal_on_resume, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(journal_should_refuse_a_second_runner_while_locked, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            journal_should_refuse_to_resume_for_a_different_spec_or_seed, setup, teardown),
        cmocka_unit_test_setup_teardown(journal_should_never_write_a_trial_twice, setup, teardown),
        cmocka_unit_test_setup_teardown(journal_should_append_a_batch_whole_or_not_at_all, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(journal_should_remove_a_partial_line_when_the_disk_is_full,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(journal_should_survive_kill_9_at_random_moments, setup,
                                        teardown),
        cmocka_unit_test(journal_load_should_reject_bad_journals_with_exact_messages),
        cmocka_unit_test(journal_load_should_read_the_good_fixture),
        cmocka_unit_test(journal_lines_should_be_strict_utf8_whatever_the_strings_hold),
        cmocka_unit_test(journal_should_read_a_line_that_is_not_utf8_as_its_repair),
        cmocka_unit_test(journal_load_should_name_a_missing_file),
        cmocka_unit_test(journal_describe_host_should_name_host_cpu_and_os))
