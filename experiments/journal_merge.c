/* journal_merge.c - several journals of one spec as one (journal_merge.h).
 *
 * Divided into: the checks (one spec, no trial twice from one host), the
 * client hosts of the merged header, the move of the trials into one array
 * in run order, the merge, and the merge by cells (journals of different
 * specs: the other parts filtered to the first part's cells).
 */
#include "experiments/journal_merge.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

/* One trial of one part, for sorting. */
typedef struct mref {
    const char *host;
    const trial_record *t;
    size_t part;
} mref;

static const char *host_of(const journal_data *d)
{
    return d->header.client_host ? d->header.client_host : "";
}

static kv_status check_specs(journal_data *const *parts, const char *const *names, size_t n,
                             char *err)
{
    const journal_header *h0 = &parts[0]->header;
    for (size_t i = 1; i < n; i++) {
        const journal_header *h = &parts[i]->header;
        if (h->spec_hash == h0->spec_hash)
            continue;
        return kv_fail(err, KV_ERR_INPUT,
                       "%s and %s were written for different specs (spec hash %016llx \"%s\" vs "
                       "%016llx \"%s\"): only journals of one spec merge",
                       names[0], names[i], (unsigned long long)h0->spec_hash,
                       h0->spec_name ? h0->spec_name : "?", (unsigned long long)h->spec_hash,
                       h->spec_name ? h->spec_name : "?");
    }
    return KV_OK;
}

static int mref_by_key(const void *a, const void *b)
{
    const mref *x = a, *y = b;
    int c = strcmp(x->host, y->host);
    if (c == 0)
        c = strcmp(x->t->id, y->t->id);
    if (c == 0)
        c = (x->part > y->part) - (x->part < y->part);
    return c;
}

/* The message for the repeated keys found in the sorted refs. */
static kv_status duplicates_fail(const mref *r, size_t nr, const char *const *names, char *err)
{
    char ids[512] = "";
    size_t len = 0, n_dup = 0, first = SIZE_MAX;
    for (size_t i = 1; i < nr; i++) {
        if (strcmp(r[i].host, r[i - 1].host) != 0 || strcmp(r[i].t->id, r[i - 1].t->id) != 0)
            continue;
        if (first == SIZE_MAX)
            first = i;
        if (n_dup++ < JOURNAL_MERGE_IDS_LISTED && len < sizeof ids) {
            int w = snprintf(ids + len, sizeof ids - len, "%s%s", len ? ", " : "", r[i].t->id);
            len += w > 0 ? (size_t)w : 0;
        }
    }
    if (n_dup == 0)
        return KV_OK;
    char more[64] = "";
    if (n_dup > JOURNAL_MERGE_IDS_LISTED)
        snprintf(more, sizeof more, " and %zu more", n_dup - JOURNAL_MERGE_IDS_LISTED);
    return kv_fail(err, KV_ERR_INPUT,
                   "%s repeats %zu trial(s) of %s from the same client host \"%s\": %s%s (the "
                   "same journal given twice? a trial is identified by its client host and id)",
                   names[r[first].part], n_dup, names[r[first - 1].part], r[first].host, ids, more);
}

static kv_status check_duplicates(journal_data *const *parts, const char *const *names, size_t n,
                                  char *err)
{
    size_t nr = 0;
    for (size_t i = 0; i < n; i++)
        nr += parts[i]->n_trials;
    mref *r = calloc(nr ? nr : 1, sizeof *r);
    if (!r)
        return kv_fail(err, KV_ERR_NOMEM, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < parts[i]->n_trials; j++)
            r[k++] = (mref){host_of(parts[i]), &parts[i]->trials[j], i};
    qsort(r, nr, sizeof *r, mref_by_key);
    kv_status st = duplicates_fail(r, nr, names, err);
    free(r);
    return st;
}

/* The distinct client hosts of the parts, joined by " + " (malloc'd). */
static char *hosts_joined(journal_data *const *parts, size_t n)
{
    kv_buf b = {0};
    kv_status st = KV_OK;
    for (size_t i = 0; st == KV_OK && i < n; i++) {
        const char *h = parts[i]->header.client_host ? parts[i]->header.client_host : "unknown";
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++) {
            const char *o = parts[j]->header.client_host ? parts[j]->header.client_host : "unknown";
            seen = strcmp(o, h) == 0;
        }
        if (!seen)
            st = kv_buf_appendf(&b, "%s%s", b.len ? " + " : "", h);
    }
    if (st == KV_OK)
        st = kv_buf_append(&b, "", 1);
    if (st != KV_OK) {
        kv_buf_free(&b);
        return NULL;
    }
    return b.data;
}

/* Trials with their part, for ordering. */
typedef struct mtrial {
    trial_record t;
    size_t part;
} mtrial;

static int mtrial_by_start(const void *a, const void *b)
{
    const mtrial *x = a, *y = b;
    if (x->t.started_unix != y->t.started_unix)
        return x->t.started_unix < y->t.started_unix ? -1 : 1;
    if (x->part != y->part)
        return x->part < y->part ? -1 : 1;
    return (x->t.run_position > y->t.run_position) - (x->t.run_position < y->t.run_position);
}

static int mtrial_by_position(const void *a, const void *b)
{
    const mtrial *x = a, *y = b;
    return (x->t.run_position > y->t.run_position) - (x->t.run_position < y->t.run_position);
}

/* True when two trials share a run position. */
static bool positions_repeat(mtrial *m, size_t n)
{
    qsort(m, n, sizeof *m, mtrial_by_position);
    for (size_t i = 1; i < n; i++)
        if (m[i].t.run_position == m[i - 1].t.run_position)
            return true;
    return false;
}

/* Moves every part's trials into out, in run order. */
static kv_status move_trials(journal_data **parts, size_t n, journal_data *out, char *err)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += parts[i]->n_trials;
    mtrial *m = calloc(total ? total : 1, sizeof *m);
    out->trials = calloc(total ? total : 1, sizeof *out->trials);
    if (!m || !out->trials) {
        free(m);
        return kv_fail(err, KV_ERR_NOMEM, "out of memory");
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < parts[i]->n_trials; j++)
            m[k++] = (mtrial){parts[i]->trials[j], i};
        out->torn_lines += parts[i]->torn_lines;
        out->duplicate_trials += parts[i]->duplicate_trials;
        parts[i]->n_trials = 0; /* the turns now belong to out */
    }
    if (positions_repeat(m, total)) {
        qsort(m, total, sizeof *m, mtrial_by_start);
        for (size_t i = 0; i < total; i++)
            m[i].t.run_position = i;
    }
    for (size_t i = 0; i < total; i++)
        out->trials[i] = m[i].t;
    out->n_trials = total;
    free(m);
    return KV_OK;
}

static void parts_free(journal_data **parts, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        journal_data_free(parts[i]);
        parts[i] = NULL;
    }
}

/* The merge once the parts are known to fit together. */
static kv_status merge_checked(journal_data **parts, const char *const *names, size_t n,
                               bool same_spec, journal_data **out, char *err)
{
    journal_data *d = NULL;
    kv_status st = same_spec ? check_specs(parts, names, n, err) : KV_OK;
    if (st == KV_OK)
        st = check_duplicates(parts, names, n, err);
    if (st != KV_OK)
        goto out;
    d = calloc(1, sizeof *d);
    char *hosts = hosts_joined(parts, n);
    if (!d || !hosts) {
        free(hosts);
        st = kv_fail(err, KV_ERR_NOMEM, "out of memory");
        goto out;
    }
    d->header = parts[0]->header;
    memset(&parts[0]->header, 0, sizeof parts[0]->header);
    free(d->header.client_host);
    d->header.client_host = hosts;
    st = move_trials(parts, n, d, err);
out:
    parts_free(parts, n);
    if (st != KV_OK)
        journal_data_free(d);
    else
        *out = d;
    return st;
}

kv_status journal_merge(journal_data **parts, const char *const *names, size_t n,
                        journal_data **out, char *err)
{
    *out = NULL;
    if (n == 0)
        return kv_fail(err, KV_ERR_USAGE, "journal_merge: no journal");
    if (n == 1) {
        *out = parts[0];
        parts[0] = NULL;
        return KV_OK;
    }
    return merge_checked(parts, names, n, true, out, err);
}

/* ---- merge by cells ---------------------------------------------------------- */

static const char *trial_target(const journal_data *d, const trial_record *t)
{
    return t->target < d->header.n_targets && d->header.targets[t->target].name
               ? d->header.targets[t->target].name
               : t->target_name;
}

static bool cell_is(const journal_merge_cell *c, const char *target, const trial_record *t)
{
    return strcmp(c->target, target) == 0 && c->sys == t->system_prompt_tokens &&
           c->query == t->query_tokens && c->count == t->query_count && c->mode == t->mode;
}

/* The first part's cells; base_cell[k] is the cell index its trials use. */
static kv_status report_cells(const journal_data *d0, journal_merge_report *rep, size_t *base_cell,
                              char *err)
{
    for (size_t i = 0; i < d0->n_trials; i++) {
        const trial_record *t = &d0->trials[i];
        const char *name = trial_target(d0, t);
        size_t k = 0;
        while (k < rep->n_cells && !cell_is(&rep->cells[k], name, t))
            k++;
        if (k == rep->n_cells) {
            journal_merge_cell *c = &rep->cells[rep->n_cells++];
            snprintf(c->target, sizeof c->target, "%s", name);
            c->sys = t->system_prompt_tokens;
            c->query = t->query_tokens;
            c->count = t->query_count;
            c->mode = t->mode;
            c->trials = calloc(rep->n_parts, sizeof *c->trials);
            if (!c->trials)
                return kv_fail(err, KV_ERR_NOMEM, "out of memory");
            base_cell[k] = t->cell;
        }
        rep->cells[k].trials[0]++;
    }
    return KV_OK;
}

/* Keeps the trials of part p whose cell the first part has, renumbered to
 * the first part's target and cell indexes; counts the rest. */
static void filter_part(const journal_data *d0, journal_data *d, size_t p,
                        journal_merge_report *rep, const size_t *base_cell)
{
    size_t kept = 0;
    for (size_t i = 0; i < d->n_trials; i++) {
        trial_record *t = &d->trials[i];
        const char *name = trial_target(d, t);
        size_t k = 0, tg = 0;
        while (k < rep->n_cells && !cell_is(&rep->cells[k], name, t))
            k++;
        while (tg < d0->header.n_targets &&
               !(d0->header.targets[tg].name && strcmp(d0->header.targets[tg].name, name) == 0))
            tg++;
        if (k == rep->n_cells || tg == d0->header.n_targets) {
            rep->left_out[p]++;
            trial_record_clear(t);
            continue;
        }
        rep->cells[k].trials[p]++;
        t->target = tg;
        t->cell = base_cell[k];
        d->trials[kept++] = *t;
    }
    d->n_trials = kept;
}

kv_status journal_merge_cells(journal_data **parts, const char *const *names, size_t n,
                              journal_data **out, journal_merge_report *rep, char *err)
{
    *out = NULL;
    memset(rep, 0, sizeof *rep);
    if (n == 0)
        return kv_fail(err, KV_ERR_USAGE, "journal_merge: no journal");
    rep->n_parts = n;
    bool one_spec = true;
    for (size_t p = 1; p < n; p++)
        one_spec = one_spec && parts[p]->header.spec_hash == parts[0]->header.spec_hash;
    if (one_spec)
        return journal_merge(parts, names, n, out, err);
    rep->cells = calloc(parts[0]->n_trials ? parts[0]->n_trials : 1, sizeof *rep->cells);
    rep->left_out = calloc(n, sizeof *rep->left_out);
    size_t *base_cell = calloc(parts[0]->n_trials ? parts[0]->n_trials : 1, sizeof *base_cell);
    kv_status st = rep->cells && rep->left_out && base_cell
                       ? report_cells(parts[0], rep, base_cell, err)
                       : kv_fail(err, KV_ERR_NOMEM, "out of memory");
    for (size_t p = 1; st == KV_OK && p < n; p++)
        filter_part(parts[0], parts[p], p, rep, base_cell);
    free(base_cell);
    if (st != KV_OK) {
        parts_free(parts, n);
        return st;
    }
    if (n == 1) {
        *out = parts[0];
        parts[0] = NULL;
        return KV_OK;
    }
    return merge_checked(parts, names, n, false, out, err);
}

void journal_merge_report_free(journal_merge_report *rep)
{
    if (!rep)
        return;
    for (size_t i = 0; rep->cells && i < rep->n_cells; i++)
        free(rep->cells[i].trials);
    free(rep->cells);
    free(rep->left_out);
    memset(rep, 0, sizeof *rep);
}
