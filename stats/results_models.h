/* results_models.h - internal to stats/results*.c: a target's prefill
 * models (cold ttft, warm ttft on new tokens, cold server prefill), fitted
 * with fit_auto plus a robust refit, and their JSON.
 *
 * A results_model owns its fit and data arrays; results_model_free releases them
 * (also after a failed build). */
#ifndef KV_RESULTS_MODELS_H
#define KV_RESULTS_MODELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stats/fit.h"
#include "stats/jsonw.h"
#include "stats/results_ctx.h"

typedef enum results_model_kind {
    RES_MODEL_COLD,   /* cold ttft on prompt tokens */
    RES_MODEL_WARM,   /* warm ttft on new prompt tokens */
    RES_MODEL_PREFILL /* cold server prefill on prompt tokens */
} results_model_kind;

typedef struct results_model {
    bool ok;              /* ch holds the chosen fit */
    char note[KV_ERRLEN]; /* why not, when !ok */
    const char *y, *x;    /* variable names */
    fit_choice *ch;       /* owned */
    fit_result robust;
    bool has_robust;
    char robust_note[256];
    bool multi; /* warm: new + cached tokens also fitted */
    fit_result multi_fit;
    results_est ms_per_token, tokens_per_s;
    double xmin, xmax;
    double *xs, *xc, *ys; /* the fitted data (x, cached tokens, y): owned while
                             results_model_build runs, NULL after it */
    size_t n;             /* points the model was fitted on */
    size_t target;        /* the target and kind it was built for */
    results_model_kind which;
    size_t stalls; /* points flagged as stalls (grouped by x); > 0: robust choice */
    size_t fit_n;  /* points the fits used: n, or RES_FIT_LIMIT drawn when n exceeds it */
} results_model;

/* Beyond this many points a model's robust fits and its model choice use a
 * seeded simple random subsample of this many (Knuth's selection sampling,
 * run order kept, mt19937 seeded with the bootstrap seed + 3 x target +
 * model: 0 cold, 1 warm, 2 prefill); every point still gets its residual
 * from that fit. Sixteen bisquare fits over 10^6 points took minutes; the
 * subsample's intervals are those of its n (wider, honest). */
#define RES_FIT_LIMIT 5000

void results_model_build(const results_ctx *c, size_t target, results_model_kind which,
                         results_model *m);

/* Measured - fitted for point p when the model was fitted on it (the
 * points results_model_build selected: its target, mode, uncontaminated, finite
 * x and y), else NAN. */
double results_models_residual(const results_model *m, const results_point *p);
/* The seed of model `which` of `target`'s subsample (RES_FIT_LIMIT). */
uint64_t results_models_sample_seed(const results_ctx *c, size_t target, results_model_kind which);
void results_model_free(results_model *m);

/* The chosen fit, or NULL when the model failed. */
const fit_result *results_model_fit(const results_model *m);

void results_model_write(jsonw *w, const results_model *m, double level);

#endif
