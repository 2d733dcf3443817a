/* spec_contention.c - the contention block of a spec: agents, pattern,
 * main share, trace file, requests per agent and concurrency; its trace
 * reader; its canonical JSON. */
#include "experiments/spec_contention.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/status.h"
#include "common/util.h"
#include "experiments/spec_check.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_REQUESTS_PER_AGENT 100000L
#define MAX_CONC 256L
#define MAX_TRACE 1000000L

static const char *const pattern_names[] = {"round_robin", "random", "main_with_subagents",
                                            "trace"};

const char *spec_contention_pattern_name(spec_pattern p)
{
    return (unsigned)p < N_OF(pattern_names) ? pattern_names[p] : "?";
}

/* ---- the trace file ---- */

/* The trace path: relative to the spec file's directory, else as given. */
static char *trace_path(const char *spec_path, const char *rel)
{
    const char *slash = strrchr(spec_path, '/');
    if (rel[0] != '/' && slash) {
        size_t dir = (size_t)(slash - spec_path) + 1, n = dir + strlen(rel) + 1;
        char *p = malloc(n);
        if (!p)
            return NULL;
        snprintf(p, n, "%.*s%s", (int)dir, spec_path, rel);
        FILE *f = fopen(p, "rb");
        if (f) {
            fclose(f);
            return p;
        }
        free(p);
    }
    return kv_strdup(rel);
}

/* One line: an id, or blank / a # comment (-1). -2 = not an id. */
static long trace_line(char *line)
{
    char *p = line;
    while (isspace((unsigned char)*p))
        p++;
    if (*p == '\0' || *p == '#')
        return -1;
    if (!isdigit((unsigned char)*p))
        return -2;
    errno = 0;
    char *end = NULL;
    long v = strtol(p, &end, 10);
    while (isspace((unsigned char)*end))
        end++;
    if (errno || *end != '\0' || v >= SPEC_MAX_AGENTS)
        return -2;
    return v;
}

static bool trace_push(spec_contention *k, long id)
{
    if (k->n_trace == 0 || (k->n_trace >= 16 && (k->n_trace & (k->n_trace - 1)) == 0)) {
        size_t cap = k->n_trace ? 2 * k->n_trace : 16;
        long *p = realloc(k->trace_ids, cap * sizeof *p);
        if (!p)
            return false;
        k->trace_ids = p;
    }
    k->trace_ids[k->n_trace++] = id;
    return true;
}

static void load_trace(spec_check_ctx *c, const spec_check_val *v, spec_contention *k)
{
    char *path = trace_path(c->name, k->trace), *text = NULL, err[KV_ERRLEN] = "";
    size_t len = 0;
    if (!path || kv_read_file(path, &text, &len, err) != KV_OK) {
        spec_check_error_at(c, v, false, "cannot read the trace file \"%s\"", k->trace);
        free(path);
        return;
    }
    long line_no = 0;
    bool bad = false;
    for (char *line = text, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        line_no++;
        long id = trace_line(line);
        if (id == -2) {
            spec_check_error_at(c, v, false,
                                "%s:%ld: expected an agent id (an integer 0..%ld), got \"%.40s\"",
                                k->trace, line_no, SPEC_MAX_AGENTS - 1, line);
            bad = true;
            break;
        }
        if (id >= 0 && ((long)k->n_trace >= MAX_TRACE || !trace_push(k, id))) {
            spec_check_error_at(c, v, false, "%s: more than %ld requests", k->trace, MAX_TRACE);
            bad = true;
            break;
        }
    }
    if (!bad && k->n_trace == 0)
        spec_check_error_at(c, v, false, "%s: the trace has no agent ids", k->trace);
    free(text);
    free(path);
}

/* The trace's agent count: its largest id + 1. */
static bool trace_agents(spec_contention *k)
{
    long most = 0;
    for (size_t i = 0; i < k->n_trace; i++)
        if (k->trace_ids[i] + 1 > most)
            most = k->trace_ids[i] + 1;
    k->agents = malloc(sizeof *k->agents);
    if (!k->agents)
        return false;
    k->agents[0] = most;
    k->n_agents = 1;
    return true;
}

/* ---- the block ---- */

/* A key that only one pattern takes. */
static void only_with(spec_check_ctx *c, const spec_check_val *v, const char *what)
{
    if (!v->absent)
        spec_check_error_at(c, v, true, "only with %s", what);
}

static void load_pattern_keys(spec_check_ctx *c, const spec_check_val *v, spec_contention *k)
{
    spec_check_val m = spec_check_member(v, "main_share");
    if (k->pattern == SPEC_PATTERN_MAIN_WITH_SUBAGENTS) {
        if (spec_check_required(c, &m))
            (void)spec_check_double(c, &m, 0, 1, true, &k->main_share);
        if (k->main_share >= 1) {
            spec_check_error_at(c, &m, false, "must be below 1 (the subagents need a share)");
            k->main_share = NAN;
        }
    } else {
        only_with(c, &m, "\"pattern\": \"main_with_subagents\"");
    }
    m = spec_check_member(v, "trace");
    spec_check_val agents = spec_check_member(v, "agents"),
                   rpa = spec_check_member(v, "requests_per_agent");
    if (k->pattern != SPEC_PATTERN_TRACE) {
        only_with(c, &m, "\"pattern\": \"trace\"");
        if (spec_check_required(c, &agents))
            (void)spec_check_long_list(c, &agents, 1, SPEC_MAX_AGENTS, &k->agents, &k->n_agents);
        if (!rpa.absent)
            (void)spec_check_long(c, &rpa, 1, MAX_REQUESTS_PER_AGENT, &k->requests_per_agent);
        return;
    }
    if (!agents.absent)
        spec_check_error_at(c, &agents, true, "not with a trace (the trace's ids give the agents)");
    if (!rpa.absent)
        spec_check_error_at(c, &rpa, true, "not with a trace (the trace gives every request)");
    k->requests_per_agent = 0;
    if (spec_check_required(c, &m) && spec_check_string(c, &m, true, &k->trace))
        load_trace(c, &m, k);
    if (k->n_trace > 0 && !trace_agents(k))
        c->nomem = true;
}

void spec_contention_load(spec_check_ctx *c, const spec_check_val *v, spec_contention *k)
{
    /* trace_hash: written by spec_contention_canon, so an embedded canonical
     * spec parses again; its value is not read (the ids are hashed anew). */
    static const char *const keys[] = {"agents",     "pattern",    "main_share",
                                       "trace",      "trace_hash", "requests_per_agent",
                                       "concurrency"};
    k->main_share = NAN;
    k->requests_per_agent = 10;
    k->concurrency = 0;
    if (!spec_check_object(c, v, keys, N_OF(keys)))
        return;
    k->enabled = true;
    spec_check_val m = spec_check_member(v, "pattern");
    if (!m.absent) {
        int p = spec_check_enum(c, &m, pattern_names, N_OF(pattern_names));
        if (p < 0)
            return;
        k->pattern = (spec_pattern)p;
    }
    load_pattern_keys(c, v, k);
    m = spec_check_member(v, "concurrency");
    if (!m.absent && spec_check_long(c, &m, 0, MAX_CONC, &k->concurrency)) {
        long most = 0;
        for (size_t i = 0; i < k->n_agents; i++)
            most = k->agents[i] > most ? k->agents[i] : most;
        if (most > 0 && k->concurrency > most)
            spec_check_error_at(c, &m, false, "must not exceed the largest agent count (%ld)",
                                most);
    }
}

/* ---- canonical form ---- */

bool spec_contention_canon(cJSON *root, const spec_contention *k)
{
    if (!k->enabled)
        return true;
    cJSON *o = cJSON_AddObjectToObject(root, "contention");
    cJSON *a = o ? cJSON_AddArrayToObject(o, "agents") : NULL;
    if (!a)
        return false;
    for (size_t i = 0; i < k->n_agents; i++)
        if (!cJSON_AddItemToArray(a, cJSON_CreateNumber((double)k->agents[i])))
            return false;
    if (!cJSON_AddStringToObject(o, "pattern", spec_contention_pattern_name(k->pattern)))
        return false;
    cJSON *share = isnan(k->main_share) ? cJSON_AddNullToObject(o, "main_share")
                                        : cJSON_AddNumberToObject(o, "main_share", k->main_share);
    char hash[17] = "";
    if (k->n_trace)
        snprintf(hash, sizeof hash, "%016llx",
                 (unsigned long long)kv_hash64(k->trace_ids, k->n_trace * sizeof *k->trace_ids, 3));
    return share &&
           (k->trace ? cJSON_AddStringToObject(o, "trace", k->trace)
                     : cJSON_AddNullToObject(o, "trace")) &&
           (k->n_trace ? cJSON_AddStringToObject(o, "trace_hash", hash)
                       : cJSON_AddNullToObject(o, "trace_hash")) &&
           cJSON_AddNumberToObject(o, "requests_per_agent", (double)k->requests_per_agent) &&
           cJSON_AddNumberToObject(o, "concurrency", (double)k->concurrency);
}
