/* test_probe.c - server detection and the cold/warm cache check against the
 * in-process reference server in several dialects, and 'kvproof probe'
 * (exit 4 when unreachable, JSON output). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "net/probe.h"
#include "server/refsrv.h"
#include "tests/testutil.h"

static refsrv *start_ref(refsrv_dialect d, double time_scale)
{
    refsrv_config cfg;
    refsrv_config_default(&cfg);
    cfg.dialect = d;
    cfg.cost.time_scale = time_scale;
    cfg.cost.cv = 0;
    cfg.cost.stall_p = 0;
    cfg.reply_tokens = 4;
    refsrv *s = NULL;
    char err[KV_ERRLEN] = "";
    assert_int_equal(refsrv_start(&cfg, &s, err), KV_OK);
    return s;
}

static void url_of(refsrv *s, char *buf, size_t cap)
{
    snprintf(buf, cap, "http://127.0.0.1:%d", refsrv_port(s));
}

/* A client that has detected the server at s: its URL, client and probe. */
typedef struct probed {
    char url[64];
    client *c;
    probe_info p;
} probed;

static void probed_open(probed *pr, refsrv *s)
{
    char err[KV_ERRLEN] = "";
    memset(pr, 0, sizeof *pr);
    url_of(s, pr->url, sizeof pr->url);
    assert_int_equal(client_new(&pr->c, err), KV_OK);
    if (probe_detect(pr->c, pr->url, SPEC_API_AUTO, NULL, NULL, &pr->p, err) != KV_OK)
        fail_msg("probe_detect: %s", err);
}

static void probed_close(probed *pr)
{
    probe_info_clear(&pr->p);
    client_free(pr->c);
}

/* A reference server of dialect d, a client that detected it and the
 * result of its cache check (which must succeed). */
typedef struct cache_probed {
    refsrv *s;
    probed pr;
    probe_cache_result r;
} cache_probed;

/* What a cache check must find: how it made the cold request cold, whether
 * the server reports cached tokens and whether the verdict is inferred
 * (the cache works in every case). */
typedef struct cache_expect {
    const char *cold_method;
    bool reports_cached;
    bool inferred;
} cache_expect;

static void cache_probe(cache_probed *cp, refsrv_dialect d, double time_scale,
                        const cache_expect *want)
{
    char err[KV_ERRLEN] = "";
    memset(cp, 0, sizeof *cp);
    cp->s = start_ref(d, time_scale);
    probed_open(&cp->pr, cp->s);
    assert_int_equal(probe_cache(cp->pr.c, &cp->pr.p, cp->pr.url, NULL, &cp->r, err), KV_OK);
    assert_string_equal(cp->r.cold_method, want->cold_method);
    assert_int_equal(cp->r.reports_cached, want->reports_cached);
    assert_int_equal(cp->r.inferred, want->inferred);
    assert_true(cp->r.cache_works);
}

static void cache_probed_close(cache_probed *cp)
{
    probe_cache_clear(&cp->r);
    probed_close(&cp->pr);
    refsrv_stop(cp->s);
}

typedef struct detect_case {
    refsrv_dialect server;
    spec_api api;
    const char *name;
} detect_case;

static void detect_should_name_the_server_and_dialect(void **state)
{
    (void)state;
    const detect_case cases[] = {
        {REFSRV_LLAMACPP, SPEC_API_LLAMACPP, "llama.cpp"},
        {REFSRV_OLLAMA, SPEC_API_OLLAMA, "ollama"},
        {REFSRV_LMSTUDIO, SPEC_API_LMSTUDIO, "lmstudio"},
        {REFSRV_VLLM, SPEC_API_OPENAI_CHAT, NULL},
        {REFSRV_MLX, SPEC_API_OPENAI_CHAT, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        refsrv *s = start_ref(cases[i].server, 0.001);
        probed pr;
        probed_open(&pr, s);
        const probe_info *p = &pr.p;
        if (p->api != cases[i].api)
            fail_msg("%s: detected %s", refsrv_dialect_name(cases[i].server), p->server);
        if (cases[i].name)
            assert_string_equal(p->server, cases[i].name);
        assert_true(p->simulated);
        assert_non_null(p->model);
        assert_true(p->n_models >= 1);
        assert_int_equal(p->tokenizes,
                         cases[i].server == REFSRV_LLAMACPP || cases[i].server == REFSRV_VLLM);
        probed_close(&pr);
        refsrv_stop(s);
    }
}

static void cache_check_should_show_a_working_cache_on_llamacpp(void **state)
{
    (void)state;
    cache_probed cp;
    cache_probe(&cp, REFSRV_LLAMACPP, 0.01, &(cache_expect){"cache_prompt:false", true, false});
    const probe_cache_result *r = &cp.r;
    assert_true(r->honours_cold);
    assert_int_equal(r->cold.cached_tokens, 0);
    assert_true(r->warm.cached_tokens >= r->prefix_tokens);
    assert_true(r->prefix_tokens > 900);
    char *json = NULL;
    char err[KV_ERRLEN] = "";
    assert_int_equal(probe_to_json(&cp.pr.p, r, &json, err), KV_OK);
    assert_non_null(strstr(json, "\"cache_works\":\ttrue"));
    free(json);
    cache_probed_close(&cp);
}

static void cache_check_should_infer_from_ttft_when_ollama_reports_no_count(void **state)
{
    (void)state;
    cache_probed cp;
    cache_probe(&cp, REFSRV_OLLAMA, 0.05, &(cache_expect){"nonce", false, true});
    const probe_cache_result *r = &cp.r;
    /* What the server reports and knows, not the client's clock: the nonce
     * made the last (cold) request miss, and Ollama's prompt_eval_duration
     * for the warm request is below the cold one's. */
    refsrv_truth truth;
    assert_true(refsrv_last(cp.s, &truth));
    assert_int_equal(truth.seq, 3); /* prime, warm, cold */
    assert_true((double)truth.cached_tokens < 0.1 * (double)r->prefix_tokens);
    assert_true(truth.new_tokens >= r->prefix_tokens);
    assert_false(isnan(r->warm.server_prefill_ms));
    assert_true(r->warm.server_prefill_ms < r->cold.server_prefill_ms);
    cache_probed_close(&cp);
}

/* `kvproof probe` runs through tu_kvproof (testutil.h): its exit code,
 * its output with stderr in out (NULL: discarded). */

static void probe_command_should_exit_4_when_unreachable(void **state)
{
    (void)state;
    assert_int_equal(tu_kvproof(NULL, "probe http://127.0.0.1:%d 2>&1", tu_free_port()), 4);
    assert_int_equal(tu_kvproof(NULL, "probe --format yaml http://127.0.0.1:1 2>&1"), 2);
}

static void probe_command_should_print_the_cache_table(void **state)
{
    (void)state;
    refsrv *s = start_ref(REFSRV_LLAMACPP, 0.01);
    char url[64];
    url_of(s, url, sizeof url);
    kv_buf out = {0};
    assert_int_equal(tu_kvproof(&out, "probe %s 2>&1", url), 0);
    TU_CONTAINS(out.data, "server:       llama.cpp", "simulated:    yes", "warm",
                "cache works:  yes");
    assert_int_equal(tu_kvproof(&out, "probe --format json --no-cache-check %s 2>&1", url), 0);
    assert_non_null(strstr(out.data, "\"dialect\":\t\"llama.cpp\""));
    kv_buf_free(&out);
    refsrv_stop(s);
}

TU_MAIN(NULL, NULL, cmocka_unit_test(detect_should_name_the_server_and_dialect),
        cmocka_unit_test(cache_check_should_show_a_working_cache_on_llamacpp),
        cmocka_unit_test(cache_check_should_infer_from_ttft_when_ollama_reports_no_count),
        cmocka_unit_test(probe_command_should_exit_4_when_unreachable),
        cmocka_unit_test(probe_command_should_print_the_cache_table))
