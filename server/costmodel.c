/* costmodel.c - prefill/decode cost functions, noise and presets. */
#include "server/costmodel.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

double cost_prefill_ms(const cost_params *p, double n_new, double n_cached)
{
    if (n_new <= 0)
        return p->a;
    return p->a + p->b * n_new + p->c * (n_new * n_cached + n_new * n_new / 2.0);
}

double cost_decode_ms(const cost_params *p, double context)
{
    return p->d0 + p->d1 * context;
}

double cost_noise_factor(const cost_params *p, double u1, double u2, double u3, double u4,
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

bool cost_preset(const char *name, cost_params *out)
{
    memset(out, 0, sizeof *out);
    out->time_scale = 1.0;
    if (strcmp(name, "laptop") == 0) {
        /* 18,490 tokens cold: 200 + 0.95*18490 + 3.5e-5*18490^2/2 ~ 23.7 s,
         * plus ~100 output tokens at ~45 ms: the seed's ~25-30 s request. */
        out->a = 200;
        out->b = 0.95;
        out->c = 3.5e-5;
        out->d0 = 40;
        out->d1 = 0.0004;
        out->cv = 0.05;
        return true;
    }
    if (strcmp(name, "gpu") == 0) {
        out->a = 18.1;
        out->b = 0.1019;
        out->c = 1.424e-5; /* DistServe's OPT-13B fit: c_total = 7.12e-6 on N^2 */
        out->d0 = 12;
        out->d1 = 0.0001;
        out->cv = 0.03;
        return true;
    }
    if (strcmp(name, "flat") == 0) {
        out->a = 50;
        out->b = 0.5;
        out->d0 = 20;
        out->cv = 0.05;
        return true;
    }
    return false;
}

kv_status cost_params_load(const char *path, cost_params *p, char *err)
{
    static const char *const keys[] = {"a",  "b",       "c",        "d0",        "d1",
                                       "cv", "stall_p", "stall_ms", "time_scale"};
    double *fields[] = {&p->a,  &p->b,       &p->c,        &p->d0,        &p->d1,
                        &p->cv, &p->stall_p, &p->stall_ms, &p->time_scale};
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
