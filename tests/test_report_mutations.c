/* test_report_mutations.c - the report on hostile numbers: demo-like
 * results.json fixtures mutated field by field with extreme values (1e308,
 * 5e-324, -1e308, 0, null). Each mutation either is refused as invalid
 * input or gives a PDF that pdftotext and `qpdf --check` read without an
 * error or a warning; the report never ends in an internal error. Debug
 * builds also assert that no non-finite number reaches a page (draw.h).
 *
 * A "field" is a numeric or null leaf's path with array indexes dropped
 * (targets[].cells[].mean.value): every occurrence is set at once. The
 * quick run takes every STRIDE-th (field, value) pair, so each field and
 * each value appear; KVPROOF_MUTATIONS=all runs every pair (any other value:
 * the quick set), printing each mutation before it runs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "report/doc.h"
#include "report/plot.h"
#include "report/report.h"

#include "pdfcheck.h"
#include "tests/testutil.h"

#define FIX "tests/fixtures/results/"

enum { MAX_FIELDS = 1024, PATH_LEN = 200, N_VALUES = 5 };

static const double VALUES[N_VALUES] = {1e308, 5e-324, -1e308, 0, NAN}; /* NAN: null */

typedef struct fields {
    char path[MAX_FIELDS][PATH_LEN];
    int n;
} fields;

static int is_leaf(const cJSON *v)
{
    return cJSON_IsNumber(v) || cJSON_IsNull(v);
}

static void child_path(char *out, const char *path, const cJSON *parent, const cJSON *it)
{
    if (cJSON_IsArray(parent))
        snprintf(out, PATH_LEN, "%s[]", path);
    else
        snprintf(out, PATH_LEN, "%s.%s", path, it->string);
}

static void collect(const cJSON *o, const char *path, fields *f)
{
    const cJSON *it = NULL;
    cJSON_ArrayForEach(it, o)
    {
        char p[PATH_LEN];
        child_path(p, path, o, it);
        if (is_leaf(it)) {
            int seen = 0;
            for (int i = 0; i < f->n && !seen; i++)
                seen = strcmp(f->path[i], p) == 0;
            if (!seen && f->n < MAX_FIELDS)
                snprintf(f->path[f->n++], PATH_LEN, "%s", p);
        } else {
            collect(it, p, f);
        }
    }
}

/* Sets every leaf at `field` to v (null for NaN); returns how many. */
static int mutate(cJSON *o, const char *path, const char *field, double v)
{
    int n = 0;
    cJSON *it = o->child;
    while (it) {
        cJSON *next = it->next;
        char p[PATH_LEN];
        child_path(p, path, o, it);
        if (is_leaf(it) && strcmp(p, field) == 0) {
            cJSON *nv = isnan(v) ? cJSON_CreateNull() : cJSON_CreateNumber(v);
            assert_non_null(nv);
            /* In an object the new value keeps the key (ReplaceItemViaPointer
             * alone would leave it nameless, deleting the key). */
            if (cJSON_IsObject(o))
                assert_true(cJSON_ReplaceItemInObjectCaseSensitive(o, it->string, nv));
            else
                assert_true(cJSON_ReplaceItemViaPointer(o, it, nv));
            n++;
        } else if (!is_leaf(it)) {
            n += mutate(it, p, field, v);
        }
        it = next;
    }
    return n;
}

typedef struct tally {
    int tried, written, refused, bad;
} tally;

/* One mutation: write the JSON, the report, and check what came out. */
static void run_one(const cJSON *root, const char *field, double v, const char *dir, tally *t,
                    const char *fixture)
{
    cJSON *m = cJSON_Duplicate(root, 1);
    assert_non_null(m);
    assert_true(mutate(m, "", field, v) > 0);
    char *text = cJSON_PrintUnformatted(m);
    assert_non_null(text);
    char json[256], pdf[256], err[KV_ERRLEN] = "";
    snprintf(json, sizeof json, "%s/m.json", dir);
    snprintf(pdf, sizeof pdf, "%s/m.pdf", dir);
    tu_write(json, text);
    cJSON_free(text);
    cJSON_Delete(m);
    remove(pdf);
    if (getenv("KVPROOF_MUTATIONS")) /* which one, should a debug assert stop the test */
        print_message("%s, %s = %g\n", fixture, field, v);
    kv_status st = report_write(json, pdf, err);
    t->tried++;
    if (st == KV_ERR_INPUT) {
        if (getenv("KVPROOF_MUTATIONS"))
            print_message("refused: %s\n", err);
        t->refused++;
        return;
    }
    if (st != KV_OK) {
        print_error("%s, %s = %g: status %d: %s\n", fixture, field, v, (int)st, err);
        t->bad++;
        return;
    }
    t->written++;
    const char *problem = pdfcheck_problem(pdf);
    if (*problem) {
        print_error("%s, %s = %g: %s\n", fixture, field, v, problem);
        t->bad++;
    }
}

static void mutate_fixture(const char *fixture, int stride)
{
    cJSON *root = tu_read_json(fixture);
    fields *f = calloc(1, sizeof *f);
    assert_non_null(f);
    collect(root, "", f);
    assert_true(f->n > 50);
    const char *all = getenv("KVPROOF_MUTATIONS");
    if (all && strcmp(all, "all") == 0)
        stride = 1;
    char dir[64] = "/tmp/kvmutate-XXXXXX";
    assert_non_null(mkdtemp(dir));
    tally t = {0, 0, 0, 0};
    for (int k = 0; k < f->n * N_VALUES; k += stride)
        run_one(root, f->path[k / N_VALUES], VALUES[k % N_VALUES], dir, &t, fixture);
    print_message("%s: %d fields, %d mutations: %d PDFs written and clean, %d refused as "
                  "invalid input\n",
                  fixture, f->n, t.tried, t.written, t.refused);
    assert_int_equal(t.bad, 0);
    /* Most extreme values are still valid results: the test must draw. */
    assert_true(t.written * 2 > t.tried);
    tu_rmtree(dir);
    free(f);
    cJSON_Delete(root);
}

static void extreme_values_in_the_demo_results_should_give_valid_pdfs(void **state)
{
    (void)state;
    /* 13 is prime to the 5 values: consecutive picks cycle through them. */
    mutate_fixture(FIX "demo.json", 13);
}

static void extreme_values_in_a_real_run_should_give_valid_pdfs(void **state)
{
    (void)state;
    mutate_fixture(FIX "two_targets.json", 37);
}

/* Mutations that once broke the PDF or tripped draw.h's assertion. */
static void mutations_that_once_broke_the_pdf_should_now_give_valid_pdfs(void **state)
{
    (void)state;
    static const struct {
        const char *fixture, *field;
        double v;
    } cases[] = {
        /* The first malformed PDF found: a session whose last cumulative
         * estimate is null put its "n/a s" label at a NaN position. */
        {FIX "demo.json", ".targets[].sessions[].cumulative.cold[].estimate.value", NAN},
        {FIX "demo.json", ".targets[].sessions[].cumulative.warm[].estimate.value", NAN},
        /* A speedup interval below zero: its value label went above the
         * interval's upper end, which a log axis cannot place. */
        {FIX "two_targets.json", ".targets[].speedup[].speedup.ci[]", -1e308},
    };
    char dir[64] = "/tmp/kvmutate-XXXXXX";
    assert_non_null(mkdtemp(dir));
    tally t = {0, 0, 0, 0};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *root = tu_read_json(cases[i].fixture);
        run_one(root, cases[i].field, cases[i].v, dir, &t, cases[i].fixture);
        cJSON_Delete(root);
    }
    assert_int_equal(t.bad, 0);
    assert_int_equal(t.written, (int)(sizeof cases / sizeof cases[0]));
    tu_rmtree(dir);
}

/* What the report fuzz target found: axis ranges from extreme data (a log
 * axis down to 5e-324 had a zero decade; -1e308..1e308 an infinite range)
 * and points far outside a small axis (1e300 on 0..1: an infinite page
 * coordinate) must still give finite numbers at the page boundary. */
static void plot_coordinates_should_stay_finite_for_extreme_values(void **state)
{
    (void)state;
    rdoc d;
    char err[KV_ERRLEN] = "";
    pdfcheck_doc_page(&d);
    plot_axis lg = {PLOT_LOG, 0, 0, "log", NULL, 0}, ln = {PLOT_LINEAR, 0, 0, "lin", NULL, 0};
    plot_nice_range(&lg, 5e-324, 1e308, 0);
    assert_true(lg.lo > 0 && isfinite(lg.hi) && lg.hi > lg.lo);
    plot_nice_range(&ln, -1e308, 1e308, 0);
    assert_true(isfinite(ln.lo) && isfinite(ln.hi) && ln.hi > ln.lo);
    double ticks[64];
    assert_true(plot_ticks(&lg, ticks, 64) > 0);
    assert_true(plot_ticks(&ln, ticks, 64) > 0);
    plot p;
    plot_begin(&p, &d, "log", 100, 100, 300, 200, &lg, &ln);
    plot_axis unit = {PLOT_LINEAR, 0, 0, "x", NULL, 0};
    plot_nice_range(&unit, 0, 1, 1);
    plot_begin(&p, &d, "unit", 100, 400, 300, 200, &unit, &unit);
    const double xs[4] = {0.5, 1e300, -1e300, 0.25}, ys[4] = {1e300, 0.5, 5e-324, -1e308};
    plot_clip_begin(&p);
    plot_band(&p, xs, ys, xs, 4, DOC_BLUE, 0);
    plot_line(&p, xs, ys, 4, DOC_BLUE, 1, 0);
    plot_markers(&p, MARK_CIRCLE, 1, 3, DOC_BLUE, xs, ys, 4, 0.5);
    plot_whisker(&p, 0.5, -1e308, 1e308, 2, DOC_BLUE, 1);
    plot_box(&p, 0.5, 4, -1e300, 0.5, 1e300, -1e308, 1e308, xs, 4, DOC_BLUE);
    plot_whisker(&p, NAN, 0.2, 0.8, 2, DOC_BLUE, 1); /* no place on x: not drawn */
    plot_box(&p, NAN, 4, 0.2, 0.5, 0.8, 0.1, 0.9, NULL, 0, DOC_BLUE);
    plot_clip_end(&p);
    doc_text(&d, 0, 8, plot_px(&p, 1e300), d.ph - plot_py(&p, -1e300), 0, DOC_BLACK, "far");
    assert_int_equal(d.nonfinite, 0);
    assert_int_equal(doc_check(&d, err), KV_OK);
    doc_free(&d);
}

/* The boundary itself: a NaN reaching it is counted and not drawn (release
 * builds; debug builds assert, so this runs only with NDEBUG). */
static void a_nan_at_the_page_boundary_should_be_counted_and_not_drawn(void **state)
{
    (void)state;
#ifdef NDEBUG
    rdoc d;
    char err[KV_ERRLEN] = "";
    pdfcheck_doc_page(&d);
    doc_text(&d, 0, 8, NAN, 100, 0, DOC_BLACK, "n/a s");
    doc_hline(&d, 0, NAN, 100, DOC_BLACK, 1);
    doc_fill_rect(&d, 10, 10, INFINITY, 10, DOC_BLACK);
    assert_int_equal(d.nonfinite, 3);
    assert_int_equal(doc_check(&d, err), KV_OK);
    char dir[64] = "/tmp/kvmutate-XXXXXX", pdf[128];
    assert_non_null(mkdtemp(dir));
    snprintf(pdf, sizeof pdf, "%s/nan.pdf", dir);
    doc_finish(&d);
    assert_int_equal(doc_save(&d, pdf, err), KV_OK);
    doc_free(&d);
    pdfcheck_assert_clean(pdf);
    tu_rmtree(dir);
#else
    skip();
#endif
}

TU_MAIN(NULL, NULL, cmocka_unit_test(a_nan_at_the_page_boundary_should_be_counted_and_not_drawn),
        cmocka_unit_test(plot_coordinates_should_stay_finite_for_extreme_values),
        cmocka_unit_test(mutations_that_once_broke_the_pdf_should_now_give_valid_pdfs),
        cmocka_unit_test(extreme_values_in_the_demo_results_should_give_valid_pdfs),
        cmocka_unit_test(extreme_values_in_a_real_run_should_give_valid_pdfs))
