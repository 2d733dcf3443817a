/* test_spec.c - the spec loader: every malformed fixture's exact message,
 * defaults, canonical form and hash, corpus resolution, suggestions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "experiments/spec.h"
#include "experiments/spec_check.h"
#include "tests/testutil.h"

#define BAD_DIR "tests/fixtures/specs/bad"

static const char minimal[] = "{\"name\":\"m\",\"targets\":[{\"name\":\"a\",\"base_url\":"
                              "\"http://127.0.0.1:8080/\"}],\"workload\":{"
                              "\"system_prompt_tokens\":[0,550],\"query_tokens\":[25]}}";

static spec *parse_ok(const char *text)
{
    char err[KV_ERRLEN] = "";
    spec *s = NULL;
    kv_status st = spec_parse(text, strlen(text), "t.json", &s, err);
    if (st != KV_OK)
        fail_msg("unexpected error: %s", err);
    return s;
}

/* Per-test setup and teardown: *state is the spec parsed from minimal. */
static int setup_minimal(void **state)
{
    *state = parse_ok(minimal);
    return 0;
}

static int teardown_spec(void **state)
{
    spec_free(*state);
    return 0;
}

static void bad_specs_should_fail_with_the_exact_expected_message(void **state)
{
    (void)state;
    DIR *d = opendir(BAD_DIR);
    assert_non_null(d);
    char *names[256];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < 256) {
        size_t len = strlen(e->d_name);
        if (len > 5 && strcmp(e->d_name + len - 5, ".json") == 0)
            names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof names[0], tu_cmp_str);
    assert_true(n >= 25);
    size_t failures = 0;
    for (size_t i = 0; i < n; i++) {
        char path[512], exp_path[512], err[KV_ERRLEN] = "";
        snprintf(path, sizeof path, "%s/%s", BAD_DIR, names[i]);
        snprintf(exp_path, sizeof exp_path, "%.*s.expected", (int)(strlen(path) - 5), path);
        size_t elen = 0;
        char *expected = tu_read(exp_path, &elen);
        while (elen && (expected[elen - 1] == '\n' || expected[elen - 1] == '\r'))
            expected[--elen] = '\0';
        spec *s = NULL;
        kv_status st = spec_load(path, &s, err);
        if (st != KV_ERR_INPUT || strcmp(err, expected) != 0) {
            print_error("%s:\n  expected: %s\n  got (%d): %s\n", names[i], expected, (int)st, err);
            failures++;
        }
        assert_null(s);
        free(expected);
        free(names[i]);
    }
    assert_int_equal(failures, 0);
}

static void validation_should_report_every_error_sorted_by_position(void **state)
{
    (void)state;
    char err[KV_ERRLEN] = "";
    kv_buf all = {0};
    spec *s = NULL;
    assert_int_equal(spec_load_all(BAD_DIR "/many_errors.json", &s, err, &all), KV_ERR_INPUT);
    assert_null(s);
    size_t lines = 0;
    int last_line = 0;
    for (const char *p = all.data; p && *p; p = strchr(p, '\n') + 1) {
        int line = 0;
        assert_int_equal(sscanf(p, BAD_DIR "/many_errors.json:%d:", &line), 1);
        assert_true(line >= last_line);
        last_line = line;
        lines++;
    }
    assert_int_equal(lines, 7);
    assert_non_null(strstr(all.data, "$.repetitons: unknown key (did you mean \"repetitions\"?)"));
    assert_int_equal(strncmp(all.data, err, strlen(err)), 0);
    kv_buf_free(&all);
}

static void messages_should_never_echo_an_api_key(void **state)
{
    (void)state;
    char err[KV_ERRLEN] = "";
    spec *s = NULL;
    assert_int_equal(spec_load(BAD_DIR "/api_key_env_is_a_key.json", &s, err), KV_ERR_INPUT);
    assert_null(strstr(err, "sk-"));
    err[0] = '\0';
    assert_int_equal(spec_load(BAD_DIR "/header_authorization.json", &s, err), KV_ERR_INPUT);
    assert_null(strstr(err, "Bearer"));
}

static void defaults_should_match_the_documentation(void **state)
{
    const spec *s = *state;
    assert_string_equal(s->name, "m");
    assert_null(s->description);
    assert_true(s->seed == 1);
    assert_int_equal(s->n_targets, 1);
    assert_string_equal(s->targets[0].base_url, "http://127.0.0.1:8080");
    assert_int_equal(s->targets[0].api, SPEC_API_AUTO);
    assert_null(s->targets[0].model);
    assert_null(s->targets[0].api_key_env);
    assert_int_equal(s->max_output_tokens, 1);
    assert_true(s->temperature == 0);
    assert_string_equal(s->corpus_name, SPEC_DEFAULT_CORPUS);
    assert_non_null(s->corpus);
    assert_int_equal(s->n_query_counts, 1);
    assert_int_equal(s->query_counts[0], 1);
    assert_true(s->cold && s->warm);
    assert_int_equal(s->repetitions, 5);
    assert_int_equal(s->warmup_requests, 2);
    assert_int_equal(s->order, SPEC_ORDER_RANDOM);
    assert_true(s->timeout_connect_s == 10);
    assert_true(s->timeout_first_token_s == 600);
    assert_true(s->timeout_total_s == 900);
    assert_int_equal(s->retries, 3);
    assert_int_equal(s->concurrency, 1);
    assert_int_equal(s->n_hypotheses, 0);
    assert_false(s->stop.enabled);
    spec_free(NULL);
}

static void hypotheses_should_default_to_the_largest_lengths(void **state)
{
    (void)state;
    spec *s = tu_spec_load("data/experiments/kv-cache-hypothesis.json");
    assert_int_equal(s->n_hypotheses, 5);
    assert_string_equal(s->hypotheses[0].id, "H1");
    assert_int_equal(s->hypotheses[0].metric, SPEC_METRIC_OVERHEAD_FRACTION);
    assert_int_equal(s->hypotheses[0].system_prompt_tokens, 18490);
    assert_true(fabs(s->hypotheses[0].min - 0.70) < 1e-12);
    assert_true(isnan(s->hypotheses[0].max));
    assert_int_equal(s->hypotheses[4].metric, SPEC_METRIC_SESSION_SPEEDUP);
    assert_int_equal(s->hypotheses[4].query_count, 10);
    spec_free(s);
    s = tu_spec_load("data/experiments/smoke.json");
    assert_int_equal(s->hypotheses[0].system_prompt_tokens, 550);
    assert_int_equal(s->hypotheses[1].query_count, -1);
    spec_free(s);
}

static void canonical_form_should_ignore_layout_and_key_order(void **state)
{
    const spec *a = *state;
    spec *b = parse_ok("{\n  \"workload\": {\"query_tokens\": [25], \"system_prompt_tokens\": "
                       "[0, 550], \"max_output_tokens\": 1},\n  \"targets\": [{\"base_url\": "
                       "\"http://127.0.0.1:8080\", \"name\": \"a\", \"api\": \"auto\"}],\n"
                       "  \"seed\": 1, \"name\": \"m\", \"cache_modes\": [\"warm\", \"cold\"]\n}");
    assert_string_equal(a->canonical, b->canonical);
    assert_true(a->hash == b->hash);
    assert_true(a->hash == kv_hash64(a->canonical, strlen(a->canonical), 0));
    /* The canonical form is itself a valid spec with the same canonical form. */
    spec *c = parse_ok(a->canonical);
    assert_string_equal(c->canonical, a->canonical);
    spec *d = parse_ok("{\"name\":\"m\",\"seed\":2,\"targets\":[{\"name\":\"a\",\"base_url\":"
                       "\"http://127.0.0.1:8080\"}],\"workload\":{"
                       "\"system_prompt_tokens\":[0,550],\"query_tokens\":[25]}}");
    assert_true(d->hash != a->hash);
    spec_free(b);
    spec_free(c);
    spec_free(d);
}

static void canonical_form_should_be_stable_across_versions(void **state)
{
    const spec *s = *state;
    assert_string_equal(
        s->canonical,
        "{\"name\":\"m\",\"description\":null,\"seed\":1,\"targets\":[{\"name\":\"a\","
        "\"base_url\":\"http://127.0.0.1:8080\",\"api\":\"auto\",\"model\":null,"
        "\"api_key_env\":null,\"headers\":{}}],\"workload\":{\"system_prompt_tokens\":[0,550],"
        "\"query_tokens\":[25],\"max_output_tokens\":1,\"corpus\":"
        "\"data/corpus/engineering-notes.txt\",\"temperature\":0},\"sessions\":{"
        "\"query_counts\":[1],\"system_prompt_tokens\":[0,550],\"query_tokens\":[25]},"
        "\"cache_modes\":[\"cold\",\"warm\"],\"repetitions\":5,\"warmup_requests\":2,"
        "\"order\":\"random\",\"timeouts\":{\"connect\":10,\"first_token\":600,\"total\":900},"
        "\"retries\":3,\"concurrency\":1,\"hypotheses\":[],\"stop\":null}");
}

static void seed_should_keep_every_integer_up_to_two_to_the_53(void **state)
{
    (void)state;
    spec *s = parse_ok("{\"name\":\"m\",\"seed\":9007199254740991,\"targets\":[{\"name\":\"a\","
                       "\"base_url\":\"http://h\"}],\"workload\":{\"system_prompt_tokens\":[0],"
                       "\"query_tokens\":[1]}}");
    assert_true(s->seed == 9007199254740991ULL);
    assert_non_null(strstr(s->canonical, "\"seed\":9007199254740991,"));
    spec_free(s);
}

static void corpus_should_resolve_from_the_source_tree_in_another_directory(void **state)
{
    (void)state;
    char cwd[4096];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir("/"), 0);
    char err[KV_ERRLEN] = "";
    spec *s = NULL;
    kv_status st = spec_load(KVPROOF_SOURCE_DIR "/data/experiments/smoke.json", &s, err);
    assert_int_equal(chdir(cwd), 0);
    assert_int_equal(st, KV_OK);
    assert_string_equal(s->corpus, KVPROOF_SOURCE_DIR "/" SPEC_DEFAULT_CORPUS);
    assert_string_equal(s->corpus_name, SPEC_DEFAULT_CORPUS);
    spec_free(s);
}

static void headers_and_stop_should_be_loaded(void **state)
{
    (void)state;
    spec *s = parse_ok("{\"name\":\"m\",\"targets\":[{\"name\":\"a\",\"base_url\":\"https://h\","
                       "\"api_key_env\":\"MY_KEY\",\"headers\":{\"X-Org\":\"lab\"}}],"
                       "\"workload\":{\"system_prompt_tokens\":[0],\"query_tokens\":[1]},"
                       "\"repetitions\":20,\"stop\":{\"target_rel_ci\":0.05,\"max_minutes\":30}}");
    assert_string_equal(s->targets[0].api_key_env, "MY_KEY");
    assert_int_equal(s->targets[0].n_headers, 1);
    assert_string_equal(s->targets[0].headers[0].name, "X-Org");
    assert_string_equal(s->targets[0].headers[0].value, "lab");
    assert_true(s->stop.enabled);
    assert_true(fabs(s->stop.target_rel_ci - 0.05) < 1e-15);
    assert_int_equal(s->stop.min_repetitions, 3);
    assert_int_equal(s->stop.max_trials, 0);
    assert_true(s->stop.max_minutes == 30);
    spec_free(s);
}

static void syntax_errors_should_point_at_the_offending_byte(void **state)
{
    (void)state;
    char err[KV_ERRLEN] = "";
    spec *s = NULL;
    const char text[] = "{\n  \"name\": \"m\",\n  \"seed\": [1, 2\n}";
    assert_int_equal(spec_parse(text, strlen(text), "x.json", &s, err), KV_ERR_INPUT);
    assert_string_equal(err, "x.json:4:1: $.seed: syntax error: expected ',' or ']' after an "
                             "element, found '}'");
    /* Every truncation of a valid spec fails cleanly (no crash, a position). */
    for (size_t n = 0; n < sizeof minimal - 1; n++) {
        err[0] = '\0';
        assert_int_equal(spec_parse(minimal, n, "t.json", &s, err), KV_ERR_INPUT);
        assert_null(s);
        assert_int_equal(strncmp(err, "t.json:1:", 9), 0);
    }
}

static void suggestions_should_find_the_closest_known_key(void **state)
{
    (void)state;
    static const char *const keys[] = {"api", "api_key_env", "base_url", "name"};
    assert_int_equal(spec_check_edit_distance("sytem", "system"), 1);
    assert_int_equal(spec_check_edit_distance("ab", "ba"), 1);
    assert_int_equal(spec_check_edit_distance("Name", "name"), 0);
    assert_string_equal(spec_check_suggest("api_key", keys, 4), "api_key_env");
    assert_string_equal(spec_check_suggest("baseurl", keys, 4), "base_url");
    assert_null(spec_check_suggest("zzzzzz", keys, 4));
}

static void mutated_specs_should_load_or_fail_with_a_positioned_message(void **state)
{
    (void)state;
    char err[KV_ERRLEN] = "";
    size_t len = 0;
    char *text = tu_read("data/experiments/kv-cache-hypothesis.json", &len);
    static const char subst[] = {'"', '{', '}', '[', ']', ',', ':', '-', '0', '9', 'x', ' ', 0};
    char *copy = malloc(len + 1);
    assert_non_null(copy);
    size_t loaded = 0, rejected = 0;
    for (size_t i = 0; i < len; i += 3) {
        memcpy(copy, text, len + 1);
        copy[i] = subst[i % sizeof subst];
        spec *s = NULL;
        err[0] = '\0';
        kv_status st = spec_parse(copy, len, "m.json", &s, err);
        if (st == KV_OK) {
            loaded++;
            assert_non_null(s->canonical);
            spec_free(s);
        } else {
            rejected++;
            assert_int_equal(st, KV_ERR_INPUT);
            assert_int_equal(strncmp(err, "m.json:", 7), 0);
            assert_non_null(strstr(err, ": $"));
        }
    }
    assert_true(rejected > 0 && loaded > 0);
    free(copy);
    free(text);
}

static void default_corpus_should_hold_at_least_60_kb_of_text(void **state)
{
    (void)state;
    size_t len = 0;
    char *text = tu_read(SPEC_DEFAULT_CORPUS, &len);
    assert_true(len >= 60000);
    for (size_t i = 0; i < len; i++)
        assert_true(text[i] == '\n' || (text[i] >= ' ' && text[i] < 127));
    free(text);
}

static void ca_file_should_be_loaded_checked_and_kept_in_the_canonical_form(void **state)
{
    (void)state;
    spec *s = parse_ok("{\"name\":\"m\",\"targets\":[{\"name\":\"a\",\"base_url\":\"https://h\","
                       "\"ca_file\":\"tests/fixtures/tls/ca.pem\"}],"
                       "\"workload\":{\"system_prompt_tokens\":[0],\"query_tokens\":[1]}}");
    assert_string_equal(s->targets[0].ca_file, "tests/fixtures/tls/ca.pem");
    assert_non_null(strstr(s->canonical, "\"ca_file\":\"tests/fixtures/tls/ca.pem\""));
    spec *again = parse_ok(s->canonical); /* canonical -> reload -> same hash */
    assert_string_equal(again->canonical, s->canonical);
    assert_true(again->hash == s->hash);
    spec *none = parse_ok("{\"name\":\"m\",\"targets\":[{\"name\":\"a\",\"base_url\":"
                          "\"https://h\"}],\"workload\":{\"system_prompt_tokens\":[0],"
                          "\"query_tokens\":[1]}}");
    assert_null(strstr(none->canonical, "ca_file"));
    assert_true(none->hash != s->hash);
    spec_free(s);
    spec_free(again);
    spec_free(none);
    const char *missing = "{\"name\":\"m\",\"targets\":[{\"name\":\"a\",\"base_url\":"
                          "\"https://h\",\"ca_file\":\"no/such/ca.pem\"}],\"workload\":{"
                          "\"system_prompt_tokens\":[0],\"query_tokens\":[1]}}";
    spec *bad = NULL;
    char err[KV_ERRLEN] = "";
    assert_int_equal(spec_parse(missing, strlen(missing), "x.json", &bad, err), KV_ERR_INPUT);
    assert_null(bad);
    assert_non_null(strstr(err, "x.json:1:"));
    assert_non_null(
        strstr(err, "$.targets[0].ca_file: cannot read the CA file \"no/such/ca.pem\""));
}

TU_MAIN(NULL, NULL, cmocka_unit_test(bad_specs_should_fail_with_the_exact_expected_message),
        cmocka_unit_test(validation_should_report_every_error_sorted_by_position),
        cmocka_unit_test(messages_should_never_echo_an_api_key),
        cmocka_unit_test_setup_teardown(defaults_should_match_the_documentation, setup_minimal,
                                        teardown_spec),
        cmocka_unit_test(hypotheses_should_default_to_the_largest_lengths),
        cmocka_unit_test_setup_teardown(canonical_form_should_ignore_layout_and_key_order,
                                        setup_minimal, teardown_spec),
        cmocka_unit_test_setup_teardown(canonical_form_should_be_stable_across_versions,
                                        setup_minimal, teardown_spec),
        cmocka_unit_test(seed_should_keep_every_integer_up_to_two_to_the_53),
        cmocka_unit_test(corpus_should_resolve_from_the_source_tree_in_another_directory),
        cmocka_unit_test(headers_and_stop_should_be_loaded),
        cmocka_unit_test(ca_file_should_be_loaded_checked_and_kept_in_the_canonical_form),
        cmocka_unit_test(syntax_errors_should_point_at_the_offending_byte),
        cmocka_unit_test(suggestions_should_find_the_closest_known_key),
        cmocka_unit_test(mutated_specs_should_load_or_fail_with_a_positioned_message),
        cmocka_unit_test(default_corpus_should_hold_at_least_60_kb_of_text))
