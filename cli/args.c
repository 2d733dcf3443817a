/* args.c - the command-line parser (args.h).
 *
 * Divided into: the number rules, storing one option's value, the getopt
 * table built from a command's options, and the parse and run steps.
 */
#include "cli/args.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ARGS_MAX_OPTS 96
#define ARGS_HELP_VAL 'h'
#define ARGS_LONG_VAL 256 /* getopt value of table row i without a letter: 256 + i */

/* ---- the number rules ---- */

static bool decimal_chars(const char *s)
{
    if (!s || !*s)
        return false;
    for (const char *p = s; *p; p++)
        if (!strchr("0123456789+-.eE", *p))
            return false;
    return true;
}

bool args_parse_u64(const char *s, uint64_t *out)
{
    if (!decimal_chars(s) || s[0] < '0' || s[0] > '9')
        return false;
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return false;
    *out = (uint64_t)v;
    return true;
}

bool args_parse_double(const char *s, double *out)
{
    if (!decimal_chars(s))
        return false;
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !isfinite(v))
        return false;
    *out = v;
    return true;
}

bool args_pick(const char *arg, const char *yes, const char *no, bool *is_yes)
{
    if (strcmp(arg, yes) != 0 && strcmp(arg, no) != 0)
        return false;
    *is_yes = strcmp(arg, yes) == 0;
    return true;
}

/* What an option's value must be, for its message. */
static void describe(const args_opt *o, char *buf, size_t n)
{
    switch (o->kind) {
    case ARGS_U64:
        snprintf(buf, n, "a non-negative integer");
        break;
    case ARGS_INT:
    case ARGS_LONG:
        snprintf(buf, n, "an integer in [%g, %g]", o->lo, o->hi);
        break;
    case ARGS_POS:
        if (o->hi > 0)
            snprintf(buf, n, "a number in (0, %g)", o->hi);
        else
            snprintf(buf, n, "a positive number");
        break;
    default:
        snprintf(buf, n, "a number in [%g, %g]", o->lo, o->hi);
        break;
    }
}

/* The one range rule for every number kind. */
static bool number_ok(const args_opt *o, const char *arg, double *v)
{
    if (!args_parse_double(arg, v))
        return false;
    if (o->kind == ARGS_POS)
        return *v > 0 && (o->hi <= 0 || *v < o->hi);
    if ((o->kind == ARGS_INT || o->kind == ARGS_LONG) && *v != floor(*v))
        return false;
    return *v >= o->lo && *v <= o->hi;
}

/* ---- storing one option's value ---- */

static kv_status store(const args_opt *o, const char *arg, void *cfg, char *err)
{
    char *field = (char *)cfg + o->off;
    char what[96];
    double v = 0;
    switch (o->kind) {
    case ARGS_FLAG:
        *(bool *)field = true;
        return KV_OK;
    case ARGS_STR:
        *(const char **)field = arg;
        return KV_OK;
    case ARGS_LIST: {
        args_list *l = (args_list *)field;
        if (l->n == ARGS_LIST_MAX)
            return kv_fail(err, KV_ERR_USAGE, "too many --%s options", o->name);
        l->v[l->n++] = arg;
        return KV_OK;
    }
    case ARGS_FN:
        return o->fn(cfg, arg, err);
    case ARGS_U64: {
        args_u64 *u = (args_u64 *)field;
        if (args_parse_u64(arg, &u->v)) {
            u->set = true;
            return KV_OK;
        }
        break;
    }
    default:
        if (!number_ok(o, arg, &v))
            break;
        if (o->kind == ARGS_INT)
            *(int *)field = (int)v;
        else if (o->kind == ARGS_LONG)
            *(long *)field = (long)v;
        else
            *(double *)field = v;
        return KV_OK;
    }
    describe(o, what, sizeof what);
    return kv_fail(err, KV_ERR_USAGE, "--%s %s: expected %s", o->name, arg, what);
}

/* ---- the getopt table ---- */

typedef struct getopt_table {
    struct option longs[ARGS_MAX_OPTS + 2];
    char shorts[2 * ARGS_MAX_OPTS + 4];
} getopt_table;

static void build_table(const args_cmd *c, getopt_table *t)
{
    size_t n = 0, s = 0;
    if (c->unknown)
        t->shorts[s++] = ':'; /* silent: ':' for a missing value, '?' for unknown */
    for (; n < ARGS_MAX_OPTS && c->opts[n].name; n++) {
        const args_opt *o = &c->opts[n];
        int has_arg = o->kind == ARGS_FLAG ? no_argument : required_argument;
        t->longs[n] =
            (struct option){o->name, has_arg, NULL, o->letter ? o->letter : ARGS_LONG_VAL + (int)n};
        if (o->letter) {
            t->shorts[s++] = (char)o->letter;
            if (has_arg == required_argument)
                t->shorts[s++] = ':';
        }
    }
    t->longs[n++] = (struct option){"help", no_argument, NULL, ARGS_HELP_VAL};
    t->longs[n] = (struct option){NULL, 0, NULL, 0};
    t->shorts[s++] = 'h';
    t->shorts[s] = '\0';
}

static const args_opt *find_opt(const args_cmd *c, int val)
{
    if (val >= ARGS_LONG_VAL)
        return &c->opts[val - ARGS_LONG_VAL];
    for (size_t i = 0; c->opts[i].name; i++)
        if (c->opts[i].letter == val)
            return &c->opts[i];
    return NULL;
}

/* ---- parse and run ---- */

bool args_npos(int npos, int n, const char *msg, char *err)
{
    if (npos == n)
        return true;
    snprintf(err, KV_ERRLEN, "%s", msg);
    return false;
}

bool args_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return false;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return true;
    }
    return false;
}

/* An unknown option or one without its value: the command's message. */
static int bad_option(const args_cmd *c, int ch, const char *arg)
{
    if (!c->unknown) {
        c->usage(stderr); /* getopt printed what was wrong */
        return KV_EXIT_USAGE;
    }
    const char *fmt = ch == ':' && c->novalue ? c->novalue : c->unknown;
    const char *at = strstr(fmt, "%s"); /* the one place the option goes */
    int before = at ? (int)(at - fmt) : (int)strlen(fmt);
    fprintf(stderr, "kvproof %s: %.*s%s%s\n", c->name, before, fmt, at ? arg : "",
            at ? at + 2 : "");
    if (c->usage_on_error)
        c->usage(stderr);
    return KV_EXIT_USAGE;
}

/* A value the option's rule or function refused. */
static int bad_value(const args_cmd *c, kv_status st, const char *err)
{
    fprintf(stderr, "kvproof %s: %s\n", c->name, err);
    if (c->usage_on_error && st == KV_ERR_USAGE)
        c->usage(stderr);
    return kv_exit_code(st);
}

static int check_step(const args_cmd *c, int argc, char **argv, void *cfg)
{
    char err[KV_ERRLEN] = "";
    args_verdict v = c->check ? c->check(cfg, argc - optind, argv + optind, err) : ARGS_OK;
    if (v == ARGS_OK)
        return -1;
    fprintf(stderr, "kvproof %s: %s\n", c->name, err);
    if (v == ARGS_BAD_USAGE)
        c->usage(stderr);
    return KV_EXIT_USAGE;
}

int args_parse(const args_cmd *c, int argc, char **argv, void *cfg)
{
    if (!c->help_in_order && args_wants_help(argc, argv)) {
        c->usage(stdout);
        return KV_EXIT_OK;
    }
    getopt_table t;
    build_table(c, &t);
    optind = 0; /* glibc: a full reset, the CLI may parse more than once per process */
    opterr = c->unknown ? 0 : 1;
    int ch;
    while ((ch = getopt_long(argc, argv, t.shorts, t.longs, NULL)) != -1) {
        if (ch == ARGS_HELP_VAL) {
            c->usage(stdout);
            return KV_EXIT_OK;
        }
        const args_opt *o = ch == '?' || ch == ':' ? NULL : find_opt(c, ch);
        if (!o)
            return bad_option(c, ch, optind > 1 ? argv[optind - 1] : "");
        char err[KV_ERRLEN] = "";
        kv_status st = store(o, optarg, cfg, err);
        if (st != KV_OK)
            return bad_value(c, st, err);
    }
    return check_step(c, argc, argv, cfg);
}

int args_run(const args_cmd *c, int argc, char **argv)
{
    void *cfg = calloc(1, c->size);
    if (!cfg) {
        fprintf(stderr, "kvproof %s: out of memory\n", c->name);
        return KV_EXIT_FAILURE;
    }
    if (c->defaults)
        c->defaults(cfg);
    int rc = args_parse(c, argc, argv, cfg);
    if (rc < 0)
        rc = c->exec(cfg);
    if (c->release)
        c->release(cfg);
    free(cfg);
    return rc;
}
