/* results_header.h - internal to stats/results*.c: the top of results.json
 * (format, provenance, method, environment, counts and failures).
 */
#ifndef KV_RESULTS_HEADER_H
#define KV_RESULTS_HEADER_H

#include "stats/jsonw.h"
#include "stats/results_ctx.h"

/* The header keys, written into the open top-level object. journal_path is
 * only recorded. */
void results_header_write(jsonw *w, const results_ctx *c, const char *journal_path);

#endif
