/* test_fit.c - least-squares fits: NIST StRD certified values through the
 * library and through `kvproof fit --format json`, model choice, knee,
 * robust refit, weighted fits, predictions and the CSV reader. */
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

#include <cjson/cJSON.h>

#include "common/util.h"
#include "stats/csv.h"
#include "stats/fit.h"
#include "tests/testutil.h"

/* ---- helpers ------------------------------------------------------------ */

static cJSON *load_certified(const char *name)
{
    char *text = NULL;
    size_t len = 0;
    char err[KV_ERRLEN] = "";
    assert_int_equal(kv_read_file("data/nist-strd/certified.json", &text, &len, err), KV_OK);
    cJSON *all = cJSON_Parse(text);
    free(text);
    assert_non_null(all);
    cJSON *one = cJSON_DetachItemFromObject(all, name);
    cJSON_Delete(all);
    assert_non_null(one);
    return one;
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    assert_non_null(v);
    return v->valuedouble;
}

static void assert_rel(double got, double want, double tol, const char *what)
{
    double rel = want == 0 ? fabs(got) : fabs(got - want) / fabs(want);
    if (!(rel <= tol)) {
        fprintf(stderr, "%s: got %.17g want %.17g rel %.3g > %.1g\n", what, got, want, rel, tol);
        fail();
    }
}

typedef struct nist_data {
    double *cols[8];
    size_t k;
    double *y;
    size_t n;
} nist_data;

static void nist_load(const char *name, nist_data *d)
{
    char path[256], err[KV_ERRLEN] = "";
    snprintf(path, sizeof path, "data/nist-strd/%s.csv", name);
    csv_table *t = NULL;
    assert_int_equal(csv_load(path, &t, err), KV_OK);
    memset(d, 0, sizeof *d);
    d->n = csv_rows(t);
    for (size_t j = 0; j + 1 < csv_columns(t); j++)
        assert_int_equal(csv_column(t, csv_header(t, j), &d->cols[d->k++], err), KV_OK);
    assert_int_equal(csv_column(t, "y", &d->y, err), KV_OK);
    csv_free(t);
}

static void nist_free(nist_data *d)
{
    for (size_t j = 0; j < d->k; j++)
        free(d->cols[j]);
    free(d->y);
}

static void check_certified(const fit_result *f, const char *name, double tol)
{
    cJSON *c = load_certified(name);
    const cJSON *coef = cJSON_GetObjectItemCaseSensitive(c, "coefficients");
    const cJSON *sd = cJSON_GetObjectItemCaseSensitive(c, "sd");
    assert_int_equal((size_t)cJSON_GetArraySize(coef), f->p);
    char what[64];
    for (size_t j = 0; j < f->p; j++) {
        snprintf(what, sizeof what, "%s coefficient %zu", name, j);
        assert_rel(f->coef[j], cJSON_GetArrayItem(coef, (int)j)->valuedouble, tol, what);
        snprintf(what, sizeof what, "%s sd %zu", name, j);
        assert_rel(f->sd[j], cJSON_GetArrayItem(sd, (int)j)->valuedouble, tol, what);
    }
    assert_rel(f->residual_sd, num(c, "residual_sd"), tol, "residual sd");
    assert_rel(f->r_squared, num(c, "r_squared"), tol, "r squared");
    assert_rel(f->rss, num(c, "rss"), tol, "rss");
    assert_rel(f->df, num(c, "df"), 0, "df");
    cJSON_Delete(c);
}

static void nist_fit(const char *name, fit_kind kind, int degree, double tol)
{
    nist_data d;
    nist_load(name, &d);
    fit_input in = {(const double *const *)d.cols, d.k, d.y, NULL, d.n, false};
    fit_result f;
    char err[KV_ERRLEN] = "";
    kv_status st = fit_model(&in, kind, degree, 0.95, &f, err);
    if (st != KV_OK)
        fprintf(stderr, "%s\n", err);
    assert_int_equal(st, KV_OK);
    check_certified(&f, name, tol);
    nist_free(&d);
}

/* ---- NIST through the library ------------------------------------------- */

/* One NIST dataset: its name, the model fitted and the relative tolerance. */
typedef struct nist_fit_case {
    const char *name;
    fit_kind kind;
    int degree;
    double tol;
} nist_fit_case;

static void nist_case(void **state)
{
    const nist_fit_case *c = *state;
    nist_fit(c->name, c->kind, c->degree, c->tol);
}

/* ---- NIST through the CLI ------------------------------------------------ */

static cJSON *run_cli_json(const char *args, int *rc)
{
    kv_buf out = {0};
    *rc = tu_kvproof(&out, "fit %s 2>/dev/null", args);
    cJSON *j = cJSON_Parse(out.data);
    kv_buf_free(&out);
    return j;
}

static void cli_check(const char *name, const char *args, double tol)
{
    int rc = -1;
    cJSON *j = run_cli_json(args, &rc);
    assert_int_equal(rc, 0);
    assert_non_null(j);
    cJSON *c = load_certified(name);
    const cJSON *coef = cJSON_GetObjectItemCaseSensitive(j, "coefficients");
    const cJSON *sd = cJSON_GetObjectItemCaseSensitive(j, "sd");
    const cJSON *ci = cJSON_GetObjectItemCaseSensitive(j, "ci95");
    const cJSON *ccoef = cJSON_GetObjectItemCaseSensitive(c, "coefficients");
    const cJSON *csd = cJSON_GetObjectItemCaseSensitive(c, "sd");
    int p = cJSON_GetArraySize(ccoef);
    assert_int_equal(cJSON_GetArraySize(coef), p);
    assert_int_equal(cJSON_GetArraySize(ci), p);
    for (int i = 0; i < p; i++) {
        assert_rel(cJSON_GetArrayItem(coef, i)->valuedouble,
                   cJSON_GetArrayItem(ccoef, i)->valuedouble, tol, "cli coefficient");
        assert_rel(cJSON_GetArrayItem(sd, i)->valuedouble, cJSON_GetArrayItem(csd, i)->valuedouble,
                   tol, "cli sd");
        const cJSON *lohi = cJSON_GetArrayItem(ci, i);
        double lo = cJSON_GetArrayItem(lohi, 0)->valuedouble;
        double hi = cJSON_GetArrayItem(lohi, 1)->valuedouble;
        assert_true(lo < cJSON_GetArrayItem(coef, i)->valuedouble);
        assert_true(hi > cJSON_GetArrayItem(coef, i)->valuedouble);
    }
    assert_rel(num(j, "residual_sd"), num(c, "residual_sd"), tol, "cli residual sd");
    assert_rel(num(j, "r_squared"), num(c, "r_squared"), tol, "cli r squared");
    assert_rel(num(j, "rss"), num(c, "rss"), tol, "cli rss");
    assert_rel(num(j, "df"), num(c, "df"), 0, "cli df");
    assert_int_equal((int)num(j, "n"), (int)num(c, "n"));
    cJSON_Delete(c);
    cJSON_Delete(j);
}

static void cli_fit_json_should_match_every_nist_certified_value(void **state)
{
    (void)state;
    cli_check("norris", "data/nist-strd/norris.csv --x x --y y --model linear --format json", 1e-9);
    cli_check("pontius", "data/nist-strd/pontius.csv --x x --y y --model quadratic --format json",
              1e-9);
    cli_check("filip", "data/nist-strd/filip.csv --x x --y y --model poly:10 --format json", 1e-7);
    cli_check("longley", "data/nist-strd/longley.csv --x x1,x2,x3,x4,x5,x6 --y y --format json",
              1e-9);
}

static void cli_fit_should_report_bad_csv_with_file_line_and_column(void **state)
{
    (void)state;
    kv_buf out = {0};
    int rc =
        tu_kvproof(&out, "fit tests/fixtures/csv/bad_number.csv --x n_prompt --y 'avg ns' 2>&1");
    assert_int_equal(rc, 3);
    assert_non_null(strstr(out.data, "bad_number.csv:3"));
    assert_non_null(strstr(out.data, "avg ns"));
    assert_non_null(strstr(out.data, "abc"));
    kv_buf_free(&out);
}

static void cli_fit_should_predict_with_confidence_and_prediction_intervals(void **state)
{
    (void)state;
    int rc = -1;
    cJSON *j = run_cli_json("tests/fixtures/csv/llama_bench.csv --x n_prompt --y avg_ns --model "
                            "linear --format json --predict 768 --predict 100",
                            &rc);
    assert_int_equal(rc, 0);
    assert_non_null(j);
    const cJSON *pr = cJSON_GetObjectItemCaseSensitive(j, "predictions");
    assert_int_equal(cJSON_GetArraySize(pr), 2);
    const cJSON *p0 = cJSON_GetArrayItem(pr, 0);
    double m = num(p0, "mean");
    const cJSON *ci = cJSON_GetObjectItemCaseSensitive(p0, "ci95");
    const cJSON *pi = cJSON_GetObjectItemCaseSensitive(p0, "pi95");
    double clo = cJSON_GetArrayItem(ci, 0)->valuedouble,
           chi = cJSON_GetArrayItem(ci, 1)->valuedouble;
    double plo = cJSON_GetArrayItem(pi, 0)->valuedouble,
           phi = cJSON_GetArrayItem(pi, 1)->valuedouble;
    assert_true(plo < clo && clo < m && m < chi && chi < phi);
    assert_true(m > 5e7 && m < 8e7);
    cJSON_Delete(j);
}

/* ---- CSV reader ----------------------------------------------------------- */

static void csv_should_read_quoted_fields_and_crlf(void **state)
{
    (void)state;
    const char text[] = "a,\"b \"\"q\"\"\",c\r\n1,\"x,\ny\",3\r\n\r\n4,5,6";
    csv_table *t = NULL;
    char err[KV_ERRLEN] = "";
    assert_int_equal(csv_parse(text, sizeof text - 1, "mem.csv", &t, err), KV_OK);
    assert_int_equal(csv_rows(t), 2);
    assert_string_equal(csv_header(t, 1), "b \"q\"");
    assert_string_equal(csv_cell(t, 0, 1), "x,\ny");
    assert_int_equal(csv_line(t, 1), 5);
    double *c = NULL;
    assert_int_equal(csv_column(t, "C", &c, err), KV_OK);
    assert_true(c[0] == 3 && c[1] == 6);
    free(c);
    csv_free(t);
}

static void csv_should_name_file_and_line_of_a_short_row(void **state)
{
    (void)state;
    csv_table *t = NULL;
    char err[KV_ERRLEN] = "";
    assert_int_equal(csv_load("tests/fixtures/csv/bad_fields.csv", &t, err), KV_ERR_INPUT);
    assert_null(t);
    assert_non_null(strstr(err, "bad_fields.csv:3"));
    err[0] = '\0';
    assert_int_equal(csv_parse("", 0, "empty.csv", &t, err), KV_ERR_INPUT);
    err[0] = '\0';
    assert_int_equal(csv_parse("a\n\"x", 4, "q.csv", &t, err), KV_ERR_INPUT);
    assert_non_null(strstr(err, "unterminated"));
}

/* ---- models on prefill-like data ------------------------------------------ */

/* Deterministic pseudo-normal noise (sum of uniforms from an LCG). */
static double noise(uint64_t *s)
{
    double z = 0;
    for (int i = 0; i < 12; i++) {
        *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
        z += (double)(*s >> 11) / 9007199254740992.0;
    }
    return z - 6.0;
}

static const double levels[10] = {64, 128, 256, 512, 1024, 2048, 3072, 4096, 6144, 8192};

static size_t make_data(double a, double b, double c, double knee, double cv, double *x, double *y,
                        uint64_t seed)
{
    size_t n = 0;
    for (int r = 0; r < 8; r++)
        for (int l = 0; l < 10; l++) {
            double N = levels[l], h = N > knee ? N - knee : 0;
            double m = a + b * h + c * N * N;
            x[n] = N;
            y[n] = m * (1 + cv * noise(&seed));
            n++;
        }
    return n;
}

/* fit_auto on make_data(a, b, c, knee, cv, seed); the chosen fit. */
static const fit_result *auto_fit(double a, double b, double c, double knee, double cv,
                                  uint64_t seed, bool weighted, fit_choice *ch)
{
    double x[80], y[80];
    size_t n = make_data(a, b, c, knee, cv, x, y, seed);
    return tu_fit_auto(x, y, n, weighted, false, ch);
}

static void auto_should_choose_quadratic_when_the_curve_bends(void **state)
{
    (void)state;
    fit_choice ch;
    const fit_result *f = auto_fit(200, 0.95, 1.75e-5, 0, 0.01, 7, true, &ch);
    assert_int_equal(f->kind, FIT_QUADRATIC);
    assert_true(f->ci[1][0] < 0.95 && 0.95 < f->ci[1][1]);
    assert_true(ch.f_p < 1e-6);
    assert_non_null(strstr(ch.why, "AICc"));
}

static void auto_should_keep_linear_when_the_truth_is_linear(void **state)
{
    (void)state;
    fit_choice ch;
    /* linear, or a rejected/insignificant quadratic: never c < 0 */
    const fit_result *f = auto_fit(50, 0.5, 0, 0, 0.02, 11, false, &ch);
    assert_true(f->kind == FIT_LINEAR || f->coef[2] >= 0);
}

static void auto_should_find_a_knee_when_short_prompts_are_flat(void **state)
{
    (void)state;
    fit_choice ch;
    const fit_result *f = auto_fit(300, 0.4, 0, 1024, 0.01, 5, false, &ch);
    assert_true(f->kind == FIT_KNEE || f->kind == FIT_KNEE_QUADRATIC);
    assert_true(f->knee_x0 > 512 && f->knee_x0 < 2048);
    assert_true(fabs(f->coef[1] - 0.4) < 0.02);
}

static void robust_slope_should_move_less_than_its_half_width_with_5_percent_outliers(void **state)
{
    (void)state;
    double x[90], y[90];
    size_t n = make_data(200, 0.95, 0, 0, 0.03, x, y, 3);
    const double *cols[1] = {x};
    fit_input in = {cols, 1, y, NULL, n, false};
    fit_result clean, dirty;
    char err[KV_ERRLEN] = "";
    assert_int_equal(fit_robust(&in, FIT_LINEAR, 1, 0.95, &clean, err), KV_OK);
    double med = 200 + 0.95 * 2048;
    for (size_t i = 0; i < 5; i++) { /* 5 of 85: at least 5% */
        x[n] = levels[(3 * i + 1) % 10];
        y[n] = 25 * med;
        n++;
    }
    in.n = n;
    assert_int_equal(fit_robust(&in, FIT_LINEAR, 1, 0.95, &dirty, err), KV_OK);
    double half = (clean.ci[1][1] - clean.ci[1][0]) / 2;
    assert_true(fabs(dirty.coef[1] - clean.coef[1]) < half);
    /* OLS, by contrast, is dragged far away */
    fit_result ols;
    assert_int_equal(fit_model(&in, FIT_LINEAR, 1, 0.95, &ols, err), KV_OK);
    assert_true(fabs(ols.coef[1] - clean.coef[1]) > half);
}

static void weighted_fit_should_scale_the_covariance_by_the_residual_variance(void **state)
{
    (void)state;
    /* Weights multiplied by a constant must not change the coefficients or sds
     * (gsl_multifit_wlinear's unscaled covariance would). */
    double x[80], y[80], w1[80], w2[80];
    size_t n = make_data(200, 0.95, 0, 0, 0.05, x, y, 9);
    for (size_t i = 0; i < n; i++) {
        w1[i] = 1.0 / (x[i] * x[i]);
        w2[i] = 1e6 * w1[i];
    }
    const double *cols[1] = {x};
    fit_input a = {cols, 1, y, w1, n, false}, b = {cols, 1, y, w2, n, false};
    fit_result fa, fb;
    char err[KV_ERRLEN] = "";
    assert_int_equal(fit_model(&a, FIT_LINEAR, 1, 0.95, &fa, err), KV_OK);
    assert_int_equal(fit_model(&b, FIT_LINEAR, 1, 0.95, &fb, err), KV_OK);
    assert_true(fa.weighted);
    for (size_t j = 0; j < 2; j++) {
        assert_rel(fb.coef[j], fa.coef[j], 1e-12, "weighted coefficient");
        assert_rel(fb.sd[j], fa.sd[j], 1e-9, "weighted sd");
    }
}

static void fit_should_refuse_degenerate_input_with_a_message(void **state)
{
    (void)state;
    double x[5] = {512, 512, 512, 512, 512}, y[5] = {1, 2, 3, 4, 5};
    const double *cols[1] = {x};
    fit_input in = {cols, 1, y, NULL, 5, false};
    fit_result f;
    char err[KV_ERRLEN] = "";
    assert_int_equal(fit_model(&in, FIT_LINEAR, 1, 0.95, &f, err), KV_ERR_STATS);
    assert_non_null(strstr(err, "same"));
    double x2[2] = {1, 2}, y2[2] = {1, 2};
    const double *cols2[1] = {x2};
    fit_input in2 = {cols2, 1, y2, NULL, 2, false};
    err[0] = '\0';
    assert_int_equal(fit_model(&in2, FIT_LINEAR, 1, 0.95, &f, err), KV_ERR_STATS);
    double x3[4] = {1, 2, 3, 4}, y3[4] = {1, NAN, 3, 4};
    const double *cols3[1] = {x3};
    fit_input in3 = {cols3, 1, y3, NULL, 4, false};
    err[0] = '\0';
    assert_int_equal(fit_model(&in3, FIT_LINEAR, 1, 0.95, &f, err), KV_ERR_STATS);
    assert_non_null(strstr(err, "finite"));
}

TU_MAIN(NULL, NULL,
        TU_CASE(fit_should_match_nist_norris_certified_values, nist_case, nist_fit_case, "norris",
                FIT_LINEAR, 1, 1e-9),
        TU_CASE(fit_should_match_nist_pontius_certified_values, nist_case, nist_fit_case, "pontius",
                FIT_QUADRATIC, 2, 1e-9),
        TU_CASE(fit_should_match_nist_filip_certified_values, nist_case, nist_fit_case, "filip",
                FIT_POLY, 10, 1e-7),
        TU_CASE(fit_should_match_nist_longley_certified_values, nist_case, nist_fit_case, "longley",
                FIT_MULTI, 0, 1e-9),
        cmocka_unit_test(cli_fit_json_should_match_every_nist_certified_value),
        cmocka_unit_test(cli_fit_should_report_bad_csv_with_file_line_and_column),
        cmocka_unit_test(cli_fit_should_predict_with_confidence_and_prediction_intervals),
        cmocka_unit_test(csv_should_read_quoted_fields_and_crlf),
        cmocka_unit_test(csv_should_name_file_and_line_of_a_short_row),
        cmocka_unit_test(auto_should_choose_quadratic_when_the_curve_bends),
        cmocka_unit_test(auto_should_keep_linear_when_the_truth_is_linear),
        cmocka_unit_test(auto_should_find_a_knee_when_short_prompts_are_flat),
        cmocka_unit_test(robust_slope_should_move_less_than_its_half_width_with_5_percent_outliers),
        cmocka_unit_test(weighted_fit_should_scale_the_covariance_by_the_residual_variance),
        cmocka_unit_test(fit_should_refuse_degenerate_input_with_a_message))
