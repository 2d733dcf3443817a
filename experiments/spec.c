/* spec.c - loading and validating an experiment spec (docs/spec.md).
 *
 * Divided into: names of enums, the per-section validators (targets,
 * workload, sessions, run settings, hypotheses, stop), cross-field checks,
 * and spec_parse/spec_load which tie the position scanner (spec_pos.c), the
 * cJSON parse and the canonical form (spec_canon.c) together. Every
 * validator records positioned errors in a spec_check_ctx and keeps going.
 */
#include "experiments/spec.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "experiments/spec_check.h"
#include "experiments/spec_contention.h"
#include "experiments/spec_pos.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* Limits (docs/spec.md). */
#define SPEC_MAX_TOKENS 1048576L
#define SPEC_MAX_SEED 9007199254740991L /* 2^53 - 1: exact in a JSON number */
#define SPEC_MAX_QUERY_COUNT 1000L
#define SPEC_MAX_REPETITIONS 100000L
#define SPEC_MAX_WARMUP 1000L
#define SPEC_MAX_RETRIES 100L
#define SPEC_MAX_CONCURRENCY 1024L
#define SPEC_MAX_TIMEOUT_S 86400.0
#define SPEC_MAX_NAME 40
#define SPEC_READ_MAX ((size_t)16 << 20) /* a spec is a few KB; /dev/zero is not one */

static const char *const api_names[] = {
    "auto",      "openai-chat",   "openai-completions",   "llama.cpp",      "ollama", "lmstudio",
    "anthropic", "lmstudio-chat", "llama.cpp-completion", "sglang-generate"};
static const char *const mode_names[] = {"cold", "warm"};
static const char *const order_names[] = {"random", "blocked"};
static const char *const metric_names[] = {"overhead_fraction", "speedup", "session_speedup",
                                           "prefill_ms_per_token", "warm_capacity"};

const char *spec_api_name(spec_api api)
{
    return (size_t)api < N_OF(api_names) ? api_names[api] : "unknown";
}

const char *spec_cache_mode_name(spec_cache_mode m)
{
    return (size_t)m < N_OF(mode_names) ? mode_names[m] : "unknown";
}

const char *spec_metric_name(spec_metric m)
{
    return (size_t)m < N_OF(metric_names) ? metric_names[m] : "unknown";
}

/* ---- targets --------------------------------------------------------------- */

static bool name_chars_ok(const char *s)
{
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.')
            return false;
    return true;
}

static bool env_name_ok(const char *s)
{
    if (!isalpha((unsigned char)s[0]) && s[0] != '_')
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_')
            return false;
    return true;
}

static bool url_ok(char *u)
{
    const char *rest = NULL;
    if (strncmp(u, "http://", 7) == 0)
        rest = u + 7;
    else if (strncmp(u, "https://", 8) == 0)
        rest = u + 8;
    if (!rest || !*rest || *rest == '/' || *rest == ':')
        return false;
    for (const char *p = u; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return false;
    size_t n = strlen(u);
    while (n > (size_t)(rest - u) && u[n - 1] == '/')
        u[--n] = '\0';
    return true;
}

static bool header_name_ok(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("!#$%&'*+-.^_`|~", *s))
            return false;
    return true;
}

static const char *const secret_headers[] = {"authorization", "proxy-authorization", "x-api-key",
                                             "api-key", "cookie"};

static void load_headers(spec_check_ctx *c, const spec_check_val *v, spec_target *t)
{
    if (!cJSON_IsObject(v->j)) {
        spec_check_error_at(c, v, false, "expected an object of header names to strings");
        return;
    }
    size_t n = spec_check_len(v);
    t->headers = spec_check_alloc(c, n ? n : 1, sizeof *t->headers);
    if (!t->headers)
        return;
    size_t i = 0;
    for (const cJSON *k = v->j->child; k && i < v->p->n_kids; k = k->next, i++) {
        spec_check_val h = {.j = k, .p = &v->p->kids[i]};
        spec_pos_path_key(h.path, v->path, k->string, strlen(k->string));
        if (!header_name_ok(k->string)) {
            spec_check_error_at(c, &h, true, "invalid HTTP header name");
            continue;
        }
        bool secret = false;
        for (size_t q = 0; q < N_OF(secret_headers); q++)
            secret = secret || strcasecmp(k->string, secret_headers[q]) == 0;
        if (secret) {
            spec_check_error_at(c, &h, true,
                                "credentials must not be written in a spec: name an environment "
                                "variable in \"api_key_env\" instead");
            continue;
        }
        bool dup = false;
        for (const cJSON *e = v->j->child; e != k && !dup; e = e->next)
            dup = strcasecmp(e->string, k->string) == 0;
        if (dup) {
            spec_check_error_at(c, &h, true, "duplicate header");
            continue;
        }
        char *val = NULL;
        if (!spec_check_string(c, &h, false, &val))
            continue;
        if (strpbrk(val, "\r\n")) {
            spec_check_error_at(c, &h, false, "header values must not contain line breaks");
            free(val);
            continue;
        }
        char *name = strdup(k->string);
        if (!name) {
            free(val);
            c->nomem = true;
            return;
        }
        t->headers[t->n_headers].name = name;
        t->headers[t->n_headers].value = val;
        t->n_headers++;
    }
}

static void load_target(spec_check_ctx *c, const spec_check_val *v, spec_target *t)
{
    static const char *const keys[] = {"name",        "base_url", "api",    "model",
                                       "api_key_env", "headers",  "ca_file"};
    t->api = SPEC_API_AUTO;
    if (!spec_check_object(c, v, keys, N_OF(keys)))
        return;
    spec_check_val m = spec_check_member(v, "name");
    if (spec_check_required(c, &m) && spec_check_string(c, &m, true, &t->name)) {
        if (strlen(t->name) > SPEC_MAX_NAME || !name_chars_ok(t->name))
            spec_check_error_at(c, &m, false,
                                "must be 1 to %d characters of letters, digits, '-', '_' or '.'",
                                SPEC_MAX_NAME);
    }
    m = spec_check_member(v, "base_url");
    if (spec_check_required(c, &m) && spec_check_string(c, &m, true, &t->base_url) &&
        !url_ok(t->base_url))
        spec_check_error_at(c, &m, false, "expected an http:// or https:// URL with a host");
    m = spec_check_member(v, "api");
    if (!m.absent) {
        int k = spec_check_enum(c, &m, api_names, N_OF(api_names));
        if (k >= 0)
            t->api = (spec_api)k;
    }
    m = spec_check_member(v, "model");
    if (!m.absent)
        (void)spec_check_string(c, &m, true, &t->model);
    m = spec_check_member(v, "api_key_env");
    if (!m.absent && spec_check_string(c, &m, true, &t->api_key_env) &&
        !env_name_ok(t->api_key_env)) {
        /* Never echo the value: it may be the key itself. */
        spec_check_error_at(
            c, &m, false,
            "expected the name of an environment variable (e.g. \"OPENAI_API_KEY\"), "
            "not the key itself");
        free(t->api_key_env);
        t->api_key_env = NULL;
    }
    m = spec_check_member(v, "headers");
    if (!m.absent)
        load_headers(c, &m, t);
    m = spec_check_member(v, "ca_file");
    if (!m.absent && spec_check_string(c, &m, true, &t->ca_file) && access(t->ca_file, R_OK) != 0)
        spec_check_error_at(c, &m, false, "cannot read the CA file \"%s\"", t->ca_file);
}

/* Target i of the array (the spec's own list is allocated); its name must
 * not repeat an earlier target's. */
static void load_target_at(spec_check_ctx *c, const spec_check_val *e, size_t i, void *arg)
{
    spec *s = arg;
    load_target(c, e, &s->targets[i]);
    if (!s->targets[i].name)
        return;
    for (size_t k = 0; k < i; k++) {
        if (s->targets[k].name && strcmp(s->targets[k].name, s->targets[i].name) == 0) {
            spec_check_val nm = spec_check_member(e, "name");
            spec_check_error_at(c, &nm, false, "duplicate target name \"%s\" (also $.targets[%zu])",
                                s->targets[i].name, k);
            break;
        }
    }
}

static void load_targets(spec_check_ctx *c, const spec_check_val *v, spec *s)
{
    if (!spec_check_required(c, v) || !spec_check_array(c, v, true))
        return;
    size_t n = spec_check_len(v);
    s->targets = spec_check_alloc(c, n, sizeof *s->targets);
    if (!s->targets)
        return;
    s->n_targets = n;
    spec_check_each(c, v, load_target_at, s);
}

/* ---- workload and sessions ------------------------------------------------------ */

static bool file_readable(const char *p)
{
    return access(p, R_OK) == 0;
}

/* Resolves a relative corpus path: current directory first, then the source
 * tree. *out is malloc'd; false when neither exists. */
static bool resolve_corpus(const char *rel, char **out)
{
    *out = NULL;
    if (rel[0] == '/' || file_readable(rel)) {
        *out = strdup(rel);
        return *out && file_readable(rel);
    }
    kv_buf b = {0};
    if (kv_buf_appendf(&b, "%s/%s", KVPROOF_SOURCE_DIR, rel) != KV_OK)
        return false;
    if (!file_readable(b.data)) {
        kv_buf_free(&b);
        return false;
    }
    *out = b.data;
    return true;
}

static void load_workload(spec_check_ctx *c, const spec_check_val *v, spec *s)
{
    static const char *const keys[] = {"system_prompt_tokens", "query_tokens", "max_output_tokens",
                                       "corpus", "temperature"};
    if (!spec_check_required(c, v) || !spec_check_object(c, v, keys, N_OF(keys)))
        return;
    spec_check_val m = spec_check_member(v, "system_prompt_tokens");
    if (spec_check_required(c, &m))
        (void)spec_check_long_list(c, &m, 0, SPEC_MAX_TOKENS, &s->system_prompt_tokens,
                                   &s->n_system_prompt_tokens);
    m = spec_check_member(v, "query_tokens");
    if (spec_check_required(c, &m))
        (void)spec_check_long_list(c, &m, 1, SPEC_MAX_TOKENS, &s->query_tokens, &s->n_query_tokens);
    m = spec_check_member(v, "max_output_tokens");
    if (!m.absent)
        (void)spec_check_long(c, &m, 1, SPEC_MAX_TOKENS, &s->max_output_tokens);
    m = spec_check_member(v, "temperature");
    if (!m.absent)
        s->temperature_set = spec_check_double(c, &m, 0, 2, false, &s->temperature);
    m = spec_check_member(v, "corpus");
    if (!m.absent) {
        free(s->corpus_name);
        s->corpus_name = NULL;
        if (!spec_check_string(c, &m, true, &s->corpus_name))
            return;
        if (!resolve_corpus(s->corpus_name, &s->corpus))
            spec_check_error_at(
                c, &m, false,
                "cannot read the corpus file \"%s\" (looked in the current directory "
                "and in the source tree)",
                s->corpus_name);
    }
}

static bool list_has(const long *v, size_t n, long x)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] == x)
            return true;
    return false;
}

static void list_text(char *dst, size_t cap, const long *v, size_t n)
{
    dst[0] = '\0';
    for (size_t i = 0, used = 0; i < n && used < cap; i++) {
        char num[24];
        snprintf(num, sizeof num, "%ld", v[i]);
        used = spec_check_join(dst, cap, used, i, num);
    }
}

/* A sessions filter list: distinct values, each one of the workload's. */
static void load_subset(spec_check_ctx *c, const spec_check_val *v, const long *all, size_t n_all,
                        const char *what, long **out, size_t *n)
{
    if (!spec_check_long_list(c, v, 0, SPEC_MAX_TOKENS, out, n) || n_all == 0)
        return;
    for (size_t i = 0; i < *n; i++) {
        if (!list_has(all, n_all, (*out)[i])) {
            char list[256];
            list_text(list, sizeof list, all, n_all);
            spec_check_val e = spec_check_elem(v, i);
            spec_check_error_at(c, &e, false, "must be one of the workload's %s (%s)", what, list);
        }
    }
}

static void load_sessions(spec_check_ctx *c, const spec_check_val *v, spec *s)
{
    static const char *const keys[] = {"query_counts", "system_prompt_tokens", "query_tokens"};
    if (!spec_check_object(c, v, keys, N_OF(keys)))
        return;
    spec_check_val m = spec_check_member(v, "query_counts");
    if (!m.absent) {
        long *vals = NULL;
        size_t n = 0;
        if (spec_check_long_list(c, &m, 1, SPEC_MAX_QUERY_COUNT, &vals, &n)) {
            free(s->query_counts);
            s->query_counts = vals;
            s->n_query_counts = n;
        }
    }
    m = spec_check_member(v, "system_prompt_tokens");
    if (!m.absent)
        load_subset(c, &m, s->system_prompt_tokens, s->n_system_prompt_tokens,
                    "system_prompt_tokens", &s->session_system_prompt_tokens,
                    &s->n_session_system_prompt_tokens);
    m = spec_check_member(v, "query_tokens");
    if (!m.absent)
        load_subset(c, &m, s->query_tokens, s->n_query_tokens, "query_tokens",
                    &s->session_query_tokens, &s->n_session_query_tokens);
}

bool spec_mode_on(const spec *s, spec_cache_mode m)
{
    return m == SPEC_COLD ? s->cold : m == SPEC_WARM && s->warm;
}

bool spec_has_cell(const spec *s, long system_prompt_tokens, long query_tokens, long query_count)
{
    if (!list_has(s->system_prompt_tokens, s->n_system_prompt_tokens, system_prompt_tokens) ||
        !list_has(s->query_tokens, s->n_query_tokens, query_tokens) ||
        !list_has(s->query_counts, s->n_query_counts, query_count))
        return false;
    if (query_count == 1)
        return true;
    if (s->n_session_system_prompt_tokens &&
        !list_has(s->session_system_prompt_tokens, s->n_session_system_prompt_tokens,
                  system_prompt_tokens))
        return false;
    if (s->n_session_query_tokens &&
        !list_has(s->session_query_tokens, s->n_session_query_tokens, query_tokens))
        return false;
    return true;
}

static void load_cache_modes(spec_check_ctx *c, const spec_check_val *v, spec *s)
{
    if (!spec_check_array(c, v, true))
        return;
    bool seen[2] = {false, false};
    for (size_t i = 0; i < spec_check_len(v); i++) {
        spec_check_val e = spec_check_elem(v, i);
        int k = spec_check_enum(c, &e, mode_names, N_OF(mode_names));
        if (k < 0)
            continue;
        if (seen[k])
            spec_check_error_at(c, &e, false, "duplicate value \"%s\"", mode_names[k]);
        seen[k] = true;
    }
    s->cold = seen[SPEC_COLD];
    s->warm = seen[SPEC_WARM];
}

static void load_timeouts(spec_check_ctx *c, const spec_check_val *v, spec *s)
{
    static const char *const keys[] = {"connect", "first_token", "total"};
    if (!spec_check_object(c, v, keys, N_OF(keys)))
        return;
    spec_check_val m = spec_check_member(v, "connect");
    if (!m.absent)
        (void)spec_check_double(c, &m, 0, SPEC_MAX_TIMEOUT_S, true, &s->timeout_connect_s);
    spec_check_val ft = spec_check_member(v, "first_token");
    bool ft_ok = !ft.absent &&
                 spec_check_double(c, &ft, 0, SPEC_MAX_TIMEOUT_S, true, &s->timeout_first_token_s);
    spec_check_val tot = spec_check_member(v, "total");
    bool tot_ok =
        !tot.absent && spec_check_double(c, &tot, 0, SPEC_MAX_TIMEOUT_S, true, &s->timeout_total_s);
    if ((ft_ok || tot_ok) && s->timeout_first_token_s > s->timeout_total_s) {
        const spec_check_val *at = tot_ok ? &tot : &ft;
        spec_check_error_at(c, at, false,
                            "the total timeout (%.15g s) must not be shorter than the first-token "
                            "timeout (%.15g s)",
                            s->timeout_total_s, s->timeout_first_token_s);
    }
}

/* ---- hypotheses and stopping ----------------------------------------------------- */

static long list_max(const long *v, size_t n)
{
    long m = -1;
    for (size_t i = 0; i < n; i++)
        if (v[i] > m)
            m = v[i];
    return m;
}

/* What a hypothesis metric needs of the rest of the spec. */
static void metric_needs(spec_check_ctx *c, const spec_check_val *m, const spec *s, int metric,
                         bool lists_ok)
{
    if (metric == SPEC_METRIC_WARM_CAPACITY) {
        if (!s->contention.enabled)
            spec_check_error_at(c, m, false, "metric \"warm_capacity\" needs a contention block");
        return;
    }
    bool need_warm = metric == SPEC_METRIC_SPEEDUP || metric == SPEC_METRIC_SESSION_SPEEDUP;
    if (!s->cold || (need_warm && !s->warm))
        spec_check_error_at(c, m, false, "metric \"%s\" needs cache_modes %s", metric_names[metric],
                            need_warm ? "\"cold\" and \"warm\"" : "\"cold\"");
    if (metric == SPEC_METRIC_PREFILL_MS_PER_TOKEN && lists_ok && s->n_system_prompt_tokens < 2)
        spec_check_error_at(c, m, false,
                            "metric \"prefill_ms_per_token\" needs at least two "
                            "system_prompt_tokens values");
}

/* A hypothesis' metric, checked against what it needs (metric_needs); -1
 * when absent or unknown. */
static int hypothesis_metric(spec_check_ctx *c, const spec_check_val *v, const spec *s,
                             spec_hypothesis *h, bool lists_ok)
{
    spec_check_val m = spec_check_member(v, "metric");
    int metric = -1;
    if (spec_check_required(c, &m))
        metric = spec_check_enum(c, &m, metric_names, N_OF(metric_names));
    if (metric < 0)
        return metric;
    h->metric = (spec_metric)metric;
    metric_needs(c, &m, s, metric, lists_ok);
    return metric;
}

/* The optional target a hypothesis is about: one of the spec's targets. */
static void hypothesis_target(spec_check_ctx *c, const spec_check_val *v, const spec *s,
                              spec_hypothesis *h)
{
    spec_check_val m = spec_check_member(v, "target");
    if (m.absent || !spec_check_string(c, &m, true, &h->target))
        return;
    bool found = false;
    for (size_t i = 0; i < s->n_targets && !found; i++)
        found = s->targets[i].name && strcmp(s->targets[i].name, h->target) == 0;
    if (!found)
        spec_check_error_at(c, &m, false, "no target is named \"%s\"", h->target);
}

/* at_system_prompt_tokens: one of the workload's lengths; by default the
 * longest. overhead_fraction needs one above 0. */
static void hypothesis_system_prompt(spec_check_ctx *c, const spec_check_val *v, const spec *s,
                                     spec_hypothesis *h, bool lists_ok, int metric)
{
    spec_check_val m = spec_check_member(v, "at_system_prompt_tokens");
    if (!m.absent) {
        if (spec_check_long(c, &m, 0, SPEC_MAX_TOKENS, &h->system_prompt_tokens) && lists_ok &&
            !list_has(s->system_prompt_tokens, s->n_system_prompt_tokens,
                      h->system_prompt_tokens)) {
            char list[256];
            list_text(list, sizeof list, s->system_prompt_tokens, s->n_system_prompt_tokens);
            spec_check_error_at(c, &m, false,
                                "must be one of the workload's system_prompt_tokens (%s)", list);
        }
    } else if (lists_ok) {
        h->system_prompt_tokens = list_max(s->system_prompt_tokens, s->n_system_prompt_tokens);
    }
    if (metric == SPEC_METRIC_OVERHEAD_FRACTION && h->system_prompt_tokens == 0)
        spec_check_error_at(c, m.absent ? v : &m, false,
                            "overhead_fraction needs a system prompt length greater than 0");
}

/* at_query_count: session_speedup only, one of the sessions' query counts
 * (by default the largest), and a session of that length must be planned at
 * the hypothesis' system prompt length. */
static void hypothesis_query_count(spec_check_ctx *c, const spec_check_val *v, const spec *s,
                                   spec_hypothesis *h, bool lists_ok, int metric)
{
    spec_check_val m = spec_check_member(v, "at_query_count");
    if (!m.absent) {
        if (metric >= 0 && metric != SPEC_METRIC_SESSION_SPEEDUP)
            spec_check_error_at(c, &m, true, "applies only to metric \"session_speedup\"");
        else if (spec_check_long(c, &m, 1, SPEC_MAX_QUERY_COUNT, &h->query_count) &&
                 !list_has(s->query_counts, s->n_query_counts, h->query_count)) {
            char list[256];
            list_text(list, sizeof list, s->query_counts, s->n_query_counts);
            spec_check_error_at(c, &m, false, "must be one of the sessions' query_counts (%s)",
                                list);
        }
    } else if (metric == SPEC_METRIC_SESSION_SPEEDUP) {
        h->query_count = list_max(s->query_counts, s->n_query_counts);
    }
    if (metric != SPEC_METRIC_SESSION_SPEEDUP || !lists_ok || h->query_count <= 0 ||
        h->system_prompt_tokens < 0)
        return;
    bool planned = false;
    for (size_t i = 0; i < s->n_query_tokens && !planned; i++)
        planned = spec_has_cell(s, h->system_prompt_tokens, s->query_tokens[i], h->query_count);
    if (!planned)
        spec_check_error_at(c, m.absent ? v : &m, false,
                            "no session of %ld queries is planned at %ld system prompt tokens "
                            "(see $.sessions)",
                            h->query_count, h->system_prompt_tokens);
}

/* An object's required, non-empty string `key` (the spec's name, a
 * hypothesis' id) and its optional "description". */
static void load_label(spec_check_ctx *c, const spec_check_val *v, const char *key, char **label,
                       char **description)
{
    spec_check_val m = spec_check_member(v, key);
    if (spec_check_required(c, &m))
        (void)spec_check_string(c, &m, true, label);
    m = spec_check_member(v, "description");
    if (!m.absent)
        (void)spec_check_string(c, &m, false, description);
}

/* min and max: at least one, min <= max. */
static void hypothesis_bounds(spec_check_ctx *c, const spec_check_val *v, spec_hypothesis *h)
{
    spec_check_val mn = spec_check_member(v, "min");
    spec_check_val mx = spec_check_member(v, "max");
    bool mn_ok = !mn.absent && spec_check_double(c, &mn, -1e300, 1e300, false, &h->min);
    bool mx_ok = !mx.absent && spec_check_double(c, &mx, -1e300, 1e300, false, &h->max);
    if (mn.absent && mx.absent)
        spec_check_error_at(c, v, false, "needs \"min\", \"max\" or both");
    if (mn_ok && mx_ok && h->min > h->max)
        spec_check_error_at(c, &mx, false, "must not be less than min (%.15g > %.15g)", h->min,
                            h->max);
}

static void load_hypothesis(spec_check_ctx *c, const spec_check_val *v, spec *s, spec_hypothesis *h,
                            bool lists_ok)
{
    static const char *const keys[] = {
        "id",  "description", "metric", "target", "at_system_prompt_tokens", "at_query_count",
        "min", "max"};
    h->min = NAN;
    h->max = NAN;
    h->system_prompt_tokens = -1;
    h->query_count = -1;
    if (!spec_check_object(c, v, keys, N_OF(keys)))
        return;
    load_label(c, v, "id", &h->id, &h->description);
    int metric = hypothesis_metric(c, v, s, h, lists_ok);
    hypothesis_target(c, v, s, h);
    hypothesis_system_prompt(c, v, s, h, lists_ok, metric);
    hypothesis_query_count(c, v, s, h, lists_ok, metric);
    hypothesis_bounds(c, v, h);
}

typedef struct hypotheses_ctx {
    spec *s;
    bool lists_ok; /* the workload has lengths and session lengths to check against */
} hypotheses_ctx;

/* Hypothesis i of the array; its id must not repeat an earlier one's. */
static void load_hypothesis_at(spec_check_ctx *c, const spec_check_val *e, size_t i, void *arg)
{
    const hypotheses_ctx *h = arg;
    spec_hypothesis *all = h->s->hypotheses;
    load_hypothesis(c, e, h->s, &all[i], h->lists_ok);
    for (size_t k = 0; k < i && all[i].id; k++) {
        if (all[k].id && strcmp(all[k].id, all[i].id) == 0) {
            spec_check_val id = spec_check_member(e, "id");
            spec_check_error_at(c, &id, false, "duplicate hypothesis id \"%s\"", all[i].id);
            break;
        }
    }
}

static void load_hypotheses(spec_check_ctx *c, const spec_check_val *v, spec *s, bool lists_ok)
{
    if (!spec_check_array(c, v, false))
        return;
    size_t n = spec_check_len(v);
    if (n == 0)
        return;
    s->hypotheses = spec_check_alloc(c, n, sizeof *s->hypotheses);
    if (!s->hypotheses)
        return;
    s->n_hypotheses = n;
    hypotheses_ctx h = {s, lists_ok};
    spec_check_each(c, v, load_hypothesis_at, &h);
}

static void load_stop(spec_check_ctx *c, const spec_check_val *v, spec *s)
{
    static const char *const keys[] = {"target_rel_ci", "min_repetitions", "max_trials",
                                       "max_minutes"};
    if (!spec_check_object(c, v, keys, N_OF(keys)))
        return;
    s->stop.enabled = true;
    s->stop.min_repetitions = s->repetitions < 3 ? s->repetitions : 3;
    spec_check_val m = spec_check_member(v, "target_rel_ci");
    if (spec_check_required(c, &m))
        (void)spec_check_double(c, &m, 0, 1, true, &s->stop.target_rel_ci);
    m = spec_check_member(v, "min_repetitions");
    if (!m.absent && spec_check_long(c, &m, 1, SPEC_MAX_REPETITIONS, &s->stop.min_repetitions) &&
        s->stop.min_repetitions > s->repetitions)
        spec_check_error_at(c, &m, false, "must not exceed repetitions (%ld)", s->repetitions);
    m = spec_check_member(v, "max_trials");
    if (!m.absent)
        (void)spec_check_long(c, &m, 0, 100000000L, &s->stop.max_trials);
    m = spec_check_member(v, "max_minutes");
    if (!m.absent)
        (void)spec_check_double(c, &m, 0, 1e7, false, &s->stop.max_minutes);
}

/* ---- the whole spec ----------------------------------------------------------------- */

static void set_defaults(spec *s)
{
    s->seed = 1;
    s->max_output_tokens = 1;
    s->temperature = 0;
    s->cold = s->warm = true;
    s->repetitions = 5;
    s->warmup_requests = 2;
    s->order = SPEC_ORDER_RANDOM;
    s->timeout_connect_s = 10;
    s->timeout_first_token_s = 600;
    s->timeout_total_s = 900;
    s->retries = 3;
    s->concurrency = 1;
}

static void load_order(spec_check_ctx *c, const spec_check_val *v, spec *s)
{
    int k = spec_check_enum(c, v, order_names, N_OF(order_names));
    if (k >= 0)
        s->order = (spec_order)k;
}

/* Loads root's member key with load when the spec has it. */
static void load_opt(spec_check_ctx *c, const spec_check_val *root, const char *key, spec *s,
                     void (*load)(spec_check_ctx *, const spec_check_val *, spec *))
{
    spec_check_val m = spec_check_member(root, key);
    if (!m.absent)
        load(c, &m, s);
}

/* Root's member key, when the spec has it, as an integer in [lo, hi] into *dst. */
static void load_opt_long(spec_check_ctx *c, const spec_check_val *root, const char *key, long lo,
                          long hi, long *dst)
{
    spec_check_val m = spec_check_member(root, key);
    if (!m.absent)
        (void)spec_check_long(c, &m, lo, hi, dst);
}

static void load_spec(spec_check_ctx *c, const spec_check_val *root, spec *s)
{
    static const char *const keys[] = {
        "name",      "description", "seed",        "targets",         "workload",
        "sessions",  "cache_modes", "repetitions", "warmup_requests", "order",
        "timeouts",  "retries",     "concurrency", "hypotheses",      "stop",
        "contention"};
    if (!spec_check_object(c, root, keys, N_OF(keys)))
        return;
    load_label(c, root, "name", &s->name, &s->description);
    spec_check_val m = spec_check_member(root, "seed");
    long seed = 1;
    if (!m.absent && spec_check_long(c, &m, 0, SPEC_MAX_SEED, &seed))
        s->seed = (uint64_t)seed;
    m = spec_check_member(root, "targets");
    load_targets(c, &m, s);
    m = spec_check_member(root, "workload");
    load_workload(c, &m, s);
    load_opt(c, root, "sessions", s, load_sessions);
    load_opt(c, root, "cache_modes", s, load_cache_modes);
    load_opt_long(c, root, "repetitions", 1, SPEC_MAX_REPETITIONS, &s->repetitions);
    load_opt_long(c, root, "warmup_requests", 0, SPEC_MAX_WARMUP, &s->warmup_requests);
    load_opt(c, root, "order", s, load_order);
    load_opt(c, root, "timeouts", s, load_timeouts);
    load_opt_long(c, root, "retries", 0, SPEC_MAX_RETRIES, &s->retries);
    load_opt_long(c, root, "concurrency", 1, SPEC_MAX_CONCURRENCY, &s->concurrency);
    bool lists_ok = s->n_system_prompt_tokens > 0 && s->n_query_counts > 0;
    m = spec_check_member(root, "contention"); /* before the hypotheses: warm_capacity needs it */
    if (!m.absent)
        spec_contention_load(c, &m, &s->contention);
    m = spec_check_member(root, "hypotheses");
    if (!m.absent)
        load_hypotheses(c, &m, s, lists_ok);
    load_opt(c, root, "stop", s, load_stop);
}

void spec_free(spec *s)
{
    if (!s)
        return;
    free(s->path);
    free(s->name);
    free(s->description);
    free(s->canonical);
    for (size_t i = 0; i < s->n_targets; i++) {
        spec_target *t = &s->targets[i];
        free(t->name);
        free(t->base_url);
        free(t->model);
        free(t->api_key_env);
        free(t->ca_file);
        for (size_t k = 0; k < t->n_headers; k++) {
            free(t->headers[k].name);
            free(t->headers[k].value);
        }
        free(t->headers);
    }
    free(s->targets);
    free(s->system_prompt_tokens);
    free(s->query_tokens);
    free(s->corpus);
    free(s->corpus_name);
    free(s->query_counts);
    free(s->session_system_prompt_tokens);
    free(s->session_query_tokens);
    for (size_t i = 0; i < s->n_hypotheses; i++) {
        free(s->hypotheses[i].id);
        free(s->hypotheses[i].description);
        free(s->hypotheses[i].target);
    }
    free(s->hypotheses);
    free(s->contention.agents);
    free(s->contention.trace);
    free(s->contention.trace_ids);
    free(s);
}

static kv_status report(spec_check_ctx *c, char *err, kv_buf *all)
{
    if (c->nomem)
        return kv_fail(err, KV_ERR_NOMEM, "%s: out of memory", c->name);
    size_t n = spec_check_sort(c);
    if (n == 0)
        return KV_OK;
    for (size_t i = 0; all && i < n; i++)
        if (kv_buf_appendf(all, "%s\n", c->errs[i].msg) != KV_OK)
            break;
    return kv_fail(err, KV_ERR_INPUT, "%s", c->errs[0].msg);
}

kv_status spec_parse_all(const char *text, size_t len, const char *name, spec **out, char *err,
                         kv_buf *all)
{
    *out = NULL;
    spec_check_ctx c = {.name = name, .text = text};
    spec_pnode *pos = NULL;
    cJSON *json = NULL;
    spec *s = NULL;
    kv_status st = KV_OK;
    char msg[KV_ERRLEN] = "";
    char where[SPEC_PATH_LEN] = "$";
    size_t off = 0;

    st = spec_pos_scan(text, len, &pos, &off, where, msg);
    if (st == KV_ERR_NOMEM) {
        st = kv_fail(err, st, "%s: out of memory", name);
        goto out;
    }
    if (st != KV_OK) {
        spec_check_error_off(&c, off, where, "syntax error: %s", msg);
        goto report;
    }
    const char *end = NULL;
    json = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!json) {
        size_t at = end && end >= text && end <= text + len ? (size_t)(end - text) : 0;
        spec_check_error_off(&c, at, "$", "syntax error: cJSON could not parse the text here");
        goto report;
    }
    s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(name)) || !(s->corpus_name = strdup(SPEC_DEFAULT_CORPUS)) ||
        !(s->query_counts = malloc(sizeof *s->query_counts))) {
        st = kv_fail(err, KV_ERR_NOMEM, "%s: out of memory", name);
        goto out;
    }
    set_defaults(s);
    s->query_counts[0] = 1;
    s->n_query_counts = 1;
    spec_check_val root = spec_check_root(json, pos);
    load_spec(&c, &root, s);
    if (c.n_errs == 0 && !c.nomem && !s->corpus && !resolve_corpus(s->corpus_name, &s->corpus))
        spec_check_error_off(&c, 0, "$.workload.corpus",
                             "cannot read the default corpus \"%s\" (looked in the current "
                             "directory and in the source tree %s)",
                             s->corpus_name, KVPROOF_SOURCE_DIR);
report:
    st = report(&c, err, all);
    if (st != KV_OK)
        goto out;
    st = spec_canon_json(s, &s->canonical);
    if (st != KV_OK) {
        st = kv_fail(err, st, "%s: cannot write the canonical form", name);
        goto out;
    }
    s->hash = kv_hash64(s->canonical, strlen(s->canonical), 0);
    *out = s;
    s = NULL;
out:
    spec_free(s);
    cJSON_Delete(json);
    spec_pos_free(pos);
    spec_check_ctx_clear(&c);
    return st;
}

kv_status spec_parse(const char *text, size_t len, const char *name, spec **out, char *err)
{
    return spec_parse_all(text, len, name, out, err, NULL);
}

kv_status spec_load_all(const char *path, spec **out, char *err, kv_buf *all)
{
    *out = NULL;
    char *text = NULL;
    size_t len = 0;
    kv_status st = kv_read_file_max(path, SPEC_READ_MAX, &text, &len, err);
    if (st != KV_OK)
        return st;
    st = spec_parse_all(text, len, path, out, err, all);
    free(text);
    return st;
}

kv_status spec_load(const char *path, spec **out, char *err)
{
    return spec_load_all(path, out, err, NULL);
}
