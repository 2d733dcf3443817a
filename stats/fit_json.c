/* fit_json.c - JSON of a model choice (fit_json.h). */
#include "stats/fit_json.h"

void fit_json_rejected(jsonw *w, const fit_choice *ch)
{
    jsonw_key(w, "rejected");
    jsonw_begin_arr(w);
    for (size_t i = 0; i < ch->n_rejected; i++) {
        jsonw_begin_obj(w);
        jsonw_kstr(w, "model", fit_kind_name(ch->rejected[i].kind));
        jsonw_kstr(w, "reason", ch->rejected[i].reason);
        jsonw_end_obj(w);
    }
    jsonw_end_arr(w);
}
