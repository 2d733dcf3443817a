/* runner_target.c - the runner's per-target state (runner_state.h): what
 * the probe found, how prompts of an exact length are counted (the server's
 * /tokenize, else calibration with usage.prompt_tokens), whether the server
 * shows cached counts, and whether its cache reset works.
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "experiments/prompt.h"
#include "experiments/runner.h"
#include "experiments/runner_state.h"
#include "net/client.h"
#include "net/dialect.h"
#include "net/probe.h"

/* Token counter: the server's /tokenize, on the calling worker's context. */
static kv_status count_tokenize(void *ctx, const char *text, long *n, char *err)
{
    const synth_ctx *k = ctx;
    return k->io->tokenize(k->io->ctx, k->ts->t, k->ts->api, text, n, err);
}

/* Calibration texts start with this line, which no measured prompt starts
 * with: the server's prefix cache keeps every calibration request, and a
 * measured request must not find its own text there (a cold trial would be
 * served warm). The salt is in both texts of a difference, so it cancels. */
#define CALIBRATION_SALT "Token count calibration.\n\n"

/* Token counter without /tokenize: a one-message request with max_tokens 1,
 * calibrated against a one-word request (the template's tokens cancel). The
 * text is salted (CALIBRATION_SALT). When a stream carries no prompt count
 * (LM Studio), the same request is sent non-streamed (runner_io.count). */
static kv_status usage_tokens(target_state *ts, const char *text, long *n, char *err)
{
    const spec *s = ts->r->s;
    kv_buf salted = {0};
    if (kv_buf_append(&salted, CALIBRATION_SALT, strlen(CALIBRATION_SALT)) != KV_OK ||
        kv_buf_append(&salted, text, strlen(text)) != KV_OK) {
        kv_buf_free(&salted);
        return kv_fail(err, KV_ERR_NOMEM, "out of memory");
    }
    client_message m = {"user", salted.data};
    client_request rq = runner_trial_request(s, ts, &m, 1, 1, true);
    trial_request out;
    memset(&out, 0, sizeof out);
    out.prompt_tokens = -1;
    kv_status st = KV_OK;
    if (!ts->stream_uncounted) {
        st = ts->r->io.send(ts->r->io.ctx, &rq, &out, NULL, err);
        free(out.raw);
        ts->stream_uncounted = st == KV_OK && out.prompt_tokens < 0 && ts->r->io.count;
        if (ts->stream_uncounted)
            runner_out_progress(
                ts->r, ts->t->name,
                "the stream reports no prompt token count: calibrating with non-streamed "
                "requests");
    }
    if (st == KV_OK && ts->stream_uncounted)
        st = ts->r->io.count(ts->r->io.ctx, &rq, &out.prompt_tokens, err);
    kv_buf_free(&salted);
    if (st != KV_OK)
        return st;
    if (out.prompt_tokens < 0)
        return kv_fail(err, KV_ERR_UNSUPPORTED,
                       "%s: the server has no /tokenize and reports no prompt token count, so "
                       "prompts of an exact length cannot be made",
                       ts->t->name);
    *n = out.prompt_tokens;
    return KV_OK;
}

/* Token counter without /tokenize: under the synth lock, on the main context
 * (the calibration state and that context are shared). */
static kv_status count_usage_locked(target_state *ts, const char *text, long *n, char *err)
{
    kv_status st;
    if (ts->usage_base < 0) {
        st = usage_tokens(ts, "a", &ts->usage_base, err);
        if (st != KV_OK)
            return st;
    }
    long total = 0;
    st = usage_tokens(ts, *text ? text : "a", &total, err);
    if (st != KV_OK)
        return st;
    *n = *text ? total - ts->usage_base + 1 : 0;
    if (*n < 0)
        *n = 0;
    return KV_OK;
}

static kv_status count_usage(void *ctx, const char *text, long *n, char *err)
{
    target_state *ts = ((const synth_ctx *)ctx)->ts;
    pthread_mutex_lock(&ts->r->synth_lock);
    kv_status st = count_usage_locked(ts, text, n, err);
    pthread_mutex_unlock(&ts->r->synth_lock);
    return st;
}

/* Before any trial of a probed OpenAI-style target: one short text (its own
 * words, shared with no measured prompt) sent twice with max_tokens 1, so a
 * server that reports cached counts only when they are above 0 shows it
 * before the first cold trial. */
static void cached_report_check(run *r, target_state *ts)
{
    if (!ts->probed || (ts->api != SPEC_API_OPENAI_CHAT && ts->api != SPEC_API_OPENAI_COMPLETIONS))
        return;
    static const char *const words[] = {"ledger", "quota",  "vector", "pillar", "hinge",  "socket",
                                        "tablet", "fabric", "signal", "kernel", "margin", "thread"};
    kv_buf text = {0};
    kv_status st = kv_buf_append(&text, "Cache report check.\n\n", 21);
    for (int i = 0; st == KV_OK && i < 240; i++)
        st = kv_buf_appendf(&text, "%s%s", i ? " " : "", words[(i * 7 + i / 12) % 12]);
    const spec *s = r->s;
    client_message m = {"user", text.data};
    client_request rq = runner_trial_request(s, ts, &m, 1, 1, false);
    for (int i = 0; st == KV_OK && i < 2 && !atomic_load(&ts->shows_cached); i++) {
        trial_request out;
        char err[KV_ERRLEN] = "";
        memset(&out, 0, sizeof out);
        out.cached_tokens = out.prompt_tokens = -1;
        if (r->io.send(r->io.ctx, &rq, &out, NULL, err) == KV_OK)
            runner_trial_note_cached(ts, &out);
        free(out.raw);
    }
    kv_buf_free(&text);
    if (atomic_load(&ts->shows_cached))
        runner_out_progress(
            r, ts->t->name,
            "the server reports cached tokens: a reply without a count means 0 cached");
}

kv_status runner_target_setup(run *r, target_state *ts, const spec_target *t, const char *corpus,
                              size_t corpus_len, uint64_t seed, char *err)
{
    ts->usage_base = -1;
    cached_report_check(r, ts);
    long n = 0;
    char tmp[KV_ERRLEN] = "";
    kv_status st = r->io.tokenize(r->io.ctx, t, ts->api, "kvproof counts tokens", &n, tmp);
    ts->has_tokenize = st == KV_OK && n > 0;
    if (!ts->has_tokenize) {
        char msg[KV_ERRLEN + 128];
        snprintf(msg, sizeof msg,
                 "%s: no usable /tokenize (%s); calibrating lengths with usage.prompt_tokens",
                 t->name, st == KV_OK ? "it counted no tokens" : tmp);
        runner_out_progress(r, t->name, msg);
    }
    ts->main_count = (synth_ctx){ts, &r->io};
    return prompt_synth_new(corpus, corpus_len, seed,
                            ts->has_tokenize ? count_tokenize : count_usage, &ts->main_count,
                            ts->has_tokenize, &ts->ps, err);
}

/* Tries each target's cache reset once before the journal is written, so
 * that its header says how cold trials are kept cold; a reset the server
 * does not offer (llama-server answers 501 to a slot erase unless started
 * with --slot-save-path) is never tried again. Only when cold trials run one
 * at a time (runner_trial_send). */
void runner_target_reset_check(run *r)
{
    if (!r->s->cold || r->s->concurrency > 1)
        return;
    for (size_t i = 0; i < r->s->n_targets; i++) {
        target_state *ts = &r->tg[i];
        char e[KV_ERRLEN] = "";
        kv_status st = r->io.reset_cache(r->io.ctx, ts->t, ts->api, e);
        ts->reset = st == KV_OK ? 1 : (st == KV_ERR_UNSUPPORTED ? -1 : 0);
        if (st == KV_ERR_UNSUPPORTED) {
            snprintf(ts->reset_note, sizeof ts->reset_note, "%s", e);
            char msg[KV_ERRLEN + 128];
            snprintf(msg, sizeof msg, "%s: cache reset unsupported (%s); cold trials use %s",
                     ts->t->name, e,
                     dialect_honours_no_cache(ts->api) ? "cache_prompt:false and a nonce"
                                                       : "a nonce");
            runner_out_progress(r, ts->t->name, msg);
        }
    }
}

/* Detects each target (real client only): the dialect for `api: auto`, the
 * model when the spec names none, version and properties for the journal. */
kv_status runner_target_probe(run *r, client *c, char *err)
{
    for (size_t i = 0; i < r->s->n_targets; i++) {
        target_state *ts = &r->tg[i];
        const spec_target *t = &r->s->targets[i];
        char e[KV_ERRLEN] = "";
        kv_status st = probe_detect_target(c, t, &ts->info, e);
        if (st != KV_OK) {
            probe_info_clear(&ts->info);
            memset(&ts->info, 0, sizeof ts->info);
            if (t->api == SPEC_API_AUTO)
                return kv_fail(err, st == KV_ERR_NOMEM ? st : KV_ERR_NET,
                               "target %s (%s): cannot detect its dialect for api \"auto\": %s",
                               t->name, t->base_url, e);
            char msg[KV_ERRLEN + 128];
            snprintf(msg, sizeof msg, "target %s: probe failed (%s); using the spec's dialect",
                     t->name, e);
            runner_out_progress(r, t->name, msg);
            continue;
        }
        ts->probed = true;
        if (t->api == SPEC_API_AUTO)
            ts->api = ts->info.api;
        if (!ts->copy.model && ts->info.model)
            ts->copy.model = ts->info.model;
        ts->copy.openai_hosted = strcmp(ts->info.server, "openai") == 0;
        if (ts->info.simulated)
            r->sum->simulated = true;
    }
    return KV_OK;
}
