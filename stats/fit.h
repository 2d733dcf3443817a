/* fit.h - least-squares models of a response y on regressors x: linear,
 * quadratic, polynomial of degree K, a knee (flat, then linear or
 * quadratic) and multiple linear regression; OLS and weighted fits, a
 * bisquare robust refit, predictions with mean-response and prediction
 * bands, residual diagnostics and automatic model choice.
 *
 * Numerics: each model's columns are centred and scaled (polynomials in
 * t = (x - c) / s), solved by Householder QR in long double with one step
 * of iterative refinement, and the coefficients and covariance transformed
 * back to the raw basis exactly (binomial expansion). This matches the NIST
 * StRD certified values (Filip, degree 10, included).
 *
 * Every fit_result is a plain value (no heap memory); nothing to free.
 */
#ifndef KV_FIT_H
#define KV_FIT_H

#include <stdbool.h>
#include <stddef.h>

#include "common/status.h"

#define FIT_MAXP 16 /* most coefficients a model may have */
#define FIT_NAMELEN 48

typedef enum fit_kind {
    FIT_LINEAR = 0,     /* a + b x */
    FIT_QUADRATIC,      /* a + b x + c x^2 */
    FIT_KNEE,           /* a + b max(0, x - x0); x0 profiled (grid, least RSS) */
    FIT_KNEE_QUADRATIC, /* a + b h + c h^2, h = max(0, x - x0): flat, then any quadratic
                           (so also max(floor, b' x + c x^2), the roofline shape) */
    FIT_POLY,           /* a + b1 x + ... + bK x^K */
    FIT_MULTI           /* a + b1 x1 + ... + bk xk */
} fit_kind;

typedef struct fit_input {
    const double *const *x; /* k columns of n values each (k = 1 except FIT_MULTI) */
    size_t k;
    const double *y; /* n responses */
    const double *w; /* n weights (inverse variances, > 0) or NULL for OLS */
    size_t n;        /* observations, in run order (for the lag-1 check) */
    bool hc3;        /* HC3 sandwich covariance, for weights estimated from the data */
} fit_input;

typedef struct fit_result {
    fit_kind kind;
    int degree;                        /* polynomial degree (1 linear, 2 quadratic, K poly) */
    size_t n;                          /* observations used */
    size_t p;                          /* coefficients: intercept first */
    size_t k;                          /* regressor columns */
    char names[FIT_MAXP][FIT_NAMELEN]; /* "a", "b", "c" or "b0", "b1", ... */
    double coef[FIT_MAXP];             /* raw-basis coefficients */
    double sd[FIT_MAXP];               /* their standard errors (scaled by residual variance) */
    double ci[FIT_MAXP][2];            /* t-intervals at `level` */
    double coef_df[FIT_MAXP];          /* their t degrees of freedom: n - p, or Satterthwaite's
                                          for HC3 intervals */
    double level;                      /* confidence level of ci */
    double tcrit;                      /* t quantile used, df = n - p */
    double rss;                        /* residual sum of squares (weighted when weighted) */
    double tss;                        /* total sum of squares about the (weighted) mean */
    double r_squared;                  /* 1 - rss / tss */
    double residual_sd;                /* sqrt(rss / df) */
    double df;                         /* n - p */
    double aicc;                       /* n ln(rss/n) + 2k + 2k(k+1)/(n-k-1), k = p (+1 for x0) */
    double aicr;                       /* robust AIC (fit_auto_robust only), else NAN */
    bool weighted;                     /* fitted with weights */
    bool hc3;                          /* sd/ci from the HC3 sandwich covariance */
    bool robust;                       /* bisquare robust fit */
    double weight_power;               /* weights were yhat^-power (NAN: given or none) */
    double knee_x0;                    /* the knee position (knee models), else NAN */
    double heteroscedasticity_p;       /* Breusch-Pagan (Koenker) p of e^2 on x; NAN if n/a */
    double normality_p;                /* Jarque-Bera p of the residuals; NAN if n/a */
    double shapiro_wilk_w;             /* Shapiro-Wilk W of the residuals, n 3..5000; NAN if n/a */
    double shapiro_wilk_p;             /* its p (Royston 1995, AS R94); NAN if n/a */
    double lag1;                       /* lag-1 autocorrelation of residuals in input order */
    /* internal: scaled basis for predictions */
    double centre[FIT_MAXP], scale[FIT_MAXP];
    long double gamma[FIT_MAXP];          /* coefficients in the scaled basis */
    long double covg[FIT_MAXP][FIT_MAXP]; /* unscaled (Z'WZ)^-1 in the scaled basis */
    double sigma2;                        /* residual variance used to scale covg */
} fit_result;

/* Fits one model. degree is used by FIT_POLY only. Fails with KV_ERR_STATS
 * (message says why) when n <= p, a column is constant, the design is rank
 * deficient or a value is not finite. */
kv_status fit_model(const fit_input *in, fit_kind kind, int degree, double level, fit_result *out,
                    char *err) KV_MUST_USE;

/* Bisquare (Tukey biweight, tuning 4.685) robust fit of the same model: a
 * Huber start (GSL), bisquare IRLS with that start's scale fixed, then
 * Huber's (1973) covariance K^2 [sum psi^2/(n-p)] / [mean psi']^2 s^2 (X'WX)^-1
 * with s the MAD of the final residuals, times n / (n - p) (the residual
 * scale's small-sample shrinkage; measured in tests/test_stats_fitcov_slow.c). Knee models profile
 * the knee position robustly (least robust residual scale over the grid), so stalls do not place
 * it. */
kv_status fit_robust(const fit_input *in, fit_kind kind, int degree, double level, fit_result *out,
                     char *err) KV_MUST_USE;

/* Prediction at one point x (k values): fitted mean, standard error of the
 * mean response and of a new observation (for weighted fits with a power
 * variance function the observation variance is sigma^2 yhat^power). */
void fit_predict(const fit_result *f, const double *x, double *mean, double *se_mean,
                 double *se_pred);

/* Standard error of a linear combination g'beta of raw-basis coefficients
 * given as a combination of model rows: sum of rows at xs[0..m-1] (each k
 * values, stored consecutively). Returns the summed mean too. */
void fit_predict_sum(const fit_result *f, const double *xs, size_t m, double *sum, double *se_sum);

/* Difference of fitted means yhat(xa) - yhat(xb) with its standard error. */
void fit_predict_diff(const fit_result *f, const double *xa, const double *xb, double *diff,
                      double *se);

/* Weights 1/yhat^theta for a feasible weighted fit when the variance grows
 * with the mean: theta from the regression of ln(e^2) on ln(yhat) of the OLS
 * fit f, clamped to [0, 4]. w receives in->n weights. Returns theta. */
double fit_power_weights(const fit_result *f, const fit_input *in, double *w);

/* Residuals y - yhat (unweighted) of a fit, n values into r. */
void fit_residuals(const fit_result *f, const fit_input *in, double *r);

/* Partial F-test of a nested smaller model against a bigger one (same data).
 * Returns the p-value, *F the statistic; NAN when undefined. */
double fit_f_test(const fit_result *small, const fit_result *big, double *F);

const char *fit_kind_name(fit_kind k);

/* Automatic choice among linear, quadratic, knee and knee + quadratic. */
#define FIT_AUTO_MAX 4
#define FIT_WHYLEN 512
typedef struct fit_choice {
    fit_result fits[FIT_AUTO_MAX]; /* candidates that could be fitted */
    size_t n_fits;
    size_t chosen;        /* index into fits */
    char why[FIT_WHYLEN]; /* AICc and F-test that decided */
    struct {
        fit_kind kind;
        char reason[128];
    } rejected[FIT_AUTO_MAX];
    size_t n_rejected;
    double f_stat, f_p; /* quadratic vs linear partial F (NAN if n/a) */
} fit_choice;

/* Rules: a model with a negative x^2 coefficient or a negative slope is
 * rejected as non-physical. Start from linear; the quadratic replaces it when
 * the partial F-test gives p < 0.05 and its AICc is lower; a knee model
 * replaces the current choice when its AICc is lower by more than 2.
 * When weighted is true the choice is always redone (no variance pre-test:
 * choosing OLS or weights by a Breusch-Pagan test undercovers) with power
 * weights yhat^-theta (theta re-estimated over three rounds; about 0 when
 * the variance is constant) and HC3 sandwich standard errors, so an
 * imperfect variance function does not distort the intervals. */
kv_status fit_auto(const fit_input *in, double level, bool weighted, fit_choice *out,
                   char *err) KV_MUST_USE;

/* The same choice made on bisquare robust fits, never on least squares
 * (one stall per length hides a curvature term from OLS): every candidate
 * is fitted robustly (knees profiled robustly), the non-physical rules are
 * applied to the robust coefficients, and the candidates are compared by
 * Ronchetti's robust AIC, 2 sum rho(r_i / s) + 2 k sum psi^2 / sum psi',
 * with one scale s for all (the largest fitted model's robust scale, as
 * Mallows' Cp). Linear first; quadratic replaces it when its robust AIC is
 * lower; a knee model when lower by more than 2. With weighted (one x
 * column), every candidate is fitted with weights yhat^-2 from a robust
 * quadratic pilot (a constant coefficient of variation: an estimated
 * power undercovered at 3-5 repetitions per length); weight_power is 2.
 * Intervals: t (df n - p) with Huber's (1973) M-estimator covariance.
 * f_stat/f_p are NAN. */
kv_status fit_auto_robust(const fit_input *in, double level, bool weighted, fit_choice *out,
                          char *err) KV_MUST_USE;

#endif
