/* page_method.c - method and environment: spec, seed, randomisation,
 * warm-up, exclusions, the TTFT definition, each server as probed, the
 * client host, the estimand behind each headline number and why, and
 * Hoefler & Belli's twelve reporting rules with where this report meets
 * each.
 */
#include "report/pages.h"

#include <stdio.h>
#include <string.h>

#include "report/figures.h"
#include "report/fmt.h"
#include "report/table.h"

static const char *or_na(const char *s)
{
    return (s && *s) ? s : "n/a";
}

static void kv_row(table *t, const char *k, const char *v)
{
    const char *cells[] = {k, or_na(v)};
    rgb colours[] = {DOC_GREY, DOC_BLACK};
    table_row(t, cells, colours, 0);
}

static void method_table(rdoc *d, const rr_results *r)
{
    static const table_col cols[] = {{"Item", 1.6, 0}, {"Value", 6.0, 0}};
    char a[64], b[64], buf[512];
    doc_heading(d, "Method", 60);
    table t;
    table_begin(&t, d, cols, 2, 8);
    kv_row(&t, "Experiment spec", r->spec_name);
    kv_row(&t, "Spec file", r->spec_path);
    kv_row(&t, "Spec hash (FNV-1a 64)", r->spec_hash);
    kv_row(&t, "Journal (raw data)", r->journal);
    kv_row(&t, "Run date (UTC)", r->run_date);
    kv_row(&t, "Seed", r->seed);
    snprintf(buf, sizeof buf, "%s order, seed %s", or_na(r->order), or_na(r->method_seed));
    kv_row(&t, "Randomisation", buf);
    kv_row(&t, "Repetitions per cell", fmt_long(r->repetitions, a, sizeof a));
    snprintf(buf, sizeof buf, "%s requests per target, discarded",
             fmt_long(r->warmup_requests, a, sizeof a));
    kv_row(&t, "Warm-up", buf);
    kv_row(&t, "Cache modes", r->cache_modes);
    kv_row(&t, "Time to first token", r->ttft_definition);
    kv_row(&t, "Exclusions", r->exclusions);
    snprintf(buf, sizeof buf, "%s resamples, seed %s; confidence level %s %%",
             fmt_long(r->bootstrap_resamples, a, sizeof a), or_na(r->bootstrap_seed),
             fmt_num(100 * r->confidence_level, b, sizeof b));
    kv_row(&t, "Bootstrap", buf);
    table_end(&t);

    doc_heading(d, "Environment", 60);
    table_begin(&t, d, cols, 2, 8);
    kv_row(&t, "Client host", r->client_host);
    kv_row(&t, "Client CPU", r->client_cpu);
    kv_row(&t, "Client OS", r->client_os);
    kv_row(&t, "kvproof version", r->client_version[0] ? r->client_version : r->kvproof_version);
    for (size_t i = 0; i < r->n_env_targets; i++) {
        const rr_env_target *e = &r->env_targets[i];
        char k[160];
        snprintf(k, sizeof k, "Target %s", or_na(e->name));
        snprintf(buf, sizeof buf, "%s at %s; server version %s; model %s; flags %s%s",
                 or_na(e->dialect), or_na(e->base_url), or_na(e->server_version), or_na(e->model),
                 or_na(e->flags), e->simulated ? "; SIMULATED (kvproof reference server)" : "");
        kv_row(&t, k, buf);
    }
    table_end(&t);
}

/* A heading and a three-column table of fixed text, n rows. */
static void text_table(rdoc *d, const char *heading, const table_col cols[3],
                       const char *const rows[][3], size_t n)
{
    doc_heading(d, heading, 60);
    table t;
    table_begin(&t, d, cols, 3, 7.5);
    for (size_t i = 0; i < n; i++) {
        const char *cells[] = {rows[i][0], rows[i][1], rows[i][2]};
        table_row(&t, cells, NULL, 0);
    }
    table_end(&t);
}

static void estimand_table(rdoc *d)
{
    static const char *const rows[][3] = {
        {"Speedup (warm vs cold)",
         "Median ratio cold/warm: Hodges-Lehmann on log times, the median of all pairwise "
         "ratios; it estimates the ratio of the two medians.",
         "Robust by construction: a stall (5-30x the median, a few % of requests on real "
         "servers) moves a rank interval by one rank, but moves a mean or a geometric mean and "
         "widens its interval. The interval is the exact rank (Moses) interval; its coverage "
         "was measured on simulated stalls (tests/test_stats_robust_coverage_slow.c)."},
        {"Overhead fraction",
         "1 - 1/(median ratio of cold times with and without the system prompt); without a cold "
         "cell at 0 tokens, 1 - T(q)/T(L) from the cold model, T(q) extrapolated (said so).",
         "Same estimator and interval as the speedup, mapped through 1 - 1/r."},
        {"Session speedup",
         "Median ratio of cold to warm session totals (the median of T_cold/T_warm over "
         "independent sessions).",
         "Same estimator; a stalled turn affects one session total, not the whole interval."},
        {"Typical TTFT per cell", "Median with the exact binomial rank interval.",
         "Distribution-free; with too few values for 95% (n < 6) the widest interval, "
         "[min, max], is given at its own level 1 - 2^(1-n)."},
        {"Prefill cost per token, model curves",
         "Slope of the median TTFT curve, (T(Nmax) - T(0)) / Nmax (b for a linear model), from "
         "bisquare robust fits weighted by a constant CV; the model (linear, quadratic, knee, "
         "knee-quadratic) is chosen by robust AIC on the robust fits.",
         "Stalls get weight 0 and are flagged per cell (3x the median and 5 robust SDs above "
         "it; kept). Least-squares model choice follows one stall per length; the robust "
         "intervals cover 93.5-96.5% at 3, 5 and 40 repetitions with stalls "
         "(tests/test_stats_fitcov_slow.c)."},
        {"Interval levels", "Each interval carries the level it holds at (results.json: level).",
         "Rank intervals have discrete levels: two samples of 3 allow 90% at most, 5 and 5 give "
         "96.8%, 40 and 40 give 95.0%. A level other than 95% is printed beside the interval."},
        {"Secondary figures",
         "Ratio of geometric means (Welch t on log times), ratio of means (studentized "
         "bootstrap; percentile bootstrap when a stall makes the bootstrap-t leave the "
         "resampled range), means with t-intervals.",
         "Kept for comparison with other tools; they assume well-behaved noise and are wider "
         "or less stable under stalls."},
    };
    static const table_col cols[] = {
        {"Number", 1.3, 0}, {"Estimand and estimator", 3.1, 0}, {"Why", 3.2, 0}};
    text_table(d, "Estimands: what each headline number is", cols, rows,
               sizeof rows / sizeof rows[0]);
}

static void hoefler_table(rdoc *d)
{
    char r1[200], r6[200], r8[200];
    snprintf(r1, sizeof r1,
             "The base of every speedup is the cold request at the same prompt; its absolute "
             "TTFT is in the cell table and Figures %d–%d.",
             figures_number(FIGURES_TTFT_LINEAR), figures_number(FIGURES_TTFT_LOG));
    snprintf(r6, sizeof r6,
             "Normality p-values and residual plots (Models, Figures %d–%d); rank intervals for "
             "medians.",
             figures_number(FIGURES_RESIDUALS_TOKENS), figures_number(FIGURES_RESIDUALS_ORDER));
    snprintf(r8, sizeof r8, "Median, p90, p99, CV and box plots per cell (cell table, Figure %d).",
             figures_number(FIGURES_BOX));
    const char *const rules[][3] = {
        {"R1", "Speedups: say what the base case is and report its absolute performance.", r1},
        {"R2", "Say why only a subset of benchmarks or resources is reported.",
         "All planned cells are reported; failed trials are listed (Failures)."},
        {"R3", "Arithmetic mean only for costs; harmonic mean for rates.",
         "Means are of times (costs); throughput is the reciprocal of a cost estimate."},
        {"R4", "Do not summarise ratios; summarise the costs, or use the geometric mean.",
         "Speedup is a median ratio (Hodges-Lehmann on log times); costs are tabled."},
        {"R5", "Report confidence intervals for nondeterministic data.",
         "Every estimate carries its interval, level, method and n (tables, page 1)."},
        {"R6", "Do not assume normality without checking.", r6},
        {"R7", "Compare nondeterministic data in a statistically sound way.",
         "Wilcoxon/Mann–Whitney tests with Holm correction, interval-based hypotheses."},
        {"R8", "Check whether mean or median suffices; report percentiles when tails matter.", r8},
        {"R9", "Document all factors, levels and the complete setup.",
         "Method and Environment tables: spec, seed, server, model, flags, client."},
        {"R10", "Report measurement, synchronisation and summarisation techniques.",
         "The TTFT definition, warm-up, exclusions and estimator methods are stated."},
        {"R11", "Show upper performance bounds where possible.",
         "Partly: the warm curve bounds what caching can give; no hardware roofline is "
         "computed."},
        {"R12", "Plot as much as needed; connect points only for valid trends.",
         "Raw points with model, mean and prediction bands; lines only for fitted models and "
         "projections."},
    };
    static const table_col cols[] = {{"Rule", 0.5, 0}, {"Asks", 3.0, 0}, {"Where met", 4.0, 0}};
    text_table(d, "Reporting checklist (Hoefler & Belli, SC'15)", cols, rules,
               sizeof rules / sizeof rules[0]);
}

void page_method(rdoc *d, const rr_results *r)
{
    doc_new_page(d);
    method_table(d, r);
    estimand_table(d);
    hoefler_table(d);
}
