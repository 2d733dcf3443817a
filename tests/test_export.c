/* test_export.c - 'kvproof export --format csv' (the built binary,
 * KVPROOF_BIN) on a journal written by the journal writer: sessions of
 * several turns, a failed trial, error text with commas, quotes and line
 * breaks, null times. Python's csv module must read exactly one row per
 * journaled turn, every row as wide as the header, the awkward text back
 * unchanged and null times as empty fields. */
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
#include <unistd.h>

#include "common/util.h"
#include "experiments/journal.h"
#include "tests/testutil.h"

#define N_TRIALS 5

static const char awkward[] = "refused, \"twice\"\nsecond line";

static void make_header(journal_header *h)
{
    tu_header(h, "export, \"test\"", "{\"name\":\"export\"}", N_TRIALS, 1);
    h->spec_hash = 0x0123456789abcdefULL;
    h->seed = 3;
    h->client_host = tu_strdup("host; cpu, with comma; Linux");
    h->targets[0].name = tu_strdup("local");
    h->targets[0].dialect = tu_strdup("llama.cpp");
}

/* Trial i has i + 1 turns; trial 2 failed on its last turn. */
static void make_trial(trial_record *t, size_t i)
{
    memset(t, 0, sizeof *t);
    t->plan_index = i;
    snprintf(t->id, sizeof t->id, "local/s0/q5/n%zu/cold/r0", i + 1);
    t->kind = PLAN_MEASURE;
    snprintf(t->target_name, sizeof t->target_name, "local");
    t->query_count = (long)i + 1;
    t->mode = SPEC_COLD;
    t->run_position = i;
    t->started_unix = 1735689600.5 + (double)i;
    t->ok = i != 2;
    snprintf(t->error, sizeof t->error, "%s", t->ok ? "" : awkward);
    t->n_turns = i + 1;
    t->turns = calloc(t->n_turns, sizeof *t->turns);
    assert_non_null(t->turns);
    for (size_t k = 0; k < t->n_turns; k++) {
        trial_request *q = &t->turns[k];
        q->turn = (int)k + 1;
        q->attempts = 1;
        q->ok = t->ok || k + 1 < t->n_turns;
        snprintf(q->error, sizeof q->error, "%s", q->ok ? "" : awkward);
        q->http_status = q->ok ? 200 : 500;
        q->prompt_tokens = 100 + (long)k;
        q->cached_tokens = -1;
        q->prefix_tokens = 0;
        q->output_tokens = 8;
        q->cache_state = TRIAL_CACHE_INFERRED;
        q->ttfb_ms = 1.5;
        q->ttft_ms = q->ok ? 12.25 + (double)k : NAN;
        q->first_content_ms = q->ttft_ms;
        q->last_token_ms = NAN;
        q->total_ms = 20.0 / 3.0;
        q->gap_median_ms = NAN;
        q->gap_p99_ms = NAN;
        q->server_prefill_ms = NAN;
        q->server_overhead_us = NAN;
        q->raw = k == 0 ? tu_strdup("{\"timings\":{\"prompt_n\":100,\"note\":\"a, b\"}}") : NULL;
    }
}

static void export_should_give_one_csv_row_per_journaled_turn(void **state)
{
    (void)state;
    char dir[64], path[128], csv[128], py[128], log[128], cmd[1024], err[KV_ERRLEN] = "";
    snprintf(dir, sizeof dir, "/tmp/kvproof-export-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/journal.jsonl", dir);
    journal_header h;
    make_header(&h);
    journal *j = NULL;
    assert_int_equal(journal_open(path, &h, false, NULL, &j, err), KV_OK);
    size_t turns = 0;
    for (size_t i = 0; i < N_TRIALS; i++) {
        trial_record t;
        make_trial(&t, i);
        turns += t.n_turns;
        assert_int_equal(journal_append(j, &t, err), KV_OK);
        trial_record_clear(&t);
    }
    journal_close(j);
    journal_header_clear(&h);

    snprintf(csv, sizeof csv, "%s/turns.csv", dir);
    snprintf(cmd, sizeof cmd, "'%s' export '%s' --format csv -o '%s'", tu_bin(), dir, csv);
    assert_int_equal(system(cmd), 0);

    /* Python's csv module: rows, widths, the awkward text, empty nulls. */
    snprintf(py, sizeof py, "%s/check.py", dir);
    FILE *f = fopen(py, "w");
    assert_non_null(f);
    fprintf(f, "import csv, sys\n"
               "rows = list(csv.reader(open(sys.argv[1], newline='')))\n"
               "head, body = rows[0], rows[1:]\n"
               "assert all(len(r) == len(head) for r in body), 'ragged rows'\n"
               "d = [dict(zip(head, r)) for r in body]\n"
               "bad = [x for x in d if x['ok'] == 'false']\n"
               "assert len(bad) == 1 and bad[0]['error'] == sys.argv[2], bad\n"
               "assert bad[0]['ttft_ms'] == '' and bad[0]['trial_error'] == sys.argv[2]\n"
               "assert d[0]['raw'] == '{\"timings\":{\"prompt_n\":100,\"note\":\"a, b\"}}'\n"
               "assert d[0]['client_host'] == 'host; cpu, with comma; Linux'\n"
               "assert float(d[0]['total_ms']) == 20.0 / 3.0\n"
               "print(len(body))\n");
    fclose(f);
    snprintf(log, sizeof log, "%s/rows.txt", dir);
    snprintf(cmd, sizeof cmd, "python3 '%s' '%s' '%s' > '%s' 2>&1", py, csv, awkward, log);
    int status = system(cmd);
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(kv_read_file(log, &text, &len, err), KV_OK);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("python3 csv check failed:\n%s", text);
    assert_int_equal(strtol(text, NULL, 10), (long)turns);
    free(text);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void export_should_refuse_formats_it_does_not_offer(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "'%s' export tests/fixtures/journals/good.jsonl --format xlsx "
             ">/dev/null 2>&1",
             tu_bin());
    int status = system(cmd);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 2);
    snprintf(cmd, sizeof cmd,
             "'%s' export tests/fixtures/journals/bad/missing_turns.jsonl "
             "--format csv >/dev/null 2>&1",
             tu_bin());
    status = system(cmd);
    assert_int_equal(WEXITSTATUS(status), 3);
}

TU_MAIN(NULL, NULL, cmocka_unit_test(export_should_give_one_csv_row_per_journaled_turn),
        cmocka_unit_test(export_should_refuse_formats_it_does_not_offer))
