/* test_report.c - the PDF report: number formatting rules, the results.json
 * reader, the verdict numbers in pdftotext's output, byte-identical output,
 * the simulated/partial bands, every page and figure rendering with drawn
 * content (pdftoppm), a 100,000-trial run under 5 MB, and the CLI.
 *
 * Fixtures: tests/fixtures/results/{demo,two_targets,degenerate}.json
 * (written by scripts/make-results-fixtures.sh from the journals in
 * tests/fixtures/journals/results/ with kvproof's own writer: demo is a
 * 'kvproof demo' journal, two_targets two reference servers, degenerate an
 * interrupted run at one length). The live demo run is in test_report_slow.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "common/util.h"
#include "report/doc.h"
#include "report/fmt.h"
#include "report/plot.h"
#include "report/report.h"
#include "report/results_read.h"

#include "pdfcheck.h"
#include "tests/testutil.h"

#define FIX "tests/fixtures/results/"

static const char *const FIXTURES[] = {FIX "demo.json", FIX "two_targets.json",
                                       FIX "degenerate.json"};
#define N_FIXTURES (sizeof FIXTURES / sizeof FIXTURES[0])

/* ---- helpers ---- */

static int page_count(const char *pdf)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "pdfinfo '%s' 2>/dev/null | sed -n 's/^Pages: *//p'", pdf);
    char *out = tu_capture(cmd);
    int n = (int)strtol(out, NULL, 10);
    free(out);
    return n;
}

static char *page_text(const char *pdf, int first, int last)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "pdftotext -f %d -l %d '%s' - 2>/dev/null", first, last, pdf);
    return tu_capture(cmd);
}

typedef struct gray {
    int w, h;
    unsigned char *px;
} gray;

/* Renders one page at dpi to a PGM and reads it. */
static gray render(const char *pdf, int page, int dpi, const char *dir)
{
    char cmd[1024], path[512];
    snprintf(path, sizeof path, "%s/page%d", dir, page);
    snprintf(cmd, sizeof cmd, "pdftoppm -r %d -gray -f %d -l %d -singlefile '%s' '%s' 2>/dev/null",
             dpi, page, page, pdf, path);
    assert_int_equal(system(cmd), 0);
    strncat(path, ".pgm", sizeof path - strlen(path) - 1);
    size_t len = 0;
    char *data = tu_read(path, &len);
    gray g = {0, 0, NULL};
    int maxv = 0, off = 0;
    assert_int_equal(sscanf(data, "P5 %d %d %d%n", &g.w, &g.h, &maxv, &off), 3);
    off++; /* the single whitespace after maxval */
    assert_true((size_t)off + (size_t)g.w * (size_t)g.h <= len);
    g.px = malloc((size_t)g.w * (size_t)g.h);
    assert_non_null(g.px);
    memcpy(g.px, data + off, (size_t)g.w * (size_t)g.h);
    free(data);
    remove(path);
    return g;
}

/* Share of pixels darker than `below` inside the rectangle (points,
 * top-left), shrunk by `inset` points to stay off the frame. */
static double dark_share(const gray *g, double scale, double x, double y, double w, double h,
                         double inset, int below)
{
    int x0 = (int)((x + inset) * scale), x1 = (int)((x + w - inset) * scale);
    int y0 = (int)((y + inset) * scale), y1 = (int)((y + h - inset) * scale);
    long dark = 0, all = 0;
    for (int yy = y0; yy < y1 && yy < g->h; yy++)
        for (int xx = x0; xx < x1 && xx < g->w; xx++) {
            all++;
            if (g->px[(size_t)yy * (size_t)g->w + (size_t)xx] < below)
                dark++;
        }
    return all ? (double)dark / (double)all : 0;
}

static double variance(const gray *g)
{
    double s = 0, ss = 0, n = (double)g->w * g->h;
    for (size_t i = 0; i < (size_t)g->w * (size_t)g->h; i++) {
        s += g->px[i];
        ss += (double)g->px[i] * g->px[i];
    }
    return ss / n - (s / n) * (s / n);
}

static void write_report(const char *json, const char *pdf, report_figure *figs, size_t cap,
                         size_t *nfigs)
{
    char err[KV_ERRLEN] = "";
    kv_status st = report_write_ex(json, pdf, figs, cap, nfigs, err);
    if (st != KV_OK)
        fail_msg("report_write_ex(%s): %s", json, err);
    pdfcheck_assert_clean(pdf); /* no pdftotext warning, qpdf --check clean */
}

/* write_report of json, without figures, to dir/name; the path in pdf
 * (256 bytes). */
static void report_in(const char *dir, const char *name, const char *json, char *pdf)
{
    size_t nf = 0;
    snprintf(pdf, 256, "%s/%s", dir, name);
    write_report(json, pdf, NULL, 0, &nf);
}

/* ---- formatting and reading ---- */

static void fmt_should_follow_the_documented_rounding_rules(void **state)
{
    (void)state;
    char b[64];
    assert_string_equal(fmt_num(18490, b, sizeof b), "18490");
    assert_string_equal(fmt_num(2703.2516, b, sizeof b), "2703");
    assert_string_equal(fmt_num(123.456, b, sizeof b), "123");
    assert_string_equal(fmt_num(74.564, b, sizeof b), "74.6");
    assert_string_equal(fmt_num(4.1649, b, sizeof b), "4.16");
    assert_string_equal(fmt_num(0.36992, b, sizeof b), "0.370");
    assert_string_equal(fmt_num(0.0123456, b, sizeof b), "0.0123");
    assert_string_equal(fmt_num(6.7337e-06, b, sizeof b), "6.73e-06");
    assert_string_equal(fmt_num(0.0, b, sizeof b), "0");
    assert_string_equal(fmt_num(-0.0001, b, sizeof b), "-1.00e-04");
    assert_string_equal(fmt_num(-0.04, b, sizeof b), "-0.0400");
    assert_string_equal(fmt_num(NAN, b, sizeof b), "n/a");
    assert_string_equal(fmt_pct(0.99318, b, sizeof b), "99.3 %");
    assert_string_equal(fmt_p(2e-7, b, sizeof b), "< 0.0001");
    rr_est e = {1, {74.56, 72.68, 76.50, true, 0.95, 12}, "", ""};
    assert_string_equal(fmt_est(&e, 1, "×", b, sizeof b), "74.6× [72.7, 76.5]");
    rr_est nul = {1, {NAN, NAN, NAN, false, 0.95, 3}, "", "no model"};
    assert_string_equal(fmt_est(&nul, 1, "", b, sizeof b), "n/a (no model)");
}

static void reader_should_load_every_fixture(void **state)
{
    (void)state;
    char err[KV_ERRLEN] = "";
    rr_results *r = NULL;
    assert_int_equal(results_read_load(FIX "demo.json", &r, err), KV_OK);
    assert_int_equal(r->n_targets, 1);
    assert_int_equal(r->targets[0].n_points, 0); /* in demo.points.csv */
    assert_int_equal(r->points_rows, 250);
    char warn[KV_ERRLEN] = "";
    assert_int_equal(results_read_load_points(r, warn, err), KV_OK);
    assert_string_equal(warn, "");
    assert_int_equal(r->targets[0].n_points, 250);
    assert_int_equal(r->points_total, 250);
    assert_true(r->targets[0].cold_ttft.n_residuals > 0);
    assert_true(r->targets[0].warm_ttft.n_residuals > 0);
    assert_int_equal(r->targets[0].cold_ttft.n_residuals + r->targets[0].warm_ttft.n_residuals,
                     r->targets[0].cold_ttft.n + r->targets[0].warm_ttft.n);
    assert_int_equal(r->targets[0].n_cells, 50);
    assert_true(r->simulated);
    assert_false(r->partial);
    assert_int_equal(r->targets[0].cold_ttft.n_curve, 100);
    assert_string_equal(r->run_date, "2026-12-01T09:55:03Z");
    results_read_free(r);
    assert_int_equal(results_read_load(FIX "two_targets.json", &r, err), KV_OK);
    assert_int_equal(r->n_targets, 2);
    assert_int_equal(r->n_comparison, 2);
    results_read_free(r);
    assert_int_equal(results_read_load(FIX "degenerate.json", &r, err), KV_OK);
    assert_true(r->partial);
    assert_int_equal(r->targets[0].cold_ttft.n_fits, 0); /* one length: no slope */
    assert_non_null(strstr(r->targets[0].cold_ttft.note, "one length"));
    assert_true(isnan(r->v_prefill_ms.est.value));
    results_read_free(r);
    results_read_free(NULL);
}

/* results_read_parse of text, named name in messages, refuses it with
 * KV_ERR_INPUT and keeps nothing; its message in err. */
static void parse_refused(const char *text, const char *name, char *err)
{
    rr_results *r = NULL;
    err[0] = '\0';
    assert_int_equal(results_read_parse(text, strlen(text), name, &r, err), KV_ERR_INPUT);
    assert_null(r);
}

static void reader_should_name_the_file_line_and_field_of_bad_input(void **state)
{
    (void)state;
    char err[KV_ERRLEN];
    parse_refused("{\"format\": \"kvproof-results\",\n \"version\": 1,\n \"targets\": [}", "x.json",
                  err);
    assert_non_null(strstr(err, "x.json:3:"));

    cJSON *tree = tu_read_json(FIX "demo.json");
    cJSON *c0 = cJSON_GetArrayItem(
        cJSON_GetObjectItemCaseSensitive(
            cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(tree, "targets"), 0), "cells"),
        0);
    cJSON_ReplaceItemInObjectCaseSensitive(c0, "p90", cJSON_CreateString("slow"));
    char *bad_type = cJSON_PrintUnformatted(tree);
    parse_refused(bad_type, "y.json", err);
    assert_non_null(strstr(err, "y.json"));
    assert_non_null(strstr(err, "targets[0].cells[0].p90"));
    cJSON_free(bad_type);
    cJSON_Delete(tree);

    parse_refused("{\"format\": \"something-else\"}", "z.json", err);
    assert_non_null(strstr(err, "format"));

    err[0] = '\0';
    rr_results *r = NULL;
    assert_int_not_equal(results_read_load("tests/fixtures/results/does-not-exist.json", &r, err),
                         KV_OK);
    assert_non_null(strstr(err, "does-not-exist.json"));
}

static void libharu_errors_should_end_in_a_clear_status_not_a_crash(void **state)
{
    (void)state;
    rdoc d;
    char err[KV_ERRLEN] = "";
    pdfcheck_doc_page(&d);
    assert_int_equal(doc_check(&d, err), KV_OK);
    doc_hline(&d, 0, 10, 10, DOC_BLACK, -1); /* libharu rejects a negative line width */
    assert_int_equal(doc_check(&d, err), KV_ERR_INTERNAL);
    assert_non_null(strstr(err, "libharu error"));
    doc_free(&d);
}

/* Every drawing primitive on empty, all-NaN and one-point data, and on a
 * log axis from 1 to 2 (no minor tick inside): nothing may stroke or fill an
 * empty path, which libharu reports as an error. */
static void plot_primitives_should_draw_edge_data_without_a_libharu_error(void **state)
{
    (void)state;
    rdoc d;
    char err[KV_ERRLEN] = "";
    pdfcheck_doc_page(&d);
    plot_axis xa = {PLOT_LOG, 0, 0, "x", NULL, 0};
    plot_axis ya = {PLOT_LOG, 0, 0, "y", NULL, 0};
    plot_nice_range(&xa, 1.2, 1.8, 0);
    plot_nice_range(&ya, 1.1, 1.9, 0);
    assert_true(xa.lo == 1 && xa.hi == 2);
    plot p;
    plot_begin(&p, &d, "edge", 100, 100, 300, 200, &xa, &ya);
    assert_int_equal(doc_check(&d, err), KV_OK);
    const double nan3[3] = {NAN, NAN, NAN}, one[1] = {1.5};
    plot_clip_begin(&p);
    plot_line(&p, nan3, nan3, 3, DOC_BLUE, 1, 0);
    plot_line(&p, one, one, 1, DOC_BLUE, 1, 1);
    plot_line(&p, one, one, 0, DOC_BLUE, 1, 0);
    plot_band(&p, nan3, nan3, nan3, 3, DOC_BLUE, 0);
    plot_band(&p, one, one, one, 1, DOC_BLUE, 1);
    plot_band(&p, one, one, one, 0, DOC_BLUE, 1);
    assert_int_equal(plot_markers(&p, MARK_CIRCLE, 1, 3, DOC_BLUE, nan3, nan3, 3, 0.5), 0);
    assert_int_equal(plot_markers(&p, MARK_SQUARE, 0, 3, DOC_BLUE, one, one, 0, 0), 0);
    assert_int_equal(plot_markers(&p, MARK_DIAMOND, 0, 3, DOC_BLUE, one, one, 1, 0), 1);
    plot_whisker(&p, 1.5, NAN, NAN, 2, DOC_BLUE, 1);
    plot_whisker(&p, NAN, 1.2, 1.8, 2, DOC_BLUE, 1);
    plot_hline(&p, NAN, DOC_GREY, 1, 1);
    plot_box(&p, 1.5, 4, NAN, NAN, NAN, NAN, NAN, nan3, 3, DOC_BLUE);
    plot_box(&p, 1.5, 4, 1.5, NAN, 1.5, NAN, 1.5, NULL, 0, DOC_BLUE);
    plot_clip_end(&p);
    plot_legend(&p, NULL, 0, 0);
    assert_int_equal(doc_check(&d, err), KV_OK);
    doc_free(&d);
}

/* ---- the PDF ---- */

static void pdf_should_show_the_verdict_numbers_as_results_json_has_them(void **state)
{
    const char *dir = *state;
    for (size_t f = 0; f < N_FIXTURES; f++) {
        char pdf[256], name[32], err[KV_ERRLEN] = "";
        snprintf(name, sizeof name, "r%zu.pdf", f);
        report_in(dir, name, FIXTURES[f], pdf);
        rr_results *r = NULL;
        assert_int_equal(results_read_load(FIXTURES[f], &r, err), KV_OK);
        char *text = page_text(pdf, 1, 1);
        for (char *p = text; *p; p++) /* wrapped lines read as one */
            if (*p == '\n')
                *p = ' ';
        pdfcheck_verdict_on_page(text, r);
        char day[16];
        snprintf(day, sizeof day, "%.10s", r->run_date);
        assert_non_null(strstr(text, day)); /* the run's date, not today's */
        /* Page 1 lists the hypotheses that fit; every one is in the report. */
        char *all = page_text(pdf, 1, page_count(pdf));
        for (size_t h = 0; h < r->n_hypotheses; h++) {
            assert_non_null(strstr(all, r->hypotheses[h].id));
            char up[32];
            snprintf(up, sizeof up, "%s", r->hypotheses[h].verdict);
            for (char *p = up; *p; p++)
                *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
            assert_non_null(strstr(all, up));
        }
        free(all);
        assert_non_null(strstr(text, r->targets[0].model));
        free(text);
        results_read_free(r);
    }
}

static void pdf_should_be_byte_identical_for_the_same_results(void **state)
{
    const char *dir = *state;
    char a[256], b[256];
    report_in(dir, "a.pdf", FIX "two_targets.json", a);
    report_in(dir, "b.pdf", FIX "two_targets.json", b);
    tu_expect_same_file(a, b);
}

static void pdf_should_mark_every_page_of_a_simulated_or_partial_run(void **state)
{
    const char *dir = *state;
    char pdf[256];
    report_in(dir, "s.pdf", FIX "demo.json", pdf);
    int pages = page_count(pdf);
    assert_true(pages >= 5);
    for (int p = 1; p <= pages; p++) {
        char *t = page_text(pdf, p, p);
        if (!strstr(t, "SIMULATED TARGET"))
            fail_msg("page %d lacks the SIMULATED TARGET band", p);
        assert_null(strstr(t, "PARTIAL RUN"));
        free(t);
    }
    report_in(dir, "d.pdf", FIX "degenerate.json", pdf);
    pages = page_count(pdf);
    for (int p = 1; p <= pages; p++) {
        char *t = page_text(pdf, p, p);
        assert_non_null(strstr(t, "SIMULATED TARGET")); /* also simulated */
        if (!strstr(t, "PARTIAL RUN"))
            fail_msg("page %d lacks the PARTIAL RUN band", p);
        free(t);
    }
}

/* skip: figure names left out of the content check ("" for none), for a
 * fixture whose results hold no data for them. */
static void check_rendering(const char *json, const char *dir, int expect_figures, const char *skip)
{
    char pdf[256];
    report_figure figs[32];
    size_t nf = 0;
    snprintf(pdf, sizeof pdf, "%s/fig.pdf", dir);
    write_report(json, pdf, figs, 32, &nf);
    if (expect_figures)
        assert_int_equal(nf, 8);
    int pages = page_count(pdf);
    assert_true(pages >= 5);
    const int dpi = 36;
    const double scale = dpi / 72.0;
    for (int p = 1; p <= pages; p++) {
        gray g = render(pdf, p, dpi, dir);
        assert_true(g.w > 200 && g.h > 300);
        if (variance(&g) < 10)
            fail_msg("%s: page %d renders blank", json, p);
        for (size_t i = 0; i < nf; i++) {
            if (figs[i].page != p - 1 || strstr(skip, figs[i].name))
                continue;
            double share =
                dark_share(&g, scale, figs[i].x, figs[i].y, figs[i].w, figs[i].h, 4, 170);
            if (share < 0.002)
                fail_msg("%s: figure %s on page %d looks empty (%.4f dark)", json, figs[i].name, p,
                         share);
        }
        free(g.px);
    }
}

static void every_page_and_figure_should_render_with_drawn_content(void **state)
{
    const char *dir = *state;
    check_rendering(FIX "demo.json", dir, 1, "");
    check_rendering(FIX "two_targets.json", dir, 1, "");
    /* No sessions and no models: those figures say so instead of drawing;
     * its six warm points all sit at 64 new tokens, too few dark pixels. */
    check_rendering(FIX "degenerate.json", dir, 1,
                    "session residuals_tokens residuals_order warm_new_tokens");
    /* Figure 8 draws the demo's warm model (fitted on new tokens) and says
     * so; Figures 1-2 point to it. */
    char pdf[256];
    snprintf(pdf, sizeof pdf, "%s/fig.pdf", dir);
    char err[KV_ERRLEN] = "";
    assert_int_equal(report_write(FIX "demo.json", pdf, err), KV_OK);
    char *text = page_text(pdf, 1, page_count(pdf));
    assert_non_null(strstr(text, "Figure 8. Warm requests"));
    assert_non_null(strstr(text, "fitted against these tokens"));
    assert_non_null(strstr(text, "Figure 8 shows it"));
    free(text);
}

/* ---- a 100,000-trial run ---- */

static double lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(*s >> 11) / 9007199254740992.0;
}

static cJSON *point_obj(double x, double y, int warm, long L, long order)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddNumberToObject(p, "x", x);
    cJSON_AddNumberToObject(p, "new_tokens", warm ? x - (double)L : x);
    cJSON_AddNumberToObject(p, "cached", warm ? (double)L : 0);
    cJSON_AddNumberToObject(p, "y", y);
    cJSON_AddNullToObject(p, "server_prefill_ms");
    cJSON_AddStringToObject(p, "mode", warm ? "warm" : "cold");
    cJSON_AddNumberToObject(p, "system_prompt_tokens", (double)L);
    cJSON_AddNumberToObject(p, "query_tokens", 64);
    cJSON_AddNumberToObject(p, "query_count", 1);
    cJSON_AddNumberToObject(p, "turn", 1);
    cJSON_AddNumberToObject(p, "order", (double)order);
    cJSON_AddFalseToObject(p, "contaminated");
    return p;
}

/* Writes the demo's results.json with n generated trials over five system
 * prompts (cold: 30 + 0.3 N + 6e-6 N^2 ms; warm: 50 ms + noise) as its
 * inline points and n / 2 cold residuals, as files written before the
 * points file held them (no points_file): the size of a 100,000-trial run. */
static void generate_large(const char *path, long n)
{
    static const long sys[] = {0, 550, 2048, 8192, 18490};
    cJSON *root = tu_read_json(FIX "demo.json");
    cJSON *t = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(root, "targets"), 0);
    cJSON *pts = cJSON_CreateArray(), *res = cJSON_CreateArray();
    uint64_t s = 42;
    for (long i = 0; i < n; i++) {
        long L = sys[i % 5];
        int warm = (int)((i / 5) % 2);
        double x = (double)(L + 64);
        double base = warm ? 50 + 0.002 * L : 30 + 0.3 * x + 6e-6 * x * x;
        double y = base * (1 + 0.05 * (lcg(&s) + lcg(&s) + lcg(&s) - 1.5));
        cJSON_AddItemToArray(pts, point_obj(x, y, warm, L, i + 1));
        if (i % 2 == 0) {
            cJSON *r = cJSON_CreateObject();
            cJSON_AddNumberToObject(r, "x", x);
            cJSON_AddNumberToObject(r, "order", (double)(i + 1));
            cJSON_AddNumberToObject(r, "residual", (lcg(&s) - 0.5) * 0.05 * base);
            cJSON_AddItemToArray(res, r);
        }
    }
    cJSON_DeleteItemFromObjectCaseSensitive(root, "points_file");
    cJSON_AddItemToObject(t, "points", pts);
    cJSON *models = cJSON_GetObjectItemCaseSensitive(t, "models");
    cJSON_AddItemToObject(cJSON_GetObjectItemCaseSensitive(models, "cold_ttft"), "residuals", res);
    char *out = cJSON_PrintUnformatted(root);
    assert_non_null(out);
    tu_write(path, out);
    cJSON_free(out);
    cJSON_Delete(root);
}

static void a_100000_trial_run_should_give_a_report_under_5_mb_that_renders(void **state)
{
    const char *dir = *state;
    char json[256], pdf[256];
    snprintf(json, sizeof json, "%s/results.json", dir);
    snprintf(pdf, sizeof pdf, "%s/report.pdf", dir);
    generate_large(json, 100000);
    report_figure figs[32];
    size_t nf = 0;
    write_report(json, pdf, figs, 32, &nf);
    struct stat sb;
    assert_int_equal(stat(pdf, &sb), 0);
    if (sb.st_size >= 5 * 1024 * 1024)
        fail_msg("report is %lld bytes", (long long)sb.st_size);
    char *text = page_text(pdf, 2, 2);
    assert_non_null(strstr(text, "n = 100000"));
    free(text);
    const double scale = 36 / 72.0;
    for (size_t i = 0; i < nf; i++) {
        if (strcmp(figs[i].name, "ttft_linear") != 0 && strcmp(figs[i].name, "residuals_order"))
            continue;
        gray g = render(pdf, figs[i].page + 1, 36, dir);
        assert_true(dark_share(&g, scale, figs[i].x, figs[i].y, figs[i].w, figs[i].h, 4, 170) >
                    0.002);
        free(g.px);
    }
}

/* ---- the CLI ---- */

static int run_cli(const char *args)
{
    assert_non_null(getenv("KVPROOF_BIN"));
    return tu_kvproof(NULL, "%s >/dev/null 2>&1", args);
}

static void cli_should_write_report_pdf_into_the_run_directory(void **state)
{
    const char *dir = *state;
    char cmd[1024], pdf[256];
    assert_int_equal(tu_run(NULL, "cp " FIX "demo.json '%s/results.json'", dir), 0);
    snprintf(cmd, sizeof cmd, "report '%s'", dir);
    assert_int_equal(run_cli(cmd), 0);
    snprintf(pdf, sizeof pdf, "%s/report.pdf", dir);
    assert_true(page_count(pdf) >= 5);
    pdfcheck_assert_clean(pdf);
    /* -o, and the same bytes as the directory form. */
    snprintf(cmd, sizeof cmd, "report '%s/results.json' -o '%s/other.pdf'", dir, dir);
    assert_int_equal(run_cli(cmd), 0);
    char other[256];
    snprintf(other, sizeof other, "%s/other.pdf", dir);
    tu_expect_same_file(pdf, other);
    assert_int_equal(run_cli("report --help"), 0);
    assert_int_equal(run_cli("report"), 2);
    assert_int_equal(run_cli("report --bogus x"), 2);
    assert_int_equal(tu_run(NULL, "echo '{\"format\": 1' > '%s/bad.json'", dir), 0);
    snprintf(cmd, sizeof cmd, "report '%s/bad.json'", dir);
    assert_int_equal(run_cli(cmd), 3);
}

TU_MAIN(
    NULL, NULL, cmocka_unit_test(fmt_should_follow_the_documented_rounding_rules),
    cmocka_unit_test(reader_should_load_every_fixture),
    cmocka_unit_test(reader_should_name_the_file_line_and_field_of_bad_input),
    cmocka_unit_test(libharu_errors_should_end_in_a_clear_status_not_a_crash),
    cmocka_unit_test(plot_primitives_should_draw_edge_data_without_a_libharu_error),
    cmocka_unit_test_setup_teardown(pdf_should_show_the_verdict_numbers_as_results_json_has_them,
                                    tu_setup_scratch, tu_teardown_scratch),
    cmocka_unit_test_setup_teardown(pdf_should_be_byte_identical_for_the_same_results,
                                    tu_setup_scratch, tu_teardown_scratch),
    cmocka_unit_test_setup_teardown(pdf_should_mark_every_page_of_a_simulated_or_partial_run,
                                    tu_setup_scratch, tu_teardown_scratch),
    cmocka_unit_test_setup_teardown(every_page_and_figure_should_render_with_drawn_content,
                                    tu_setup_scratch, tu_teardown_scratch),
    cmocka_unit_test_setup_teardown(a_100000_trial_run_should_give_a_report_under_5_mb_that_renders,
                                    tu_setup_scratch, tu_teardown_scratch),
    cmocka_unit_test_setup_teardown(cli_should_write_report_pdf_into_the_run_directory,
                                    tu_setup_scratch, tu_teardown_scratch))
