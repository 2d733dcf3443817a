/* warm.c - contention statistics (warm.h).
 *
 * Divided into: intervals (Wilson, median with its exact rank interval);
 * grouping the requests; one group's numbers; the warm capacity of a
 * target and length; lookups.
 */
#include "stats/warm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

#include "common/util.h"
#include "stats/describe.h"

/* ---- intervals ----------------------------------------------------------- */

void warm_wilson(size_t k, size_t n, double level, double *lo, double *hi)
{
    if (n == 0) {
        *lo = 0;
        *hi = 1;
        return;
    }
    double z = gsl_cdf_ugaussian_Pinv(0.5 + level / 2), nn = (double)n;
    double p = (double)k / nn, z2n = z * z / nn;
    double centre = (p + z2n / 2) / (1 + z2n);
    double half = z / (1 + z2n) * sqrt(p * (1 - p) / nn + z2n / (4 * nn));
    *lo = k == 0 ? 0 : fmax(0, centre - half);
    *hi = k == n ? 1 : fmin(1, centre + half);
}

/* The median of v[0..n) (sorted in place) with the exact binomial rank
 * interval at level, or with too few values for it the widest one, [min,
 * max], at the level that holds: 1 - 2^(1-n). */
static void median_est(double *v, size_t n, double level, estimate *e)
{
    memset(e, 0, sizeof *e);
    e->value = e->lo = e->hi = NAN;
    e->n = n;
    if (n == 0)
        return;
    qsort(v, n, sizeof *v, kv_cmp_double);
    e->value = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    double achieved = 0;
    if (describe_quantile_ci(v, n, 0.5, level, &e->lo, &e->hi, &achieved)) {
        e->has_ci = true;
        e->level = achieved;
    } else if (n >= 2) {
        e->lo = v[0];
        e->hi = v[n - 1];
        e->has_ci = true;
        e->level = 1.0 - 2.0 * pow(0.5, (double)n);
    }
}

/* ---- grouping ------------------------------------------------------------ */

static int req_cmp(const void *a, const void *b)
{
    const warm_req *x = a, *y = b;
    if (x->target != y->target)
        return x->target < y->target ? -1 : 1;
    if (x->sys != y->sys)
        return x->sys < y->sys ? -1 : 1;
    return (x->agents > y->agents) - (x->agents < y->agents);
}

static bool same_group(const warm_req *a, const warm_req *b)
{
    return a->target == b->target && a->sys == b->sys && a->agents == b->agents;
}

static bool is_hit(trial_hit h)
{
    return h == TRIAL_HIT_FULL || h == TRIAL_HIT_RESTORED || h == TRIAL_HIT_INFERRED_HIT;
}

static bool is_miss(trial_hit h)
{
    return h == TRIAL_HIT_MISS || h == TRIAL_HIT_INFERRED_MISS;
}

/* ---- one group ----------------------------------------------------------- */

/* Counts and the hit rate of r[0..n) (one group). */
static void group_count(const warm_req *r, size_t n, double level, warm_group *g)
{
    g->target = r[0].target;
    g->agents = r[0].agents;
    g->sys = r[0].sys;
    g->requests = n;
    for (size_t i = 0; i < n; i++) {
        trial_hit h = r[i].hit;
        if (h == TRIAL_HIT_NONE || h >= TRIAL_HIT_COUNT || !isfinite(r[i].ttft_ms)) {
            g->failed++;
            continue;
        }
        if (r[i].after_resume) {
            g->resumed++;
            continue;
        }
        if (r[i].position < 1)
            continue;
        g->scored++;
        g->classes[h]++;
        g->hits += is_hit(h);
        g->inferred += h == TRIAL_HIT_INFERRED_HIT || h == TRIAL_HIT_INFERRED_MISS;
        g->full_unknown += h == TRIAL_HIT_FULL && r[i].held == TRIAL_SLOT_UNKNOWN;
    }
    estimate *e = &g->hit_rate;
    e->n = g->scored;
    e->level = level;
    e->value = g->scored ? (double)g->hits / (double)g->scored : NAN;
    warm_wilson(g->hits, g->scored, level, &e->lo, &e->hi);
    e->has_ci = g->scored > 0;
}

/* The medians: scored requests, hits and misses (any position). */
static kv_status group_medians(const warm_req *r, size_t n, double level, warm_group *g, char *err)
{
    double *all = malloc(3 * (n ? n : 1) * sizeof *all);
    if (!all)
        return kv_fail(err, KV_ERR_NOMEM, "out of memory");
    double *hit = all + n, *miss = all + 2 * n;
    size_t na = 0, nh = 0, nm = 0;
    for (size_t i = 0; i < n; i++) {
        trial_hit h = r[i].hit;
        if (h == TRIAL_HIT_NONE || h >= TRIAL_HIT_COUNT || !isfinite(r[i].ttft_ms) ||
            r[i].after_resume)
            continue;
        if (r[i].position >= 1)
            all[na++] = r[i].ttft_ms;
        if (is_hit(h))
            hit[nh++] = r[i].ttft_ms;
        else if (is_miss(h))
            miss[nm++] = r[i].ttft_ms;
    }
    median_est(all, na, level, &g->ttft);
    median_est(hit, nh, level, &g->hit_ttft);
    median_est(miss, nm, level, &g->miss_ttft);
    free(all);
    return KV_OK;
}

/* Saving per request and the session with and without the cache. */
static void group_derive(warm_group *g)
{
    const estimate *h = &g->hit_ttft, *m = &g->miss_ttft, *rate = &g->hit_rate;
    estimate *s = &g->saving;
    s->value = s->lo = s->hi = NAN;
    s->n = h->n + m->n;
    if (isfinite(h->value) && isfinite(m->value)) {
        s->value = m->value - h->value;
        if (h->has_ci && m->has_ci) {
            s->lo = m->lo - h->hi;
            s->hi = m->hi - h->lo;
            s->has_ci = true;
            s->level = fmax(0, h->level + m->level - 1);
        }
    }
    const double later = WARM_SESSION_LEN - 1;
    estimate *wo = &g->session_without, *wi = &g->session_with;
    wo->value = wo->lo = wo->hi = wi->value = wi->lo = wi->hi = NAN;
    wo->n = m->n;
    wi->n = rate->n;
    if (!isfinite(m->value) || !isfinite(rate->value))
        return;
    wo->value = WARM_SESSION_LEN * m->value / 1000;
    double hv = isfinite(h->value) ? h->value : m->value; /* no hit: rate 0 */
    wi->value = (m->value + later * (rate->value * hv + (1 - rate->value) * m->value)) / 1000;
    if (isfinite(h->value)) {
        wi->lo = (m->value + later * (rate->hi * hv + (1 - rate->hi) * m->value)) / 1000;
        wi->hi = (m->value + later * (rate->lo * hv + (1 - rate->lo) * m->value)) / 1000;
        if (wi->lo > wi->hi) {
            double t = wi->lo;
            wi->lo = wi->hi;
            wi->hi = t;
        }
        wi->has_ci = true;
        wi->level = rate->level;
    }
}

/* ---- capacity ------------------------------------------------------------ */

/* Largest K of g[0..n) (K ascending) with every K' <= K meeting the test on
 * v(g), 0 when the first does not. which: 0 rate, 1 Wilson lo, 2 Wilson hi. */
static long stays_above(const warm_group *g, size_t n, int which, double thr)
{
    long k = 0;
    for (size_t i = 0; i < n; i++) {
        const estimate *e = &g[i].hit_rate;
        double v = which == 0 ? e->value : which == 1 ? e->lo : e->hi;
        if (!(v >= thr))
            break;
        k = g[i].agents;
    }
    return k;
}

/* Smallest K of g[0..n) whose value is below thr; 0 when none. */
static long first_below(const warm_group *g, size_t n, int which, double thr)
{
    for (size_t i = 0; i < n; i++) {
        const estimate *e = &g[i].hit_rate;
        double v = which == 0 ? e->value : which == 1 ? e->lo : e->hi;
        if (v < thr)
            return g[i].agents;
    }
    return 0;
}

static void capacity_of(const warm_group *g, size_t n, warm_capacity *c)
{
    memset(c, 0, sizeof *c);
    c->target = g[0].target;
    c->sys = g[0].sys;
    c->smallest = g[0].agents;
    c->largest = g[n - 1].agents;
    c->capacity = stays_above(g, n, 0, WARM_HIT_RATE);
    c->low = stays_above(g, n, 1, WARM_HIT_RATE);
    c->high = stays_above(g, n, 2, WARM_HIT_RATE);
    c->high_open = c->high == c->largest;
    c->cold_from = first_below(g, n, 0, WARM_COLD_RATE);
    c->cold_low = first_below(g, n, 1, WARM_COLD_RATE);
    c->cold_high = first_below(g, n, 2, WARM_COLD_RATE);
    for (size_t i = 0; i < n; i++) {
        if (g[i].agents == c->capacity)
            c->at_capacity = &g[i];
        if (g[i].agents > c->capacity && !c->beyond)
            c->beyond = &g[i];
    }
}

/* ---- entry points -------------------------------------------------------- */

static kv_status groups_build(warm_req *s, size_t n, double level, warm_result *out, char *err)
{
    size_t ng = 0, nc = 0;
    for (size_t i = 0; i < n; i++) {
        ng += i == 0 || !same_group(&s[i - 1], &s[i]);
        nc += i == 0 || s[i - 1].target != s[i].target || s[i - 1].sys != s[i].sys;
    }
    out->groups = calloc(ng, sizeof *out->groups);
    out->caps = calloc(nc, sizeof *out->caps);
    if (!out->groups || !out->caps)
        return kv_fail(err, KV_ERR_NOMEM, "out of memory");
    for (size_t i = 0, j; i < n; i = j) {
        for (j = i + 1; j < n && same_group(&s[i], &s[j]); j++)
            ;
        warm_group *g = &out->groups[out->n_groups++];
        group_count(&s[i], j - i, level, g);
        kv_status st = group_medians(&s[i], j - i, level, g, err);
        if (st != KV_OK)
            return st;
        group_derive(g);
    }
    for (size_t i = 0, j; i < out->n_groups; i = j) {
        const warm_group *g = out->groups;
        for (j = i + 1; j < out->n_groups && g[j].target == g[i].target && g[j].sys == g[i].sys;
             j++)
            ;
        capacity_of(&g[i], j - i, &out->caps[out->n_caps++]);
    }
    return KV_OK;
}

kv_status warm_compute(const warm_req *r, size_t n, double level, warm_result *out, char *err)
{
    memset(out, 0, sizeof *out);
    out->level = level;
    if (!(level > 0 && level < 1))
        return kv_fail(err, KV_ERR_USAGE, "warm_compute: level must be between 0 and 1");
    if (n == 0)
        return KV_OK;
    warm_req *s = malloc(n * sizeof *s);
    if (!s)
        return kv_fail(err, KV_ERR_NOMEM, "out of memory");
    memcpy(s, r, n * sizeof *s);
    qsort(s, n, sizeof *s, req_cmp);
    kv_status st = groups_build(s, n, level, out, err);
    free(s);
    if (st != KV_OK)
        warm_result_free(out);
    return st;
}

void warm_result_free(warm_result *res)
{
    if (!res)
        return;
    free(res->groups);
    free(res->caps);
    memset(res, 0, sizeof *res);
}

const warm_capacity *warm_capacity_find(const warm_result *res, size_t target, long sys)
{
    const warm_capacity *best = NULL;
    for (size_t i = 0; i < res->n_caps; i++) {
        const warm_capacity *c = &res->caps[i];
        if (c->target != target)
            continue;
        if (sys >= 0 ? c->sys == sys : (!best || c->sys > best->sys))
            best = c;
    }
    return best;
}

/* ---- from a journal ------------------------------------------------------ */

/* K of a contention line: its id "<target>/contention/k<K>/s<sys>/i<index>"
 * (journal_cols: agents), else the largest agent id + 1 among the lines of
 * its group (cell). */
static long agents_of(const journal_cols *j, const journal_cols_contention *q)
{
    if (q->agents >= 1)
        return q->agents;
    long most = 0;
    for (size_t i = 0; i < j->n_contention; i++) {
        const journal_cols_contention *u = &j->contention[i];
        if (u->target == q->target && u->cell == q->cell && u->agent + 1 > most)
            most = u->agent + 1;
    }
    return most;
}

kv_status warm_from_cols(const journal_cols *j, warm_req **out, size_t *n, char *err)
{
    *out = NULL;
    *n = 0;
    if (j->n_contention == 0)
        return KV_OK;
    warm_req *r = calloc(j->n_contention, sizeof *r);
    if (!r)
        return kv_fail(err, KV_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < j->n_contention; i++) {
        const journal_cols_contention *q = &j->contention[i];
        warm_req *w = &r[i];
        w->target = q->target;
        w->agents = agents_of(j, q);
        w->sys = q->sys;
        w->position = q->agent_position;
        w->hit = (trial_hit)q->hit;
        w->held = (trial_slot_held)q->held;
        w->after_resume = q->after_resume;
        w->ttft_ms = q->ttft_ms;
    }
    *out = r;
    *n = j->n_contention;
    return KV_OK;
}

kv_status warm_from_journal(const journal_data *d, warm_req **out, size_t *n, char *err)
{
    *out = NULL;
    *n = 0;
    journal_cols *j = NULL;
    kv_status st = journal_cols_from_data(d, &j, err);
    if (st == KV_OK)
        st = warm_from_cols(j, out, n, err);
    journal_cols_free(j);
    return st;
}
