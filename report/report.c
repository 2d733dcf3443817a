/* report.c - report_write: results.json -> PDF. Reads the results
 * (report/results_read.h), lays out the pages (report/pages.h) and saves
 * atomically (pdf.tmp then rename). libharu errors are checked after every
 * group of pages.
 */
#include "report/report.h"

#include <stdio.h>
#include <string.h>

#include "report/doc.h"
#include "report/pages.h"
#include "report/results_read.h"

kv_status report_write(const char *results_json_path, const char *pdf_path, char *err)
{
    size_t n = 0;
    return report_write_ex(results_json_path, pdf_path, NULL, 0, &n, err);
}

kv_status report_write_ex(const char *results_json_path, const char *pdf_path, report_figure *figs,
                          size_t cap, size_t *nfigs, char *err)
{
    rr_results *r = NULL;
    rdoc d;
    int have_doc = 0;
    char tmp[4096];
    *nfigs = 0;
    char warn[KV_ERRLEN] = "";
    kv_status st = results_read_load(results_json_path, &r, err);
    if (st == KV_OK)
        st = results_read_load_points(r, warn, err);
    if (st != KV_OK)
        goto out;
    char title[300];
    snprintf(title, sizeof title, "kvproof report: %s", r->spec_name[0] ? r->spec_name : "run");
    st = doc_init(&d, title, r->run_date, err);
    if (st != KV_OK)
        goto out;
    have_doc = 1;
    d.figs = figs;
    d.fig_cap = cap;
    d.simulated = r->simulated;
    d.partial = r->partial;
    snprintf(d.partial_text, sizeof d.partial_text,
             "PARTIAL RUN — interrupted: %ld of %ld planned trials completed", r->completed,
             r->planned);
    snprintf(d.header, sizeof d.header, "kvproof KV-cache validation report · %s · %s",
             r->spec_name[0] ? r->spec_name : "run", r->run_date);
    snprintf(d.footer, sizeof d.footer, "spec hash %s · seed %s · kvproof %s",
             r->spec_hash[0] ? r->spec_hash : "n/a", r->seed[0] ? r->seed : "n/a",
             r->kvproof_version[0] ? r->kvproof_version : KVPROOF_VERSION);
    int deferred = page_summary(&d, r);
    if ((st = doc_check(&d, err)) != KV_OK)
        goto out;
    page_figures(&d, r);
    if ((st = doc_check(&d, err)) != KV_OK)
        goto out;
    page_contention(&d, r);
    if ((st = doc_check(&d, err)) != KV_OK)
        goto out;
    page_tables(&d, r, deferred);
    if ((st = doc_check(&d, err)) != KV_OK)
        goto out;
    page_method(&d, r);
    doc_finish(&d);
    if ((st = doc_check(&d, err)) != KV_OK)
        goto out;
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", pdf_path) >= sizeof tmp) {
        st = kv_fail(err, KV_ERR_IO, "report: output path too long: %s", pdf_path);
        goto out;
    }
    st = doc_save(&d, tmp, err);
    if (st != KV_OK) {
        remove(tmp);
        goto out;
    }
    if (rename(tmp, pdf_path) != 0) {
        remove(tmp);
        st = kv_fail(err, KV_ERR_IO, "report: cannot rename %s to %s", tmp, pdf_path);
        goto out;
    }
    *nfigs = d.n_figs;
    if (err && warn[0])
        snprintf(err, KV_ERRLEN, "%s", warn);
out:
    if (have_doc)
        doc_free(&d);
    results_read_free(r);
    return st;
}
