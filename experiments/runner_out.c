/* runner_out.c - what the runner tells (runner_state.h): progress events
 * for the CLI, and the journal header (the client host, each target's
 * dialect, model, version and how its cold trials are kept cold).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/util.h"
#include "experiments/contention.h"
#include "experiments/journal.h"
#include "experiments/plan.h"
#include "experiments/runner.h"
#include "experiments/runner_state.h"
#include "net/dialect.h"
#include "net/probe.h"

void runner_out_progress(run *r, const char *current, const char *message)
{
    if (!r->o->progress)
        return;
    runner_progress pr;
    memset(&pr, 0, sizeof pr);
    pr.planned = r->sum->planned;
    pr.done = r->sum->done_before + r->sum->ran;
    pr.failed = r->sum->failed;
    pr.contaminated = r->sum->contaminated;
    pr.skipped = r->sum->skipped;
    pr.elapsed_s = (double)(kv_now_ns() - r->t0_ns) / 1e9;
    pr.eta_s = r->units_done > 0 ? r->trial_s_sum / (double)r->units_done * (double)r->units_left /
                                       (double)(r->n_workers ? r->n_workers : 1)
                                 : NAN;
    pr.current = current;
    pr.message = message;
    r->o->progress(r->o->progress_ctx, &pr);
}

/* How a target's cold trials are kept cold, for the journal header (malloc'd;
 * NULL when the spec has no cold trials or out of memory). */
static char *cold_method_text(const run *r, const target_state *ts)
{
    if (!r->s->cold)
        return NULL;
    char text[KV_ERRLEN + 160];
    bool llama = dialect_honours_no_cache(ts->api);
    const char *np = llama ? "cache_prompt:false + " : "";
    const char *reset = llama ? "slot erase" : "cache reset";
    if (r->s->concurrency > 1)
        snprintf(text, sizeof text, "%snonce (no %s while trials run concurrently)", np, reset);
    else if (ts->reset > 0)
        snprintf(text, sizeof text, "%s%s + nonce", np, reset);
    else if (ts->reset < 0)
        snprintf(text, sizeof text, "%snonce (%s unsupported: %s)", np, reset, ts->reset_note);
    else
        snprintf(text, sizeof text, "%snonce (%s failed; tried again before each cold trial)", np,
                 reset);
    return kv_strdup(text);
}

kv_status runner_out_header(const run *r, uint64_t seed, journal_header *h, char *err)
{
    const spec *s = r->s;
    memset(h, 0, sizeof *h);
    h->kvproof_version = strdup(KVPROOF_VERSION);
    h->spec_name = kv_strdup(s->name);
    h->spec_path = kv_strdup(s->path);
    h->spec_json = kv_strdup(s->canonical);
    h->spec_hash = s->hash;
    h->seed = seed;
    h->planned_trials = r->p->n_trials + r->cp->n_reqs;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    h->created_unix = (double)now.tv_sec + (double)now.tv_nsec / 1e9;
    kv_status st = journal_describe_host(slice_state_text(r->slice), &h->client_host, err);
    if (st != KV_OK)
        return st;
    h->targets = calloc(s->n_targets ? s->n_targets : 1, sizeof *h->targets);
    if (!h->kvproof_version || !h->targets)
        return kv_fail(err, KV_ERR_NOMEM, "out of memory");
    h->n_targets = s->n_targets;
    for (size_t i = 0; i < s->n_targets; i++) {
        journal_target_meta *m = &h->targets[i];
        const target_state *ts = &r->tg[i];
        m->name = kv_strdup(s->targets[i].name);
        m->base_url = kv_strdup(s->targets[i].base_url);
        m->dialect =
            kv_strdup(ts->probed && ts->info.server[0] ? ts->info.server : spec_api_name(ts->api));
        m->model = kv_strdup(ts->t->model);
        m->simulated = r->o->simulated || ts->info.simulated;
        m->server_version = kv_strdup(ts->info.server_version);
        m->props = kv_strdup(ts->info.props);
        m->cold_method = cold_method_text(r, ts);
        if (!m->name || !m->dialect)
            return kv_fail(err, KV_ERR_NOMEM, "out of memory");
    }
    return KV_OK;
}
