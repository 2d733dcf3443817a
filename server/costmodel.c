/* costmodel.c - prefill/decode cost functions, noise and presets.
 *
 * Divided into: cost functions; the noise process (body, stalls, idle,
 * drift) and its population median; presets; loading parameters. */
#include "server/costmodel.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

double costmodel_prefill_ms(const costmodel_params *p, double n_new, double n_cached)
{
    if (n_new <= 0)
        return p->a;
    return p->a + p->b * n_new + p->c * (n_new * n_cached + n_new * n_new / 2.0);
}

double costmodel_decode_ms(const costmodel_params *p, double context)
{
    return p->d0 + p->d1 * context;
}

double costmodel_noise_factor(const costmodel_params *p, double u1, double u2, double u3, double u4,
                              double *stall_ms)
{
    double f = 1.0;
    if (p->cv > 0) {
        double s2 = log1p(p->cv * p->cv);
        double z = sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2); /* Box-Muller */
        f = exp(sqrt(s2) * z - s2 / 2.0);
    }
    *stall_ms = 0;
    if (p->stall_p > 0 && u3 < p->stall_p)
        *stall_ms = -p->stall_ms * log(u4);
    return f;
}

/* Bounded Pareto multiple on [lo, hi] with tail index alpha at quantile u. */
static double stall_multiple(const costmodel_params *p, double u)
{
    double lo = p->stall_x_min, hi = p->stall_x_max > lo ? p->stall_x_max : lo;
    double a = p->stall_alpha > 0 ? p->stall_alpha : 1.0;
    double r = pow(lo / hi, a);
    return lo * pow(1.0 - u * (1.0 - r), -1.0 / a);
}

double costmodel_noise_draw(const costmodel_params *p, const double *u, double idle_gap_ms,
                            double t_s, costmodel_noise *out)
{
    memset(out, 0, sizeof *out);
    costmodel_params body = *p;
    body.stall_p = p->stall_x_min > 0 ? 0 : p->stall_p;
    out->body = costmodel_noise_factor(&body, u[0], u[1], u[2], u[3], &out->add_ms);
    out->stall_x = 1.0;
    if (p->stall_x_min > 0 && p->stall_p > 0 && u[2] < p->stall_p)
        out->stall_x = stall_multiple(p, u[4]);
    out->factor = out->body * out->stall_x;
    if (p->idle_ms > 0 && p->idle_x > 0 && idle_gap_ms >= p->idle_ms) {
        out->idle = true;
        out->factor *= p->idle_x;
    }
    if (p->drift > 0 && p->drift_period_s > 0)
        out->factor *= 1.0 + p->drift * sin(2.0 * M_PI * t_s / p->drift_period_s);
    return out->factor;
}

double costmodel_sample_ms(const costmodel_params *p, double n_new, double n_cached, double t_s,
                           costmodel_uniform_fn uniform, void *ctx)
{
    double u[COSTMODEL_UNIFORMS];
    for (int i = 0; i < COSTMODEL_UNIFORMS; i++)
        u[i] = uniform(ctx);
    costmodel_noise nz;
    double f = costmodel_noise_draw(p, u, 0, t_s, &nz);
    return costmodel_prefill_ms(p, n_new, n_cached) * f + nz.add_ms;
}

/* P(noise multiplier <= q) of the stationary process. */
static double median_cdf(const costmodel_params *p, double q, double s, double sp)
{
    double lq = log(q), body;
    if (s > 0)
        body = 0.5 * erfc(-(lq + s * s / 2.0) / (s * M_SQRT2));
    else
        body = lq >= 0 ? 1.0 : 0.0;
    if (!(sp > 0))
        return body;
    enum { K = 512 };
    double st = 0;
    for (int k = 0; k < K; k++) { /* midpoint rule over the multiple's quantiles */
        double lm = log(stall_multiple(p, ((double)k + 0.5) / K));
        if (s > 0)
            st += 0.5 * erfc(-(lq - lm + s * s / 2.0) / (s * M_SQRT2)) / K;
        else
            st += (lq >= lm ? 1.0 : 0.0) / K;
    }
    return (1.0 - sp) * body + sp * st;
}

double costmodel_median_factor(const costmodel_params *p)
{
    if (p->stall_p > 0 && !(p->stall_x_min > 0))
        return NAN;
    double s = p->cv > 0 ? sqrt(log1p(p->cv * p->cv)) : 0;
    double sp = p->stall_x_min > 0 ? p->stall_p : 0;
    double lo = -20, hi = 20;
    for (int i = 0; i < 200; i++) { /* bisection on log q */
        double mid = (lo + hi) / 2.0;
        if (median_cdf(p, exp(mid), s, sp) < 0.5)
            lo = mid;
        else
            hi = mid;
    }
    return exp((lo + hi) / 2.0);
}

bool costmodel_noise_preset(const char *name, costmodel_params *p)
{
    if (strcmp(name, "lognormal") == 0) {
        p->stall_x_min = p->stall_x_max = p->stall_alpha = 0;
        p->idle_ms = p->idle_x = p->drift = p->drift_period_s = 0;
        if (!(p->stall_ms > 0))
            p->stall_p = 0; /* a realistic preset's stalls are not additive ones */
        return true;
    }
    if (strcmp(name, "realistic") == 0) {
        p->cv = p->cv > 0.05 ? p->cv : 0.05;
        p->stall_p = 0.035;
        p->stall_x_min = 5;
        p->stall_x_max = 30;
        p->stall_alpha = 1.2;
        p->idle_ms = 5000;
        p->idle_x = 3;
        p->drift = 0.03;
        p->drift_period_s = 600;
        return true;
    }
    return false;
}

bool costmodel_preset(const char *name, costmodel_params *out)
{
    static const struct {
        const char *name;
        double a, b, c, d0, d1, cv;
    } presets[] = {
        /* 18,490 tokens cold: 200 + 0.95*18490 + 3.5e-5*18490^2/2 ~ 23.7 s,
         * plus ~100 output tokens at ~45 ms: the seed's ~25-30 s request. */
        {"laptop", 200, 0.95, 3.5e-5, 40, 0.0004, 0.05},
        /* c: DistServe's OPT-13B fit, c_total = 7.12e-6 on N^2 */
        {"gpu", 18.1, 0.1019, 1.424e-5, 12, 0.0001, 0.03},
        {"flat", 50, 0.5, 0, 20, 0, 0.05},
    };
    memset(out, 0, sizeof *out);
    out->time_scale = 1.0;
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++)
        if (strcmp(name, presets[i].name) == 0) {
            out->a = presets[i].a;
            out->b = presets[i].b;
            out->c = presets[i].c;
            out->d0 = presets[i].d0;
            out->d1 = presets[i].d1;
            out->cv = presets[i].cv;
            return true;
        }
    return false;
}

kv_status costmodel_params_load(const char *path, costmodel_params *p, char *err)
{
    static const char *const keys[] = {
        "a",           "b",       "c",        "d0",          "d1",
        "cv",          "stall_p", "stall_ms", "stall_x_min", "stall_x_max",
        "stall_alpha", "idle_ms", "idle_x",   "drift",       "drift_period_s",
        "time_scale"};
    double *fields[] = {
        &p->a,           &p->b,       &p->c,        &p->d0,          &p->d1,
        &p->cv,          &p->stall_p, &p->stall_ms, &p->stall_x_min, &p->stall_x_max,
        &p->stall_alpha, &p->idle_ms, &p->idle_x,   &p->drift,       &p->drift_period_s,
        &p->time_scale};
    char *text = NULL;
    size_t len = 0;
    kv_status st = kv_read_file(path, &text, &len, err);
    if (st != KV_OK)
        return st;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!cJSON_IsObject(root)) {
        int line = 1, col = 1;
        kv_line_col(text, end ? (size_t)(end - text) : 0, &line, &col);
        st = kv_fail(err, KV_ERR_INPUT, "%s:%d:%d: expected a JSON object of cost parameters", path,
                     line, col);
        goto out;
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, root)
    {
        size_t k = 0;
        while (k < sizeof keys / sizeof keys[0] && strcmp(keys[k], it->string) != 0)
            k++;
        if (k == sizeof keys / sizeof keys[0]) {
            st = kv_fail(err, KV_ERR_INPUT, "%s: unknown cost parameter '%s'", path, it->string);
            goto out;
        }
        if (!cJSON_IsNumber(it) || !(it->valuedouble >= 0)) {
            st = kv_fail(err, KV_ERR_INPUT, "%s: '%s' must be a number >= 0", path, it->string);
            goto out;
        }
        *fields[k] = it->valuedouble;
    }
out:
    cJSON_Delete(root);
    free(text);
    return st;
}
