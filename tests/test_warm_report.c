/* test_warm_report.c - the report's "How many sessions stay warm" page
 * (report/page_contention.c) and its sentence on page 1, from the results
 * of the contention fixture journal (tests/warmfix.h): the PDF is valid
 * (tests/pdfcheck.h), the page's figures are registered, and the numbers
 * pdftotext reads off the page and page 1 are results.json's (capacities,
 * bounds, hit rates, median TTFTs, session times); a results.json without
 * a contention section gets no such page. Also `report --format md`.
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

#include "common/util.h"
#include "pdfcheck.h"
#include "report/fmt.h"
#include "report/report.h"
#include "report/report_md.h"
#include "report/results_read.h"
#include "stats/results.h"
#include "tests/testutil.h"

#define JOURNAL "tests/fixtures/journals/contention/two_servers.jsonl"
#define NO_CONTENTION "tests/fixtures/results/degenerate.json"

typedef struct fixture {
    char dir[64], json[128], pdf[128];
    rr_results *r;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    char err[KV_ERRLEN] = "";
    snprintf(f->dir, sizeof f->dir, "/tmp/kvwarmrep-XXXXXX");
    if (!f || !mkdtemp(f->dir))
        return -1;
    snprintf(f->json, sizeof f->json, "%s/results.json", f->dir);
    snprintf(f->pdf, sizeof f->pdf, "%s/report.pdf", f->dir);
    results_options opt;
    results_options_default(&opt);
    opt.bootstrap_resamples = 200;
    if (results_from_journal(JOURNAL, f->json, &opt, err) != KV_OK ||
        results_read_load(f->json, &f->r, err) != KV_OK) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        return -1;
    results_read_free(f->r);
    free(f);
    return 0;
}

/* pdftotext of pages first..last (0: to the end), malloc'd; "" past the end. */
static char *page_text(const char *pdf, int first, int last)
{
    char cmd[512];
    if (last > 0)
        snprintf(cmd, sizeof cmd, "pdftotext -f %d -l %d '%s' - 2>/dev/null", first, last, pdf);
    else
        snprintf(cmd, sizeof cmd, "pdftotext -f %d '%s' - 2>/dev/null", first, pdf);
    static char out[1 << 20];
    if (pdfcheck_run(cmd, out, sizeof out) != 0)
        out[0] = '\0'; /* past the last page */
    return strdup(out);
}

/* The page (1-based) whose text holds s; 0 when none. */
static int page_with(const char *pdf, const char *s)
{
    for (int p = 1; p < 64; p++) {
        char *t = page_text(pdf, p, p);
        int found = strstr(t, s) != NULL, empty = t[0] == '\0';
        free(t);
        if (found)
            return p;
        if (empty)
            return 0;
    }
    return 0;
}

static void must_contain(const char *text, const char *s)
{
    if (!strstr(text, s))
        fail_msg("\"%s\" is not on the page", s);
}

static void page_should_show_the_numbers_of_results_json(void **state)
{
    fixture *f = *state;
    report_figure figs[64];
    size_t nfigs = 0;
    char err[KV_ERRLEN] = "", a[64], b[128];
    assert_int_equal(report_write_ex(f->json, f->pdf, figs, 64, &nfigs, err), KV_OK);
    pdfcheck_assert_clean(f->pdf);
    int seen = 0;
    for (size_t i = 0; i < nfigs; i++)
        seen += strcmp(figs[i].name, "warm_hit_rate") == 0 ||
                strcmp(figs[i].name, "warm_ttft") == 0 || strcmp(figs[i].name, "warm_classes") == 0;
    assert_int_equal(seen, 3);
    int p = page_with(f->pdf, "How many sessions stay warm");
    assert_true(p > 1);
    char *text = page_text(f->pdf, p, p + 1);
    const rr_contention *c = &f->r->contention;
    assert_true(c->present);
    assert_int_equal(c->n_caps, 2);
    for (size_t i = 0; i < c->n_caps; i++) {
        const rr_warm_capacity *k = &c->caps[i];
        snprintf(b, sizeof b, "%s: warm capacity %ld (bounds %ld to %ld)", k->target, k->capacity,
                 k->low, k->high);
        must_contain(text, b);
    }
    for (size_t i = 0; i < c->n_groups; i++) {
        const rr_warm_group *g = &c->groups[i];
        snprintf(b, sizeof b, "%s%%", fmt_num(100 * g->hit_rate.est.value, a, sizeof a));
        must_contain(text, b);
        snprintf(b, sizeof b, "%s ms", fmt_num(g->median_ttft_ms.est.value, a, sizeof a));
        must_contain(text, b);
        snprintf(b, sizeof b, "n = %ld", g->scored);
        must_contain(text, b);
        fmt_num(g->session_with_cache_s.est.value, a, sizeof a);
        must_contain(text, a);
    }
    must_contain(text, "Figure 9. Hit rate against the number of agents");
    must_contain(text, "Figure 11. What the cache did");
    free(text);
    /* page 1: the one sentence */
    text = page_text(f->pdf, 1, 1);
    must_contain(text, "HOW MANY SESSIONS STAY WARM");
    must_contain(text, "laptop, 550-token prompts: up to 1 agent stays warm");
    free(text);
}

static void results_without_contention_should_have_no_such_page(void **state)
{
    fixture *f = *state;
    char err[KV_ERRLEN] = "", pdf[160];
    snprintf(pdf, sizeof pdf, "%s/plain.pdf", f->dir);
    assert_int_equal(report_write(NO_CONTENTION, pdf, err), KV_OK);
    assert_int_equal(page_with(pdf, "How many sessions stay warm"), 0);
    char *text = page_text(pdf, 1, 1);
    assert_null(strstr(text, "HOW MANY SESSIONS STAY WARM"));
    free(text);
}

static void markdown_should_carry_the_section_only_with_contention(void **state)
{
    fixture *f = *state;
    char err[KV_ERRLEN] = "", a[64], b[160];
    kv_buf out = {0};
    assert_int_equal(report_md_write(f->json, NULL, &out, err), KV_OK);
    must_contain(out.data, "**How many sessions stay warm**");
    must_contain(out.data, "- `ram`, 550-token prompts: warm capacity 2 agents (bounds 2 to 2); "
                           "below 50% from 4 agents");
    const rr_contention *c = &f->r->contention;
    for (size_t i = 0; i < c->n_groups; i++) {
        snprintf(b, sizeof b, "| %s | %ld | %s %%", c->groups[i].target, c->groups[i].agents,
                 fmt_num(100 * c->groups[i].hit_rate.est.value, a, sizeof a));
        must_contain(out.data, b);
    }
    kv_buf_free(&out);
    assert_int_equal(report_md_write(NO_CONTENTION, NULL, &out, err), KV_OK);
    assert_null(strstr(out.data, "How many sessions stay warm"));
    kv_buf_free(&out);
}

TU_MAIN(setup, teardown, cmocka_unit_test(page_should_show_the_numbers_of_results_json),
        cmocka_unit_test(results_without_contention_should_have_no_such_page),
        cmocka_unit_test(markdown_should_carry_the_section_only_with_contention))
