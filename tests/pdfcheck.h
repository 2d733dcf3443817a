/* pdfcheck.h - the validity check every report test applies to the PDFs it
 * writes: pdftotext reads the whole file and prints nothing on stderr (no
 * syntax error, no CMap warning), and `qpdf --check` exits 0 (no error, no
 * warning). Header-only (static) because every tests/test_*.c is its own
 * executable; needs cmocka included first. Also: a check that an estimate
 * of results.json stands on page 1 as report/fmt.h formats it, and a
 * document with one empty page for the tests that draw on it.
 */
#ifndef KV_PDFCHECK_H
#define KV_PDFCHECK_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "report/doc.h"
#include "report/fmt.h"
#include "report/results_read.h"

/* Runs cmd with stdout and stderr into out (cut to cap); returns its exit
 * status (-1 when it could not run). */
static inline int pdfcheck_run(const char *cmd, char *out, size_t cap)
{
    FILE *f = popen(cmd, "r");
    if (!f)
        return -1;
    size_t n = 0, k;
    char chunk[1024];
    while ((k = fread(chunk, 1, sizeof chunk, f)) > 0) {
        size_t room = cap - 1 - n;
        memcpy(out + n, chunk, k < room ? k : room);
        n += k < room ? k : room;
    }
    out[n] = '\0';
    int st = pclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Empty string when pdf passes both checks, else what failed (static). */
static inline const char *pdfcheck_problem(const char *pdf)
{
    static char msg[4096];
    char cmd[1200], out[3000];
    snprintf(cmd, sizeof cmd, "pdftotext '%s' /dev/null 2>&1", pdf);
    int rc = pdfcheck_run(cmd, out, sizeof out);
    if (rc != 0 || out[0]) {
        snprintf(msg, sizeof msg, "pdftotext %s: exit %d: %s", pdf, rc, out);
        return msg;
    }
    snprintf(cmd, sizeof cmd, "qpdf --check '%s' 2>&1", pdf);
    rc = pdfcheck_run(cmd, out, sizeof out);
    if (rc != 0 || strstr(out, "WARNING") || strstr(out, "ERROR")) {
        snprintf(msg, sizeof msg, "qpdf --check %s: exit %d: %s", pdf, rc, out);
        return msg;
    }
    return "";
}

/* Fails the current test unless pdf passes both checks. */
static inline void pdfcheck_assert_clean(const char *pdf)
{
    const char *p = pdfcheck_problem(pdf);
    if (*p)
        fail_msg("%s", p);
}

/* Fails the current test (naming what) unless every number of e that is
 * not NaN, times scale and formatted by fmt_num, is in text (page 1). */
static inline void pdfcheck_est_on_page(const char *text, const rr_est *e, double scale,
                                        const char *what)
{
    char b[64];
    const double v[3] = {e->est.value, e->est.lo, e->est.hi};
    for (int i = 0; i < 3; i++) {
        if (isnan(v[i]))
            continue;
        fmt_num(v[i] * scale, b, sizeof b);
        if (!strstr(text, b))
            fail_msg("%s: '%s' not found on page 1", what, b);
    }
}

/* The four verdict estimates of r (overhead in %) on page 1 (text). */
static inline void pdfcheck_verdict_on_page(const char *text, const rr_results *r)
{
    pdfcheck_est_on_page(text, &r->v_overhead, 100, "overhead %");
    pdfcheck_est_on_page(text, &r->v_speedup, 1, "speedup");
    pdfcheck_est_on_page(text, &r->v_prefill_ms, 1, "prefill ms/token");
    pdfcheck_est_on_page(text, &r->v_prefill_tps, 1, "prefill tokens/s");
}

/* doc_init of d (title "t", run date 2025-01-02T03:04:05Z) with its first
 * page begun; fails the test unless doc_init succeeds. doc_free frees it. */
static inline void pdfcheck_doc_page(rdoc *d)
{
    char err[KV_ERRLEN] = "";
    if (doc_init(d, "t", "2025-01-02T03:04:05Z", err) != KV_OK)
        fail_msg("%s", err);
    doc_new_page(d);
}

#endif
