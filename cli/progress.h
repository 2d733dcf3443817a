/* progress.h - the run's progress on stderr: a bar (done/total, ETA, current
 * trial, failures) on a terminal, plain lines when piped, nothing with
 * --quiet. Used by 'run' and 'demo'. */
#ifndef KV_CLI_PROGRESS_H
#define KV_CLI_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

#include "experiments/runner.h"

typedef struct cli_progress {
    bool quiet;              /* print nothing */
    bool tty;                /* stderr is a terminal: redraw one bar line */
    bool bar_drawn;          /* a bar is on screen (needs clearing before a message) */
    int64_t last_ns;         /* last plain line (rate-limited when piped) */
    unsigned long last_done; /* done count of the last plain line */
} cli_progress;

void progress_init(cli_progress *p, bool quiet);
/* runner_progress_fn: ctx is a cli_progress. */
void progress_update(void *ctx, const runner_progress *pr);
/* Ends the bar line, if one is drawn. */
void progress_finish(cli_progress *p);

#endif
