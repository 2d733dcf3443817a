/* costmodel.h - the reference server's ground truth: how long a prefill and
 * each decoded token take. The statistics' coverage tests draw from the same
 * functions in process, so the truth they check against is this code.
 *
 *   prefill(n_new, n_cached) = a + b*n_new + c*(n_new*n_cached + n_new^2/2)  [ms]
 *   decode token at context  = d0 + d1*context                              [ms]
 *   noise: multiplicative log-normal with coefficient of variation cv
 *          (sigma^2 = ln(1 + cv^2), mean-one), plus with probability
 *          stall_p an added stall of exponential length, mean stall_ms.
 */
#ifndef KV_COSTMODEL_H
#define KV_COSTMODEL_H

#include <stdbool.h>

#include "common/status.h"

typedef struct cost_params {
    double a;          /* fixed prefill cost, ms */
    double b;          /* per new prompt token, ms/token */
    double c;          /* attention term, ms/token^2 */
    double d0;         /* per output token, ms */
    double d1;         /* per output token per token of context, ms/token */
    double cv;         /* coefficient of variation of the log-normal noise (0 = none) */
    double stall_p;    /* probability of a stall per request (0 = none) */
    double stall_ms;   /* mean stall length, ms */
    double time_scale; /* every duration is multiplied by this (1 = real time) */
} cost_params;

/* Noise-free prefill time in ms (before time_scale). */
double cost_prefill_ms(const cost_params *p, double n_new, double n_cached);
/* Noise-free time of one output token at the given context length, ms. */
double cost_decode_ms(const cost_params *p, double context);
/* Multiplicative noise factor from three independent uniforms in (0,1):
 * log-normal with mean 1 and the given cv; u3 decides a stall, which is
 * returned through *stall_ms (0 when none). */
double cost_noise_factor(const cost_params *p, double u1, double u2, double u3, double u4,
                         double *stall_ms);

/* Named presets: "laptop" reproduces the seed's scenario (an 18,490-token
 * system prompt costs about 25 s of prefill, a 100-token query about 5 s
 * end to end), "gpu" is a fast server, "flat" has no attention term.
 * Returns false for an unknown name. */
bool cost_preset(const char *name, cost_params *out);

/* Overrides fields of *p from a JSON object file with any of the keys a, b,
 * c, d0, d1, cv, stall_p, stall_ms, time_scale (numbers). Unknown keys and
 * non-numbers are errors naming the file and key. */
kv_status cost_params_load(const char *path, cost_params *p, char *err) KV_MUST_USE;

#endif
