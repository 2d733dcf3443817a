/* cmd_fit.c - 'kvproof fit': fit a model to any CSV (llama-bench output,
 * NIST data) and print a table or JSON. Parsing and formatting live here;
 * the numbers come from stats/fit.h, the CSV reader from stats/csv.h,
 * the JSON writer from stats/jsonw.h. */
#include <errno.h>
#include <stddef.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "common/status.h"
#include "stats/csv.h"
#include "stats/fit.h"
#include "stats/fit_json.h"
#include "stats/jsonw.h"
#include "stats/stalls.h"

#define FIT_MAX_PREDICT 64

typedef struct fit_opts {
    const char *file;
    char *xcols[FIT_MAXP];
    size_t k;
    const char *ycol;
    const char *model;
    bool json;
    bool robust;
    bool weighted;
    const char *predict[FIT_MAX_PREDICT];
    size_t n_predict;
    fit_kind kind; /* from --model and the --x columns (fit_check) */
    int degree;
    bool is_auto;
} fit_opts;

static void fit_usage(FILE *f)
{
    fprintf(f, "usage: kvproof fit FILE.csv --x COL[,COL...] --y COL\n"
               "                   [--model auto|linear|quadratic|knee|knee-quadratic|poly:K]\n"
               "                   [--format table|json] [--predict X[,X...]]... [--robust]\n"
               "                   [--weighted]\n\n"
               "Fits a least-squares model to columns of a CSV file (header row required,\n"
               "quoted fields allowed), e.g. llama-bench's CSV output.\n\n"
               "  --x COL[,COL...]  regressor column(s); several make a multiple regression\n"
               "  --y COL           response column\n"
               "  --model M         auto (default for one column: linear, quadratic, knee and\n"
               "                    knee-quadratic compared by partial F-test and AICc, or\n"
               "                    with --robust by robust AIC on bisquare fits; c < 0 or\n"
               "                    b < 0 rejected as non-physical), linear, quadratic, knee,\n"
               "                    knee-quadratic, poly:K (degree K polynomial)\n"
               "  --format F        table (default) or json: {model, n, coefficients, sd, ci95,\n"
               "                    residual_sd, r_squared, rss, df, ...} at %%.17g precision\n"
               "  --predict X       mean with 95%% confidence and prediction intervals at X\n"
               "                    (one value per --x column, comma-separated); repeatable\n"
               "  --robust          bisquare robust fit instead of OLS; with --model auto the\n"
               "                    candidates are all fitted and compared robustly\n"
               "  --weighted        auto only: power weights yhat^-theta (theta estimated from\n"
               "                    the residuals) and, without --robust, HC3 intervals\n\n"
               "Stalls (one x column): a row more than 3x the median of the rows with the\n"
               "same x and 5 robust SDs above it on the log scale is counted and flagged\n"
               "(never dropped); without --robust the output suggests --robust.\n\n"
               "exit codes: 0 ok, 2 usage, 3 bad CSV or data that cannot be fitted\n");
}

static void fit_release(void *cfg)
{
    fit_opts *o = cfg;
    for (size_t i = 0; i < o->k; i++)
        free(o->xcols[i]);
}

static kv_status fit_split_x(void *cfg, const char *arg, char *err)
{
    fit_opts *o = cfg;
    const char *p = arg;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == 0)
            return kv_fail(err, KV_ERR_USAGE, "--x: empty column name in '%s'", arg);
        if (o->k + 1 >= FIT_MAXP)
            return kv_fail(err, KV_ERR_USAGE, "--x: at most %d columns", FIT_MAXP - 1);
        char *s = malloc(len + 1);
        if (!s)
            return kv_fail(err, KV_ERR_NOMEM, "out of memory");
        memcpy(s, p, len);
        s[len] = '\0';
        o->xcols[o->k++] = s;
        p += len;
        if (*p == ',')
            p++;
    }
    return KV_OK;
}

static kv_status fit_format(void *cfg, const char *arg, char *err)
{
    return args_pick(arg, "json", "table", &((fit_opts *)cfg)->json)
               ? KV_OK
               : kv_fail(err, KV_ERR_USAGE, "--format: expected table or json, got '%s'", arg);
}

static kv_status fit_add_predict(void *cfg, const char *arg, char *err)
{
    fit_opts *o = cfg;
    if (o->n_predict == FIT_MAX_PREDICT)
        return kv_fail(err, KV_ERR_USAGE, "--predict: at most %d points", FIT_MAX_PREDICT);
    o->predict[o->n_predict++] = arg;
    return KV_OK;
}

static const args_opt fit_table[] = {
    {"x", 0, ARGS_FN, 0, 0, 0, fit_split_x},
    {"y", 0, ARGS_STR, offsetof(fit_opts, ycol), 0, 0, NULL},
    {"model", 0, ARGS_STR, offsetof(fit_opts, model), 0, 0, NULL},
    {"format", 0, ARGS_FN, 0, 0, 0, fit_format},
    {"predict", 0, ARGS_FN, 0, 0, 0, fit_add_predict},
    {"robust", 0, ARGS_FLAG, offsetof(fit_opts, robust), 0, 0, NULL},
    {"weighted", 0, ARGS_FLAG, offsetof(fit_opts, weighted), 0, 0, NULL},
    {NULL, 0, ARGS_FLAG, 0, 0, 0, NULL},
};

static void fit_defaults(void *cfg)
{
    ((fit_opts *)cfg)->model = "auto";
}

/* --model against the --x columns: the kind of fit, its degree, auto. */
static kv_status fit_parse_model(const fit_opts *o, fit_kind *kind, int *degree, bool *is_auto,
                                 char *err)
{
    *is_auto = false;
    *degree = 0;
    if (o->k > 1) {
        if (strcmp(o->model, "auto") != 0 && strcmp(o->model, "linear") != 0)
            return kv_fail(err, KV_ERR_USAGE,
                           "--model %s takes one --x column; several columns fit a multiple "
                           "linear regression",
                           o->model);
        *kind = FIT_MULTI;
        return KV_OK;
    }
    if (strcmp(o->model, "auto") == 0) {
        *is_auto = true;
        *kind = FIT_LINEAR;
    } else if (strcmp(o->model, "linear") == 0) {
        *kind = FIT_LINEAR;
    } else if (strcmp(o->model, "quadratic") == 0) {
        *kind = FIT_QUADRATIC;
    } else if (strcmp(o->model, "knee") == 0) {
        *kind = FIT_KNEE;
    } else if (strcmp(o->model, "knee-quadratic") == 0) {
        *kind = FIT_KNEE_QUADRATIC;
    } else if (strncmp(o->model, "poly:", 5) == 0) {
        char *end = NULL;
        errno = 0;
        long k = strtol(o->model + 5, &end, 10);
        if (errno || end == o->model + 5 || *end || k < 1 || k >= FIT_MAXP)
            return kv_fail(err, KV_ERR_USAGE, "--model poly:K needs K in 1..%d", FIT_MAXP - 1);
        *kind = FIT_POLY;
        *degree = (int)k;
    } else {
        return kv_fail(err, KV_ERR_USAGE, "--model: unknown model '%s'", o->model);
    }
    return KV_OK;
}

static args_verdict fit_check(void *cfg, int npos, char **pos, char *err)
{
    fit_opts *o = cfg;
    if (!args_npos(npos, 1, "expected exactly one CSV file", err))
        return ARGS_BAD_USAGE;
    o->file = pos[0];
    if (o->k == 0 || !o->ycol) {
        snprintf(err, KV_ERRLEN, "--x and --y are required");
        return ARGS_BAD_USAGE;
    }
    if (fit_parse_model(o, &o->kind, &o->degree, &o->is_auto, err) != KV_OK)
        return ARGS_BAD_USAGE;
    return ARGS_OK;
}

static kv_status fit_parse_point(const char *s, size_t k, double *x, char *err)
{
    const char *p = s;
    for (size_t j = 0; j < k; j++) {
        char *end = NULL;
        errno = 0;
        x[j] = strtod(p, &end);
        if (end == p || errno || !isfinite(x[j]))
            return kv_fail(err, KV_ERR_USAGE, "--predict '%s': expected %zu number(s)", s, k);
        p = end;
        if (j + 1 < k) {
            if (*p != ',')
                return kv_fail(err, KV_ERR_USAGE, "--predict '%s': expected %zu numbers", s, k);
            p++;
        }
    }
    if (*p)
        return kv_fail(err, KV_ERR_USAGE, "--predict '%s': expected %zu number(s)", s, k);
    return KV_OK;
}

static void fit_json_nums(jsonw *w, const char *key, const double *v, size_t n)
{
    jsonw_key(w, key);
    jsonw_begin_arr(w);
    for (size_t j = 0; j < n; j++)
        jsonw_num(w, v[j]);
    jsonw_end_arr(w);
}

/* [lo, hi], each null when not finite. */
static void fit_json_interval(jsonw *w, double lo, double hi)
{
    jsonw_begin_arr(w);
    jsonw_num(w, lo);
    jsonw_num(w, hi);
    jsonw_end_arr(w);
}

static const char *fit_model_label(const fit_result *f, char *buf, size_t len)
{
    if (f->kind == FIT_POLY)
        snprintf(buf, len, "poly:%d", f->degree);
    else if (f->kind == FIT_KNEE_QUADRATIC)
        snprintf(buf, len, "knee-quadratic");
    else
        snprintf(buf, len, "%s", fit_kind_name(f->kind));
    return buf;
}

/* Stalls among the rows (one x column only): flagged, kept in the fit. */
typedef struct fit_stalls {
    bool checked;  /* one x column: the rule was applied */
    size_t count;  /* rows flagged */
    bool *flag;    /* owned: n verdicts */
    double *ratio; /* owned: y / median of the rows with the same x */
} fit_stalls;

static kv_status fit_find_stalls(const fit_input *in, fit_stalls *sl, char *err)
{
    if (in->k != 1)
        return KV_OK;
    sl->flag = calloc(in->n ? in->n : 1, sizeof *sl->flag);
    sl->ratio = calloc(in->n ? in->n : 1, sizeof *sl->ratio);
    if (!sl->flag || !sl->ratio)
        return kv_fail(err, KV_ERR_NOMEM, "out of memory");
    size_t got = stalls_flag_by_x(in->x[0], in->y, in->n, sl->flag, sl->ratio);
    if (got == (size_t)-1)
        return kv_fail(err, KV_ERR_NOMEM, "out of memory");
    sl->count = got;
    sl->checked = true;
    return KV_OK;
}

/* A key and its value. */
static void fit_stalls_json(jsonw *w, const fit_stalls *sl, const fit_input *in, bool robust)
{
    if (!sl->checked)
        return;
    jsonw_key(w, "stalls");
    jsonw_begin_obj(w);
    jsonw_kint(w, "count", (long long)sl->count);
    jsonw_kstr(w, "rule", STALLS_RULE);
    if (sl->count && !robust) {
        jsonw_kstr(w, "advice",
                   "stalls detected: least squares is pulled by them; rerun with --robust");
    }
    jsonw_key(w, "rows");
    jsonw_begin_arr(w);
    for (size_t i = 0; i < in->n; i++) {
        if (!sl->flag[i])
            continue;
        jsonw_begin_obj(w);
        jsonw_kint(w, "row", (long long)(i + 1));
        jsonw_knum(w, "x", in->x[0][i]);
        jsonw_knum(w, "y", in->y[i]);
        jsonw_knum(w, "ratio_to_median", sl->ratio[i]);
        jsonw_end_obj(w);
    }
    jsonw_end_arr(w);
    jsonw_end_obj(w);
}

static void fit_stalls_table(const fit_stalls *sl, const fit_input *in, bool robust)
{
    if (!sl->checked || sl->count == 0)
        return;
    printf("\nstalls detected: %zu of %zu rows (%s)\n", sl->count, in->n, STALLS_RULE);
    for (size_t i = 0, k = 0; i < in->n; i++) {
        if (!sl->flag[i])
            continue;
        if (k++ == 20) {
            printf("  ... %zu more\n", sl->count - 20);
            break;
        }
        printf("  row %zu: x = %.6g, y = %.6g (%.1fx the median at this x)\n", i + 1, in->x[0][i],
               in->y[i], sl->ratio[i]);
    }
    if (robust)
        printf("kept in the fit: the bisquare weights discount them\n");
    else
        printf("least-squares coefficients, intervals and model choice are pulled by them: "
               "rerun with --robust\n");
}

/* model, columns, coefficients with their sd and 95% intervals. */
static void fit_json_coefficients(jsonw *w, const fit_opts *o, const fit_result *f)
{
    char label[32];
    jsonw_kstr(w, "model", fit_model_label(f, label, sizeof label));
    jsonw_kint(w, "n", (long long)f->n);
    jsonw_key(w, "x");
    jsonw_begin_arr(w);
    for (size_t j = 0; j < o->k; j++)
        jsonw_str(w, o->xcols[j]);
    jsonw_end_arr(w);
    jsonw_kstr(w, "y", o->ycol);
    jsonw_key(w, "names");
    jsonw_begin_arr(w);
    for (size_t j = 0; j < f->p; j++)
        jsonw_str(w, f->names[j]);
    jsonw_end_arr(w);
    fit_json_nums(w, "coefficients", f->coef, f->p);
    fit_json_nums(w, "sd", f->sd, f->p);
    jsonw_key(w, "ci95");
    jsonw_begin_arr(w);
    for (size_t j = 0; j < f->p; j++)
        fit_json_interval(w, f->ci[j][0], f->ci[j][1]);
    jsonw_end_arr(w);
}

/* Goodness of fit and the residual diagnostics. */
static void fit_json_quality(jsonw *w, const fit_result *f)
{
    jsonw_knum(w, "residual_sd", f->residual_sd);
    jsonw_knum(w, "r_squared", f->r_squared);
    jsonw_knum(w, "rss", f->rss);
    jsonw_knum(w, "df", f->df);
    jsonw_knum(w, "aicc", f->aicc);
    if (f->robust) {
        jsonw_knum(w, "robust_aic", f->aicr);
    }
    jsonw_kbool(w, "robust", f->robust);
    jsonw_kbool(w, "weighted", f->weighted);
    if (isfinite(f->knee_x0)) {
        jsonw_knum(w, "knee_x0", f->knee_x0);
    }
    jsonw_knum(w, "heteroscedasticity_p", f->heteroscedasticity_p);
    jsonw_knum(w, "normality_p", f->normality_p);
    jsonw_knum(w, "lag1_autocorrelation", f->lag1);
}

/* The automatic choice: why, and the candidates rejected. */
static void fit_json_choice(jsonw *w, const fit_choice *ch)
{
    jsonw_kstr(w, "why", ch->why);
    fit_json_rejected(w, ch);
}

static void fit_json_predictions(jsonw *w, const fit_opts *o, const fit_result *f, const double *px,
                                 size_t np)
{
    jsonw_key(w, "predictions");
    jsonw_begin_arr(w);
    for (size_t i = 0; i < np; i++) {
        const double *x = px + i * o->k;
        double m, sm, sp;
        fit_predict(f, x, &m, &sm, &sp);
        jsonw_begin_obj(w);
        if (o->k == 1) {
            jsonw_knum(w, "x", x[0]);
        } else {
            fit_json_nums(w, "x", x, o->k);
        }
        jsonw_knum(w, "mean", m);
        jsonw_key(w, "ci95");
        fit_json_interval(w, m - f->tcrit * sm, m + f->tcrit * sm);
        jsonw_key(w, "pi95");
        fit_json_interval(w, m - f->tcrit * sp, m + f->tcrit * sp);
        jsonw_end_obj(w);
    }
    jsonw_end_arr(w);
}

/* The fit as one JSON object on stdout, written through stats/jsonw.h. */
static kv_status fit_print_json(const fit_opts *o, const fit_result *f, const fit_choice *ch,
                                const double *px, size_t np, const fit_stalls *sl,
                                const fit_input *in, char *err)
{
    jsonw w = {0};
    jsonw_begin_obj(&w);
    fit_json_coefficients(&w, o, f);
    fit_json_quality(&w, f);
    fit_stalls_json(&w, sl, in, f->robust);
    if (ch)
        fit_json_choice(&w, ch);
    if (np)
        fit_json_predictions(&w, o, f, px, np);
    jsonw_end_obj(&w);
    kv_status st = w.st;
    if (st == KV_OK && (fwrite(w.b.data, 1, w.b.len, stdout) != w.b.len || putchar('\n') == EOF))
        st = kv_fail(err, KV_ERR_IO, "stdout: write failed");
    else if (st != KV_OK)
        kv_fail(err, st, "out of memory");
    kv_buf_free(&w.b);
    return st;
}

static void fit_print_table(const fit_opts *o, const fit_result *f, const fit_choice *ch,
                            const double *px, size_t np, const fit_stalls *sl, const fit_input *in)
{
    char label[32];
    printf("model: %s%s%s  (y = %s, n = %zu)\n", fit_model_label(f, label, sizeof label),
           f->robust ? ", bisquare robust" : "", f->weighted ? ", weighted" : "", o->ycol, f->n);
    if (isfinite(f->knee_x0))
        printf("knee at x0 = %.6g (profiled; intervals are conditional on it)\n", f->knee_x0);
    printf("\n%-6s %-14s %24s %24s %24s %24s\n", "coef", "term", "estimate", "sd", "ci95 low",
           "ci95 high");
    for (size_t j = 0; j < f->p; j++) {
        char term[64];
        if (j == 0)
            snprintf(term, sizeof term, "1");
        else if (f->kind == FIT_MULTI)
            snprintf(term, sizeof term, "%s", o->xcols[j - 1]);
        else if (f->kind == FIT_KNEE || (f->kind == FIT_KNEE_QUADRATIC && j == 1))
            snprintf(term, sizeof term, "max(0,x-x0)");
        else if (f->kind == FIT_KNEE_QUADRATIC)
            snprintf(term, sizeof term, "max(0,x-x0)^2");
        else if (j == 2)
            snprintf(term, sizeof term, "%s^2", o->xcols[0]);
        else if (j == 1)
            snprintf(term, sizeof term, "%s", o->xcols[0]);
        else
            snprintf(term, sizeof term, "%s^%zu", o->xcols[0], j);
        printf("%-6s %-14.14s %24.17g %24.17g %24.17g %24.17g\n", f->names[j], term, f->coef[j],
               f->sd[j], f->ci[j][0], f->ci[j][1]);
    }
    printf("\nresidual sd %.17g  R^2 %.17g  RSS %.17g  df %.0f  %s %.6g\n", f->residual_sd,
           f->r_squared, f->rss, f->df, f->robust ? "robust AIC" : "AICc",
           f->robust ? f->aicr : f->aicc);
    printf("diagnostics: Breusch-Pagan p %.3g, Jarque-Bera p %.3g, lag-1 autocorrelation %.3g\n",
           f->heteroscedasticity_p, f->normality_p, f->lag1);
    if (ch) {
        printf("choice: %s\n", ch->why);
        for (size_t i = 0; i < ch->n_rejected; i++)
            printf("rejected %s: %s\n", fit_kind_name(ch->rejected[i].kind),
                   ch->rejected[i].reason);
    }
    for (size_t i = 0; i < np; i++) {
        const double *x = px + i * o->k;
        double m, sm, sp;
        fit_predict(f, x, &m, &sm, &sp);
        printf("predict x = %s: mean %.6g  ci95 [%.6g, %.6g]  pi95 [%.6g, %.6g]\n", o->predict[i],
               m, m - f->tcrit * sm, m + f->tcrit * sm, m - f->tcrit * sp, m + f->tcrit * sp);
    }
    fit_stalls_table(sl, in, f->robust);
}

/* The fit the options ask for into *f; *ch (owned by the caller) holds the
 * automatic choice. */
static kv_status fit_run(const fit_opts *o, const fit_input *in, fit_kind kind, int degree,
                         bool is_auto, fit_choice **ch, fit_result *f, char *err)
{
    if (!is_auto)
        return o->robust ? fit_robust(in, kind, degree, 0.95, f, err)
                         : fit_model(in, kind, degree, 0.95, f, err);
    *ch = malloc(sizeof **ch);
    if (!*ch)
        return kv_fail(err, KV_ERR_NOMEM, "out of memory");
    kv_status st = o->robust ? fit_auto_robust(in, 0.95, o->weighted, *ch, err)
                             : fit_auto(in, 0.95, o->weighted, *ch, err);
    if (st == KV_OK)
        *f = (*ch)->fits[(*ch)->chosen];
    return st;
}

/* The --predict points, the CSV columns and the stall flags into *in. */
static kv_status fit_load(const fit_opts *o, double *px, csv_table **t, double **cols, double **y,
                          fit_stalls *sl, fit_input *in, char *err)
{
    kv_status st = KV_OK;
    for (size_t i = 0; i < o->n_predict && st == KV_OK; i++)
        st = fit_parse_point(o->predict[i], o->k, px + i * o->k, err);
    if (st == KV_OK)
        st = csv_load(o->file, t, err);
    for (size_t j = 0; j < o->k && st == KV_OK; j++)
        st = csv_column(*t, o->xcols[j], &cols[j], err);
    if (st == KV_OK)
        st = csv_column(*t, o->ycol, y, err);
    if (st != KV_OK)
        return st;
    *in = (fit_input){(const double *const *)cols, o->k, *y, NULL, csv_rows(*t), false};
    return fit_find_stalls(in, sl, err);
}

static int fit_exec(void *cfg)
{
    const fit_opts *o = cfg;
    char err[KV_ERRLEN] = "";
    csv_table *t = NULL;
    double *cols[FIT_MAXP] = {NULL}, *y = NULL;
    fit_choice *ch = NULL;
    fit_stalls sl = {0};
    fit_input in;
    fit_result f;
    double *px = calloc(o->n_predict * o->k + 1, sizeof *px);
    kv_status st = px ? KV_OK : kv_fail(err, KV_ERR_NOMEM, "out of memory");
    if (st == KV_OK)
        st = fit_load(o, px, &t, cols, &y, &sl, &in, err);
    if (st == KV_OK)
        st = fit_run(o, &in, o->kind, o->degree, o->is_auto, &ch, &f, err);
    if (st == KV_OK && o->json)
        st = fit_print_json(o, &f, ch, px, o->n_predict, &sl, &in, err);
    else if (st == KV_OK)
        fit_print_table(o, &f, ch, px, o->n_predict, &sl, &in);
    if (st != KV_OK)
        fprintf(stderr, "kvproof fit: %s\n", err);
    csv_free(t);
    for (size_t j = 0; j < o->k; j++)
        free(cols[j]);
    free(y);
    free(px);
    free(ch);
    free(sl.flag);
    free(sl.ratio);
    return kv_exit_code(st);
}

const args_cmd cmd_fit = ARGS_CMD(fit, fit_opts, fit_table, .defaults = fit_defaults,
                                  .release = fit_release, .unknown = "unknown option %s",
                                  .novalue = "option %s needs a value", .usage_on_error = true);
