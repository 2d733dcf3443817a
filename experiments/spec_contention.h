/* spec_contention.h - the spec's contention block (docs/spec.md,
 * "contention"): validates it, reads its trace file, and writes its
 * canonical form. Internal to experiments/ (the spec loader).
 */
#ifndef KV_SPEC_CONTENTION_H
#define KV_SPEC_CONTENTION_H

#include <cjson/cJSON.h>

#include "experiments/spec.h"
#include "experiments/spec_check.h"

/* Validates v (the "contention" member) into s->contention, recording
 * positioned errors in c. A trace path is read relative to the spec file's
 * directory, then to the current directory. */
void spec_contention_load(spec_check_ctx *c, const spec_check_val *v, spec *s);
/* Adds "contention" to the canonical object (nothing when the spec has no
 * block, so older specs keep their hash); false when out of memory. */
bool spec_contention_canon(cJSON *root, const spec *s);

#endif
