/* args.h - kvproof's one command-line parser. Each command describes its
 * options in a table (name, short letter, kind of value, target field in the
 * command's config struct, range); args_run parses argv over that table with
 * getopt_long, checks the rules that involve several options in the
 * command's one check step, then hands the filled config to the command.
 *
 * One range rule for every number: decimal notation only (digits, sign,
 * '.', exponent; no spaces, hex, inf or nan), the whole argument consumed,
 * finite, inside the option's range; whole-number kinds must be integral.
 * One message for a bad value: "kvproof CMD: --NAME VALUE: expected ...".
 */
#ifndef KV_CLI_ARGS_H
#define KV_CLI_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/status.h"

typedef enum args_kind {
    ARGS_FLAG, /* no value: bool target set to true */
    ARGS_STR,  /* const char * target: the argument itself */
    ARGS_LIST, /* args_list target: the argument appended (repeatable) */
    ARGS_U64,  /* args_u64 target: 0 .. 2^64-1 */
    ARGS_INT,  /* int target: whole number in [lo, hi] */
    ARGS_LONG, /* long target: whole number in [lo, hi] */
    ARGS_NUM,  /* double target: number in [lo, hi] */
    ARGS_POS,  /* double target: number in (0, hi), or > 0 when hi is 0 */
    ARGS_FN    /* fn(cfg, arg, err) parses and stores it */
} args_kind;

/* Parses arg into the config; KV_ERR_USAGE with err for a bad value. */
typedef kv_status (*args_fn)(void *cfg, const char *arg, char *err);

typedef struct args_opt {
    const char *name; /* long name without "--"; NULL ends the table */
    int letter;       /* short option letter, or 0 */
    args_kind kind;
    size_t off; /* offsetof the target field in the config */
    double lo, hi;
    args_fn fn; /* ARGS_FN only */
} args_opt;

typedef struct args_u64 {
    uint64_t v;
    bool set; /* the option was given */
} args_u64;

#define ARGS_LIST_MAX 64
typedef struct args_list {
    const char *v[ARGS_LIST_MAX];
    size_t n;
} args_list;

/* The outcome of a command's check step. */
typedef enum args_verdict {
    ARGS_OK,       /* go on */
    ARGS_BAD,      /* print err, exit 2 */
    ARGS_BAD_USAGE /* print err and the usage on stderr, exit 2 */
} args_verdict;

typedef struct args_cmd {
    const char *name;     /* "run": messages start "kvproof run: " */
    const args_opt *opts; /* the table; -h/--help is always added */
    size_t size;          /* sizeof the config */
    void (*defaults)(void *cfg);
    /* Rules involving several options and the positional arguments. */
    args_verdict (*check)(void *cfg, int npos, char **pos, char *err);
    int (*exec)(void *cfg);     /* the command on a parsed config: an exit code */
    void (*release)(void *cfg); /* frees what parsing allocated; may be NULL */
    void (*usage)(FILE *f);
    /* Message for an unknown option ("%s" = the argument); NULL: getopt's
     * own message followed by the usage. */
    const char *unknown;
    const char *novalue; /* an option without its value; NULL: as unknown */
    bool help_in_order;  /* -h/--help where getopt meets it, not anywhere */
    bool usage_on_error; /* the usage on stderr after a bad option value */
} args_cmd;

/* A command's args_cmd from its name: the functions cmd_check, cmd_exec and
 * cmd_usage of cli/cmd_<cmd>.c, its config type and option table; the
 * other fields (at least one: .defaults, .release, .unknown, ...) follow:
 *     const args_cmd cmd_run = ARGS_CMD(run, run_config, run_opts,
 *                                       .unknown = ARGS_SEE_HELP);
 */
#define ARGS_CMD(cmd, config, table, ...)                                                          \
    {                                                                                              \
        .name = #cmd, .opts = table, .size = sizeof(config), .check = cmd##_check,                 \
        .exec = cmd##_exec, .usage = cmd##_usage, __VA_ARGS__                                      \
    }

/* The usual message for an unknown option. */
#define ARGS_SEE_HELP "unknown or incomplete option '%s' (see --help)"

/* Allocates the config, applies the defaults, parses, checks, runs exec and
 * releases; returns the exit code (0 for --help, 2 for a usage error). */
int args_run(const args_cmd *c, int argc, char **argv);

/* Fills cfg from argv (argv[0] is the command name). Returns -1 when the
 * command should run, else the exit code; prints any message itself. */
int args_parse(const args_cmd *c, int argc, char **argv, void *cfg);

/* For a check step: true when there are n positional arguments, else
 * false with msg in err. */
bool args_npos(int npos, int n, const char *msg, char *err);

/* True when argv holds -h or --help before any "--". */
bool args_wants_help(int argc, char **argv);

/* The number rules, shared by every option. */
bool args_parse_u64(const char *s, uint64_t *out);
bool args_parse_double(const char *s, double *out); /* decimal, finite */

/* For an option that is one of two words: true when arg is yes or no, with
 * *is_yes telling which; false (and *is_yes untouched) for anything else. */
bool args_pick(const char *arg, const char *yes, const char *no, bool *is_yes);

#endif
