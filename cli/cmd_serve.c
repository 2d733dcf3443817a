/* cmd_serve.c - 'kvproof serve': placeholder until its module lands. */
#include <stdio.h>

#include "cli/commands.h"
#include "common/status.h"

int cmd_serve(int argc, char **argv)
{
    if (cmd_wants_help(argc, argv)) {
        printf("usage: kvproof serve [--host H] [--port P] [--dialect D] ...\n\nStarts the built-in reference LLM server (a simulated target).\n");
        return KV_EXIT_OK;
    }
    return cmd_not_yet("serve", "the reference server");
}
