/* results_cells.h - internal to stats/results*.c: a target's per-cell
 * summaries ("cells"); the raw points are in the points file
 * (results_points.h).
 */
#ifndef KV_RESULTS_CELLS_H
#define KV_RESULTS_CELLS_H

#include <stddef.h>

#include "stats/jsonw.h"
#include "stats/results_ctx.h"

/* "cells": [...] for one target, cells in first-seen run order. */
void results_cells_write(jsonw *w, const results_ctx *c, size_t target, const char *tname);

#endif
