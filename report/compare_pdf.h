/* compare_pdf.h - compare.pdf (kvproof compare --out DIR): page 1 the
 * verdicts table of a change_result (stats/change.h), then (below it, or
 * on the next page) a figure of both runs' cold TTFT against prompt
 * tokens with each run's OLS line (change_points).
 * Saved atomically (pdf.tmp then rename).
 */
#ifndef KV_REPORT_COMPARE_PDF_H
#define KV_REPORT_COMPARE_PDF_H

#include "common/status.h"
#include "stats/change.h"

kv_status compare_pdf_write(const change_result *r, const change_points *pts, const char *a_name,
                            const char *b_name, const char *pdf_path, char *err) KV_MUST_USE;

#endif
