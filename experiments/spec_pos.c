/* spec_pos.c - strict JSON scanner recording value offsets (see spec_pos.h).
 *
 * Divided into: path helpers, the lexical skips (whitespace, strings,
 * numbers, literals), the recursive value scanner, and the tree's lifetime.
 * The scanner accepts exactly RFC 8259 JSON (plus a leading UTF-8 BOM, as
 * cJSON does), so anything it accepts cJSON parses into the same shape.
 */
#include "experiments/spec_pos.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

void spec_pos_path_key(char *dst, const char *base, const char *key, size_t keylen)
{
    int ident = keylen > 0 && (isalpha((unsigned char)key[0]) || key[0] == '_');
    for (size_t i = 0; ident && i < keylen; i++)
        ident = isalnum((unsigned char)key[i]) || key[i] == '_' || key[i] == '-';
    if (ident)
        snprintf(dst, SPEC_PATH_LEN, "%s.%.*s", base, (int)keylen, key);
    else
        snprintf(dst, SPEC_PATH_LEN, "%s[\"%.*s\"]", base, (int)keylen, key);
}

void spec_pos_path_index(char *dst, const char *base, size_t i)
{
    snprintf(dst, SPEC_PATH_LEN, "%s[%zu]", base, i);
}

typedef struct scanner {
    const char *t;
    size_t n;
    size_t i;
    size_t err_off;
    char *path;
    char *msg;
    int depth;
} scanner;

static kv_status scan_fail(scanner *s, const char *path, const char *what)
{
    s->err_off = s->i;
    snprintf(s->path, SPEC_PATH_LEN, "%s", path);
    if (s->i >= s->n)
        snprintf(s->msg, KV_ERRLEN, "%s, found the end of the file", what);
    else if (isprint((unsigned char)s->t[s->i]))
        snprintf(s->msg, KV_ERRLEN, "%s, found '%c'", what, s->t[s->i]);
    else
        snprintf(s->msg, KV_ERRLEN, "%s, found byte 0x%02x", what, (unsigned char)s->t[s->i]);
    return KV_ERR_INPUT;
}

static void skip_ws(scanner *s)
{
    while (s->i < s->n &&
           (s->t[s->i] == ' ' || s->t[s->i] == '\t' || s->t[s->i] == '\n' || s->t[s->i] == '\r'))
        s->i++;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* At an opening quote; leaves s->i after the closing quote. */
static kv_status skip_string(scanner *s, const char *path)
{
    s->i++;
    while (s->i < s->n) {
        unsigned char c = (unsigned char)s->t[s->i];
        if (c == '"') {
            s->i++;
            return KV_OK;
        }
        if (c < 0x20)
            return scan_fail(s, path, "unterminated string or control character in string");
        if (c == '\\') {
            s->i++;
            if (s->i >= s->n)
                break;
            char e = s->t[s->i];
            if (e == 'u') {
                for (int k = 1; k <= 4; k++) {
                    if (s->i + (size_t)k >= s->n || hexval(s->t[s->i + (size_t)k]) < 0) {
                        s->i += (size_t)k;
                        return scan_fail(s, path, "expected 4 hex digits after \\u");
                    }
                }
                s->i += 5;
                continue;
            }
            if (!strchr("\"\\/bfnrt", e) || e == '\0')
                return scan_fail(s, path, "invalid escape in string");
        }
        s->i++;
    }
    return scan_fail(s, path, "unterminated string");
}

static int is_digit_at(const scanner *s)
{
    return s->i < s->n && s->t[s->i] >= '0' && s->t[s->i] <= '9';
}

static kv_status skip_number(scanner *s, const char *path)
{
    if (s->t[s->i] == '-')
        s->i++;
    if (!is_digit_at(s))
        return scan_fail(s, path, "expected a digit");
    if (s->t[s->i] == '0') {
        s->i++;
        if (is_digit_at(s))
            return scan_fail(s, path, "leading zeros are not allowed in numbers");
    } else {
        while (is_digit_at(s))
            s->i++;
    }
    if (s->i < s->n && s->t[s->i] == '.') {
        s->i++;
        if (!is_digit_at(s))
            return scan_fail(s, path, "expected a digit after the decimal point");
        while (is_digit_at(s))
            s->i++;
    }
    if (s->i < s->n && (s->t[s->i] == 'e' || s->t[s->i] == 'E')) {
        s->i++;
        if (s->i < s->n && (s->t[s->i] == '+' || s->t[s->i] == '-'))
            s->i++;
        if (!is_digit_at(s))
            return scan_fail(s, path, "expected a digit in the exponent");
        while (is_digit_at(s))
            s->i++;
    }
    return KV_OK;
}

static kv_status skip_literal(scanner *s, const char *path, const char *word)
{
    size_t k = strlen(word);
    if (s->n - s->i < k || memcmp(s->t + s->i, word, k) != 0)
        return scan_fail(s, path, "expected a value");
    s->i += k;
    return KV_OK;
}

static kv_status add_kid(spec_pnode *node, size_t *cap)
{
    if (kv_grow(&node->kids, cap, node->n_kids + 1, sizeof *node->kids, 4) != KV_OK)
        return KV_ERR_NOMEM;
    memset(&node->kids[node->n_kids], 0, sizeof node->kids[0]);
    node->kids[node->n_kids].key_off = SIZE_MAX;
    node->n_kids++;
    return KV_OK;
}

static kv_status scan_value(scanner *s, spec_pnode *node, const char *path);

/* An object member's "key": up to its value; sub receives the member's path. */
static kv_status scan_key(scanner *s, const char *path, char *sub, size_t *key_off)
{
    if (s->i >= s->n || s->t[s->i] != '"')
        return scan_fail(s, path, "expected a quoted key");
    *key_off = s->i;
    kv_status st = skip_string(s, path);
    if (st != KV_OK)
        return st;
    spec_pos_path_key(sub, path, s->t + *key_off + 1, s->i - *key_off - 2);
    skip_ws(s);
    if (s->i >= s->n || s->t[s->i] != ':')
        return scan_fail(s, sub, "expected ':' after the key");
    s->i++;
    skip_ws(s);
    return KV_OK;
}

/* An object (close '}') or an array (close ']'): its members or elements become node's kids. */
static kv_status scan_container(scanner *s, spec_pnode *node, const char *path, char close)
{
    size_t cap = 0;
    char sub[SPEC_PATH_LEN];
    s->i++;
    skip_ws(s);
    if (s->i < s->n && s->t[s->i] == close) {
        s->i++;
        return KV_OK;
    }
    for (;;) {
        skip_ws(s);
        size_t key_off = SIZE_MAX;
        kv_status st = close == '}' ? scan_key(s, path, sub, &key_off) : KV_OK;
        if (st != KV_OK)
            return st;
        if (add_kid(node, &cap) != KV_OK)
            return KV_ERR_NOMEM;
        spec_pnode *kid = &node->kids[node->n_kids - 1];
        kid->key_off = key_off;
        if (close == ']')
            spec_pos_path_index(sub, path, node->n_kids - 1);
        st = scan_value(s, kid, sub);
        if (st != KV_OK)
            return st;
        skip_ws(s);
        if (s->i < s->n && s->t[s->i] == ',') {
            s->i++;
            continue;
        }
        if (s->i < s->n && s->t[s->i] == close) {
            s->i++;
            return KV_OK;
        }
        return scan_fail(s, path,
                         close == '}' ? "expected ',' or '}' after a member"
                                      : "expected ',' or ']' after an element");
    }
}

static kv_status scan_value(scanner *s, spec_pnode *node, const char *path)
{
    node->val_off = s->i;
    if (s->i >= s->n)
        return scan_fail(s, path, "expected a value");
    kv_status st;
    switch (s->t[s->i]) {
    case '{':
    case '[':
        if (++s->depth > SPEC_POS_MAX_DEPTH)
            return scan_fail(s, path, "nesting too deep");
        st = scan_container(s, node, path, s->t[s->i] == '{' ? '}' : ']');
        s->depth--;
        return st;
    case '"':
        return skip_string(s, path);
    case 't':
        return skip_literal(s, path, "true");
    case 'f':
        return skip_literal(s, path, "false");
    case 'n':
        return skip_literal(s, path, "null");
    default:
        if (s->t[s->i] == '-' || (s->t[s->i] >= '0' && s->t[s->i] <= '9'))
            return skip_number(s, path);
        return scan_fail(s, path, "expected a value");
    }
}

static void pnode_clear(spec_pnode *n)
{
    for (size_t i = 0; i < n->n_kids; i++)
        pnode_clear(&n->kids[i]);
    free(n->kids);
    n->kids = NULL;
    n->n_kids = 0;
}

void spec_pos_free(spec_pnode *root)
{
    if (!root)
        return;
    pnode_clear(root);
    free(root);
}

kv_status spec_pos_scan(const char *text, size_t len, spec_pnode **out, size_t *err_off, char *path,
                        char *msg)
{
    *out = NULL;
    *err_off = 0;
    snprintf(path, SPEC_PATH_LEN, "$");
    msg[0] = '\0';
    scanner s = {.t = text, .n = len, .path = path, .msg = msg};
    spec_pnode *root = calloc(1, sizeof *root);
    if (!root)
        return KV_ERR_NOMEM;
    root->key_off = SIZE_MAX;
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        s.i = 3;
    skip_ws(&s);
    kv_status st = scan_value(&s, root, "$");
    if (st == KV_OK) {
        skip_ws(&s);
        if (s.i < s.n)
            st = scan_fail(&s, "$", "expected the end of the file after the top-level value");
    }
    if (st != KV_OK) {
        *err_off = s.err_off;
        if (st == KV_ERR_NOMEM)
            snprintf(msg, KV_ERRLEN, "out of memory");
        spec_pos_free(root);
        return st;
    }
    *out = root;
    return KV_OK;
}
