/* results_points.h - internal to stats/results*.c: the points file next to
 * results.json (stats/results_schema.h, "the points file"): one row per
 * measured request turn with its model residuals.
 *
 * results_points_write writes the whole file (a temporary renamed over
 * path) and fills info for results.json's "points_file"; nothing it is
 * given is kept.
 */
#ifndef KV_RESULTS_POINTS_H
#define KV_RESULTS_POINTS_H

#include <stddef.h>

#include "common/status.h"
#include "stats/results_ctx.h"
#include "stats/results_target.h"

typedef struct results_points_info {
    char name[256]; /* the file's name without its directory */
    size_t rows;    /* data rows written */
    char id[17];    /* FNV-1a 64 of the bytes after the header line, hex */
} results_points_info;

kv_status results_points_write(const results_ctx *c, const results_target *tss, size_t nt,
                               const char *path, results_points_info *info, char *err) KV_MUST_USE;

/* "points_file": {...} from info. */
void results_points_json(jsonw *w, const results_points_info *info);

#endif
