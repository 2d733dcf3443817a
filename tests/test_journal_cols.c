/* test_journal_cols.c - the one journal reader (experiments/journal_cols.h):
 * its columns hold what the records hold, results computed from them equal
 * results from the records on the committed journals, bad lines give the
 * loader's file:line:field messages (and `kvproof analyze` exits 3), lines
 * that straddle its read chunks, torn last lines and repeated plan indexes
 * are read as journal_load reads them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "experiments/journal.h"
#include "experiments/journal_cols.h"
#include "stats/results.h"
#include "stats/warm.h"
#include "tests/testutil.h"

/* Every column equals the record field it comes from. */
static void assert_cols_equal_records(const journal_cols *j, const journal_data *d)
{
    assert_int_equal(j->n_trials, d->n_trials);
    assert_int_equal(j->torn_lines, d->torn_lines);
    assert_int_equal(j->duplicate_trials, d->duplicate_trials);
    assert_int_equal(j->h->planned_trials, d->header.planned_trials);
    size_t q = 0;
    for (size_t i = 0; i < d->n_trials; i++) {
        const trial_record *t = &d->trials[i];
        assert_int_equal(j->plan_index[i], t->plan_index);
        assert_int_equal(j->kind[i], t->kind);
        assert_int_equal(j->target[i], t->target);
        assert_int_equal(j->cell[i], t->cell);
        assert_int_equal(j->sys[i], t->system_prompt_tokens);
        assert_int_equal(j->query[i], t->query_tokens);
        assert_int_equal(j->count[i], t->query_count);
        assert_int_equal(j->mode[i], t->mode);
        assert_int_equal(j->run_position[i], t->run_position);
        assert_int_equal(j->ok[i], t->ok);
        assert_int_equal(j->contaminated[i], t->contaminated);
        assert_int_equal(j->turn0[i], q);
        assert_int_equal(j->n_turns[i], t->n_turns);
        for (size_t k = 0; k < t->n_turns; k++, q++) {
            const trial_request *r = &t->turns[k];
            assert_int_equal(j->turn[q], r->turn);

            assert_int_equal(j->turn_ok[q], r->ok);
            assert_int_equal(j->cache_state[q], r->cache_state);
            assert_int_equal(j->prompt_tokens[q], r->prompt_tokens);
            assert_int_equal(j->cached_tokens[q], r->cached_tokens);
            assert_int_equal(j->prefix_tokens[q], r->prefix_tokens);
            tu_assert_same_double(j->ttft_ms[q], r->ttft_ms);
            tu_assert_same_double(j->total_ms[q], r->total_ms);
            tu_assert_same_double(j->server_prefill_ms[q], r->server_prefill_ms);
        }
        if (t->target < j->n_target_names)
            assert_non_null(j->target_names[t->target]);
    }
    assert_int_equal(j->n_turns_all, q);
}

/* results.json text from the records and from the columns of path. */
static void assert_same_results(const char *path)
{
    char err[KV_ERRLEN] = "";
    journal_data *d = NULL;
    journal_cols *j = NULL;
    if (journal_load(path, &d, err) != KV_OK || journal_cols_load(path, &j, err) != KV_OK)
        fail_msg("%s: %s", path, err);
    assert_cols_equal_records(j, d);
    kv_buf a = {0}, b = {0};
    kv_status sa = results_from_data(d, path, NULL, &a, err);
    kv_status sb = results_from_cols(j, path, NULL, &b, err);
    assert_int_equal(sa, sb);
    if (sa == KV_OK) {
        assert_int_equal(a.len, b.len);
        assert_memory_equal(a.data, b.data, a.len);
    }
    kv_buf_free(&a);
    kv_buf_free(&b);
    journal_cols_free(j);
    journal_data_free(d);
}

static void columns_should_give_the_records_results_on_the_committed_journals(void **state)
{
    (void)state;
    static const char *const names[] = {"results/demo", "results/two_targets", "results/degenerate",
                                        "good"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[128];
        snprintf(path, sizeof path, "tests/fixtures/journals/%s.jsonl", names[i]);
        assert_same_results(path);
    }
}

static void columns_should_reject_bad_journals_with_the_loaders_messages(void **state)
{
    (void)state;
    assert_true(tu_each_rejected(TU_BAD_JOURNALS, tu_load_no_columns) >= 6);
}

/* kvproof analyze on a bad journal: exit 3 and the file:line:field message. */
static void analyze_should_exit_3_naming_the_line_and_field_of_a_bad_journal(void **state)
{
    (void)state;
    const char *bin = getenv("KVPROOF_BIN");
    if (!bin)
        skip();
    char dir[] = "/tmp/kvproof-cols-XXXXXX", cmd[2048], log[128];
    assert_non_null(mkdtemp(dir));
    snprintf(log, sizeof log, "%s/stderr", dir);
    snprintf(cmd, sizeof cmd, "'%s' analyze %s/missing_turns.jsonl --out %s/out 2>%s >/dev/null",
             bin, TU_BAD_JOURNALS, dir, log);
    int rc = system(cmd);
    assert_true(WIFEXITED(rc));
    assert_int_equal(WEXITSTATUS(rc), 3);
    size_t len = 0;
    char *text = tu_read(log, &len);
    assert_non_null(
        strstr(text, TU_BAD_JOURNALS "/missing_turns.jsonl:2: $.turns: expected an array"));
    free(text);
    remove(log);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* A trial with a padded raw field, so lines vary in length and straddle the
 * reader's 1 MiB chunks. */
static void trial_make(trial_record *t, size_t idx)
{
    memset(t, 0, sizeof *t);
    t->plan_index = idx;
    snprintf(t->id, sizeof t->id, "t/s%zu/r%zu", idx % 5, idx);
    t->kind = idx < 3 ? PLAN_WARMUP : PLAN_MEASURE;
    snprintf(t->target_name, sizeof t->target_name, "reference");
    t->cell = idx % 10;
    t->system_prompt_tokens = (long)(idx % 5) * 1000;
    t->query_tokens = 25;
    t->query_count = 1;
    t->mode = idx % 2 ? SPEC_WARM : SPEC_COLD;
    t->run_position = idx;
    t->started_unix = 1764547200.0 + (double)idx;
    t->ok = idx % 97 != 5;
    snprintf(t->error, sizeof t->error, "%s", t->ok ? "" : "HTTP 503");
    t->n_turns = 1;
    t->turns = calloc(1, sizeof *t->turns);
    assert_non_null(t->turns);
    trial_request *q = t->turns;
    q->turn = q->attempts = 1;
    q->ok = t->ok;
    q->prompt_tokens = t->system_prompt_tokens + 25;
    q->cached_tokens = t->mode == SPEC_WARM ? t->system_prompt_tokens : 0;
    q->prefix_tokens = t->mode == SPEC_WARM ? t->system_prompt_tokens : 0;
    q->cache_state = TRIAL_CACHE_VERIFIED;
    q->ttfb_ms = q->first_content_ms = q->last_token_ms = NAN;
    q->gap_median_ms = q->gap_p99_ms = q->server_overhead_us = NAN;
    q->ttft_ms = 10.0 + (double)(idx % 13) + 0.001 * (double)idx;
    q->total_ms = q->ttft_ms + 20;
    q->server_prefill_ms = idx % 3 ? q->ttft_ms * 0.9 : NAN;
    kv_buf raw = {0};
    assert_int_equal(kv_buf_appendf(&raw, "{\"pad\":\"%*s\"}", (int)(idx * 37 % 900), ""), KV_OK);
    q->raw = raw.data;
}

static void columns_should_read_a_long_journal_with_a_repeat_and_a_torn_line(void **state)
{
    (void)state;
    enum { N = 4000 };
    char dir[] = "/tmp/kvproof-cols-XXXXXX", path[128], err[KV_ERRLEN] = "";
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/journal.jsonl", dir);
    char version[] = "test", name[] = "cols", host[] = "test", spec_json[] = "{}";
    journal_header h = {.kvproof_version = version,
                        .spec_name = name,
                        .planned_trials = N,
                        .client_host = host,
                        .spec_json = spec_json};
    journal *jn = NULL;
    if (journal_open(path, &h, false, NULL, &jn, err) != KV_OK)
        fail_msg("%s", err);
    for (size_t i = 0; i < N; i++) {
        trial_record t;
        trial_make(&t, i);
        if (journal_append(jn, &t, err) != KV_OK)
            fail_msg("%s", err);
        trial_record_clear(&t);
    }
    journal_close(jn);
    /* a repeated plan index (a second host's copy, say) and a crash mid-line */
    FILE *f = fopen(path, "a");
    assert_non_null(f);
    kv_buf line = {0};
    trial_record t;
    trial_make(&t, 17);
    t.turns[0].ttft_ms = 999;
    assert_int_equal(journal_trial_to_json(&t, &line, err), KV_OK);
    trial_record_clear(&t);
    fprintf(f, "%s\n{\"type\":\"trial\",\"plan_in", line.data);
    kv_buf_free(&line);
    assert_int_equal(fclose(f), 0);
    size_t len = 0;
    free(tu_read(path, &len));
    assert_true(len > ((size_t)2 << 20)); /* more than two read chunks */
    journal_data *d = NULL;
    journal_cols *j = NULL;
    assert_int_equal(journal_load(path, &d, err), KV_OK);
    assert_int_equal(journal_cols_load(path, &j, err), KV_OK);
    assert_int_equal(j->n_trials, N);
    assert_int_equal(j->duplicate_trials, 1);
    assert_int_equal(j->torn_lines, 1);
    assert_true(j->ttft_ms[j->turn0[17]] != 999); /* the first line of an index is kept */
    assert_int_equal(j->n_failures, N / 97 + (N % 97 > 5));
    assert_string_equal(j->failures[0].error, "HTTP 503");
    assert_cols_equal_records(j, d);
    journal_cols_free(j);
    journal_data_free(d);
    remove(path);
    rmdir(dir);
}

/* Contention lines go to their own table (K from the id, else the largest
 * agent id + 1 of the cell, through warm_from_journal); the other trials
 * pay nothing for it. */
static void columns_should_keep_the_contention_requests_apart(void **state)
{
    (void)state;
    trial_record t[4];
    for (size_t i = 0; i < 4; i++) {
        trial_make(&t[i], 10 + i);
        t[i].kind = i == 0 ? PLAN_MEASURE : PLAN_CONTENTION;
        t[i].cell = 7;
        trial_request *q = &t[i].turns[0];
        q->ok = t[i].ok = true;
        q->in_contention = i > 0;
        q->agent = (long)i - 1;
        q->agent_position = (long)i;
        q->hit = TRIAL_HIT_FULL;
        q->slot_held = TRIAL_SLOT_OWN;
        q->after_resume = i == 3;
    }
    snprintf(t[1].id, sizeof t[1].id, "ref/contention/k4/s550/i0");
    snprintf(t[2].id, sizeof t[2].id, "ref/contention/x/s550/i1"); /* no K: from agents */
    t[3].turns[0].ok = false;
    journal_data d = {.trials = t, .n_trials = 4};
    journal_cols *j = NULL;
    char err[KV_ERRLEN] = "";
    assert_int_equal(journal_cols_from_data(&d, &j, err), KV_OK);
    assert_int_equal(j->n_trials, 4);
    assert_int_equal(j->n_contention, 3);
    assert_int_equal(j->contention[0].agents, 4);
    assert_int_equal(j->contention[1].agents, 0);
    assert_int_equal(j->contention[0].agent_position, 1);
    assert_int_equal(j->contention[0].hit, TRIAL_HIT_FULL);
    assert_int_equal(j->contention[2].hit, TRIAL_HIT_NONE); /* failed */
    assert_true(isnan(j->contention[2].ttft_ms));
    assert_true(j->contention[2].after_resume);
    journal_cols_free(j);
    warm_req *r = NULL;
    size_t n = 0;
    assert_int_equal(warm_from_journal(&d, &r, &n, err), KV_OK);
    assert_int_equal(n, 3);
    assert_int_equal(r[0].agents, 4);
    assert_int_equal(r[1].agents, 3); /* agents 0..2 in cell 7 */
    assert_int_equal(r[2].hit, TRIAL_HIT_NONE);
    free(r);
    for (size_t i = 0; i < 4; i++)
        trial_record_clear(&t[i]);
}

/* The columns are 32 bits wide: a value beyond them is refused by name,
 * never cut short. */
static void columns_should_refuse_a_token_count_beyond_their_width(void **state)
{
    (void)state;
    trial_record t;
    trial_make(&t, 4);
    t.system_prompt_tokens = 3000000000L;
    journal_data d = {.trials = &t, .n_trials = 1};
    journal_cols *j = NULL;
    char err[KV_ERRLEN] = "";
    assert_int_equal(journal_cols_from_data(&d, &j, err), KV_ERR_INPUT);
    assert_null(j);
    assert_non_null(strstr(err, "t/s4/r4: $.system_prompt_tokens: out of range"));
    trial_record_clear(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(columns_should_give_the_records_results_on_the_committed_journals),
        cmocka_unit_test(columns_should_reject_bad_journals_with_the_loaders_messages),
        cmocka_unit_test(analyze_should_exit_3_naming_the_line_and_field_of_a_bad_journal),
        cmocka_unit_test(columns_should_read_a_long_journal_with_a_repeat_and_a_torn_line),
        cmocka_unit_test(columns_should_keep_the_contention_requests_apart),
        cmocka_unit_test(columns_should_refuse_a_token_count_beyond_their_width),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
