/* jsonw.c - JSON text writer (jsonw.h). */
#include "stats/jsonw.h"

#include <math.h>
#include <stdio.h>

#include "common/utf8.h"

static void jw_put(jsonw *w, const char *s, size_t n)
{
    if (w->st == KV_OK)
        w->st = kv_buf_append(&w->b, s, n);
}

static void jw_sep(jsonw *w)
{
    if (w->comma)
        jw_put(w, ", ", 2);
    w->comma = true;
}

/* An object's or array's opening bracket; its first member needs no comma. */
static void jw_open(jsonw *w, const char *bracket)
{
    jw_sep(w);
    jw_put(w, bracket, 1);
    w->comma = false;
}

/* An object's or array's closing bracket; what follows needs a comma. */
static void jw_close(jsonw *w, const char *bracket)
{
    jw_put(w, bracket, 1);
    w->comma = true;
}

void jsonw_begin_obj(jsonw *w)
{
    jw_open(w, "{");
}

void jsonw_end_obj(jsonw *w)
{
    jw_close(w, "}");
}

void jsonw_begin_arr(jsonw *w)
{
    jw_open(w, "[");
}

void jsonw_end_arr(jsonw *w)
{
    jw_close(w, "]");
}

static void jw_string(jsonw *w, const char *s)
{
    jw_put(w, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            jw_put(w, esc, 2);
        } else if (c == '\n') {
            jw_put(w, "\\n", 2);
        } else if (c < 0x20) {
            int n = snprintf(esc, sizeof esc, "\\u%04x", c);
            jw_put(w, esc, (size_t)n);
        } else if (c >= 0x80) {
            /* Strict UTF-8 out whatever came in (a journal of an older
             * kvproof may hold a server's stray bytes): U+FFFD for those.
             * The terminating NUL ends any sequence, so 4 bytes is safe. */
            size_t k = kv_utf8_seq(s, 4, NULL);
            jw_put(w, k ? s : KV_UTF8_REPLACEMENT, k ? k : 3);
            s += (k ? k : kv_utf8_invalid_len(s, 4)) - 1;
        } else {
            jw_put(w, s, 1);
        }
    }
    jw_put(w, "\"", 1);
}

void jsonw_key(jsonw *w, const char *key)
{
    jw_sep(w);
    jw_string(w, key);
    jw_put(w, ": ", 2);
    w->comma = false;
}

void jsonw_num(jsonw *w, double v)
{
    jw_sep(w);
    if (!isfinite(v)) {
        jw_put(w, "null", 4);
        return;
    }
    char s[40];
    int n = snprintf(s, sizeof s, "%.17g", v);
    jw_put(w, s, (size_t)n);
}

void jsonw_int(jsonw *w, long long v)
{
    jw_sep(w);
    char s[32];
    int n = snprintf(s, sizeof s, "%lld", v);
    jw_put(w, s, (size_t)n);
}

void jsonw_bool(jsonw *w, bool v)
{
    jw_sep(w);
    jw_put(w, v ? "true" : "false", v ? 4 : 5);
}

void jsonw_str(jsonw *w, const char *s)
{
    jw_sep(w);
    if (!s)
        jw_put(w, "null", 4);
    else
        jw_string(w, s);
}

void jsonw_null(jsonw *w)
{
    jw_sep(w);
    jw_put(w, "null", 4);
}

void jsonw_pair(jsonw *w, double lo, double hi, bool present)
{
    if (!present || !isfinite(lo) || !isfinite(hi)) {
        jsonw_null(w);
        return;
    }
    jsonw_begin_arr(w);
    jsonw_num(w, lo);
    jsonw_num(w, hi);
    jsonw_end_arr(w);
}

/* ---- key then value ------------------------------------------------------ */

void jsonw_kstr(jsonw *w, const char *key, const char *v)
{
    jsonw_key(w, key);
    jsonw_str(w, v);
}

void jsonw_knum(jsonw *w, const char *key, double v)
{
    jsonw_key(w, key);
    jsonw_num(w, v);
}

void jsonw_kint(jsonw *w, const char *key, long long v)
{
    jsonw_key(w, key);
    jsonw_int(w, v);
}

void jsonw_kbool(jsonw *w, const char *key, bool v)
{
    jsonw_key(w, key);
    jsonw_bool(w, v);
}
