/* warm.h - how many agent sessions stay warm: the statistics of a
 * contention run (docs/results.md, "contention").
 *
 * Input: one warm_req per contention request (plain values, from a journal
 * or built by hand). Output, per group (target x agent count K x system
 * prompt length): the hit rate of the requests at position >= 1 of their
 * agent's history with a Wilson interval, the hit-class breakdown, the
 * median TTFT with its exact rank interval, the time the cache saves per
 * request (median miss TTFT - median hit TTFT) and a 10-request session
 * with and without the cache; per target and length, the warm capacity (the
 * largest K whose hit rate stays >= 90%, bounded by the Wilson intervals)
 * and the K where the hit rate falls below 50%.
 *
 * Hits are full, restored and inferred hits (inferred: the server reports
 * no cached count, TTFT decided; counted and labelled). Misses are misses
 * and inferred misses; partial hits are neither hit nor miss TTFT, and
 * count against the hit rate.
 *
 * Ownership: warm_compute fills a caller's warm_result, released with
 * warm_result_free (which accepts a zeroed one).
 */
#ifndef KV_WARM_H
#define KV_WARM_H

#include <stdbool.h>
#include <stddef.h>

#include "common/status.h"
#include "experiments/journal.h"
#include "experiments/journal_cols.h"
#include "experiments/trial.h"
#include "stats/estimate.h"

#define WARM_HIT_RATE 0.9   /* a group stays warm at or above this hit rate */
#define WARM_COLD_RATE 0.5  /* ... and has gone cold below this one */
#define WARM_SESSION_LEN 10 /* requests of the seed's session */

/* One contention request. */
typedef struct warm_req {
    size_t target; /* index into the journal's targets */
    long agents;   /* K: distinct system prompts of the request's group */
    long sys;      /* the group's system prompt length, tokens */
    long position; /* 0-based position in its agent's history */
    trial_hit hit; /* TRIAL_HIT_NONE: failed or not classified */
    trial_slot_held held;
    bool after_resume; /* its agent's previous request was made before a --resume:
                          left out of every number, counted */
    double ttft_ms;    /* NAN when failed */
} warm_req;

typedef struct warm_group {
    size_t target;
    long agents, sys;
    size_t requests;                 /* every request of the group */
    size_t failed;                   /* not classified (hit none) */
    size_t resumed;                  /* after_resume requests, left out */
    size_t scored;                   /* classified, at position >= 1 */
    size_t hits;                     /* full + restored + inferred hits among scored */
    size_t inferred;                 /* inferred hits and misses among scored */
    size_t classes[TRIAL_HIT_COUNT]; /* scored requests by class */
    size_t full_unknown;      /* full hits whose slot was not shown: may have been restored */
    estimate hit_rate;        /* hits / scored, Wilson interval (NAN when scored 0) */
    estimate ttft;            /* median TTFT of the scored requests, ms, rank interval */
    estimate hit_ttft;        /* median TTFT of hits at any position, ms */
    estimate miss_ttft;       /* median TTFT of misses at any position (each agent's
                                 first request is one), ms */
    estimate saving;          /* miss_ttft - hit_ttft, ms; interval from the two rank
                                 intervals (Bonferroni: level >= 1 - both tails) */
    estimate session_with;    /* WARM_SESSION_LEN requests at this hit rate, s:
                                 the first a miss, each later one a hit with
                                 probability hit_rate; interval from the Wilson
                                 interval, medians held fixed */
    estimate session_without; /* WARM_SESSION_LEN misses, s */
} warm_group;

typedef struct warm_capacity {
    size_t target;
    long sys;
    long smallest, largest; /* agent counts swept */
    long capacity;          /* largest K with every swept K' <= K at hit rate >= 0.9;
                               0 when the smallest K swept is not */
    long low;               /* the same with each Wilson lower bound >= 0.9 */
    long high;              /* the same with each Wilson upper bound >= 0.9 */
    bool high_open;         /* high is the largest K swept: the sweep does not bound it */
    long cold_from;         /* smallest K with hit rate < 0.5; 0 = none swept */
    long cold_low;  /* smallest K whose Wilson lower bound is < 0.5 (it may be cold); 0 none */
    long cold_high; /* smallest K whose Wilson upper bound is < 0.5 (it is); 0 none */
    const warm_group *at_capacity; /* the group at capacity (NULL when 0) */
    const warm_group *beyond;      /* the next K swept (NULL when none) */
} warm_capacity;

typedef struct warm_result {
    warm_group *groups; /* by target, length, then K ascending */
    size_t n_groups;
    warm_capacity *caps; /* one per target and length, same order */
    size_t n_caps;
    double level;
} warm_result;

/* Computes everything from r[0..n). level in (0, 1). */
kv_status warm_compute(const warm_req *r, size_t n, double level, warm_result *out,
                       char *err) KV_MUST_USE;
void warm_result_free(warm_result *res);

/* The contention requests of a journal (docs/journal.md, "Contention
 * fields"); *out is malloc'd (NULL with *n 0 when there is none). */
kv_status warm_from_journal(const journal_data *d, warm_req **out, size_t *n,
                            char *err) KV_MUST_USE;

/* The same from a journal's columns (what `kvproof analyze` holds). */
kv_status warm_from_cols(const journal_cols *j, warm_req **out, size_t *n, char *err) KV_MUST_USE;

/* Wilson score interval of k successes in n at level; [0, 1] when n is 0. */
void warm_wilson(size_t k, size_t n, double level, double *lo, double *hi);

/* The capacity of a target at sys (-1: its largest length); NULL if none. */
const warm_capacity *warm_capacity_find(const warm_result *res, size_t target, long sys);

#endif
