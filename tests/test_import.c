/* test_import.c - kvproof import (experiments/import.h and the built
 * binary, KVPROOF_BIN) on the fixtures of tests/fixtures/import/: what each
 * format's records become (trials, counts, times in ms, failures, unknown
 * cache state and mode), the imported mark with every file's SHA-256, bad
 * input named by file, line and field; and the acceptance check: a
 * llama-bench and a vllm-bench import analysed by 'kvproof analyze' give a
 * cold prefill slope equal to 'kvproof fit --model auto --robust --weighted' of the same
 * numbers as CSV. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cjson/cJSON.h>

#include "common/sha256.h"
#include "common/util.h"
#include "experiments/import.h"
#include "experiments/journal.h"
#include "tests/testutil.h"

#define FIX "tests/fixtures/import/"

static journal_data *import_or_fail(import_format f, const char *path, import_notes *notes)
{
    journal_data *d = NULL;
    char err[KV_ERRLEN] = "";
    const char *paths[1] = {path};
    if (import_files(f, paths, 1, &d, notes, err) != KV_OK)
        fail_msg("%s", err);
    return d;
}

static void file_sha256(const char *path, char hex[SHA256_HEX_LEN])
{
    char *text = NULL, err[KV_ERRLEN] = "";
    size_t len = 0;
    assert_int_equal(kv_read_file(path, &text, &len, err), KV_OK);
    sha256_hex(text, len, hex);
    free(text);
}

static void llama_bench_should_give_one_cold_trial_per_prompt_sample(void **state)
{
    (void)state;
    import_notes notes;
    journal_data *d = import_or_fail(IMPORT_LLAMA_BENCH, FIX "llama-bench/readme.json", &notes);
    assert_int_equal(d->n_trials, 5); /* pp512's samples; tg128 skipped */
    assert_int_equal(notes.skipped, 1);
    assert_non_null(strstr(notes.why, "generation"));
    const journal_header *h = &d->header;
    assert_string_equal(h->import_format, "llama-bench");
    assert_int_equal(h->n_import_files, 1);
    char hex[SHA256_HEX_LEN];
    file_sha256(FIX "llama-bench/readme.json", hex);
    assert_string_equal(h->import_files[0].sha256, hex);
    assert_null(h->spec_json);
    assert_string_equal(h->targets[0].model, "models/Qwen2.5-7B-Instruct-Q4_K_M.gguf");
    assert_string_equal(h->targets[0].server_version, "8cf427ff (build 5163)");
    const trial_record *t = &d->trials[0];
    assert_int_equal(t->mode, SPEC_COLD);
    assert_int_equal(t->query_tokens, 512);
    assert_int_equal(t->turns[0].prompt_tokens, 512);
    assert_int_equal(t->turns[0].cache_state, TRIAL_CACHE_UNKNOWN);
    assert_true(fabs(t->turns[0].ttft_ms - 74.6019) < 1e-9);
    assert_true(fabs(d->trials[4].turns[0].server_prefill_ms - 70.7455) < 1e-9);
    assert_true(fabs(t->started_unix - 1745495930.0) < 1e-6); /* 2025-04-24T11:58:50Z */
    assert_string_equal(t->id, "llama-bench/s0/q512/n1/cold/r0");
    assert_string_equal(d->trials[4].id, "llama-bench/s0/q512/n1/cold/r4");
    journal_data_free(d);
    /* The JSONL form: the same fields. */
    d = import_or_fail(IMPORT_LLAMA_BENCH, FIX "llama-bench/readme.jsonl", &notes);
    assert_int_equal(d->n_trials, 5);
    assert_true(fabs(d->trials[0].turns[0].ttft_ms - 71.551) < 1e-9);
    journal_data_free(d);
}

static void vllm_bench_should_keep_failures_and_leave_the_mode_unknown(void **state)
{
    (void)state;
    import_notes notes;
    journal_data *d =
        import_or_fail(IMPORT_VLLM_BENCH, FIX "vllm-bench/serve-detailed.json", &notes);
    assert_int_equal(d->n_trials, 12);
    assert_string_equal(d->header.targets[0].model, "Qwen/Qwen2.5-0.5B-Instruct");
    assert_null(d->header.client_host);
    size_t failed = 0;
    for (size_t i = 0; i < d->n_trials; i++) {
        const trial_record *t = &d->trials[i];
        const trial_request *r = &t->turns[0];
        assert_int_equal(t->mode, SPEC_MODE_UNKNOWN);
        assert_int_equal(r->cache_state, TRIAL_CACHE_UNKNOWN);
        assert_int_equal(r->cached_tokens, -1);
        assert_true(isnan(r->total_ms)); /* vllm saves no end-to-end latency */
        if (!t->ok) {
            failed++;
            assert_string_equal(t->error, "Bad Request: prompt too long");
            assert_true(isnan(r->ttft_ms));
        } else {
            assert_true(r->ttft_ms > 0 && r->last_token_ms > r->ttft_ms);
            assert_true(fabs(r->gap_median_ms - 11.1) < 0.2);
        }
    }
    assert_int_equal(failed, 1);
    assert_int_equal(d->trials[0].turns[0].prompt_tokens, 128);
    assert_true(fabs(d->trials[0].turns[0].ttft_ms - 46.98) < 1e-9);
    journal_data_free(d);
}

static void aiperf_should_read_units_errors_and_timestamps(void **state)
{
    (void)state;
    import_notes notes;
    journal_data *d = import_or_fail(IMPORT_AIPERF, FIX "aiperf/profile_export.jsonl", &notes);
    assert_int_equal(d->n_trials, 4);
    const trial_record *bad = &d->trials[0], *good = &d->trials[1];
    assert_false(bad->ok);
    assert_int_equal(bad->turns[0].http_status, 499);
    assert_non_null(strstr(bad->error, "RequestCancellationError"));
    assert_true(good->ok);
    assert_int_equal(good->turns[0].prompt_tokens, 550);
    assert_int_equal(good->turns[0].output_tokens, 193);
    assert_true(fabs(good->turns[0].ttft_ms - 1680.543782) < 1e-9);
    assert_true(fabs(good->turns[0].total_ms - 7936.968269) < 1e-9);
    assert_true(fabs(good->started_unix - 1759522419.159192408) < 1e-3);
    assert_int_equal(good->mode, SPEC_MODE_UNKNOWN);
    journal_data_free(d);
}

static void import_should_name_file_line_and_field_of_bad_input(void **state)
{
    (void)state;
    char path[64], err[KV_ERRLEN] = "";
    snprintf(path, sizeof path, "/tmp/kvproof-import-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("{\"n_prompt\": 512, \"n_gen\": 0, \"samples_ns\": [1, 2]}\n"
          "{\"n_prompt\": 512, \"n_gen\": 0, \"samples_ns\": \"fast\"}\n",
          f);
    fclose(f);
    journal_data *d = NULL;
    import_notes notes;
    const char *paths[1] = {path};
    assert_int_equal(import_files(IMPORT_LLAMA_BENCH, paths, 1, &d, &notes, err), KV_ERR_INPUT);
    char want[256];
    snprintf(want, sizeof want, "%s:2: $.samples_ns: expected an array of numbers", path);
    assert_non_null(strstr(err, want));
    err[0] = '\0';
    assert_int_equal(import_files(IMPORT_VLLM_BENCH, paths, 1, &d, &notes, err), KV_ERR_INPUT);
    assert_non_null(strstr(err, "$.ttfts: expected an array of numbers (saved with"));
    f = fopen(path, "w");
    fputs("{\"n_prompt\": 5,\n  oops}\n", f);
    fclose(f);
    err[0] = '\0';
    assert_int_equal(import_files(IMPORT_LLAMA_BENCH, paths, 1, &d, &notes, err), KV_ERR_INPUT);
    snprintf(want, sizeof want, "%s:2:4: invalid JSON", path); /* where cJSON stopped */
    assert_string_equal(err, want);
    remove(path);
}

/* ---- the acceptance check: analyze's slope = fit's slope ------------------- */

static int sh(const char *cmd)
{
    int status = system(cmd);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

/* The slope b of the chosen fit of the cold TTFT model in results.json. */
static double results_slope(const char *path)
{
    cJSON *r = tu_read_json(path);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(
            cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r, "targets"), 0), "models"),
        "cold_ttft");
    double b = NAN;
    const cJSON *fit, *chosen = cJSON_GetObjectItemCaseSensitive(m, "chosen");
    assert_true(cJSON_IsString(chosen));
    cJSON_ArrayForEach(fit, cJSON_GetObjectItemCaseSensitive(m, "fits"))
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(fit, "model");
        if (cJSON_IsString(name) && strcmp(name->valuestring, chosen->valuestring) == 0)
            b = cJSON_GetObjectItemCaseSensitive(
                    cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(fit, "coefficients"), 1),
                    "value")
                    ->valuedouble;
    }
    cJSON_Delete(r);
    return b;
}

/* The slope 'kvproof fit --model auto --robust --weighted' (the estimator
 * results.json uses: robust choice, bisquare fits weighted by yhat^-2) finds
 * in the journal's usable points (ok measured turns with a time to first
 * token), written as CSV: the same model is chosen, with the same b. */
static double fit_slope(const char *dir)
{
    char path[256], csv[256], out[256], cmd[1024], err[KV_ERRLEN] = "";
    snprintf(path, sizeof path, "%s/journal.jsonl", dir);
    snprintf(csv, sizeof csv, "%s/fit-input.csv", dir); /* not the run's points.csv */
    snprintf(out, sizeof out, "%s/fit.json", dir);
    journal_data *d = NULL;
    assert_int_equal(journal_load(path, &d, err), KV_OK);
    FILE *f = fopen(csv, "w");
    assert_non_null(f);
    fputs("prompt_tokens,ttft_ms\n", f);
    for (size_t i = 0; i < d->n_trials; i++) {
        const trial_request *r = &d->trials[i].turns[0];
        if (d->trials[i].kind == PLAN_MEASURE && r->ok && isfinite(r->ttft_ms))
            fprintf(f, "%ld,%.17g\n", r->prompt_tokens, r->ttft_ms);
    }
    fclose(f);
    journal_data_free(d);
    snprintf(cmd, sizeof cmd,
             "'%s' fit '%s' --x prompt_tokens --y ttft_ms --model auto --robust --weighted "
             "--format json > '%s'",
             tu_bin(), csv, out);
    assert_int_equal(sh(cmd), 0);
    cJSON *j = tu_read_json(out);
    double b =
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "coefficients"), 1)->valuedouble;
    cJSON_Delete(j);
    return b;
}

static void imported_benchmarks_should_give_the_slope_fit_gives(void **state)
{
    (void)state;
    static const struct {
        const char *format, *file;
        double slope; /* ms/token the fixture was made with */
    } cases[] = {{"llama-bench", FIX "llama-bench/sweep.jsonl", 0.138},
                 {"vllm-bench", FIX "vllm-bench/serve-detailed.json", 0.21}};
    for (size_t k = 0; k < 2; k++) {
        char dir[64], cmd[1024], res[128];
        snprintf(dir, sizeof dir, "/tmp/kvproof-import-XXXXXX");
        assert_non_null(mkdtemp(dir));
        snprintf(cmd, sizeof cmd, "'%s' import %s '%s' --out '%s/run' > /dev/null", tu_bin(),
                 cases[k].format, cases[k].file, dir);
        assert_int_equal(sh(cmd), 0);
        /* A second import into the same directory never overwrites it. */
        snprintf(cmd, sizeof cmd, "'%s' import %s '%s' --out '%s/run' > /dev/null 2>&1", tu_bin(),
                 cases[k].format, cases[k].file, dir);
        assert_int_equal(sh(cmd), 2);
        snprintf(cmd, sizeof cmd, "'%s' analyze '%s/run' --quiet > /dev/null 2>&1", tu_bin(), dir);
        int code = sh(cmd);
        /* The llama-bench import has no failed trial: the whole chain must
         * succeed. (The vllm one has one; its report depends on the results
         * reader's handling of failures, not on the import.) */
        if (k == 0)
            assert_int_equal(code, 0);
        snprintf(res, sizeof res, "%s/run/results.json", dir);
        cJSON *rj = tu_read_json(res);
        const cJSON *im = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(rj, "source"), "imported");
        assert_string_equal(cJSON_GetObjectItemCaseSensitive(im, "format")->valuestring,
                            cases[k].format);
        cJSON_Delete(rj);
        char res0[128];
        snprintf(res0, sizeof res0, "%s", res);
        double a = results_slope(res);
        snprintf(res, sizeof res, "%s/run", dir);
        double b = fit_slope(res);
        print_message("[import] %s: analyze slope %.9g ms/token, fit slope %.9g\n", cases[k].format,
                      a, b);
        assert_true(isfinite(a) && isfinite(b));
        assert_true(fabs(a - b) <= 1e-9 * fabs(b));
        /* The headline prefill cost (mean slope over the measured lengths
         * of the chosen model) is the one the fixture was made with. */
        cJSON *rj2 = tu_read_json(res0);
        const cJSON *pm = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(
                    cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(rj2, "targets"), 0),
                    "models"),
                "cold_ttft"),
            "prefill_ms_per_token");
        double per_token = cJSON_GetObjectItemCaseSensitive(pm, "value")->valuedouble;
        cJSON_Delete(rj2);
        assert_true(fabs(per_token - cases[k].slope) < 0.01 * cases[k].slope);
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        assert_int_equal(sh(cmd), 0);
    }
}

TU_MAIN(NULL, NULL, cmocka_unit_test(llama_bench_should_give_one_cold_trial_per_prompt_sample),
        cmocka_unit_test(vllm_bench_should_keep_failures_and_leave_the_mode_unknown),
        cmocka_unit_test(aiperf_should_read_units_errors_and_timestamps),
        cmocka_unit_test(import_should_name_file_line_and_field_of_bad_input),
        cmocka_unit_test(imported_benchmarks_should_give_the_slope_fit_gives))
