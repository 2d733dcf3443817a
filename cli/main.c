/* main.c - kvproof's entry point: the subcommand table, global help and
 * exit codes. Each subcommand's options are a table in its cli/cmd_*.c,
 * parsed by cli/args.c. */
#include <stdio.h>
#include <string.h>

#include <gsl/gsl_errno.h>

#include "cli/commands.h"
#include "common/status.h"
#include "common/util.h"

typedef struct command {
    const char *name;
    const args_cmd *cmd; /* NULL: fn */
    int (*fn)(int argc, char **argv);
    const char *summary;
} command;

static int cmd_version(int argc, char **argv);

static const command commands[] = {
    {"run", &cmd_run, NULL, "run an experiment spec against its targets, journal every trial"},
    {"plan", &cmd_plan, NULL, "expand a spec into its trial plan (cells, order, cost)"},
    {"analyze", &cmd_analyze, NULL,
     "journals to results.json and report.pdf, no network; merges journals"},
    {"compare", &cmd_compare, NULL, "two runs cell by cell: improved, regressed or no change"},
    {"import", &cmd_import, NULL, "llama-bench, vllm bench serve or AIPerf output as a journal"},
    {"export", &cmd_export, NULL, "every journal field as CSV, one row per request turn"},
    {"report", &cmd_report, NULL, "write the PDF report from a run directory or results.json"},
    {"fit", &cmd_fit, NULL, "fit prefill models to a CSV file (e.g. llama-bench output)"},
    {"serve", &cmd_serve, NULL, "start the built-in reference LLM server (simulated target)"},
    {"demo", &cmd_demo, NULL, "run the built-in experiment against the reference server"},
    {"probe", &cmd_probe, NULL, "detect a server's dialect, tokenizer and cache behaviour"},
    {"version", NULL, cmd_version, "print the version"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: kvproof <command> [options]\n\n"
               "Measures whether an LLM server's KV/prefix cache removes the cost of a long\n"
               "system prompt, and writes the evidence as a journal, results.json and a PDF.\n\n"
               "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n'kvproof <command> --help' describes a command's options.\n\n"
               "exit codes:\n"
               "  0    success\n"
               "  1    the command failed (I/O error, failed trials, internal error)\n"
               "  2    usage error, or a command this build does not offer yet\n"
               "  3    invalid input file (spec, journal, CSV, results.json)\n"
               "  4    target unreachable or answering with errors\n"
               "  130  interrupted (SIGINT); a run can be continued with --resume\n");
}

static int cmd_version(int argc, char **argv)
{
    if (args_wants_help(argc, argv)) {
        printf("usage: kvproof version\n\nPrints kvproof's version.\n");
        return KV_EXIT_OK;
    }
    printf("kvproof %s\n", KVPROOF_VERSION);
    return KV_EXIT_OK;
}

int main(int argc, char **argv)
{
    gsl_set_error_handler_off();
    (void)kv_raise_fd_limit(); /* a socket per stream at concurrency up to 1024 */
    if (argc < 2) {
        usage(stderr);
        return KV_EXIT_USAGE;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return KV_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0)
        return cmd_version(1, argv);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].cmd ? args_run(commands[i].cmd, argc - 1, argv + 1)
                                   : commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "kvproof: unknown command '%s' (see 'kvproof --help')\n", argv[1]);
    return KV_EXIT_USAGE;
}
