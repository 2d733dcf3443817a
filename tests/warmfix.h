/* warmfix.h - the contention fixture journal,
 * tests/fixtures/journals/contention/two_servers.jsonl, written by the
 * project's own journal writer (journal_open / journal_append): the normal
 * trials of tests/fixtures/journals/results/degenerate.jsonl for two
 * targets, then a contention sweep of 1, 2 and 4 agents round robin, 36
 * requests per agent, with hit classes as two reference-server settings
 * give them and seeded TTFTs:
 *   laptop: one slot, no host-RAM tier: 1 agent warm, 2 and 4 agents miss
 *           every request (configured warm capacity 1);
 *   ram:    one slot and a host-RAM tier of two prefixes: 2 agents come
 *           back "restored", 4 agents miss (every fifth partial)
 *           (configured warm capacity 2).
 * Synthetic: the classes follow the configuration, not a measurement.
 * tests/test_warm.c checks the committed file is byte for byte what this
 * writes (KVPROOF_UPDATE_FIXTURES=1 rewrites it).
 */
#ifndef KV_TESTS_WARMFIX_H
#define KV_TESTS_WARMFIX_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/status.h"
#include "experiments/journal.h"
#include "experiments/spec.h"

#define WARMFIX_PATH "tests/fixtures/journals/contention/two_servers.jsonl"
#define WARMFIX_BASE "tests/fixtures/journals/results/degenerate.jsonl"
#define WARMFIX_PER_AGENT 36
#define WARMFIX_SYS 550

static const char WARMFIX_SPEC[] =
    "{\"name\":\"contention-two-servers\",\"description\":\"How many agents stay warm on a "
    "one-slot server without (laptop) and with (ram) a host-RAM tier.\",\"seed\":1,"
    "\"targets\":[{\"name\":\"laptop\",\"base_url\":\"http://127.0.0.1:18431\","
    "\"api\":\"openai-chat\",\"model\":\"kvproof-reference\"},{\"name\":\"ram\","
    "\"base_url\":\"http://127.0.0.1:18432\",\"api\":\"openai-chat\",\"model\":"
    "\"kvproof-reference\"}],\"workload\":{\"system_prompt_tokens\":[550],\"query_tokens\":[25],"
    "\"max_output_tokens\":8},\"repetitions\":6,\"warmup_requests\":1,"
    "\"hypotheses\":[{\"id\":\"H2\",\"metric\":\"speedup\",\"min\":1.5},{\"id\":\"H5\","
    "\"description\":\"At least 2 agents stay warm (hit rate >= 90%).\",\"metric\":"
    "\"warm_capacity\",\"min\":2}],\"contention\":{\"agents\":[1,2,4],\"pattern\":"
    "\"round_robin\",\"requests_per_agent\":36}}";

/* A seeded value in [-1, 1). */
static double warmfix_noise(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(*s >> 11) / 4503599627370496.0 - 1.0;
}

/* The hit class the target's configuration gives request i of a group. */
static trial_hit warmfix_class(size_t target, long k, long position, long i, trial_slot_held *held)
{
    *held = k == 1 && position > 0 ? TRIAL_SLOT_OWN : TRIAL_SLOT_OTHER;
    if (position == 0)
        return TRIAL_HIT_MISS;
    if (k == 1)
        return TRIAL_HIT_FULL;
    if (target == 1 && k == 2)
        return TRIAL_HIT_RESTORED;
    if (target == 1 && i % 5 == 0)
        return TRIAL_HIT_PARTIAL;
    return TRIAL_HIT_MISS;
}

static void warmfix_request(trial_request *q, trial_hit h, trial_slot_held held, uint64_t *s)
{
    static const double base[TRIAL_HIT_COUNT] = {0, 45, 250, 420, 90, 45, 420};
    static const long cached[TRIAL_HIT_COUNT] = {0, 552, 280, 3, 552, 0, 0};
    q->turn = 1;
    q->attempts = 1;
    q->ok = true;
    q->http_status = 200;
    q->prompt_tokens = 586;
    q->cached_tokens = cached[h];
    q->prefix_tokens = 552;
    q->output_tokens = 8;
    q->cache_state = TRIAL_CACHE_VERIFIED;
    q->ttft_ms = round(base[h] * (1 + 0.1 * warmfix_noise(s)) * 1000) / 1000;
    q->ttfb_ms = q->ttft_ms - 0.5;
    q->first_content_ms = q->ttft_ms;
    q->last_token_ms = q->ttft_ms + 2;
    q->total_ms = q->ttft_ms + 2.5;
    q->gap_median_ms = q->gap_p99_ms = q->server_prefill_ms = q->server_overhead_us = NAN;
    q->in_contention = true;
    q->slot_held = held;
    q->hit = h;
}

/* Appends one group's requests (round robin over k agents). */
static kv_status warmfix_group(journal *j, size_t target, const char *name, long k, size_t group,
                               size_t *index, uint64_t *s, char *err)
{
    kv_status st = KV_OK;
    for (long i = 0; i < k * WARMFIX_PER_AGENT && st == KV_OK; i++) {
        trial_record t = {0};
        trial_request q = {0};
        t.plan_index = t.run_position = (*index)++;
        snprintf(t.id, sizeof t.id, "%s/contention/k%ld/s%d/i%ld", name, k, WARMFIX_SYS, i);
        t.kind = PLAN_CONTENTION;
        t.target = target;
        snprintf(t.target_name, sizeof t.target_name, "%s", name);
        t.cell = group;
        t.system_prompt_tokens = WARMFIX_SYS;
        t.query_tokens = 25;
        t.query_count = 1;
        t.mode = SPEC_WARM;
        t.repetition = i;
        t.started_unix = 1796119200.0 + (double)t.plan_index;
        t.ok = true;
        q.agent = i % k;
        q.agent_position = i / k;
        trial_slot_held held;
        trial_hit h = warmfix_class(target, k, q.agent_position, i, &held);
        warmfix_request(&q, h, held, s);
        t.turns = &q;
        t.n_turns = 1;
        st = journal_append(j, &t, err);
    }
    return st;
}

/* The header: the base journal's, with both targets and the spec above. */
static kv_status warmfix_header(journal_header *h, const journal_data *base, size_t planned,
                                spec **sp, char *err)
{
    kv_status st = spec_parse(WARMFIX_SPEC, strlen(WARMFIX_SPEC), "warmfix spec", sp, err);
    if (st != KV_OK)
        return st;
    *h = base->header;
    h->spec_name = (*sp)->name;
    static char spec_path[] = "contention-two-servers.json", ram[] = "ram",
                url[] = "http://127.0.0.1:18432";
    h->spec_path = spec_path;
    h->spec_json = (*sp)->canonical;
    h->spec_hash = (*sp)->hash;
    h->planned_trials = planned;
    static journal_target_meta tm[2];
    tm[0] = tm[1] = base->header.targets[0];
    tm[1].name = ram;
    tm[1].base_url = url;
    h->targets = tm;
    h->n_targets = 2;
    return KV_OK;
}

/* The base journal's trials, for target 0 and again as target 1. */
static kv_status warmfix_normal(journal *j, const journal_data *base, size_t *index, char *err)
{
    kv_status st = KV_OK;
    for (size_t target = 0; target < 2; target++)
        for (size_t i = 0; i < base->n_trials && st == KV_OK; i++) {
            trial_record t = base->trials[i];
            t.plan_index = t.run_position = (*index)++;
            t.target = target;
            if (target == 1) {
                snprintf(t.target_name, sizeof t.target_name, "ram");
                char id[PLAN_ID_LEN];
                snprintf(id, sizeof id, "ram%s", strchr(base->trials[i].id, '/'));
                memcpy(t.id, id, sizeof t.id);
            }
            st = journal_append(j, &t, err);
        }
    return st;
}

/* Writes the fixture to path (which must not exist). */
static kv_status warmfix_write(const char *path, char *err)
{
    journal_data *base = NULL;
    spec *sp = NULL;
    journal *j = NULL;
    journal_header h;
    static const long ks[] = {1, 2, 4};
    size_t index = 0, group = 0, per = 0;
    uint64_t seed = 15;
    for (size_t i = 0; i < 3; i++)
        per += (size_t)ks[i] * WARMFIX_PER_AGENT;
    kv_status st = journal_load(WARMFIX_BASE, &base, err);
    if (st == KV_OK)
        st = warmfix_header(&h, base, 2 * base->n_trials + 2 * per, &sp, err);
    if (st == KV_OK)
        st = journal_open(path, &h, false, NULL, &j, err);
    if (st == KV_OK)
        st = warmfix_normal(j, base, &index, err);
    for (size_t target = 0; target < 2 && st == KV_OK; target++)
        for (size_t i = 0; i < 3 && st == KV_OK; i++)
            st = warmfix_group(j, target, target ? "ram" : "laptop", ks[i], group++, &index, &seed,
                               err);
    journal_close(j);
    spec_free(sp);
    journal_data_free(base);
    return st;
}

#endif
