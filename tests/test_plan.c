/* test_plan.c - the trial plan: counts, tokens, seeded order, ids, and the
 * 'kvproof plan' command's output and exit codes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "common/util.h"
#include "experiments/plan.h"
#include "experiments/spec.h"
#include "tests/testutil.h"

#define KV_SPEC "data/experiments/kv-cache-hypothesis.json"
#define SMOKE "data/experiments/smoke.json"
#define TWO "tests/fixtures/specs/good/two_targets.json"

static plan *build(const spec *s, uint64_t seed)
{
    char err[KV_ERRLEN] = "";
    plan *p = NULL;
    if (plan_build(s, seed, &p, err) != KV_OK)
        fail_msg("%s", err);
    return p;
}

/* A spec file and the plan built from it. */
typedef struct planned {
    spec *s;
    plan *p;
} planned;

/* The plan with the spec's own seed. */
static planned plan_file(const char *path)
{
    planned x = {.s = tu_spec_load(path)};
    x.p = build(x.s, x.s->seed);
    return x;
}

/* The plan with the given seed. */
static planned plan_seeded(const char *path, uint64_t seed)
{
    planned x = {.s = tu_spec_load(path)};
    x.p = build(x.s, seed);
    return x;
}

static void planned_free(planned *x)
{
    plan_free(x->p);
    spec_free(x->s);
}

static void rng_should_match_the_reference_splitmix64_and_xoshiro_streams(void **state)
{
    (void)state;
    plan_rng r;
    plan_rng_seed(&r, 0);
    /* splitmix64 from 0: published first outputs. */
    assert_true(r.s[0] == 0xe220a8397b1dcdafULL);
    assert_true(r.s[1] == 0x6e789e6aa1b965f4ULL);
    assert_true(r.s[2] == 0x06c45d188009454fULL);
    assert_true(r.s[3] == 0xf88bb8a8724c81ecULL);
    /* xoshiro256** outputs computed by an independent implementation. */
    assert_true(plan_rng_next(&r) == 0x99ec5f36cb75f2b4ULL);
    assert_true(plan_rng_next(&r) == 0xbf6e1f784956452aULL);
    assert_true(plan_rng_next(&r) == 0x1a5f849d4933e6e0ULL);
    plan_rng_seed(&r, 1);
    assert_true(plan_rng_next(&r) == 0xb3f2af6d0fc710c5ULL);
    for (int i = 0; i < 10000; i++)
        assert_true(plan_rng_below(&r, 7) < 7);
    assert_true(plan_rng_below(&r, 1) == 0);
}

/* The plan's cells, measured trials, all trials and requests. */
static void check_counts(const plan *p, size_t cells, size_t measured, size_t trials,
                         long long requests)
{
    assert_int_equal(p->n_cells, cells);
    assert_int_equal(p->n_measured, measured);
    assert_int_equal(p->n_trials, trials);
    assert_int_equal(p->n_requests, requests);
}

static void smoke_plan_should_have_the_counted_trials_requests_and_tokens(void **state)
{
    (void)state;
    planned x = plan_file(SMOKE);
    check_counts(x.p, 4, 8, 9, 13);
    /* warm-up 25; cold s0 2x25; warm s0 2x(25+25); cold s550 2x575; warm s550 2x(575+575) */
    assert_int_equal(x.p->prompt_tokens, 3625);
    /* warm turns after priming only prefill the query: warm s0 2x(25+25), s550 2x(575+25) */
    assert_int_equal(x.p->new_prompt_tokens, 2525);
    planned_free(&x);
    plan_free(NULL);
}

static void seed_experiment_plan_should_have_its_documented_size(void **state)
{
    (void)state;
    planned x = plan_file(KV_SPEC);
    check_counts(x.p, 32, 160, 162, 332);
    long long measured_turns = 0;
    for (size_t i = 0; i < x.p->n_trials; i++)
        if (x.p->trials[i].kind == PLAN_MEASURE)
            measured_turns += x.p->trials[i].query_count;
    assert_int_equal(measured_turns, 250);
    planned_free(&x);
}

static void session_turns_should_grow_by_query_and_answer(void **state)
{
    (void)state;
    spec *s = tu_spec_load(KV_SPEC);
    plan_trial t = {.kind = PLAN_MEASURE,
                    .system_prompt_tokens = 18490,
                    .query_tokens = 25,
                    .query_count = 10,
                    .mode = SPEC_COLD};
    long long all, fresh;
    plan_trial_tokens(s, &t, &all, &fresh);
    /* sum over k=1..10 of 18490 + 25k + 8(k-1) */
    assert_int_equal(all, 10 * 18490 + 25 * 55 + 8 * 45);
    assert_int_equal(fresh, all);
    t.mode = SPEC_WARM;
    plan_trial_tokens(s, &t, &all, &fresh);
    assert_int_equal(all, 10 * 18490 + 25 * 55 + 8 * 45 + 18490 + 25);
    assert_int_equal(fresh, 18490 + 25 + 25 + 9 * (25 + 8));
    spec_free(s);
}

static char **sorted_ids(const plan *p)
{
    char **ids = calloc(p->n_trials, sizeof *ids);
    for (size_t i = 0; i < p->n_trials; i++)
        ids[i] = strdup(p->trials[i].id);
    qsort(ids, p->n_trials, sizeof *ids, tu_cmp_str);
    return ids;
}

static void free_ids(char **ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
}

static void other_seed_should_change_the_order_but_not_the_trials(void **state)
{
    (void)state;
    spec *s = tu_spec_load(KV_SPEC);
    plan *a = build(s, 1), *b = build(s, 2), *c = build(s, 1);
    assert_int_equal(a->n_trials, b->n_trials);
    size_t differ = 0;
    for (size_t i = 0; i < a->n_trials; i++) {
        differ += strcmp(a->trials[i].id, b->trials[i].id) != 0;
        assert_string_equal(a->trials[i].id, c->trials[i].id);
        assert_true(a->trials[i].nonce == c->trials[i].nonce);
    }
    assert_true(differ > a->n_trials / 2);
    char **ia = sorted_ids(a), **ib = sorted_ids(b);
    for (size_t i = 0; i < a->n_trials; i++) {
        assert_string_equal(ia[i], ib[i]);
        if (i > 0)
            assert_true(strcmp(ia[i - 1], ia[i]) != 0); /* ids are unique */
    }
    free_ids(ia, a->n_trials);
    free_ids(ib, b->n_trials);
    plan_free(a);
    plan_free(b);
    plan_free(c);
    spec_free(s);
}

static void order_should_be_the_same_on_every_machine(void **state)
{
    (void)state;
    /* Golden order for smoke.json, seed 7: fixed by the portable PRNG. */
    static const char *const golden[] = {"reference/warmup/0",
                                         "reference/s0/q25/n1/cold/r1",
                                         "reference/s0/q25/n1/warm/r1",
                                         "reference/s550/q25/n1/warm/r1",
                                         "reference/s550/q25/n1/cold/r1",
                                         "reference/s550/q25/n1/cold/r0",
                                         "reference/s0/q25/n1/cold/r0",
                                         "reference/s550/q25/n1/warm/r0",
                                         "reference/s0/q25/n1/warm/r0"};
    planned x = plan_file(SMOKE);
    assert_int_equal(x.p->n_trials, 9);
    for (size_t i = 0; i < 9; i++) {
        assert_string_equal(x.p->trials[i].id, golden[i]);
        assert_int_equal(x.p->trials[i].index, i);
    }
    planned_free(&x);
}

static void warmups_should_come_first_within_each_target_block(void **state)
{
    (void)state;
    planned x = plan_seeded(TWO, 99);
    const plan *p = x.p;
    assert_int_equal(p->n_trials, 2 * 2 + 2 * 24 * 3);
    size_t per = p->n_trials / 2;
    for (size_t i = 0; i < p->n_trials; i++) {
        const plan_trial *t = &p->trials[i];
        assert_int_equal(t->target, i / per);
        assert_int_equal(t->kind, (i % per) < 2 ? PLAN_WARMUP : PLAN_MEASURE);
        assert_int_equal(t->requests, t->kind == PLAN_WARMUP
                                          ? 1
                                          : t->query_count + (t->mode == SPEC_WARM ? 1 : 0));
    }
    assert_string_equal(p->trials[0].id, "llama/warmup/0");
    assert_string_equal(p->trials[per + 1].id, "ollama/warmup/1");
    planned_free(&x);
}

static void blocked_order_should_keep_cells_and_repetitions_in_order(void **state)
{
    (void)state;
    const char text[] = "{\"name\":\"b\",\"order\":\"blocked\",\"repetitions\":3,"
                        "\"warmup_requests\":0,\"targets\":[{\"name\":\"a\",\"base_url\":"
                        "\"http://h\"}],\"workload\":{\"system_prompt_tokens\":[0,100],"
                        "\"query_tokens\":[5]},\"sessions\":{\"query_counts\":[1,2]}}";
    spec *s = tu_spec(text, "b.json");
    plan *p1 = build(s, 1), *p2 = build(s, 2);
    assert_int_equal(p1->n_cells, 8);
    for (size_t i = 0; i < p1->n_trials; i++) {
        assert_string_equal(p1->trials[i].id, p2->trials[i].id);
        assert_int_equal(p1->trials[i].cell, i / 3);
        assert_int_equal(p1->trials[i].repetition, (long)(i % 3));
    }
    assert_string_equal(p1->trials[0].id, "a/s0/q5/n1/cold/r0");
    assert_string_equal(p1->trials[3].id, "a/s0/q5/n1/warm/r0");
    assert_string_equal(p1->trials[6].id, "a/s0/q5/n2/cold/r0");
    plan_free(p1);
    plan_free(p2);
    spec_free(s);
}

static void session_filter_should_limit_long_sessions_to_listed_lengths(void **state)
{
    (void)state;
    planned x = plan_seeded(KV_SPEC, 5);
    for (size_t i = 0; i < x.p->n_trials; i++) {
        const plan_trial *t = &x.p->trials[i];
        if (t->query_count > 1) {
            assert_int_equal(t->query_count, 10);
            assert_int_equal(t->system_prompt_tokens, 18490);
            assert_int_equal(t->query_tokens, 25);
        }
    }
    assert_true(spec_has_cell(x.s, 550, 5, 1));
    assert_false(spec_has_cell(x.s, 550, 5, 10));
    assert_false(spec_has_cell(x.s, 551, 5, 1));
    planned_free(&x);
}

/* ---- the command ---------------------------------------------------------------- */

static int run_cli(const char *args, kv_buf *out)
{
    return tu_kvproof(out, "plan %s 2>&1", args);
}

static void plan_command_json_should_be_byte_identical_for_the_same_seed(void **state)
{
    (void)state;
    kv_buf a = {0}, b = {0}, c = {0};
    assert_int_equal(run_cli(KV_SPEC " --format json", &a), 0);
    assert_int_equal(run_cli(KV_SPEC " --format json --seed 1", &b), 0);
    assert_int_equal(run_cli(KV_SPEC " --format json --seed 2", &c), 0);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.data, b.data, a.len);
    assert_true(a.len == c.len); /* same content, nonces and ids have fixed widths */
    assert_true(memcmp(a.data, c.data, a.len) != 0);
    assert_non_null(strstr(a.data, "\"trials\":\t["));
    assert_non_null(strstr(a.data, "\"id\":\t\"reference/s18490/q25/n10/warm/r4\""));
    kv_buf_free(&a);
    kv_buf_free(&b);
    kv_buf_free(&c);
}

static void plan_command_should_print_counts_and_an_estimate(void **state)
{
    (void)state;
    kv_buf o = {0};
    assert_int_equal(run_cli(KV_SPEC " --assume-prefill-tps 1000", &o), 0);
    TU_CONTAINS(o.data, "cells:     32", "trials:    162 (160 measured", "requests:  332",
                "estimated prefill time at 1000 tokens/s");
    kv_buf_free(&o);
}

static void plan_command_should_use_documented_exit_codes(void **state)
{
    (void)state;
    kv_buf o = {0};
    assert_int_equal(run_cli("--help", &o), 0);
    assert_non_null(strstr(o.data, "--assume-prefill-tps"));
    assert_int_equal(run_cli("", &o), 2);
    assert_int_equal(run_cli(SMOKE " --seed x", &o), 2);
    assert_int_equal(run_cli(SMOKE " --format xml", &o), 2);
    assert_int_equal(run_cli(SMOKE " --bogus", &o), 2);
    assert_int_equal(run_cli(SMOKE " --seed", &o), 2);
    assert_int_equal(run_cli("tests/fixtures/specs/bad/many_errors.json", &o), 3);
    size_t lines = 0;
    for (const char *p = o.data; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 7);
    assert_int_equal(run_cli("tests/fixtures/specs/bad/unknown_workload_key.json", &o), 3);
    assert_non_null(strstr(o.data, "unknown_workload_key.json:19:5: $.workload.sytem_prompt_tokens:"
                                   " unknown key (did you mean \"system_prompt_tokens\"?)\n"));
    assert_int_equal(run_cli("no/such/spec.json", &o), 1);
    kv_buf_free(&o);
}

TU_MAIN(NULL, NULL, cmocka_unit_test(rng_should_match_the_reference_splitmix64_and_xoshiro_streams),
        cmocka_unit_test(smoke_plan_should_have_the_counted_trials_requests_and_tokens),
        cmocka_unit_test(seed_experiment_plan_should_have_its_documented_size),
        cmocka_unit_test(session_turns_should_grow_by_query_and_answer),
        cmocka_unit_test(other_seed_should_change_the_order_but_not_the_trials),
        cmocka_unit_test(order_should_be_the_same_on_every_machine),
        cmocka_unit_test(warmups_should_come_first_within_each_target_block),
        cmocka_unit_test(blocked_order_should_keep_cells_and_repetitions_in_order),
        cmocka_unit_test(session_filter_should_limit_long_sessions_to_listed_lengths),
        cmocka_unit_test(plan_command_json_should_be_byte_identical_for_the_same_seed),
        cmocka_unit_test(plan_command_should_print_counts_and_an_estimate),
        cmocka_unit_test(plan_command_should_use_documented_exit_codes))
