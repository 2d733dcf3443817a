/* test_report_md.c - the Markdown summary (report/report_md.h) of the
 * committed results fixtures and through 'kvproof report --format md': the
 * verdict, a headline table whose rows are as wide as its header, every
 * hypothesis with its verdict, the environment, the closing "full report:
 * report.pdf" line; a '|' inside text is escaped so it cannot split a cell. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "report/report_md.h"

#include "tests/testutil.h"

#define FIX "tests/fixtures/results/"

/* Unescaped '|' in one line. */
static size_t pipes(const char *s, const char *end)
{
    size_t n = 0;
    for (const char *p = s; p < end; p++)
        n += *p == '|' && (p == s || p[-1] != '\\');
    return n;
}

/* Every table (a run of lines starting with '|') has rows as wide as its
 * header. Returns the number of tables. */
static size_t check_tables(const char *text)
{
    size_t tables = 0, width = 0;
    bool in_table = false;
    for (const char *line = text; *line;) {
        const char *end = strchr(line, '\n');
        if (!end)
            end = line + strlen(line);
        if (*line == '|') {
            size_t w = pipes(line, end);
            if (!in_table) {
                tables++;
                width = w;
            }
            if (w != width)
                fail_msg("row of %zu cells under a header of %zu: %.*s", w, width,
                         (int)(end - line), line);
            in_table = true;
        } else {
            in_table = false;
        }
        line = *end ? end + 1 : end;
    }
    return tables;
}

static char *summary_of(const char *path)
{
    kv_buf b = {0};
    char err[KV_ERRLEN] = "";
    if (report_md_write(path, NULL, &b, err) != KV_OK)
        fail_msg("%s", err);
    return b.data;
}

static void markdown_should_hold_verdict_table_hypotheses_environment_and_pdf_line(void **state)
{
    (void)state;
    char *md = summary_of(FIX "demo.json");
    assert_non_null(strstr(md, "**Verdict:** reference: at 18490 system-prompt tokens"));
    assert_non_null(strstr(md, "SIMULATED TARGET"));
    assert_non_null(strstr(md, "| target | model | cold prefill, ms/token [95% CI]"));
    assert_non_null(strstr(md, "| reference |"));
    assert_non_null(strstr(md, "| H1 |"));
    assert_non_null(strstr(md, "| H3 |"));
    assert_non_null(strstr(md, "**Environment**"));
    assert_non_null(strstr(md, "- client: "));
    const char *last = strstr(md, "full report: report.pdf\n");
    assert_non_null(last);
    assert_string_equal(last, "full report: report.pdf\n");
    assert_int_equal(check_tables(md), 2);
    free(md);
}

static void markdown_should_give_one_headline_row_per_target(void **state)
{
    (void)state;
    char *md = summary_of(FIX "two_targets.json");
    const char *head = strstr(md, "| target | model |");
    assert_non_null(head);
    size_t rows = 0;
    for (const char *p = strchr(head, '\n') + 1; *p == '|'; p = strchr(p, '\n') + 1)
        rows++;
    assert_int_equal(rows, 2 + 1); /* the separator row and two targets */
    check_tables(md);
    free(md);
}

static void markdown_should_escape_a_pipe_inside_a_cell(void **state)
{
    const char *dir = *state;
    char path[128];
    snprintf(path, sizeof path, "%s/results.json", dir);
    char *text = tu_read(FIX "demo.json", NULL);
    /* The first hypothesis description gains a '|'. */
    char *desc = strstr(text, "\"description\": \"");
    if (!desc)
        desc = strstr(text, "\"description\":\"");
    assert_non_null(desc);
    char *q = strchr(strchr(desc, ':') + 1, '"') + 1;
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fwrite(text, 1, (size_t)(q - text), f);
    fputs("a | b ", f);
    fputs(q, f);
    fclose(f);
    free(text);
    char *md = summary_of(path);
    assert_non_null(strstr(md, "a \\| b "));
    check_tables(md);
    free(md);
    /* The CLI: --format md to stdout, exit 0. */
    assert_int_equal(tu_kvproof(NULL, "report '%s' --format md > '%s/out.md'", dir, dir), 0);
    snprintf(path, sizeof path, "%s/out.md", dir);
    text = tu_read(path, NULL);
    assert_non_null(strstr(text, "full report: report.pdf"));
    free(text);
}

TU_MAIN(NULL, NULL,
        cmocka_unit_test(markdown_should_hold_verdict_table_hypotheses_environment_and_pdf_line),
        cmocka_unit_test(markdown_should_give_one_headline_row_per_target),
        cmocka_unit_test_setup_teardown(markdown_should_escape_a_pipe_inside_a_cell,
                                        tu_setup_scratch, tu_teardown_scratch))
