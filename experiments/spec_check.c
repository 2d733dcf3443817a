/* spec_check.c - typed, positioned validation of a cJSON tree (see
 * spec_check.h). Divided into: error collection, navigation, type and range
 * checks, and the "did you mean" suggestions.
 */
#include "experiments/spec_check.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- error collection ---------------------------------------------------- */

void spec_check_ctx_clear(spec_check_ctx *c)
{
    for (size_t i = 0; i < c->n_errs; i++)
        free(c->errs[i].msg);
    free(c->errs);
    c->errs = NULL;
    c->n_errs = 0;
}

static void add_error(spec_check_ctx *c, size_t off, const char *path, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));
static void add_error(spec_check_ctx *c, size_t off, const char *path, const char *fmt, va_list ap)
{
    if (c->n_errs >= SPEC_CHECK_MAX_ERRORS)
        return;
    char body[KV_ERRLEN];
    vsnprintf(body, sizeof body, fmt, ap);
    int line, col;
    kv_line_col(c->text, off, &line, &col);
    kv_buf b = {0};
    if (kv_buf_appendf(&b, "%s:%d:%d: %s: %s", c->name, line, col, path, body) != KV_OK) {
        c->nomem = true;
        return;
    }
    spec_check_error *e = realloc(c->errs, (c->n_errs + 1) * sizeof *e);
    if (!e) {
        kv_buf_free(&b);
        c->nomem = true;
        return;
    }
    c->errs = e;
    c->errs[c->n_errs] = (spec_check_error){.off = off, .seq = c->n_errs, .msg = b.data};
    c->n_errs++;
}

void spec_check_error_off(spec_check_ctx *c, size_t off, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add_error(c, off, path, fmt, ap);
    va_end(ap);
}

void spec_check_error_at(spec_check_ctx *c, const spec_check_val *v, bool at_key, const char *fmt,
                         ...)
{
    size_t off = v->p->val_off;
    if (at_key && v->p->key_off != SIZE_MAX)
        off = v->p->key_off;
    va_list ap;
    va_start(ap, fmt);
    add_error(c, off, v->path, fmt, ap);
    va_end(ap);
}

static int cmp_error(const void *a, const void *b)
{
    const spec_check_error *x = a, *y = b;
    if (x->off != y->off)
        return x->off < y->off ? -1 : 1;
    return x->seq < y->seq ? -1 : (x->seq > y->seq);
}

size_t spec_check_sort(spec_check_ctx *c)
{
    if (c->n_errs > 1)
        qsort(c->errs, c->n_errs, sizeof c->errs[0], cmp_error);
    return c->n_errs;
}

/* ---- navigation ------------------------------------------------------------ */

spec_check_val spec_check_root(const cJSON *j, const spec_pnode *p)
{
    spec_check_val v = {.j = j, .p = p, .absent = j == NULL};
    snprintf(v.path, sizeof v.path, "$");
    return v;
}

spec_check_val spec_check_member(const spec_check_val *obj, const char *key)
{
    spec_check_val v = {.j = NULL, .p = obj->p, .absent = true};
    spec_pos_path_key(v.path, obj->path, key, strlen(key));
    if (!obj->j || !cJSON_IsObject(obj->j))
        return v;
    size_t i = 0;
    for (const cJSON *k = obj->j->child; k; k = k->next, i++) {
        if (k->string && strcmp(k->string, key) == 0 && i < obj->p->n_kids) {
            v.p = &obj->p->kids[i];
            if (cJSON_IsNull(k)) {
                v.is_null = true;
                return v;
            }
            v.j = k;
            v.absent = false;
            return v;
        }
    }
    return v;
}

void spec_check_each(spec_check_ctx *c, const spec_check_val *v,
                     void (*fn)(spec_check_ctx *c, const spec_check_val *e, size_t i, void *arg),
                     void *arg)
{
    for (size_t i = 0, n = spec_check_len(v); i < n; i++) {
        spec_check_val e = spec_check_elem(v, i);
        fn(c, &e, i, arg);
    }
}

void *spec_check_alloc(spec_check_ctx *c, size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (!p)
        c->nomem = true;
    return p;
}

spec_check_val spec_check_elem(const spec_check_val *arr, size_t i)
{
    spec_check_val v = {.j = NULL, .p = arr->p, .absent = true};
    spec_pos_path_index(v.path, arr->path, i);
    if (!arr->j || !cJSON_IsArray(arr->j) || i >= arr->p->n_kids)
        return v;
    const cJSON *k = arr->j->child;
    for (size_t n = 0; k && n < i; n++)
        k = k->next;
    if (!k)
        return v;
    v.j = k;
    v.p = &arr->p->kids[i];
    v.absent = false;
    return v;
}

size_t spec_check_len(const spec_check_val *v)
{
    if (!v->j || !(cJSON_IsArray(v->j) || cJSON_IsObject(v->j)))
        return 0;
    return (size_t)cJSON_GetArraySize(v->j);
}

/* ---- type and range checks --------------------------------------------------- */

static const char *type_word(const cJSON *j)
{
    static const struct {
        cJSON_bool (*is)(const cJSON *);
        const char *word;
    } types[] = {{cJSON_IsString, "a string"}, {cJSON_IsNumber, "a number"},
                 {cJSON_IsBool, "a boolean"},  {cJSON_IsNull, "null"},
                 {cJSON_IsArray, "an array"},  {cJSON_IsObject, "an object"}};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (types[i].is(j))
            return types[i].word;
    return "an unknown value";
}

size_t spec_check_join(char *dst, size_t cap, size_t used, size_t i, const char *item)
{
    int w = snprintf(dst + used, cap - used, "%s%s", i ? ", " : "", item);
    return w < 0 ? cap : used + (size_t)w;
}

static void keys_list(char *dst, size_t cap, const char *const *keys, size_t n)
{
    dst[0] = '\0';
    for (size_t i = 0, used = 0; i < n && used < cap; i++)
        used = spec_check_join(dst, cap, used, i, keys[i]);
}

bool spec_check_object(spec_check_ctx *c, const spec_check_val *v, const char *const *keys,
                       size_t n_keys)
{
    if (!v->j || !cJSON_IsObject(v->j)) {
        spec_check_error_at(c, v, false, "expected an object, got %s", type_word(v->j));
        return false;
    }
    size_t i = 0;
    for (const cJSON *k = v->j->child; k; k = k->next, i++) {
        if (i >= v->p->n_kids)
            break;
        spec_check_val m = {.j = k, .p = &v->p->kids[i]};
        spec_pos_path_key(m.path, v->path, k->string, strlen(k->string));
        bool known = false;
        for (size_t q = 0; q < n_keys && !known; q++)
            known = strcmp(keys[q], k->string) == 0;
        if (!known) {
            const char *s = spec_check_suggest(k->string, keys, n_keys);
            if (s) {
                spec_check_error_at(c, &m, true, "unknown key (did you mean \"%s\"?)", s);
            } else {
                char list[512];
                keys_list(list, sizeof list, keys, n_keys);
                spec_check_error_at(c, &m, true, "unknown key (known keys: %s)", list);
            }
            continue;
        }
        for (const cJSON *e = v->j->child; e != k; e = e->next) {
            if (strcmp(e->string, k->string) == 0) {
                spec_check_error_at(c, &m, true, "duplicate key");
                break;
            }
        }
    }
    return true;
}

bool spec_check_array(spec_check_ctx *c, const spec_check_val *v, bool nonempty)
{
    if (!v->j || !cJSON_IsArray(v->j)) {
        spec_check_error_at(c, v, false, "expected an array, got %s", type_word(v->j));
        return false;
    }
    if (nonempty && cJSON_GetArraySize(v->j) == 0) {
        spec_check_error_at(c, v, false, "must not be empty");
        return false;
    }
    return true;
}

bool spec_check_required(spec_check_ctx *c, const spec_check_val *v)
{
    if (v->is_null) {
        spec_check_error_at(c, v, false, "must not be null");
        return false;
    }
    if (v->absent) {
        spec_check_error_at(c, v, false, "missing required key");
        return false;
    }
    return true;
}

bool spec_check_string(spec_check_ctx *c, const spec_check_val *v, bool nonempty, char **out)
{
    *out = NULL;
    if (!cJSON_IsString(v->j) || !v->j->valuestring) {
        spec_check_error_at(c, v, false, "expected a string, got %s", type_word(v->j));
        return false;
    }
    if (nonempty && v->j->valuestring[0] == '\0') {
        spec_check_error_at(c, v, false, "must not be empty");
        return false;
    }
    *out = strdup(v->j->valuestring);
    if (!*out) {
        c->nomem = true;
        return false;
    }
    return true;
}

bool spec_check_double(spec_check_ctx *c, const spec_check_val *v, double lo, double hi,
                       bool lo_open, double *out)
{
    if (!cJSON_IsNumber(v->j)) {
        spec_check_error_at(c, v, false, "expected a number, got %s", type_word(v->j));
        return false;
    }
    double d = v->j->valuedouble;
    if (!isfinite(d)) {
        spec_check_error_at(c, v, false, "expected a finite number");
        return false;
    }
    if (lo_open ? !(d > lo) : !(d >= lo)) {
        spec_check_error_at(c, v, false, "must be %s %.15g (got %.15g)",
                            lo_open ? "greater than" : "at least", lo, d);
        return false;
    }
    if (d > hi) {
        spec_check_error_at(c, v, false, "must be at most %.15g (got %.15g)", hi, d);
        return false;
    }
    *out = d;
    return true;
}

bool spec_check_long(spec_check_ctx *c, const spec_check_val *v, long lo, long hi, long *out)
{
    if (!cJSON_IsNumber(v->j)) {
        spec_check_error_at(c, v, false, "expected an integer, got %s", type_word(v->j));
        return false;
    }
    double d = v->j->valuedouble;
    if (!isfinite(d) || d != floor(d)) {
        spec_check_error_at(c, v, false, "expected an integer, got %.15g", d);
        return false;
    }
    if (d < (double)lo) {
        spec_check_error_at(c, v, false, "must be at least %ld (got %.15g)", lo, d);
        return false;
    }
    if (d > (double)hi) {
        spec_check_error_at(c, v, false, "must be at most %ld (got %.15g)", hi, d);
        return false;
    }
    *out = (long)d;
    return true;
}

int spec_check_enum(spec_check_ctx *c, const spec_check_val *v, const char *const *names, size_t n)
{
    if (!cJSON_IsString(v->j) || !v->j->valuestring) {
        spec_check_error_at(c, v, false, "expected a string, got %s", type_word(v->j));
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], v->j->valuestring) == 0)
            return (int)i;
    char list[512];
    size_t used = 0;
    list[0] = '\0';
    for (size_t i = 0; i < n && used < sizeof list; i++) {
        int w = snprintf(list + used, sizeof list - used, "%s\"%s\"", i ? ", " : "", names[i]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
    const char *s = spec_check_suggest(v->j->valuestring, names, n);
    if (s)
        spec_check_error_at(c, v, false, "expected one of %s (did you mean \"%s\"?)", list, s);
    else
        spec_check_error_at(c, v, false, "expected one of %s", list);
    return -1;
}

bool spec_check_long_list(spec_check_ctx *c, const spec_check_val *v, long lo, long hi, long **out,
                          size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!spec_check_array(c, v, true))
        return false;
    size_t len = spec_check_len(v);
    long *vals = spec_check_alloc(c, len, sizeof *vals);
    if (!vals)
        return false;
    bool ok = true;
    for (size_t i = 0; i < len; i++) {
        spec_check_val e = spec_check_elem(v, i);
        if (!spec_check_long(c, &e, lo, hi, &vals[i])) {
            ok = false;
            continue;
        }
        for (size_t k = 0; k < i; k++) {
            if (vals[k] == vals[i]) {
                spec_check_error_at(c, &e, false, "duplicate value %ld", vals[i]);
                ok = false;
                break;
            }
        }
    }
    if (!ok) {
        free(vals);
        return false;
    }
    *out = vals;
    *n = len;
    return true;
}

/* ---- suggestions ------------------------------------------------------------ */

size_t spec_check_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return SIZE_MAX;
    size_t d[65][65];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            int ca = tolower((unsigned char)a[i - 1]), cb = tolower((unsigned char)b[j - 1]);
            size_t cost = ca == cb ? 0 : 1;
            size_t best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < best)
                best = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
                tolower((unsigned char)a[i - 2]) == cb && d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    }
    return d[la][lb];
}

static bool is_prefix_ci(const char *p, const char *s)
{
    size_t n = strlen(p);
    return n >= 3 && strlen(s) > n && strncasecmp(p, s, n) == 0;
}

static size_t common_prefix_ci(const char *a, const char *b)
{
    size_t n = 0;
    while (a[n] && b[n] && tolower((unsigned char)a[n]) == tolower((unsigned char)b[n]))
        n++;
    return n;
}

const char *spec_check_suggest(const char *word, const char *const *cands, size_t n)
{
    const char *best = NULL;
    size_t best_d = SIZE_MAX, best_p = 0;
    for (size_t i = 0; i < n; i++) {
        size_t d = spec_check_edit_distance(word, cands[i]);
        size_t limit = strlen(cands[i]) / 3;
        if (limit < 2)
            limit = 2;
        bool close = d <= limit || is_prefix_ci(word, cands[i]) || is_prefix_ci(cands[i], word);
        size_t p = common_prefix_ci(word, cands[i]);
        /* Closest first; on a tie the longer shared prefix ("api_key" -> "api_key_env"). */
        if (close && (d < best_d || (d == best_d && p > best_p))) {
            best = cands[i];
            best_d = d;
            best_p = p;
        }
    }
    return best;
}
