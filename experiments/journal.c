/* journal.c - the crash-safe trial journal on disk (journal.h,
 * docs/journal.md). Line encoding lives in journal_json.c.
 *
 * Divided into: file helpers (whole-line writes, directory sync),
 * opening (create, or resume: lock, verify, repair), appending, and loading
 * for analysis, and the host description for the header. Reading (resume
 * and load) goes through the one scanner of journal_cols.c.
 *
 * Crash safety: a line (or a batch of lines, journal_append_batch) is written
 * with one pwrite loop at the end of the last complete line and fdatasync'd
 * before journal_append returns; a failed
 * write is truncated away. A crash can therefore leave at most one partial
 * last line, which resume truncates and load skips.
 */
#include "experiments/journal.h"
#include "experiments/journal_cols.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

struct journal {
    int fd;
    char *path;
    size_t size;       /* bytes of complete lines: where the next line goes */
    size_t planned;    /* header.planned_trials */
    bool *recorded;    /* per plan index: a trial line exists */
    bool *batch;       /* per plan index: in the batch being encoded (all false between) */
    size_t n_trials;   /* distinct trials recorded */
    size_t repaired;   /* bytes of a torn last line removed on open */
    size_t duplicates; /* repeated plan indexes found on open */
};

/* ---- file helpers ------------------------------------------------------ */

static kv_status jn_write_all(int fd, const char *p, size_t n, size_t off)
{
    while (n > 0) {
        ssize_t w = pwrite(fd, p, n, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = EIO;
            return KV_ERR_IO;
        }
        p += w;
        n -= (size_t)w;
        off += (size_t)w;
    }
    return KV_OK;
}

/* Writes one line (or a batch of lines) at j->size and makes it durable; on
 * failure cuts the file back so no partial line remains (when the file system
 * lets us). */
static kv_status jn_write_line(journal *j, const kv_buf *line, char *err)
{
    const char *what = "writing";
    kv_status st = jn_write_all(j->fd, line->data, line->len, j->size);
    if (st == KV_OK && fdatasync(j->fd) != 0) {
        what = "syncing";
        st = KV_ERR_IO;
    }
    if (st != KV_OK) {
        int e = errno;
        bool cut = ftruncate(j->fd, (off_t)j->size) == 0 && fdatasync(j->fd) == 0;
        return kv_fail(err, st, "%s journal %s: %s (%s)", what, j->path, strerror(e),
                       cut ? "the partial line was removed" : "a partial line may remain");
    }
    j->size += line->len;
    return KV_OK;
}

/* Makes a newly created file's directory entry durable. */
static void jn_sync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
    if (!dir)
        return;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd); /* best effort: some file systems refuse directory syncs */
        close(fd);
    }
    free(dir);
}

/* ---- opening ----------------------------------------------------------- */

void journal_close(journal *j)
{
    if (!j)
        return;
    if (j->fd >= 0)
        close(j->fd); /* releases the lock */
    free(j->recorded);
    free(j->batch);
    free(j->path);
    free(j);
}

size_t journal_trials(const journal *j)
{
    return j ? j->n_trials : 0;
}

size_t journal_repaired_bytes(const journal *j)
{
    return j ? j->repaired : 0;
}

size_t journal_duplicates(const journal *j)
{
    return j ? j->duplicates : 0;
}

static kv_status jn_check_header(const journal *j, const journal_header *want,
                                 const journal_header *got, char *err)
{
    if (got->spec_hash != want->spec_hash)
        return kv_fail(err, KV_ERR_INPUT,
                       "%s: journal was written for a different spec (spec hash %016llx in the "
                       "journal, %016llx now); use a new journal or the original spec",
                       j->path, (unsigned long long)got->spec_hash,
                       (unsigned long long)want->spec_hash);
    if (got->seed != want->seed)
        return kv_fail(err, KV_ERR_INPUT,
                       "%s: journal was written for a different seed (%llu in the journal, %llu "
                       "now)",
                       j->path, (unsigned long long)got->seed, (unsigned long long)want->seed);
    if (got->planned_trials != want->planned_trials)
        return kv_fail(err, KV_ERR_INPUT,
                       "%s: journal plans %zu trials, this run plans %zu (a different kvproof "
                       "version?)",
                       j->path, got->planned_trials, want->planned_trials);
    return KV_OK;
}

/* Reads an existing journal for resume: checks the header, records which
 * trials are present, then truncates a torn last line. */
typedef struct jn_resume_ctx {
    journal *j;
    const journal_header *want;
} jn_resume_ctx;

static kv_status jn_resume_header(void *ctx, const journal_header *got, char *err)
{
    const jn_resume_ctx *r = ctx;
    return jn_check_header(r->j, r->want, got, err);
}

static kv_status jn_resume_trial(void *ctx, trial_record *t, const char *where, char *err)
{
    (void)where;
    (void)err;
    journal *j = ((jn_resume_ctx *)ctx)->j;
    j->recorded[t->plan_index] = true;
    j->n_trials++;
    return KV_OK;
}

static kv_status jn_resume(journal *j, const journal_header *want, char *err)
{
    journal_header got = {0};
    jn_resume_ctx ctx = {j, want};
    journal_cols_scan_opts o = {.header = jn_resume_header,
                                .trial = jn_resume_trial,
                                .ctx = &ctx,
                                .torn_header_ok = true,
                                .empty_ok = true};
    journal_cols_scan_info info;
    kv_status st = journal_cols_scan_fd(j->fd, j->path, &o, &got, &info, err);
    journal_header_clear(&got);
    if (st != KV_OK)
        return st;
    j->duplicates = info.duplicates;
    if (info.torn_bytes > 0) {
        if (ftruncate(j->fd, (off_t)info.complete) != 0 || fdatasync(j->fd) != 0)
            return kv_fail(err, KV_ERR_IO, "repairing the torn last line of journal %s: %s",
                           j->path, strerror(errno));
        j->repaired = info.torn_bytes;
    }
    j->size = info.complete;
    return KV_OK;
}

static kv_status jn_write_header(journal *j, const journal_header *h, char *err)
{
    char version[] = KVPROOF_VERSION;
    journal_header copy = *h;
    if (!copy.kvproof_version)
        copy.kvproof_version = version;
    if (copy.created_unix == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        copy.created_unix = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    }
    kv_buf line = {0};
    kv_status st = journal_header_to_json(&copy, &line, err);
    if (st == KV_OK && kv_buf_append(&line, "\n", 1) != KV_OK)
        st = kv_fail(err, KV_ERR_NOMEM, "out of memory writing the journal header");
    if (st == KV_OK)
        st = jn_write_line(j, &line, err);
    kv_buf_free(&line);
    if (st == KV_OK)
        jn_sync_dir(j->path);
    return st;
}

kv_status journal_open(const char *path, const journal_header *h, bool resume, bool *done,
                       journal **out, char *err)
{
    kv_status st = KV_OK;
    struct stat sb;
    *out = NULL;
    journal *j = calloc(1, sizeof *j);
    if (!j)
        return kv_fail(err, KV_ERR_NOMEM, "out of memory opening journal %s", path);
    j->fd = -1;
    j->planned = h->planned_trials;
    j->path = strdup(path);
    j->recorded = calloc(h->planned_trials ? h->planned_trials : 1, sizeof *j->recorded);
    j->batch = calloc(h->planned_trials ? h->planned_trials : 1, sizeof *j->batch);
    if (!j->path || !j->recorded || !j->batch) {
        st = kv_fail(err, KV_ERR_NOMEM, "out of memory opening journal %s", path);
        goto out;
    }
    j->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (j->fd < 0) {
        st = kv_fail(err, KV_ERR_IO, "cannot open journal %s: %s", path, strerror(errno));
        goto out;
    }
    if (flock(j->fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK)
            st = kv_fail(err, KV_ERR_LOCKED,
                         "journal %s is locked: another kvproof run is writing it", path);
        else
            st = kv_fail(err, KV_ERR_IO, "cannot lock journal %s: %s", path, strerror(errno));
        goto out;
    }
    if (fstat(j->fd, &sb) != 0) {
        st = kv_fail(err, KV_ERR_IO, "cannot stat journal %s: %s", path, strerror(errno));
        goto out;
    }
    if (sb.st_size > 0 && !resume) {
        st = kv_fail(err, KV_ERR_USAGE,
                     "journal %s already exists (%lld bytes); resume it or choose another file",
                     path, (long long)sb.st_size);
        goto out;
    }
    if (sb.st_size > 0)
        st = jn_resume(j, h, err);
    if (st == KV_OK && j->size == 0)
        st = jn_write_header(j, h, err);
    if (st != KV_OK)
        goto out;
    for (size_t i = 0; done && i < h->planned_trials; i++)
        done[i] = j->recorded[i];
    *out = j;
    j = NULL;
out:
    journal_close(j);
    return st;
}

/* ---- appending --------------------------------------------------------- */

/* Appends `t`'s line to `lines` after checking its plan index is new (and
 * not earlier in the same batch: `batch` marks those). */
static kv_status jn_encode(journal *j, const trial_record *t, bool *batch, kv_buf *lines, char *err)
{
    if (t->plan_index >= j->planned)
        return kv_fail(err, KV_ERR_INTERNAL, "trial %zu is outside the plan of %zu trials",
                       t->plan_index, j->planned);
    if (j->recorded[t->plan_index] || batch[t->plan_index])
        return kv_fail(err, KV_ERR_INTERNAL, "trial %zu (%s) is already in journal %s",
                       t->plan_index, t->id, j->path);
    kv_status st = journal_trial_to_json(t, lines, err);
    if (st == KV_OK && kv_buf_append(lines, "\n", 1) != KV_OK)
        st = kv_fail(err, KV_ERR_NOMEM, "out of memory writing a journal line");
    batch[t->plan_index] = st == KV_OK;
    return st;
}

kv_status journal_append_batch(journal *j, const trial_record *const *t, size_t n, char *err)
{
    if (n == 0)
        return KV_OK;
    kv_buf lines = {0};
    kv_status st = KV_OK;
    for (size_t i = 0; st == KV_OK && i < n; i++)
        st = jn_encode(j, t[i], j->batch, &lines, err);
    if (st == KV_OK)
        st = jn_write_line(j, &lines, err);
    kv_buf_free(&lines);
    for (size_t i = 0; i < n; i++) {
        size_t k = t[i]->plan_index;
        if (k < j->planned && j->batch[k]) {
            j->batch[k] = false;
            if (st == KV_OK) {
                j->recorded[k] = true;
                j->n_trials++;
            }
        }
    }
    return st;
}

kv_status journal_append(journal *j, const trial_record *t, char *err)
{
    return journal_append_batch(j, &t, 1, err);
}

/* ---- loading ----------------------------------------------------------- */

void journal_header_clear(journal_header *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->n_targets; i++) {
        journal_target_meta *m = &h->targets[i];
        free(m->name);
        free(m->base_url);
        free(m->dialect);
        free(m->model);
        free(m->server_version);
        free(m->props);
        free(m->cold_method);
    }
    free(h->targets);
    for (size_t i = 0; i < h->n_import_files; i++)
        free(h->import_files[i].path);
    free(h->import_files);
    free(h->import_format);
    free(h->kvproof_version);
    free(h->spec_name);
    free(h->spec_path);
    free(h->spec_json);
    free(h->client_host);
    memset(h, 0, sizeof *h);
}

void journal_data_free(journal_data *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n_trials; i++)
        trial_record_clear(&d->trials[i]);
    free(d->trials);
    journal_header_clear(&d->header);
    free(d);
}

static kv_status jn_add_trial(journal_data *d, size_t *cap, trial_record *t)
{
    if (kv_grow(&d->trials, cap, d->n_trials + 1, sizeof *d->trials, 64) != KV_OK)
        return KV_ERR_NOMEM;
    d->trials[d->n_trials++] = *t;
    memset(t, 0, sizeof *t);
    return KV_OK;
}

typedef struct jn_load_ctx {
    journal_data *d;
    size_t cap; /* of d->trials */
} jn_load_ctx;

static kv_status jn_keep_trial(void *ctx, trial_record *t, const char *where, char *err)
{
    jn_load_ctx *l = ctx;
    if (jn_add_trial(l->d, &l->cap, t) != KV_OK)
        return kv_fail(err, KV_ERR_NOMEM, "%s: out of memory loading the journal", where);
    return KV_OK;
}

kv_status journal_load(const char *path, journal_data **out, char *err)
{
    *out = NULL;
    journal_data *d = calloc(1, sizeof *d);
    if (!d)
        return kv_fail(err, KV_ERR_NOMEM, "out of memory loading journal %s", path);
    jn_load_ctx ctx = {d, 0};
    journal_cols_scan_opts o = {.trial = jn_keep_trial, .ctx = &ctx};
    journal_cols_scan_info info;
    kv_status st = journal_cols_scan(path, &o, &d->header, &info, err);
    d->torn_lines = info.torn_bytes > 0;
    d->duplicate_trials = info.duplicates;
    if (st == KV_OK && d->n_trials > 0) { /* give back the doubling's spare room */
        trial_record *p = realloc(d->trials, d->n_trials * sizeof *p);
        d->trials = p ? p : d->trials;
    }
    if (st != KV_OK) {
        journal_data_free(d);
        return st;
    }
    *out = d;
    return KV_OK;
}

/* ---- host description -------------------------------------------------- */

/* The first "model name" of /proc/cpuinfo (Linux), else "unknown CPU". */
static void jn_cpu_model(char *dst, size_t cap)
{
    snprintf(dst, cap, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) != 0)
            continue;
        const char *v = strchr(line, ':');
        if (!v)
            continue;
        v++;
        while (*v == ' ' || *v == '\t')
            v++;
        size_t n = strcspn(v, "\r\n");
        snprintf(dst, cap, "%.*s", (int)n, v);
        break;
    }
    fclose(f);
}

kv_status journal_describe_host(const char *sched, char **out, char *err)
{
    char host[256] = "unknown", cpu[256], os[512] = "unknown OS";
    struct utsname u;
    *out = NULL;
    if (gethostname(host, sizeof host) != 0)
        snprintf(host, sizeof host, "unknown");
    host[sizeof host - 1] = '\0';
    jn_cpu_model(cpu, sizeof cpu);
    if (uname(&u) == 0)
        snprintf(os, sizeof os, "%s %s %s", u.sysname, u.release, u.machine);
    kv_buf b = {0};
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    if (kv_buf_appendf(&b, "%s; %s x%ld; %s%s%s", host, cpu, ncpu, os, sched ? "; " : "",
                       sched ? sched : "") != KV_OK)
        return kv_fail(err, KV_ERR_NOMEM, "out of memory describing the host");
    *out = b.data;
    return KV_OK;
}
