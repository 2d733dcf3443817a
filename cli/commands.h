/* commands.h - one entry point per subcommand. Each takes the arguments after
 * the command name (argv[0] is the command name) and returns a documented
 * process exit code (common/status.h KV_EXIT_*). */
#ifndef KV_COMMANDS_H
#define KV_COMMANDS_H

int cmd_run(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_fit(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_probe(int argc, char **argv);
int cmd_analyze(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_compare(int argc, char **argv);

/* True when argv holds -h or --help before any "--". */
int cmd_wants_help(int argc, char **argv);

#endif
