/* cmd_demo.c - 'kvproof demo': placeholder until its module lands. */
#include <stdio.h>

#include "cli/commands.h"
#include "common/status.h"

int cmd_demo(int argc, char **argv)
{
    if (cmd_wants_help(argc, argv)) {
        printf("usage: kvproof demo [--out DIR]\n\nRuns the built-in experiment against the reference server.\n");
        return KV_EXIT_OK;
    }
    return cmd_not_yet("demo", "the demo");
}
