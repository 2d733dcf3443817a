/* test_runner_streams.c - a thousand streams at once: the runner at
 * concurrency 1000 against the reference server (in this process, 1000
 * slots, a fixed 0.5 s prefill so the streams overlap) journals every trial
 * exactly once, in completion order, with hundreds of trials in flight at
 * once; and `kvproof run` at that concurrency, killed with SIGKILL twice
 * mid-run and resumed each time, ends with exactly the plan's trials. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "experiments/journal.h"
#include "experiments/plan.h"
#include "experiments/runner.h"
#include "experiments/spec.h"
#include "jsonlcheck.h"
#include "runnertest.h"
#include "server/refsrv.h"
#include "tests/testutil.h"

#define STREAMS 1000
#define PREFILL_MS 500.0

typedef tu_run_fixture fixture;

/* The reference server with STREAMS slots and a noise-free fixed prefill,
 * and a spec of 2 x reps trials (cold and warm) at concurrency STREAMS. */
static void fixture_up(fixture *fx, long reps)
{
    assert_true(kv_raise_fd_limit() > 2 * STREAMS + 64);
    refsrv_config cfg;
    tu_refsrv_config(&cfg, 1);
    cfg.slots = STREAMS;
    cfg.cost.a = PREFILL_MS;
    cfg.cost.b = cfg.cost.c = cfg.cost.d1 = 0;
    cfg.cost.d0 = 1;
    cfg.cost.cv = cfg.cost.stall_p = cfg.cost.idle_ms = cfg.cost.drift = 0;
    tu_run_fixture_up(fx, &cfg, "streams");
    tu_run_fixture_spec(fx,
                        "{\"name\": \"streams\", \"seed\": 3,"
                        " \"targets\": [{\"name\": \"ref\", \"base_url\": \"http://127.0.0.1:%d\","
                        " \"api\": \"llama.cpp\"}],"
                        " \"workload\": {\"system_prompt_tokens\": [32], \"query_tokens\": [5],"
                        " \"max_output_tokens\": 2},"
                        " \"cache_modes\": [\"cold\", \"warm\"], \"repetitions\": %ld,"
                        " \"warmup_requests\": 0, \"retries\": 1, \"concurrency\": %d}\n",
                        refsrv_port(fx->srv), reps, STREAMS);
    assert_int_equal(fx->s->concurrency, STREAMS);
}

/* The journal holds every planned trial exactly once, nothing torn, and the
 * run positions are 0 .. n-1 in file order. */
static journal_data *assert_exactly_the_plan(const fixture *fx)
{
    jsonlcheck_file(fx->journal_path);
    journal_data *d = tu_journal_of_plan(fx->journal_path, fx->p);
    for (size_t i = 0; i < d->n_trials; i++)
        assert_int_equal(d->trials[i].run_position, i);
    return d;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* A trial's span: [started_unix, started_unix + its requests' total time],
 * a lower bound of the real one (prompt synthesis and priming come on top). */
static double span_end(const trial_record *t)
{
    double span_s = 0;
    for (size_t k = 0; k < t->n_turns; k++)
        if (t->turns[k].total_ms > 0)
            span_s += t->turns[k].total_ms / 1e3;
    return t->started_unix + span_s;
}

/* Most trial spans that overlap at one moment (a sweep over sorted starts
 * and ends; an end at a start's time comes first). */
static size_t peak_in_flight(const journal_data *d)
{
    size_t n = d->n_trials, peak = 0, now = 0;
    double *st = malloc(n * sizeof *st), *en = malloc(n * sizeof *en);
    assert_non_null(st);
    assert_non_null(en);
    for (size_t i = 0; i < n; i++) {
        st[i] = d->trials[i].started_unix;
        en[i] = span_end(&d->trials[i]);
    }
    qsort(st, n, sizeof *st, cmp_double);
    qsort(en, n, sizeof *en, cmp_double);
    for (size_t i = 0, j = 0; i < n;) {
        if (j < n && en[j] <= st[i]) {
            now--;
            j++;
            continue;
        }
        now++;
        i++;
        if (now > peak)
            peak = now;
    }
    free(st);
    free(en);
    return peak;
}

static void runner_should_journal_every_trial_once_with_a_thousand_streams(void **state)
{
    (void)state;
    fixture fx;
    fixture_up(&fx, 750); /* 1500 trials: a wave of 1000, then 500 */
    runner_clear_stop();
    runner_options o;
    memset(&o, 0, sizeof o);
    o.out_dir = fx.out;
    o.simulated = true;
    runner_summary sum;
    char err[KV_ERRLEN] = "";
    kv_status st = runner_run(fx.s, &o, &sum, err);
    if (st != KV_OK)
        fail_msg("runner_run: %s", err);
    assert_int_equal(sum.ran, fx.p->n_trials);
    assert_int_equal(sum.failed, 0);
    journal_data *d = assert_exactly_the_plan(&fx);
    for (size_t i = 0; i < d->n_trials; i++)
        if (!d->trials[i].ok)
            fail_msg("trial %s failed: %s", d->trials[i].id, d->trials[i].error);
    size_t peak = peak_in_flight(d);
    if (getenv("KVPROOF_TEST_VERBOSE"))
        fprintf(stderr, "peak trials in flight: %zu of %d\n", peak, STREAMS);
    assert_true(peak >= STREAMS / 2);
    journal_data_free(d);
    tu_run_fixture_down(&fx);
}

/* Runs (or resumes) until the journal has `lines` lines, then SIGKILLs it. */
static void run_and_kill_at(const fixture *fx, size_t lines, bool resume)
{
    pid_t pid = tu_spawn_run(fx->spec_path, fx->out, resume, fx->log);
    for (int i = 0; i < 12000 && tu_count_lines(fx->journal_path) < lines; i++) {
        if (waitpid(pid, NULL, WNOHANG) == pid)
            fail_msg("kvproof run exited before %zu journal lines; see %s", lines, fx->log);
        tu_sleep_ms(5);
    }
    kill(pid, SIGKILL);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
}

static void
runner_should_resume_to_exactly_the_plan_after_kill_nines_at_a_thousand_streams(void **state)
{
    (void)state;
    fixture fx;
    fixture_up(&fx, 1000); /* 2000 trials */
    run_and_kill_at(&fx, 300, false);
    size_t first = tu_count_lines(fx.journal_path);
    run_and_kill_at(&fx, first + 600, true);
    pid_t pid = tu_spawn_run(fx.spec_path, fx.out, true, fx.log);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 1)
        fail_msg("kvproof run --resume exited %d; see %s", WEXITSTATUS(status), fx.log);
    journal_data *d = assert_exactly_the_plan(&fx);
    journal_data_free(d);
    tu_run_fixture_down(&fx);
}

TU_MAIN(NULL, NULL,
        cmocka_unit_test(runner_should_journal_every_trial_once_with_a_thousand_streams),
        cmocka_unit_test(
            runner_should_resume_to_exactly_the_plan_after_kill_nines_at_a_thousand_streams))
