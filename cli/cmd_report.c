/* cmd_report.c - 'kvproof report': placeholder until its module lands. */
#include <stdio.h>

#include "cli/commands.h"
#include "common/status.h"

int cmd_report(int argc, char **argv)
{
    if (cmd_wants_help(argc, argv)) {
        printf("usage: kvproof report DIR|results.json [-o report.pdf]\n\nWrites the PDF validation report.\n");
        return KV_EXIT_OK;
    }
    return cmd_not_yet("report", "the PDF report");
}
