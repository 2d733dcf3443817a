/* realtest.h - helpers shared by the real-engine tests (label `real`): start
 * and stop a real llama.cpp llama-server with scripts/real-engine/ (its own
 * state file, an ephemeral port, stopped by the PID the script recorded),
 * run the kvproof CLI and capture its output, read JSON files, and small
 * statistics for printing. Header-only (static inline) because every
 * tests/test_*.c is its own executable.
 *
 * A server that cannot be built or started is a test failure, never a skip:
 * CI must exercise the real engine.
 */
#ifndef KV_REALTEST_H
#define KV_REALTEST_H

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "experiments/journal.h"
#include "jsonlcheck.h"

typedef struct realsrv {
    char dir[256];   /* private temporary directory (state file, runs) */
    char state[320]; /* KVPROOF_LLAMA_STATE for this server */
    char url[128];   /* http://127.0.0.1:PORT, "" until started */
} realsrv;

/* Runs a shell command, collecting stdout into *out (may be NULL to discard;
 * stderr passes through to the test's stderr). Returns the exit status, or
 * -1 if the command could not be run or was killed. */
static inline int realtest_sh(const char *cmd, kv_buf *out)
{
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0)
        if (out && kv_buf_append(out, buf, n) != KV_OK) {
            pclose(p);
            return -1;
        }
    int rc = pclose(p);
    if (rc == -1 || !WIFEXITED(rc))
        return -1;
    return WEXITSTATUS(rc);
}

/* Last non-empty line of s, copied into dst. */
static inline void realtest_last_line(const char *s, char *dst, size_t cap)
{
    size_t len = strlen(s);
    while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r'))
        len--;
    size_t start = len;
    while (start > 0 && s[start - 1] != '\n')
        start--;
    snprintf(dst, cap, "%.*s", (int)(len - start), s + start);
}

/* Creates the private directory and starts llama-server with `args` (passed
 * to start-server.sh verbatim, e.g. "--cache-ram 0"). Returns 0 on success;
 * on failure prints why and returns -1. */
static inline int realsrv_start(realsrv *s, const char *args)
{
    memset(s, 0, sizeof *s);
    const char *tmp = getenv("TMPDIR");
    snprintf(s->dir, sizeof s->dir, "%s/kvproof-real-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(s->dir)) {
        perror("mkdtemp");
        return -1;
    }
    snprintf(s->state, sizeof s->state, "%s/llama.state", s->dir);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "KVPROOF_LLAMA_STATE='%s' scripts/real-engine/start-server.sh %s",
             s->state, args);
    fprintf(stderr, "[real] %s\n", cmd);
    kv_buf out = {0};
    int rc = realtest_sh(cmd, &out);
    if (rc == 0 && out.data)
        realtest_last_line(out.data, s->url, sizeof s->url);
    kv_buf_free(&out);
    if (rc != 0 || strncmp(s->url, "http://127.0.0.1:", 17) != 0) {
        fprintf(stderr, "[real] start-server.sh failed (exit %d, url '%s'); log: %.*s.log\n", rc,
                s->url, (int)(strlen(s->state) - 6), s->state);
        s->url[0] = '\0';
        return -1;
    }
    fprintf(stderr, "[real] llama-server at %s (state %s)\n", s->url, s->state);
    return 0;
}

/* Stops the server by the PID in its state file and removes the directory
 * unless KVPROOF_REAL_KEEP is set. Safe to call after a failed start. */
static inline void realsrv_stop(realsrv *s)
{
    if (!s->dir[0])
        return;
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "KVPROOF_LLAMA_STATE='%s' scripts/real-engine/stop-server.sh",
             s->state);
    if (realtest_sh(cmd, NULL) != 0)
        fprintf(stderr, "[real] stop-server.sh failed for %s\n", s->state);
    const char *keep = getenv("KVPROOF_REAL_KEEP");
    if (keep && *keep && strcmp(keep, "0") != 0) {
        fprintf(stderr, "[real] kept %s\n", s->dir);
    } else {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", s->dir);
        if (realtest_sh(cmd, NULL) != 0)
            fprintf(stderr, "[real] could not remove %s\n", s->dir);
    }
    memset(s, 0, sizeof *s);
}

/* The kvproof binary (env KVPROOF_BIN, set by ctest). */
static inline const char *realtest_bin(void)
{
    const char *b = getenv("KVPROOF_BIN");
    return b && *b ? b : "build/kvproof";
}

/* Parses a JSON file; NULL (with a message) if unreadable or invalid. */
static inline cJSON *realtest_json_file(const char *path)
{
    char *text = NULL;
    size_t len = 0;
    char err[KV_ERRLEN] = "";
    if (kv_read_file(path, &text, &len, err) != KV_OK) {
        fprintf(stderr, "[real] %s\n", err);
        return NULL;
    }
    cJSON *j = cJSON_ParseWithLength(text, len);
    if (!j)
        fprintf(stderr, "[real] %s: not valid JSON\n", path);
    free(text);
    return j;
}

/* Number at a dotted path ("a.b.c") in j, or NAN. */
static inline double realtest_num(const cJSON *j, const char *path)
{
    char key[128];
    const char *p = path;
    while (j && *p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        snprintf(key, sizeof key, "%.*s", (int)n, p);
        j = cJSON_GetObjectItemCaseSensitive(j, key);
        p += n + (dot ? 1 : 0);
    }
    return cJSON_IsNumber(j) ? j->valuedouble : (double)NAN;
}

static inline int realtest_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of v[0..n) (sorts v); NAN when n == 0. */
static inline double realtest_median(double *v, size_t n)
{
    if (n == 0)
        return (double)NAN;
    qsort(v, n, sizeof *v, realtest_cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* The journal a kvproof run (exit status rc) wrote into dir: every line
 * JSON, loaded, with every planned trial. The caller frees it. */
static inline journal_data *realtest_load_run(const char *dir, int rc)
{
    char path[512], err[KV_ERRLEN] = "";
    snprintf(path, sizeof path, "%s/journal.jsonl", dir);
    jsonlcheck_file(path);
    journal_data *d = NULL;
    if (journal_load(path, &d, err) != KV_OK)
        fail_msg("%s (kvproof run exit %d)", err, rc);
    assert_int_equal(d->n_trials, d->header.planned_trials);
    return d;
}

#endif
