/* jsonw.h - a tiny JSON text writer over kv_buf for results.json: sticky
 * error status (check once at the end), numbers at full precision (%.17g),
 * and never NaN or infinity (written as null).
 *
 * Ownership: the writer owns its buffer until jsonw_take hands it over.
 */
#ifndef KV_JSONW_H
#define KV_JSONW_H

#include <stdbool.h>
#include <stddef.h>

#include "common/status.h"
#include "common/util.h"

typedef struct jsonw {
    kv_buf b;
    kv_status st;
    bool comma; /* a value was written at this level: the next needs "," */
} jsonw;

void jsonw_begin_obj(jsonw *w);
void jsonw_end_obj(jsonw *w);
void jsonw_begin_arr(jsonw *w);
void jsonw_end_arr(jsonw *w);
void jsonw_key(jsonw *w, const char *key); /* the next value belongs to key */
void jsonw_num(jsonw *w, double v);        /* null when not finite */
void jsonw_int(jsonw *w, long long v);
void jsonw_bool(jsonw *w, bool v);
void jsonw_str(jsonw *w, const char *s); /* null when s is NULL */
void jsonw_null(jsonw *w);
/* [lo, hi] or null */
void jsonw_pair(jsonw *w, double lo, double hi, bool present);

/* Key then value: jsonw_key followed by the value's writer. */
void jsonw_kstr(jsonw *w, const char *key, const char *v);
void jsonw_knum(jsonw *w, const char *key, double v);
void jsonw_kint(jsonw *w, const char *key, long long v);
void jsonw_kbool(jsonw *w, const char *key, bool v);

#endif
