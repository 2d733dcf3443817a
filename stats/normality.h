/* normality.h - the Shapiro-Wilk test of normality, with Royston's (1995)
 * approximations for the coefficients and the p-value (algorithm AS R94,
 * the method of R's shapiro.test), for 3 <= n <= 5000.
 */
#ifndef KV_NORMALITY_H
#define KV_NORMALITY_H

#include <stdbool.h>
#include <stddef.h>

/* W statistic and its p-value (small p: evidence against normality) of
 * x[0..n-1] (any order; x is not modified). Returns false and sets both to
 * NAN when n < 3, n > 5000, a value is not finite, all values are equal or
 * memory runs out. For n = 3 the p-value is exact. */
bool normality_shapiro_wilk(const double *x, size_t n, double *w, double *p);

#endif
