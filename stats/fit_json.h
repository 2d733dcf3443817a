/* fit_json.h - the JSON of a model choice (stats/fit.h) that results.json's
 * models (stats/results_models.c) and `kvproof fit --json` (cli/cmd_fit.c)
 * both write, so the two agree on its keys.
 */
#ifndef KV_FIT_JSON_H
#define KV_FIT_JSON_H

#include "stats/fit.h"
#include "stats/jsonw.h"

/* "rejected": [{"model", "reason"}, ...], the candidates fit_auto turned
 * down, in its order. */
void fit_json_rejected(jsonw *w, const fit_choice *ch);

#endif
