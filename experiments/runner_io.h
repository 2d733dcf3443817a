/* runner_io.h - the network, as the runner uses it: a table of calls (the
 * real client, net/client.h, by default; tests pass a fake) and the GET
 * /slots call. Part of runner.h's interface, in its own header so that the
 * runner's internal state (runner_state.h) can hold one without including
 * runner.h.
 */
#ifndef KV_RUNNER_IO_H
#define KV_RUNNER_IO_H

#include "common/status.h"
#include "experiments/spec.h"
#include "experiments/trial.h"
#include "net/client_request.h"

/* The network, as the runner uses it. With concurrency > 1, send, tokenize
 * and reset_cache are called from several threads: each worker calls them
 * with the context worker_new made for it, and prompt synthesis (serialised)
 * with ctx. Without worker_new every thread shares ctx and the three calls
 * must be thread-safe. */
typedef struct runner_io {
    void *ctx;
    kv_status (*send)(void *ctx, const client_request *rq, trial_request *out, char **reply,
                      char *err);
    /* KV_ERR_UNSUPPORTED when the server has no tokenizer endpoint. */
    kv_status (*tokenize)(void *ctx, const spec_target *t, spec_api api, const char *text,
                          long *n_tokens, char *err);
    /* KV_ERR_UNSUPPORTED when the server cannot drop its cache. */
    kv_status (*reset_cache)(void *ctx, const spec_target *t, spec_api api, char *err);
    /* Optional (may be NULL): makes one worker's context from ctx; called on
     * the calling thread before any worker runs; worker_free releases it. */
    kv_status (*worker_new)(void *ctx, void **worker_ctx, char *err);
    void (*worker_free)(void *worker_ctx);
    /* Optional (may be NULL): the server's prompt token count for rq from a
     * non-streamed request, for calibration when streams carry no usage
     * (LM Studio); called on the calling thread only. */
    kv_status (*count)(void *ctx, const client_request *rq, long *prompt_tokens, char *err);
} runner_io;

/* The server's GET /slots reply (llama.cpp and the reference server) into
 * *body (malloc'd); KV_ERR_UNSUPPORTED when it serves none. Asked around
 * contention requests when they run one at a time. */
typedef kv_status (*runner_slots_fn)(void *io_ctx, const spec_target *t, char **body, char *err);

#endif
