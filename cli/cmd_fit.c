/* cmd_fit.c - 'kvproof fit': placeholder until its module lands. */
#include <stdio.h>

#include "cli/commands.h"
#include "common/status.h"

int cmd_fit(int argc, char **argv)
{
    if (cmd_wants_help(argc, argv)) {
        printf("usage: kvproof fit FILE.csv --x COL[,COL...] --y COL [--model auto|linear|quadratic|knee|poly:K]\n\nFits prefill models to a CSV file.\n");
        return KV_EXIT_OK;
    }
    return cmd_not_yet("fit", "the model fit");
}
