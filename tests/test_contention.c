/* test_contention.c - the spec's contention block and its plan: fields and
 * defaults, every pattern's order, positions in each agent's history,
 * nonces, the trace file, and determinism per seed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <math.h>

#include "experiments/contention.h"
#include "experiments/journal.h"
#include "experiments/spec.h"

static spec *parse_with(const char *contention)
{
    char text[2048], err[KV_ERRLEN] = "";
    snprintf(text, sizeof text,
             "{\"name\":\"m\",\"targets\":[{\"name\":\"a\",\"base_url\":"
             "\"http://127.0.0.1:8080\"}],\"workload\":{"
             "\"system_prompt_tokens\":[0,550],\"query_tokens\":[25]}%s%s}",
             contention ? ",\"contention\":" : "", contention ? contention : "");
    spec *s = NULL;
    if (spec_parse(text, strlen(text), "/tmp/kvproof-contention-test.json", &s, err) != KV_OK)
        fail_msg("unexpected error: %s", err);
    return s;
}

static contention_plan *build(const spec *s, uint64_t seed)
{
    contention_plan *p = NULL;
    char err[KV_ERRLEN] = "";
    assert_int_equal(contention_build(s, seed, &p, err), KV_OK);
    return p;
}

static void spec_without_contention_should_keep_its_canonical_form(void **state)
{
    (void)state;
    spec *s = parse_with(NULL);
    assert_false(s->contention.enabled);
    assert_null(strstr(s->canonical, "contention"));
    contention_plan *p = build(s, 1);
    assert_int_equal(p->n_reqs, 0);
    contention_free(p);
    spec_free(s);
}

static void contention_block_should_load_with_its_defaults(void **state)
{
    (void)state;
    spec *s = parse_with("{\"agents\":[1,2,4]}");
    const spec_contention *c = &s->contention;
    assert_true(c->enabled);
    assert_int_equal(c->n_agents, 3);
    assert_int_equal(c->agents[2], 4);
    assert_int_equal(c->pattern, SPEC_PATTERN_ROUND_ROBIN);
    assert_int_equal(c->requests_per_agent, 10);
    assert_int_equal(c->concurrency, 0);
    assert_non_null(strstr(s->canonical, "\"contention\":{\"agents\":[1,2,4]"));
    spec_free(s);
}

static void round_robin_should_cycle_agents_and_count_positions(void **state)
{
    (void)state;
    spec *s = parse_with("{\"agents\":[3],\"requests_per_agent\":4}");
    contention_plan *p = build(s, 1);
    assert_int_equal(p->n_groups, 2); /* 1 target x 1 count x 2 lengths */
    assert_int_equal(p->n_reqs, 24);
    for (size_t i = 0; i < 12; i++) {
        assert_int_equal(p->reqs[i].agent, (long)(i % 3));
        assert_int_equal(p->reqs[i].position, (long)(i / 3));
        assert_int_equal(p->reqs[i].index, i);
    }
    /* an agent keeps its prompt within a group; agents and groups differ */
    assert_true(p->reqs[0].agent_nonce == p->reqs[3].agent_nonce);
    assert_true(p->reqs[0].agent_nonce != p->reqs[1].agent_nonce);
    assert_true(p->reqs[0].agent_nonce != p->reqs[12].agent_nonce);
    assert_true(p->reqs[0].nonce != p->reqs[3].nonce);
    /* group 0 (no system prompt): 25 tokens each; group 1: 575 */
    assert_int_equal(p->prompt_tokens, 12 * 25 + 12 * 575);
    assert_int_equal(p->new_prompt_tokens, 12 * 25 + 3 * 575 + 9 * 25);
    contention_free(p);
    spec_free(s);
}

static void random_pattern_should_be_seeded_and_give_each_agent_its_share(void **state)
{
    (void)state;
    spec *s = parse_with("{\"agents\":[4],\"pattern\":\"random\",\"requests_per_agent\":5}");
    contention_plan *a = build(s, 7), *b = build(s, 7), *c = build(s, 8);
    assert_int_equal(a->n_reqs, b->n_reqs);
    bool same_seed = true, other_seed = true;
    long count[4] = {0};
    for (size_t i = 0; i < a->n_reqs; i++) {
        same_seed = same_seed && a->reqs[i].agent == b->reqs[i].agent &&
                    a->reqs[i].nonce == b->reqs[i].nonce;
        other_seed = other_seed && a->reqs[i].agent == c->reqs[i].agent;
        if (a->reqs[i].group == 0)
            count[a->reqs[i].agent]++;
    }
    assert_true(same_seed);
    assert_false(other_seed);
    for (int k = 0; k < 4; k++)
        assert_int_equal(count[k], 5);
    contention_free(a);
    contention_free(b);
    contention_free(c);
    spec_free(s);
}

static void main_with_subagents_should_give_the_main_agent_its_share(void **state)
{
    (void)state;
    spec *s =
        parse_with("{\"agents\":[1,3],\"pattern\":\"main_with_subagents\",\"main_share\":0.6}");
    contention_plan *p = build(s, 1);
    long count[2][3] = {{0}};
    for (size_t i = 0; i < p->n_reqs; i++) {
        const contention_group *g = &p->groups[p->reqs[i].group];
        if (g->system_prompt_tokens == 550)
            count[g->agents == 3][p->reqs[i].agent]++;
    }
    assert_int_equal(count[0][0], 10); /* alone, the main agent has them all */
    assert_int_equal(count[1][0], 18); /* 60% of 30 */
    assert_int_equal(count[1][1], 6);
    assert_int_equal(count[1][2], 6);
    contention_free(p);
    spec_free(s);
}

static void trace_should_replay_the_file_order(void **state)
{
    (void)state;
    FILE *f = fopen("/tmp/kvproof-contention-test.trace", "w");
    assert_non_null(f);
    fputs("# main, then two subagents\n0\n2\n0\n\n1\n0\n", f);
    fclose(f);
    spec *s = parse_with("{\"pattern\":\"trace\",\"trace\":\"kvproof-contention-test.trace\"}");
    assert_int_equal(s->contention.n_agents, 1);
    assert_int_equal(s->contention.agents[0], 3);
    assert_non_null(strstr(s->canonical, "\"trace_hash\":\""));
    contention_plan *p = build(s, 1);
    const long order[] = {0, 2, 0, 1, 0}, pos[] = {0, 0, 1, 0, 2};
    assert_int_equal(p->groups[0].n, 5);
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(p->reqs[i].agent, order[i]);
        assert_int_equal(p->reqs[i].position, pos[i]);
    }
    contention_free(p);
    spec_free(s);
    remove("/tmp/kvproof-contention-test.trace");
}

static void shipped_agents_spec_should_load_and_plan(void **state)
{
    (void)state;
    spec *s = NULL;
    char err[KV_ERRLEN] = "";
    if (spec_load(KVPROOF_SOURCE_DIR "/data/experiments/agents.json", &s, err) != KV_OK)
        fail_msg("%s", err);
    assert_int_equal(s->contention.pattern, SPEC_PATTERN_MAIN_WITH_SUBAGENTS);
    contention_plan *p = build(s, s->seed);
    assert_int_equal(p->n_groups, 3);
    assert_int_equal(p->n_reqs, 10 + 20 + 30);
    contention_free(p);
    spec_free(s);
}

static void hit_class_should_follow_the_counts_and_what_the_slot_held(void **state)
{
    (void)state;
    const double no = NAN;
    assert_int_equal(trial_hit_classify(1000, 990, 8, TRIAL_SLOT_UNKNOWN, no, no), TRIAL_HIT_FULL);
    assert_int_equal(trial_hit_classify(1000, 900, 8, TRIAL_SLOT_OWN, no, no), TRIAL_HIT_FULL);
    assert_int_equal(trial_hit_classify(1000, 899, 8, TRIAL_SLOT_OWN, no, no), TRIAL_HIT_PARTIAL);
    assert_int_equal(trial_hit_classify(1000, 8, 8, TRIAL_SLOT_OTHER, no, no), TRIAL_HIT_MISS);
    assert_int_equal(trial_hit_classify(1000, 0, 8, TRIAL_SLOT_UNKNOWN, no, no), TRIAL_HIT_MISS);
    /* the slot held another agent, yet the prefix came back */
    assert_int_equal(trial_hit_classify(2737, 2700, 8, TRIAL_SLOT_OTHER, no, no),
                     TRIAL_HIT_RESTORED);
    /* no counts: TTFT decides, labelled inferred */
    assert_int_equal(trial_hit_classify(1000, -1, 8, TRIAL_SLOT_UNKNOWN, 90, 500),
                     TRIAL_HIT_INFERRED_HIT);
    assert_int_equal(trial_hit_classify(1000, -1, 8, TRIAL_SLOT_UNKNOWN, 900, 500),
                     TRIAL_HIT_INFERRED_MISS);
    assert_int_equal(trial_hit_classify(1000, -1, 8, TRIAL_SLOT_UNKNOWN, 900, no), TRIAL_HIT_NONE);
    assert_string_equal(trial_hit_name(TRIAL_HIT_RESTORED), "restored");
    assert_string_equal(trial_slot_held_name(TRIAL_SLOT_OTHER), "other");
}

static void make_record(trial_record *t, trial_request *q)
{
    memset(t, 0, sizeof *t);
    memset(q, 0, sizeof *q);
    snprintf(t->id, sizeof t->id, "a/s550/q25/n1/warm/r0");
    snprintf(t->target_name, sizeof t->target_name, "a");
    t->kind = PLAN_MEASURE;
    t->mode = SPEC_WARM;
    t->system_prompt_tokens = 550;
    t->query_tokens = 25;
    t->query_count = 1;
    t->ok = true;
    q->turn = 1;
    q->attempts = 1;
    q->ok = true;
    q->prompt_tokens = 600;
    q->cached_tokens = 560;
    q->prefix_tokens = 570;
    q->output_tokens = 1;
    q->cache_state = TRIAL_CACHE_VERIFIED;
    q->ttfb_ms = q->ttft_ms = q->first_content_ms = q->last_token_ms = q->total_ms = 5;
    q->gap_median_ms = q->gap_p99_ms = q->server_prefill_ms = q->server_overhead_us = NAN;
    t->turns = q;
    t->n_turns = 1;
}

static trial_request read_back(const trial_record *t, bool *has_agent)
{
    kv_buf line = {0};
    char err[KV_ERRLEN] = "";
    assert_int_equal(journal_trial_to_json(t, &line, err), KV_OK);
    *has_agent = strstr(line.data, "\"agent\"") != NULL;
    trial_record back;
    memset(&back, 0, sizeof back);
    if (journal_trial_from_json(line.data, line.len, "j.jsonl:2", 10, &back, err) != KV_OK)
        fail_msg("%s", err);
    trial_request q = back.turns[0];
    q.raw = NULL;
    trial_record_clear(&back);
    kv_buf_free(&line);
    return q;
}

static void journal_should_keep_contention_fields_and_read_requests_without_them(void **state)
{
    (void)state;
    trial_record t;
    trial_request q;
    make_record(&t, &q);
    bool has_agent = true;
    trial_request plain = read_back(&t, &has_agent);
    assert_false(has_agent); /* a request outside contention writes what it always wrote */
    assert_false(plain.in_contention);
    q.in_contention = true;
    q.agent = 2;
    q.agent_position = 7;
    q.slot_held = TRIAL_SLOT_OTHER;
    q.hit = TRIAL_HIT_RESTORED;
    trial_request c = read_back(&t, &has_agent);
    assert_true(has_agent);
    assert_true(c.in_contention);
    assert_int_equal(c.agent, 2);
    assert_int_equal(c.agent_position, 7);
    assert_int_equal(c.slot_held, TRIAL_SLOT_OTHER);
    assert_int_equal(c.hit, TRIAL_HIT_RESTORED);
}

static void slots_reply_should_tell_own_other_and_unknown(void **state)
{
    (void)state;
    const char *sim = "[{\"id\":0,\"kvproof_prefix_id\":\"00000000000000aa\"},"
                      "{\"id\":1,\"kvproof_prefix_id\":\"\"}]";
    assert_int_equal(contention_slot_held(sim, "00000000000000aa", NULL), TRIAL_SLOT_OWN);
    assert_int_equal(contention_slot_held(sim, "00000000000000bb", NULL), TRIAL_SLOT_OTHER);
    const char *llama = "[{\"id\":0,\"n_ctx\":4096,\"prompt\":\"<|im_start|>system\\n"
                        "You are subagent two\"}]";
    assert_int_equal(contention_slot_held(llama, NULL, "You are subagent two"), TRIAL_SLOT_OWN);
    assert_int_equal(contention_slot_held(llama, NULL, "You are the main agent"), TRIAL_SLOT_OTHER);
    /* slots that say nothing of what they hold, no array, no body */
    assert_int_equal(contention_slot_held("[{\"id\":0,\"n_ctx\":4096}]", "x", "y"),
                     TRIAL_SLOT_UNKNOWN);
    assert_int_equal(contention_slot_held("{\"error\":1}", "x", "y"), TRIAL_SLOT_UNKNOWN);
    assert_int_equal(contention_slot_held(NULL, "x", "y"), TRIAL_SLOT_UNKNOWN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(spec_without_contention_should_keep_its_canonical_form),
        cmocka_unit_test(contention_block_should_load_with_its_defaults),
        cmocka_unit_test(round_robin_should_cycle_agents_and_count_positions),
        cmocka_unit_test(random_pattern_should_be_seeded_and_give_each_agent_its_share),
        cmocka_unit_test(main_with_subagents_should_give_the_main_agent_its_share),
        cmocka_unit_test(trace_should_replay_the_file_order),
        cmocka_unit_test(shipped_agents_spec_should_load_and_plan),
        cmocka_unit_test(hit_class_should_follow_the_counts_and_what_the_slot_held),
        cmocka_unit_test(slots_reply_should_tell_own_other_and_unknown),
        cmocka_unit_test(journal_should_keep_contention_fields_and_read_requests_without_them),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
