/* srvreq.c - a request's context across libmicrohttpd's calls (srvreq.h). */
#include "server/srvreq.h"

#include <stdlib.h>

srvreq *srvreq_gather(void **con_cls, const char *upload_data, size_t *upload_data_size,
                      size_t max_body, enum MHD_Result *res)
{
    srvreq *rq = *con_cls;
    *res = MHD_YES;
    if (!rq) {
        rq = calloc(1, sizeof *rq);
        if (!rq)
            *res = MHD_NO;
        *con_cls = rq;
        return NULL;
    }
    if (!*upload_data_size) {
        rq->arrived = kv_now_ns();
        return rq;
    }
    if (rq->body.len + *upload_data_size > max_body)
        rq->too_big = true;
    else if (kv_buf_append(&rq->body, upload_data, *upload_data_size) != KV_OK) {
        *res = MHD_NO;
        return NULL;
    }
    *upload_data_size = 0;
    return NULL;
}

void srvreq_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    srvreq *rq = *con_cls;
    if (!rq)
        return;
    kv_buf_free(&rq->body);
    free(rq);
    *con_cls = NULL;
}
