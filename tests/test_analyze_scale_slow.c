/* test_analyze_scale_slow.c - at 10^5 trials every headline of results.json
 * is computed: the speedups' median ratios with their rank intervals, the
 * overhead fractions, the hypotheses' estimates (no "out of memory", no
 * "not computable"), and the prefill models say they were fitted on the
 * seeded subsample of RES_FIT_LIMIT points; results.json stays small (the
 * points are in its points file, every one of them) and the report draws a
 * stated 5,000-point subsample. Not timed: bench/bench_analyze measures the
 * time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "common/util.h"
#include "experiments/journal.h"
#include "experiments/plan.h"
#include "experiments/spec.h"
#include "report/report.h"
#include "report/results_read.h"
#include "stats/results.h"
#include "tests/testutil.h"

#define SCALE_TRIALS 100000

static const char spec_text[] =
    "{\"name\":\"scale\",\"seed\":3,\"targets\":[{\"name\":\"reference\","
    "\"base_url\":\"http://127.0.0.1:8080\",\"api\":\"openai-chat\",\"model\":\"m\"}],"
    "\"workload\":{\"system_prompt_tokens\":[0,550,2048,8192,18490],\"query_tokens\":[25],"
    "\"max_output_tokens\":8},\"cache_modes\":[\"cold\",\"warm\"],\"repetitions\":10000,"
    "\"warmup_requests\":0,\"order\":\"random\",\"hypotheses\":["
    "{\"id\":\"H1\",\"metric\":\"overhead_fraction\",\"at_system_prompt_tokens\":18490,"
    "\"min\":0.7},{\"id\":\"H2\",\"metric\":\"speedup\",\"at_system_prompt_tokens\":18490,"
    "\"min\":5}]}";

/* A runner-shaped trial: a + bN + cN^2 of the tokens prefilled, lognormal
 * noise, warm trials prefilling only the query. */
static void trial_of(const plan_trial *pt, gsl_rng *g, trial_record *t, trial_request *q)
{
    memset(t, 0, sizeof *t);
    memset(q, 0, sizeof *q);
    t->plan_index = pt->index;
    snprintf(t->id, sizeof t->id, "%s", pt->id);
    t->kind = pt->kind;
    snprintf(t->target_name, sizeof t->target_name, "reference");
    t->cell = pt->cell;
    t->system_prompt_tokens = pt->system_prompt_tokens;
    t->query_tokens = pt->query_tokens;
    t->query_count = pt->query_count;
    t->mode = pt->mode;
    t->repetition = pt->repetition;
    t->run_position = pt->index;
    t->started_unix = 1764547200.0 + (double)pt->index * 0.001;
    t->ok = true;
    long n = pt->system_prompt_tokens + pt->query_tokens;
    double fresh = (double)(pt->mode == SPEC_WARM ? pt->query_tokens : n);
    double ttft = (8.0 + 0.05 * fresh + 2e-6 * fresh * fresh) * exp(gsl_ran_gaussian(g, 0.08));
    q->turn = q->attempts = 1;
    q->ok = true;
    q->http_status = 200;
    q->prompt_tokens = n;
    q->cached_tokens = n - (long)fresh;
    q->prefix_tokens = pt->mode == SPEC_WARM ? pt->system_prompt_tokens : 0;
    q->output_tokens = 8;
    q->cache_state = TRIAL_CACHE_VERIFIED;
    q->ttfb_ms = ttft * 0.99;
    q->ttft_ms = q->first_content_ms = ttft;
    q->last_token_ms = ttft + 28;
    q->total_ms = ttft + 28.5;
    q->gap_median_ms = 4;
    q->gap_p99_ms = 4.6;
    q->server_prefill_ms = ttft * 0.95;
    q->server_overhead_us = NAN;
    t->turns = q;
    t->n_turns = 1;
}

static journal_data *data_make(void)
{
    char err[KV_ERRLEN] = "";
    spec *s = NULL;
    plan *p = NULL;
    assert_int_equal(spec_parse(spec_text, strlen(spec_text), "scale spec", &s, err), KV_OK);
    assert_int_equal(plan_build(s, s->seed, &p, err), KV_OK);
    assert_int_equal(p->n_trials, SCALE_TRIALS);
    journal_data *d = calloc(1, sizeof *d);
    assert_non_null(d);
    journal_header *h = &d->header;
    h->kvproof_version = kv_strdup("test");
    h->spec_name = kv_strdup(s->name);
    h->spec_json = kv_strdup(s->canonical);
    h->spec_hash = s->hash;
    h->seed = s->seed;
    h->planned_trials = p->n_trials;
    h->client_host = kv_strdup("test; synthetic; Linux");
    tu_sim_target(h, "reference", "kvproof-reference");
    d->trials = calloc(p->n_trials, sizeof *d->trials);
    assert_non_null(d->trials);
    gsl_rng *g = gsl_rng_alloc(gsl_rng_mt19937);
    for (size_t i = 0; i < p->n_trials; i++) {
        trial_request q;
        trial_of(&p->trials[i], g, &d->trials[i], &q);
        d->trials[i].turns = malloc(sizeof q);
        assert_non_null(d->trials[i].turns);
        *d->trials[i].turns = q;
    }
    d->n_trials = p->n_trials;
    gsl_rng_free(g);
    plan_free(p);
    spec_free(s);
    return d;
}

static void assert_est(const rr_est *e)
{
    assert_true(e->present);
    assert_true(isfinite(e->est.value));
    assert_true(isfinite(e->est.lo) && isfinite(e->est.hi));
    assert_true(e->est.lo <= e->est.value && e->est.value <= e->est.hi);
    assert_null(strstr(e->note, "memory"));
    assert_null(strstr(e->note, "not computable"));
}

/* results.json under 1 MB; its points file holds every request; the report
 * renders from the pair, drawing a subsample it states. */
static void points_and_report(const char *dir, const char *path)
{
    char points[96], pdf[96], err[KV_ERRLEN] = "", cmd[256];
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    if (sb.st_size > 1024 * 1024)
        fail_msg("results.json is %lld bytes at 10^5 trials", (long long)sb.st_size);
    snprintf(points, sizeof points, "%s/points.csv", dir);
    snprintf(pdf, sizeof pdf, "%s/report.pdf", dir);
    rr_results *r = NULL;
    char warn[KV_ERRLEN] = "";
    assert_int_equal(results_read_load(path, &r, err), KV_OK);
    assert_int_equal(r->points_rows, SCALE_TRIALS);
    assert_int_equal(results_read_load_points(r, warn, err), KV_OK);
    assert_int_equal(r->points_total, SCALE_TRIALS);
    size_t drawn = 0;
    for (size_t t = 0; t < r->n_targets; t++)
        drawn += r->targets[t].n_points;
    assert_int_equal(drawn, 5000);
    results_read_free(r);
    assert_int_equal(report_write(path, pdf, err), KV_OK);
    assert_string_equal(err, "");
    snprintf(cmd, sizeof cmd, "pdftotext '%s' - | tr '\\n' ' ' | grep -q 'Drawn: 5000 of 100000'",
             pdf);
    assert_int_equal(system(cmd), 0);
    remove(pdf);
    remove(points);
}

static void test_every_headline_at_1e5(void **state)
{
    (void)state;
    char dir[] = "/tmp/kvproof-scale-XXXXXX", path[64], err[KV_ERRLEN] = "";
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/results.json", dir);
    journal_data *d = data_make();
    results_options ro;
    results_options_default(&ro);
    assert_int_equal(results_write(d, "scale.jsonl", path, &ro, err), KV_OK);
    journal_data_free(d);
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(kv_read_file_max(path, (size_t)1 << 30, &text, &len, err), KV_OK);
    assert_null(strstr(text, "out of memory"));
    assert_null(strstr(text, "not computable"));
    /* the models' robust fits used the stated seeded subsample (cold, warm, prefill) */
    assert_non_null(strstr(text, "\"fit_sample_limit\": 5000"));
    const char *at = text;
    size_t sampled = 0;
    while ((at = strstr(at, "\"fit_n\": 5000")) != NULL) {
        sampled++;
        at++;
    }
    assert_int_equal(sampled, 3);
    free(text);
    rr_results *r = NULL;
    assert_int_equal(results_read_load(path, &r, err), KV_OK);
    assert_int_equal(r->n_targets, 1);
    const rr_target *t = &r->targets[0];
    assert_int_equal(t->n_speedup, 5);
    for (size_t i = 0; i < t->n_speedup; i++)
        assert_est(&t->speedup[i].speedup);
    assert_true(t->n_overhead >= 1);
    for (size_t i = 0; i < t->n_overhead; i++)
        assert_est(&t->overhead[i].estimate);
    assert_int_equal(r->n_hypotheses, 2);
    for (size_t i = 0; i < r->n_hypotheses; i++) {
        assert_est(&r->hypotheses[i].estimate);
        assert_true(r->hypotheses[i].verdict[0] != '\0');
    }
    results_read_free(r);
    points_and_report(dir, path);
    remove(path);
    rmdir(dir);
}

TU_MAIN(NULL, NULL, cmocka_unit_test(test_every_headline_at_1e5))
