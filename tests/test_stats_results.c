/* test_stats_results.c - results.json from journals built in memory with
 * the reference server's cost model: structure, verdicts, degenerate input
 * (one length, tiny n, equal times, NaN/negative times) without NaN. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <gsl/gsl_rng.h>

#include "experiments/journal.h"
#include "server/costmodel.h"
#include "common/utf8.h"
#include "report/results_read.h"
#include "stats/planning.h"
#include "stats/results.h"
#include "tests/testutil.h"

static const char spec_text[] =
    "{\"name\": \"sim\", \"seed\": 5, \"targets\": [{\"name\": \"ref\", \"base_url\": "
    "\"http://127.0.0.1:8080\", \"api\": \"llama.cpp\"}], \"workload\": "
    "{\"system_prompt_tokens\": [0, 1024, 4096, 8192], \"query_tokens\": [100]}, "
    "\"sessions\": {\"query_counts\": [1, 3]}, \"cache_modes\": [\"cold\", \"warm\"], "
    "\"repetitions\": 10, \"hypotheses\": ["
    "{\"id\": \"H1\", \"metric\": \"overhead_fraction\", \"min\": 0.7},"
    "{\"id\": \"H2\", \"metric\": \"speedup\", \"min\": 100},"
    "{\"id\": \"H3\", \"metric\": \"speedup\", \"min\": 25, \"max\": 32},"
    "{\"id\": \"H4\", \"metric\": \"prefill_ms_per_token\", \"max\": 2},"
    "{\"id\": \"H5\", \"metric\": \"session_speedup\", \"min\": 2}],"
    "\"stop\": {\"target_rel_ci\": 0.05, \"min_repetitions\": 3}}";

typedef struct sim {
    journal_data d;
    size_t cap;
} sim;

static void sim_init(sim *s, const char *spec_json)
{
    memset(s, 0, sizeof *s);
    s->cap = 1024;
    s->d.trials = calloc(s->cap, sizeof *s->d.trials);
    assert_non_null(s->d.trials);
    journal_header *h = &s->d.header;
    h->kvproof_version = tu_strdup("0.1.0");
    h->spec_name = tu_strdup("sim");
    h->spec_json = spec_json ? tu_strdup(spec_json) : NULL;
    h->seed = 5;
    h->created_unix = 1735689600;
    h->client_host = tu_strdup("test-host; cpu; Linux");
    tu_sim_target(h, "ref", "llama.cpp");
    h->targets[0].base_url = tu_strdup("http://127.0.0.1:8080");
}

/* One trial of `count` turns; ttft from the cost model times noise. */
static trial_record *sim_trial(sim *s, long sys, long query, long count, spec_cache_mode mode,
                               long rep, size_t cell)
{
    assert_true(s->d.n_trials < s->cap);
    trial_record *t = &s->d.trials[s->d.n_trials];
    memset(t, 0, sizeof *t);
    t->plan_index = s->d.n_trials;
    snprintf(t->id, sizeof t->id, "ref/s%ld/q%ld/n%ld/%s/r%ld", sys, query, count,
             mode == SPEC_WARM ? "warm" : "cold", rep);
    t->kind = PLAN_MEASURE;
    snprintf(t->target_name, sizeof t->target_name, "ref");
    t->cell = cell;
    t->system_prompt_tokens = sys;
    t->query_tokens = query;
    t->query_count = count;
    t->mode = mode;
    t->repetition = rep;
    t->run_position = s->d.n_trials;
    t->ok = true;
    t->turns = calloc((size_t)count, sizeof *t->turns);
    assert_non_null(t->turns);
    t->n_turns = (size_t)count;
    s->d.n_trials++;
    return t;
}

/* The cost model `preset` and a generator seeded with `seed` (0: GSL's default). */
static gsl_rng *sim_rng(const char *preset, unsigned long seed, costmodel_params *p)
{
    assert_true(costmodel_preset(preset, p));
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    assert_non_null(r);
    if (seed)
        gsl_rng_set(r, seed);
    return r;
}

static void sim_fill(trial_record *t, const costmodel_params *p, gsl_rng *r)
{
    for (size_t k = 0; k < t->n_turns; k++) {
        trial_request *q = &t->turns[k];
        long prompt = t->system_prompt_tokens + (long)(k + 1) * t->query_tokens + (long)k * 4;
        long cached = t->mode == SPEC_WARM ? prompt - t->query_tokens : 0;
        q->turn = (int)k + 1;
        q->attempts = 1;
        q->ok = true;
        q->prompt_tokens = prompt;
        q->cached_tokens = cached;
        q->prefix_tokens = t->mode == SPEC_WARM ? cached : 0;
        q->cache_state = TRIAL_CACHE_VERIFIED;
        double stall;
        double f = costmodel_noise_factor(p, gsl_rng_uniform_pos(r), gsl_rng_uniform_pos(r),
                                          gsl_rng_uniform_pos(r), gsl_rng_uniform_pos(r), &stall);
        q->ttft_ms = costmodel_prefill_ms(p, (double)(prompt - cached), (double)cached) * f;
        q->server_prefill_ms = q->ttft_ms * 0.97;
        q->total_ms = q->ttft_ms + 5;
        q->ttfb_ms = q->first_content_ms = q->last_token_ms = q->ttft_ms;
        q->gap_median_ms = q->gap_p99_ms = q->server_overhead_us = NAN;
    }
}

static void sim_full(sim *s, long reps)
{
    costmodel_params p;
    gsl_rng *r = sim_rng("laptop", 42, &p);
    const long sys[4] = {0, 1024, 4096, 8192}, counts[2] = {1, 3};
    for (long rep = 0; rep < reps; rep++) {
        size_t cell = 0;
        for (int i = 0; i < 4; i++)
            for (int c = 0; c < 2; c++)
                for (int m = 0; m < 2; m++)
                    sim_fill(sim_trial(s, sys[i], 100, counts[c], (spec_cache_mode)m, rep, cell++),
                             &p, r);
    }
    gsl_rng_free(r);
}

/* reps repetitions of one-query cold and warm cells (cell 2 * i + mode) at
 * the n_sys system-prompt lengths sys, 100-token queries, with the laptop
 * preset's times from seed; the cost model in *p. */
static void sim_cells(sim *s, const long *sys, int n_sys, long reps, unsigned long seed,
                      costmodel_params *p)
{
    gsl_rng *r = sim_rng("laptop", seed, p);
    for (long rep = 0; rep < reps; rep++)
        for (int i = 0; i < n_sys; i++)
            for (int m = 0; m < 2; m++)
                sim_fill(sim_trial(s, sys[i], 100, 1, (spec_cache_mode)m, rep, (size_t)(2 * i + m)),
                         p, r);
    gsl_rng_free(r);
}

/* sim_init, then `reps` full repetitions of every cell. */
static void sim_start(sim *s, const char *spec_json, long reps)
{
    sim_init(s, spec_json);
    sim_full(s, reps);
}

/* Frees `j` (may be NULL) and the simulated journal. */
static void sim_done(sim *s, cJSON *j)
{
    cJSON_Delete(j);
    journal_data *d = malloc(sizeof *d);
    assert_non_null(d);
    *d = s->d;
    journal_data_free(d);
}

/* Per-test setup and teardown: *state comes as the number of full
 * repetitions (a long) and becomes a sim of spec_text with them
 * (sim_start); the teardown frees it. */
static int setup_sim(void **state)
{
    const long reps = *(const long *)*state;
    sim *s = malloc(sizeof *s);
    if (!s)
        return -1;
    sim_start(s, spec_text, reps);
    *state = s;
    return 0;
}

static int teardown_sim(void **state)
{
    sim_done(*state, NULL);
    free(*state);
    return 0;
}

/* A cmocka test of fn that gets a sim with reps full repetitions. */
#define SIM_TEST(fn, reps)                                                                         \
    cmocka_unit_test_prestate_setup_teardown(fn, setup_sim, teardown_sim, &(long){reps})

static cJSON *run(sim *s, char **text_out)
{
    results_options o;
    results_options_default(&o);
    o.bootstrap_resamples = 2000;
    kv_buf out = {0};
    char err[KV_ERRLEN] = "";
    kv_status st = results_from_data(&s->d, "mem.jsonl", &o, &out, err);
    if (st != KV_OK)
        fprintf(stderr, "%s\n", err);
    assert_int_equal(st, KV_OK);
    /* never NaN or infinity: as JSON numbers they would not parse either */
    const char *bad[] = {": nan", ": -nan", ": inf", ": -inf", " nan,", " inf,", "[nan", "[inf"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (strstr(out.data, bad[i]))
            fail_msg("found '%s' in: ...%.300s", bad[i], strstr(out.data, bad[i]) - 200);
    cJSON *j = cJSON_Parse(out.data);
    assert_non_null(j);
    if (text_out)
        *text_out = out.data;
    else
        kv_buf_free(&out);
    return j;
}

static const cJSON *get(const cJSON *o, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    const cJSON *cur = o;
    for (char *save = NULL, *tok = strtok_r(buf, ".", &save); tok && cur;
         tok = strtok_r(NULL, ".", &save)) {
        char *end;
        long idx = strtol(tok, &end, 10);
        cur = *end == '\0' ? cJSON_GetArrayItem(cur, (int)idx)
                           : cJSON_GetObjectItemCaseSensitive(cur, tok);
    }
    return cur;
}

/* Multiplies the TTFT of the one-query cold trials at sys tokens in
 * repetition rep by factor; returns the run position of the last one. */
static size_t slow_down(sim *s, long sys, long rep, double factor)
{
    size_t hit = 0;
    for (size_t i = 0; i < s->d.n_trials; i++) {
        trial_record *t = &s->d.trials[i];
        if (t->system_prompt_tokens == sys && t->query_count == 1 && t->mode == SPEC_COLD &&
            t->repetition == rep) {
            t->turns[0].ttft_ms *= factor;
            hit = t->run_position;
        }
    }
    return hit;
}

/* The verdict sentence of j says has and does not say lacks. */
static void expect_summary(const cJSON *j, const char *has, const char *lacks)
{
    const char *sum = get(j, "verdict.summary")->valuestring;
    assert_non_null(strstr(sum, has));
    assert_null(strstr(sum, lacks));
}

static void results_should_compute_verdicts_from_whole_intervals(void **state)
{
    sim *s = *state;
    cJSON *j = run(s, NULL);
    assert_string_equal(get(j, "format")->valuestring, "kvproof-results");
    assert_true(cJSON_IsTrue(get(j, "simulated")));
    const cJSON *hyp = get(j, "hypotheses");
    assert_int_equal(cJSON_GetArraySize(hyp), 5);
    assert_string_equal(get(hyp, "0.verdict")->valuestring, "confirmed"); /* overhead >= 0.7 */
    assert_string_equal(get(hyp, "1.verdict")->valuestring, "refuted");   /* speedup >= 100 */
    assert_string_equal(get(hyp, "3.verdict")->valuestring, "confirmed"); /* <= 2 ms/token */
    assert_string_equal(get(hyp, "4.verdict")->valuestring, "confirmed"); /* session >= 2 */
    /* the true speedup at 8192: prefill(8292, 0) / prefill(100, 8192) ~ 28.6 */
    const cJSON *sp = get(j, "verdict.speedup.ci");
    assert_true(cJSON_GetArrayItem(sp, 0)->valuedouble < 28.6);
    assert_true(cJSON_GetArrayItem(sp, 1)->valuedouble > 28.6);
    assert_string_equal(get(j, "targets.0.models.cold_ttft.chosen")->valuestring, "quadratic");
    assert_int_equal(cJSON_GetArraySize(get(j, "questions")), 4);
    assert_non_null(get(j, "questions.3.answer"));
    assert_int_equal(cJSON_GetArraySize(get(j, "targets.0.models.cold_ttft.curve")), 100);
    assert_true(get(j, "targets.0.sessions.1.theoretical_speedup")->valuedouble > 1);
    assert_true(cJSON_IsNumber(get(j, "adaptive_stopping.saving_server_seconds")));
    assert_int_equal(get(j, "method.bootstrap_seed")->valueint, 5);
    /* Shapiro-Wilk beside Jarque-Bera in every fit's diagnostics */
    const cJSON *fit0 = get(j, "targets.0.models.cold_ttft.fits.0");
    assert_true(cJSON_IsNumber(get(fit0, "normality_p")));
    assert_true(get(fit0, "shapiro_wilk_w")->valuedouble > 0);
    assert_true(get(fit0, "shapiro_wilk_w")->valuedouble <= 1);
    assert_true(get(fit0, "shapiro_wilk_p")->valuedouble >= 0);
    assert_true(get(fit0, "shapiro_wilk_p")->valuedouble <= 1);
    cJSON_Delete(j);
}

static void results_should_explain_one_prompt_length_without_nan(void **state)
{
    (void)state;
    sim s;
    sim_init(&s, NULL);
    costmodel_params p;
    gsl_rng *r = sim_rng("flat", 0, &p);
    for (long rep = 0; rep < 2; rep++)
        sim_fill(sim_trial(&s, 512, 100, 1, SPEC_COLD, rep, 0), &p, r);
    /* all-equal times, a NaN and a negative time */
    for (long rep = 0; rep < 3; rep++) {
        trial_record *t = sim_trial(&s, 512, 100, 1, SPEC_WARM, rep, 1);
        sim_fill(t, &p, r);
        t->turns[0].ttft_ms = rep == 1 ? NAN : 100.0;
    }
    trial_record *t = sim_trial(&s, 512, 100, 1, SPEC_WARM, 3, 1);
    sim_fill(t, &p, r);
    t->turns[0].ttft_ms = -5;
    gsl_rng_free(r);
    char *text = NULL;
    cJSON *j = run(&s, &text);
    const cJSON *note = get(j, "targets.0.models.cold_ttft.note");
    assert_non_null(note);
    assert_non_null(strstr(note->valuestring, "one length"));
    assert_int_equal(get(j, "counts.excluded_bad_times")->valueint, 2);
    assert_int_equal(get(j, "targets.0.cells.1.n")->valueint, 2);
    assert_non_null(get(j, "targets.0.cells.1.median.note"));
    assert_true(get(j, "targets.0.cells.1.cv")->valuedouble == 0);
    free(text);
    sim_done(&s, j);
}

static void results_should_refuse_a_journal_without_usable_requests(void **state)
{
    (void)state;
    sim s;
    sim_init(&s, NULL);
    trial_record *t = sim_trial(&s, 0, 100, 1, SPEC_COLD, 0, 0);
    t->turns[0].ok = true;
    t->turns[0].ttft_ms = NAN;
    kv_buf out = {0};
    char err[KV_ERRLEN] = "";
    assert_int_equal(results_from_data(&s.d, "x.jsonl", NULL, &out, err), KV_ERR_STATS);
    assert_non_null(strstr(err, "no usable"));
    kv_buf_free(&out);
    sim_done(&s, NULL);
}

static void results_should_write_a_file_from_a_journal_on_disk(void **state)
{
    (void)state;
    char err[KV_ERRLEN] = "";
    const char *outp = "build-results-test.json";
    kv_status st = results_from_journal("tests/fixtures/journals/good.jsonl", outp, NULL, err);
    if (st != KV_OK)
        fprintf(stderr, "%s\n", err);
    /* the fixture holds one usable request at most: OK or a clear STATS error */
    assert_true(st == KV_OK || st == KV_ERR_STATS);
    if (st == KV_OK) {
        char *text = NULL;
        size_t len = 0;
        assert_int_equal(kv_read_file(outp, &text, &len, err), KV_OK);
        cJSON *j = cJSON_Parse(text);
        assert_non_null(j);
        cJSON_Delete(j);
        free(text);
        remove(outp);
        remove("build-results-test.points.csv"); /* its points file, next to it */
    }
    err[0] = '\0';
    assert_int_equal(
        results_from_journal("tests/fixtures/journals/missing.jsonl", outp, NULL, err) != KV_OK, 1);
}

static void results_should_give_a_sane_overhead_interval_from_few_repetitions(void **state)
{
    sim *s = *state; /* 2 repetitions: 4 cold values per length, turn 1 of both session lengths */
    cJSON *j = run(s, NULL);
    const cJSON *o = get(j, "verdict.overhead_fraction");
    assert_non_null(o);
    /* truth at 8192: 1 - prefill(100, 0) / prefill(8292, 0) ~ 0.97 */
    double v = get(o, "value")->valuedouble;
    double lo = get(o, "ci.0")->valuedouble, hi = get(o, "ci.1")->valuedouble;
    assert_true(v > 0.9 && v < 1);
    assert_true(lo > 0.8 && lo <= v && v <= hi && hi < 1);
    /* the headline is the median ratio; 4 vs 4 gives the exact rank interval
     * at 1 - 2/70 = 97.1%, stated per interval */
    assert_non_null(strstr(get(o, "method")->valuestring, "median ratio"));
    assert_float_equal(get(o, "level")->valuedouble, 1.0 - 2.0 / 70.0, 1e-12);
    assert_int_equal(get(o, "n")->valueint, 8);
    const cJSON *t0 = cJSON_GetArrayItem(get(j, "targets"), 0);
    const cJSON *over = cJSON_GetArrayItem(cJSON_GetObjectItem(t0, "overhead_fraction"), 0);
    assert_non_null(over);
    const cJSON *om = cJSON_GetObjectItem(over, "estimate_means");
    assert_non_null(om); /* the means stay as a secondary figure */
    assert_non_null(strstr(cJSON_GetObjectItem(om, "method")->valuestring, "delta method"));
    cJSON_Delete(j);
}

/* No cold cell without a system prompt: the overhead comes from the cold
 * model, says so, and the verdict sentence reads right. */
static void results_should_extrapolate_the_overhead_without_a_0_token_cell(void **state)
{
    sim *s = *state; /* no trials yet */
    costmodel_params p;
    const long sys[3] = {1024, 4096, 8192};
    sim_cells(s, sys, 3, 5, 9, &p);
    cJSON *j = run(s, NULL);
    const cJSON *o = get(j, "verdict.overhead_fraction");
    /* truth: 1 - prefill(100) / prefill(8192 + 100) */
    double truth = 1 - costmodel_prefill_ms(&p, 100, 0) / costmodel_prefill_ms(&p, 8292, 0);
    double v = get(o, "value")->valuedouble;
    /* an extrapolation (the linear model is chosen on three lengths): the
     * interval is wide and must hold the truth */
    assert_true(v > 0.9 && v < 1);
    assert_true(get(o, "ci.0")->valuedouble <= truth && truth <= get(o, "ci.1")->valuedouble);
    assert_non_null(strstr(get(o, "method")->valuestring, "extrapolated"));
    assert_true(cJSON_IsTrue(get(j, "targets.0.overhead_fraction.0.from_model")));
    expect_summary(j, "extrapolated from the cold model", "not computable");
    cJSON_Delete(j);
}

/* Without any usable cold model or 0-token cell the sentence says "not
 * measured" in words, not "is not computable (not measured) of". */
static void results_should_say_the_overhead_was_not_measured_in_a_sentence(void **state)
{
    sim *s = *state; /* no trials yet */
    costmodel_params p;
    const long sys[1] = {4096};
    sim_cells(s, sys, 1, 4, 10, &p);
    cJSON *j = run(s, NULL);
    expect_summary(j, "was not measured", "not computable (not measured) of");
    cJSON_Delete(j);
}

/* One 20x stall in a 1-query cold session: the headline session speedup
 * (median ratio) barely moves and its interval stays above 1; the secondary
 * ratio of means no longer collapses towards 0. */
static void results_should_keep_the_session_speedup_sane_with_one_stall(void **state)
{
    sim *s = *state;
    slow_down(s, 8192, 3, 20);
    cJSON *j = run(s, NULL);
    const cJSON *sess = NULL;
    for (int k = 0; (sess = get(j, "targets.0.sessions")) && k < cJSON_GetArraySize(sess); k++)
        if (cJSON_GetObjectItem(cJSON_GetArrayItem(sess, k), "query_count")->valueint == 1) {
            sess = cJSON_GetArrayItem(sess, k);
            break;
        }
    assert_non_null(sess);
    const cJSON *m = cJSON_GetObjectItem(sess, "measured_speedup");
    const cJSON *mm = cJSON_GetObjectItem(sess, "measured_speedup_means");
    double lo = get(m, "ci.0")->valuedouble, hi = get(m, "ci.1")->valuedouble;
    assert_true(lo > 20 && hi < 40); /* truth ~29.8 at 8192 + 100 tokens */
    assert_true(get(mm, "ci.0")->valuedouble > 10);
    cJSON_Delete(j);
}

static void planning_should_size_cells_slope_and_lengths_from_a_pilot(void **state)
{
    sim *s = *state;
    spec *sp = tu_spec(spec_text, "spec");
    char err[KV_ERRLEN] = "";
    planning_result *r = NULL;
    assert_int_equal(planning_compute(&s->d, sp, 0.05, &r, err), KV_OK);
    assert_true(r->reps_median >= 6);
    assert_true(r->reps_slope >= 1);
    assert_true(r->n_best >= 3);
    assert_true(r->expected_server_s > 0);
    assert_true(fabs(r->slope_ms_per_token - 1.1) < 0.3); /* secant of the laptop curve */
    planning_free(r);
    /* a tighter target needs more repetitions */
    assert_int_equal(planning_compute(&s->d, sp, 0.01, &r, err), KV_OK);
    assert_true(r->reps_median >= 6 && r->repetitions >= 6);
    planning_free(r);
    spec_free(sp);
}

/* One cold request at 4,096 tokens made 10x slower: flagged in its cell
 * (kept in n), and the cold model is chosen on robust fits. */
static void results_should_flag_a_stall_and_choose_the_cold_model_robustly(void **state)
{
    sim *s = *state;
    size_t hit = slow_down(s, 4096, 4, 10);
    cJSON *j = run(s, NULL);
    const cJSON *cells = get(j, "targets.0.cells"), *c;
    int flagged = 0;
    cJSON_ArrayForEach(c, cells)
    {
        const cJSON *st = get(c, "stalls");
        assert_non_null(st);
        assert_non_null(get(st, "rule"));
        int k = get(st, "count")->valueint;
        flagged += k;
        if (k) {
            assert_int_equal(get(c, "system_prompt_tokens")->valueint, 4096);
            assert_string_equal(get(c, "cache_mode")->valuestring, "cold");
            assert_int_equal(get(c, "n")->valueint, 10); /* kept */
            assert_int_equal(get(st, "trials.0.order")->valueint, (int)hit);
            double ratio = get(st, "trials.0.ratio_to_median")->valuedouble;
            assert_true(ratio > 8 && ratio < 12);
        }
    }
    assert_int_equal(flagged, 1);
    const cJSON *m = get(j, "targets.0.models.cold_ttft");
    assert_int_equal(get(m, "stalls")->valueint, 1);
    assert_non_null(strstr(get(m, "choice_method")->valuestring, "robust"));
    assert_non_null(strstr(get(m, "why")->valuestring, "robust AIC"));
    assert_true(cJSON_IsTrue(get(m, "fits.0.robust_fit")));
    assert_string_equal(get(m, "chosen")->valuestring, "quadratic");
    /* the server prefill times were left alone: no stall, least squares */
    assert_int_equal(get(j, "targets.0.models.cold_server_prefill.stalls")->valueint, 0);
    cJSON_Delete(j);
}

/* The writer's failures (trial id strings, failures_truncated) are what the
 * report's reader accepts: one failed trial must not cost the PDF. */
static void results_with_failed_trials_should_load_in_the_report_reader(void **state)
{
    sim *s = *state;
    for (long k = 0; k < 205; k++) {
        trial_record *t = sim_trial(s, 1024, 100, 1, SPEC_COLD, 100 + k, 2);
        t->ok = false;
        snprintf(t->error, sizeof t->error, "HTTP 500: simulated fault %ld", k);
        t->turns[0].turn = 1;
        t->turns[0].attempts = 2;
        t->turns[0].prompt_tokens = t->turns[0].cached_tokens = -1;
        t->turns[0].ttft_ms = t->turns[0].total_ms = NAN;
    }
    char *text = NULL;
    cJSON *j = run(s, &text);
    assert_true(cJSON_IsString(get(j, "counts.failures.0.trial")));
    assert_true(cJSON_IsTrue(get(j, "counts.failures_truncated")));
    rr_results *r = NULL;
    char err[KV_ERRLEN] = "";
    kv_status st = results_read_parse(text, strlen(text), "results.json", &r, err);
    if (st != KV_OK)
        fail_msg("%s", err);
    assert_int_equal(r->n_failures, 200);
    assert_int_equal(r->failed, 205);
    assert_true(r->failures_truncated);
    assert_string_equal(r->failures[0].trial, "ref/s1024/q100/n1/cold/r100");
    assert_string_equal(r->failures[0].reason, "HTTP 500: simulated fault 0");
    assert_int_equal(r->failures[0].attempts, 2);
    results_read_free(r);
    free(text);
    cJSON_Delete(j);
}

/* results.json is strict UTF-8 even when the journal's strings are not (a
 * journal of an older kvproof may hold a server's stray bytes). */
static void results_json_should_be_strict_utf8(void **state)
{
    sim *s = *state;
    free(s->d.header.client_host);
    s->d.header.client_host = tu_strdup("host \xff\xfe; cpu \xe4\xb8; Linux");
    char *text = NULL;
    cJSON *j = run(s, &text);
    assert_true(kv_utf8_valid(text, strlen(text)));
    assert_string_equal(get(j, "environment.client.host")->valuestring,
                        "host \xef\xbf\xbd\xef\xbf\xbd; cpu \xef\xbf\xbd; Linux");
    free(text);
    cJSON_Delete(j);
}

TU_MAIN(NULL, NULL, SIM_TEST(results_should_compute_verdicts_from_whole_intervals, 10),
        cmocka_unit_test(results_should_explain_one_prompt_length_without_nan),
        cmocka_unit_test(results_should_refuse_a_journal_without_usable_requests),
        cmocka_unit_test(results_should_write_a_file_from_a_journal_on_disk),
        SIM_TEST(results_should_give_a_sane_overhead_interval_from_few_repetitions, 2),
        SIM_TEST(results_should_extrapolate_the_overhead_without_a_0_token_cell, 0),
        SIM_TEST(results_should_say_the_overhead_was_not_measured_in_a_sentence, 0),
        SIM_TEST(results_should_keep_the_session_speedup_sane_with_one_stall, 8),
        SIM_TEST(planning_should_size_cells_slope_and_lengths_from_a_pilot, 4),
        SIM_TEST(results_should_flag_a_stall_and_choose_the_cold_model_robustly, 10),
        SIM_TEST(results_with_failed_trials_should_load_in_the_report_reader, 4),
        SIM_TEST(results_json_should_be_strict_utf8, 3))
