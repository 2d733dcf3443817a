/* figures.h - the report's figures, numbered in the order the pages draw them.
 *
 * A figure's number is its place in figures_id plus one (figures_number);
 * its title, the words after "Figure N. ", is figures_title. Titles,
 * captions and the text that points at a figure all format "Figure %d" from
 * the id, so adding a figure is one id in page order and one title here:
 * the figures after it renumber themselves.
 *
 * Also report_figure, where a drawn figure lies on its page (report.h
 * lists them for tests and scripts).
 *
 * Header only (no state): the ids, the number, the title table.
 */
#ifndef KV_REPORT_FIGURES_H
#define KV_REPORT_FIGURES_H

/* Where a figure's plotting area lies, so tests and scripts can find drawn
 * content: page is 0-based; x, y, w, h are in PDF points (1/72 inch) with
 * the origin at the page's TOP-left corner (as raster images count). */
typedef struct report_figure {
    char name[32];     /* stable identifier, e.g. "ttft_linear", "speedup" */
    int page;          /* 0-based page index */
    double x, y, w, h; /* plotting area, points from the top-left corner */
    double page_w;     /* page size in points */
    double page_h;
} report_figure;

typedef enum figures_id {
    /* page_figures.c, first page */
    FIGURES_TTFT_LINEAR, /* time to first token against prompt length, linear axes */
    FIGURES_TTFT_LOG,    /* the same on log axes */
    /* page_figures.c, second page */
    FIGURES_SPEEDUP, /* warm-vs-cold speedup per system-prompt length */
    FIGURES_SESSION, /* cumulative TTFT over one session's queries */
    /* page_figures.c, third page */
    FIGURES_RESIDUALS_TOKENS, /* model residuals against prompt tokens */
    FIGURES_RESIDUALS_ORDER,  /* model residuals against run order */
    /* page_figures.c, fourth page */
    FIGURES_BOX,      /* distribution of TTFT per cell (box plots) */
    FIGURES_WARM_NEW, /* warm requests against new (uncached) tokens */
    /* page_contention.c, the contention page */
    FIGURES_WARM_HIT_RATE, /* hit rate against the number of agents */
    FIGURES_WARM_TTFT,     /* median TTFT against the number of agents */
    FIGURES_WARM_CLASSES,  /* hit classes per target and agent count */
    FIGURES_COUNT          /* not a figure: the number of figures */
} figures_id;

/* The number printed as "Figure N". */
static inline int figures_number(figures_id f)
{
    return (int)f + 1;
}

/* The title after "Figure N. " (a figure whose title depends on the data,
 * the session's, formats its own and has its empty-plot title here). */
static inline const char *figures_title(figures_id f)
{
    switch (f) {
    case FIGURES_TTFT_LINEAR:
        return "Time to first token against prompt length (linear axes)";
    case FIGURES_TTFT_LOG:
        return "Time to first token against prompt length (log axes)";
    case FIGURES_SPEEDUP:
        return "Warm-vs-cold speedup per system-prompt length";
    case FIGURES_SESSION:
        return "Session picture";
    case FIGURES_RESIDUALS_TOKENS:
        return "Residuals against prompt tokens";
    case FIGURES_RESIDUALS_ORDER:
        return "Residuals against run order";
    case FIGURES_BOX:
        return "Distribution of time to first token per cell";
    case FIGURES_WARM_NEW:
        return "Warm requests: time to first token against new (uncached) tokens";
    case FIGURES_WARM_HIT_RATE:
        return "Hit rate against the number of agents";
    case FIGURES_WARM_TTFT:
        return "Median time to first token against the number of agents";
    case FIGURES_WARM_CLASSES:
        return "What the cache did: hit classes per target and agent count";
    case FIGURES_COUNT:
        break;
    }
    return "";
}

#endif
