/* status.c - status words, exit-code mapping and the first-error buffer. */
#include "common/status.h"

#include <stdarg.h>
#include <stdio.h>

const char *kv_strerror(kv_status st)
{
    switch (st) {
    case KV_OK:
        return "success";
    case KV_ERR_USAGE:
        return "usage error";
    case KV_ERR_INPUT:
        return "invalid input";
    case KV_ERR_IO:
        return "I/O error";
    case KV_ERR_NOMEM:
        return "out of memory";
    case KV_ERR_NET:
        return "network error";
    case KV_ERR_TIMEOUT:
        return "timed out";
    case KV_ERR_HTTP:
        return "server returned an error";
    case KV_ERR_PROTOCOL:
        return "malformed server reply";
    case KV_ERR_STATS:
        return "not enough data for the statistic";
    case KV_ERR_LOCKED:
        return "journal is locked by another process";
    case KV_ERR_INTERRUPT:
        return "interrupted";
    case KV_ERR_UNSUPPORTED:
        return "not supported";
    case KV_ERR_INTERNAL:
        return "internal error";
    }
    return "unknown status";
}

int kv_exit_code(kv_status st)
{
    switch (st) {
    case KV_OK:
        return KV_EXIT_OK;
    case KV_ERR_USAGE:
        return KV_EXIT_USAGE;
    case KV_ERR_INPUT:
    case KV_ERR_STATS:
        return KV_EXIT_INPUT;
    case KV_ERR_NET:
    case KV_ERR_TIMEOUT:
    case KV_ERR_HTTP:
    case KV_ERR_PROTOCOL:
        return KV_EXIT_TARGET;
    case KV_ERR_INTERRUPT:
        return KV_EXIT_INTERRUPTED;
    default:
        return KV_EXIT_FAILURE;
    }
}

kv_status kv_fail(char *err, kv_status st, const char *fmt, ...)
{
    if (err && err[0] == '\0') {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, KV_ERRLEN, fmt, ap);
        va_end(ap);
    }
    return st;
}
