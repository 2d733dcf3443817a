/* runnertest.h - helpers shared by the runner tests (test_runner.c,
 * test_runner_conc.c, test_runner_server.c): a scratch run directory and its
 * removal, loading the journal a run wrote, adaptive stopping as the CLI
 * passes it, and the fake servers' whitespace and punctuation tokenizer. Header-only (static
 * inline) because every tests/test_*.c is its own executable. */
#ifndef KV_RUNNERTEST_H
#define KV_RUNNERTEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/util.h"
#include "experiments/journal.h"
#include "jsonlcheck.h"
#include "stats/stopping.h"

/* Creates a fresh directory /tmp/kvproof-<tag>-XXXXXX into buf. */
static inline void runnertest_tmpdir(char *buf, size_t n, const char *tag)
{
    snprintf(buf, n, "/tmp/kvproof-%s-XXXXXX", tag);
    assert_non_null(mkdtemp(buf));
}

static inline void runnertest_rmrf(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* Loads DIR/journal.jsonl; fails the test when it cannot, or when a line
 * is not strict UTF-8 and valid JSON (jsonlcheck.h). */
static inline journal_data *runnertest_load(const char *dir)
{
    char path[512], err[KV_ERRLEN] = "";
    snprintf(path, sizeof path, "%s/journal.jsonl", dir);
    jsonlcheck_file(path);
    journal_data *d = NULL;
    if (journal_load(path, &d, err) != KV_OK)
        fail_msg("journal: %s", err);
    return d;
}

/* Adaptive stopping for runner_options.cell_done, as the CLI passes it. */
static inline bool runnertest_cell_done(void *ctx, const double *ttft_ms, size_t n,
                                        double target_rel_ci, long min_repetitions)
{
    (void)ctx;
    return stopping_cell_done(ttft_ms, n, target_rel_ci, min_repetitions);
}

/* The fake servers' tokenizer: a run of letters and digits is one token,
 * any other non-space byte is one. Appends the first max tokens' hashes to
 * out and counts all of them in *n. */
static inline void runnertest_scan(const char *s, uint64_t *out, size_t *n, size_t max)
{
    while (*s) {
        if (isspace((unsigned char)*s)) {
            s++;
            continue;
        }
        const char *st = s;
        if (isalnum((unsigned char)*s))
            while (*s && isalnum((unsigned char)*s))
                s++;
        else
            s++;
        if (*n < max)
            out[*n] = kv_hash64(st, (size_t)(s - st), 1);
        (*n)++;
    }
}

/* How many tokens runnertest_scan finds in s. */
static inline long runnertest_text_tokens(const char *s)
{
    size_t n = 0;
    runnertest_scan(s, NULL, &n, 0);
    return (long)n;
}

#endif
