/* test_slice.c - the short scheduler slice (common/slice.h): what it changes
 * in the calling thread and what it leaves. Each case runs in a thread of its
 * own, so the test process keeps its scheduling. On a kernel without the
 * slice field the request reports SLICE_UNSUPPORTED and nothing changes. */
#define _GNU_SOURCE /* SCHED_BATCH */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/slice.h"

typedef struct seen {
    int policy_before, policy_after, nice_before, nice_after;
    slice_state first, second;
    unsigned long long runtime; /* sched_getattr's sched_runtime after */
    int batch;                  /* run the thread under SCHED_BATCH first */
} seen;

static unsigned long long runtime_now(void)
{
    struct {
        uint32_t size, policy;
        uint64_t flags;
        int32_t nice;
        uint32_t priority;
        uint64_t runtime, deadline, period;
    } a;
    memset(&a, 0, sizeof a);
    if (syscall(SYS_sched_getattr, 0, &a, (unsigned)sizeof a, 0U) != 0)
        return 0;
    return a.runtime;
}

static void *in_thread(void *arg)
{
    seen *s = arg;
    pid_t tid = (pid_t)syscall(SYS_gettid);
    if (s->batch) {
        struct sched_param p = {0};
        sched_setscheduler(0, SCHED_BATCH, &p);
    } else {
        setpriority(PRIO_PROCESS, (id_t)tid, 3); /* a nice value the request must keep */
    }
    s->policy_before = sched_getscheduler(0);
    s->nice_before = getpriority(PRIO_PROCESS, (id_t)tid);
    s->first = slice_request_short();
    s->second = slice_request_short();
    s->policy_after = sched_getscheduler(0);
    s->nice_after = getpriority(PRIO_PROCESS, (id_t)tid);
    s->runtime = runtime_now();
    return NULL;
}

static void run_thread(seen *s)
{
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, in_thread, s), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
}

static void normal_thread_should_get_the_short_slice_and_keep_its_nice_value(void **state)
{
    (void)state;
    seen s = {0};
    run_thread(&s);
    assert_int_equal(s.policy_before, SCHED_OTHER);
    assert_int_equal(s.policy_after, SCHED_OTHER);
    assert_int_equal(s.nice_before, 3);
    assert_int_equal(s.nice_after, 3);
    assert_true(s.first == SLICE_SHORT || s.first == SLICE_UNSUPPORTED);
    assert_int_equal(s.second, s.first); /* asking again changes nothing */
    if (s.first == SLICE_SHORT)
        assert_int_equal(s.runtime, SLICE_SHORT_NS);
    else
        assert_true(s.runtime != SLICE_SHORT_NS);
    print_message("this kernel: %s\n", slice_state_text(s.first));
}

static void *inherited(void *arg)
{
    *(unsigned long long *)arg = runtime_now();
    return NULL;
}

/* Asks, then starts a thread: that thread has the slice without asking. */
static void *ask_then_start(void *arg)
{
    seen *s = arg;
    s->first = slice_request_short();
    pthread_t t;
    if (pthread_create(&t, NULL, inherited, &s->runtime) == 0)
        pthread_join(t, NULL);
    return NULL;
}

static void threads_started_after_should_inherit_the_slice(void **state)
{
    (void)state;
    seen s = {0};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, ask_then_start, &s), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    if (s.first == SLICE_SHORT)
        assert_int_equal(s.runtime, SLICE_SHORT_NS);
    else
        assert_true(s.runtime != SLICE_SHORT_NS);
}

static void batch_thread_should_be_left_as_set(void **state)
{
    (void)state;
    seen s = {.batch = 1};
    run_thread(&s);
    assert_int_equal(s.policy_before, SCHED_BATCH);
    assert_int_equal(s.first, SLICE_LEFT);
    assert_int_equal(s.second, SLICE_LEFT);
    assert_int_equal(s.policy_after, SCHED_BATCH);
    assert_int_equal(s.nice_after, s.nice_before);
    assert_true(s.runtime != SLICE_SHORT_NS);
}

static void more_threads_than_cpus_should_not_ask(void **state)
{
    (void)state;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    assert_true(slice_worth_asking(1));
    assert_true(slice_worth_asking((size_t)ncpu));
    assert_false(slice_worth_asking((size_t)ncpu + 1));
    assert_false(slice_worth_asking(1024));
}

static void every_state_should_have_its_own_text(void **state)
{
    (void)state;
    assert_string_equal(slice_state_text(SLICE_NOT_ASKED),
                        "kernel default slice (more measuring threads than CPUs)");
    assert_string_equal(slice_state_text(SLICE_SHORT), "100 us scheduler slice");
    assert_string_equal(slice_state_text(SLICE_UNSUPPORTED), "kernel default slice");
    assert_string_equal(slice_state_text(SLICE_LEFT), "scheduling policy left as set");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(normal_thread_should_get_the_short_slice_and_keep_its_nice_value),
        cmocka_unit_test(threads_started_after_should_inherit_the_slice),
        cmocka_unit_test(batch_thread_should_be_left_as_set),
        cmocka_unit_test(more_threads_than_cpus_should_not_ask),
        cmocka_unit_test(every_state_should_have_its_own_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
