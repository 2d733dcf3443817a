/* fmt.c - deterministic number formatting for the report (report/fmt.h). */
#include "report/fmt.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

const char *fmt_num(double v, char *out, size_t cap)
{
    double a = fabs(v);
    if (isnan(v) || isinf(v))
        snprintf(out, cap, "n/a");
    else if (a == 0.0)
        snprintf(out, cap, "0");
    else if (a >= 100.0)
        snprintf(out, cap, "%.0f", v);
    else if (a >= 10.0)
        snprintf(out, cap, "%.1f", v);
    else if (a >= 1.0)
        snprintf(out, cap, "%.2f", v);
    else if (a >= 0.001) {
        int dec = 2 - (int)floor(log10(a));
        snprintf(out, cap, "%.*f", dec, v);
    } else
        snprintf(out, cap, "%.2e", v);
    /* "-0", "-0.0" ... after rounding read as zero. */
    if (out[0] == '-') {
        int zero = 1;
        for (const char *p = out + 1; *p && *p != 'e'; p++)
            if (*p >= '1' && *p <= '9')
                zero = 0;
        if (zero)
            for (char *p = out; *p; p++)
                p[0] = p[1];
    }
    return out;
}

const char *fmt_pct(double f, char *out, size_t cap)
{
    char b[64];
    if (isnan(f))
        snprintf(out, cap, "n/a");
    else
        snprintf(out, cap, "%s %%", fmt_num(100.0 * f, b, sizeof b));
    return out;
}

const char *fmt_ci(double lo, double hi, double scale, char *out, size_t cap)
{
    char a[64], b[64];
    if (isnan(lo) || isnan(hi))
        snprintf(out, cap, "%s", "");
    else
        snprintf(out, cap, "[%s, %s]", fmt_num(lo * scale, a, sizeof a),
                 fmt_num(hi * scale, b, sizeof b));
    return out;
}

const char *fmt_est(const rr_est *e, double scale, const char *unit, char *out, size_t cap)
{
    char v[64], ci[160];
    if (!e->present || isnan(e->est.value)) {
        if (e->present && e->note[0])
            snprintf(out, cap, "n/a (%s)", e->note);
        else
            snprintf(out, cap, "n/a");
        return out;
    }
    fmt_num(e->est.value * scale, v, sizeof v);
    fmt_ci(e->est.lo, e->est.hi, scale, ci, sizeof ci);
    if (ci[0] && !isnan(e->est.level) && !(e->est.level > 0.9495 && e->est.level < 0.9505)) {
        char lv[32]; /* an interval at another level than 95% says so */
        size_t len = strlen(ci);
        snprintf(ci + len, sizeof ci - len, " (%s%%)", fmt_num(100 * e->est.level, lv, sizeof lv));
    }
    snprintf(out, cap, "%s%s%s%s", v, unit, ci[0] ? " " : "", ci);
    return out;
}

const char *fmt_p(double p, char *out, size_t cap)
{
    if (!isnan(p) && p < 1e-4)
        snprintf(out, cap, "< 0.0001");
    else
        fmt_num(p, out, cap);
    return out;
}

const char *fmt_long(long v, char *out, size_t cap)
{
    if (v < 0)
        snprintf(out, cap, "n/a");
    else
        snprintf(out, cap, "%ld", v);
    return out;
}
