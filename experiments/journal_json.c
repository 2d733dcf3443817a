/* journal_json.c - one journal line <-> JSON (docs/journal.md).
 *
 * Divided into: name tables, encoding (header, trial), a small validating
 * decoder (typed getters that name the offending field), and decoding
 * (header, trial). cJSON stays inside this file and journal.c.
 */
#include "experiments/journal.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/utf8.h"
#include "experiments/jsonadd.h"

#define JJ_FORMAT "kvproof-journal"
#define JJ_VERSION 1
#define JJ_MAX_PLANNED 100000000        /* bounds the per-trial bitmaps readers allocate */
#define JJ_MAX_EXACT 9007199254740992.0 /* 2^53: larger integers lose digits in a double */
#define JJ_MAX_UNIX 253402300799.0      /* 9999-12-31T23:59:59Z: the last time ISO 8601 writes */

static const char *const jj_kinds[] = {"warmup", "measure", "contention"}; /* plan_kind */
static const char *const jj_modes[] = {"cold", "warm", "unknown"};         /* spec_cache_mode */
static const char *const jj_cache_states[] = {"unknown", "verified", "inferred", "contaminated"};

/* ---- encoding ---------------------------------------------------------- */

/* Embeds JSON text as a value when it is an object or array, else as a
 * string; NULL becomes null. */
static cJSON *jj_embed(const char *text)
{
    if (!text)
        return cJSON_CreateNull();
    cJSON *v = cJSON_Parse(text);
    if (v && (cJSON_IsObject(v) || cJSON_IsArray(v)))
        return v;
    cJSON_Delete(v);
    return cJSON_CreateString(text);
}

static cJSON *jj_string_or_null(const char *s)
{
    return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

/* Serialises `o` into `out` and deletes it. The line is strict UTF-8 (any
 * JSON reader loads it): bytes that are not, which can only sit inside
 * strings, become U+FFFD. */
static kv_status jj_emit(cJSON *o, bool built, kv_buf *out, char *err)
{
    char *text = built ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (!text)
        return kv_fail(err, KV_ERR_NOMEM, "out of memory while writing a journal line");
    size_t n = strlen(text);
    kv_status st =
        kv_utf8_valid(text, n) ? kv_buf_append(out, text, n) : kv_utf8_repair(out, text, n);
    cJSON_free(text);
    if (st != KV_OK)
        return kv_fail(err, st, "out of memory while writing a journal line");
    return KV_OK;
}

/* cJSON_Add*ToObject return NULL on failure; `ok` collects that. */
#define JJ_ADD(ok, expr)                                                                           \
    do {                                                                                           \
        if (!(expr))                                                                               \
            (ok) = false;                                                                          \
    } while (0)

static bool jj_add_value(cJSON *o, const char *name, cJSON *v)
{
    if (!v)
        return false;
    if (!cJSON_AddItemToObject(o, name, v)) {
        cJSON_Delete(v);
        return false;
    }
    return true;
}

/* Numbers are formatted here, not by cJSON: its printer accepts 15 digits
 * when they are merely close, which loses the last bits of a double and
 * the exactness of integers above 2^49. A double gets the fewest digits
 * (15 to 17) that read back bit for bit; NaN and infinities become null. */
static bool jj_add_num(cJSON *o, const char *name, double v)
{
    if (!isfinite(v))
        return cJSON_AddNullToObject(o, name) != NULL;
    char buf[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    return cJSON_AddRawToObject(o, name, buf) != NULL;
}

/* "imported": null, or {"format", "files": [{"path", "sha256"}]}. */
static cJSON *jj_imported(const journal_header *h)
{
    if (!h->import_format)
        return cJSON_CreateNull();
    cJSON *o = cJSON_CreateObject();
    bool ok = o != NULL;
    JJ_ADD(ok, cJSON_AddStringToObject(o, "format", h->import_format));
    cJSON *files = cJSON_AddArrayToObject(o, "files");
    JJ_ADD(ok, files);
    for (size_t i = 0; ok && i < h->n_import_files; i++) {
        cJSON *f = jsonadd_object(files);
        if (!f) {
            ok = false;
            break;
        }
        JJ_ADD(ok, jj_add_value(f, "path", jj_string_or_null(h->import_files[i].path)));
        JJ_ADD(ok, cJSON_AddStringToObject(f, "sha256", h->import_files[i].sha256));
    }
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

kv_status journal_header_to_json(const journal_header *h, kv_buf *out, char *err)
{
    if (!h->spec_json && !h->import_format)
        return kv_fail(err, KV_ERR_INTERNAL, "journal header without the spec JSON");
    cJSON *spec_obj = h->spec_json ? cJSON_Parse(h->spec_json) : cJSON_CreateNull();
    if (!spec_obj || (h->spec_json && !cJSON_IsObject(spec_obj))) {
        cJSON_Delete(spec_obj);
        return kv_fail(err, KV_ERR_INTERNAL, "the canonical spec is not a JSON object");
    }
    cJSON *o = cJSON_CreateObject();
    bool ok = o != NULL;
    char hash[17], created[32] = "";
    snprintf(hash, sizeof hash, "%016" PRIx64, h->spec_hash);
    time_t secs = (time_t)floor(h->created_unix);
    struct tm tm;
    if (gmtime_r(&secs, &tm))
        strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm);
    JJ_ADD(ok, cJSON_AddStringToObject(o, "type", "header"));
    JJ_ADD(ok, cJSON_AddStringToObject(o, "format", JJ_FORMAT));
    JJ_ADD(ok, jsonadd_int(o, "version", (long long)JJ_VERSION));
    JJ_ADD(ok, jj_add_value(o, "kvproof_version", jj_string_or_null(h->kvproof_version)));
    JJ_ADD(ok, jj_add_value(o, "spec_name", jj_string_or_null(h->spec_name)));
    JJ_ADD(ok, jj_add_value(o, "spec_path", jj_string_or_null(h->spec_path)));
    JJ_ADD(ok, cJSON_AddStringToObject(o, "spec_hash", hash));
    if (h->seed <= (UINT64_C(1) << 53)) {
        JJ_ADD(ok, jsonadd_int(o, "seed", (long long)h->seed));
    } else {
        char seed[24];
        snprintf(seed, sizeof seed, "%" PRIu64, h->seed);
        JJ_ADD(ok, cJSON_AddStringToObject(o, "seed", seed));
    }
    JJ_ADD(ok, jsonadd_int(o, "planned_trials", (long long)h->planned_trials));
    JJ_ADD(ok, cJSON_AddStringToObject(o, "created", created));
    JJ_ADD(ok, jj_add_num(o, "created_unix", h->created_unix));
    JJ_ADD(ok, jj_add_value(o, "client_host", jj_string_or_null(h->client_host)));
    cJSON *targets = cJSON_AddArrayToObject(o, "targets");
    JJ_ADD(ok, targets);
    for (size_t i = 0; ok && i < h->n_targets; i++) {
        const journal_target_meta *m = &h->targets[i];
        cJSON *t = jsonadd_object(targets);
        if (!t) {
            ok = false;
            break;
        }
        JJ_ADD(ok, jj_add_value(t, "name", jj_string_or_null(m->name)));
        JJ_ADD(ok, jj_add_value(t, "base_url", jj_string_or_null(m->base_url)));
        JJ_ADD(ok, jj_add_value(t, "dialect", jj_string_or_null(m->dialect)));
        JJ_ADD(ok, jj_add_value(t, "model", jj_string_or_null(m->model)));
        JJ_ADD(ok, jj_add_value(t, "server_version", jj_string_or_null(m->server_version)));
        JJ_ADD(ok, jj_add_value(t, "props", jj_embed(m->props)));
        JJ_ADD(ok, cJSON_AddBoolToObject(t, "simulated", m->simulated));
        if (m->cold_method)
            JJ_ADD(ok, jj_add_value(t, "cold_method", jj_string_or_null(m->cold_method)));
    }
    JJ_ADD(ok, jj_add_value(o, "imported", jj_imported(h)));
    if (ok && cJSON_AddItemToObject(o, "spec", spec_obj))
        spec_obj = NULL; /* owned by o now */
    else
        ok = false;
    cJSON_Delete(spec_obj);
    return jj_emit(o, ok, out, err);
}

static bool jj_add_turn(cJSON *turns, const trial_request *r)
{
    cJSON *o = jsonadd_object(turns);
    if (!o)
        return false;
    bool ok = true;
    unsigned cs = (unsigned)r->cache_state;
    JJ_ADD(ok, jsonadd_int(o, "turn", (long long)r->turn));
    JJ_ADD(ok, jsonadd_int(o, "attempts", (long long)r->attempts));
    JJ_ADD(ok, cJSON_AddBoolToObject(o, "ok", r->ok));
    JJ_ADD(ok, cJSON_AddStringToObject(o, "error", r->error));
    JJ_ADD(ok, jsonadd_int(o, "http_status", (long long)r->http_status));
    JJ_ADD(ok, jsonadd_int(o, "prompt_tokens", (long long)r->prompt_tokens));
    JJ_ADD(ok, jsonadd_int(o, "cached_tokens", (long long)r->cached_tokens));
    JJ_ADD(ok, jsonadd_int(o, "prefix_tokens", (long long)r->prefix_tokens));
    JJ_ADD(ok, jsonadd_int(o, "output_tokens", (long long)r->output_tokens));
    JJ_ADD(ok, cJSON_AddStringToObject(o, "cache_state", cs < 4 ? jj_cache_states[cs] : "unknown"));
    JJ_ADD(ok, jj_add_num(o, "ttfb_ms", r->ttfb_ms));
    JJ_ADD(ok, jj_add_num(o, "ttft_ms", r->ttft_ms));
    JJ_ADD(ok, jj_add_num(o, "first_content_ms", r->first_content_ms));
    JJ_ADD(ok, jj_add_num(o, "last_token_ms", r->last_token_ms));
    JJ_ADD(ok, jj_add_num(o, "total_ms", r->total_ms));
    JJ_ADD(ok, jj_add_num(o, "gap_median_ms", r->gap_median_ms));
    JJ_ADD(ok, jj_add_num(o, "gap_p99_ms", r->gap_p99_ms));
    JJ_ADD(ok, jj_add_num(o, "server_prefill_ms", r->server_prefill_ms));
    JJ_ADD(ok, jj_add_num(o, "server_overhead_us", r->server_overhead_us));
    JJ_ADD(ok, jj_add_value(o, "raw", jj_embed(r->raw)));
    if (r->in_contention) {
        JJ_ADD(ok, jsonadd_int(o, "agent", (long long)r->agent));
        JJ_ADD(ok, jsonadd_int(o, "agent_position", (long long)r->agent_position));
        JJ_ADD(ok, cJSON_AddStringToObject(o, "slot_held", trial_slot_held_name(r->slot_held)));
        JJ_ADD(ok, cJSON_AddStringToObject(o, "hit", trial_hit_name(r->hit)));
        if (r->after_resume)
            JJ_ADD(ok, cJSON_AddBoolToObject(o, "after_resume", true));
    }
    return ok;
}

kv_status journal_trial_to_json(const trial_record *t, kv_buf *out, char *err)
{
    cJSON *o = cJSON_CreateObject();
    bool ok = o != NULL;
    JJ_ADD(ok, cJSON_AddStringToObject(o, "type", "trial"));
    JJ_ADD(ok, jsonadd_int(o, "plan_index", (long long)t->plan_index));
    JJ_ADD(ok, cJSON_AddStringToObject(o, "id", t->id));
    JJ_ADD(ok, cJSON_AddStringToObject(o, "kind",
                                       (unsigned)t->kind < 3 ? jj_kinds[t->kind] : "measure"));
    JJ_ADD(ok, jsonadd_int(o, "target", (long long)t->target));
    JJ_ADD(ok, cJSON_AddStringToObject(o, "target_name", t->target_name));
    JJ_ADD(ok, jsonadd_int(o, "cell", (long long)t->cell));
    JJ_ADD(ok, jsonadd_int(o, "system_prompt_tokens", (long long)t->system_prompt_tokens));
    JJ_ADD(ok, jsonadd_int(o, "query_tokens", (long long)t->query_tokens));
    JJ_ADD(ok, jsonadd_int(o, "query_count", (long long)t->query_count));
    JJ_ADD(ok,
           cJSON_AddStringToObject(o, "mode", (unsigned)t->mode < 3 ? jj_modes[t->mode] : "cold"));
    JJ_ADD(ok, jsonadd_int(o, "repetition", (long long)t->repetition));
    JJ_ADD(ok, jsonadd_int(o, "run_position", (long long)t->run_position));
    JJ_ADD(ok, jj_add_num(o, "started_unix", t->started_unix));
    JJ_ADD(ok, cJSON_AddBoolToObject(o, "ok", t->ok));
    JJ_ADD(ok, cJSON_AddStringToObject(o, "error", t->error));
    JJ_ADD(ok, cJSON_AddBoolToObject(o, "contaminated", t->contaminated));
    cJSON *turns = cJSON_AddArrayToObject(o, "turns");
    JJ_ADD(ok, turns);
    for (size_t i = 0; ok && i < t->n_turns; i++)
        ok = jj_add_turn(turns, &t->turns[i]);
    return jj_emit(o, ok, out, err);
}

/* ---- validating decoder ------------------------------------------------ */

/* Getters do nothing once d->st holds a failure, so a decoder reads a list
 * of fields and checks d->st once at the end. */
typedef struct jd {
    const char *where;  /* "file:line" */
    const char *prefix; /* "" or "turns[2]." or "targets[0]." */
    char *err;
    kv_status st;
} jd;

/* Describes what was found, with the value for scalars: `-3`, `"fast"`. */
typedef struct jd_what {
    char text[64];
} jd_what;

static jd_what jd_found(const cJSON *it)
{
    jd_what w = {""};
    if (!it)
        snprintf(w.text, sizeof w.text, "nothing");
    else if (cJSON_IsString(it) && strlen(it->valuestring) > 40)
        snprintf(w.text, sizeof w.text, "\"%.40s...\"", it->valuestring);
    else if (cJSON_IsString(it))
        snprintf(w.text, sizeof w.text, "\"%s\"", it->valuestring);
    else if (cJSON_IsNumber(it))
        snprintf(w.text, sizeof w.text, "%.17g", it->valuedouble);
    else if (cJSON_IsBool(it))
        snprintf(w.text, sizeof w.text, "%s", cJSON_IsTrue(it) ? "true" : "false");
    else if (cJSON_IsNull(it))
        snprintf(w.text, sizeof w.text, "null");
    else
        snprintf(w.text, sizeof w.text, "%s", cJSON_IsArray(it) ? "an array" : "an object");
    return w;
}

static void jd_fail(jd *d, const char *name, const char *expected, const cJSON *it)
{
    d->st = kv_fail(d->err, KV_ERR_INPUT, "%s: $.%s%s: expected %s, found %s", d->where, d->prefix,
                    name, expected, jd_found(it).text);
}

static void jd_nomem(jd *d, const char *name)
{
    d->st = kv_fail(d->err, KV_ERR_NOMEM, "%s: $.%s%s: out of memory", d->where, d->prefix, name);
}

/* The field (the first item of that name), or NULL when an earlier field
 * already failed. cJSON_GetObjectItemCaseSensitive, with the first byte
 * compared before strcmp: a trial line's ~40 lookups over ~25 keys were a
 * fifth of reading a journal. */
static const cJSON *jd_get(const jd *d, const cJSON *o, const char *name)
{
    if (d->st != KV_OK || !o)
        return NULL;
    for (const cJSON *it = o->child; it; it = it->next)
        if (it->string && it->string[0] == name[0] && strcmp(it->string, name) == 0)
            return it;
    return NULL;
}

static bool jd_is_integer(const cJSON *it, double lo, double hi)
{
    if (!cJSON_IsNumber(it))
        return false;
    double v = it->valuedouble;
    return isfinite(v) && v == floor(v) && v >= lo && v <= hi;
}

/* An integer in [lo, hi]; lo is 0 or -1 (-1 = "unknown" for token counts). */
static double jd_integer(jd *d, const cJSON *o, const char *name, double lo, double hi)
{
    const cJSON *it = jd_get(d, o, name);
    if (d->st != KV_OK)
        return 0;
    if (!jd_is_integer(it, lo, hi)) {
        jd_fail(d, name, lo == 0 ? "a non-negative integer" : "an integer >= -1", it);
        return 0;
    }
    return it->valuedouble;
}

static long jd_long(jd *d, const cJSON *o, const char *name, long lo)
{
    return (long)jd_integer(d, o, name, (double)lo, JJ_MAX_EXACT);
}

static int jd_int(jd *d, const cJSON *o, const char *name)
{
    return (int)jd_integer(d, o, name, 0.0, 2147483647.0);
}

static size_t jd_size(jd *d, const cJSON *o, const char *name)
{
    return (size_t)jd_integer(d, o, name, 0.0, JJ_MAX_EXACT);
}

/* A time: a number, or null for "did not happen / not reported" (NAN). */
static double jd_time(jd *d, const cJSON *o, const char *name)
{
    const cJSON *it = jd_get(d, o, name);
    if (d->st != KV_OK || cJSON_IsNull(it))
        return NAN;
    if (!cJSON_IsNumber(it)) {
        jd_fail(d, name, "a number or null", it);
        return NAN;
    }
    return it->valuedouble;
}

static double jd_number(jd *d, const cJSON *o, const char *name)
{
    const cJSON *it = jd_get(d, o, name);
    if (d->st != KV_OK)
        return 0;
    if (!cJSON_IsNumber(it)) {
        jd_fail(d, name, "a number", it);
        return 0;
    }
    return it->valuedouble;
}

/* Seconds since the epoch, 0 to the year 9999 (converted to time_t and
 * formatted as ISO 8601 by later stages). */
static double jd_unix(jd *d, const cJSON *o, const char *name)
{
    double v = jd_number(d, o, name);
    if (d->st == KV_OK && !(v >= 0 && v <= JJ_MAX_UNIX)) {
        jd_fail(d, name, "seconds since 1970 up to the year 9999", jd_get(d, o, name));
        return 0;
    }
    return v;
}

static bool jd_bool(jd *d, const cJSON *o, const char *name)
{
    const cJSON *it = jd_get(d, o, name);
    if (d->st == KV_OK && !cJSON_IsBool(it))
        jd_fail(d, name, "true or false", it);
    return d->st == KV_OK && cJSON_IsTrue(it);
}

/* Copies a string into a fixed buffer. Too long: an error, or with
 * `truncate` (free-text reasons) cut at a UTF-8 character boundary. */
static void jd_fixed(jd *d, const cJSON *o, const char *name, char *dst, size_t cap, bool truncate)
{
    const cJSON *it = jd_get(d, o, name);
    if (d->st != KV_OK)
        return;
    if (!cJSON_IsString(it)) {
        jd_fail(d, name, "a string", it);
        return;
    }
    size_t n = strlen(it->valuestring);
    if (n >= cap) {
        if (!truncate) {
            d->st = kv_fail(d->err, KV_ERR_INPUT,
                            "%s: $.%s%s: expected a string of at most %zu bytes, found %zu bytes",
                            d->where, d->prefix, name, cap - 1, n);
            return;
        }
        n = cap - 1;
        while (n > 0 && ((unsigned char)it->valuestring[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(dst, it->valuestring, n);
    dst[n] = '\0';
}

static char *jd_dup(jd *d, const char *name, const char *s)
{
    char *copy = strdup(s);
    if (!copy)
        jd_nomem(d, name);
    return copy;
}

/* A malloc'd string; null gives NULL when `nullable`. */
static char *jd_string(jd *d, const cJSON *o, const char *name, bool nullable)
{
    const cJSON *it = jd_get(d, o, name);
    if (d->st != KV_OK || (nullable && cJSON_IsNull(it)))
        return NULL;
    if (!cJSON_IsString(it)) {
        jd_fail(d, name, nullable ? "a string or null" : "a string", it);
        return NULL;
    }
    return jd_dup(d, name, it->valuestring);
}

/* An embedded JSON value back to compact text: object/array printed, string
 * as is, null or absent -> NULL. */
static char *jd_json_text(jd *d, const cJSON *o, const char *name)
{
    const cJSON *it = jd_get(d, o, name);
    if (d->st != KV_OK || !it || cJSON_IsNull(it))
        return NULL;
    if (cJSON_IsString(it))
        return jd_dup(d, name, it->valuestring);
    if (!cJSON_IsObject(it) && !cJSON_IsArray(it)) {
        jd_fail(d, name, "an object, array, string or null", it);
        return NULL;
    }
    char *text = cJSON_PrintUnformatted(it);
    if (!text) {
        jd_nomem(d, name);
        return NULL;
    }
    char *copy = jd_dup(d, name, text);
    cJSON_free(text);
    return copy;
}

static int jd_enum(jd *d, const cJSON *o, const char *name, const char *const *names, size_t n)
{
    const cJSON *it = jd_get(d, o, name);
    if (d->st != KV_OK)
        return 0;
    if (cJSON_IsString(it))
        for (size_t i = 0; i < n; i++)
            if (strcmp(it->valuestring, names[i]) == 0)
                return (int)i;
    char expected[160] = "one of";
    size_t len = strlen(expected);
    for (size_t i = 0; i < n && len < sizeof expected; i++) {
        int k =
            snprintf(expected + len, sizeof expected - len, "%s \"%s\"", i ? "," : "", names[i]);
        len += k > 0 ? (size_t)k : 0;
    }
    if (cJSON_IsString(it))
        d->st = kv_fail(d->err, KV_ERR_INPUT, "%s: $.%s%s: expected %s, found \"%.64s\"", d->where,
                        d->prefix, name, expected, it->valuestring);
    else
        jd_fail(d, name, expected, it);
    return 0;
}

/* Every number below j is finite (1e999 reads as infinity, and would come
 * back as null); no path kept: the common case. */
static bool jd_finite_fast(const cJSON *j)
{
    for (const cJSON *it = j ? j->child : NULL; it; it = it->next) {
        if (cJSON_IsNumber(it) && !isfinite(it->valuedouble))
            return false;
        if ((cJSON_IsArray(it) || cJSON_IsObject(it)) && !jd_finite_fast(it))
            return false;
    }
    return true;
}

/* The same, naming the first non-finite number's path in path (slower:
 * run only when jd_finite_fast found one). */
static bool jd_all_finite(const cJSON *j, char *path, size_t cap)
{
    size_t len = strlen(path);
    size_t i = 0;
    for (const cJSON *it = j ? j->child : NULL; it; it = it->next, i++) {
        if (cJSON_IsArray(j))
            snprintf(path + len, cap - len, "[%zu]", i);
        else
            snprintf(path + len, cap - len, "%s%.64s", len ? "." : "",
                     it->string ? it->string : "");
        if (cJSON_IsNumber(it) && !isfinite(it->valuedouble))
            return false;
        if ((cJSON_IsArray(it) || cJSON_IsObject(it)) && !jd_all_finite(it, path, cap))
            return false;
    }
    path[len] = '\0';
    return true;
}

static kv_status jd_parse_valid(const char *line, size_t len, const char *where, const char *type,
                                cJSON **out, char *err);

/* Parses a line and checks $.type. A line that is not strict UTF-8 (an
 * older kvproof wrote a server's stray bytes) is read as the writer would
 * write it now, bytes that are not UTF-8 as U+FFFD, so decode -> encode ->
 * decode is stable and field limits hold on what is kept; the file itself
 * is never changed. */
static kv_status jd_parse(const char *line, size_t len, const char *where, const char *type,
                          cJSON **out, char *err)
{
    if (kv_utf8_valid(line, len))
        return jd_parse_valid(line, len, where, type, out, err);
    kv_buf fixed = {0};
    *out = NULL;
    if (kv_utf8_repair(&fixed, line, len) != KV_OK) {
        kv_buf_free(&fixed);
        return kv_fail(err, KV_ERR_NOMEM, "%s: out of memory", where);
    }
    kv_status st = jd_parse_valid(fixed.data, fixed.len, where, type, out, err);
    kv_buf_free(&fixed);
    return st;
}

static kv_status jd_parse_valid(const char *line, size_t len, const char *where, const char *type,
                                cJSON **out, char *err)
{
    const char *end = NULL;
    *out = NULL;
    cJSON *o = cJSON_ParseWithLengthOpts(line, len, &end, false);
    if (!o) {
        size_t col = end && end >= line && end <= line + len ? (size_t)(end - line) + 1 : 1;
        return kv_fail(err, KV_ERR_INPUT, "%s:%zu: invalid JSON", where, col);
    }
    const char *rest = end;
    while (rest && rest < line + len && (*rest == ' ' || *rest == '\t' || *rest == '\r'))
        rest++;
    if (rest && rest < line + len) {
        cJSON_Delete(o);
        return kv_fail(err, KV_ERR_INPUT, "%s:%zu: invalid JSON (text after the value)", where,
                       (size_t)(rest - line) + 1);
    }
    if (!cJSON_IsObject(o)) {
        kv_status st = kv_fail(err, KV_ERR_INPUT, "%s: expected a JSON object, found %s", where,
                               jd_found(o).text);
        cJSON_Delete(o);
        return st;
    }
    char path[256] = "";
    if (!jd_finite_fast(o) && !jd_all_finite(o, path, sizeof path)) {
        cJSON_Delete(o);
        return kv_fail(err, KV_ERR_INPUT,
                       "%s: $.%s: number out of range (too large for a double: it reads as "
                       "infinity)",
                       where, path);
    }
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "type");
    if (!cJSON_IsString(t) || strcmp(t->valuestring, type) != 0) {
        kv_status st = kv_fail(err, KV_ERR_INPUT, "%s: $.type: expected \"%s\", found %s", where,
                               type, jd_found(t).text);
        cJSON_Delete(o);
        return st;
    }
    *out = o;
    return KV_OK;
}

/* ---- decoding ---------------------------------------------------------- */

/* False, after recording "expected an object" at d's prefix, unless o is one. */
static bool jd_object(jd *d, const cJSON *o)
{
    if (cJSON_IsObject(o))
        return true;
    d->st = kv_fail(d->err, KV_ERR_INPUT, "%s: $.%.*s: expected an object, found %s", d->where,
                    (int)strlen(d->prefix) - 1, d->prefix, jd_found(o).text);
    return false;
}

static void jd_target(jd *d, const cJSON *o, journal_target_meta *m)
{
    if (!jd_object(d, o))
        return;
    m->name = jd_string(d, o, "name", false);
    m->base_url = jd_string(d, o, "base_url", true);
    m->dialect = jd_string(d, o, "dialect", true);
    m->model = jd_string(d, o, "model", true);
    m->server_version = jd_string(d, o, "server_version", true);
    m->props = jd_json_text(d, o, "props");
    m->simulated = jd_bool(d, o, "simulated");
    if (cJSON_GetObjectItemCaseSensitive(o, "cold_method")) /* optional */
        m->cold_method = jd_string(d, o, "cold_method", true);
}

static void jd_hash(jd *d, const cJSON *o, uint64_t *out)
{
    const cJSON *it = jd_get(d, o, "spec_hash");
    if (d->st != KV_OK)
        return;
    const char *s = cJSON_IsString(it) ? it->valuestring : "";
    bool ok = strlen(s) == 16;
    for (size_t i = 0; ok && i < 16; i++)
        ok = (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f');
    if (ok)
        *out = (uint64_t)strtoull(s, NULL, 16);
    else
        jd_fail(d, "spec_hash", "16 lower-case hex digits", it);
}

static void jd_seed(jd *d, const cJSON *o, uint64_t *out)
{
    const cJSON *it = jd_get(d, o, "seed");
    if (d->st != KV_OK)
        return;
    if (jd_is_integer(it, 0.0, JJ_MAX_EXACT)) {
        *out = (uint64_t)it->valuedouble;
        return;
    }
    if (cJSON_IsString(it) && it->valuestring[0] >= '0' && it->valuestring[0] <= '9') {
        char *end = NULL;
        errno = 0;
        unsigned long long v = strtoull(it->valuestring, &end, 10);
        if (errno == 0 && *end == '\0') {
            *out = (uint64_t)v;
            return;
        }
    }
    jd_fail(d, "seed", "a non-negative integer (or its decimal string)", it);
}

static void jd_header_format(jd *d, const cJSON *o)
{
    const cJSON *fmt = jd_get(d, o, "format");
    const cJSON *ver = jd_get(d, o, "version");
    if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, JJ_FORMAT) != 0)
        jd_fail(d, "format", "\"" JJ_FORMAT "\"", fmt);
    else if (!jd_is_integer(ver, 0.0, JJ_MAX_EXACT))
        jd_fail(d, "version", "an integer", ver);
    else if (ver->valuedouble != JJ_VERSION)
        d->st = kv_fail(d->err, KV_ERR_INPUT,
                        "%s: $.version: unsupported journal version %.0f (this kvproof reads "
                        "version %d)",
                        d->where, ver->valuedouble, JJ_VERSION);
}

static void jd_turn(jd *d, const cJSON *o, trial_request *r);

static void jd_target_elem(jd *d, const cJSON *o, void *elem)
{
    jd_target(d, o, elem);
}

static void jd_turn_elem(jd *d, const cJSON *o, void *elem)
{
    jd_turn(d, o, elem);
}

/* Decodes the array `name` of o into a calloc'd array of elements of `size`
 * bytes, each by `one` with messages prefixed "name[i].". *count is the
 * number of elements decoded (freed by the caller, also after a failure). */
static void *jd_array(jd *d, const cJSON *o, const char *name, size_t size,
                      void (*one)(jd *, const cJSON *, void *), size_t *count)
{
    const cJSON *arr = jd_get(d, o, name);
    if (d->st == KV_OK && !cJSON_IsArray(arr))
        jd_fail(d, name, "an array", arr);
    size_t n = d->st == KV_OK ? (size_t)cJSON_GetArraySize(arr) : 0;
    char *elems = n ? calloc(n, size) : NULL;
    if (n && !elems)
        jd_nomem(d, name);
    const cJSON *it;
    if (elems) {
        cJSON_ArrayForEach(it, arr)
        {
            char prefix[48];
            snprintf(prefix, sizeof prefix, "%s[%zu].", name, *count);
            jd sub = {.where = d->where, .prefix = prefix, .err = d->err, .st = d->st};
            one(&sub, it, elems + size * (*count)++);
            d->st = sub.st;
        }
    }
    return elems;
}

static void jd_import_file(jd *d, const cJSON *o, journal_import_file *f)
{
    if (!jd_object(d, o))
        return;
    f->path = jd_string(d, o, "path", false);
    const cJSON *h = jd_get(d, o, "sha256");
    if (d->st != KV_OK)
        return;
    if (!cJSON_IsString(h) || strlen(h->valuestring) != 64 ||
        strspn(h->valuestring, "0123456789abcdef") != 64)
        jd_fail(d, "sha256", "64 lower-case hex digits", h);
    else
        memcpy(f->sha256, h->valuestring, 65);
}

static void jd_import_file_elem(jd *d, const cJSON *o, void *elem)
{
    jd_import_file(d, o, elem);
}

/* The optional "imported" object (absent or null: measured by kvproof). */
static void jd_imported(jd *d, const cJSON *o, journal_header *h)
{
    const cJSON *im = jd_get(d, o, "imported");
    if (d->st != KV_OK || !im || cJSON_IsNull(im))
        return;
    if (!cJSON_IsObject(im)) {
        jd_fail(d, "imported", "an object or null", im);
        return;
    }
    jd sub = {.where = d->where, .prefix = "imported.", .err = d->err, .st = d->st};
    h->import_format = jd_string(&sub, im, "format", false);
    h->import_files = jd_array(&sub, im, "files", sizeof *h->import_files, jd_import_file_elem,
                               &h->n_import_files);
    d->st = sub.st;
}

kv_status journal_header_from_json(const char *line, size_t len, const char *where,
                                   journal_header *h, char *err)
{
    cJSON *o = NULL;
    jd d = {.where = where, .prefix = "", .err = err};
    d.st = jd_parse(line, len, where, "header", &o, err);
    if (d.st != KV_OK)
        return d.st;
    jd_header_format(&d, o);
    h->kvproof_version = jd_string(&d, o, "kvproof_version", false);
    h->spec_name = jd_string(&d, o, "spec_name", false);
    h->spec_path = jd_string(&d, o, "spec_path", true);
    jd_hash(&d, o, &h->spec_hash);
    jd_seed(&d, o, &h->seed);
    h->planned_trials = jd_size(&d, o, "planned_trials");
    if (d.st == KV_OK && h->planned_trials > JJ_MAX_PLANNED)
        d.st =
            kv_fail(err, KV_ERR_INPUT, "%s: $.planned_trials: %zu is more than kvproof plans (%zu)",
                    where, h->planned_trials, (size_t)JJ_MAX_PLANNED);
    free(jd_string(&d, o, "created", false)); /* informational; created_unix is the value */
    h->created_unix = jd_unix(&d, o, "created_unix");
    h->client_host = jd_string(&d, o, "client_host", true);
    jd_imported(&d, o, h);
    const cJSON *spec_obj = jd_get(&d, o, "spec");
    if (d.st == KV_OK && !cJSON_IsObject(spec_obj) && !(h->import_format && cJSON_IsNull(spec_obj)))
        jd_fail(&d, "spec", h->import_format ? "an object or null" : "an object", spec_obj);
    h->spec_json = jd_json_text(&d, o, "spec");
    h->targets = jd_array(&d, o, "targets", sizeof *h->targets, jd_target_elem, &h->n_targets);
    cJSON_Delete(o);
    return d.st;
}

/* The contention fields: all four or none (journals before them have none). */
static void jd_contention(jd *d, const cJSON *o, trial_request *r)
{
    static const char *const hits[] = {"none",     "full",         "partial",      "miss",
                                       "restored", "inferred_hit", "inferred_miss"};
    static const char *const held[] = {"unknown", "own", "other"};
    if (d->st != KV_OK || !cJSON_GetObjectItemCaseSensitive(o, "agent"))
        return;
    r->in_contention = true;
    r->agent = jd_long(d, o, "agent", 0);
    r->agent_position = jd_long(d, o, "agent_position", 0);
    r->slot_held = (trial_slot_held)jd_enum(d, o, "slot_held", held, 3);
    r->hit = (trial_hit)jd_enum(d, o, "hit", hits, TRIAL_HIT_COUNT);
    if (d->st == KV_OK && cJSON_GetObjectItemCaseSensitive(o, "after_resume"))
        r->after_resume = jd_bool(d, o, "after_resume");
}

static void jd_turn(jd *d, const cJSON *o, trial_request *r)
{
    if (!jd_object(d, o))
        return;
    r->turn = jd_int(d, o, "turn");
    r->attempts = jd_int(d, o, "attempts");
    r->ok = jd_bool(d, o, "ok");
    jd_fixed(d, o, "error", r->error, sizeof r->error, true);
    r->http_status = jd_int(d, o, "http_status");
    r->prompt_tokens = jd_long(d, o, "prompt_tokens", -1);
    r->cached_tokens = jd_long(d, o, "cached_tokens", -1);
    r->prefix_tokens = jd_long(d, o, "prefix_tokens", -1);
    r->output_tokens = jd_long(d, o, "output_tokens", -1);
    r->cache_state = (trial_cache_state)jd_enum(d, o, "cache_state", jj_cache_states, 4);
    r->ttfb_ms = jd_time(d, o, "ttfb_ms");
    r->ttft_ms = jd_time(d, o, "ttft_ms");
    r->first_content_ms = jd_time(d, o, "first_content_ms");
    r->last_token_ms = jd_time(d, o, "last_token_ms");
    r->total_ms = jd_time(d, o, "total_ms");
    r->gap_median_ms = jd_time(d, o, "gap_median_ms");
    r->gap_p99_ms = jd_time(d, o, "gap_p99_ms");
    r->server_prefill_ms = jd_time(d, o, "server_prefill_ms");
    r->server_overhead_us = jd_time(d, o, "server_overhead_us");
    r->raw = jd_json_text(d, o, "raw");
    jd_contention(d, o, r);
}

kv_status journal_trial_from_json(const char *line, size_t len, const char *where,
                                  size_t planned_trials, trial_record *t, char *err)
{
    cJSON *o = NULL;
    jd d = {.where = where, .prefix = "", .err = err};
    d.st = jd_parse(line, len, where, "trial", &o, err);
    if (d.st != KV_OK)
        return d.st;
    t->plan_index = jd_size(&d, o, "plan_index");
    if (d.st == KV_OK && t->plan_index >= planned_trials)
        d.st = kv_fail(err, KV_ERR_INPUT, "%s: $.plan_index: %zu is outside the plan of %zu trials",
                       where, t->plan_index, planned_trials);
    jd_fixed(&d, o, "id", t->id, sizeof t->id, false);
    t->kind = (plan_kind)jd_enum(&d, o, "kind", jj_kinds, 3);
    t->target = jd_size(&d, o, "target");
    jd_fixed(&d, o, "target_name", t->target_name, sizeof t->target_name, false);
    t->cell = jd_size(&d, o, "cell");
    t->system_prompt_tokens = jd_long(&d, o, "system_prompt_tokens", -1);
    t->query_tokens = jd_long(&d, o, "query_tokens", -1);
    t->query_count = jd_long(&d, o, "query_count", 0);
    t->mode = (spec_cache_mode)jd_enum(&d, o, "mode", jj_modes, 3);
    t->repetition = jd_long(&d, o, "repetition", 0);
    t->run_position = jd_size(&d, o, "run_position");
    t->started_unix = jd_unix(&d, o, "started_unix");
    t->ok = jd_bool(&d, o, "ok");
    jd_fixed(&d, o, "error", t->error, sizeof t->error, true);
    t->contaminated = jd_bool(&d, o, "contaminated");
    t->turns = jd_array(&d, o, "turns", sizeof *t->turns, jd_turn_elem, &t->n_turns);
    cJSON_Delete(o);
    return d.st;
}
