/* cmd_compare.c - 'kvproof compare A B [--out DIR] [--threshold F]': two
 * runs (run directories or journals) compared cell by cell
 * (stats/change.h); a table on stdout and, with --out, DIR/compare.json
 * and DIR/compare.pdf (report/compare_pdf.h). Divided into: usage, the
 * table, writing compare.json and compare.pdf, the command. */
#include <stddef.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/analyze.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/run_common.h"
#include "common/status.h"
#include "common/util.h"
#include "experiments/journal.h"
#include "experiments/spec.h"
#include "report/compare_pdf.h"
#include "stats/change.h"

#define COMPARE_SEED 1 /* the bootstrap's: the same two runs give the same numbers */

static void compare_usage(FILE *f)
{
    fprintf(f, "usage: kvproof compare A B [--out DIR] [--threshold F]\n\n"
               "Compares run B with run A (run directories or journals; no network): for\n"
               "every target and cell they share, the ratio B/A of mean time to first\n"
               "token, per target the ratio of the cold prefill slopes (ms/token), the\n"
               "ratio of the warm-vs-cold speedups and of mean session totals; each with\n"
               "its 95%% interval and a verdict: a change only when the whole interval\n"
               "lies beyond 1 +- F (criterion.rs's rule), regressed in the worse\n"
               "direction (longer times, smaller speedups), else no change.\n\n"
               "options:\n"
               "  --out DIR        also write DIR/compare.json and DIR/compare.pdf\n"
               "                   (docs/compare.md)\n"
               "  --threshold F    the noise threshold, a fraction (default 0.05)\n\n"
               "exit codes: 0 compared, 2 usage, 3 bad journal or nothing in common.\n");
}

/* The quantity and cell of a row; a cell's mean TTFT is named by `mean`
 * ("" in the table on stdout, "mean TTFT " in compare.pdf). */
static void row_what(const change_row *c, const char *mean, char *out, size_t cap)
{
    if (c->kind == CHANGE_COLD_SLOPE)
        snprintf(out, cap, "cold prefill slope (ms/token)");
    else if (c->kind == CHANGE_SPEEDUP)
        snprintf(out, cap, "speedup s%ld q%ld", c->sys, c->query);
    else if (c->kind == CHANGE_SESSION_TOTAL)
        snprintf(out, cap, "session total s%ld q%ld n%ld %s", c->sys, c->query, c->count,
                 spec_cache_mode_name((spec_cache_mode)c->mode));
    else
        snprintf(out, cap, "%ss%ld q%ld n%ld t%ld %s", mean, c->sys, c->query, c->count, c->turn,
                 spec_cache_mode_name((spec_cache_mode)c->mode));
}

static void row_print(FILE *f, const change_row *c)
{
    char cell[128], ratio[96];
    row_what(c, "", cell, sizeof cell);
    if (isfinite(c->lo) && isfinite(c->hi))
        snprintf(ratio, sizeof ratio, "%.4g [%.4g, %.4g]", c->ratio, c->lo, c->hi);
    else
        snprintf(ratio, sizeof ratio, "%.4g", c->ratio);
    fprintf(f, "%-16.16s %-32s %12.4g %12.4g  %-28s %s\n", c->target, cell, c->a, c->b, ratio,
            c->verdict);
}

static void table_print(FILE *f, const change_result *r)
{
    fprintf(f, "%-16s %-32s %12s %12s  %-28s %s\n", "target", "cell / quantity", "A", "B",
            "B/A [95% CI]", "verdict");
    for (size_t i = 0; i < r->n; i++)
        row_print(f, &r->rows[i]);
    size_t counts[3] = {0, 0, 0};
    for (size_t i = 0; i < r->n; i++) {
        const char *v = r->rows[i].verdict;
        counts[strcmp(v, "regressed") == 0 ? 0 : strcmp(v, "improved") == 0 ? 1 : 2]++;
    }
    fprintf(f, "%zu regressed, %zu improved, %zu no change or not computable (threshold %g%%)\n",
            counts[0], counts[1], counts[2], 100 * r->threshold);
}

static kv_status json_write(const change_result *r, const char *a, const char *b, const char *dir,
                            char *path, size_t cap, char *err)
{
    kv_buf text = {0};
    kv_status st = kv_mkdirs(dir, err);
    if (st == KV_OK && snprintf(path, cap, "%s/compare.json", dir) >= (int)cap)
        st = kv_fail(err, KV_ERR_USAGE, "--out %s: path too long", dir);
    if (st == KV_OK)
        st = change_to_json(r, a, b, &text, err);
    FILE *f = st == KV_OK ? fopen(path, "w") : NULL;
    if (st == KV_OK && (!f || fwrite(text.data, 1, text.len, f) != text.len))
        st = kv_fail(err, KV_ERR_IO, "%s: cannot write", path);
    if (f && fclose(f) != 0 && st == KV_OK)
        st = kv_fail(err, KV_ERR_IO, "%s: cannot write", path);
    kv_buf_free(&text);
    return st;
}

static void pdf_row(const change_row *c, compare_pdf_row *out)
{
    row_what(c, "mean TTFT ", out->what, sizeof out->what);
    out->target = c->target;
    out->ratio = c->ratio;
    out->lo = c->lo;
    out->hi = c->hi;
    out->verdict = c->verdict;
}

static kv_status pdf_write(const change_result *r, const journal_data *a, const journal_data *b,
                           const char *an, const char *bn, const char *dir, char *path, size_t cap,
                           char *err)
{
    change_points pts;
    if (snprintf(path, cap, "%s/compare.pdf", dir) >= (int)cap)
        return kv_fail(err, KV_ERR_USAGE, "--out %s: path too long", dir);
    kv_status st = change_cold_points(a, b, &pts, err);
    compare_pdf_row *rows = NULL;
    if (st == KV_OK && r->n && !(rows = calloc(r->n, sizeof *rows)))
        st = kv_fail(err, KV_ERR_NOMEM, "compare: out of memory");
    if (st == KV_OK) {
        compare_pdf_data c = {rows, r->n, r->threshold, {{0}}};
        for (size_t i = 0; i < r->n; i++)
            pdf_row(&r->rows[i], &rows[i]);
        for (int k = 0; k < 2; k++) {
            const change_run_points *q = &pts.run[k];
            c.run[k] = (compare_pdf_run){q->x, q->y, q->n, q->fit_ok, q->a, q->b};
        }
        st = compare_pdf_write(&c, an, bn, path, err);
    }
    free(rows);
    change_points_free(&pts);
    return st;
}

static int compare_main(const char *a_arg, const char *b_arg, const char *out, double threshold)
{
    char pa[4096], pb[4096], path[4200], err[KV_ERRLEN] = "";
    analyze_journal_arg(a_arg, pa, sizeof pa); /* too long: cut short; not a usable path anyway */
    analyze_journal_arg(b_arg, pb, sizeof pb);
    journal_data *a = NULL, *b = NULL;
    change_result r;
    memset(&r, 0, sizeof r);
    kv_status st = journal_load(pa, &a, err);
    if (st == KV_OK)
        st = journal_load(pb, &b, err);
    if (st == KV_OK)
        st = change_compute(a, b, threshold, 0.95, COMPARE_SEED, &r, err);
    if (st == KV_OK) {
        printf("A: %s\nB: %s\n", pa, pb);
        table_print(stdout, &r);
    }
    if (st == KV_OK && out)
        st = json_write(&r, pa, pb, out, path, sizeof path, err);
    if (st == KV_OK && out)
        printf("compare: %s\n", path);
    if (st == KV_OK && out)
        st = pdf_write(&r, a, b, pa, pb, out, path, sizeof path, err);
    if (st == KV_OK && out)
        printf("compare: %s\n", path);
    if (st != KV_OK)
        fprintf(stderr, "kvproof compare: %s\n", err);
    change_free(&r);
    journal_data_free(a);
    journal_data_free(b);
    return st == KV_OK ? KV_EXIT_OK : st == KV_ERR_STATS ? KV_EXIT_INPUT : kv_exit_code(st);
}

typedef struct compare_config {
    const char *out;
    double threshold;
    const char *a, *b;
} compare_config;

static const args_opt compare_opts[] = {
    {"out", 'o', ARGS_STR, offsetof(compare_config, out), 0, 0, NULL},
    {"threshold", 't', ARGS_POS, offsetof(compare_config, threshold), 0, 1, NULL},
    {NULL, 0, ARGS_FLAG, 0, 0, 0, NULL},
};

static void compare_defaults(void *cfg)
{
    ((compare_config *)cfg)->threshold = 0.05;
}

static args_verdict compare_check(void *cfg, int npos, char **pos, char *err)
{
    compare_config *c = cfg;
    if (!args_npos(npos, 2, "expected two runs, A and B", err))
        return ARGS_BAD_USAGE;
    c->a = pos[0];
    c->b = pos[1];
    return ARGS_OK;
}

static int compare_exec(void *cfg)
{
    const compare_config *c = cfg;
    return compare_main(c->a, c->b, c->out, c->threshold);
}

const args_cmd cmd_compare = ARGS_CMD(compare, compare_config, compare_opts,
                                      .defaults = compare_defaults, .unknown = ARGS_SEE_HELP);
