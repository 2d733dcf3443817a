/* report.c - report_write: placeholder until the PDF pages land. */
#include "report/report.h"

kv_status report_write(const char *results_json_path, const char *pdf_path, char *err)
{
    size_t n = 0;
    return report_write_ex(results_json_path, pdf_path, NULL, 0, &n, err);
}

kv_status report_write_ex(const char *results_json_path, const char *pdf_path, report_figure *figs,
                          size_t cap, size_t *nfigs, char *err)
{
    (void)results_json_path;
    (void)pdf_path;
    (void)figs;
    (void)cap;
    *nfigs = 0;
    return kv_fail(err, KV_ERR_UNSUPPORTED, "the PDF report is not available in this build yet");
}
