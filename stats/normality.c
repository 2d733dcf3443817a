/* normality.c - Shapiro-Wilk W with Royston's AS R94 approximations.
 *
 * Divided into: the coefficient approximation (normal scores m_i plus
 * polynomial corrections for the two outermost weights), W as the squared
 * correlation of the ordered sample with the weights, and the p-value
 * (exact for n = 3, a normalising transform of log(1 - W) otherwise:
 * n <= 11 and n >= 12 have separate polynomials in n and log n).
 */
#include "stats/normality.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_sort.h>

/* c[0] + c[1] x + ... + c[k-1] x^(k-1) */
static double sw_poly(const double *c, size_t k, double x)
{
    double r = 0;
    for (size_t i = k; i-- > 0;)
        r = r * x + c[i];
    return r;
}

/* The first n/2 weights a[0..n/2-1] for the largest-minus-smallest pairs,
 * normalised so that the whole antisymmetric vector has unit length. */
static void sw_coefficients(size_t n, double *a)
{
    static const double c1[6] = {0.0, 0.221157, -0.147981, -2.07119, 4.434685, -2.706056};
    static const double c2[6] = {0.0, 0.042981, -0.293762, -1.752461, 5.682633, -3.582633};
    size_t half = n / 2;
    if (n == 3) {
        a[0] = sqrt(0.5);
        return;
    }
    double an = (double)n, summ2 = 0;
    for (size_t i = 0; i < half; i++) {
        /* m_i < 0: the expected normal order statistic, Blom's formula */
        a[i] = gsl_cdf_ugaussian_Pinv(((double)(i + 1) - 0.375) / (an + 0.25));
        summ2 += a[i] * a[i];
    }
    summ2 *= 2;
    double ssumm2 = sqrt(summ2), rsn = 1.0 / sqrt(an);
    double m1 = a[0], a1 = sw_poly(c1, 6, rsn) - m1 / ssumm2;
    double fac;
    size_t first;
    if (n > 5) {
        double m2 = a[1], a2 = sw_poly(c2, 6, rsn) - m2 / ssumm2;
        fac = sqrt((summ2 - 2 * m1 * m1 - 2 * m2 * m2) / (1 - 2 * a1 * a1 - 2 * a2 * a2));
        a[1] = a2;
        first = 2;
    } else {
        fac = sqrt((summ2 - 2 * m1 * m1) / (1 - 2 * a1 * a1));
        first = 1;
    }
    a[0] = a1;
    for (size_t i = first; i < half; i++)
        a[i] = -a[i] / fac;
}

static double sw_p_value(size_t n, double w)
{
    static const double c3[4] = {0.544, -0.39978, 0.025054, -6.714e-4};
    static const double c4[4] = {1.3822, -0.77857, 0.062767, -0.0020322};
    static const double c5[4] = {-1.5861, -0.31082, -0.083751, 0.0038915};
    static const double c6[3] = {-0.4803, -0.082676, 0.0030302};
    static const double g[2] = {-2.273, 0.459};
    if (n == 3) {
        /* exact: P(W <= w) = (6/pi) (asin(sqrt(w)) - asin(sqrt(3/4))) */
        double p = 6.0 / M_PI * (asin(sqrt(w)) - M_PI / 3.0);
        return p < 0 ? 0 : p > 1 ? 1 : p;
    }
    if (w >= 1)
        return 1;
    double an = (double)n, y = log(1 - w), m, s;
    if (n <= 11) {
        double gamma = sw_poly(g, 2, an);
        if (y >= gamma)
            return 1e-99;
        y = -log(gamma - y);
        m = sw_poly(c3, 4, an);
        s = exp(sw_poly(c4, 4, an));
    } else {
        double ln = log(an);
        m = sw_poly(c5, 4, ln);
        s = exp(sw_poly(c6, 3, ln));
    }
    return gsl_cdf_gaussian_Q(y - m, s);
}

bool normality_shapiro_wilk(const double *x, size_t n, double *w, double *p)
{
    *w = *p = NAN;
    if (n < 3 || n > 5000)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return false;
    double *s = malloc(n * sizeof *s), *a = malloc((n / 2) * sizeof *a);
    bool ok = false;
    if (!s || !a)
        goto out;
    memcpy(s, x, n * sizeof *s);
    gsl_sort(s, 1, n);
    double range = s[n - 1] - s[0];
    if (!(range > 0) || !isfinite(range))
        goto out;
    /* scaled and centred: W is invariant to both, and the sums stay exact */
    double mean = 0;
    for (size_t i = 0; i < n; i++)
        mean += s[i] / range;
    mean /= (double)n;
    double ss = 0;
    for (size_t i = 0; i < n; i++) {
        s[i] = s[i] / range - mean;
        ss += s[i] * s[i];
    }
    sw_coefficients(n, a);
    double num = 0;
    for (size_t i = 0; i < n / 2; i++)
        num += a[i] * (s[n - 1 - i] - s[i]);
    double wv = num * num / ss;
    if (wv > 1)
        wv = 1;
    *w = wv;
    *p = sw_p_value(n, wv);
    ok = true;
out:
    free(s);
    free(a);
    return ok;
}
