/* commands.h - one entry per subcommand: its option table, check step and
 * the command itself on the parsed config (cli/args.h). main.c runs them
 * with args_run on the arguments after the command name; each returns a
 * documented process exit code (common/status.h KV_EXIT_*). */
#ifndef KV_COMMANDS_H
#define KV_COMMANDS_H

#include "cli/args.h"

extern const args_cmd cmd_run;
extern const args_cmd cmd_plan;
extern const args_cmd cmd_report;
extern const args_cmd cmd_fit;
extern const args_cmd cmd_serve;
extern const args_cmd cmd_demo;
extern const args_cmd cmd_probe;
extern const args_cmd cmd_analyze;
extern const args_cmd cmd_export;
extern const args_cmd cmd_import;
extern const args_cmd cmd_compare;

#endif
