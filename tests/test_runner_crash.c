/* test_runner_crash.c - 'kvproof run' as a process against the reference
 * server (in this process, ephemeral port, tiny time scale): killed with
 * SIGKILL at 10 random points of a 200-trial run, each followed by --resume,
 * the final journal holds exactly the plan's trials, each once, and no line is
 * corrupt; stopped with SIGINT, it exits 130 with an intact journal and a
 * resume hint, and --resume completes it. Both again with concurrency 4
 * against a server with 4 slots. */
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

#include "common/slice.h"
#include "common/util.h"
#include "experiments/journal.h"
#include "jsonlcheck.h"
#include "experiments/plan.h"
#include "experiments/spec.h"
#include "server/refsrv.h"
#include "tests/testutil.h"

static bool file_nonempty(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && sb.st_size > 0;
}

typedef tu_run_fixture fixture;

static void fixture_up(fixture *fx, long reps, long concurrency)
{
    refsrv_config cfg;
    tu_refsrv_config(&cfg, 0.01);
    cfg.slots = (int)concurrency;
    tu_run_fixture_up(fx, &cfg, "crash");
    /* 5 x 2 x 2 cells x reps repetitions. */
    tu_run_fixture_spec(fx,
                        "{\"name\": \"crash\", \"seed\": 11,"
                        " \"targets\": [{\"name\": \"ref\", \"base_url\": \"http://127.0.0.1:%d\","
                        " \"api\": \"llama.cpp\"}],"
                        " \"workload\": {\"system_prompt_tokens\": [0, 64, 256, 512, 1024],"
                        " \"query_tokens\": [5, 25], \"max_output_tokens\": 2},"
                        " \"cache_modes\": [\"cold\", \"warm\"], \"repetitions\": %ld,"
                        " \"warmup_requests\": 0, \"retries\": 1, \"concurrency\": %ld}\n",
                        refsrv_port(fx->srv), reps, concurrency);
}

/* The journal holds every planned trial exactly once, nothing torn. */
static void assert_exactly_the_plan(const fixture *fx)
{
    jsonlcheck_file(fx->journal_path);
    journal_data *d = tu_journal_of_plan(fx->journal_path, fx->p);
    for (size_t i = 0; i < d->n_trials; i++)
        assert_true(d->trials[i].ok);
    journal_data_free(d);
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

/* `n_kills` SIGKILLs at random points of a 20 x reps trial run, then a
 * --resume to the end. Each kill point is a random journal length (drawn
 * once, sorted) plus a random delay of up to 20 ms, so every kill lands while
 * the runner is mid-run: between trials, inside a request or inside a
 * journal write. */
static void kill_nines_then_resume(long concurrency, int n_kills, long reps)
{
    fixture fx;
    fixture_up(&fx, reps, concurrency);
    assert_int_equal(fx.p->n_trials, 20 * (size_t)reps);
    srand(12345);
    size_t points[16];
    assert_true(n_kills <= 16);
    for (int i = 0; i < n_kills; i++)
        points[i] = 2 + (size_t)rand() % (fx.p->n_trials - 4); /* header + trials */
    qsort(points, (size_t)n_kills, sizeof points[0], cmp_size);
    int kills = 0;
    for (int round = 0; round < n_kills; round++) {
        pid_t pid = tu_spawn_run(fx.spec_path, fx.out, file_nonempty(fx.journal_path), fx.log);
        /* Wait (bounded) until the journal reaches this round's kill point. */
        for (int i = 0; i < 6000 && tu_count_lines(fx.journal_path) < points[round]; i++) {
            if (waitpid(pid, NULL, WNOHANG) == pid)
                fail_msg("kvproof run exited before kill point %zu; see %s", points[round], fx.log);
            tu_sleep_ms(5);
        }
        tu_sleep_ms(rand() % 21);
        kill(pid, SIGKILL);
        bool killed = false;
        int code = tu_wait(pid, &killed);
        if (killed)
            kills++;
        else
            assert_true(code == 0 || code == 1); /* finished before the kill */
    }
    if (getenv("KVPROOF_TEST_VERBOSE"))
        fprintf(stderr, "concurrency %ld: %d of %d runs killed\n", concurrency, kills, n_kills);
    assert_int_equal(kills, n_kills);
    bool killed = false;
    int code = tu_wait(tu_spawn_run(fx.spec_path, fx.out, true, fx.log), &killed);
    assert_false(killed);
    assert_true(code == 0 || code == 1); /* 1 only if results.json could not be computed */
    assert_exactly_the_plan(&fx);
    tu_run_fixture_down(&fx);
}

static void sigint_then_resume(long concurrency)
{
    fixture fx;
    fixture_up(&fx, 5, concurrency);
    pid_t pid = tu_spawn_run(fx.spec_path, fx.out, false, fx.log);
    for (int i = 0; i < 2000 && tu_count_lines(fx.journal_path) < 6; i++)
        tu_sleep_ms(5);
    assert_true(tu_count_lines(fx.journal_path) >= 6);
    kill(pid, SIGINT);
    bool killed = false;
    assert_int_equal(tu_wait(pid, &killed), 130);
    assert_false(killed);
    char *log = tu_read(fx.log, NULL), err[KV_ERRLEN] = "";
    assert_non_null(strstr(log, "--resume"));
    free(log);
    journal_data *d = NULL;
    jsonlcheck_file(fx.journal_path);
    if (journal_load(fx.journal_path, &d, err) != KV_OK)
        fail_msg("%s", err);
    assert_int_equal(d->torn_lines, 0);
    assert_true(d->n_trials < fx.p->n_trials);
    const char *sched = d->header.client_host ? strrchr(d->header.client_host, ';') : NULL;
    assert_non_null(sched); /* the host text ends with how the measuring threads ran */
    bool known = false;
    for (int st = SLICE_SHORT; st <= SLICE_NOT_ASKED; st++)
        known = known || strcmp(sched + 2, slice_state_text((slice_state)st)) == 0;
    assert_true(known);
    journal_data_free(d);
    int code = tu_wait(tu_spawn_run(fx.spec_path, fx.out, true, fx.log), &killed);
    assert_true(code == 0 || code == 1);
    assert_exactly_the_plan(&fx);
    tu_run_fixture_down(&fx);
}

/* A crash case: trials in flight, SIGKILLs and repetitions per cell (the
 * SIGINT cases use only the first). */
typedef struct crash_case {
    long concurrency;
    int n_kills;
    long reps;
} crash_case;

static void kill_case(void **state)
{
    const crash_case *c = *state;
    kill_nines_then_resume(c->concurrency, c->n_kills, c->reps);
}

static void sigint_case(void **state)
{
    const crash_case *c = *state;
    sigint_then_resume(c->concurrency);
}

TU_MAIN(NULL, NULL,
        TU_CASE(runner_should_survive_ten_kill_nines_and_resume_to_exactly_the_plan, kill_case,
                crash_case, 1, 10, 10),
        TU_CASE(runner_should_exit_130_on_sigint_with_an_intact_resumable_journal, sigint_case,
                crash_case, 1, 0, 0),
        TU_CASE(runner_should_survive_kill_nines_with_four_trials_in_flight, kill_case, crash_case,
                4, 6, 40),
        TU_CASE(runner_should_exit_130_on_sigint_with_four_trials_in_flight, sigint_case,
                crash_case, 4, 0, 0))
