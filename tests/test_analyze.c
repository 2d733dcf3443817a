/* test_analyze.c - 'kvproof analyze' (the built binary, KVPROOF_BIN) on the
 * journal of one demo run, with no server running: it reproduces the
 * results.json the run wrote, merges two half-journals from two client
 * hosts into the full plan's results, refuses the same journal twice and
 * journals of different specs, analyses an incomplete journal and names
 * what it lacks; merges journals of different specs by cells when asked
 * (saying which cells came from where, leaving out cells the first lacks);
 * and journal_merge renumbers run positions that repeat across hosts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "common/util.h"
#include "experiments/journal.h"
#include "experiments/journal_merge.h"
#include "tests/testutil.h"

typedef struct fixture {
    char dir[64];      /* scratch directory */
    char run[128];     /* the demo's run directory */
    char journal[192]; /* its journal.jsonl */
} fixture;

/* Runs `kvproof ARGS` with stdout and stderr into dir/out.txt; returns the
 * exit code and, when text is not NULL, the output (malloc'd). */
static int kvproof(const fixture *f, const char *args, char **text)
{
    char cmd[2048], log[128];
    snprintf(log, sizeof log, "%s/out.txt", f->dir);
    snprintf(cmd, sizeof cmd, "'%s' %s > '%s' 2>&1", tu_bin(), args, log);
    int status = system(cmd);
    assert_true(WIFEXITED(status));
    if (text) {
        size_t len = 0;
        char err[KV_ERRLEN] = "";
        assert_int_equal(kv_read_file(log, text, &len, err), KV_OK);
    }
    return WEXITSTATUS(status);
}

/* True when the two results.json are equal apart from their source and,
 * when drop_host, the client host. */
static bool results_equal(const char *a_path, const char *b_path, bool drop_host)
{
    cJSON *a = tu_read_json(a_path), *b = tu_read_json(b_path);
    cJSON *docs[2] = {a, b};
    for (int i = 0; i < 2; i++) {
        cJSON_DeleteItemFromObjectCaseSensitive(docs[i], "source");
        cJSON *env = cJSON_GetObjectItemCaseSensitive(docs[i], "environment");
        if (drop_host)
            cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(env, "client"),
                                                    "host");
    }
    bool eq = cJSON_Compare(a, b, true);
    cJSON_Delete(a);
    cJSON_Delete(b);
    return eq;
}

/* kvproof(f, args) that fails the test unless it exits 0; its output. */
static char *analyze_ok(const fixture *f, const char *args)
{
    char *text = NULL;
    int code = kvproof(f, args, &text);
    if (code != 0)
        fail_msg("analyze exit %d:\n%s", code, text);
    return text;
}

/* results_equal of the demo run's results.json and res. */
static bool same_as_run(const fixture *f, const char *res, bool drop_host)
{
    char run_res[256];
    snprintf(run_res, sizeof run_res, "%s/results.json", f->run);
    return results_equal(run_res, res, drop_host);
}

/* Writes the header of src with client_host set to host (and spec_hash to
 * hash when not NULL), then every trial line i with i % every == part. */
static void write_part(const char *src, const char *dst, const char *host, const char *hash,
                       size_t every, size_t part)
{
    char *text = NULL, err[KV_ERRLEN] = "";
    size_t len = 0;
    assert_int_equal(kv_read_file(src, &text, &len, err), KV_OK);
    FILE *out = fopen(dst, "w");
    assert_non_null(out);
    char *line = text;
    for (size_t i = 0; *line; i++) {
        char *nl = strchr(line, '\n');
        assert_non_null(nl);
        *nl = '\0';
        if (i == 0) {
            cJSON *h = cJSON_Parse(line);
            assert_non_null(h);
            cJSON_ReplaceItemInObjectCaseSensitive(h, "client_host", cJSON_CreateString(host));
            if (hash)
                cJSON_ReplaceItemInObjectCaseSensitive(h, "spec_hash", cJSON_CreateString(hash));
            char *s = cJSON_PrintUnformatted(h);
            fprintf(out, "%s\n", s);
            cJSON_free(s);
            cJSON_Delete(h);
        } else if ((i - 1) % every == part) {
            fprintf(out, "%s\n", line);
        }
        line = nl + 1;
    }
    fclose(out);
    free(text);
}

/* The halves of the demo's journal for a merge: write_part into
 * DIR/TAG-a.jsonl (client host "host-a" + host_tail, part 0) and
 * DIR/TAG-b.jsonl ("host-b" + host_tail, spec_hash hash_b when not NULL,
 * part part_b), their paths in a and b (192 bytes each). */
typedef struct halves {
    const char *tag, *host_tail, *hash_b;
    size_t every, part_b;
} halves;

static void write_halves(const fixture *f, halves h, char *a, char *b)
{
    char host[64];
    snprintf(a, 192, "%s/%s-a.jsonl", f->dir, h.tag);
    snprintf(b, 192, "%s/%s-b.jsonl", f->dir, h.tag);
    snprintf(host, sizeof host, "host-a%s", h.host_tail);
    write_part(f->journal, a, host, NULL, h.every, 0);
    snprintf(host, sizeof host, "host-b%s", h.host_tail);
    write_part(f->journal, b, host, h.hash_b, h.every, h.part_b);
}

/* write_halves, both loaded into parts. */
static void load_halves(const fixture *f, halves h, char *a, char *b, journal_data *parts[2])
{
    char err[KV_ERRLEN] = "";
    write_halves(f, h, a, b);
    assert_int_equal(journal_load(a, &parts[0], err), KV_OK);
    assert_int_equal(journal_load(b, &parts[1], err), KV_OK);
}

/* Trials of part p in a merge report. */
static size_t parts_total(journal_merge_report rep, size_t p)
{
    size_t n = 0;
    for (size_t c = 0; c < rep.n_cells; c++)
        n += rep.cells[c].trials[p];
    return n;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    tu_tmpdir(f->dir, sizeof f->dir, "analyze");
    snprintf(f->run, sizeof f->run, "%s/run", f->dir);
    snprintf(f->journal, sizeof f->journal, "%s/journal.jsonl", f->run);
    char args[512];
    snprintf(args, sizeof args, "demo --out '%s' --time-scale 0.0001 --quiet", f->run);
    char *text = NULL;
    int code = kvproof(f, args, &text);
    if (code != 0)
        fail_msg("demo exit %d:\n%s", code, text);
    free(text);
    *state = f;
    return 0;
}

static void analyze_should_reproduce_the_results_run_wrote_without_a_server(void **state)
{
    fixture *f = *state;
    char args[512], copy[192], out[192], res[256];
    /* The journal alone, in another directory: no spec file, no server. */
    snprintf(copy, sizeof copy, "%s/copy.jsonl", f->dir);
    snprintf(args, sizeof args, "cp '%s' '%s'", f->journal, copy);
    assert_int_equal(system(args), 0);
    snprintf(out, sizeof out, "%s/analysed", f->dir);
    snprintf(args, sizeof args, "analyze '%s' --out '%s'", copy, out);
    char *text = analyze_ok(f, args);
    assert_non_null(strstr(text, "report:"));
    assert_non_null(strstr(text, "[SIMULATED TARGET] Verdict:"));
    assert_null(strstr(text, "incomplete"));
    free(text);
    snprintf(res, sizeof res, "%s/results.json", out);
    assert_true(same_as_run(f, res, false));
    snprintf(res, sizeof res, "%s/report.pdf", out);
    assert_int_equal(access(res, R_OK), 0);
}

static void analyze_should_merge_two_half_journals_from_two_client_hosts(void **state)
{
    fixture *f = *state;
    char a[192], b[192], out[192], args[768], res[256];
    write_halves(f, (halves){"half", "; cpu; os", NULL, 2, 1}, a, b);
    snprintf(out, sizeof out, "%s/merged", f->dir);
    snprintf(args, sizeof args, "analyze '%s' '%s' --out '%s'", b, a, out);
    char *text = analyze_ok(f, args);
    assert_non_null(strstr(text, "2 journals merged"));
    assert_null(strstr(text, "incomplete"));
    free(text);
    snprintf(res, sizeof res, "%s/results.json", out);
    assert_true(same_as_run(f, res, true));
    cJSON *r = tu_read_json(res);
    const cJSON *host = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(r, "environment"),
                                         "client"),
        "host");
    assert_true(cJSON_IsString(host));
    assert_non_null(strstr(host->valuestring, "host-a"));
    assert_non_null(strstr(host->valuestring, "host-b"));
    assert_false(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "partial")));
    cJSON_Delete(r);
}

static void analyze_should_refuse_the_same_journal_given_twice_naming_the_ids(void **state)
{
    fixture *f = *state;
    char args[768], out[192];
    snprintf(out, sizeof out, "%s/twice", f->dir);
    snprintf(args, sizeof args, "analyze '%s' '%s' --out '%s'", f->journal, f->run, out);
    char *text = NULL;
    assert_int_equal(kvproof(f, args, &text), 3);
    assert_non_null(strstr(text, "repeats 162 trial(s)"));
    assert_non_null(strstr(text, "reference/"));
    assert_non_null(strstr(text, "and 157 more"));
    free(text);
    snprintf(args, sizeof args, "%s/results.json", out);
    assert_int_not_equal(access(args, F_OK), 0);
}

static void analyze_should_refuse_journals_of_different_specs(void **state)
{
    fixture *f = *state;
    char a[192], b[192], args[768];
    write_halves(f, (halves){"spec", "", "00000000000000ff", 2, 1}, a, b);
    snprintf(args, sizeof args, "analyze '%s' '%s' --out '%s/diff'", a, b, f->dir);
    char *text = NULL;
    assert_int_equal(kvproof(f, args, &text), 3);
    assert_non_null(strstr(text, "different specs"));
    assert_non_null(strstr(text, "spec-b.jsonl"));
    free(text);
}

static void analyze_should_merge_journals_of_different_specs_by_cells_when_asked(void **state)
{
    fixture *f = *state;
    char a[192], b[192], args[768], res[256], run_res[256];
    write_halves(f, (halves){"cells", "", "00000000000000ff", 2, 1}, a, b);
    snprintf(args, sizeof args, "analyze '%s' '%s' --out '%s/cells' --merge-cells", a, b, f->dir);
    char *text = analyze_ok(f, args);
    assert_non_null(strstr(text, "merged by cells: the analysis has the cells of"));
    assert_non_null(strstr(text, "reference s18490 q25 n1 cold: "));
    assert_non_null(strstr(text, "cells-b.jsonl"));
    free(text);
    /* The halves' cells coincide except where one half has none of a
     * cell's trials: then the cell is the first half's only if it has it. */
    snprintf(res, sizeof res, "%s/cells/results.json", f->dir);
    snprintf(run_res, sizeof run_res, "%s/results.json", f->run);
    cJSON *r = tu_read_json(res), *full = tu_read_json(run_res);
    const cJSON *got = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(r, "counts"), "completed");
    const cJSON *want = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(full, "counts"), "completed");
    assert_true(got->valuedouble <= want->valuedouble);
    assert_true(got->valuedouble >= want->valuedouble - 10);
    cJSON_Delete(r);
    cJSON_Delete(full);
}

static void merge_by_cells_should_leave_out_cells_the_first_journal_lacks(void **state)
{
    fixture *f = *state;
    char a[192], b[192], err[KV_ERRLEN] = "";
    journal_data *parts[2] = {NULL, NULL};
    load_halves(f, (halves){"lack", "", "00000000000000ff", 1, 0}, a, b, parts);
    size_t n_b = parts[1]->n_trials;
    for (size_t i = 0; i < 3; i++)
        parts[1]->trials[i].system_prompt_tokens = 777; /* a cell the first lacks */
    const char *names[2] = {a, b};
    journal_data *m = NULL;
    journal_merge_report rep;
    if (journal_merge_cells(parts, names, 2, &m, &rep, err) != KV_OK)
        fail_msg("%s", err);
    assert_int_equal(rep.left_out[1], 3);
    assert_int_equal(m->n_trials, parts_total(rep, 0) + n_b - 3);
    size_t from_b = 0;
    for (size_t c = 0; c < rep.n_cells; c++)
        from_b += rep.cells[c].trials[1];
    assert_int_equal(from_b, n_b - 3);
    journal_merge_report_free(&rep);
    journal_data_free(m);
}

static void analyze_should_analyse_an_incomplete_journal_and_name_what_is_missing(void **state)
{
    fixture *f = *state;
    char a[192], args[768], res[256];
    snprintf(a, sizeof a, "%s/third.jsonl", f->dir);
    write_part(f->journal, a, "host-a", NULL, 3, 0);
    snprintf(args, sizeof args, "analyze '%s' --out '%s/third'", a, f->dir);
    char *text = analyze_ok(f, args);
    assert_non_null(
        strstr(text, "incomplete: 108 of the plan's 162 trials are not in the journal"));
    assert_non_null(strstr(text, "PARTIAL RUN"));
    free(text);
    snprintf(res, sizeof res, "%s/third/results.json", f->dir);
    cJSON *r = tu_read_json(res);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "partial")));
    cJSON_Delete(r);
}

static void merge_should_renumber_run_positions_that_repeat_across_hosts(void **state)
{
    fixture *f = *state;
    char a[192], b[192], err[KV_ERRLEN] = "";
    journal_data *parts[2] = {NULL, NULL};
    load_halves(f, (halves){"pos", "", NULL, 2, 1}, a, b, parts);
    /* Both clients count their own positions from 0, as two runs would. */
    for (size_t p = 0; p < 2; p++)
        for (size_t i = 0; i < parts[p]->n_trials; i++)
            parts[p]->trials[i].run_position = i;
    size_t total = parts[0]->n_trials + parts[1]->n_trials;
    const char *names[2] = {a, b};
    journal_data *m = NULL;
    if (journal_merge(parts, names, 2, &m, err) != KV_OK)
        fail_msg("%s", err);
    assert_null(parts[0]);
    assert_null(parts[1]);
    assert_int_equal(m->n_trials, total);
    for (size_t i = 0; i < m->n_trials; i++) {
        assert_int_equal(m->trials[i].run_position, i);
        if (i > 0)
            assert_true(m->trials[i].started_unix >= m->trials[i - 1].started_unix);
    }
    assert_string_equal(m->header.client_host, "host-a + host-b");
    journal_data_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(analyze_should_reproduce_the_results_run_wrote_without_a_server),
        cmocka_unit_test(analyze_should_merge_two_half_journals_from_two_client_hosts),
        cmocka_unit_test(analyze_should_refuse_the_same_journal_given_twice_naming_the_ids),
        cmocka_unit_test(analyze_should_refuse_journals_of_different_specs),
        cmocka_unit_test(analyze_should_merge_journals_of_different_specs_by_cells_when_asked),
        cmocka_unit_test(merge_by_cells_should_leave_out_cells_the_first_journal_lacks),
        cmocka_unit_test(analyze_should_analyse_an_incomplete_journal_and_name_what_is_missing),
        cmocka_unit_test(merge_should_renumber_run_positions_that_repeat_across_hosts),
    };
    return cmocka_run_group_tests(tests, setup, tu_teardown_dir);
}
