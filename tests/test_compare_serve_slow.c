/* test_compare_serve_slow.c - kvproof compare end to end: the same spec
 * run (the built binary, KVPROOF_BIN) against two reference servers
 * started in-process, one with every prefill coefficient (a, b, c) of the
 * laptop preset 30% higher, and against the first one again. The cold
 * prefill slope of the slower server is "regressed" with an interval
 * containing 1.3; the two runs of the same model report "no change".
 * Noise-free cost model (cv 0), time scale 0.01: each run takes about
 * two seconds; the intervals hold the scheduling jitter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/util.h"
#include "server/costmodel.h"
#include "server/refsrv.h"
#include "tests/testutil.h"

static refsrv *start(double prefill_factor)
{
    refsrv_config cfg;
    tu_refsrv_config(&cfg, 0.01);
    cfg.host = "127.0.0.1";
    cfg.dialect = REFSRV_LLAMACPP;
    cfg.cost.a *= prefill_factor;
    cfg.cost.b *= prefill_factor;
    cfg.cost.c *= prefill_factor;
    cfg.cost.cv = 0;
    return tu_refsrv_start(&cfg);
}

static void run(const char *dir, const char *name, refsrv *s)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "'%s' run '%s/spec.json' --out '%s/%s' --url ref=http://127.0.0.1:%d --quiet "
             "> /dev/null 2>&1",
             tu_bin(), dir, dir, name, refsrv_port(s));
    assert_int_equal(system(cmd), 0);
}

/* The cold slope row of 'kvproof compare A B': its ratio, interval and verdict. */
static void slope_of(const char *dir, const char *a, const char *b, double *ratio, double ci[2],
                     char *verdict, size_t cap)
{
    char cmd[1024], path[256], *text = NULL, err[KV_ERRLEN] = "";
    size_t len = 0;
    snprintf(cmd, sizeof cmd, "'%s' compare '%s/%s' '%s/%s' --out '%s/cmp-%s' > /dev/null",
             tu_bin(), dir, a, dir, b, dir, b);
    assert_int_equal(system(cmd), 0);
    snprintf(path, sizeof path, "%s/cmp-%s/compare.json", dir, b);
    assert_int_equal(kv_read_file(path, &text, &len, err), KV_OK);
    cJSON *j = cJSON_Parse(text);
    free(text);
    assert_non_null(j);
    const cJSON *row;
    bool found = false;
    cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(j, "rows"))
    {
        const cJSON *what = cJSON_GetObjectItemCaseSensitive(row, "what");
        if (strcmp(what->valuestring, "cold_prefill_ms_per_token") != 0)
            continue;
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(row, "ci");
        *ratio = cJSON_GetObjectItemCaseSensitive(row, "ratio")->valuedouble;
        ci[0] = cJSON_GetArrayItem(c, 0)->valuedouble;
        ci[1] = cJSON_GetArrayItem(c, 1)->valuedouble;
        snprintf(verdict, cap, "%s", cJSON_GetObjectItemCaseSensitive(row, "verdict")->valuestring);
        found = true;
    }
    cJSON_Delete(j);
    assert_true(found);
}

static void compare_should_find_30_percent_more_prefill_and_no_change_between_equals(void **state)
{
    (void)state;
    char dir[64], path[128];
    snprintf(dir, sizeof dir, "/tmp/kvproof-cmpserve-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/spec.json", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"name\": \"compare-e2e\", \"seed\": 3,\n"
          " \"targets\": [{\"name\": \"ref\", \"base_url\": \"http://127.0.0.1:1\", \"api\": "
          "\"llama.cpp\"}],\n"
          " \"workload\": {\"system_prompt_tokens\": [0, 2048, 4096, 8192], \"query_tokens\": [25],"
          " \"max_output_tokens\": 2},\n"
          " \"cache_modes\": [\"cold\"], \"repetitions\": 8, \"warmup_requests\": 1}\n",
          f);
    fclose(f);
    refsrv *base = start(1.0), *slow = start(1.3);
    run(dir, "a", base);
    run(dir, "b", slow);
    run(dir, "c", base);
    refsrv_stop(base);
    refsrv_stop(slow);
    double ratio, ci[2];
    char verdict[32];
    slope_of(dir, "a", "b", &ratio, ci, verdict, sizeof verdict);
    print_message("[compare] +30%% prefill: slope ratio %.4f [%.4f, %.4f] %s\n", ratio, ci[0],
                  ci[1], verdict);
    assert_string_equal(verdict, "regressed");
    assert_true(ci[0] <= 1.3 && 1.3 <= ci[1]);
    slope_of(dir, "a", "c", &ratio, ci, verdict, sizeof verdict);
    print_message("[compare] same model: slope ratio %.4f [%.4f, %.4f] %s\n", ratio, ci[0], ci[1],
                  verdict);
    assert_string_equal(verdict, "no change");
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

TU_MAIN(NULL, NULL,
        cmocka_unit_test(compare_should_find_30_percent_more_prefill_and_no_change_between_equals))
