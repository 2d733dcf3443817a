/* testutil.h - what the cmocka tests in tests/ share, so that no test file
 * carries its own copy: the CLI under test (KVPROOF_BIN), running a shell
 * command with its output captured and its exit code returned, a child
 * process with its output in a log, temporary directories, whole-file reads
 * and writes, a checked strdup, and the cmocka main().
 *
 * Every tests/test_*.c is linked with testutil.c (tests/CMakeLists.txt).
 * The helpers fail the running test (cmocka asserts) instead of returning
 * errors. Ownership: tu_read and tu_strdup return malloc'd memory the caller
 * frees; kv_buf outputs belong to the caller (kv_buf_free).
 */
#ifndef KV_TESTUTIL_H
#define KV_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <sys/types.h>

#include "common/util.h"
#include <cjson/cJSON.h>

#include "net/client.h"
#include "net/dialect.h"
#include "experiments/journal.h"
#include "experiments/plan.h"
#include "server/costmodel.h"
#include "server/refsrv.h"
#include "stats/fit.h"

/* The kvproof binary: $KVPROOF_BIN when set and not empty, else
 * build/kvproof (ctest runs in the source tree). */
const char *tu_bin(void);

/* Runs the shell command made from fmt. Its standard output (add 2>&1 to
 * the command for stderr too) replaces the contents of *out, which is
 * NUL-terminated even when empty; out may be NULL to discard it. Returns the
 * exit code, or -1 when the command did not exit normally. */
int tu_run(kv_buf *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* tu_run of "'KVPROOF_BIN' " followed by the arguments made from fmt. */
int tu_kvproof(kv_buf *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Starts `kvproof run SPEC --out DIR --quiet [--resume]` as a child, its
 * stdout and stderr appended to log. Returns the child's pid. */
pid_t tu_spawn_run(const char *spec_path, const char *dir, bool resume, const char *log);

/* Waits for the child; its exit code (-1 when it did not exit) and, in
 * *killed, whether a signal ended it. */
int tu_wait(pid_t pid, bool *killed);

/* Sleeps ms milliseconds. */
void tu_sleep_ms(long ms);

/* Creates a fresh directory /tmp/kvproof-TAG-XXXXXX; its path in buf. */
void tu_tmpdir(char *buf, size_t size, const char *tag);

/* The number of '\n' in the file; 0 when it cannot be opened. */
size_t tu_count_lines(const char *path);

/* The reference server's defaults on an ephemeral port with the "laptop"
 * cost preset at time_scale. */
void tu_refsrv_config(refsrv_config *cfg, double time_scale);

/* refsrv_start that fails the test when the server does not start. */
refsrv *tu_refsrv_start(const refsrv_config *cfg);

/* spec_parse of text (name: the file named in messages) that fails the
 * test when the spec is refused. The caller frees the spec. */
spec *tu_spec(const char *text, const char *name);

/* A real client whose retries back off from base_s to at most max_s;
 * fails the test when it cannot be made. The caller frees it. */
client *tu_client(double base_s, double max_s);

/* runner_io tokenize and reset calls that go to the real client: ctx
 * points at a struct whose first member is the client *. */
kv_status tu_io_tokenize(void *ctx, const spec_target *tg, spec_api api, const char *text, long *n,
                         char *err);
kv_status tu_io_reset(void *ctx, const spec_target *tg, spec_api api, char *err);

/* The request body dialect_build_request writes (malloc'd) for rq's api,
 * max_output_tokens, temperature and no_cache, sent to a target named "t"
 * at base_url serving model, with one system and one user message. */
char *tu_request_body(client_request rq, const char *base_url, const char *model,
                      const char *system, const char *user);

/* Reads a whole JSON file; fails the test unless it parses. The caller
 * deletes it. */
cJSON *tu_read_json(const char *path);

/* A run of `kvproof run` against the reference server: the server, a
 * temporary directory holding the spec (dir/spec.json), the run's output
 * (out = dir/run, its journal_path = out/journal.jsonl) and the child's log
 * (dir/log.txt), and the spec with its plan. */
typedef struct tu_run_fixture {
    refsrv *srv;
    char dir[64], spec_path[128], out[160], log[160], journal_path[192];
    spec *s;
    plan *p;
} tu_run_fixture;

/* Starts the server from cfg and makes /tmp/kvproof-TAG-XXXXXX with the
 * paths above. */
void tu_run_fixture_up(tu_run_fixture *fx, const refsrv_config *cfg, const char *tag);

/* Writes the spec made from fmt (its first conversion is usually the
 * server's port) to spec_path, loads it and builds its plan. */
void tu_run_fixture_spec(tu_run_fixture *fx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Frees the plan and spec, stops the server, removes the directory. */
void tu_run_fixture_down(tu_run_fixture *fx);

/* A journal header the test owns (journal_header_clear frees it):
 * kvproof_version "0.1.0-test", the spec's name and JSON, planned trials,
 * and n_targets zeroed targets; the caller fills in the rest. */
void tu_header(journal_header *h, const char *spec_name, const char *spec_json, size_t planned,
               size_t n_targets);

/* A measured trial that succeeded in one turn, q (t->turns = q): plan index
 * and run position `index`, id TARGET/sSYS/qQUERY/n1/MODE/rREP, q's prompt
 * sys + query tokens, cached and prefix sys when warm (else 0), verified,
 * every time NAN (the caller sets the ones it needs). Nothing to free. */
void tu_trial(trial_record *t, trial_request *q, size_t index, const char *target, size_t cell,
              long sys, long query, spec_cache_mode mode, long rep);

/* Removes dir and everything below it (rm -rf). */
void tu_rmtree(const char *dir);

/* Loads the journal a run of p wrote and checks that it holds every planned
 * trial exactly once (ids as planned), nothing torn. The caller frees it. */
journal_data *tu_journal_of_plan(const char *path, const plan *p);

/* Reads a whole file (NUL-terminated, malloc'd); its length in *len when
 * len is not NULL. */
char *tu_read(const char *path, size_t *len);

/* Writes text to path, replacing what was there. */
void tu_write(const char *path, const char *text);

/* strdup that fails the test when out of memory. */
char *tu_strdup(const char *s);

/* fit_auto (robust: fit_auto_robust) at the 95% level on one column x
 * against y (n points); fails the test unless it succeeds. Returns the
 * chosen fit (inside *ch). */
const fit_result *tu_fit_auto(const double *x, const double *y, size_t n, bool weighted,
                              bool robust, fit_choice *ch);

/* qsort comparison of two char * (strcmp order). */
int tu_cmp_str(const void *a, const void *b);

/* Fails the test, naming the first missing one, unless text contains every
 * string of the NULL-terminated list; TU_CONTAINS(text, "a", "b") is the
 * call with the list written out. */
void tu_contains(const char *text, const char *const *needles);
#define TU_CONTAINS(text, ...) tu_contains(text, (const char *const[]){__VA_ARGS__, NULL})

/* Feeders (SSE, NDJSON) split anywhere. A tu_split_fn feeds text[0..n) in
 * pieces cut at the n_cuts ascending offsets and returns the log of what it
 * delivered (malloc'd). tu_expect_split checks that log against expected;
 * tu_expect_any_cut does so for a cut at every byte, tu_expect_any_two_cuts
 * for every pair of cuts whose first is a multiple of step, and
 * tu_expect_bytewise for the text fed one byte at a time. */
typedef char *(*tu_split_fn)(const char *text, size_t n, const size_t *cuts, size_t n_cuts);
void tu_expect_split(tu_split_fn run, const char *text, size_t n, const size_t *cuts, size_t n_cuts,
                     const char *expected);
void tu_expect_any_cut(tu_split_fn run, const char *text, size_t n, const char *expected);
void tu_expect_any_two_cuts(tu_split_fn run, const char *text, size_t n, size_t step,
                            const char *expected);
void tu_expect_bytewise(tu_split_fn run, const char *text, size_t n, const char *expected);

/* Group setups and teardown: curl_global_init / curl_global_cleanup (tests
 * that make HTTP requests) and gsl_set_error_handler_off (tests that check
 * GSL statuses, as main does). */
int tu_setup_curl(void **state);
int tu_teardown_curl(void **state);
int tu_setup_gsl(void **state);

/* main() of a test program: runs the cmocka tests given as the arguments
 * (cmocka_unit_test(...) entries) with the group setup and teardown. */
#define TU_MAIN(setup, teardown, ...)                                                              \
    int main(void)                                                                                 \
    {                                                                                              \
        const struct CMUnitTest tu_tests[] = {__VA_ARGS__};                                        \
        return cmocka_run_group_tests(tu_tests, setup, teardown);                                  \
    }

/* A cmocka test named NAME that runs FN with *state pointing at a TYPE
 * made from the remaining arguments: one row of a table of cases, each
 * keeping its own test name. For use inside TU_MAIN's list. */
#define TU_CASE(NAME, FN, TYPE, ...)                                                               \
    {                                                                                              \
#NAME, FN, NULL, NULL, &(TYPE)                                                             \
        {                                                                                          \
            __VA_ARGS__                                                                            \
        }                                                                                          \
    }

/* ---- Shared by the runner, client, probe, server and journal tests ---- */

/* A loopback TCP port that was free a moment ago (bound, read, closed):
 * for a request that must meet no listener. */
int tu_free_port(void);

/* For every DIR/NAME.jsonl (NAME not empty), in directory order: load must
 * return KV_ERR_INPUT with the text of DIR/NAME.expected (its trailing
 * newlines cut) in err, else the test fails naming the file. load checks
 * that it kept nothing. Returns how many files it checked. */
typedef kv_status (*tu_load_fn)(const char *path, char *err);
size_t tu_each_rejected(const char *dir, tu_load_fn load);

/* Fails the test unless got is want exactly, or both are NaN. */
void tu_assert_same_double(double got, double want);

/* ---- shared by the results, points and report tests ---- */

/* Creates a fresh directory PREFIX-XXXXXX (mkdtemp); returns its path,
 * malloc'd: tu_rmtree_free removes and frees it. */
char *tu_mkdtemp(const char *prefix);

/* tu_rmtree(dir), then free(dir). */
void tu_rmtree_free(char *dir);

/* Group teardown of a malloc'd fixture in *state whose first member is the
 * char array naming its scratch directory: removes it, frees the fixture. */
int tu_teardown_dir(void **state);

/* Runs "'KVPROOF_BIN' ARGS 2>&1"; its output, cut to cap - 1 bytes and
 * NUL-terminated, in out. Returns the exit code (-1: did not exit). */
int tu_kvproof_text(char *out, size_t cap, const char *args);

/* Runs the shell command cmd and returns its standard output (malloc'd,
 * NUL-terminated, empty when there is none); its exit code is not looked at. */
char *tu_capture(const char *cmd);

/* Fails the test unless the files got and want hold the same bytes. */
void tu_expect_same_file(const char *got, const char *want);

/* ---- wire, dialect and client tests ---- */

/* The ways tu_split_test feeds a text, as bits: whole (tu_expect_split
 * without a cut), cut at every byte (tu_expect_any_cut), at every two
 * bytes the first of which is a multiple of step (tu_expect_any_two_cuts),
 * byte by byte (tu_expect_bytewise). */
enum { TU_WHOLE = 1, TU_ANY_CUT = 2, TU_ANY_TWO_CUTS = 4, TU_BYTEWISE = 8 };

/* A TU_CASE row for tu_split_test: run fed text[0..n) each of the ways
 * must log expected. */
typedef struct tu_split_case {
    tu_split_fn run;
    const char *text;
    size_t n;
    const char *expected;
    unsigned ways;
    size_t step;
} tu_split_case;

void tu_split_test(void **state);

/* Feeds text[0..n) to feed(ctx, ...) in pieces cut at the n_cuts ascending
 * offsets; fails the test unless every piece is taken (KV_OK). */
typedef kv_status (*tu_feed_fn)(void *ctx, const char *data, size_t len, char *err);
void tu_feed_cuts(tu_feed_fn feed, void *ctx, const char *text, size_t n, const size_t *cuts,
                  size_t n_cuts);

/* ---- spec, plan, prompt, server and report tests ---- */

/* spec_load of the file at path that fails the test, with the loader's
 * message, when the spec is refused. The caller frees the spec. */
spec *tu_spec_load(const char *path);

/* Per-test setup and teardown of a scratch directory: the setup makes a
 * fresh /tmp/kvproof-scratch-XXXXXX and puts its path (malloc'd) in *state;
 * the teardown removes it with everything below it and frees the path. */
int tu_setup_scratch(void **state);
int tu_teardown_scratch(void **state);

/* Gives h one target (h->targets allocated, n_targets 1): simulated, with
 * copies of name and dialect, its other fields zero. journal_header_clear
 * frees it. */
void tu_sim_target(journal_header *h, const char *name, const char *dialect);

/* ---- runner tests ---- */

/* The committed journals every reader must refuse, with their messages
 * (tu_each_rejected's DIR/NAME.expected). */
#define TU_BAD_JOURNALS "tests/fixtures/journals/bad"

/* tu_load_fn of the record reader: journal_load of path, which must keep
 * nothing. */
kv_status tu_load_no_journal(const char *path, char *err);

/* tu_load_fn of the column reader: journal_cols_load of path, which must
 * keep nothing and fail with a status that exits 3. */
kv_status tu_load_no_columns(const char *path, char *err);

#endif
