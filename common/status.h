/* status.h - the project's one status enum, its error buffer and messages.
 *
 * Functions that can fail return kv_status and write the first failure's
 * text into a caller-supplied buffer of KV_ERRLEN bytes (curl's
 * CURLOPT_ERRORBUFFER pattern). kv_strerror() turns a code into words.
 * kv_exit_code() maps a status onto the CLI's documented exit codes.
 */
#ifndef KV_STATUS_H
#define KV_STATUS_H

#include <stddef.h>

#define KV_ERRLEN 1024
#define KV_MUST_USE __attribute__((warn_unused_result))

typedef enum kv_status {
    KV_OK = 0,
    KV_ERR_USAGE,       /* bad command line */
    KV_ERR_INPUT,       /* bad input file: spec, journal, CSV, results.json */
    KV_ERR_IO,          /* file system error */
    KV_ERR_NOMEM,       /* allocation failed */
    KV_ERR_NET,         /* connection refused, reset, DNS */
    KV_ERR_TIMEOUT,     /* a connect / first-token / total timeout expired */
    KV_ERR_HTTP,        /* the server answered with an error status */
    KV_ERR_PROTOCOL,    /* the server's reply did not parse or broke its format */
    KV_ERR_STATS,       /* not enough or degenerate data for a statistic */
    KV_ERR_LOCKED,      /* another process holds the journal lock */
    KV_ERR_INTERRUPT,   /* stopped by a signal */
    KV_ERR_UNSUPPORTED, /* the target or build does not offer this */
    KV_ERR_INTERNAL     /* a library failed in a way that should not happen */
} kv_status;

/* Documented process exit codes (kvproof --help, README). */
enum {
    KV_EXIT_OK = 0,
    KV_EXIT_FAILURE = 1,      /* the command ran but failed (server errors, I/O) */
    KV_EXIT_USAGE = 2,        /* bad command line, or command not available yet */
    KV_EXIT_INPUT = 3,        /* invalid input file (spec, journal, CSV, results) */
    KV_EXIT_TARGET = 4,       /* target unreachable or answering errors */
    KV_EXIT_INTERRUPTED = 130 /* SIGINT: stopped cleanly, resumable */
};

const char *kv_strerror(kv_status st);
int kv_exit_code(kv_status st);

/* Writes a printf-style message into err (KV_ERRLEN bytes) unless err already
 * holds one (the first failure wins); returns st so callers can
 * `return kv_fail(err, KV_ERR_INPUT, "...")`. err may be NULL. */
kv_status kv_fail(char *err, kv_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
