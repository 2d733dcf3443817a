/* spec_check.h - typed access to a cJSON tree with positioned error
 * messages: the building blocks of the spec validator. Each getter checks
 * one value's type and range, and on failure records
 * "<file>:<line>:<col>: <json path>: <message>" and returns false; the
 * validator keeps going so one run reports many errors. Errors are sorted by
 * position in the file when collected.
 *
 * Ownership: a spec_check_ctx owns its collected messages (spec_check_ctx_clear).
 * Internal to experiments/ (the spec loader).
 */
#ifndef KV_SPEC_CHECK_H
#define KV_SPEC_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "common/util.h"
#include "experiments/spec_pos.h"

#define SPEC_CHECK_MAX_ERRORS 50

typedef struct spec_check_error {
    size_t off; /* byte offset the message points at */
    size_t seq; /* order of discovery, to keep sorting stable */
    char *msg;  /* full message line */
} spec_check_error;

typedef struct spec_check_ctx {
    const char *name; /* file label for messages */
    const char *text;
    spec_check_error *errs;
    size_t n_errs;
    bool nomem;
} spec_check_ctx;

/* One value under validation: its cJSON node (NULL when absent), its
 * positions and its path. For an absent member, p is its parent's node. */
typedef struct spec_check_val {
    const cJSON *j;
    const spec_pnode *p;
    bool absent;  /* missing, or JSON null (optional values may be written as null) */
    bool is_null; /* present as null */
    char path[SPEC_PATH_LEN];
} spec_check_val;

void spec_check_ctx_clear(spec_check_ctx *c);
/* Records an error at the value's first byte (at_key: at its key). */
void spec_check_error_at(spec_check_ctx *c, const spec_check_val *v, bool at_key, const char *fmt,
                         ...) __attribute__((format(printf, 4, 5)));
void spec_check_error_off(spec_check_ctx *c, size_t off, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Sorts the messages by position; returns the number. */
size_t spec_check_sort(spec_check_ctx *c);

spec_check_val spec_check_root(const cJSON *j, const spec_pnode *p);
/* Member `key` of an object value (absent if missing, null, or v is no
 * object). */
spec_check_val spec_check_member(const spec_check_val *obj, const char *key);
/* Element i of an array value. */
spec_check_val spec_check_elem(const spec_check_val *arr, size_t i);
size_t spec_check_len(const spec_check_val *v);
/* Calls fn(c, &element, i, arg) for each element i of the array v, in order. */
void spec_check_each(spec_check_ctx *c, const spec_check_val *v,
                     void (*fn)(spec_check_ctx *c, const spec_check_val *e, size_t i, void *arg),
                     void *arg);
/* calloc(n, size) for a list the spec will hold; NULL (c->nomem set) when
 * out of memory. */
void *spec_check_alloc(spec_check_ctx *c, size_t n, size_t size);

/* Each reports "unknown key" (with the closest of `keys` suggested) and
 * duplicate keys; false when v is not an object (error recorded). */
bool spec_check_object(spec_check_ctx *c, const spec_check_val *v, const char *const *keys,
                       size_t n_keys);
bool spec_check_array(spec_check_ctx *c, const spec_check_val *v, bool nonempty);
/* Records "missing required key" (or "must not be null") when absent; false
 * then. */
bool spec_check_required(spec_check_ctx *c, const spec_check_val *v);
/* Strings: *out is a malloc'd copy (NULL when absent). */
bool spec_check_string(spec_check_ctx *c, const spec_check_val *v, bool nonempty, char **out);
bool spec_check_long(spec_check_ctx *c, const spec_check_val *v, long lo, long hi, long *out);
bool spec_check_double(spec_check_ctx *c, const spec_check_val *v, double lo, double hi,
                       bool lo_open, double *out);
/* Appends item to the list in dst[0..cap) after ", " unless it is the
 * first (i == 0); returns the new length (>= cap when dst is full). */
size_t spec_check_join(char *dst, size_t cap, size_t used, size_t i, const char *item);
/* Index into names, or -1 after recording an error. */
int spec_check_enum(spec_check_ctx *c, const spec_check_val *v, const char *const *names, size_t n);
/* A list of distinct integers in [lo, hi]; *out malloc'd. */
bool spec_check_long_list(spec_check_ctx *c, const spec_check_val *v, long lo, long hi, long **out,
                          size_t *n);

/* Case-insensitive optimal-string-alignment distance. */
size_t spec_check_edit_distance(const char *a, const char *b);
/* The closest candidate worth suggesting, or NULL. */
const char *spec_check_suggest(const char *word, const char *const *cands, size_t n);

#endif
