/* test_fit_robust.c - robust model choice and stalls through the library
 * and through `kvproof fit`: a floor-then-quadratic cold scan with one 10x
 * stall per length (tests/fixtures/csv/floor_quadratic_stalls.csv, written
 * by floor_quadratic_write below with a fixed seed; the test regenerates it
 * and checks the committed file is byte-identical; KVPROOF_WRITE_FIXTURES=1
 * rewrites it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cjson/cJSON.h>
#include <gsl/gsl_errno.h>

#include "common/util.h"
#include "stats/fit.h"
#include "stats/stalls.h"
#include "tests/testutil.h"

#define FIXTURE "tests/fixtures/csv/floor_quadratic_stalls.csv"
#define LONGEST 18490.0
#define REPS 5

static const double lengths[] = {256,  512,   1024,  2048,  3072,  4096,   6144,
                                 8192, 10240, 12288, 14336, 16384, LONGEST};
#define N_LEN (sizeof lengths / sizeof lengths[0])

/* The truth: a 400 ms floor up to 4,096 tokens, then linear plus quadratic. */
static double floor_quadratic(double n)
{
    double h = n > 4096 ? n - 4096 : 0;
    return 400 + 0.5 * h + 4e-5 * h * h;
}

/* xorshift64* uniforms in (0, 1): the fixture must not depend on libc. */
static double uniform(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return ((double)((*s * 2685821657736338717ULL) >> 11) + 0.5) / 9007199254740992.0;
}

static double gauss(uint64_t *s)
{
    return sqrt(-2 * log(uniform(s))) * cos(6.283185307179586 * uniform(s));
}

/* 5 repetitions per length, log-normal noise (cv 3%), one request per
 * length 10x slower (a stall); lengths in a shuffled order per block. */
static void floor_quadratic_write(FILE *f)
{
    uint64_t s = 20261201;
    const double sigma = sqrt(log(1 + 0.03 * 0.03));
    int stall_rep[N_LEN];
    for (size_t l = 0; l < N_LEN; l++)
        stall_rep[l] = (int)(uniform(&s) * REPS);
    fprintf(f, "prompt_tokens,ttft_ms\n");
    for (int r = 0; r < REPS; r++) {
        size_t order[N_LEN];
        for (size_t l = 0; l < N_LEN; l++)
            order[l] = l;
        for (size_t l = N_LEN - 1; l > 0; l--) {
            size_t j = (size_t)(uniform(&s) * (double)(l + 1)), t = order[l];
            order[l] = order[j];
            order[j] = t;
        }
        for (size_t k = 0; k < N_LEN; k++) {
            size_t l = order[k];
            double t = floor_quadratic(lengths[l]) * exp(sigma * gauss(&s) - sigma * sigma / 2);
            if (stall_rep[l] == r)
                t *= 10;
            fprintf(f, "%.0f,%.3f\n", lengths[l], t);
        }
    }
}

static void fixture_should_be_what_the_seeded_generator_writes(void **state)
{
    (void)state;
    char path[] = "/tmp/kvproof-fq-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    floor_quadratic_write(f);
    fclose(f);
    if (getenv("KVPROOF_WRITE_FIXTURES")) {
        FILE *o = fopen(FIXTURE, "w");
        assert_non_null(o);
        floor_quadratic_write(o);
        fclose(o);
    }
    tu_expect_same_file(path, FIXTURE);
    remove(path);
}

/* ---- through the CLI ------------------------------------------------------ */

static char *run_cli(const char *args, int *rc)
{
    kv_buf out = {0};
    *rc = tu_kvproof(&out, "fit %s 2>&1", args);
    return out.data;
}

static double predicted_mean(const cJSON *j)
{
    const cJSON *pr = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "predictions"), 0);
    assert_non_null(pr);
    return cJSON_GetObjectItemCaseSensitive(pr, "mean")->valuedouble;
}

static void robust_auto_should_pick_a_curve_and_predict_the_longest_length(void **state)
{
    (void)state;
    int rc = -1;
    char *out = run_cli(FIXTURE " --x prompt_tokens --y ttft_ms --robust --model auto "
                                "--format json --predict 18490",
                        &rc);
    assert_int_equal(rc, 0);
    cJSON *j = cJSON_Parse(out);
    if (!j)
        fail_msg("not JSON: %s", out);
    const char *model = cJSON_GetObjectItemCaseSensitive(j, "model")->valuestring;
    double got = predicted_mean(j), truth = floor_quadratic(LONGEST);
    fprintf(stderr, "robust auto: %s, predicts %.1f ms at 18490 (truth %.1f, %+.2f%%)\n", model,
            got, truth, 100 * (got / truth - 1));
    assert_string_not_equal(model, "linear");
    assert_true(fabs(got / truth - 1) < 0.05);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "robust")));
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "stalls");
    assert_int_equal((int)cJSON_GetObjectItemCaseSensitive(st, "count")->valuedouble, (int)N_LEN);
    assert_non_null(strstr(cJSON_GetObjectItemCaseSensitive(j, "why")->valuestring, "robust AIC"));
    cJSON_Delete(j);
    free(out);
}

static void least_squares_auto_should_say_stalls_were_detected_and_suggest_robust(void **state)
{
    (void)state;
    int rc = -1;
    char *out = run_cli(FIXTURE " --x prompt_tokens --y ttft_ms --model auto --predict 18490", &rc);
    assert_int_equal(rc, 0);
    fprintf(stderr, "%s", out);
    assert_non_null(strstr(out, "stalls detected: 13 of 65 rows"));
    assert_non_null(strstr(out, "rerun with --robust"));
    assert_non_null(strstr(out, "10.0x the median"));
    free(out);
    out = run_cli(FIXTURE " --x prompt_tokens --y ttft_ms --model auto --format json", &rc);
    assert_int_equal(rc, 0);
    cJSON *j = cJSON_Parse(out);
    assert_non_null(j);
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "stalls");
    assert_int_equal((int)cJSON_GetObjectItemCaseSensitive(st, "count")->valuedouble, (int)N_LEN);
    assert_non_null(
        strstr(cJSON_GetObjectItemCaseSensitive(st, "advice")->valuestring, "rerun with --robust"));
    cJSON_Delete(j);
    free(out);
}

/* ---- through the library -------------------------------------------------- */

static size_t load_fixture(double *x, double *y)
{
    FILE *f = fopen(FIXTURE, "r");
    assert_non_null(f);
    char line[128];
    size_t n = 0;
    assert_non_null(fgets(line, sizeof line, f));
    while (fgets(line, sizeof line, f) && n < N_LEN * REPS)
        if (sscanf(line, "%lf,%lf", &x[n], &y[n]) == 2)
            n++;
    fclose(f);
    return n;
}

static void robust_choice_should_reject_non_physical_robust_fits_only(void **state)
{
    (void)state;
    double x[N_LEN * REPS], y[N_LEN * REPS];
    size_t n = load_fixture(x, y);
    assert_int_equal(n, N_LEN * REPS);
    fit_choice *ch = malloc(sizeof *ch);
    assert_non_null(ch);
    const fit_result *f = tu_fit_auto(x, y, n, true, true, ch);
    for (size_t i = 0; i < ch->n_fits; i++) {
        assert_true(ch->fits[i].robust);
        assert_false(isnan(ch->fits[i].aicr)); /* INFINITY: misses most points */
    }
    assert_true(f->kind != FIT_LINEAR);
    assert_true(f->coef[1] >= 0);
    if (f->kind == FIT_QUADRATIC || f->kind == FIT_KNEE_QUADRATIC)
        assert_true(f->coef[2] >= 0);
    for (size_t i = 0; i < ch->n_rejected; i++)
        assert_non_null(strstr(ch->rejected[i].reason, "robust fit"));
    free(ch);
}

static void stalls_should_be_flagged_above_three_times_the_median_and_kept(void **state)
{
    (void)state;
    const double v[6] = {100, 103, 98, 1000, 101, 250};
    bool flag[6];
    double ratio[6], med;
    assert_int_equal(stalls_flag(v, 6, flag, ratio, &med), 1);
    assert_true(flag[3]);
    assert_false(flag[5]); /* 2.5x: above Tukey's fences, but not a stall */
    assert_true(fabs(med - 102) < 1e-12);
    assert_true(fabs(ratio[3] - 1000.0 / 102) < 1e-12);
    /* three values: the MAD is unstable, the 3x floor decides */
    const double w[3] = {100, 100.5, 290};
    assert_int_equal(stalls_flag(w, 3, flag, NULL, NULL), 0);
    const double z[3] = {100, 100.5, 310};
    assert_int_equal(stalls_flag(z, 3, flag, NULL, NULL), 1);
    /* two values cannot say which is typical */
    assert_int_equal(stalls_flag(v + 2, 2, flag, NULL, NULL), 0);
    /* grouped by x */
    const double gx[8] = {1, 2, 1, 2, 1, 2, 1, 2};
    const double gy[8] = {10, 20, 10.2, 200, 9.9, 20.5, 10.1, 19.8};
    bool gf[8];
    assert_int_equal(stalls_flag_by_x(gx, gy, 8, gf, NULL), 1);
    assert_true(gf[3]);
}

TU_MAIN(tu_setup_gsl, NULL, cmocka_unit_test(fixture_should_be_what_the_seeded_generator_writes),
        cmocka_unit_test(robust_auto_should_pick_a_curve_and_predict_the_longest_length),
        cmocka_unit_test(least_squares_auto_should_say_stalls_were_detected_and_suggest_robust),
        cmocka_unit_test(robust_choice_should_reject_non_physical_robust_fits_only),
        cmocka_unit_test(stalls_should_be_flagged_above_three_times_the_median_and_kept))
