/* test_report_slow.c - the report end to end: 'kvproof demo' runs the
 * built-in experiment against the reference server, and the verdict numbers
 * of its results.json appear on page 1 of its report.pdf as report/fmt.h
 * formats them. Slow (the demo runs about a minute on a loaded machine). */
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
#include "report/fmt.h"
#include "report/results_read.h"

#include "pdfcheck.h"
#include "tests/testutil.h"

static void demo_report_should_show_its_results_verdict_numbers(void **state)
{
    (void)state;
    assert_non_null(getenv("KVPROOF_BIN"));
    char dir[64] = "/tmp/kvreport-demo-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char cmd[1024], json[256], pdf[256], err[KV_ERRLEN] = "";
    assert_int_equal(tu_kvproof(NULL, "demo --out '%s/d' --quiet >/dev/null 2>&1", dir), 0);
    snprintf(json, sizeof json, "%s/d/results.json", dir);
    snprintf(pdf, sizeof pdf, "%s/d/report.pdf", dir);
    rr_results *r = NULL;
    assert_int_equal(results_read_load(json, &r, err), KV_OK);
    snprintf(cmd, sizeof cmd, "pdftotext -f 1 -l 1 '%s' - 2>/dev/null", pdf);
    char *text = tu_capture(cmd);
    for (char *p = text; *p; p++)
        if (*p == '\n')
            *p = ' ';
    pdfcheck_verdict_on_page(text, r);
    assert_non_null(strstr(text, "SIMULATED TARGET"));
    free(text);
    pdfcheck_assert_clean(pdf);
    results_read_free(r);
    tu_rmtree(dir);
}

TU_MAIN(NULL, NULL, cmocka_unit_test(demo_report_should_show_its_results_verdict_numbers))
