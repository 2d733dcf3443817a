/* test_points_read.c - the points file next to results.json
 * (stats/results_schema.h, report/points_read.h): the committed fixture's
 * points file reads whole and pairs with its results.json; beyond the
 * limit a uniform, seeded subsample is kept in file order; a bad row is
 * named file:line: field; a pair from different runs and an edited file
 * are refused; 'kvproof report' exits 3 on a bad points file and renders
 * with a warning (exit 0) without one.
 *
 * Fixtures: tests/fixtures/results/demo.json and demo.points.csv
 * (scripts/make-results-fixtures.sh).
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

#include "common/util.h"
#include "report/points_read.h"
#include "report/results_read.h"
#include "stats/results_schema.h"
#include "tests/pdfcheck.h"
#include "tests/testutil.h"

#define FIX "tests/fixtures/results/"
#define DEMO_ROWS 250

/* ---- helpers ---- */

static char *fixture_text(size_t *len)
{
    char *text = NULL, err[KV_ERRLEN] = "";
    if (kv_read_file(FIX "demo.points.csv", &text, len, err) != KV_OK)
        fail_msg("%s", err);
    return text;
}

/* What demo.json says its points file holds. */
static points_expect demo_expect(rr_results **r, size_t limit, uint64_t seed)
{
    char err[KV_ERRLEN] = "";
    assert_int_equal(results_read_load(FIX "demo.json", r, err), KV_OK);
    points_expect ex = {(*r)->points_rows, (*r)->points_id, (long)(*r)->n_targets, limit, seed};
    return ex;
}

/* Reads text as a points file named "p.csv". */
static kv_status read_text(const char *text, size_t len, const points_expect *ex, points_sample *s,
                           char *err)
{
    FILE *f = fmemopen((void *)(uintptr_t)text, len, "r");
    assert_non_null(f);
    kv_status st = points_read_stream(f, "p.csv", ex, s, err);
    fclose(f);
    return st;
}

/* The start of line `line` (1-based) in text. */
static char *line_at(char *text, int line)
{
    char *p = text;
    for (int i = 1; i < line; i++) {
        p = strchr(p, '\n');
        assert_non_null(p);
        p++;
    }
    return p;
}

/* ---- reading ---- */

static void the_fixture_should_read_whole_and_pair_with_its_results(void **state)
{
    (void)state;
    rr_results *r = NULL;
    points_expect ex = demo_expect(&r, 0, POINTS_READ_SEED);
    assert_int_equal(ex.rows, DEMO_ROWS);
    points_sample s;
    int missing = 1;
    char err[KV_ERRLEN] = "";
    assert_int_equal(points_read_file(FIX "demo.points.csv", &ex, &s, &missing, err), KV_OK);
    assert_int_equal(missing, 0);
    assert_int_equal(s.total, DEMO_ROWS);
    assert_int_equal(s.n, DEMO_ROWS);
    size_t cold = 0, warm = 0;
    for (size_t i = 0; i < s.n; i++) {
        assert_true(s.rows[i].target == 0);
        assert_true(isfinite(s.rows[i].x) && isfinite(s.rows[i].ttft_ms));
        cold += !s.rows[i].warm;
        warm += s.rows[i].warm;
        if (i)
            assert_true(s.rows[i - 1].order <= s.rows[i].order); /* run order */
    }
    assert_int_equal(cold + warm, DEMO_ROWS);
    assert_true(cold > 0 && warm > 0);
    points_sample_free(&s);
    results_read_free(r);
}

static void beyond_the_limit_a_seeded_subsample_should_be_kept_in_file_order(void **state)
{
    (void)state;
    rr_results *r = NULL;
    size_t len = 0;
    char *text = fixture_text(&len), err[KV_ERRLEN] = "";
    points_expect ex = demo_expect(&r, 40, 7);
    points_sample a, b, c;
    assert_int_equal(read_text(text, len, &ex, &a, err), KV_OK);
    assert_int_equal(read_text(text, len, &ex, &b, err), KV_OK);
    ex.seed = 8;
    assert_int_equal(read_text(text, len, &ex, &c, err), KV_OK);
    assert_int_equal(a.total, DEMO_ROWS);
    assert_int_equal(a.n, 40);
    assert_int_equal(c.n, 40);
    int differ = 0, late = 0;
    for (size_t i = 0; i < a.n; i++) { /* same seed, same rows */
        assert_int_equal(a.rows[i].order, b.rows[i].order);
        assert_int_equal(a.rows[i].turn, b.rows[i].turn);
        assert_true(a.rows[i].ttft_ms == b.rows[i].ttft_ms);
    }
    for (size_t i = 0; i < a.n; i++) {
        differ |= a.rows[i].order != c.rows[i].order || a.rows[i].turn != c.rows[i].turn;
        late |= a.rows[i].order > 125; /* not just the first rows */
        if (i)
            assert_true(a.rows[i - 1].order <= a.rows[i].order);
    }
    assert_true(differ);
    assert_true(late);
    points_sample_free(&a);
    points_sample_free(&b);
    points_sample_free(&c);
    free(text);
    results_read_free(r);
}

/* ---- refusing ---- */

/* Reading text with its line `line` changed by edit must fail with a
 * message holding want. */
static void refused(const char *want, int line, void (*edit)(char *))
{
    rr_results *r = NULL;
    size_t len = 0;
    char *text = fixture_text(&len), err[KV_ERRLEN] = "";
    edit(line_at(text, line));
    points_expect ex = demo_expect(&r, 0, 1);
    points_sample s;
    assert_int_equal(read_text(text, strlen(text), &ex, &s, err), KV_ERR_INPUT);
    assert_null(s.rows);
    if (!strstr(err, want))
        fail_msg("expected \"%s\" in: %s", want, err);
    free(text);
    results_read_free(r);
}

static void ttft_to_word(char *l) /* line 10's ttft_ms (12th field) -> "fast" */
{
    char *p = l;
    for (int i = 0; i < 11; i++)
        p = strchr(p, ',') + 1;
    size_t n = strcspn(p, ",");
    char rest[512];
    snprintf(rest, sizeof rest, "%s", p + n);
    memcpy(p, "fast", 4);
    memmove(p + 4, rest, strlen(rest) + 1);
}
static void mode_to_hot(char *l) /* "0,N,1,cold,..." -> "0,N,1,hot,..." */
{
    char *m = strstr(l, ",cold,") ? strstr(l, ",cold,") : strstr(l, ",warm,");
    memmove(m + 4, m + 5, strlen(m + 5) + 1);
    memcpy(m + 1, "hot", 3);
}
static void drop_last_field(char *l)
{
    char *nl = strchr(l, '\n'), *c = nl;
    while (c[-1] != ',')
        c--;
    memmove(c - 1, nl, strlen(nl) + 1);
}
static void target_to_9(char *l)
{
    l[0] = '9';
}
static void digit_changed(char *l) /* a valid row, not what was written */
{
    char *p = strchr(l, ',') + 1;
    *p = *p == '9' ? '8' : (char)(*p + 1);
}
static void id_changed(char *l)
{
    char *p = strstr(l, "id=") + 3;
    *p = *p == 'f' ? '0' : 'f';
}
static void rows_changed(char *l)
{
    char *p = strstr(l, " id=") - 1;
    *p = '7';
}
static void version_2(char *l)
{
    l[17] = '2';
}
static void cut_short(char *l)
{
    l[5] = '\0';
}

/* A refused edit: the text the error must contain, and the line edit
 * changes. */
typedef struct refusal {
    const char *want;
    int line;
    void (*edit)(char *);
} refusal;

/* Each of a test's refused edits: the case in *state (a TU_CASE row). */
typedef struct refusals {
    const refusal *each;
    size_t n;
} refusals;

static void refusals_test(void **state)
{
    const refusals *c = *state;
    for (size_t i = 0; i < c->n; i++)
        refused(c->each[i].want, c->each[i].line, c->each[i].edit);
}

static const refusal bad_rows[] = {
    {"p.csv:10: field ttft_ms: expected a finite number", 10, ttft_to_word},
    {"p.csv:11: field mode: expected cold or warm", 11, mode_to_hot},
    {"p.csv:12: 14 fields, expected 15", 12, drop_last_field},
    {"p.csv:3: field target: 9, but results.json has 1 target", 3, target_to_9},
    {"p.csv:1: field version: 2", 1, version_2},
    {"p.csv:9: the last line is cut short", 9, cut_short},
};

/* A pair from different runs, or an edited file. */
static const refusal foreign_pairs[] = {
    {"field id", 1, id_changed},
    {"different runs", 1, id_changed},
    {"field rows", 1, rows_changed},
    {"edited or damaged", 40, digit_changed},
};

/* ---- the command ---- */

static void report_should_warn_without_a_points_file_and_exit_3_on_a_bad_one(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp("/tmp/kvpoints"), cmd[1024], out[8192];
    snprintf(cmd, sizeof cmd, "cp " FIX "demo.json '%s/results.json'", dir);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "report '%s'", dir);
    assert_int_equal(tu_kvproof_text(out, sizeof out, cmd), 0);
    assert_non_null(strstr(out, "warning"));
    assert_non_null(strstr(out, "points.csv"));
    char pdf[512];
    snprintf(pdf, sizeof pdf, "%s/report.pdf", dir);
    pdfcheck_assert_clean(pdf);
    snprintf(cmd, sizeof cmd, "pdftotext '%s' - | tr '\\n' ' '", pdf);
    assert_int_equal(pdfcheck_run(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "Points are not drawn"));

    size_t len = 0;
    char *text = fixture_text(&len);
    ttft_to_word(line_at(text, 10));
    char csv[512];
    snprintf(csv, sizeof csv, "%s/points.csv", dir);
    FILE *f = fopen(csv, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
    snprintf(cmd, sizeof cmd, "report '%s'", dir);
    assert_int_equal(tu_kvproof_text(out, sizeof out, cmd), 3);
    assert_non_null(strstr(out, "points.csv:10: field ttft_ms"));
    free(text);
    tu_rmtree_free(dir);
}

TU_MAIN(NULL, NULL, cmocka_unit_test(the_fixture_should_read_whole_and_pair_with_its_results),
        cmocka_unit_test(beyond_the_limit_a_seeded_subsample_should_be_kept_in_file_order),
        TU_CASE(a_bad_row_should_be_named_by_file_line_and_field, refusals_test, refusals, bad_rows,
                6),
        TU_CASE(a_pair_from_different_runs_or_an_edited_file_should_be_refused, refusals_test,
                refusals, foreign_pairs, 4),
        cmocka_unit_test(report_should_warn_without_a_points_file_and_exit_3_on_a_bad_one))
