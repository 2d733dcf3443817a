/* report_md.c - the Markdown summary of a results.json (report_md.h).
 *
 * Divided into: cell text (escaping for tables), the title and verdict, the
 * headline table, the hypotheses, the environment. Every writer appends to
 * one kv_buf and keeps its first failure in the md state.
 */
#include "report/report_md.h"

#include <math.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "report/fmt.h"
#include "report/results_read.h"

typedef struct md {
    kv_buf *b;
    kv_status st; /* the first append failure */
} md;

static void put(md *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(md *m, const char *fmt, ...)
{
    if (m->st != KV_OK)
        return;
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    m->st = kv_buf_append(m->b, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

/* s on one line: '|' escaped (it would end a table cell), line breaks as
 * spaces. */
static void text(md *m, const char *s)
{
    for (const char *p = s ? s : ""; *p && m->st == KV_OK; p++) {
        if (*p == '|')
            put(m, "\\|");
        else if (*p == '\n' || *p == '\r')
            put(m, " ");
        else
            m->st = kv_buf_append(m->b, p, 1);
    }
}

static void cell(md *m, const char *s)
{
    put(m, " ");
    text(m, s);
    put(m, " |");
}

static void cell_est(md *m, const rr_est *e, double scale, const char *unit)
{
    char t[256];
    cell(m, fmt_est(e, scale, unit, t, sizeof t));
}

static const char *level_text(double level, char *out, size_t cap)
{
    snprintf(out, cap, "%.0f%%", isnan(level) ? 95.0 : 100 * level);
    return out;
}

/* ---- title and verdict ----------------------------------------------------- */

static void title_write(md *m, const rr_results *r)
{
    put(m, "### kvproof: %s\n\n", r->spec_name[0] ? r->spec_name : "results");
    if (r->simulated)
        put(m, "> **SIMULATED TARGET**: the numbers come from kvproof's reference server, "
               "not a real LLM.\n\n");
    if (r->partial)
        put(m, "> **Partial run**: not every planned trial ran (%ld of %ld completed).\n\n",
            r->completed, r->planned);
    put(m, "**Verdict:** ");
    text(m, r->summary[0] ? r->summary : "no verdict (see the report)");
    put(m, "\n\n");
}

/* ---- headline table ----------------------------------------------------- */

_Static_assert(offsetof(rr_speedup, system_prompt_tokens) ==
                       offsetof(rr_overhead, system_prompt_tokens) &&
                   offsetof(rr_speedup, query_tokens) == offsetof(rr_overhead, query_tokens),
               "rr_speedup and rr_overhead open with the same cell");

/* The row at system prompt sys with the fewest query tokens among n rows of
 * size bytes laid out as rr_speedup's cell (rr_speedup, rr_overhead), or
 * NULL. */
static const void *fewest_query_at(const void *rows, size_t n, size_t size, long sys)
{
    const void *best = NULL;
    long best_q = 0;
    for (size_t i = 0; i < n; i++) {
        const char *row = (const char *)rows + i * size;
        long s, q;
        memcpy(&s, row + offsetof(rr_speedup, system_prompt_tokens), sizeof s);
        memcpy(&q, row + offsetof(rr_speedup, query_tokens), sizeof q);
        if (s == sys && (!best || q < best_q)) {
            best = row;
            best_q = q;
        }
    }
    return best;
}

static const rr_speedup *speedup_at(const rr_target *t, long sys)
{
    return fewest_query_at(t->speedup, t->n_speedup, sizeof *t->speedup, sys);
}

static const rr_overhead *overhead_at(const rr_target *t, long sys)
{
    return fewest_query_at(t->overhead, t->n_overhead, sizeof *t->overhead, sys);
}

static void headline_write(md *m, const rr_results *r)
{
    static const rr_est none = {0};
    char lv[16], n[32];
    long sys = r->v_system_prompt_tokens;
    level_text(r->confidence_level, lv, sizeof lv);
    put(m,
        "| target | model | cold prefill, ms/token [%s CI] | prefill, tokens/s [%s CI] | "
        "system prompt share of cold TTFT at %s tokens | warm-vs-cold speedup at %s tokens "
        "|\n|---|---|---|---|---|---|\n",
        lv, lv, fmt_long(sys, n, sizeof n), n);
    for (size_t t = 0; t < r->n_targets; t++) {
        const rr_target *tg = &r->targets[t];
        const rr_overhead *o = overhead_at(tg, sys);
        const rr_speedup *s = speedup_at(tg, sys);
        put(m, "|");
        cell(m, tg->name);
        cell(m, tg->model[0] ? tg->model : "?");
        cell_est(m, &tg->cold_ttft.prefill_ms_per_token, 1, "");
        cell_est(m, &tg->cold_ttft.prefill_tokens_per_second, 1, "");
        cell_est(m, o ? &o->estimate : &none, 100, " %");
        cell_est(m, s ? &s->speedup : &none, 1, "×");
        put(m, "\n");
    }
    put(m, "\n");
}

/* ---- hypotheses ------------------------------------------------------------ */

static void hypotheses_write(md *m, const rr_results *r)
{
    if (r->n_hypotheses == 0)
        return;
    put(m, "**Pre-registered hypotheses**\n\n| id | hypothesis | criterion | estimate | "
           "verdict |\n|---|---|---|---|---|\n");
    for (size_t i = 0; i < r->n_hypotheses; i++) {
        const rr_hypothesis *h = &r->hypotheses[i];
        char crit[256], verdict[64];
        snprintf(crit, sizeof crit, "%s%s%s %s", h->metric, h->target[0] ? " on " : "", h->target,
                 h->criterion);
        snprintf(verdict, sizeof verdict, "**%s**", h->verdict[0] ? h->verdict : "no verdict");
        put(m, "|");
        cell(m, h->id);
        cell(m, h->description);
        cell(m, crit);
        cell_est(m, &h->estimate, 1, "");
        cell(m, verdict);
        put(m, "\n");
    }
    put(m, "\n");
}

/* ---- contention ------------------------------------------------------------- */

static void contention_write(md *m, const rr_results *r)
{
    const rr_contention *c = &r->contention;
    char a[64], b[64], k[32], l[32];
    if (!c->present)
        return;
    put(m, "**How many sessions stay warm**\n\n");
    text(m, c->summary);
    put(m, "\n\n");
    for (size_t i = 0; i < c->n_caps; i++) {
        const rr_warm_capacity *w = &c->caps[i];
        put(m, "- `%s`, %s-token prompts: warm capacity %s agent%s (bounds %s to %s%s)", w->target,
            fmt_long(w->system_prompt_tokens, a, sizeof a), fmt_long(w->capacity, k, sizeof k),
            w->capacity == 1 ? "" : "s", fmt_long(w->low, l, sizeof l),
            w->high_open ? "at least " : "", fmt_long(w->high, b, sizeof b));
        if (w->cold_from > 0)
            put(m, "; below 50%% from %s agents", fmt_long(w->cold_from, a, sizeof a));
        put(m, "\n");
    }
    put(m,
        "\n| target | agents | hit rate | median TTFT (ms) | %s-request session, cache / none "
        "(s) |\n|---|---|---|---|---|\n",
        fmt_long(c->session_requests, k, sizeof k));
    for (size_t i = 0; i < c->n_groups; i++) {
        const rr_warm_group *g = &c->groups[i];
        char sess[160];
        snprintf(sess, sizeof sess, "%s / %s",
                 fmt_num(g->session_with_cache_s.est.value, a, sizeof a),
                 fmt_num(g->session_without_cache_s.est.value, b, sizeof b));
        put(m, "|");
        cell(m, g->target);
        cell(m, fmt_long(g->agents, k, sizeof k));
        cell_est(m, &g->hit_rate, 100, " %");
        cell_est(m, &g->median_ttft_ms, 1, "");
        cell(m, sess);
        put(m, "\n");
    }
    put(m, "\n");
}

/* ---- environment ------------------------------------------------------------ */

static void environment_write(md *m, const rr_results *r)
{
    char a[32], b[32], c[32], d[32];
    put(m, "**Environment**\n\n");
    for (size_t i = 0; i < r->n_env_targets; i++) {
        const rr_env_target *t = &r->env_targets[i];
        bool said = strstr(t->server_version, "simulated") != NULL;
        put(m, "- target `%s`: %s, model %s, server version %s%s\n", t->name,
            t->dialect[0] ? t->dialect : "dialect unknown", t->model[0] ? t->model : "unknown",
            t->server_version[0] ? t->server_version : "unknown",
            t->simulated && !said ? " (simulated)" : "");
    }
    put(m, "- client: %s\n", r->client_host[0] ? r->client_host : "unknown");
    put(m, "- kvproof %s; spec `%s` (hash %s), seed %s, %s order, %s repetitions, run %s\n",
        r->kvproof_version[0] ? r->kvproof_version : "?", r->spec_name, r->spec_hash,
        r->seed[0] ? r->seed : "?", r->order[0] ? r->order : "?",
        fmt_long(r->repetitions, a, sizeof a), r->run_date[0] ? r->run_date : "date unknown");
    put(m, "- trials: %s planned, %s completed, %s failed, %s contaminated\n\n",
        fmt_long(r->planned, a, sizeof a), fmt_long(r->completed, b, sizeof b),
        fmt_long(r->failed, c, sizeof c), fmt_long(r->contaminated, d, sizeof d));
}

kv_status report_md_write(const char *results_json_path, const char *pdf_name, kv_buf *out,
                          char *err)
{
    rr_results *r = NULL;
    kv_status st = results_read_load(results_json_path, &r, err);
    if (st != KV_OK)
        return st;
    md m = {out, KV_OK};
    title_write(&m, r);
    headline_write(&m, r);
    hypotheses_write(&m, r);
    contention_write(&m, r);
    environment_write(&m, r);
    put(&m, "full report: %s\n", pdf_name ? pdf_name : "report.pdf");
    results_read_free(r);
    if (m.st != KV_OK)
        return kv_fail(err, m.st, "out of memory writing the Markdown summary");
    return KV_OK;
}
