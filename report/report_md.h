/* report_md.h - the Markdown summary of a results.json, to paste into a
 * GitHub issue or feature request: the verdict, a headline table with
 * intervals (per target), the pre-registered hypotheses, the environment
 * and the line "full report: report.pdf". Numbers follow report/fmt.h's
 * rules, as in the PDF; nothing is computed here.
 *
 * Ownership: report_md_write appends to a caller-owned kv_buf.
 */
#ifndef KV_REPORT_MD_H
#define KV_REPORT_MD_H

#include "common/status.h"
#include "common/util.h"

/* Reads results_json_path (report/results_read.h) and appends the summary
 * to out. pdf_name is the report named on the last line (NULL:
 * "report.pdf"). KV_ERR_INPUT for a malformed results.json (err names the
 * file and the field), KV_ERR_IO when it cannot be read. */
kv_status report_md_write(const char *results_json_path, const char *pdf_name, kv_buf *out,
                          char *err) KV_MUST_USE;

#endif
