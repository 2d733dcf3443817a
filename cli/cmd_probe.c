/* cmd_probe.c - 'kvproof probe': placeholder until its module lands. */
#include <stdio.h>

#include "cli/commands.h"
#include "common/status.h"

int cmd_probe(int argc, char **argv)
{
    if (cmd_wants_help(argc, argv)) {
        printf("usage: kvproof probe URL\n\nDetects a server's dialect, tokenizer and cache behaviour.\n");
        return KV_EXIT_OK;
    }
    return cmd_not_yet("probe", "probe");
}
