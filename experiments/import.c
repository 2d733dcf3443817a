/* import.c - other tools' output as a journal (import.h): the format names,
 * the builder (targets, cells, trials) the parsers share, and import_files,
 * which reads and hashes each file, runs its parser and fills the header.
 */
#include "experiments/import.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "common/sha256.h"
#include "common/util.h"

static const char *const format_names[] = {"llama-bench", "vllm-bench", "aiperf"};

/* One cell: a target's (system prompt, query, mode) and the repetitions so far. */
typedef struct icell {
    size_t target;
    long sys, query;
    spec_cache_mode mode;
    long reps;
} icell;

struct import_ctx {
    import_format f;
    journal_data *d;
    size_t cap; /* trials allocated */
    icell *cells;
    size_t n_cells, cap_cells;
    import_notes *notes;
};

bool import_format_from_name(const char *name, import_format *out)
{
    for (size_t i = 0; i < sizeof format_names / sizeof format_names[0]; i++)
        if (strcmp(name, format_names[i]) == 0) {
            *out = (import_format)i;
            return true;
        }
    return false;
}

const char *import_format_name(import_format f)
{
    return (unsigned)f < 3 ? format_names[f] : "unknown";
}

/* ---- the builder ------------------------------------------------------------ */

static bool same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

kv_status import_target(import_ctx *c, const char *model, const char *dialect, const char *version,
                        const char *props, size_t *index, char *err)
{
    journal_header *h = &c->d->header;
    for (size_t i = 0; i < h->n_targets; i++)
        if (same(h->targets[i].model, model)) {
            *index = i;
            return KV_OK;
        }
    journal_target_meta *t = realloc(h->targets, (h->n_targets + 1) * sizeof *t);
    if (!t)
        return kv_fail(err, KV_ERR_NOMEM, "out of memory");
    h->targets = t;
    journal_target_meta *m = &t[h->n_targets];
    memset(m, 0, sizeof *m);
    char name[64];
    if (h->n_targets == 0)
        snprintf(name, sizeof name, "%s", import_format_name(c->f));
    else
        snprintf(name, sizeof name, "%s-%zu", import_format_name(c->f), h->n_targets + 1);
    m->name = kv_strdup(name);
    m->dialect = kv_strdup(dialect);
    m->model = kv_strdup(model);
    m->server_version = kv_strdup(version);
    m->props = kv_strdup(props);
    *index = h->n_targets++;
    if (!m->name || (dialect && !m->dialect) || (model && !m->model) ||
        (version && !m->server_version) || (props && !m->props))
        return kv_fail(err, KV_ERR_NOMEM, "out of memory");
    return KV_OK;
}

/* The cell of t (found or added). */
static icell *cell_of(import_ctx *c, const trial_record *t, size_t *index)
{
    for (size_t i = 0; i < c->n_cells; i++) {
        icell *k = &c->cells[i];
        if (k->target == t->target && k->sys == t->system_prompt_tokens &&
            k->query == t->query_tokens && k->mode == t->mode) {
            *index = i;
            return k;
        }
    }
    if (kv_grow(&c->cells, &c->cap_cells, c->n_cells + 1, sizeof *c->cells, 16) != KV_OK)
        return NULL;
    c->cells[c->n_cells] = (icell){t->target, t->system_prompt_tokens, t->query_tokens, t->mode, 0};
    *index = c->n_cells;
    return &c->cells[c->n_cells++];
}

kv_status import_add(import_ctx *c, trial_record *t, char *err)
{
    journal_data *d = c->d;
    size_t ci = 0;
    icell *k = cell_of(c, t, &ci);
    if (!k || kv_grow(&d->trials, &c->cap, d->n_trials + 1, sizeof *d->trials, 64) != KV_OK) {
        trial_record_clear(t);
        return kv_fail(err, KV_ERR_NOMEM, "out of memory");
    }
    const char *name = d->header.targets[t->target].name;
    t->plan_index = d->n_trials;
    t->run_position = d->n_trials;
    t->cell = ci;
    t->repetition = k->reps++;
    t->query_count = 1;
    snprintf(t->target_name, sizeof t->target_name, "%s", name);
    snprintf(t->id, sizeof t->id, "%s/s%ld/q%ld/n1/%s/r%ld", name, t->system_prompt_tokens,
             t->query_tokens, spec_cache_mode_name(t->mode), t->repetition);
    t->contaminated = false;
    d->trials[d->n_trials++] = *t;
    memset(t, 0, sizeof *t);
    return KV_OK;
}

kv_status import_client_host(import_ctx *c, const char *host, char *err)
{
    if (c->d->header.client_host || !host)
        return KV_OK;
    c->d->header.client_host = kv_strdup(host);
    return c->d->header.client_host ? KV_OK : kv_fail(err, KV_ERR_NOMEM, "out of memory");
}

kv_status import_each(import_ctx *c, const char *text, size_t len, const char *path, bool arrays,
                      import_record_fn fn, char *err)
{
    size_t off = 0;
    kv_status st = KV_OK;
    while (st == KV_OK) {
        while (off < len && strchr(" \t\r\n", text[off]))
            off++;
        if (off >= len)
            break;
        int line = 0, col = 0;
        kv_line_col(text, off, &line, &col);
        const char *end = NULL;
        cJSON *v = cJSON_ParseWithLengthOpts(text + off, len - off, &end, false);
        if (!v) {
            size_t at = end ? (size_t)(end - text) : off;
            kv_line_col(text, at, &line, &col);
            return kv_fail(err, KV_ERR_INPUT, "%s:%d:%d: invalid JSON", path, line, col);
        }
        char where[1200];
        if (arrays && cJSON_IsArray(v)) {
            int i = 0;
            const cJSON *it;
            cJSON_ArrayForEach(it, v)
            {
                snprintf(where, sizeof where, "%s:%d: [%d]", path, line, i++);
                if (st == KV_OK)
                    st = fn(c, it, where, err);
            }
        } else {
            snprintf(where, sizeof where, "%s:%d", path, line);
            st = fn(c, v, where, err);
        }
        cJSON_Delete(v);
        off = (size_t)(end - text);
    }
    return st;
}

kv_status import_bad(char *err, const char *where, const char *field, const char *what)
{
    return kv_fail(err, KV_ERR_INPUT, "%s: $%s%s: expected %s", where, field[0] ? "." : "", field,
                   what);
}

bool import_num(const cJSON *o, const char *key, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        return false;
    *out = v->valuedouble;
    return true;
}

bool import_int(const cJSON *o, const char *key, long *out)
{
    double v;
    if (!import_num(o, key, &v) || v < 0 || v != floor(v) || v > 1e15)
        return false;
    *out = (long)v;
    return true;
}

const char *import_str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

bool import_nums(const cJSON *o, const char *key, double **out, size_t *n)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, key);
    *out = NULL;
    *n = 0;
    if (!cJSON_IsArray(a))
        return false;
    size_t m = (size_t)cJSON_GetArraySize(a);
    double *v = malloc((m ? m : 1) * sizeof *v);
    if (!v)
        return false;
    const cJSON *it;
    cJSON_ArrayForEach(it, a)
    {
        if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble)) {
            free(v);
            return false;
        }
        v[(*n)++] = it->valuedouble;
    }
    *out = v;
    return true;
}

char *import_raw(const cJSON *o, const char *const *drop, size_t n_drop)
{
    cJSON *copy = cJSON_Duplicate(o, true);
    if (!copy)
        return NULL;
    for (size_t i = 0; i < n_drop; i++)
        cJSON_DeleteItemFromObjectCaseSensitive(copy, drop[i]);
    char *text = cJSON_PrintUnformatted(copy);
    cJSON_Delete(copy);
    char *out = kv_strdup(text);
    cJSON_free(text);
    return out;
}

void import_skip(import_ctx *c, const char *why)
{
    if (c->notes->skipped++ == 0)
        snprintf(c->notes->why, sizeof c->notes->why, "%s", why);
}

void import_turn_init(trial_request *r)
{
    trial_request_init(r, 1);
    r->attempts = 1;
}

kv_status import_one_turn(trial_record *t, char *err)
{
    t->n_turns = 1;
    t->turns = malloc(sizeof *t->turns);
    if (!t->turns)
        return kv_fail(err, KV_ERR_NOMEM, "out of memory");
    import_turn_init(&t->turns[0]);
    return KV_OK;
}

/* The q-quantile of sorted v, linear between order statistics. */
static double quantile(const double *v, size_t n, double q)
{
    double pos = q * (double)(n - 1);
    size_t i = (size_t)pos;
    double frac = pos - (double)i;
    return i + 1 < n ? v[i] + frac * (v[i + 1] - v[i]) : v[n - 1];
}

void import_gaps(double *v, size_t n, double *median, double *p99)
{
    *median = *p99 = NAN;
    if (n == 0)
        return;
    qsort(v, n, sizeof *v, kv_cmp_double);
    *median = quantile(v, n, 0.5);
    *p99 = quantile(v, n, 0.99);
}

/* ---- import_files ----------------------------------------------------------- */

static kv_status header_fill(import_ctx *c, const char *const *paths, size_t n, char *err)
{
    journal_header *h = &c->d->header;
    h->kvproof_version = kv_strdup(KVPROOF_VERSION);
    char name[64];
    snprintf(name, sizeof name, "%s import", import_format_name(c->f));
    h->spec_name = kv_strdup(name);
    h->import_format = kv_strdup(import_format_name(c->f));
    h->import_files = calloc(n ? n : 1, sizeof *h->import_files);
    if (!h->kvproof_version || !h->spec_name || !h->import_format || !h->import_files)
        return kv_fail(err, KV_ERR_NOMEM, "out of memory");
    h->n_import_files = n;
    for (size_t i = 0; i < n; i++) {
        h->import_files[i].path = kv_strdup(paths[i]);
        if (!h->import_files[i].path)
            return kv_fail(err, KV_ERR_NOMEM, "out of memory");
    }
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    h->created_unix = (double)now.tv_sec + (double)now.tv_nsec / 1e9;
    return KV_OK;
}

/* Reads, hashes and parses one file. */
static kv_status import_one(import_ctx *c, const char *path, journal_import_file *f, char *err)
{
    char *text = NULL;
    size_t len = 0;
    kv_status st = kv_read_file(path, &text, &len, err);
    if (st != KV_OK)
        return st;
    if (!sha256_hex(text, len, f->sha256)) {
        free(text);
        return kv_fail(err, KV_ERR_IO, "%s: SHA-256 failed (libcrypto)", path);
    }
    if (c->f == IMPORT_LLAMA_BENCH)
        st = import_llama_parse(c, text, len, path, err);
    else if (c->f == IMPORT_VLLM_BENCH)
        st = import_vllm_parse(c, text, len, path, err);
    else
        st = import_aiperf_parse(c, text, len, path, err);
    free(text);
    return st;
}

kv_status import_files(import_format f, const char *const *paths, size_t n, journal_data **out,
                       import_notes *notes, char *err)
{
    *out = NULL;
    memset(notes, 0, sizeof *notes);
    import_ctx c = {.f = f, .notes = notes};
    c.d = calloc(1, sizeof *c.d);
    if (!c.d)
        return kv_fail(err, KV_ERR_NOMEM, "out of memory");
    kv_status st = header_fill(&c, paths, n, err);
    for (size_t i = 0; st == KV_OK && i < n; i++)
        st = import_one(&c, paths[i], &c.d->header.import_files[i], err);
    if (st == KV_OK && c.d->n_trials == 0)
        st = kv_fail(err, KV_ERR_STATS, "%s: no record to import%s%s", n ? paths[0] : "input",
                     notes->skipped ? ": " : "", notes->why);
    if (st == KV_OK) {
        /* The journal's identity: the format and the files' contents. */
        journal_header *h = &c.d->header;
        uint64_t hash = kv_hash64(h->import_format, strlen(h->import_format), 0);
        for (size_t i = 0; i < n; i++)
            hash = kv_hash64(h->import_files[i].sha256, 64, hash);
        h->spec_hash = hash;
        h->planned_trials = c.d->n_trials;
    }
    free(c.cells);
    if (st != KV_OK) {
        journal_data_free(c.d);
        return st;
    }
    *out = c.d;
    return KV_OK;
}
