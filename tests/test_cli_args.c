/* test_cli_args.c - the command-line parser (cli/args.h): the number rules,
 * one message for a bad value, options missing or unknown, the check step
 * for rules involving several options, --help, and parsing twice in one
 * process; directly over a test table, then through the binary (KVPROOF_BIN)
 * for a few commands. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/args.h"
#include "common/util.h"
#include "tests/testutil.h"

/* ---- a test command ------------------------------------------------------ */

typedef struct t_config {
    args_u64 seed;
    int n;
    long big;
    double x;
    double pos;
    double frac;
    bool flag;
    const char *name;
    args_list urls;
    const char *mode;
    const char *arg;
} t_config;

static kv_status t_mode(void *cfg, const char *arg, char *err)
{
    if (strcmp(arg, "a") != 0 && strcmp(arg, "b") != 0)
        return kv_fail(err, KV_ERR_USAGE, "--mode %s: expected a or b", arg);
    ((t_config *)cfg)->mode = arg;
    return KV_OK;
}

static const args_opt t_opts[] = {
    {"seed", 's', ARGS_U64, offsetof(t_config, seed), 0, 0, NULL},
    {"n", 0, ARGS_INT, offsetof(t_config, n), 1, 10, NULL},
    {"big", 0, ARGS_LONG, offsetof(t_config, big), 0, 1e10, NULL},
    {"x", 0, ARGS_NUM, offsetof(t_config, x), -1, 1, NULL},
    {"pos", 0, ARGS_POS, offsetof(t_config, pos), 0, 0, NULL},
    {"frac", 0, ARGS_POS, offsetof(t_config, frac), 0, 1, NULL},
    {"flag", 'f', ARGS_FLAG, offsetof(t_config, flag), 0, 0, NULL},
    {"name", 0, ARGS_STR, offsetof(t_config, name), 0, 0, NULL},
    {"url", 'u', ARGS_LIST, offsetof(t_config, urls), 0, 0, NULL},
    {"mode", 0, ARGS_FN, 0, 0, 0, t_mode},
    {NULL, 0, ARGS_FLAG, 0, 0, 0, NULL},
};

static void t_usage(FILE *f)
{
    fprintf(f, "usage: t ARG [options]\n");
}

/* Two-option rule: --frac needs --pos; exactly one positional. */
static args_verdict t_check(void *cfg, int npos, char **pos, char *err)
{
    t_config *c = cfg;
    if (c->frac > 0 && c->pos == 0) {
        snprintf(err, KV_ERRLEN, "--frac needs --pos");
        return ARGS_BAD;
    }
    if (npos != 1) {
        snprintf(err, KV_ERRLEN, "expected one ARG");
        return ARGS_BAD_USAGE;
    }
    c->arg = pos[0];
    return ARGS_OK;
}

static const args_cmd t_cmd = {
    .name = "t",
    .opts = t_opts,
    .size = sizeof(t_config),
    .check = t_check,
    .usage = t_usage,
    .unknown = "unknown option '%s'",
    .novalue = "option '%s' needs a value",
};

/* Parses the words of line (split on spaces) into *c; the return code of
 * args_parse, with stdout and stderr captured into out and err. */
static int t_parse(const args_cmd *cmd, const char *line, t_config *c, char *out, char *err)
{
    static char words[2048];
    char *argv[256];
    int argc = 0;
    snprintf(words, sizeof words, "t %s", line);
    for (char *w = strtok(words, " "); w && argc < 255; w = strtok(NULL, " "))
        argv[argc++] = w;
    argv[argc] = NULL;
    memset(c, 0, sizeof *c);
    fflush(stdout);
    fflush(stderr);
    FILE *fo = tmpfile(), *fe = tmpfile();
    assert_non_null(fo);
    assert_non_null(fe);
    int so = dup(1), se = dup(2);
    dup2(fileno(fo), 1);
    dup2(fileno(fe), 2);
    int rc = args_parse(cmd, argc, argv, c);
    fflush(stdout);
    fflush(stderr);
    dup2(so, 1);
    dup2(se, 2);
    close(so);
    close(se);
    FILE *fs[2] = {fo, fe};
    char *bufs[2] = {out, err};
    for (int i = 0; i < 2; i++) {
        rewind(fs[i]);
        size_t n = fread(bufs[i], 1, 4095, fs[i]);
        bufs[i][n] = '\0';
        fclose(fs[i]);
    }
    return rc;
}

/* ---- the number rules ---------------------------------------------------- */

static void u64_should_take_the_whole_range_and_nothing_else(void **state)
{
    (void)state;
    uint64_t v = 1;
    assert_true(args_parse_u64("0", &v));
    assert_int_equal(v, 0);
    assert_true(args_parse_u64("18446744073709551615", &v));
    assert_true(v == UINT64_MAX);
    const char *bad[] = {"18446744073709551616", "-1", "+1", " 1", "1 ", "1x", "", "0x10", "1e3"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(args_parse_u64(bad[i], &v));
}

static void double_should_be_decimal_finite_and_whole(void **state)
{
    (void)state;
    double v = 0;
    assert_true(args_parse_double("1.5", &v));
    assert_true(v == 1.5);
    assert_true(args_parse_double("-2e3", &v));
    assert_true(v == -2000);
    const char *bad[] = {"nan", "inf", "0x1p3", " 1", "1,5", "1e999", "", "."};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(args_parse_double(bad[i], &v));
}

static void each_kind_should_store_its_value(void **state)
{
    (void)state;
    t_config c;
    char out[4096], err[4096];
    int rc = t_parse(&t_cmd,
                     "A --seed 18446744073709551615 --n 10 --big 1e10 --x -1 --pos 0.001 "
                     "--frac 0.5 -f --name N -u u1 --url u2 --mode b",
                     &c, out, err);
    assert_int_equal(rc, -1);
    assert_string_equal(err, "");
    assert_true(c.seed.set && c.seed.v == UINT64_MAX);
    assert_int_equal(c.n, 10);
    assert_true(c.big == 10000000000L);
    assert_true(c.x == -1 && c.pos == 0.001 && c.frac == 0.5);
    assert_true(c.flag);
    assert_string_equal(c.name, "N");
    assert_int_equal(c.urls.n, 2);
    assert_string_equal(c.urls.v[1], "u2");
    assert_string_equal(c.mode, "b");
    assert_string_equal(c.arg, "A");
}

/* One message format naming the option, for every number kind. */
static void a_bad_value_should_name_the_option_and_the_range(void **state)
{
    (void)state;
    static const struct {
        const char *line, *msg;
    } cases[] = {
        {"A --n 0", "kvproof t: --n 0: expected an integer in [1, 10]\n"},
        {"A --n 11", "kvproof t: --n 11: expected an integer in [1, 10]\n"},
        {"A --n 2.5", "kvproof t: --n 2.5: expected an integer in [1, 10]\n"},
        {"A --big 1e11", "kvproof t: --big 1e11: expected an integer in [0, 1e+10]\n"},
        {"A --x 1.01", "kvproof t: --x 1.01: expected a number in [-1, 1]\n"},
        {"A --pos 0", "kvproof t: --pos 0: expected a positive number\n"},
        {"A --pos -3", "kvproof t: --pos -3: expected a positive number\n"},
        {"A --frac 1", "kvproof t: --frac 1: expected a number in (0, 1)\n"},
        {"A --seed -1", "kvproof t: --seed -1: expected a non-negative integer\n"},
        {"A --seed abc", "kvproof t: --seed abc: expected a non-negative integer\n"},
        {"A --mode c", "kvproof t: --mode c: expected a or b\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        t_config c;
        char out[4096], err[4096];
        assert_int_equal(t_parse(&t_cmd, cases[i].line, &c, out, err), 2);
        assert_string_equal(err, cases[i].msg);
        assert_string_equal(out, "");
    }
}

/* t_parse of line is a usage error (2) whose message is msg. */
static void expect_usage_error(const char *line, const char *msg)
{
    t_config c;
    char out[4096], err[4096];
    assert_int_equal(t_parse(&t_cmd, line, &c, out, err), 2);
    assert_string_equal(err, msg);
}

static void unknown_and_valueless_options_should_be_usage_errors(void **state)
{
    (void)state;
    expect_usage_error("A --bogus", "kvproof t: unknown option '--bogus'\n");
    expect_usage_error("A -z", "kvproof t: unknown option '-z'\n");
    expect_usage_error("A --n", "kvproof t: option '--n' needs a value\n");
}

static void the_check_step_should_hold_the_rules_of_several_options(void **state)
{
    (void)state;
    expect_usage_error("A --frac 0.5", "kvproof t: --frac needs --pos\n");
    t_config c;
    char out[4096], err[4096];
    assert_int_equal(t_parse(&t_cmd, "A --frac 0.5 --pos 2", &c, out, err), -1);
    expect_usage_error("A B", "kvproof t: expected one ARG\nusage: t ARG [options]\n");
}

static void help_should_print_the_usage_and_exit_zero(void **state)
{
    (void)state;
    t_config c;
    char out[4096], err[4096];
    /* anywhere on the line, even after a bad option */
    assert_int_equal(t_parse(&t_cmd, "--bogus A --help", &c, out, err), 0);
    assert_string_equal(out, "usage: t ARG [options]\n");
    assert_string_equal(err, "");
    assert_int_equal(t_parse(&t_cmd, "-h", &c, out, err), 0);
    /* after "--" it is an argument */
    assert_int_equal(t_parse(&t_cmd, "-- --help", &c, out, err), -1);
    assert_string_equal(c.arg, "--help");
    /* in order: a bad option before it wins */
    args_cmd in_order = t_cmd;
    in_order.help_in_order = true;
    assert_int_equal(t_parse(&in_order, "--bogus --help", &c, out, err), 2);
    assert_int_equal(t_parse(&in_order, "A --help", &c, out, err), 0);
    assert_string_equal(out, "usage: t ARG [options]\n");
}

static void a_list_should_stop_at_its_capacity(void **state)
{
    (void)state;
    char line[2048] = "A";
    for (int i = 0; i <= ARGS_LIST_MAX; i++)
        strcat(line, " -u x");
    expect_usage_error(line, "kvproof t: too many --url options\n");
}

/* optind is reset in one place: a second parse in the same process sees
 * all of its arguments. */
static void parsing_twice_should_give_the_same_config(void **state)
{
    (void)state;
    t_config c;
    char out[4096], err[4096];
    for (int i = 0; i < 3; i++) {
        assert_int_equal(t_parse(&t_cmd, "--n 3 A -f", &c, out, err), -1);
        assert_int_equal(c.n, 3);
        assert_true(c.flag);
        assert_string_equal(c.arg, "A");
    }
}

/* ---- through the binary -------------------------------------------------- */

/* Runs "kvproof ARGS"; stdout+stderr into out, the exit code returned. */
static int cli(const char *args, char *out, size_t n)
{
    char with_stdin[2048];
    snprintf(with_stdin, sizeof with_stdin, "%s </dev/null", args);
    return tu_kvproof_text(out, n, with_stdin);
}

#define SPEC "data/experiments/kv-cache-hypothesis.json"

static void commands_should_share_the_number_message(void **state)
{
    (void)state;
    static const struct {
        const char *args, *msg;
    } cases[] = {
        {"run " SPEC " --out /nonexistent --seed abc",
         "kvproof run: --seed abc: expected a non-negative integer\n"},
        {"plan " SPEC " --seed 18446744073709551616",
         "kvproof plan: --seed 18446744073709551616: expected a non-negative integer\n"},
        {"serve --seed -1", "kvproof serve: --seed -1: expected a non-negative integer\n"},
        {"serve --port 80.5", "kvproof serve: --port 80.5: expected an integer in [0, 65535]\n"},
        {"compare a b --threshold 1",
         "kvproof compare: --threshold 1: expected a number in (0, 1)\n"},
        {"demo --time-scale 0", "kvproof demo: --time-scale 0: expected a positive number\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[8192];
        assert_int_equal(cli(cases[i].args, out, sizeof out), 2);
        assert_string_equal(out, cases[i].msg);
    }
}

/* serve --seed takes the whole u64 range like run and plan: the seed is
 * accepted and the stray argument after it is what fails. */
static void serve_seed_should_take_the_whole_u64_range(void **state)
{
    (void)state;
    char out[8192];
    assert_int_equal(cli("serve --seed 18446744073709551615 extra", out, sizeof out), 2);
    assert_string_equal(out, "kvproof serve: unexpected argument 'extra'\n");
}

static void commands_should_keep_their_messages(void **state)
{
    (void)state;
    char out[8192];
    assert_int_equal(cli("run --bogus", out, sizeof out), 2);
    assert_string_equal(out, "kvproof run: unknown or incomplete option '--bogus' (see --help)\n");
    assert_int_equal(cli("plan " SPEC " --bogus", out, sizeof out), 2);
    assert_string_equal(out,
                        "kvproof plan: unknown option '--bogus' (see 'kvproof plan --help')\n");
    assert_int_equal(cli("serve --bogus", out, sizeof out), 2);
    assert_string_equal(out, "kvproof serve: bad option '--bogus' (see --help)\n");
    assert_int_equal(cli("run " SPEC, out, sizeof out), 2);
    assert_non_null(strstr(out, "kvproof run: missing --out DIR\nusage: kvproof run"));
    /* a rule of two options: --model quadratic takes one --x column */
    assert_int_equal(cli("fit x.csv --x a,b --y c --model quadratic", out, sizeof out), 2);
    assert_non_null(strstr(out, "kvproof fit: --model quadratic takes one --x column"));
    assert_non_null(strstr(out, "usage: kvproof fit"));
}

static void help_should_exit_zero_for_every_command(void **state)
{
    (void)state;
    const char *cmds[] = {"run",    "plan", "analyze", "compare", "import", "export",
                          "report", "fit",  "serve",   "demo",    "probe",  "version"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        char args[64], out[16384];
        snprintf(args, sizeof args, "%s --help", cmds[i]);
        assert_int_equal(cli(args, out, sizeof out), 0);
        assert_non_null(strstr(out, "usage: kvproof "));
        snprintf(args, sizeof args, "%s -h", cmds[i]);
        assert_int_equal(cli(args, out, sizeof out), 0);
    }
}

TU_MAIN(NULL, NULL, cmocka_unit_test(u64_should_take_the_whole_range_and_nothing_else),
        cmocka_unit_test(double_should_be_decimal_finite_and_whole),
        cmocka_unit_test(each_kind_should_store_its_value),
        cmocka_unit_test(a_bad_value_should_name_the_option_and_the_range),
        cmocka_unit_test(unknown_and_valueless_options_should_be_usage_errors),
        cmocka_unit_test(the_check_step_should_hold_the_rules_of_several_options),
        cmocka_unit_test(help_should_print_the_usage_and_exit_zero),
        cmocka_unit_test(a_list_should_stop_at_its_capacity),
        cmocka_unit_test(parsing_twice_should_give_the_same_config),
        cmocka_unit_test(commands_should_share_the_number_message),
        cmocka_unit_test(serve_seed_should_take_the_whole_u64_range),
        cmocka_unit_test(commands_should_keep_their_messages),
        cmocka_unit_test(help_should_exit_zero_for_every_command))
