/* test_costmodel.c - the reference server's noise process: presets, stall
 * rate and magnitudes, the idle and drift factors, and the population
 * median costmodel_median_factor states against a large simulated sample. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>

#include <gsl/gsl_rng.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>

#include "server/costmodel.h"
#include "srvtest.h"
#include "tests/testutil.h"

static double uni(void *ctx)
{
    return gsl_rng_uniform_pos(ctx);
}

static void realistic_noise_should_stall_about_3_5_percent_at_5_to_30x(void **state)
{
    (void)state;
    costmodel_params p;
    assert_true(costmodel_preset("laptop", &p));
    assert_true(costmodel_noise_preset("realistic", &p));
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 7);
    int stalls = 0, idle = 0, big = 0;
    const int n = 100000;
    for (int i = 0; i < n; i++) {
        double u[COSTMODEL_UNIFORMS];
        for (int k = 0; k < COSTMODEL_UNIFORMS; k++)
            u[k] = gsl_rng_uniform_pos(r);
        costmodel_noise nz;
        double f = costmodel_noise_draw(&p, u, 0, 0, &nz);
        assert_false(nz.idle);
        assert_true(nz.add_ms == 0);
        assert_true(f > 0 && isfinite(f));
        if (nz.stall_x > 1) {
            stalls++;
            assert_true(nz.stall_x >= 5 && nz.stall_x <= 30);
            big += nz.stall_x > 15;
        }
        idle += nz.idle;
    }
    assert_int_equal(idle, 0);
    assert_in_range(stalls, 3200, 3800);
    /* heavy tail: P(M > 15) = (5^1.2 (15^-1.2 - 30^-1.2)) / (1 - (5/30)^1.2), about 16% */
    assert_in_range(big, stalls / 10, stalls / 4);
    double u[COSTMODEL_UNIFORMS] = {0.5, 0.25, 0.9, 0.5, 0.5};
    costmodel_noise nz;
    costmodel_noise_draw(&p, u, 6000, 0, &nz);
    assert_true(nz.idle);
    double f_idle = nz.factor;
    costmodel_noise_draw(&p, u, 100, 0, &nz);
    assert_false(nz.idle);
    assert_float_equal(f_idle / nz.factor, 3.0, 1e-12);
    double f_peak = costmodel_noise_draw(&p, u, 100, 150, &nz); /* a quarter period: sin = 1 */
    assert_float_equal(f_peak / costmodel_noise_draw(&p, u, 100, 0, &nz), 1.03, 1e-12);
    gsl_rng_free(r);
}

static void median_factor_should_match_a_large_simulated_sample(void **state)
{
    (void)state;
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 11);
    const char *noises[] = {"lognormal", "realistic"};
    const double cvs[] = {0.05, 0.3};
    const size_t n = 200001;
    double *v = malloc(n * sizeof *v);
    assert_non_null(v);
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++) {
            costmodel_params p;
            assert_true(costmodel_preset("laptop", &p));
            p.cv = cvs[b];
            assert_true(costmodel_noise_preset(noises[a], &p));
            p.drift = 0;
            double base = costmodel_prefill_ms(&p, 4096, 0);
            for (size_t i = 0; i < n; i++)
                v[i] = costmodel_sample_ms(&p, 4096, 0, 0, uni, r) / base;
            gsl_sort(v, 1, n);
            double emp = gsl_stats_median_from_sorted_data(v, 1, n);
            double want = costmodel_median_factor(&p);
            /* the sample median's sd is about 1.25 cv / sqrt(n): 0.1% at cv 0.3 */
            assert_float_equal(emp, want, 0.004 * want);
        }
    costmodel_params q;
    assert_true(costmodel_preset("laptop", &q));
    q.stall_p = 0.1;
    q.stall_ms = 1000;
    assert_true(isnan(costmodel_median_factor(&q)));
    assert_false(costmodel_noise_preset("gaussian", &q));
    free(v);
    gsl_rng_free(r);
}

/* One chat request to a server with the given noise; its ground truth. */
static refsrv_truth serve_one(const costmodel_params *cost)
{
    refsrv_config cfg;
    srvtest_config(&cfg, REFSRV_LLAMACPP);
    double scale = cfg.cost.time_scale;
    cfg.cost = *cost;
    cfg.cost.time_scale = scale;
    refsrv *s = NULL;
    char err[KV_ERRLEN] = "";
    assert_int_equal(refsrv_start(&cfg, &s, err), KV_OK);
    http_reply r;
    http_do(refsrv_port(s), "POST", "/v1/chat/completions",
            "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"one two "
            "three\"}],\"max_tokens\":1}",
            10, &r);
    assert_int_equal(r.status, 200);
    http_reply_free(&r);
    refsrv_truth t;
    assert_true(refsrv_last(s, &t));
    refsrv_stop(s);
    return t;
}

static void server_should_apply_stalls_and_the_slow_first_request(void **state)
{
    (void)state;
    costmodel_params p;
    assert_true(costmodel_preset("flat", &p));
    p.cv = 0;
    p.stall_p = 1; /* every request stalls at exactly 5x */
    p.stall_x_min = p.stall_x_max = 5;
    p.stall_alpha = 1.2;
    refsrv_truth t = serve_one(&p);
    double base = costmodel_prefill_ms(&p, (double)t.new_tokens, (double)t.cached_tokens);
    assert_float_equal(t.stall_x, 5.0, 1e-12);
    assert_false(t.idle_slow);
    assert_float_equal(t.model_prefill_ms, 5 * base, 1e-9);
    costmodel_params q;
    assert_true(costmodel_preset("flat", &q));
    q.cv = 0;
    q.idle_ms = 1e-3; /* the first request after start is after idle */
    q.idle_x = 3;
    t = serve_one(&q);
    assert_true(t.idle_slow);
    assert_float_equal(t.stall_x, 1.0, 0);
    assert_float_equal(t.model_prefill_ms,
                       3 * costmodel_prefill_ms(&q, (double)t.new_tokens, (double)t.cached_tokens),
                       1e-9);
}

TU_MAIN(NULL, NULL, cmocka_unit_test(realistic_noise_should_stall_about_3_5_percent_at_5_to_30x),
        cmocka_unit_test(median_factor_should_match_a_large_simulated_sample),
        cmocka_unit_test(server_should_apply_stalls_and_the_slow_first_request))
