/* slice.c - the short scheduler slice for measuring threads (slice.h).
 *
 * glibc 2.36 has no sched_setattr wrapper, so the system calls are made
 * directly with the kernel's struct sched_attr (its first version, 48 bytes).
 */
#include "common/slice.h"

#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SLICE_RESET_ON_FORK 0x01ULL /* SCHED_FLAG_RESET_ON_FORK */

typedef struct slice_attr {
    uint32_t size, policy;
    uint64_t flags;
    int32_t nice;
    uint32_t priority;
    uint64_t runtime, deadline, period;
} slice_attr;

static int attr_get(slice_attr *a)
{
    memset(a, 0, sizeof *a);
    return (int)syscall(SYS_sched_getattr, 0, a, (unsigned)sizeof *a, 0U);
}

static int attr_set(slice_attr *a)
{
    a->size = sizeof *a;
    return (int)syscall(SYS_sched_setattr, 0, a, 0U);
}

bool slice_worth_asking(size_t n_threads)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    return ncpu < 1 || n_threads <= (size_t)ncpu;
}

slice_state slice_request_short(void)
{
    slice_attr a;
    if (attr_get(&a) != 0)
        return SLICE_UNSUPPORTED;
    if (a.policy != SCHED_OTHER)
        return SLICE_LEFT;
    if (a.runtime == SLICE_SHORT_NS)
        return SLICE_SHORT;
    a.runtime = SLICE_SHORT_NS; /* policy and nice as read: only the slice changes */
    a.deadline = a.period = 0;
    a.flags &= SLICE_RESET_ON_FORK; /* the utilisation-clamp flags need the longer struct */
    if (attr_set(&a) != 0 || attr_get(&a) != 0 || a.runtime != SLICE_SHORT_NS)
        return SLICE_UNSUPPORTED;
    return SLICE_SHORT;
}

const char *slice_state_text(slice_state s)
{
    switch (s) {
    case SLICE_SHORT:
        return "100 us scheduler slice";
    case SLICE_UNSUPPORTED:
        return "kernel default slice";
    case SLICE_NOT_ASKED:
        return "kernel default slice (more measuring threads than CPUs)";
    case SLICE_LEFT:
        break;
    }
    return "scheduling policy left as set";
}
