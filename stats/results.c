/* results.c - journal to results.json (results.h). Placeholder: the
 * computation lands in the following changes. */
#include "stats/results.h"

void results_options_default(results_options *opt)
{
    opt->bootstrap_resamples = 10000;
    opt->has_bootstrap_seed = false;
    opt->bootstrap_seed = 0;
    opt->confidence = 0.95;
    opt->partial = false;
}

kv_status results_from_data(const journal_data *d, const char *journal_path,
                            const results_options *opt, kv_buf *out, char *err)
{
    (void)d;
    (void)opt;
    (void)out;
    return kv_fail(err, KV_ERR_UNSUPPORTED, "%s: results are not computed in this build yet",
                   journal_path);
}

kv_status results_from_journal(const char *journal_path, const char *results_path,
                               const results_options *opt, char *err)
{
    (void)results_path;
    return results_from_data(NULL, journal_path, opt, NULL, err);
}
