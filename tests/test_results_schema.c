/* test_results_schema.c - results.json's one contract (stats/results_schema.h):
 * the writer writes only keys of the table, the strict reader refuses a
 * missing required key, a wrong type and another major version naming the
 * file and the path ('kvproof report' exits 3), the committed fixtures are
 * exactly what the writer makes of the committed journals, and every
 * headline number survives analyze -> read.
 *
 * Journals: tests/fixtures/journals/results/NAME.jsonl; fixtures:
 * tests/fixtures/results/NAME.json (scripts/make-results-fixtures.sh).
 */
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
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "common/util.h"
#include "report/results_read.h"
#include "stats/results_schema.h"
#include "tests/testutil.h"

#define JOURNALS "tests/fixtures/journals/results/"
#define FIX "tests/fixtures/results/"

static const rs_key SCHEMA[] = {RESULTS_KEYS(RS_KEY_ROW)};
#define N_SCHEMA (sizeof SCHEMA / sizeof SCHEMA[0])

/* ---- helpers ---- */

static cJSON *load_tree(const char *path)
{
    char *text = NULL, err[KV_ERRLEN] = "";
    size_t len = 0;
    if (kv_read_file(path, &text, &len, err) != KV_OK)
        fail_msg("%s", err);
    cJSON *root = cJSON_ParseWithLength(text, len);
    free(text);
    assert_non_null(root);
    return root;
}

/* The committed journals' names (without .jsonl), sorted; *n of them. */
static char **journal_names(size_t *n)
{
    DIR *dir = opendir(JOURNALS);
    assert_non_null(dir);
    char **names = NULL;
    *n = 0;
    const struct dirent *e;
    while ((e = readdir(dir))) {
        size_t len = strlen(e->d_name);
        if (len < 7 || strcmp(e->d_name + len - 6, ".jsonl") != 0)
            continue;
        names = realloc(names, (*n + 1) * sizeof *names);
        assert_non_null(names);
        names[*n] = strndup(e->d_name, len - 6);
        (*n)++;
    }
    closedir(dir);
    assert_true(*n >= 3);
    return names;
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* `kvproof analyze JOURNALS/name.jsonl --out dir/name`: dir/name/results.json. */
static void analyze(const char *name, const char *dir, char *json, size_t cap)
{
    char args[1024], out[4096];
    snprintf(args, sizeof args, "analyze " JOURNALS "%s.jsonl --out '%s/%s' --quiet", name, dir,
             name);
    int rc = tu_kvproof_text(out, sizeof out, args);
    if (rc != 0)
        fail_msg("analyze %s: exit %d: %s", name, rc, out);
    snprintf(json, cap, "%s/%s/results.json", dir, name);
}

/* ---- the writer writes the table's keys ---- */

static const rs_key *row(rs_kind kind, const char *key)
{
    for (size_t i = 0; i < N_SCHEMA; i++)
        if (SCHEMA[i].kind == kind && strcmp(SCHEMA[i].key, key) == 0)
            return &SCHEMA[i];
    return NULL;
}

static void walk(const cJSON *o, rs_kind kind, const char *path, const char *file)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, o)
    {
        const rs_key *k = row(kind, it->string);
        if (!k)
            fail_msg("%s: %s.%s is written but not in stats/results_schema.h", file, path,
                     it->string);
        char p[512];
        snprintf(p, sizeof p, "%s.%s", path, it->string);
        if (cJSON_IsObject(it) && (k->type == RS_OBJ || k->type == RS_EST))
            walk(it, k->child, p, file);
        if (cJSON_IsArray(it) && k->child != RS_K_NONE) {
            const cJSON *el;
            cJSON_ArrayForEach(el, it) walk(el, k->child, p, file);
        }
    }
}

static void writer_should_write_only_keys_of_the_schema_header(void **state)
{
    (void)state;
    size_t n = 0;
    char **names = journal_names(&n);
    for (size_t i = 0; i < n; i++) {
        char path[512];
        snprintf(path, sizeof path, FIX "%s.json", names[i]);
        cJSON *root = load_tree(path);
        walk(root, RS_K_TOP, "", path);
        cJSON_Delete(root);
    }
    free_names(names, n);
}

/* ---- the strict reader ---- */

/* demo.json with the key `key` of the object at `where` renamed to key_x,
 * written to dir/name.json; 'kvproof report' must exit 3 naming `path`. */
static void renamed_should_be_refused(cJSON *obj, const char *key, const char *path,
                                      const char *dir, cJSON *root)
{
    char renamed[128];
    snprintf(renamed, sizeof renamed, "%s_renamed", key);
    cJSON *v = cJSON_DetachItemFromObjectCaseSensitive(obj, key);
    assert_non_null(v);
    cJSON_AddItemToObject(obj, renamed, v);
    char *text = cJSON_PrintUnformatted(root);
    char json[512], args[1200], out[4096];
    snprintf(json, sizeof json, "%s/renamed.json", dir);
    FILE *f = fopen(json, "w");
    assert_non_null(f);
    assert_true(fputs(text, f) >= 0);
    assert_int_equal(fclose(f), 0);
    cJSON_free(text);
    snprintf(args, sizeof args, "report '%s' -o '%s/r.pdf'", json, dir);
    int rc = tu_kvproof_text(out, sizeof out, args);
    if (rc != 3 || !strstr(out, path) || !strstr(out, json))
        fail_msg("%s renamed: exit %d (want 3), output: %s", path, rc, out);
    /* and back, for the next case */
    v = cJSON_DetachItemFromObjectCaseSensitive(obj, renamed);
    cJSON_AddItemToObject(obj, key, v);
}

static void report_should_refuse_a_renamed_headline_key_naming_its_path(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp("/tmp/kvschema");
    cJSON *root = load_tree(FIX "demo.json");
    cJSON *verdict = cJSON_GetObjectItemCaseSensitive(root, "verdict");
    renamed_should_be_refused(verdict, "speedup", "verdict.speedup", dir, root);
    renamed_should_be_refused(verdict, "overhead_fraction", "verdict.overhead_fraction", dir, root);
    cJSON *t0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(root, "targets"), 0);
    cJSON *c3 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(t0, "cells"), 3);
    renamed_should_be_refused(c3, "median", "targets[0].cells[3].median", dir, root);
    cJSON_Delete(root);
    tu_rmtree_free(dir);
}

/* The contention section (tests/fixtures/journals/contention/): only keys
 * of the table, and a renamed required key refused with its path. */
static void contention_section_should_follow_the_schema(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp("/tmp/kvschema");
    char args[1024], out[4096], json[512];
    snprintf(args, sizeof args,
             "analyze tests/fixtures/journals/contention/two_servers.jsonl --out '%s/c' --quiet",
             dir);
    int rc = tu_kvproof_text(out, sizeof out, args);
    if (rc != 0)
        fail_msg("analyze: exit %d: %s", rc, out);
    snprintf(json, sizeof json, "%s/c/results.json", dir);
    cJSON *root = load_tree(json);
    walk(root, RS_K_TOP, "", json);
    cJSON *k = cJSON_GetObjectItemCaseSensitive(root, "contention");
    assert_non_null(k);
    cJSON *cap = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(k, "capacity"), 1);
    renamed_should_be_refused(cap, "warm_capacity", "contention.capacity[1].warm_capacity", dir,
                              root);
    cJSON *g = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(k, "groups"), 2);
    renamed_should_be_refused(g, "hit_rate", "contention.groups[2].hit_rate", dir, root);
    cJSON_Delete(root);
    tu_rmtree_free(dir);
}

static kv_status parse_tree(cJSON *root, char *err)
{
    char *text = cJSON_PrintUnformatted(root);
    rr_results *r = NULL;
    err[0] = '\0'; /* kv_fail keeps the first message */
    kv_status st = results_read_parse(text, strlen(text), "t.json", &r, err);
    results_read_free(r);
    cJSON_free(text);
    return st;
}

static void reader_should_name_the_path_of_a_wrong_type_and_both_versions(void **state)
{
    (void)state;
    char err[KV_ERRLEN] = "";
    cJSON *root = load_tree(FIX "two_targets.json");
    assert_int_equal(parse_tree(root, err), KV_OK);
    cJSON *t1 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(root, "targets"), 1);
    cJSON *sp = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(t1, "speedup"), 0);
    cJSON_ReplaceItemInObjectCaseSensitive(sp, "speedup", cJSON_CreateString("fast"));
    assert_int_equal(parse_tree(root, err), KV_ERR_INPUT);
    assert_non_null(strstr(err, "t.json"));
    assert_non_null(strstr(err, "targets[1].speedup[0].speedup"));
    assert_non_null(strstr(err, "expected an estimate object"));
    cJSON_Delete(root);

    root = load_tree(FIX "demo.json");
    cJSON_ReplaceItemInObjectCaseSensitive(root, "version", cJSON_CreateNumber(2));
    assert_int_equal(parse_tree(root, err), KV_ERR_INPUT);
    assert_non_null(strstr(err, "major version 2"));
    assert_non_null(strstr(err, "reads 1"));
    cJSON_ReplaceItemInObjectCaseSensitive(root, "version", cJSON_CreateNumber(1));
    /* null where null is "not computable": read; null where never: refused */
    cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "verdict");
    cJSON_ReplaceItemInObjectCaseSensitive(v, "speedup", cJSON_CreateNull());
    assert_int_equal(parse_tree(root, err), KV_OK);
    cJSON_ReplaceItemInObjectCaseSensitive(root, "targets", cJSON_CreateNull());
    assert_int_equal(parse_tree(root, err), KV_ERR_INPUT);
    assert_non_null(strstr(err, "targets: must not be null"));
    cJSON_Delete(root);
}

static void reader_should_accept_a_missing_optional_key(void **state)
{
    (void)state;
    char err[KV_ERRLEN] = "";
    cJSON *root = load_tree(FIX "demo.json");
    cJSON *t0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(root, "targets"), 0);
    cJSON_DeleteItemFromObjectCaseSensitive(t0, "cache_evidence"); /* OPT */
    cJSON *c0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(t0, "cells"), 0);
    cJSON_DeleteItemFromObjectCaseSensitive(c0, "stalls"); /* OPT */
    assert_int_equal(parse_tree(root, err), KV_OK);
    cJSON_DeleteItemFromObjectCaseSensitive(c0, "mean"); /* REQN: required without a note */
    assert_int_equal(parse_tree(root, err), KV_ERR_INPUT);
    assert_non_null(strstr(err, "targets[0].cells[0].mean: required key is missing"));
    cJSON_AddStringToObject(c0, "note", "no usable value");
    assert_int_equal(parse_tree(root, err), KV_OK);
    cJSON_Delete(root);
}

/* ---- fixtures from the writer, and the round trip ---- */

/* Fails unless the file the writer made (got) is byte for byte the
 * committed fixture fix, made from the journal `name`. */
static void expect_fixture(const char *got, const char *fix, const char *name)
{
    char *a = NULL, *b = NULL, err[KV_ERRLEN] = "";
    size_t na = 0, nb = 0;
    assert_int_equal(kv_read_file(got, &a, &na, err), KV_OK);
    if (kv_read_file(fix, &b, &nb, err) != KV_OK)
        fail_msg("%s (run scripts/make-results-fixtures.sh)", err);
    if (na != nb || memcmp(a, b, na) != 0)
        fail_msg("%s differs from the writer's output for %s%s.jsonl: run "
                 "scripts/make-results-fixtures.sh",
                 fix, JOURNALS, name);
    free(a);
    free(b);
}

/* Analyses every committed journal into a fresh directory and calls check
 * with its name, that directory and the results.json written. */
static void each_analyzed(void (*check)(const char *name, const char *dir, const char *json))
{
    char *dir = tu_mkdtemp("/tmp/kvschema");
    size_t n = 0;
    char **names = journal_names(&n);
    for (size_t i = 0; i < n; i++) {
        char json[512];
        analyze(names[i], dir, json, sizeof json);
        check(names[i], dir, json);
    }
    free_names(names, n);
    tu_rmtree_free(dir);
}

static void same_as_fixtures(const char *name, const char *dir, const char *json)
{
    char fix[512], points[512];
    snprintf(fix, sizeof fix, FIX "%s.json", name);
    expect_fixture(json, fix, name);
    /* and its points file, under the name the reader looks for */
    snprintf(points, sizeof points, "%s/%s/points.csv", dir, name);
    snprintf(fix, sizeof fix, FIX "%s.points.csv", name);
    expect_fixture(points, fix, name);
}

static void fixtures_should_be_what_the_writer_makes_of_the_journals(void **state)
{
    (void)state;
    each_analyzed(same_as_fixtures);
}

static double jnum(const cJSON *v)
{
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* The reader's estimate equals the writer's object: value and interval. */
static void same_est(const rr_est *e, const cJSON *o, const char *what)
{
    const cJSON *ci = cJSON_GetObjectItemCaseSensitive(o, "ci");
    double want[3] = {jnum(cJSON_GetObjectItemCaseSensitive(o, "value")),
                      jnum(cJSON_GetArrayItem(ci, 0)), jnum(cJSON_GetArrayItem(ci, 1))};
    double got[3] = {e->est.value, e->est.lo, e->est.hi};
    for (int k = 0; k < 3; k++)
        if (!(got[k] == want[k] || (isnan(got[k]) && isnan(want[k]))))
            fail_msg("%s: read %.17g, written %.17g", what, got[k], want[k]);
}

#define ITEM(o, key) cJSON_GetObjectItemCaseSensitive(o, key)

static void round_trip_target(const rr_target *t, const cJSON *jt, const char *name)
{
    char what[256];
    assert_int_equal(t->n_cells, (size_t)cJSON_GetArraySize(ITEM(jt, "cells")));
    for (size_t c = 0; c < t->n_cells; c++) {
        snprintf(what, sizeof what, "%s cells[%zu].median", name, c);
        same_est(&t->cells[c].median, ITEM(cJSON_GetArrayItem(ITEM(jt, "cells"), (int)c), "median"),
                 what);
    }
    assert_int_equal(t->n_speedup, (size_t)cJSON_GetArraySize(ITEM(jt, "speedup")));
    for (size_t s = 0; s < t->n_speedup; s++) {
        snprintf(what, sizeof what, "%s speedup[%zu]", name, s);
        same_est(&t->speedup[s].speedup,
                 ITEM(cJSON_GetArrayItem(ITEM(jt, "speedup"), (int)s), "speedup"), what);
    }
    assert_int_equal(t->n_overhead, (size_t)cJSON_GetArraySize(ITEM(jt, "overhead_fraction")));
    for (size_t s = 0; s < t->n_overhead; s++) {
        snprintf(what, sizeof what, "%s overhead_fraction[%zu]", name, s);
        same_est(&t->overhead[s].estimate,
                 ITEM(cJSON_GetArrayItem(ITEM(jt, "overhead_fraction"), (int)s), "estimate"), what);
    }
    assert_int_equal(t->n_sessions, (size_t)cJSON_GetArraySize(ITEM(jt, "sessions")));
    for (size_t s = 0; s < t->n_sessions; s++) {
        snprintf(what, sizeof what, "%s sessions[%zu]", name, s);
        same_est(&t->sessions[s].measured_speedup,
                 ITEM(cJSON_GetArrayItem(ITEM(jt, "sessions"), (int)s), "measured_speedup"), what);
    }
    const cJSON *cold = ITEM(ITEM(jt, "models"), "cold_ttft");
    snprintf(what, sizeof what, "%s cold_ttft.prefill_ms_per_token", name);
    if (ITEM(cold, "prefill_ms_per_token"))
        same_est(&t->cold_ttft.prefill_ms_per_token, ITEM(cold, "prefill_ms_per_token"), what);
}

static void headlines_read_back(const char *name, const char *dir, const char *json)
{
    (void)dir;
    char err[KV_ERRLEN] = "";
    rr_results *r = NULL;
    if (results_read_load(json, &r, err) != KV_OK)
        fail_msg("%s", err);
    cJSON *root = load_tree(json);
    const cJSON *v = ITEM(root, "verdict");
    same_est(&r->v_speedup, ITEM(v, "speedup"), "verdict.speedup");
    same_est(&r->v_overhead, ITEM(v, "overhead_fraction"), "verdict.overhead_fraction");
    same_est(&r->v_prefill_ms, ITEM(v, "prefill_ms_per_token"), "verdict.prefill_ms");
    same_est(&r->v_prefill_tps, ITEM(v, "prefill_tokens_per_second"), "verdict.prefill_tps");
    assert_int_equal(r->n_targets, (size_t)cJSON_GetArraySize(ITEM(root, "targets")));
    for (size_t t = 0; t < r->n_targets; t++)
        round_trip_target(&r->targets[t], cJSON_GetArrayItem(ITEM(root, "targets"), (int)t), name);
    assert_int_equal(r->n_hypotheses, (size_t)cJSON_GetArraySize(ITEM(root, "hypotheses")));
    for (size_t h = 0; h < r->n_hypotheses; h++)
        same_est(&r->hypotheses[h].estimate,
                 ITEM(cJSON_GetArrayItem(ITEM(root, "hypotheses"), (int)h), "estimate"),
                 "hypothesis");
    cJSON_Delete(root);
    results_read_free(r);
}

static void every_headline_should_survive_analyze_then_read(void **state)
{
    (void)state;
    each_analyzed(headlines_read_back);
}

/* ---- docs/results.md's key reference is the table ---- */

#define DOCS "docs/results.md"
#define BEGIN_MARK "<!-- keys: generated from stats/results_schema.h"
#define END_MARK "<!-- end keys -->"

#define KIND_DOC(kind, doc) doc,
static const char *const KIND_DOCS[] = {RESULTS_KINDS(KIND_DOC)};
#undef KIND_DOC

static const char *type_doc(rs_type t)
{
    static const char *const w[] = {"number",      "integer", "string", "string or number", "bool",
                                    "[low, high]", "object",  "array",  "estimate object"};
    return w[t];
}

static const char *flags_doc(int f)
{
    if (f & RS_REQ)
        return f & RS_NN ? "required, never null" : "required";
    if (f & RS_REQN)
        return "required unless the object has a `note`";
    return "optional";
}

/* The key reference as docs/results.md must hold it, markers included. */
static void keys_doc(kv_buf *b)
{
    assert_int_equal(kv_buf_appendf(b,
                                    "%s by tests/test_results_schema.c "
                                    "(KVPROOF_UPDATE_DOCS=1 rewrites it); do not edit -->\n",
                                    BEGIN_MARK),
                     KV_OK);
    for (int k = RS_K_TOP; k < RS_K_COUNT; k++) {
        assert_int_equal(kv_buf_appendf(b,
                                        "\n#### %s\n\n| key | type | presence |\n"
                                        "|---|---|---|\n",
                                        KIND_DOCS[k]),
                         KV_OK);
        for (size_t i = 0; i < N_SCHEMA; i++) {
            const rs_key *r = &SCHEMA[i];
            if ((int)r->kind != k)
                continue;
            char child[160] = "";
            if (r->child != RS_K_NONE && r->child != RS_K_EST)
                snprintf(child, sizeof child, " of *%s*", KIND_DOCS[r->child]);
            assert_int_equal(kv_buf_appendf(b, "| `%s` | %s%s | %s |\n", r->key, type_doc(r->type),
                                            child, flags_doc(r->flags)),
                             KV_OK);
        }
    }
    assert_int_equal(kv_buf_appendf(b, "\n%s", END_MARK), KV_OK);
}

static void docs_should_list_exactly_the_keys_of_the_schema_header(void **state)
{
    (void)state;
    char *text = NULL, err[KV_ERRLEN] = "";
    size_t len = 0;
    assert_int_equal(kv_read_file(DOCS, &text, &len, err), KV_OK);
    kv_buf want = {0};
    keys_doc(&want);
    const char *a = strstr(text, BEGIN_MARK), *e = a ? strstr(a, END_MARK) : NULL;
    if (!a || !e)
        fail_msg(DOCS " has no generated key reference (markers " BEGIN_MARK " ... " END_MARK
                      "); run this test with KVPROOF_UPDATE_DOCS=1");
    e += strlen(END_MARK);
    int same = (size_t)(e - a) == want.len && memcmp(a, want.data, want.len) == 0;
    if (!same && getenv("KVPROOF_UPDATE_DOCS")) {
        FILE *f = fopen(DOCS, "w");
        assert_non_null(f);
        assert_int_equal(fwrite(text, 1, (size_t)(a - text), f), (size_t)(a - text));
        assert_int_equal(fwrite(want.data, 1, want.len, f), want.len);
        fputs(e, f);
        assert_int_equal(fclose(f), 0);
        same = 1;
    }
    if (!same) {
        /* name the first key that differs */
        size_t i = 0;
        while (a + i < e && i < want.len && a[i] == want.data[i])
            i++;
        const char *line = want.data + i;
        while (line > want.data && line[-1] != '\n')
            line--;
        fail_msg(DOCS "'s key reference differs from stats/results_schema.h near \"%.80s\" "
                      "(KVPROOF_UPDATE_DOCS=1 regenerates it)",
                 line);
    }
    kv_buf_free(&want);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(writer_should_write_only_keys_of_the_schema_header),
        cmocka_unit_test(report_should_refuse_a_renamed_headline_key_naming_its_path),
        cmocka_unit_test(contention_section_should_follow_the_schema),
        cmocka_unit_test(reader_should_name_the_path_of_a_wrong_type_and_both_versions),
        cmocka_unit_test(reader_should_accept_a_missing_optional_key),
        cmocka_unit_test(fixtures_should_be_what_the_writer_makes_of_the_journals),
        cmocka_unit_test(every_headline_should_survive_analyze_then_read),
        cmocka_unit_test(docs_should_list_exactly_the_keys_of_the_schema_header),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
