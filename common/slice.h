/* slice.h - asks the kernel to treat the calling thread as latency-sensitive:
 * a short EEVDF time slice (SCHED_OTHER with sched_attr.sched_runtime, Linux
 * 6.12 and later), so that a thread woken by a token chunk preempts the
 * thread running on its CPU sooner instead of waiting out that thread's slice.
 * A measuring client needs this: the chunk's receive stamp is taken when the
 * thread runs, and with the default slice it often waits for a busy thread on
 * the CPU it was woken on (on a 2-core VM with the server's threads beside
 * it, bench_client_overhead's median token chunk was seen 12.7-14.5 us after
 * the server's send with the default slice, 7.1-7.2 us with this one).
 *
 * The thread's policy, nice value and other attributes stay as they are; a
 * thread not under SCHED_OTHER (chrt, SCHED_BATCH, SCHED_IDLE) is left alone.
 * A kernel without the field accepts the call and ignores it: the slice is
 * read back to know. Nothing else changes: the slice bounds how long the
 * thread runs before others get the CPU, not how much CPU it gets. Threads
 * the caller starts afterwards inherit it (the runner asks once, before its
 * workers start).
 */
#ifndef KV_SLICE_H
#define KV_SLICE_H

#define SLICE_SHORT_NS 100000ULL /* 100 us: the shortest slice the kernel accepts */

#include <stdbool.h>
#include <stddef.h>

typedef enum slice_state {
    SLICE_SHORT,       /* the thread now has the short slice */
    SLICE_UNSUPPORTED, /* the kernel ignored or refused it: its default slice */
    SLICE_LEFT,        /* not a SCHED_OTHER thread: left as it is */
    SLICE_NOT_ASKED,   /* the caller did not ask (slice_worth_asking said no) */
} slice_state;

/* Whether n threads measuring at once should ask: not when they outnumber
 * the online CPUs. Then they wake one another, and short slices only add
 * preemptions: at 64 workers on 2 CPUs a run did 14% fewer trials/s. */
bool slice_worth_asking(size_t n_threads);
/* Requests the short slice for the calling thread; never fails the caller. */
slice_state slice_request_short(void);
/* "100 us scheduler slice", "kernel default slice", "scheduling policy left
 * as set", "kernel default slice (more measuring threads than CPUs)". */
const char *slice_state_text(slice_state s);

#endif
