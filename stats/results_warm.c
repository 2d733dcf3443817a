/* results_warm.c - the "contention" section of results.json
 * (results_warm.h): groups, warm capacities and their sentences, and the
 * warm_capacity estimate the hypotheses judge.
 *
 * Divided into: estimates from stats/warm.h; one group; the capacity sentence;
 * one capacity; the section.
 */
#include "stats/results_warm.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* A target's name: its result's, else the journal header's. */
static const char *name_of(const results_ctx *c, const results_target *tss, size_t nt, size_t t)
{
    if (t < nt)
        return tss[t].name;
    return t < c->h->n_targets ? c->h->targets[t].name : "?";
}

/* ---- estimates ----------------------------------------------------------- */

static void est_of(results_est *e, const estimate *w, const char *method, const char *none)
{
    memset(e, 0, sizeof *e);
    e->est = *w;
    e->est.has_ci = w->has_ci && isfinite(w->lo) && isfinite(w->hi);
    snprintf(e->method, sizeof e->method, "%s", method);
    if (!isfinite(w->value))
        snprintf(e->note, sizeof e->note, "%s", none);
    else if (!e->est.has_ci)
        snprintf(e->note, sizeof e->note, "one value: no interval");
}

#define MEDIAN_METHOD                                                                              \
    "median, exact binomial rank interval (level achieved; fewer than 6 values: [min, max] at "    \
    "1 - 2^(1-n))"

/* ---- one group ----------------------------------------------------------- */

static void classes_write(jsonw *w, const warm_group *g)
{
    static const trial_hit order[] = {TRIAL_HIT_FULL,         TRIAL_HIT_RESTORED,
                                      TRIAL_HIT_PARTIAL,      TRIAL_HIT_MISS,
                                      TRIAL_HIT_INFERRED_HIT, TRIAL_HIT_INFERRED_MISS};
    jsonw_key(w, "classes");
    jsonw_begin_obj(w);
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
        jsonw_kint(w, trial_hit_name(order[i]), (long long)g->classes[order[i]]);
    jsonw_end_obj(w);
}

static void group_write(jsonw *w, const results_ctx *c, const warm_group *g, const char *tname)
{
    results_est e;
    jsonw_begin_obj(w);
    jsonw_kstr(w, "target", tname);
    jsonw_kint(w, "agents", g->agents);
    jsonw_kint(w, "system_prompt_tokens", g->sys);
    jsonw_kint(w, "requests", (long long)g->requests);
    jsonw_kint(w, "failed", (long long)g->failed);
    jsonw_kint(w, "after_resume", (long long)g->resumed);
    jsonw_kint(w, "scored", (long long)g->scored);
    jsonw_kint(w, "hits", (long long)g->hits);
    jsonw_kint(w, "inferred", (long long)g->inferred);
    classes_write(w, g);
    jsonw_kint(w, "full_slot_unknown", (long long)g->full_unknown);
    est_of(&e, &g->hit_rate,
           g->inferred ? "hits / requests at position >= 1, Wilson score interval; includes hits "
                         "inferred from TTFT (no cached count)"
                       : "hits / requests at position >= 1, Wilson score interval",
           "no classified request at position >= 1");
    results_kest(w, "hit_rate", &e, c->level);
    est_of(&e, &g->ttft, MEDIAN_METHOD, "no request at position >= 1");
    results_kest(w, "median_ttft_ms", &e, c->level);
    est_of(&e, &g->hit_ttft, MEDIAN_METHOD, "no hit");
    results_kest(w, "hit_ttft_ms", &e, c->level);
    est_of(&e, &g->miss_ttft, MEDIAN_METHOD, "no miss");
    results_kest(w, "miss_ttft_ms", &e, c->level);
    est_of(&e, &g->saving,
           "median miss TTFT - median hit TTFT; interval [miss lo - hit hi, miss hi - hit lo] "
           "from the two rank intervals (level >= the sum of both levels - 1)",
           "needs both hits and misses");
    results_kest(w, "saving_ms", &e, c->level);
    est_of(&e, &g->session_with,
           "first request a miss, each later one a hit with the measured hit rate (medians of "
           "hit and miss TTFT; partial hits as misses); interval from the hit rate's Wilson "
           "interval, medians held fixed",
           "needs a hit rate and a miss TTFT");
    results_kest(w, "session_with_cache_s", &e, c->level);
    est_of(&e, &g->session_without, "every request a miss: requests x median miss TTFT",
           "needs a miss TTFT");
    results_kest(w, "session_without_cache_s", &e, c->level);
    jsonw_end_obj(w);
}

/* ---- the capacity sentence ----------------------------------------------- */

/* "With K agents a 10-request session takes X s with the cache against Y s
 * without" of g, appended to buf at *len; nothing when not computable. */
static void session_clause(char *buf, size_t cap, size_t *len, const warm_group *g)
{
    if (!g || !isfinite(g->session_with.value) || !isfinite(g->session_without.value) ||
        *len >= cap)
        return;
    int k = snprintf(buf + *len, cap - *len,
                     " With %ld agent%s a %d-request session takes %.3g s with the cache against "
                     "%.3g s without (hit rate %.0f%%).",
                     g->agents, g->agents == 1 ? "" : "s", WARM_SESSION_LEN, g->session_with.value,
                     g->session_without.value, 100 * g->hit_rate.value);
    *len = k < 0 ? cap : *len + (size_t)k;
}

static void bounds_clause(char *b, size_t cap, const warm_capacity *k, double level)
{
    if (k->high_open)
        snprintf(b, cap,
                 "%.3g%% bounds from the Wilson intervals: %ld to at least %ld, the "
                 "largest count swept",
                 100 * level, k->low, k->high);
    else
        snprintf(b, cap, "%.3g%% bounds from the Wilson intervals: %ld to %ld", 100 * level, k->low,
                 k->high);
}

static void capacity_sentence(char *buf, size_t cap, const warm_capacity *k, const char *tname,
                              double level)
{
    char b[200], cold[200];
    size_t len = 0;
    bounds_clause(b, sizeof b, k, level);
    if (k->cold_from > 0)
        snprintf(cold, sizeof cold, "the hit rate falls below 50%% at %ld agents", k->cold_from);
    else
        snprintf(cold, sizeof cold, "the hit rate stays at or above 50%% up to %ld agents",
                 k->largest);
    int n;
    if (k->capacity == 0)
        n = snprintf(buf, cap,
                     "%s, %ld-token prompts: no agent count swept stays warm (hit rate >= 90%%; "
                     "%s); %s.",
                     tname, k->sys, b, cold);
    else
        n = snprintf(buf, cap,
                     "%s, %ld-token prompts: %s%ld agent%s warm (hit rate >= 90%%; "
                     "%s); %s.",
                     tname, k->sys,
                     k->high_open && k->capacity == k->largest ? "at least " : "up to ",
                     k->capacity, k->capacity == 1 ? " stays" : "s stay", b, cold);
    len = n < 0 ? 0 : (size_t)n;
    session_clause(buf, cap, &len, k->at_capacity);
    session_clause(buf, cap, &len, k->beyond);
}

/* ---- one capacity -------------------------------------------------------- */

static void knull(jsonw *w, const char *key, long v)
{
    jsonw_key(w, key);
    if (v > 0)
        jsonw_int(w, v);
    else
        jsonw_null(w);
}

static void capacity_write(jsonw *w, const results_ctx *c, const warm_capacity *k,
                           const char *tname)
{
    char sum[1024];
    capacity_sentence(sum, sizeof sum, k, tname, c->level);
    jsonw_begin_obj(w);
    jsonw_kstr(w, "target", tname);
    jsonw_kint(w, "system_prompt_tokens", k->sys);
    jsonw_kint(w, "smallest_swept", k->smallest);
    jsonw_kint(w, "largest_swept", k->largest);
    jsonw_kint(w, "warm_capacity", k->capacity);
    jsonw_kint(w, "warm_capacity_low", k->low);
    jsonw_kint(w, "warm_capacity_high", k->high);
    jsonw_kbool(w, "warm_capacity_high_open", k->high_open);
    knull(w, "cold_from", k->cold_from);
    knull(w, "cold_from_low", k->cold_low);
    knull(w, "cold_from_high", k->cold_high);
    jsonw_kstr(w, "summary", sum);
    jsonw_end_obj(w);
}

/* ---- the section --------------------------------------------------------- */

void results_warm_capacity_est(const results_ctx *c, size_t target, long sys, results_est *e,
                               bool *high_open)
{
    *high_open = false;
    const warm_capacity *k = c->warm ? warm_capacity_find(c->warm, target, sys) : NULL;
    if (!k) {
        results_est_none(e, "no contention requests for this target and length");
        return;
    }
    memset(e, 0, sizeof *e);
    e->est.value = (double)k->capacity;
    e->est.lo = (double)k->low;
    e->est.hi = (double)k->high;
    e->est.has_ci = true;
    e->est.level = c->level;
    for (size_t i = 0; i < c->warm->n_groups; i++) /* n: the agent counts swept */
        e->est.n += c->warm->groups[i].target == target && c->warm->groups[i].sys == k->sys;
    *high_open = k->high_open;
    snprintf(e->method, sizeof e->method,
             "largest swept agent count whose hit rate (and every smaller one's) is >= 90%%; "
             "bounds: the same with each Wilson interval's lower / upper end");
    if (k->high_open)
        snprintf(e->note, sizeof e->note,
                 "upper bound not determined: at least %ld, the largest agent count swept",
                 k->largest);
}

void results_warm_write(jsonw *w, const results_ctx *c, const results_target *tss, size_t nt)
{
    const warm_result *r = c->warm;
    if (!r)
        return;
    const spec_contention *sc = c->s ? &c->s->contention : NULL;
    jsonw_key(w, "contention");
    jsonw_begin_obj(w);
    jsonw_kstr(w, "pattern", sc && sc->enabled ? spec_contention_pattern_name(sc->pattern) : NULL);
    jsonw_key(w, "concurrency");
    if (sc && sc->enabled)
        jsonw_int(w, sc->concurrency);
    else
        jsonw_null(w);
    jsonw_knum(w, "hit_rate_threshold", WARM_HIT_RATE);
    jsonw_knum(w, "cold_rate_threshold", WARM_COLD_RATE);
    jsonw_kint(w, "session_requests", WARM_SESSION_LEN);
    jsonw_key(w, "requests_planned");
    if (c->contention_plan_known)
        jsonw_int(w, (long long)c->contention_planned);
    else
        jsonw_null(w);
    size_t journaled = 0;
    for (size_t i = 0; i < r->n_groups; i++)
        journaled += r->groups[i].requests;
    jsonw_kint(w, "requests_journaled", (long long)journaled);
    jsonw_key(w, "groups");
    jsonw_begin_arr(w);
    for (size_t i = 0; i < r->n_groups; i++)
        group_write(w, c, &r->groups[i], name_of(c, tss, nt, r->groups[i].target));
    jsonw_end_arr(w);
    jsonw_key(w, "capacity");
    jsonw_begin_arr(w);
    for (size_t i = 0; i < r->n_caps; i++)
        capacity_write(w, c, &r->caps[i], name_of(c, tss, nt, r->caps[i].target));
    jsonw_end_arr(w);
    char sum[1024] = "No contention request was journaled.";
    if (r->n_caps > 0) {
        const warm_capacity *k = warm_capacity_find(r, r->caps[0].target, -1);
        capacity_sentence(sum, sizeof sum, k, name_of(c, tss, nt, k->target), c->level);
    }
    jsonw_kstr(w, "summary", sum);
    jsonw_end_obj(w);
}
