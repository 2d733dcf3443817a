/* spec_pos.h - where each JSON value sits in its text: a strict JSON syntax
 * scanner that builds a tree of byte offsets mirroring the cJSON tree of the
 * same text (same children in the same order), so a validator walking both
 * can report line:column for any value or key. Also reports syntax errors at
 * their offset together with the JSON path being read.
 *
 * Ownership: spec_pos_scan returns a tree released with spec_pos_free.
 * Internal to experiments/ (the spec loader).
 */
#ifndef KV_SPEC_POS_H
#define KV_SPEC_POS_H

#include <stddef.h>

#include "common/status.h"

#define SPEC_PATH_LEN 256
#define SPEC_POS_MAX_DEPTH 64

typedef struct spec_pnode {
    size_t key_off;          /* offset of the member's key quote; SIZE_MAX if none */
    size_t val_off;          /* offset of the value's first byte */
    struct spec_pnode *kids; /* object members or array elements, in text order */
    size_t n_kids;
} spec_pnode;

/* Scans text[0..len). On a syntax error returns KV_ERR_INPUT, sets *err_off
 * to the offending byte, writes the JSON path being read into path
 * (SPEC_PATH_LEN bytes) and the problem into msg (KV_ERRLEN bytes), e.g.
 * "$.workload" and "expected ',' or '}' after a member, found '\"'". */
kv_status spec_pos_scan(const char *text, size_t len, spec_pnode **out, size_t *err_off, char *path,
                        char *msg) KV_MUST_USE;
void spec_pos_free(spec_pnode *root);

/* Appends a member key to a JSON path: ".key" for identifier-like keys,
 * "[\"key\"]" otherwise (truncated to SPEC_PATH_LEN). */
void spec_pos_path_key(char *dst, const char *base, const char *key, size_t keylen);
/* Appends an array index: "[i]". */
void spec_pos_path_index(char *dst, const char *base, size_t i);

#endif
