/* status.c - status words, exit-code mapping and the first-error buffer. */
#include "common/status.h"

#include <stdarg.h>
#include <stdio.h>

const char *kv_strerror(kv_status st)
{
    static const char *const words[] = {
        [KV_OK] = "success",
        [KV_ERR_USAGE] = "usage error",
        [KV_ERR_INPUT] = "invalid input",
        [KV_ERR_IO] = "I/O error",
        [KV_ERR_NOMEM] = "out of memory",
        [KV_ERR_NET] = "network error",
        [KV_ERR_TIMEOUT] = "timed out",
        [KV_ERR_HTTP] = "server returned an error",
        [KV_ERR_PROTOCOL] = "malformed server reply",
        [KV_ERR_STATS] = "not enough data for the statistic",
        [KV_ERR_LOCKED] = "journal is locked by another process",
        [KV_ERR_INTERRUPT] = "interrupted",
        [KV_ERR_UNSUPPORTED] = "not supported",
        [KV_ERR_INTERNAL] = "internal error",
    };
    if ((size_t)st < sizeof words / sizeof words[0] && words[st])
        return words[st];
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
