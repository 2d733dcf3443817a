/* costmodel.h - the reference server's ground truth: how long a prefill and
 * each decoded token take. The statistics' coverage tests draw from the same
 * functions in process, so the truth they check against is this code.
 *
 *   prefill(n_new, n_cached) = a + b*n_new + c*(n_new*n_cached + n_new^2/2)  [ms]
 *   decode token at context  = d0 + d1*context                              [ms]
 *   noise: multiplicative log-normal body with coefficient of variation cv
 *          (sigma^2 = ln(1 + cv^2), mean-one), then one of two stall kinds:
 *          - additive (stall_x_min = 0): with probability stall_p an added
 *            stall of exponential length, mean stall_ms;
 *          - multiplicative ("realistic"): with probability stall_p the
 *            request takes M times as long, M bounded Pareto on
 *            [stall_x_min, stall_x_max] with tail index stall_alpha;
 *          then a slow first request after idle_ms without requests (x idle_x)
 *          and a slow drift x (1 + drift * sin(2 pi t / drift_period_s)).
 *
 * Noise presets (costmodel_noise_preset): "lognormal" is the body alone (and the
 * additive stall when stall_p is set); "realistic" adds 3.5% stalls of 5-30x,
 * a 3x first request after 5 s idle and a 3% drift with a 10-minute period.
 *
 * Known truth for simulations: costmodel_sample_ms draws one request time from
 * the full process; costmodel_median_factor is the population median of the
 * stationary noise multiplier (body x stall, drift phase 0, no idle), so a
 * cell's population median is costmodel_prefill_ms() * costmodel_median_factor() and
 * the ratio of two cells' medians is the ratio of their noise-free times.
 */
#ifndef KV_COSTMODEL_H
#define KV_COSTMODEL_H

#include <stdbool.h>

#include "common/status.h"

typedef struct costmodel_params {
    double a;              /* fixed prefill cost, ms */
    double b;              /* per new prompt token, ms/token */
    double c;              /* attention term, ms/token^2 */
    double d0;             /* per output token, ms */
    double d1;             /* per output token per token of context, ms/token */
    double cv;             /* coefficient of variation of the log-normal noise (0 = none) */
    double stall_p;        /* probability of a stall per request (0 = none) */
    double stall_ms;       /* mean additive stall length, ms (when stall_x_min is 0) */
    double stall_x_min;    /* multiplicative stalls: smallest multiple (0 = additive stalls) */
    double stall_x_max;    /* largest stall multiple */
    double stall_alpha;    /* Pareto tail index of the stall multiple (> 0) */
    double idle_ms;        /* model ms without requests after which one is slow (0 = never) */
    double idle_x;         /* that slow first request's multiple */
    double drift;          /* relative amplitude of the slow drift (0 = none) */
    double drift_period_s; /* drift period in model seconds */
    double time_scale;     /* every duration is multiplied by this (1 = real time) */
} costmodel_params;

/* Noise-free prefill time in ms (before time_scale). */
double costmodel_prefill_ms(const costmodel_params *p, double n_new, double n_cached);
/* Noise-free time of one output token at the given context length, ms. */
double costmodel_decode_ms(const costmodel_params *p, double context);
/* Multiplicative noise factor from three independent uniforms in (0,1):
 * log-normal with mean 1 and the given cv; u3 decides a stall, which is
 * returned through *stall_ms (0 when none). */
double costmodel_noise_factor(const costmodel_params *p, double u1, double u2, double u3, double u4,
                              double *stall_ms);

/* Uniforms one costmodel_noise_draw consumes. */
#define COSTMODEL_UNIFORMS 5

/* One draw of the full noise process. */
typedef struct costmodel_noise {
    double factor;  /* multiplier of the noise-free time: body x stall x idle x drift */
    double body;    /* the log-normal body */
    double stall_x; /* multiplicative stall (1 = none) */
    double add_ms;  /* additive stall, ms (0 = none) */
    bool idle;      /* the slow first request after idle applied */
} costmodel_noise;

/* The full noise process from COSTMODEL_UNIFORMS uniforms in (0,1); idle_gap_ms
 * is the model time since the previous request (0 in simulations), t_s the
 * model time since start (for the drift). Returns out->factor; the request
 * takes noise_free * factor + add_ms. */
double costmodel_noise_draw(const costmodel_params *p, const double *u, double idle_gap_ms,
                            double t_s, costmodel_noise *out);

/* Source of uniforms in (0,1) for costmodel_sample_ms. */
typedef double (*costmodel_uniform_fn)(void *ctx);

/* One simulated prefill time in ms (before time_scale) at model time t_s,
 * without idle gaps: the reference server's process, drawn in process. */
double costmodel_sample_ms(const costmodel_params *p, double n_new, double n_cached, double t_s,
                           costmodel_uniform_fn uniform, void *ctx);

/* Population median of the stationary noise multiplier (log-normal body x
 * multiplicative stall; no drift, no idle). NAN with additive stalls, whose
 * effect depends on the request's length. */
double costmodel_median_factor(const costmodel_params *p);

/* Sets the noise fields of *p for "lognormal" (clears stalls, idle, drift;
 * keeps cv) or "realistic" (see above; cv at least 0.05). False for an
 * unknown name. */
bool costmodel_noise_preset(const char *name, costmodel_params *p);

/* Named presets: "laptop" reproduces the seed's scenario (an 18,490-token
 * system prompt costs about 25 s of prefill, a 100-token query about 5 s
 * end to end), "gpu" is a fast server, "flat" has no attention term.
 * Returns false for an unknown name. */
bool costmodel_preset(const char *name, costmodel_params *out);

/* Overrides fields of *p from a JSON object file with any of the keys a, b,
 * c, d0, d1, cv, stall_p, stall_ms, stall_x_min, stall_x_max, stall_alpha,
 * idle_ms, idle_x, drift, drift_period_s, time_scale (numbers). Unknown keys and
 * non-numbers are errors naming the file and key. */
kv_status costmodel_params_load(const char *path, costmodel_params *p, char *err) KV_MUST_USE;

#endif
