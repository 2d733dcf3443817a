/* srvgen.h - internals shared by refsrv.c and srvgen.c: the server state and
 * one generation request (parse, queue for a slot, timed prefill and decode,
 * prefix cache, ground truth).
 *
 * A srvgen is driven by srvgen_step(), which sleeps until the next event's
 * deadline and appends the event's bytes; the caller writes them. Ownership:
 * srvgen_parse allocates, srvgen_free releases (and gives back the slot and
 * records the truth if the reply was abandoned); srvgen_free(NULL) no-op.
 */
#ifndef KV_SRVGEN_H
#define KV_SRVGEN_H

#include <pthread.h>
#include <stdatomic.h>

#include "common/util.h"
#include "server/pcache.h"
#include "server/refsrv_config.h"
#include "server/srvfmt.h"
#include "server/srvslot.h"
#include "server/srvtok.h"

struct refsrv {
    refsrv_config cfg; /* strings point at host/model below */
    char *host;
    char *model;
    struct MHD_Daemon *daemon;
    int port;
    pthread_mutex_t mu; /* guards everything below */
    pthread_cond_t slot_cv;
    int slots_free;
    int waiting; /* requests queued for a slot */
    pcache *cache;
    srvslot_table tab; /* what each slot holds; the slot mode's cache */
    uint64_t rng;
    long seq; /* requests admitted */
    long finished;
    int64_t started_ns;    /* CLOCK_MONOTONIC at start: the drift's time origin */
    int64_t last_admit_ns; /* the previous admission (0 = none): idle gaps */
    refsrv_truth last;
    atomic_bool stopping;
};

typedef struct srvgen srvgen;

typedef enum srvgen_result { SRVGEN_MORE, SRVGEN_DONE, SRVGEN_ABORT } srvgen_result;

/* Parses a request body for api; on bad input returns KV_ERR_INPUT with the
 * reason in err (an HTTP 400). */
kv_status srvgen_parse(refsrv *s, srvfmt_api api, const char *body, int64_t arrived_ns,
                       srvgen **out, char *err) KV_MUST_USE;
bool srvgen_stream(const srvgen *g);
const srvfmt_reply *srvgen_reply(const srvgen *g);
void srvgen_set_fault(srvgen *g, int fault);
/* Appends the next event(s) (stream) or nothing (non-stream) to out. */
srvgen_result srvgen_step(srvgen *g, kv_buf *out);
/* Runs a non-streamed request to its end and appends the body to out. */
kv_status srvgen_run_full(srvgen *g, size_t hugeline, kv_buf *out) KV_MUST_USE;
void srvgen_free(srvgen *g);

/* Sleeps until deadline, waking early when the server stops; false then. */
bool srvgen_sleep_until(refsrv *s, int64_t deadline_ns);
/* Uniform in (0,1) from the server's seeded generator (locks). */
double srvgen_uniform(refsrv *s);

#endif
