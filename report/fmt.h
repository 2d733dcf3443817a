/* fmt.h - the report's number formatting rules (docs/report.md), shared by
 * the pages and the tests that look for results.json's numbers in the PDF.
 *
 * Rules: NAN prints "n/a"; |v| >= 100 rounds to an integer (no thousands
 * separator); 10 <= |v| < 100 one decimal; 1 <= |v| < 10 two decimals;
 * 0.001 <= |v| < 1 three significant digits; smaller non-zero values use
 * "%.2e"; zero and negative zero print "0". Rounding is printf's (round half
 * to even on the binary value), so the same double always gives the same text.
 */
#ifndef KV_REPORT_FMT_H
#define KV_REPORT_FMT_H

#include <stddef.h>

#include "report/results_read.h"

/* A number by the rules above. Returns out. */
const char *fmt_num(double v, char *out, size_t cap);
/* A fraction as percent: fmt_num(100 * f) + " %". */
const char *fmt_pct(double f, char *out, size_t cap);
/* An interval "[lo, hi]" with fmt_num bounds (scale multiplies both, e.g.
 * 100 for percent); "" when either bound is NAN. */
const char *fmt_ci(double lo, double hi, double scale, char *out, size_t cap);
/* An estimate: "value [lo, hi]" plus unit after the value ("74.6× [72.7,
 * 76.5]"); scale multiplies value and bounds; a null value prints "n/a" and
 * the note in parentheses when there is one. */
const char *fmt_est(const rr_est *e, double scale, const char *unit, char *out, size_t cap);
/* A p-value: "< 0.0001" below 1e-4, else fmt_num; NAN prints "n/a". */
const char *fmt_p(double p, char *out, size_t cap);
/* An integer count, "n/a" when negative (absent). */
const char *fmt_long(long v, char *out, size_t cap);

#endif
