/* figures.h - the report's figures, numbered in the order the pages draw them.
 *
 * A figure's number is its place in figures_id plus one (figures_number);
 * its title, the words after "Figure N. ", is figures_title. Titles,
 * captions and the text that points at a figure all format "Figure %d" from
 * the id, so adding a figure is one id in page order and one title here:
 * the figures after it renumber themselves.
 *
 * Header only (no state): the ids, the number, the title table.
 */
#ifndef KV_REPORT_FIGURES_H
#define KV_REPORT_FIGURES_H

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
    /* page_contention.c: the contention page's figures go here, in the order
     * that page draws them (and their titles in figures_title below). */
    FIGURES_COUNT /* not a figure: the number of figures */
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
    case FIGURES_COUNT:
        break;
    }
    return "";
}

#endif
