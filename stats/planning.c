/* planning.c - repetitions from a pilot (planning.h).
 *
 * Median: the exact rank interval's half-width behaves like
 * z * 1.2533 * sigma / sqrt(n) (sigma estimated by the scaled MAD), so
 * n = ceil((z * 1.2533 * MAD / (e * median))^2), at least 6.
 * Slope (stats-methods (c)6): Var(b) = sigma^2 / (r * sum (x_i - xbar)^2)
 * for levels x_i with r repetitions each, so
 * r = ceil(z^2 sigma^2 / ((e b)^2 sum (x_i - xbar)^2)). Every subset of at
 * least three of the spec's system-prompt lengths is costed at r times its
 * predicted cold time; the cheapest wins.
 */
#include "stats/planning.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>

#include "stats/fit.h"

#define PLAN_Z 1.959963984540054

void planning_free(planning_result *r)
{
    if (!r)
        return;
    free(r->cells);
    free(r);
}

static const planning_cell *plan_cell_find(const planning_result *r, const trial_record *t)
{
    for (size_t i = 0; i < r->n_cells; i++) {
        planning_cell *c = &r->cells[i];
        if (c->target == t->target && c->system_prompt_tokens == t->system_prompt_tokens &&
            c->query_tokens == t->query_tokens && c->query_count == t->query_count &&
            c->mode == t->mode)
            return c;
    }
    return NULL;
}

/* A measured pilot trial whose first turn has a usable time to first token. */
static int usable(const trial_record *t)
{
    if (t->kind != PLAN_MEASURE || !t->ok || t->n_turns == 0 || t->contaminated)
        return 0;
    double y = t->turns[0].ttft_ms;
    return isfinite(y) && y >= 0;
}

/* Step 1: the pilot's cells, and its cold (prompt tokens, ttft) points. */
static void gather_cells(const journal_data *pilot, planning_result *r, double *xs, double *ys,
                         size_t *nxy)
{
    for (size_t i = 0; i < pilot->n_trials; i++) {
        const trial_record *t = &pilot->trials[i];
        if (!usable(t))
            continue;
        double y = t->turns[0].ttft_ms;
        if (!plan_cell_find(r, t)) {
            planning_cell *c = &r->cells[r->n_cells++];
            c->target = t->target;
            c->system_prompt_tokens = t->system_prompt_tokens;
            c->query_tokens = t->query_tokens;
            c->query_count = t->query_count;
            c->mode = t->mode;
        }
        if (t->mode == SPEC_COLD && t->turns[0].prompt_tokens >= 0) {
            xs[*nxy] = (double)t->turns[0].prompt_tokens;
            ys[(*nxy)++] = y;
        }
    }
}

/* Step 2: one cell's median, MAD, mean trial time and the repetitions its
 * median target needs (v, dev: scratch of n_trials values). */
static void cell_repetitions(const journal_data *pilot, planning_result *r, planning_cell *c,
                             double *v, double *dev)
{
    size_t n = 0;
    double tsum = 0;
    for (size_t i = 0; i < pilot->n_trials; i++) {
        const trial_record *t = &pilot->trials[i];
        if (!usable(t) || plan_cell_find(r, t) != c)
            continue;
        v[n++] = t->turns[0].ttft_ms;
        for (size_t k = 0; k < t->n_turns; k++) {
            double tot = t->turns[k].total_ms;
            tsum += isfinite(tot) ? tot : (isfinite(t->turns[k].ttft_ms) ? t->turns[k].ttft_ms : 0);
        }
    }
    gsl_sort(v, 1, n);
    c->pilot_n = n;
    c->median_ms = gsl_stats_median_from_sorted_data(v, 1, n);
    for (size_t i = 0; i < n; i++)
        dev[i] = fabs(v[i] - c->median_ms);
    gsl_sort(dev, 1, n);
    c->mad_ms = 1.482602218505602 * gsl_stats_median_from_sorted_data(dev, 1, n);
    c->trial_ms = tsum / (double)n;
    double q = PLAN_Z * 1.2533141373155 * c->mad_ms / (r->target_rel_ci * c->median_ms);
    c->repetitions = c->median_ms > 0 ? (long)ceil(q * q) : 6;
    if (c->repetitions < 6)
        c->repetitions = 6;
    if (c->repetitions > r->reps_median)
        r->reps_median = c->repetitions;
}

/* Step 3b: the cheapest subset of >= 3 of the first m lengths that meets
 * the slope target (q: query tokens added to each length). */
static void cheapest_lengths(planning_result *r, const spec *s, const fit_result *f, size_t m,
                             double q)
{
    double eb = r->target_rel_ci * f->coef[1], s2 = f->sigma2;
    double best = INFINITY;
    for (unsigned mask = 0; mask < (1u << m); mask++) {
        size_t k = 0;
        double a = 0, b2 = 0, cost = 0;
        for (size_t i = 0; i < m; i++)
            if (mask & (1u << i)) {
                double x = (double)s->system_prompt_tokens[i] + q;
                a += x;
                b2 += x * x;
                cost += f->coef[0] + f->coef[1] * x;
                k++;
            }
        if (k < 3)
            continue;
        double ssk = b2 - a * a / (double)k;
        if (!(ssk > 0))
            continue;
        long reps = (long)ceil(PLAN_Z * PLAN_Z * s2 / (eb * eb * ssk));
        if (reps < 2)
            reps = 2;
        double total = (double)reps * cost;
        if (total < best) {
            best = total;
            r->reps_best = reps;
            r->n_best = 0;
            for (size_t i = 0; i < m; i++)
                if (mask & (1u << i))
                    r->best_lengths[r->n_best++] = s->system_prompt_tokens[i];
        }
    }
    r->best_cost_s = isfinite(best) ? best / 1000.0 : NAN;
}

/* Step 3: the repetitions the cold line's slope needs with all of the
 * spec's lengths, and the cheapest set of lengths (f: the pilot's fit). */
static void slope_repetitions(planning_result *r, const spec *s, const fit_result *f)
{
    r->slope_ms_per_token = f->coef[1];
    r->residual_sd_ms = f->residual_sd;
    double q = s->n_query_tokens ? (double)s->query_tokens[0] : 0;
    size_t m = s->n_system_prompt_tokens < 16 ? s->n_system_prompt_tokens : 16;
    double eb = r->target_rel_ci * f->coef[1], s2 = f->sigma2;
    /* all of the spec's lengths */
    double sx = 0, sxx = 0;
    for (size_t i = 0; i < m; i++) {
        double x = (double)s->system_prompt_tokens[i] + q;
        sx += x;
        sxx += x * x;
    }
    double ss = sxx - sx * sx / (double)m;
    if (m >= 2 && ss > 0)
        r->reps_slope = (long)ceil(PLAN_Z * PLAN_Z * s2 / (eb * eb * ss));
    cheapest_lengths(r, s, f, m, q);
    if (s->n_system_prompt_tokens > 16)
        snprintf(r->note, sizeof r->note, "only the first 16 lengths were searched");
}

/* Step 4: expected server time, ms: each spec cell x repetitions x its pilot
 * trial time, or the cold line's prediction per turn when the pilot did not
 * measure the cell (f is read only when the slope is known). */
static double expected_ms(const planning_result *r, const spec *s, const fit_result *f)
{
    double total = 0;
    for (size_t t = 0; t < s->n_targets; t++)
        for (size_t i = 0; i < s->n_system_prompt_tokens; i++)
            for (size_t j = 0; j < s->n_query_tokens; j++)
                for (size_t k = 0; k < s->n_query_counts; k++)
                    for (int mode = 0; mode < 2; mode++) {
                        if ((mode == SPEC_COLD && !s->cold) || (mode == SPEC_WARM && !s->warm))
                            continue;
                        trial_record probe;
                        memset(&probe, 0, sizeof probe);
                        probe.target = t;
                        probe.system_prompt_tokens = s->system_prompt_tokens[i];
                        probe.query_tokens = s->query_tokens[j];
                        probe.query_count = s->query_counts[k];
                        probe.mode = (spec_cache_mode)mode;
                        const planning_cell *c = plan_cell_find(r, &probe);
                        double ms = c ? c->trial_ms : NAN;
                        if (!c && isfinite(r->slope_ms_per_token))
                            ms = (double)probe.query_count *
                                 (f->coef[0] + f->coef[1] * (double)(probe.system_prompt_tokens +
                                                                     probe.query_tokens));
                        if (isfinite(ms))
                            total += ms * (double)r->repetitions;
                    }
    return total;
}

kv_status planning_compute(const journal_data *pilot, const spec *s, double target_rel_ci,
                           planning_result **out, char *err)
{
    *out = NULL;
    if (!(target_rel_ci > 0 && target_rel_ci < 1))
        return kv_fail(err, KV_ERR_USAGE, "--target-rel-ci must be between 0 and 1");
    planning_result *r = calloc(1, sizeof *r);
    size_t nt = pilot->n_trials;
    double *v = malloc((nt ? nt : 1) * sizeof *v), *xs = malloc((nt ? nt : 1) * sizeof *xs),
           *ys = malloc((nt ? nt : 1) * sizeof *ys), *dev = malloc((nt ? nt : 1) * sizeof *dev);
    kv_status st = KV_OK;
    if (!r || !v || !xs || !ys || !dev || !(r->cells = calloc(nt ? nt : 1, sizeof *r->cells))) {
        st = kv_fail(err, KV_ERR_NOMEM, "out of memory");
        goto out;
    }
    r->target_rel_ci = target_rel_ci;
    size_t nxy = 0;
    gather_cells(pilot, r, xs, ys, &nxy);
    if (r->n_cells == 0) {
        st = kv_fail(err, KV_ERR_STATS, "the pilot journal holds no usable measured trial");
        goto out;
    }
    r->reps_median = 6;
    for (size_t ci = 0; ci < r->n_cells; ci++)
        cell_repetitions(pilot, r, &r->cells[ci], v, dev);
    r->slope_ms_per_token = r->residual_sd_ms = NAN;
    r->reps_slope = -1;
    const double *cols[1] = {xs};
    fit_input in = {cols, 1, ys, NULL, nxy, false};
    fit_result f;
    char e2[KV_ERRLEN] = "";
    if (nxy >= 3 && fit_model(&in, FIT_LINEAR, 1, 0.95, &f, e2) == KV_OK && f.coef[1] > 0)
        slope_repetitions(r, s, &f);
    else
        snprintf(r->note, sizeof r->note,
                 "no slope target: the pilot needs cold requests at two or more prompt lengths "
                 "(%.300s)",
                 e2[0] ? e2 : "slope not positive");
    r->repetitions = r->reps_median > r->reps_slope ? r->reps_median : r->reps_slope;
    if (r->repetitions < 1)
        r->repetitions = 1;
    r->expected_server_s = expected_ms(r, s, &f) / 1000.0;
out:
    free(v);
    free(xs);
    free(ys);
    free(dev);
    if (st != KV_OK) {
        planning_free(r);
        return st;
    }
    *out = r;
    return KV_OK;
}
