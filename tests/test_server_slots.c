/* test_server_slots.c - the reference server's slots and cache modes: slot
 * ids, GET /slots, how many alternating agents a slot-mode server with S
 * slots or a shared cache of C tokens keeps warm, and the host-RAM tier's
 * restores. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdlib.h>

#include "server/srvslot.h"
#include "srvtest.h"

/* Agent k's system prompt: 41 tokens, its first word names the agent, so
 * two agents share only the 3 tokens of the message header. */
static void agent_prompt(int k, char *out, size_t cap)
{
    int n = snprintf(out, cap, "agent%d", k);
    for (int i = 0; i < 40 && n > 0 && (size_t)n < cap; i++)
        n += snprintf(out + n, cap - (size_t)n, " w%d", i);
}

#define AGENT_PREFIX (4 + 41) /* the templated system message */

typedef struct reply {
    long cached, prompt, slot;
} reply;

static reply ask(int port, int agent, int round)
{
    char sys[512], body[1024];
    agent_prompt(agent, sys, sizeof sys);
    snprintf(body, sizeof body,
             "{\"messages\":[{\"role\":\"system\",\"content\":\"%s\"},"
             "{\"role\":\"user\",\"content\":\"question %d\"}],\"max_tokens\":2}",
             sys, round);
    http_reply r;
    http_do(port, "POST", "/v1/chat/completions", body, 10, &r);
    assert_int_equal(r.status, 200);
    cJSON *o = cJSON_Parse(r.body.data);
    assert_non_null(o);
    reply out = {(long)json_num(o, "timings.cache_n"), (long)json_num(o, "usage.prompt_tokens"),
                 -1};
    cJSON_Delete(o);
    http_reply_free(&r);
    return out;
}

/* Round robin over k agents for rounds rounds; counts the requests after
 * the first round whose agent prefix came back (>= 90%). */
static int warm_hits(int port, int k, int rounds)
{
    int hits = 0;
    for (int round = 0; round < rounds; round++)
        for (int a = 0; a < k; a++) {
            reply r = ask(port, a, round);
            if (round > 0 && r.cached >= (long)(0.9 * AGENT_PREFIX))
                hits++;
        }
    return hits;
}

static refsrv *start(refsrv_config *cfg)
{
    refsrv *s = NULL;
    char err[KV_ERRLEN] = "";
    assert_int_equal(refsrv_start(cfg, &s, err), KV_OK);
    return s;
}

/* A llama.cpp reference server with the cache preset and this many slots;
 * its configuration in *cfg. */
static refsrv *start_slots(refsrv_config *cfg, const char *preset, int slots)
{
    srvtest_config(cfg, REFSRV_LLAMACPP);
    assert_true(refsrv_cache_preset(preset, cfg));
    cfg->slots = slots;
    return start(cfg);
}

static void slot_table_should_give_the_lowest_free_id_in_shared_mode(void **state)
{
    (void)state;
    srvslot_table t;
    assert_int_equal(srvslot_init(&t, 3, false, 0, 0), KV_OK);
    int32_t ids[] = {1000, 1001};
    assert_int_equal(srvslot_take(&t, ids, 2), 0);
    assert_int_equal(srvslot_take(&t, ids, 2), 1);
    srvslot_release(&t, 0);
    /* 3 slots, 2 free: the old formula (slots - free) said 1, which was busy */
    assert_int_equal(srvslot_take(&t, ids, 2), 0);
    assert_int_equal(srvslot_take(&t, ids, 2), 2);
    assert_int_equal(srvslot_free_count(&t), 0);
    srvslot_fini(&t);
}

static void slot_mode_should_pick_the_similar_slot_else_the_least_recently_used(void **state)
{
    (void)state;
    srvslot_table t;
    assert_int_equal(srvslot_init(&t, 2, true, 0, 0), KV_OK);
    int32_t a[] = {1, 5, 6, 7, 8}, b[] = {2, 9, 9, 9, 9};
    int sa = srvslot_take(&t, a, 5);
    srvslot_note(&t, sa, 1, 5, 0);
    assert_true(srvslot_hold(&t, sa, a, 5));
    srvslot_release(&t, sa);
    int sb = srvslot_take(&t, b, 5); /* shares nothing with a's slot: the unused one */
    assert_int_not_equal(sa, sb);
    srvslot_note(&t, sb, 2, 5, 0);
    assert_true(srvslot_hold(&t, sb, b, 5));
    srvslot_release(&t, sb);
    assert_int_equal(srvslot_take(&t, a, 5), sa);
    size_t restored = 9;
    assert_int_equal(srvslot_lookup(&t, sa, a, 5, &restored), 5);
    assert_int_equal(restored, 0);
    srvslot_fini(&t);
}

static void slot_mode_should_keep_as_many_agents_warm_as_it_has_slots(void **state)
{
    (void)state;
    const int slots[] = {1, 2, 4};
    for (size_t i = 0; i < sizeof slots / sizeof slots[0]; i++) {
        int S = slots[i];
        refsrv_config cfg;
        refsrv *s = start_slots(&cfg, "llama.cpp", S);
        /* S agents: every request after the first round is a hit */
        assert_int_equal(warm_hits(refsrv_port(s), S, 3), 2 * S);
        refsrv_reset_cache(s);
        /* S + 1 agents round robin: the least recently used slot is always
         * the one the next agent needs, so every request misses */
        assert_int_equal(warm_hits(refsrv_port(s), S + 1, 3), 0);
        refsrv_stop(s);
    }
}

static void shared_cache_should_keep_as_many_agents_warm_as_fit_in_its_tokens(void **state)
{
    (void)state;
    /* Each request stores one entry: prompt (45 + 4 + 2 + 3 = 54) + 2 reply
     * tokens. Entries are whole sequences, so between two requests of an
     * agent each of the K - 1 others makes 2 entries more recent than the
     * agent's last one (the one it reused, and its new one): K agents stay
     * warm when (2K - 1) entries fit. */
    const long entry = AGENT_PREFIX + 4 + 2 + 3 + 2;
    for (int fit = 1; fit <= 3; fit++) {
        refsrv_config cfg;
        srvtest_config(&cfg, REFSRV_LLAMACPP);
        cfg.slots = 4;
        cfg.cache_tokens = (2 * fit - 1) * entry + entry / 2;
        refsrv *s = start(&cfg);
        assert_int_equal(warm_hits(refsrv_port(s), fit, 3), 2 * fit);
        refsrv_reset_cache(s);
        /* one agent more than fits: they cannot all stay warm */
        assert_true(warm_hits(refsrv_port(s), fit + 1, 3) < 2 * (fit + 1));
        refsrv_stop(s);
    }
}

/* The prefix id slot 0 shows in GET /slots ("" when it holds nothing). */
static void slot0_prefix_id(int port, char out[17])
{
    http_reply r;
    http_do(port, "GET", "/slots", NULL, 10, &r);
    assert_int_equal(r.status, 200);
    cJSON *a = cJSON_Parse(r.body.data);
    assert_true(cJSON_IsArray(a));
    const cJSON *id = cJSON_GetObjectItem(cJSON_GetArrayItem(a, 0), "kvproof_prefix_id");
    assert_true(cJSON_IsString(id));
    snprintf(out, 17, "%s", id->valuestring);
    cJSON_Delete(a);
    http_reply_free(&r);
}

static void ram_tier_should_restore_the_other_agents_prefix_on_one_slot(void **state)
{
    (void)state;
    refsrv_config cfg;
    refsrv *s = start_slots(&cfg, "llama.cpp-ram", 1);
    int port = refsrv_port(s);
    char seen[2][17] = {"", ""}, before[17];
    for (int round = 0; round < 3; round++)
        for (int a = 0; a < 2; a++) {
            slot0_prefix_id(port, before);
            reply r = ask(port, a, round);
            refsrv_truth t;
            assert_true(refsrv_last(s, &t));
            assert_int_equal(t.slot, 0);
            if (round > 0) {
                /* the slot held the other agent, yet the prefix came back */
                assert_string_equal(before, seen[1 - a]);
                assert_true(r.cached >= AGENT_PREFIX);
                assert_int_equal(t.restored_tokens, r.cached);
                assert_true(t.model_prefill_ms > 0);
            } else {
                assert_int_equal(t.restored_tokens, 0);
            }
            slot0_prefix_id(port, seen[a]);
            assert_true(seen[a][0] != '\0');
        }
    assert_string_not_equal(seen[0], seen[1]);
    refsrv_stop(s);
}

static void slots_endpoint_should_show_what_each_slot_holds_like_llama_cpp(void **state)
{
    (void)state;
    refsrv_config cfg;
    refsrv *s = start_slots(&cfg, "llama.cpp", 2);
    int port = refsrv_port(s);
    refsrv_truth t;
    reply r0 = ask(port, 0, 0);
    assert_true(refsrv_last(s, &t));
    r0.slot = t.slot;
    reply r1 = ask(port, 1, 0);
    assert_true(refsrv_last(s, &t));
    r1.slot = t.slot;
    reply r2 = ask(port, 0, 1);
    assert_true(refsrv_last(s, &t));
    r2.slot = t.slot;
    assert_int_not_equal(r0.slot, r1.slot);
    assert_int_equal(r2.slot, r0.slot);
    http_reply h;
    http_do(port, "GET", "/slots", NULL, 10, &h);
    assert_int_equal(h.status, 200);
    cJSON *a = cJSON_Parse(h.body.data);
    assert_int_equal(cJSON_GetArraySize(a), 2);
    const cJSON *s0 = cJSON_GetArrayItem(a, (int)r2.slot);
    assert_int_equal((long)json_num(s0, "id"), r2.slot);
    assert_int_equal((long)json_num(s0, "n_ctx"), cfg.ctx_tokens / 2);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(s0, "is_processing")));
    assert_int_equal((long)json_num(s0, "id_task"), 3);
    assert_int_equal((long)json_num(s0, "n_prompt_tokens"), r2.prompt);
    assert_int_equal((long)json_num(s0, "n_prompt_tokens_cache"), r2.cached);
    assert_int_equal((long)json_num(s0, "n_prompt_tokens_processed"), r2.prompt - r2.cached);
    assert_int_equal((long)json_num(s0, "kvproof_held_tokens"), r2.prompt + 2);
    cJSON_Delete(a);
    http_reply_free(&h);
    refsrv_stop(s);
    /* other dialects have no /slots */
    srvtest_config(&cfg, REFSRV_VLLM);
    s = start(&cfg);
    http_do(refsrv_port(s), "GET", "/slots", NULL, 10, &h);
    assert_int_equal(h.status, 404);
    http_reply_free(&h);
    refsrv_stop(s);
}

static void ram_tier_without_slot_mode_should_be_refused(void **state)
{
    (void)state;
    refsrv_config cfg;
    srvtest_config(&cfg, REFSRV_LLAMACPP);
    cfg.ram_cache_tokens = 1000;
    refsrv *s = NULL;
    char err[KV_ERRLEN] = "";
    assert_int_equal(refsrv_start(&cfg, &s, err), KV_ERR_USAGE);
    assert_null(s);
    assert_non_null(strstr(err, "--cache-mode slot"));
    assert_false(refsrv_cache_preset("nope", &cfg));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(slot_table_should_give_the_lowest_free_id_in_shared_mode),
        cmocka_unit_test(slot_mode_should_pick_the_similar_slot_else_the_least_recently_used),
        cmocka_unit_test(slot_mode_should_keep_as_many_agents_warm_as_it_has_slots),
        cmocka_unit_test(shared_cache_should_keep_as_many_agents_warm_as_fit_in_its_tokens),
        cmocka_unit_test(ram_tier_should_restore_the_other_agents_prefix_on_one_slot),
        cmocka_unit_test(slots_endpoint_should_show_what_each_slot_holds_like_llama_cpp),
        cmocka_unit_test(ram_tier_without_slot_mode_should_be_refused),
    };
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
