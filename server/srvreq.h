/* srvreq.h - the request context both HTTP servers (the reference server and
 * the replay server) keep per request: libmicrohttpd calls the access
 * handler once to start a request, then once per piece of its body, then
 * once more to answer it; srvreq_gather does the first two kinds.
 *
 * Ownership: the context lives in MHD's *con_cls from the first call until
 * srvreq_completed (the servers' MHD_OPTION_NOTIFY_COMPLETED) frees it.
 */
#ifndef KV_SRVREQ_H
#define KV_SRVREQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

#include "common/util.h"

typedef struct srvreq {
    kv_buf body;     /* the request body gathered so far */
    int64_t arrived; /* kv_now_ns() when srvreq_gather returned the whole body */
    bool too_big;    /* the body passed the server's limit: the rest was dropped */
} srvreq;

/* One access-handler call. Returns the context with its whole body when the
 * request is ready to answer; NULL otherwise, with *res what the handler
 * returns (MHD_YES after making the context or taking a piece of the body,
 * MHD_NO when out of memory). A body beyond max_body bytes sets too_big. */
srvreq *srvreq_gather(void **con_cls, const char *upload_data, size_t *upload_data_size,
                      size_t max_body, enum MHD_Result *res);
/* MHD_RequestCompletedCallback: frees the context. */
void srvreq_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe);

#endif
