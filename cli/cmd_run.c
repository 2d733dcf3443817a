/* cmd_run.c - 'kvproof run': placeholder until its module lands. */
#include <stdio.h>

#include "cli/commands.h"
#include "common/status.h"

int cmd_run(int argc, char **argv)
{
    if (cmd_wants_help(argc, argv)) {
        printf("usage: kvproof run SPEC.json --out DIR [--resume] [--quiet]\n\nRuns every trial of the spec against its targets and appends each finished\ntrial to DIR/journal.jsonl.\n");
        return KV_EXIT_OK;
    }
    return cmd_not_yet("run", "the trial runner");
}
