/* test_change.c - kvproof compare (stats/change.h and the built binary)
 * on journals written by the journal writer from a known cost (20 ms +
 * 0.1 ms per prompt token, +-3% deterministic jitter): criterion.rs's
 * verdict rule; the same run with every time 30% longer reports the cold
 * slope and every cell regressed, every interval containing 1.3, the
 * speedup unchanged; warm requests alone 30% slower make the speedup
 * regressed; a copy
 * with +-2% jitter reports no change; compare.json holds the rows;
 * compare.pdf's page 1 shows every row's ratio, interval and verdict, and
 * the PDF passes tests/pdfcheck.h. */
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
#include "experiments/journal.h"
#include "stats/change.h"
#include "pdfcheck.h"
#include "tests/testutil.h"

#define N_SYS 4
#define REPS 8

typedef struct fixture {
    char dir[64];
    char journal[128]; /* the base run */
} fixture;

static void make_header(journal_header *h, size_t planned)
{
    tu_header(h, "change", "{\"name\":\"change\"}", planned, 1);
    h->spec_hash = 0x42;
    h->seed = 1;
    h->created_unix = 1735689600;
    h->targets[0].name = tu_strdup("local");
}

/* Writes a run: cold cells at four system prompts and a warm one, REPS
 * repetitions; ttft = factor (warm_factor for warm) * (20 + 0.1 * tokens) * (1 + jitter), the
 * jitter cycling through -3%, 0, +3% by repetition (shifted by phase,
 * scaled by amp). */
static void write_run(const char *path, double factor, double warm_factor, double amp, int phase)
{
    static const long sys[N_SYS] = {0, 1024, 4096, 8192};
    journal_header h;
    make_header(&h, (N_SYS + 1) * REPS);
    journal *j = NULL;
    char err[KV_ERRLEN] = "";
    assert_int_equal(journal_open(path, &h, false, NULL, &j, err), KV_OK);
    size_t k = 0;
    for (size_t c = 0; c <= N_SYS; c++)
        for (long r = 0; r < REPS; r++, k++) {
            bool warm = c == N_SYS;
            long s0 = warm ? 8192 : sys[c];
            trial_record t;
            trial_request turn, *q = &turn;
            tu_trial(&t, q, k, "local", c, s0, 25, warm ? SPEC_WARM : SPEC_COLD, r);
            q->output_tokens = 8;
            double jitter = amp * (double)((r + phase) % 3 - 1);
            double tokens = warm ? 25 : (double)q->prompt_tokens;
            q->ttft_ms = (warm ? warm_factor : factor) * (20 + 0.1 * tokens) * (1 + jitter);
            assert_int_equal(journal_append(j, &t, err), KV_OK);
        }
    journal_close(j);
    journal_header_clear(&h);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    tu_tmpdir(f->dir, sizeof f->dir, "change");
    snprintf(f->journal, sizeof f->journal, "%s/a.jsonl", f->dir);
    write_run(f->journal, 1.0, 1.0, 0.03, 0);
    *state = f;
    return 0;
}

static journal_data *load(const char *path)
{
    journal_data *d = NULL;
    char err[KV_ERRLEN] = "";
    if (journal_load(path, &d, err) != KV_OK)
        fail_msg("%s", err);
    return d;
}

/* change_compute of the run at path against the base run (threshold 5 %,
 * level 95 %, seed 1), which must succeed; the caller frees *r. */
static void compare_with_base(const fixture *f, const char *path, change_result *r)
{
    char err[KV_ERRLEN] = "";
    journal_data *a = load(f->journal), *b = load(path);
    assert_int_equal(change_compute(a, b, 0.05, 0.95, 1, r, err), KV_OK);
    journal_data_free(a);
    journal_data_free(b);
}

static void verdict_should_need_the_whole_interval_outside_the_threshold(void **state)
{
    (void)state;
    assert_string_equal(change_verdict(1.06, 1.2, 0.05), "regressed");
    assert_string_equal(change_verdict(0.8, 0.94, 0.05), "improved");
    assert_string_equal(change_verdict(1.04, 1.3, 0.05), "no change");
    assert_string_equal(change_verdict(0.97, 1.03, 0.05), "no change");
    assert_string_equal(change_verdict(NAN, 1.2, 0.05), "not computable");
}

static void compare_should_report_30_percent_slower_prefill_as_regressed(void **state)
{
    fixture *f = *state;
    char slow[160];
    snprintf(slow, sizeof slow, "%s/slow.jsonl", f->dir);
    write_run(slow, 1.3, 1.3, 0.03, 0);
    change_result r;
    compare_with_base(f, slow, &r);
    size_t slopes = 0, regressed = 0;
    for (size_t i = 0; i < r.n; i++) {
        const change_row *c = &r.rows[i];
        if (c->kind == CHANGE_SPEEDUP) {
            /* Cold and warm both 30% slower: the speedup is the same. */
            assert_true(fabs(c->ratio - 1) < 1e-9);
            assert_string_equal(c->verdict, "no change");
            continue;
        }
        assert_true(fabs(c->ratio - 1.3) < 1e-9);
        assert_true(c->lo <= 1.3 && 1.3 <= c->hi);
        assert_string_equal(c->verdict, "regressed");
        regressed++;
        slopes += c->kind == CHANGE_COLD_SLOPE;
    }
    assert_int_equal(regressed, N_SYS + 2); /* five cells and the slope */
    assert_int_equal(slopes, 1);
    change_free(&r);
}

static void compare_should_report_a_smaller_speedup_as_regressed(void **state)
{
    fixture *f = *state;
    char warm[160];
    snprintf(warm, sizeof warm, "%s/warm.jsonl", f->dir);
    write_run(warm, 1.0, 1.3, 0.03, 0); /* only warm requests slower */
    change_result r;
    compare_with_base(f, warm, &r);
    size_t speedups = 0;
    for (size_t i = 0; i < r.n; i++) {
        const change_row *c = &r.rows[i];
        if (c->kind != CHANGE_SPEEDUP)
            continue;
        speedups++;
        assert_true(fabs(c->ratio - 1 / 1.3) < 1e-9);
        assert_true(c->lo <= 1 / 1.3 && 1 / 1.3 <= c->hi);
        assert_string_equal(c->verdict, "regressed");
    }
    assert_int_equal(speedups, 1);
    change_free(&r);
}

static void compare_should_report_jitter_within_the_threshold_as_no_change(void **state)
{
    fixture *f = *state;
    char same[160], out[160], cmd[1024];
    snprintf(same, sizeof same, "%s/same.jsonl", f->dir);
    write_run(same, 1.0, 1.0, 0.02, 1);
    snprintf(out, sizeof out, "%s/cmp", f->dir);
    snprintf(cmd, sizeof cmd, "'%s' compare '%s' '%s' --out '%s' > '%s/table.txt'", tu_bin(),
             f->journal, same, out, f->dir);
    assert_int_equal(system(cmd), 0);
    char path[200], *text = NULL, err[KV_ERRLEN] = "";
    size_t len = 0;
    snprintf(path, sizeof path, "%s/compare.json", out);
    assert_int_equal(kv_read_file(path, &text, &len, err), KV_OK);
    assert_non_null(strstr(text, "\"format\": \"kvproof-compare\""));
    assert_non_null(strstr(text, "\"what\": \"cold_prefill_ms_per_token\""));
    assert_null(strstr(text, "\"verdict\": \"regressed\""));
    assert_null(strstr(text, "\"verdict\": \"improved\""));
    free(text);
    snprintf(path, sizeof path, "%s/table.txt", f->dir);
    assert_int_equal(kv_read_file(path, &text, &len, err), KV_OK);
    assert_non_null(strstr(text, "0 regressed, 0 improved"));
    free(text);
}

/* Every row's B/A, interval and verdict as the PDF prints them (3 decimals)
 * are on page 1's text. */
static void assert_rows_on_page(const change_result *r, const char *text)
{
    for (size_t i = 0; i < r->n; i++) {
        const change_row *c = &r->rows[i];
        char want[96];
        snprintf(want, sizeof want, "%.3f", c->ratio);
        if (!strstr(text, want))
            fail_msg("page 1 lacks ratio %s (row %zu)", want, i);
        snprintf(want, sizeof want, "[%.3f, %.3f]", c->lo, c->hi);
        if (!strstr(text, want))
            fail_msg("page 1 lacks interval %s (row %zu)", want, i);
        if (!strstr(text, c->verdict))
            fail_msg("page 1 lacks verdict %s (row %zu)", c->verdict, i);
    }
}

static void compare_should_write_a_pdf_with_the_verdicts_on_page_1(void **state)
{
    fixture *f = *state;
    char slow[160], out[160], cmd[1024], err[KV_ERRLEN] = "";
    snprintf(slow, sizeof slow, "%s/slow-pdf.jsonl", f->dir);
    write_run(slow, 1.3, 1.3, 0.03, 0);
    snprintf(out, sizeof out, "%s/cmp-pdf", f->dir);
    snprintf(cmd, sizeof cmd, "'%s' compare '%s' '%s' --out '%s' > /dev/null", tu_bin(), f->journal,
             slow, out);
    assert_int_equal(system(cmd), 0);
    char pdf[200], json[200], *text = NULL;
    size_t len = 0;
    snprintf(pdf, sizeof pdf, "%s/compare.pdf", out);
    snprintf(json, sizeof json, "%s/compare.json", out);
    pdfcheck_assert_clean(pdf);
    assert_int_equal(kv_read_file(json, &text, &len, err), KV_OK);
    assert_non_null(strstr(text, "\"verdict\": \"regressed\""));
    free(text);
    static char page1[65536], all[65536];
    snprintf(cmd, sizeof cmd, "pdftotext -f 1 -l 1 '%s' - 2>&1", pdf);
    assert_int_equal(pdfcheck_run(cmd, page1, sizeof page1), 0);
    if (!strstr(page1, "Verdicts") || !strstr(page1, "threshold 5 %"))
        fail_msg("page 1 lacks the heading or the threshold:\n%s", page1);
    /* compare.json's rows: the same inputs, seed, level and threshold. */
    change_result r;
    compare_with_base(f, slow, &r);
    assert_rows_on_page(&r, page1);
    change_free(&r);
    snprintf(cmd, sizeof cmd, "pdftotext '%s' - 2>&1", pdf);
    assert_int_equal(pdfcheck_run(cmd, all, sizeof all), 0);
    assert_non_null(strstr(all, "Cold TTFT vs prompt tokens"));
    assert_non_null(strstr(all, "A: cold, line"));
    assert_non_null(strstr(all, "B: cold, line"));
}

TU_MAIN(setup, tu_teardown_dir,
        cmocka_unit_test(verdict_should_need_the_whole_interval_outside_the_threshold),
        cmocka_unit_test(compare_should_report_30_percent_slower_prefill_as_regressed),
        cmocka_unit_test(compare_should_report_a_smaller_speedup_as_regressed),
        cmocka_unit_test(compare_should_report_jitter_within_the_threshold_as_no_change),
        cmocka_unit_test(compare_should_write_a_pdf_with_the_verdicts_on_page_1))
