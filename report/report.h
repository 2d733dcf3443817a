/* report.h - the PDF report: results.json in, a self-contained PDF out.
 *
 * The report draws and never computes statistics: every number it prints is
 * read from results.json (docs/results.md) and formatted by report/fmt.h's
 * documented rules (docs/report.md). The same results.json always gives a
 * byte-identical PDF (no wall clock, no random file ID).
 *
 * Ownership: callers own every buffer they pass; the report keeps nothing.
 */
#ifndef KV_REPORT_H
#define KV_REPORT_H

#include <stddef.h>

#include "common/status.h"
#include "report/figures.h"

/* Reads results_json_path and the points file it names (results_read_load_points)
 * and writes the report to pdf_path (replaced atomically: written to
 * pdf_path.tmp, then renamed). Returns KV_ERR_INPUT for a malformed
 * results.json or points file, or a pair from different runs (err names the
 * file and line:column or line and field), KV_ERR_IO when results.json cannot be read or the PDF
 * cannot be written (or the DejaVu fonts are missing), KV_ERR_INTERNAL when libharu fails. err is
 * KV_ERRLEN bytes (may be NULL); on KV_OK it holds a warning (a missing points file: the figures
 * are drawn without points) or "". */
kv_status report_write(const char *results_json_path, const char *pdf_path, char *err) KV_MUST_USE;

/* As report_write, and also lists up to cap figures in figs (*nfigs is the
 * number written). figs may be NULL when cap is 0. */
kv_status report_write_ex(const char *results_json_path, const char *pdf_path, report_figure *figs,
                          size_t cap, size_t *nfigs, char *err) KV_MUST_USE;

#endif
