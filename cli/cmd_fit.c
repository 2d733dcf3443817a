/* cmd_fit.c - 'kvproof fit': fit a model to any CSV (llama-bench output,
 * NIST data) and print a table or JSON. Parsing and formatting live here;
 * the numbers come from stats/fit.h, the CSV reader from stats/csv.h. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "common/status.h"
#include "stats/csv.h"
#include "stats/fit.h"
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

static void fit_opts_free(fit_opts *o)
{
    for (size_t i = 0; i < o->k; i++)
        free(o->xcols[i]);
}

static kv_status fit_split_x(fit_opts *o, const char *arg, char *err)
{
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

static kv_status fit_parse_args(int argc, char **argv, fit_opts *o, char *err)
{
    static const struct option longopts[] = {{"x", required_argument, NULL, 'x'},
                                             {"y", required_argument, NULL, 'y'},
                                             {"model", required_argument, NULL, 'm'},
                                             {"format", required_argument, NULL, 'f'},
                                             {"predict", required_argument, NULL, 'p'},
                                             {"robust", no_argument, NULL, 'r'},
                                             {"weighted", no_argument, NULL, 'w'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    o->model = "auto";
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        kv_status st = KV_OK;
        switch (c) {
        case 'x':
            st = fit_split_x(o, optarg, err);
            break;
        case 'y':
            o->ycol = optarg;
            break;
        case 'm':
            o->model = optarg;
            break;
        case 'f':
            if (strcmp(optarg, "json") == 0)
                o->json = true;
            else if (strcmp(optarg, "table") == 0)
                o->json = false;
            else
                st = kv_fail(err, KV_ERR_USAGE, "--format: expected table or json, got '%s'",
                             optarg);
            break;
        case 'p':
            if (o->n_predict == FIT_MAX_PREDICT)
                st = kv_fail(err, KV_ERR_USAGE, "--predict: at most %d points", FIT_MAX_PREDICT);
            else
                o->predict[o->n_predict++] = optarg;
            break;
        case 'r':
            o->robust = true;
            break;
        case 'w':
            o->weighted = true;
            break;
        case ':':
            st = kv_fail(err, KV_ERR_USAGE, "option %s needs a value", argv[optind - 1]);
            break;
        default:
            st = kv_fail(err, KV_ERR_USAGE, "unknown option %s", argv[optind - 1]);
            break;
        }
        if (st != KV_OK)
            return st;
    }
    if (optind + 1 != argc)
        return kv_fail(err, KV_ERR_USAGE, "expected exactly one CSV file");
    o->file = argv[optind];
    if (o->k == 0 || !o->ycol)
        return kv_fail(err, KV_ERR_USAGE, "--x and --y are required");
    return KV_OK;
}

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

/* %.17g, or null for a non-finite value (results never hold NaN). */
static void fit_num(double v)
{
    if (isfinite(v))
        printf("%.17g", v);
    else
        printf("null");
}

static void fit_json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
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

static void fit_stalls_json(const fit_stalls *sl, const fit_input *in, bool robust)
{
    if (!sl->checked)
        return;
    printf(", \"stalls\": {\"count\": %zu, \"rule\": ", sl->count);
    fit_json_string(STALLS_RULE);
    if (sl->count && !robust)
        printf(", \"advice\": \"stalls detected: least squares is pulled by them; rerun with "
               "--robust\"");
    printf(", \"rows\": [");
    for (size_t i = 0, k = 0; i < in->n; i++) {
        if (!sl->flag[i])
            continue;
        printf("%s{\"row\": %zu, \"x\": ", k++ ? ", " : "", i + 1);
        fit_num(in->x[0][i]);
        printf(", \"y\": ");
        fit_num(in->y[i]);
        printf(", \"ratio_to_median\": ");
        fit_num(sl->ratio[i]);
        printf("}");
    }
    printf("]}");
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

static void fit_print_json(const fit_opts *o, const fit_result *f, const fit_choice *ch,
                           const double *px, size_t np, const fit_stalls *sl, const fit_input *in)
{
    char label[32];
    printf("{\"model\": ");
    fit_json_string(fit_model_label(f, label, sizeof label));
    printf(", \"n\": %zu, \"x\": [", f->n);
    for (size_t j = 0; j < o->k; j++) {
        printf("%s", j ? ", " : "");
        fit_json_string(o->xcols[j]);
    }
    printf("], \"y\": ");
    fit_json_string(o->ycol);
    printf(", \"names\": [");
    for (size_t j = 0; j < f->p; j++)
        printf("%s\"%s\"", j ? ", " : "", f->names[j]);
    printf("], \"coefficients\": [");
    for (size_t j = 0; j < f->p; j++) {
        printf("%s", j ? ", " : "");
        fit_num(f->coef[j]);
    }
    printf("], \"sd\": [");
    for (size_t j = 0; j < f->p; j++) {
        printf("%s", j ? ", " : "");
        fit_num(f->sd[j]);
    }
    printf("], \"ci95\": [");
    for (size_t j = 0; j < f->p; j++) {
        printf("%s[", j ? ", " : "");
        fit_num(f->ci[j][0]);
        printf(", ");
        fit_num(f->ci[j][1]);
        printf("]");
    }
    printf("], \"residual_sd\": ");
    fit_num(f->residual_sd);
    printf(", \"r_squared\": ");
    fit_num(f->r_squared);
    printf(", \"rss\": ");
    fit_num(f->rss);
    printf(", \"df\": ");
    fit_num(f->df);
    printf(", \"aicc\": ");
    fit_num(f->aicc);
    if (f->robust) {
        printf(", \"robust_aic\": ");
        fit_num(f->aicr);
    }
    printf(", \"robust\": %s, \"weighted\": %s", f->robust ? "true" : "false",
           f->weighted ? "true" : "false");
    if (isfinite(f->knee_x0)) {
        printf(", \"knee_x0\": ");
        fit_num(f->knee_x0);
    }
    printf(", \"heteroscedasticity_p\": ");
    fit_num(f->heteroscedasticity_p);
    printf(", \"normality_p\": ");
    fit_num(f->normality_p);
    printf(", \"lag1_autocorrelation\": ");
    fit_num(f->lag1);
    fit_stalls_json(sl, in, f->robust);
    if (ch) {
        printf(", \"why\": ");
        fit_json_string(ch->why);
        printf(", \"rejected\": [");
        for (size_t i = 0; i < ch->n_rejected; i++) {
            printf("%s{\"model\": \"%s\", \"reason\": ", i ? ", " : "",
                   fit_kind_name(ch->rejected[i].kind));
            fit_json_string(ch->rejected[i].reason);
            printf("}");
        }
        printf("]");
    }
    if (np) {
        printf(", \"predictions\": [");
        for (size_t i = 0; i < np; i++) {
            const double *x = px + i * o->k;
            double m, sm, sp;
            fit_predict(f, x, &m, &sm, &sp);
            printf("%s{\"x\": ", i ? ", " : "");
            if (o->k == 1) {
                fit_num(x[0]);
            } else {
                printf("[");
                for (size_t j = 0; j < o->k; j++) {
                    printf("%s", j ? ", " : "");
                    fit_num(x[j]);
                }
                printf("]");
            }
            printf(", \"mean\": ");
            fit_num(m);
            printf(", \"ci95\": [");
            fit_num(m - f->tcrit * sm);
            printf(", ");
            fit_num(m + f->tcrit * sm);
            printf("], \"pi95\": [");
            fit_num(m - f->tcrit * sp);
            printf(", ");
            fit_num(m + f->tcrit * sp);
            printf("]}");
        }
        printf("]");
    }
    printf("}\n");
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

int cmd_fit(int argc, char **argv)
{
    if (cmd_wants_help(argc, argv)) {
        fit_usage(stdout);
        return KV_EXIT_OK;
    }
    char err[KV_ERRLEN] = "";
    fit_opts o = {0};
    csv_table *t = NULL;
    double *cols[FIT_MAXP] = {NULL}, *y = NULL, *px = NULL;
    fit_choice *ch = NULL;
    fit_stalls sl = {0};
    fit_result f;
    fit_kind kind = FIT_LINEAR;
    int degree = 0;
    bool is_auto = false;
    kv_status st = fit_parse_args(argc, argv, &o, err);
    if (st == KV_OK)
        st = fit_parse_model(&o, &kind, &degree, &is_auto, err);
    if (st != KV_OK) {
        fprintf(stderr, "kvproof fit: %s\n", err);
        if (st == KV_ERR_USAGE)
            fit_usage(stderr);
        goto out;
    }
    px = calloc(o.n_predict * o.k + 1, sizeof *px);
    if (!px) {
        st = kv_fail(err, KV_ERR_NOMEM, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < o.n_predict && st == KV_OK; i++)
        st = fit_parse_point(o.predict[i], o.k, px + i * o.k, err);
    if (st == KV_OK)
        st = csv_load(o.file, &t, err);
    for (size_t j = 0; j < o.k && st == KV_OK; j++)
        st = csv_column(t, o.xcols[j], &cols[j], err);
    if (st == KV_OK)
        st = csv_column(t, o.ycol, &y, err);
    if (st != KV_OK)
        goto fail;
    fit_input in = {(const double *const *)cols, o.k, y, NULL, csv_rows(t), false};
    st = fit_find_stalls(&in, &sl, err);
    if (st == KV_OK)
        st = fit_run(&o, &in, kind, degree, is_auto, &ch, &f, err);
    if (st != KV_OK)
        goto fail;
    if (o.json)
        fit_print_json(&o, &f, ch, px, o.n_predict, &sl, &in);
    else
        fit_print_table(&o, &f, ch, px, o.n_predict, &sl, &in);
    goto out;
fail:
    fprintf(stderr, "kvproof fit: %s\n", err);
out:
    csv_free(t);
    for (size_t j = 0; j < o.k; j++)
        free(cols[j]);
    free(y);
    free(px);
    free(ch);
    free(sl.flag);
    free(sl.ratio);
    fit_opts_free(&o);
    return kv_exit_code(st);
}
