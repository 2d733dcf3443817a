/* progress.c - the run's progress on stderr (progress.h). */
#include "cli/progress.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"

void progress_init(cli_progress *p, bool quiet)
{
    memset(p, 0, sizeof *p);
    p->quiet = quiet;
    p->tty = isatty(STDERR_FILENO) == 1;
}

static void format_eta(double s, char *buf, size_t n)
{
    if (!isfinite(s) || s < 0) {
        snprintf(buf, n, "--");
        return;
    }
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, n, "%ldh%02ldm", t / 3600, (t / 60) % 60);
    else if (t >= 60)
        snprintf(buf, n, "%ldm%02lds", t / 60, t % 60);
    else
        snprintf(buf, n, "%lds", t);
}

void progress_update(void *ctx, const runner_progress *pr)
{
    cli_progress *p = ctx;
    if (p->quiet)
        return;
    char eta[32];
    format_eta(pr->eta_s, eta, sizeof eta);
    if (pr->message) {
        if (p->bar_drawn)
            fputs("\r\033[K", stderr);
        p->bar_drawn = false;
        fprintf(stderr, "kvproof: %s\n", pr->message);
    }
    size_t total = pr->planned;
    if (p->tty) {
        enum { WIDTH = 24 };
        size_t fill = total ? (pr->done * WIDTH) / total : 0;
        char bar[WIDTH + 1];
        for (size_t i = 0; i < WIDTH; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[WIDTH] = '\0';
        fprintf(stderr, "\r\033[K[%s] %zu/%zu  ETA %s  failed %zu", bar, pr->done, total, eta,
                pr->failed);
        if (pr->skipped)
            fprintf(stderr, "  skipped %zu", pr->skipped);
        if (pr->current)
            fprintf(stderr, "  %.60s", pr->current);
        fflush(stderr);
        p->bar_drawn = true;
        return;
    }
    /* Piped: a plain line when the count moved, at most every 2 s, and at the end. */
    int64_t now = kv_now_ns();
    bool finished = total > 0 && pr->done + pr->skipped >= total;
    if (pr->done == p->last_done && !finished)
        return;
    if (!finished && p->last_ns != 0 && now - p->last_ns < 2000000000LL)
        return;
    p->last_ns = now;
    p->last_done = pr->done;
    fprintf(stderr, "kvproof: %zu/%zu trials done, %zu failed, ETA %s%s%s\n", pr->done, total,
            pr->failed, eta, pr->current ? ", last " : "", pr->current ? pr->current : "");
}

void progress_finish(cli_progress *p)
{
    if (p->bar_drawn && !p->quiet)
        fputs("\n", stderr);
    p->bar_drawn = false;
}
