/* test_warm.c - contention statistics (stats/warm.h) and their section of
 * results.json: Wilson intervals against reference values, the warm
 * capacity and its bounds on hand-made groups, what is left out (failed,
 * after a resume) and what is labelled (inferred), the session arithmetic,
 * the fixture journal written by the journal writer (tests/warmfix.h), its
 * results (capacity 1 and 2 for the two configured servers, hypotheses
 * decided by the bounds), the strict reader accepting the section, no
 * section without contention, the spec rule for warm_capacity, and the
 * contention fields of `kvproof export --format csv`.
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
#include <unistd.h>

#include <cjson/cJSON.h>

#include "report/results_read.h"
#include "stats/results.h"
#include "stats/warm.h"
#include "warmfix.h"
#include "tests/testutil.h"

/* ---- plain arrays --------------------------------------------------------- */

/* Appends K agents x per requests of one group: position 0 a miss (ttft
 * miss_ms), later positions class h (ttft hit_ms) for the first `hits` of
 * them, then class other. */
static void add_group(warm_req *r, size_t *n, size_t target, long k, long per, size_t hits,
                      trial_hit h, trial_hit other, double hit_ms, double miss_ms)
{
    size_t later = 0;
    for (long i = 0; i < k * per; i++) {
        warm_req *q = &r[(*n)++];
        memset(q, 0, sizeof *q);
        q->target = target;
        q->agents = k;
        q->sys = 1000;
        q->position = i / k;
        q->held = TRIAL_SLOT_OTHER;
        if (q->position == 0) {
            q->hit = TRIAL_HIT_MISS;
            q->ttft_ms = miss_ms;
            continue;
        }
        q->hit = later++ < hits ? h : other;
        q->ttft_ms = q->hit == h ? hit_ms : miss_ms;
    }
}

static void wilson_should_match_reference_values(void **state)
{
    (void)state;
    double lo, hi;
    warm_wilson(0, 10, 0.95, &lo, &hi); /* R: prop.test(0, 10, correct = FALSE) */
    assert_true(lo == 0 && fabs(hi - 0.2775328) < 1e-6);
    warm_wilson(10, 10, 0.95, &lo, &hi);
    assert_true(fabs(lo - 0.7224672) < 1e-6 && hi == 1);
    warm_wilson(5, 10, 0.95, &lo, &hi);
    assert_true(fabs(lo - 0.2365931) < 1e-6 && fabs(hi - 0.7634069) < 1e-6);
    warm_wilson(35, 35, 0.95, &lo, &hi); /* 35 hits of 35: just above 0.9 */
    assert_true(lo > 0.9 && lo < 0.902);
    warm_wilson(0, 0, 0.95, &lo, &hi);
    assert_true(lo == 0 && hi == 1);
}

/* warm_compute at the 95% level, which must succeed: its result. */
static warm_result compute(const warm_req *r, size_t n)
{
    char err[KV_ERRLEN] = "";
    warm_result res;
    assert_int_equal(warm_compute(r, n, 0.95, &res, err), KV_OK);
    return res;
}

static void capacity_should_be_the_largest_count_staying_warm_with_wilson_bounds(void **state)
{
    (void)state;
    warm_req *r = calloc(4000, sizeof *r);
    size_t n = 0;
    /* K = 1, 2 all hits (36 per agent: every Wilson lo >= 0.9); K = 3 at 92%
     * of 105 (lo < 0.9); K = 4 at 40%. */
    add_group(r, &n, 0, 1, 36, 35, TRIAL_HIT_FULL, TRIAL_HIT_MISS, 50, 500);
    add_group(r, &n, 0, 2, 36, 70, TRIAL_HIT_RESTORED, TRIAL_HIT_MISS, 80, 500);
    add_group(r, &n, 0, 3, 36, 97, TRIAL_HIT_FULL, TRIAL_HIT_MISS, 50, 500);
    add_group(r, &n, 0, 4, 36, 56, TRIAL_HIT_FULL, TRIAL_HIT_MISS, 50, 500);
    warm_result res = compute(r, n);
    assert_int_equal(res.n_groups, 4);
    assert_int_equal(res.n_caps, 1);
    const warm_capacity *c = warm_capacity_find(&res, 0, -1);
    assert_non_null(c);
    assert_int_equal(c->capacity, 3); /* 97 / 105 = 0.924 */
    assert_int_equal(c->low, 2);      /* K = 3: Wilson lo 0.857 */
    assert_int_equal(c->high, 3);     /* K = 4: Wilson hi 0.49 < 0.9 */
    assert_false(c->high_open);
    assert_int_equal(c->cold_from, 4); /* 56 / 140 = 0.4 */
    assert_int_equal(c->cold_high, 4);
    assert_int_equal(c->smallest, 1);
    assert_int_equal(c->largest, 4);
    assert_ptr_equal(c->at_capacity, &res.groups[2]);
    assert_ptr_equal(c->beyond, &res.groups[3]);
    const warm_group *g = &res.groups[1];
    assert_int_equal(g->scored, 70);
    assert_int_equal(g->classes[TRIAL_HIT_RESTORED], 70);
    assert_true(g->hit_rate.value == 1.0);
    warm_result_free(&res);
    free(r);
}

static void
capacity_should_say_the_sweep_does_not_bound_it_when_every_count_stays_warm(void **state)
{
    (void)state;
    warm_req r[200];
    size_t n = 0;
    add_group(r, &n, 0, 1, 10, 9, TRIAL_HIT_FULL, TRIAL_HIT_MISS, 50, 500);
    add_group(r, &n, 0, 2, 10, 18, TRIAL_HIT_FULL, TRIAL_HIT_MISS, 50, 500);
    warm_result res = compute(r, n);
    const warm_capacity *c = warm_capacity_find(&res, 0, 1000);
    assert_int_equal(c->capacity, 2);
    assert_int_equal(c->low, 0); /* 9 of 9: Wilson lo 0.70 */
    assert_int_equal(c->high, 2);
    assert_true(c->high_open);
    assert_int_equal(c->cold_from, 0);
    assert_null(c->beyond);
    assert_null(warm_capacity_find(&res, 0, 999));
    warm_result_free(&res);
}

static void saving_and_session_should_follow_the_medians_and_the_hit_rate(void **state)
{
    (void)state;
    warm_req r[200];
    size_t n = 0;
    /* 2 agents x 10: 18 scored, 9 hits (100 ms), 9 misses + 2 first (1000 ms). */
    add_group(r, &n, 0, 2, 10, 9, TRIAL_HIT_FULL, TRIAL_HIT_MISS, 100, 1000);
    warm_result res = compute(r, n);
    const warm_group *g = &res.groups[0];
    assert_true(g->hit_rate.value == 0.5);
    assert_true(g->saving.value == 900);
    assert_true(g->saving.has_ci && g->saving.lo == 900 && g->saving.hi == 900);
    assert_true(g->saving.level > 0.9);
    assert_true(fabs(g->session_without.value - 10.0) < 1e-12);
    /* 1 s + 9 x (0.5 x 0.1 s + 0.5 x 1 s) = 5.95 s */
    assert_true(fabs(g->session_with.value - 5.95) < 1e-12);
    assert_true(g->session_with.lo < 5.95 && g->session_with.hi > 5.95);
    assert_true(g->ttft.has_ci);
    assert_int_equal(g->ttft.n, 18);
    warm_result_free(&res);
}

static void failed_and_resumed_requests_should_be_left_out_and_inferred_labelled(void **state)
{
    (void)state;
    warm_req r[64];
    size_t n = 0;
    char err[KV_ERRLEN] = "";
    add_group(r, &n, 0, 1, 10, 9, TRIAL_HIT_INFERRED_HIT, TRIAL_HIT_MISS, 60, 600);
    r[3].hit = TRIAL_HIT_NONE; /* failed */
    r[3].ttft_ms = NAN;
    r[4].after_resume = true;
    r[5].hit = TRIAL_HIT_FULL;
    r[5].held = TRIAL_SLOT_UNKNOWN;
    warm_result res = compute(r, n);
    const warm_group *g = &res.groups[0];
    assert_int_equal(g->requests, 10);
    assert_int_equal(g->failed, 1);
    assert_int_equal(g->resumed, 1);
    assert_int_equal(g->scored, 7);
    assert_int_equal(g->hits, 7);
    assert_int_equal(g->inferred, 6);
    assert_int_equal(g->classes[TRIAL_HIT_INFERRED_HIT], 6);
    assert_int_equal(g->full_unknown, 1);
    warm_result_free(&res);
    assert_int_equal(warm_compute(r, 0, 0.95, &res, err), KV_OK);
    assert_int_equal(res.n_groups, 0);
    assert_int_equal(warm_compute(r, n, 1.5, &res, err), KV_ERR_USAGE);
}

/* ---- the fixture journal and its results ---------------------------------- */

static void fixture_should_be_what_the_journal_writer_makes(void **state)
{
    (void)state;
    char path[] = "/tmp/kvwarm-XXXXXX", err[KV_ERRLEN] = "";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    unlink(path);
    kv_status st = warmfix_write(path, err);
    if (st != KV_OK)
        fail_msg("%s", err);
    char *made = NULL;
    size_t n1 = 0;
    assert_int_equal(kv_read_file(path, &made, &n1, err), KV_OK);
    if (getenv("KVPROOF_UPDATE_FIXTURES")) {
        FILE *f = fopen(WARMFIX_PATH, "w");
        assert_non_null(f);
        assert_int_equal(fwrite(made, 1, n1, f), n1);
        assert_int_equal(fclose(f), 0);
    }
    free(made);
    tu_expect_same_file(path, WARMFIX_PATH);
    unlink(path);
}

/* results.json of the fixture as a cJSON tree. */
static cJSON *fixture_results(kv_buf *out)
{
    journal_data *d = NULL;
    char err[KV_ERRLEN] = "";
    results_options opt;
    results_options_default(&opt);
    opt.bootstrap_resamples = 200;
    assert_int_equal(journal_load(WARMFIX_PATH, &d, err), KV_OK);
    kv_status st = results_from_data(d, WARMFIX_PATH, &opt, out, err);
    if (st != KV_OK)
        fail_msg("%s", err);
    journal_data_free(d);
    cJSON *root = cJSON_ParseWithLength(out->data, out->len);
    assert_non_null(root);
    return root;
}

static double num_at(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static const cJSON *capacity_of(const cJSON *root, const char *target)
{
    const cJSON *caps = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(root, "contention"), "capacity");
    const cJSON *c;
    cJSON_ArrayForEach(c, caps)
    {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(c, "target");
        if (cJSON_IsString(t) && strcmp(t->valuestring, target) == 0)
            return c;
    }
    fail_msg("no capacity for %s", target);
    return NULL;
}

static void measured_capacity_should_equal_the_configured_one_inside_its_bounds(void **state)
{
    (void)state;
    kv_buf out = {0};
    cJSON *root = fixture_results(&out);
    const cJSON *lap = capacity_of(root, "laptop"), *ram = capacity_of(root, "ram");
    assert_true(num_at(lap, "warm_capacity") == 1);
    assert_true(num_at(lap, "warm_capacity_low") == 1 && num_at(lap, "warm_capacity_high") == 1);
    assert_true(num_at(lap, "cold_from") == 2);
    assert_true(num_at(ram, "warm_capacity") == 2);
    assert_true(num_at(ram, "warm_capacity_low") == 2 && num_at(ram, "warm_capacity_high") == 2);
    assert_true(num_at(ram, "cold_from") == 4);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(ram, "warm_capacity_high_open")));
    const cJSON *sum = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(root, "contention"), "summary");
    assert_non_null(
        strstr(sum->valuestring, "laptop, 550-token prompts: up to 1 agent stays warm"));
    assert_non_null(strstr(sum->valuestring, "10-request session takes"));
    /* H5 (warm_capacity >= 2): refuted on laptop, confirmed on ram. */
    const cJSON *h;
    int seen = 0;
    cJSON_ArrayForEach(h, cJSON_GetObjectItemCaseSensitive(root, "hypotheses"))
    {
        const char *id = cJSON_GetObjectItemCaseSensitive(h, "id")->valuestring;
        const char *t = cJSON_GetObjectItemCaseSensitive(h, "target")->valuestring;
        const char *v = cJSON_GetObjectItemCaseSensitive(h, "verdict")->valuestring;
        if (strcmp(id, "H5") != 0)
            continue;
        seen++;
        assert_string_equal(v, strcmp(t, "laptop") == 0 ? "refuted" : "confirmed");
    }
    assert_int_equal(seen, 2);
    /* the strict reader accepts the section */
    rr_results *rr = NULL;
    char err[KV_ERRLEN] = "";
    if (results_read_parse(out.data, out.len, "fixture results", &rr, err) != KV_OK)
        fail_msg("%s", err);
    results_read_free(rr);
    cJSON_Delete(root);
    kv_buf_free(&out);
}

/* The text with the first `from` replaced by `to` (malloc'd). */
static char *replaced(const char *text, const char *from, const char *to)
{
    const char *at = strstr(text, from);
    assert_non_null(at);
    size_t n = strlen(text) - strlen(from) + strlen(to) + 1;
    char *out = malloc(n);
    assert_non_null(out);
    snprintf(out, n, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    return out;
}

static void an_open_upper_bound_should_never_refute_warm_capacity(void **state)
{
    (void)state;
    /* The fixture without 4 agents: ram stays warm at every count swept (its
     * upper bound is open), laptop still goes cold at 2. H5 asks for 3. */
    char *a = replaced(WARMFIX_SPEC, "\"agents\":[1,2,4]", "\"agents\":[1,2]");
    char *b = replaced(a, "\"min\":2}", "\"min\":3}");
    spec *sp = NULL;
    journal_data *d = NULL;
    char err[KV_ERRLEN] = "";
    assert_int_equal(spec_parse(b, strlen(b), "open.json", &sp, err), KV_OK);
    assert_int_equal(journal_load(WARMFIX_PATH, &d, err), KV_OK);
    size_t kept = 0;
    for (size_t i = 0; i < d->n_trials; i++) {
        if (strstr(d->trials[i].id, "/contention/k4/")) {
            trial_record_clear(&d->trials[i]);
            continue;
        }
        d->trials[kept++] = d->trials[i];
    }
    d->n_trials = kept;
    free(d->header.spec_json);
    d->header.spec_json = strdup(sp->canonical);
    kv_buf out = {0};
    results_options opt;
    results_options_default(&opt);
    opt.bootstrap_resamples = 200;
    assert_int_equal(results_from_data(d, WARMFIX_PATH, &opt, &out, err), KV_OK);
    cJSON *root = cJSON_ParseWithLength(out.data, out.len);
    const cJSON *ram = capacity_of(root, "ram");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ram, "warm_capacity_high_open")));
    assert_true(num_at(ram, "warm_capacity_high") == 2);
    const cJSON *h;
    cJSON_ArrayForEach(h, cJSON_GetObjectItemCaseSensitive(root, "hypotheses"))
    {
        if (strcmp(cJSON_GetObjectItemCaseSensitive(h, "id")->valuestring, "H5") != 0)
            continue;
        const char *t = cJSON_GetObjectItemCaseSensitive(h, "target")->valuestring;
        const char *v = cJSON_GetObjectItemCaseSensitive(h, "verdict")->valuestring;
        assert_string_equal(v, strcmp(t, "ram") == 0 ? "inconclusive" : "refuted");
    }
    cJSON_Delete(root);
    kv_buf_free(&out);
    journal_data_free(d);
    spec_free(sp);
    free(a);
    free(b);
}

static void groups_should_count_classes_and_left_out_requests(void **state)
{
    (void)state;
    kv_buf out = {0};
    cJSON *root = fixture_results(&out);
    const cJSON *groups = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(root, "contention"), "groups");
    assert_int_equal(cJSON_GetArraySize(groups), 6);
    const cJSON *g = cJSON_GetArrayItem(groups, 5); /* ram, 4 agents */
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(g, "target")->valuestring, "ram");
    assert_true(num_at(g, "agents") == 4);
    assert_true(num_at(g, "requests") == 144 && num_at(g, "scored") == 140);
    const cJSON *cl = cJSON_GetObjectItemCaseSensitive(g, "classes");
    assert_true(num_at(cl, "partial") + num_at(cl, "miss") == 140);
    assert_true(num_at(cl, "partial") == 28);
    const cJSON *rate = cJSON_GetObjectItemCaseSensitive(g, "hit_rate");
    assert_true(num_at(rate, "value") == 0);
    g = cJSON_GetArrayItem(groups, 4); /* ram, 2 agents: restored */
    assert_true(num_at(cJSON_GetObjectItemCaseSensitive(g, "classes"), "restored") == 70);
    cJSON_Delete(root);
    kv_buf_free(&out);
}

static void results_should_have_no_contention_section_without_contention(void **state)
{
    (void)state;
    journal_data *d = NULL;
    char err[KV_ERRLEN] = "";
    kv_buf out = {0};
    assert_int_equal(journal_load(WARMFIX_BASE, &d, err), KV_OK);
    assert_int_equal(results_from_data(d, WARMFIX_BASE, NULL, &out, err), KV_OK);
    assert_null(strstr(out.data, "\"contention\""));
    journal_data_free(d);
    kv_buf_free(&out);
}

static void spec_should_refuse_warm_capacity_without_a_contention_block(void **state)
{
    (void)state;
    static const char bad[] =
        "{\"name\":\"x\",\"targets\":[{\"name\":\"a\",\"base_url\":\"http://127.0.0.1:1\"}],"
        "\"workload\":{\"system_prompt_tokens\":[100],\"query_tokens\":[5]},"
        "\"hypotheses\":[{\"id\":\"H\",\"metric\":\"warm_capacity\",\"min\":3}]}";
    spec *s = NULL;
    char err[KV_ERRLEN] = "";
    assert_int_equal(spec_parse(bad, strlen(bad), "x.json", &s, err), KV_ERR_INPUT);
    assert_non_null(strstr(err, "$.hypotheses[0].metric: metric \"warm_capacity\" needs a "
                                "contention block"));
    assert_int_equal(spec_parse(WARMFIX_SPEC, strlen(WARMFIX_SPEC), "fix.json", &s, err), KV_OK);
    assert_int_equal(s->hypotheses[1].metric, SPEC_METRIC_WARM_CAPACITY);
    assert_string_equal(spec_metric_name(SPEC_METRIC_WARM_CAPACITY), "warm_capacity");
    assert_non_null(strstr(s->canonical, "\"metric\":\"warm_capacity\""));
    spec_free(s);
}

static void export_should_write_the_contention_fields(void **state)
{
    (void)state;
    const char *bin = getenv("KVPROOF_BIN");
    assert_non_null(bin);
    char cmd[512], line[8192];
    snprintf(cmd, sizeof cmd, "'%s' export %s --format csv", bin, WARMFIX_PATH);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t rows = 0, contention = 0, restored = 0;
    assert_non_null(fgets(line, sizeof line, p));
    assert_non_null(strstr(line, ",agent,agent_position,slot_held,hit,after_resume,raw\r\n"));
    while (fgets(line, sizeof line, p)) {
        rows++;
        contention += strstr(line, ",contention,") != NULL;
        restored += strstr(line, ",other,restored,false,") != NULL;
    }
    assert_int_equal(pclose(p), 0);
    assert_int_equal(rows, 524);
    assert_int_equal(contention, 504);
    assert_int_equal(restored, 70);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(wilson_should_match_reference_values),
        cmocka_unit_test(capacity_should_be_the_largest_count_staying_warm_with_wilson_bounds),
        cmocka_unit_test(
            capacity_should_say_the_sweep_does_not_bound_it_when_every_count_stays_warm),
        cmocka_unit_test(saving_and_session_should_follow_the_medians_and_the_hit_rate),
        cmocka_unit_test(failed_and_resumed_requests_should_be_left_out_and_inferred_labelled),
        cmocka_unit_test(fixture_should_be_what_the_journal_writer_makes),
        cmocka_unit_test(measured_capacity_should_equal_the_configured_one_inside_its_bounds),
        cmocka_unit_test(groups_should_count_classes_and_left_out_requests),
        cmocka_unit_test(an_open_upper_bound_should_never_refute_warm_capacity),
        cmocka_unit_test(results_should_have_no_contention_section_without_contention),
        cmocka_unit_test(spec_should_refuse_warm_capacity_without_a_contention_block),
        cmocka_unit_test(export_should_write_the_contention_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
