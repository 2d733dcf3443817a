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
 * each value appear; KVPROOF_MUTATIONS=all runs every pair.
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
#include "report/report.h"

#include "pdfcheck.h"

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
    FILE *f = fopen(json, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
    cJSON_free(text);
    cJSON_Delete(m);
    remove(pdf);
    kv_status st = report_write(json, pdf, err);
    t->tried++;
    if (st == KV_ERR_INPUT) {
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
    char *data = NULL, err[KV_ERRLEN] = "";
    size_t len = 0;
    assert_int_equal(kv_read_file(fixture, &data, &len, err), KV_OK);
    cJSON *root = cJSON_ParseWithLength(data, len);
    free(data);
    assert_non_null(root);
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
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
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
    mutate_fixture(FIX "real_one_query.json", 37);
}

/* The first malformed PDF found: a session whose cold estimates are null
 * put the "n/a s" label at a NaN position. */
static void a_session_with_null_cold_estimates_should_give_a_valid_pdf(void **state)
{
    (void)state;
    char *data = NULL, err[KV_ERRLEN] = "";
    size_t len = 0;
    assert_int_equal(kv_read_file(FIX "demo.json", &data, &len, err), KV_OK);
    cJSON *root = cJSON_ParseWithLength(data, len);
    free(data);
    assert_non_null(root);
    char dir[64] = "/tmp/kvmutate-XXXXXX";
    assert_non_null(mkdtemp(dir));
    tally t = {0, 0, 0, 0};
    run_one(root, ".targets[].sessions[].cumulative.cold[].estimate.value", NAN, dir, &t,
            "demo.json");
    run_one(root, ".targets[].sessions[].cumulative.warm[].estimate.value", NAN, dir, &t,
            "demo.json");
    assert_int_equal(t.bad, 0);
    assert_int_equal(t.written, 2);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    cJSON_Delete(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_session_with_null_cold_estimates_should_give_a_valid_pdf),
        cmocka_unit_test(extreme_values_in_the_demo_results_should_give_valid_pdfs),
        cmocka_unit_test(extreme_values_in_a_real_run_should_give_valid_pdfs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
