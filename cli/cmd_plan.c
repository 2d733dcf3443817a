/* cmd_plan.c - 'kvproof plan': placeholder until its module lands. */
#include <stdio.h>

#include "cli/commands.h"
#include "common/status.h"

int cmd_plan(int argc, char **argv)
{
    if (cmd_wants_help(argc, argv)) {
        printf("usage: kvproof plan SPEC.json [--seed N] [--format text|json] [--assume-prefill-tps N]\n\nExpands the spec into its trial plan.\n");
        return KV_EXIT_OK;
    }
    return cmd_not_yet("plan", "the trial plan");
}
