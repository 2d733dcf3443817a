/* dialect.c - request bodies and stream readers per wire dialect (dialect.h).
 *
 * Divided into: names and paths; request bodies (cJSON); the reader's
 * framing (net/sse.h or net/ndjson.h); per-dialect event
 * interpretation (OpenAI-style chunks, Ollama lines, Anthropic events);
 * and filling a trial_request (token times, gaps, server values, raw JSON).
 */
#include "net/dialect.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "common/utf8.h"
#include "common/util.h"
#include "net/ndjson.h"
#include "net/sse.h"

/* ---- names and paths ---------------------------------------------------- */

/* Each dialect by its names; the first entry of an api is its own name,
 * later ones are aliases dialect_parse also accepts. */
static const struct {
    const char *name;
    spec_api api;
} dialect_names[] = {
    {"auto", SPEC_API_AUTO},
    {"openai-chat", SPEC_API_OPENAI_CHAT},
    {"openai", SPEC_API_OPENAI_CHAT},
    {"openai-completions", SPEC_API_OPENAI_COMPLETIONS},
    {"llama.cpp", SPEC_API_LLAMACPP},
    {"llamacpp", SPEC_API_LLAMACPP},
    {"ollama", SPEC_API_OLLAMA},
    {"lmstudio", SPEC_API_LMSTUDIO},
    {"anthropic", SPEC_API_ANTHROPIC},
    {"lmstudio-chat", SPEC_API_LMSTUDIO_CHAT},
    {"llama.cpp-completion", SPEC_API_LLAMACPP_COMPLETION},
    {"sglang-generate", SPEC_API_SGLANG_GENERATE},
};

const char *dialect_name(spec_api api)
{
    for (size_t i = 0; i < sizeof dialect_names / sizeof dialect_names[0]; i++)
        if (dialect_names[i].api == api)
            return dialect_names[i].name;
    return "unknown";
}

kv_status dialect_parse(const char *name, spec_api *out, char *err)
{
    for (size_t i = 0; i < sizeof dialect_names / sizeof dialect_names[0]; i++)
        if (name && strcmp(name, dialect_names[i].name) == 0) {
            *out = dialect_names[i].api;
            return KV_OK;
        }
    return kv_fail(err, KV_ERR_USAGE,
                   "unknown api '%s' (expected auto, openai-chat, openai-completions, "
                   "llama.cpp, ollama, lmstudio, lmstudio-chat, anthropic, "
                   "llama.cpp-completion or sglang-generate)",
                   name ? name : "");
}

const char *dialect_path(spec_api api)
{
    switch (api) {
    case SPEC_API_OPENAI_COMPLETIONS:
        return "/v1/completions";
    case SPEC_API_OLLAMA:
        return "/api/chat";
    case SPEC_API_LMSTUDIO:
        return "/api/v0/chat/completions";
    case SPEC_API_ANTHROPIC:
        return "/v1/messages";
    case SPEC_API_LMSTUDIO_CHAT:
        return "/api/v1/chat";
    case SPEC_API_LLAMACPP_COMPLETION:
        return "/completion";
    case SPEC_API_SGLANG_GENERATE:
        return "/generate";
    default:
        return "/v1/chat/completions";
    }
}

bool dialect_is_ndjson(spec_api api)
{
    return api == SPEC_API_OLLAMA;
}

bool dialect_honours_no_cache(spec_api api)
{
    return api == SPEC_API_LLAMACPP || api == SPEC_API_LLAMACPP_COMPLETION;
}

bool dialect_is_hosted_openai(const char *base_url)
{
    const char *h = base_url ? strstr(base_url, "://") : NULL;
    h = h ? h + 3 : base_url;
    if (!h)
        return false;
    size_t n = strcspn(h, ":/?#");
    static const char suffix[] = ".openai.com";
    size_t sl = sizeof suffix - 1;
    if (n == sl - 1 && strncasecmp(h, suffix + 1, n) == 0)
        return true; /* openai.com itself */
    return n > sl && strncasecmp(h + n - sl, suffix, sl) == 0;
}

/* ---- sanitising server text --------------------------------------------- */

void dialect_sanitize(char *dst, size_t cap, const char *text, size_t len)
{
    if (!dst || cap == 0)
        return;
    size_t o = 0, i = 0;
    size_t keep = cap > 4 ? cap - 4 : cap - 1; /* room left for "..." when cut */
    size_t at_keep = 0;                        /* output length at the last boundary <= keep */
    bool cut = false;
    while (text && i < len) {
        uint32_t cp = 0;
        size_t k = kv_utf8_seq(text + i, len - i, &cp);
        const char *piece = text + i;
        size_t plen = k;
        if (k == 0) { /* not UTF-8: one U+FFFD per maximal invalid subpart */
            piece = KV_UTF8_REPLACEMENT;
            plen = 3;
            k = kv_utf8_invalid_len(text + i, len - i);
        } else if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || cp == 0x2028 || cp == 0x2029) {
            piece = " "; /* control characters and line separators: one line */
            plen = 1;
        }
        if (o + plen > cap - 1) {
            cut = true;
            break;
        }
        memcpy(dst + o, piece, plen);
        o += plen;
        i += k;
        if (o <= keep)
            at_keep = o;
    }
    if (cut && cap > 4) {
        memcpy(dst + at_keep, "...", 4);
        return;
    }
    dst[o] = '\0';
}

void dialect_error_message(char *dst, size_t cap, const char *body, size_t len)
{
    cJSON *j = body ? cJSON_ParseWithLength(body, len) : NULL;
    const char *msg = NULL;
    if (j) {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
        if (cJSON_IsObject(e)) {
            const cJSON *m = cJSON_GetObjectItemCaseSensitive(e, "message");
            msg = cJSON_IsString(m) ? m->valuestring : NULL;
        } else if (cJSON_IsString(e)) {
            msg = e->valuestring;
        }
        static const char *const keys[] = {"message", "detail"};
        for (size_t i = 0; !msg && i < 2; i++) {
            const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, keys[i]);
            msg = cJSON_IsString(m) ? m->valuestring : NULL;
        }
    }
    if (msg)
        dialect_sanitize(dst, cap, msg, strlen(msg));
    else
        dialect_sanitize(dst, cap, body, body ? len : 0);
    cJSON_Delete(j);
}

/* ---- request bodies ----------------------------------------------------- */

static bool dialect_add_messages(cJSON *obj, const client_request *rq, bool skip_system)
{
    cJSON *arr = cJSON_AddArrayToObject(obj, "messages");
    if (!arr)
        return false;
    for (size_t i = 0; i < rq->n_messages; i++) {
        const client_message *m = &rq->messages[i];
        if (skip_system && strcmp(m->role, "system") == 0)
            continue;
        cJSON *o = cJSON_CreateObject();
        if (!o)
            return false;
        cJSON_AddItemToArray(arr, o);
        if (!cJSON_AddStringToObject(o, "role", m->role) ||
            !cJSON_AddStringToObject(o, "content", m->content ? m->content : ""))
            return false;
    }
    return true;
}

/* Joins the contents of messages (all, or only role `role`) with "\n\n". */
static kv_status dialect_join(const client_request *rq, const char *role, kv_buf *out)
{
    bool first = true;
    for (size_t i = 0; i < rq->n_messages; i++) {
        const client_message *m = &rq->messages[i];
        if (role && strcmp(m->role, role) != 0)
            continue;
        if (!first && kv_buf_append(out, "\n\n", 2) != KV_OK)
            return KV_ERR_NOMEM;
        const char *c = m->content ? m->content : "";
        if (kv_buf_append(out, c, strlen(c)) != KV_OK)
            return KV_ERR_NOMEM;
        first = false;
    }
    if (!out->data && kv_buf_append(out, "", 0) != KV_OK)
        return KV_ERR_NOMEM;
    return KV_OK;
}

static bool dialect_add_stream_usage(cJSON *o, bool no_stream)
{
    if (no_stream)
        return true;
    cJSON *so = cJSON_AddObjectToObject(o, "stream_options");
    return so && cJSON_AddBoolToObject(so, "include_usage", 1);
}

/* The temperature to send: the spec's, or 0 when it sets none (NAN). */
static double dialect_temperature(const client_request *rq)
{
    return isnan(rq->temperature) ? 0 : rq->temperature;
}

/* The native, untemplated endpoints: the messages joined into one prompt.
 * llama.cpp /completion: prompt, n_predict, cache_prompt (tools/server
 * README); SGLang /generate: text and sampling_params.max_new_tokens
 * (GenerateReqInput; no model field). */
static bool dialect_native_body(const client_request *rq, cJSON *o, kv_buf *tmp)
{
    if (dialect_join(rq, NULL, tmp) != KV_OK)
        return false;
    long n = rq->max_output_tokens > 0 ? rq->max_output_tokens : 1;
    if (rq->api == SPEC_API_SGLANG_GENERATE) {
        cJSON *sp = NULL;
        return cJSON_AddStringToObject(o, "text", tmp->data) &&
               (sp = cJSON_AddObjectToObject(o, "sampling_params")) &&
               cJSON_AddNumberToObject(sp, "max_new_tokens", (double)n) &&
               cJSON_AddNumberToObject(sp, "temperature", dialect_temperature(rq)) &&
               cJSON_AddBoolToObject(o, "stream", !rq->no_stream);
    }
    return cJSON_AddStringToObject(o, "prompt", tmp->data) &&
           cJSON_AddNumberToObject(o, "n_predict", (double)n) &&
           cJSON_AddNumberToObject(o, "temperature", dialect_temperature(rq)) &&
           cJSON_AddBoolToObject(o, "stream", !rq->no_stream) &&
           cJSON_AddBoolToObject(o, "cache_prompt", !rq->no_cache);
}

/* LM Studio /api/v1/chat: system_prompt and one `input` string (the other
 * messages' contents joined with "\n\n"), max_output_tokens, store false
 * (no server-side chat state). */
static bool dialect_fill_lms_chat(const client_request *rq, cJSON *o, kv_buf *tmp)
{
    bool has_system = false;
    for (size_t i = 0; i < rq->n_messages; i++)
        has_system |= strcmp(rq->messages[i].role, "system") == 0;
    if (has_system) {
        if (dialect_join(rq, "system", tmp) != KV_OK ||
            !cJSON_AddStringToObject(o, "system_prompt", tmp->data))
            return false;
        kv_buf_reset(tmp);
    }
    kv_buf input = {0};
    bool ok = true, first = true;
    for (size_t i = 0; ok && i < rq->n_messages; i++) {
        const client_message *m = &rq->messages[i];
        if (strcmp(m->role, "system") == 0)
            continue;
        const char *c = m->content ? m->content : "";
        ok = (first || kv_buf_append(&input, "\n\n", 2) == KV_OK) &&
             kv_buf_append(&input, c, strlen(c)) == KV_OK;
        first = false;
    }
    ok = ok && (input.data || kv_buf_append(&input, "", 0) == KV_OK) &&
         cJSON_AddStringToObject(o, "input", input.data) &&
         cJSON_AddBoolToObject(o, "stream", !rq->no_stream) &&
         cJSON_AddNumberToObject(o, "temperature", dialect_temperature(rq)) &&
         (rq->max_output_tokens <= 0 ||
          cJSON_AddNumberToObject(o, "max_output_tokens", (double)rq->max_output_tokens)) &&
         cJSON_AddBoolToObject(o, "store", 0);
    kv_buf_free(&input);
    return ok;
}

/* Ollama's /api/chat: messages, stream, options {num_predict, temperature}. */
static bool dialect_fill_ollama(const client_request *rq, cJSON *o)
{
    if (!dialect_add_messages(o, rq, false) || !cJSON_AddBoolToObject(o, "stream", !rq->no_stream))
        return false;
    cJSON *opt = cJSON_AddObjectToObject(o, "options");
    if (!opt)
        return false;
    if (rq->max_output_tokens > 0 &&
        !cJSON_AddNumberToObject(opt, "num_predict", (double)rq->max_output_tokens))
        return false;
    return cJSON_AddNumberToObject(opt, "temperature", dialect_temperature(rq)) != NULL;
}

/* Anthropic's system array: one text block of the joined system messages
 * with cache_control ephemeral; nothing when the request has no system
 * message. */
static bool dialect_add_anthropic_system(const client_request *rq, cJSON *o, kv_buf *tmp)
{
    bool has_system = false;
    for (size_t i = 0; i < rq->n_messages; i++)
        has_system |= strcmp(rq->messages[i].role, "system") == 0;
    if (!has_system)
        return true;
    if (dialect_join(rq, "system", tmp) != KV_OK)
        return false;
    cJSON *sys = cJSON_AddArrayToObject(o, "system");
    cJSON *blk = cJSON_CreateObject();
    if (!sys || !blk) {
        cJSON_Delete(blk);
        return false;
    }
    cJSON_AddItemToArray(sys, blk);
    cJSON *cc = NULL;
    return cJSON_AddStringToObject(blk, "type", "text") &&
           cJSON_AddStringToObject(blk, "text", tmp->data) &&
           (cc = cJSON_AddObjectToObject(blk, "cache_control")) &&
           cJSON_AddStringToObject(cc, "type", "ephemeral");
}

/* Anthropic's /v1/messages: max_tokens (required, at least 1), system,
 * messages, stream, temperature. */
static bool dialect_fill_anthropic(const client_request *rq, cJSON *o, kv_buf *tmp)
{
    if (!cJSON_AddNumberToObject(o, "max_tokens",
                                 (double)(rq->max_output_tokens > 0 ? rq->max_output_tokens : 1)))
        return false;
    if (!dialect_add_anthropic_system(rq, o, tmp))
        return false;
    return dialect_add_messages(o, rq, true) &&
           cJSON_AddBoolToObject(o, "stream", !rq->no_stream) &&
           cJSON_AddNumberToObject(o, "temperature", dialect_temperature(rq));
}

/* The keys after the prompt or messages of OpenAI-style bodies (chat,
 * completions, llama.cpp, lmstudio). Hosted OpenAI's reasoning models
 * (o-series, gpt-5) answer 400 to max_tokens and to a temperature other than
 * their default: it gets max_completion_tokens on chat, and a temperature
 * only when the spec set one. */
static bool dialect_fill_openai_tail(const client_request *rq, cJSON *o)
{
    spec_api api = rq->api;
    bool hosted =
        rq->target && (rq->target->openai_hosted || dialect_is_hosted_openai(rq->target->base_url));
    if (!cJSON_AddBoolToObject(o, "stream", !rq->no_stream) ||
        !dialect_add_stream_usage(o, rq->no_stream))
        return false;
    const char *max_key =
        hosted && api == SPEC_API_OPENAI_CHAT ? "max_completion_tokens" : "max_tokens";
    if (rq->max_output_tokens > 0 &&
        !cJSON_AddNumberToObject(o, max_key, (double)rq->max_output_tokens))
        return false;
    if ((!hosted || !isnan(rq->temperature)) &&
        !cJSON_AddNumberToObject(o, "temperature", dialect_temperature(rq)))
        return false;
    if (api == SPEC_API_LLAMACPP && !cJSON_AddBoolToObject(o, "cache_prompt", !rq->no_cache))
        return false;
    return true;
}

static bool dialect_fill_body(const client_request *rq, cJSON *o, kv_buf *tmp)
{
    spec_api api = rq->api;
    if (api == SPEC_API_LLAMACPP_COMPLETION || api == SPEC_API_SGLANG_GENERATE)
        return dialect_native_body(rq, o, tmp);
    const char *model = rq->target ? rq->target->model : NULL;
    if (model && !cJSON_AddStringToObject(o, "model", model))
        return false;
    switch (api) {
    case SPEC_API_LMSTUDIO_CHAT:
        return dialect_fill_lms_chat(rq, o, tmp);
    case SPEC_API_OLLAMA:
        return dialect_fill_ollama(rq, o);
    case SPEC_API_ANTHROPIC:
        return dialect_fill_anthropic(rq, o, tmp);
    case SPEC_API_OPENAI_COMPLETIONS:
        if (dialect_join(rq, NULL, tmp) != KV_OK ||
            !cJSON_AddStringToObject(o, "prompt", tmp->data))
            return false;
        break;
    default:
        if (!dialect_add_messages(o, rq, false))
            return false;
        break;
    }
    return dialect_fill_openai_tail(rq, o);
}

kv_status dialect_build_request(const client_request *rq, kv_buf *body, char *err)
{
    kv_status st = KV_OK;
    kv_buf tmp = {0};
    char *text = NULL;
    cJSON *o = cJSON_CreateObject();
    if (rq->api == SPEC_API_AUTO) {
        st = kv_fail(err, KV_ERR_INTERNAL, "dialect not resolved (api auto)");
        goto out;
    }
    if (o && dialect_fill_body(rq, o, &tmp))
        text = cJSON_PrintUnformatted(o);
    if (!text) {
        st = kv_fail(err, KV_ERR_NOMEM, "out of memory building the request body");
        goto out;
    }
    if (kv_buf_append(body, text, strlen(text)) != KV_OK)
        st = kv_fail(err, KV_ERR_NOMEM, "out of memory building the request body");
out:
    cJSON_free(text);
    cJSON_Delete(o);
    kv_buf_free(&tmp);
    return st;
}

kv_status dialect_count_reply(spec_api api, const char *body, size_t len, long *prompt_tokens,
                              char *err)
{
    *prompt_tokens = -1;
    cJSON *j = body ? cJSON_ParseWithLength(body, len) : NULL;
    if (!j)
        return kv_fail(err, KV_ERR_PROTOCOL, "the non-streamed reply is not JSON");
    const cJSON *usage = cJSON_GetObjectItemCaseSensitive(j, "usage");
    const cJSON *stats = cJSON_GetObjectItemCaseSensitive(j, "stats");
    const cJSON *num = NULL;
    if (api == SPEC_API_OLLAMA) {
        num = cJSON_GetObjectItemCaseSensitive(j, "prompt_eval_count");
    } else if (api == SPEC_API_ANTHROPIC) {
        static const char *const parts[] = {"input_tokens", "cache_creation_input_tokens",
                                            "cache_read_input_tokens"};
        long sum = -1;
        for (size_t i = 0; i < 3; i++) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(usage, parts[i]);
            if (cJSON_IsNumber(v))
                sum = (sum < 0 ? 0 : sum) + (long)v->valuedouble;
        }
        *prompt_tokens = sum;
    } else {
        num = cJSON_GetObjectItemCaseSensitive(usage, "prompt_tokens");
        if (!cJSON_IsNumber(num))
            num = cJSON_GetObjectItemCaseSensitive(stats, "input_tokens");
    }
    if (cJSON_IsNumber(num) && num->valuedouble >= 0)
        *prompt_tokens = (long)num->valuedouble;
    cJSON_Delete(j);
    return KV_OK;
}

/* ---- the reader ----------------------------------------------------------- */

struct dialect_reader {
    spec_api api;
    sse_parser *sse;
    ndjson_parser *nd;
    bool keep_reply;
    kv_buf reply;
    int64_t now_ns; /* receive time of the bytes being parsed */

    kv_status failed; /* sticky */
    char fail_msg[KV_ERRLEN];
    bool done;
    size_t n_events;

    int64_t first_token_ns; /* 0 = none yet */
    int64_t first_content_ns;
    int64_t last_token_ns;
    int64_t *tok_ns; /* receive time of each token-bearing event */
    size_t n_tok, cap_tok;

    long prompt_tokens, cached_tokens, output_tokens;
    double prefill_ms;
    int64_t stamp_ns;   /* latest ": kvproof-sent-ns=" stamp not yet consumed */
    double overhead_us; /* NAN until the first token carried a stamp */

    long an_input, an_create, an_read; /* Anthropic usage parts (-1 unknown) */
    kv_buf sg_text;                    /* SGLang: the text of the previous chunk */
    cJSON *raw;                        /* server usage/timing fields */
    dialect_stamp_fn observe;          /* per-token stamp observer, or NULL */
    void *observe_ctx;
};

void dialect_reader_observe(dialect_reader *r, dialect_stamp_fn fn, void *ctx)
{
    r->observe = fn;
    r->observe_ctx = ctx;
}

static kv_status dialect_on_sse(void *ctx, const sse_event *ev, char *err);
static kv_status dialect_on_line(void *ctx, const char *line, size_t len, size_t lineno, char *err);

kv_status dialect_reader_new(spec_api api, size_t max_line, bool keep_reply, dialect_reader **out,
                             char *err)
{
    *out = NULL;
    kv_status st = KV_OK;
    dialect_reader *r = calloc(1, sizeof *r);
    if (!r)
        return kv_fail(err, KV_ERR_NOMEM, "out of memory for the stream reader");
    r->api = api;
    r->keep_reply = keep_reply;
    r->prompt_tokens = r->cached_tokens = r->output_tokens = -1;
    r->an_input = r->an_create = r->an_read = -1;
    r->prefill_ms = NAN;
    r->overhead_us = NAN;
    r->raw = cJSON_CreateObject();
    if (!r->raw) {
        st = kv_fail(err, KV_ERR_NOMEM, "out of memory for the stream reader");
        goto out;
    }
    if (!max_line)
        max_line = DIALECT_MAX_LINE;
    if (dialect_is_ndjson(api))
        st = ndjson_new(max_line, dialect_on_line, r, &r->nd, err);
    else
        st = sse_new(max_line, dialect_on_sse, r, &r->sse, err);
out:
    if (st != KV_OK) {
        dialect_reader_free(r);
        return st;
    }
    *out = r;
    return KV_OK;
}

void dialect_reader_free(dialect_reader *r)
{
    if (!r)
        return;
    sse_free(r->sse);
    ndjson_free(r->nd);
    kv_buf_free(&r->reply);
    kv_buf_free(&r->sg_text);
    free(r->tok_ns);
    cJSON_Delete(r->raw);
    free(r);
}

static kv_status dialect_failf(dialect_reader *r, char *err, kv_status st, const char *what,
                               const char *text, size_t len)
{
    char clean[200];
    dialect_sanitize(clean, sizeof clean, text, len);
    snprintf(r->fail_msg, sizeof r->fail_msg, "%s%s%s", what, *clean ? ": " : "", clean);
    r->failed = st;
    return kv_fail(err, st, "%s", r->fail_msg);
}

/* A token-bearing event arrived: content (true) or reasoning/tool call. */
static kv_status dialect_token(dialect_reader *r, bool content, const char *text)
{
    if (!r->first_token_ns) {
        r->first_token_ns = r->now_ns;
        if (r->stamp_ns > 0)
            r->overhead_us = (double)(r->now_ns - r->stamp_ns) / 1e3;
    }
    if (r->observe && r->stamp_ns > 0)
        r->observe(r->observe_ctx, r->now_ns, r->stamp_ns);
    if (content && !r->first_content_ns)
        r->first_content_ns = r->now_ns;
    r->last_token_ns = r->now_ns;
    if (kv_grow(&r->tok_ns, &r->cap_tok, r->n_tok + 1, sizeof *r->tok_ns, 64) != KV_OK)
        return KV_ERR_NOMEM;
    r->tok_ns[r->n_tok++] = r->now_ns;
    if (content && r->keep_reply && text && kv_buf_append(&r->reply, text, strlen(text)) != KV_OK)
        return KV_ERR_NOMEM;
    return KV_OK;
}

static const char *dialect_str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The non-empty string o[key], or NULL. */
static const char *dialect_text(const cJSON *o, const char *key)
{
    const char *s = dialect_str(o, key);
    return s && *s ? s : NULL;
}

static long dialect_long(const cJSON *o, const char *key, long dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    /* In range before the cast: a count beyond 2^53 is no count. */
    return cJSON_IsNumber(v) && fabs(v->valuedouble) <= 9007199254740992.0 ? (long)v->valuedouble
                                                                           : dflt;
}

static double dialect_num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* Puts a copy of src under dst[key], replacing an earlier one. */
static kv_status dialect_put_copy(cJSON *dst, const char *key, const cJSON *src)
{
    cJSON *dup = cJSON_Duplicate(src, 1);
    if (!dup)
        return KV_ERR_NOMEM;
    if (cJSON_GetObjectItemCaseSensitive(dst, key))
        cJSON_ReplaceItemInObjectCaseSensitive(dst, key, dup);
    else
        cJSON_AddItemToObject(dst, key, dup);
    return KV_OK;
}

/* Keeps a copy of src under raw[key] (replacing an earlier one). */
static kv_status dialect_keep_raw(dialect_reader *r, const char *key, const cJSON *src)
{
    return dialect_put_copy(r->raw, key, src);
}

static kv_status dialect_server_error(dialect_reader *r, const cJSON *j, const char *data,
                                      size_t len, char *err)
{
    char msg[200];
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
    const char *m = cJSON_IsString(e) ? e->valuestring : dialect_str(e, "message");
    if (m)
        dialect_sanitize(msg, sizeof msg, m, strlen(m));
    else
        dialect_error_message(msg, sizeof msg, data, len);
    return dialect_failf(r, err, KV_ERR_HTTP, "server error in stream", msg, strlen(msg));
}

/* st, with the message every reader gives when memory ran out unless KV_OK. */
static kv_status dialect_oom(kv_status st, char *err)
{
    return st == KV_OK ? KV_OK : kv_fail(err, st, "out of memory reading the stream");
}

/* llama.cpp `timings` (cache_n, prompt_n, prompt_ms), on the last chunk of
 * its OpenAI-style and native streams. */
static kv_status dialect_timings(dialect_reader *r, const cJSON *j)
{
    const cJSON *timings = cJSON_GetObjectItemCaseSensitive(j, "timings");
    if (!cJSON_IsObject(timings))
        return KV_OK;
    long cache_n = dialect_long(timings, "cache_n", -1);
    long prompt_n = dialect_long(timings, "prompt_n", -1);
    if (cache_n >= 0)
        r->cached_tokens = cache_n;
    if (r->prompt_tokens < 0 && cache_n >= 0 && prompt_n >= 0)
        r->prompt_tokens = cache_n + prompt_n;
    double pm = dialect_num(timings, "prompt_ms");
    if (!isnan(pm))
        r->prefill_ms = pm;
    return dialect_keep_raw(r, "timings", timings);
}

/* Keeps those of keys[0..n) that j has in the raw fields; KV_ERR_NOMEM if out of memory. */
static kv_status dialect_keep_keys(dialect_reader *r, const cJSON *j, const char *const *keys,
                                   size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, keys[i]);
        if (v && dialect_keep_raw(r, keys[i], v) != KV_OK)
            return KV_ERR_NOMEM;
    }
    return KV_OK;
}

/* llama.cpp native /completion chunk: {"content":..,"stop":false,..}; the
 * last one has "stop":true, timings, tokens_cached, tokens_evaluated and
 * the slot that served it (id_slot). */
static kv_status dialect_llama_native(dialect_reader *r, const cJSON *j, char *err)
{
    const char *text = dialect_text(j, "content");
    if (text && dialect_token(r, true, text) != KV_OK)
        return kv_fail(err, KV_ERR_NOMEM, "out of memory reading the stream");
    if (dialect_timings(r, j) != KV_OK)
        return kv_fail(err, KV_ERR_NOMEM, "out of memory reading the stream");
    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "stop")))
        return KV_OK;
    r->done = true;
    r->output_tokens = dialect_long(j, "tokens_predicted", r->output_tokens);
    if (r->prompt_tokens < 0)
        r->prompt_tokens = dialect_long(j, "tokens_evaluated", -1);
    static const char *const keys[] = {"id_slot",          "tokens_evaluated", "tokens_cached",
                                       "tokens_predicted", "stop_type",        "truncated"};
    return dialect_oom(dialect_keep_keys(r, j, keys, sizeof keys / sizeof keys[0]), err);
}

/* SGLang native /generate chunk: {"text":..,"output_ids":[..],"meta_info":{..}}.
 * "text" is the whole text so far (the default) or, with --stream-output,
 * only the new part: a text that extends the previous one counts its tail. */
static kv_status dialect_sglang(dialect_reader *r, const cJSON *j, char *err)
{
    const char *text = dialect_str(j, "text");
    if (text && *text) {
        size_t tl = strlen(text), pl = r->sg_text.len;
        bool grows = pl && tl >= pl && memcmp(text, r->sg_text.data, pl) == 0;
        const char *add = grows ? text + pl : text;
        if (*add && dialect_token(r, true, add) != KV_OK)
            return kv_fail(err, KV_ERR_NOMEM, "out of memory reading the stream");
        kv_buf_reset(&r->sg_text);
        if (kv_buf_append(&r->sg_text, text, tl) != KV_OK)
            return kv_fail(err, KV_ERR_NOMEM, "out of memory reading the stream");
    }
    const cJSON *mi = cJSON_GetObjectItemCaseSensitive(j, "meta_info");
    if (!cJSON_IsObject(mi))
        return KV_OK;
    r->prompt_tokens = dialect_long(mi, "prompt_tokens", r->prompt_tokens);
    r->cached_tokens = dialect_long(mi, "cached_tokens", r->cached_tokens);
    r->output_tokens = dialect_long(mi, "completion_tokens", r->output_tokens);
    return dialect_oom(dialect_keep_raw(r, "meta_info", mi), err);
}

/* An event's type: its JSON "type", else the SSE event name. */
static const char *dialect_event_type(const cJSON *j, const char *name)
{
    const char *type = dialect_str(j, "type");
    return type ? type : name;
}

/* A chunk's token: its content text, else (text NULL) reasoning or a tool
 * call when `other` says reasoning came or tc is a non-empty tool_calls array. */
static kv_status dialect_chunk_token(dialect_reader *r, const char *text, bool other,
                                     const cJSON *tc, char *err)
{
    kv_status st = KV_OK;
    if (text)
        st = dialect_token(r, true, text);
    else if (other || (cJSON_IsArray(tc) && cJSON_GetArraySize(tc) > 0))
        st = dialect_token(r, false, NULL);
    return dialect_oom(st, err);
}

/* OpenAI-style chunk (chat, completions, llama.cpp, lmstudio). */
static kv_status dialect_openai(dialect_reader *r, const cJSON *j, char *err)
{
    const cJSON *choices = cJSON_GetObjectItemCaseSensitive(j, "choices");
    const cJSON *c0 = cJSON_IsArray(choices) ? cJSON_GetArrayItem(choices, 0) : NULL;
    if (c0) {
        const cJSON *delta = cJSON_GetObjectItemCaseSensitive(c0, "delta");
        const cJSON *tc = cJSON_GetObjectItemCaseSensitive(delta, "tool_calls");
        const char *text = dialect_text(delta, "content");
        if (!text)
            text = dialect_text(c0, "text");
        bool reasoning =
            dialect_text(delta, "reasoning_content") || dialect_text(delta, "reasoning");
        kv_status st = dialect_chunk_token(r, text, reasoning, tc, err);
        if (st != KV_OK)
            return st;
    }
    const cJSON *usage = cJSON_GetObjectItemCaseSensitive(j, "usage");
    if (cJSON_IsObject(usage)) {
        r->prompt_tokens = dialect_long(usage, "prompt_tokens", r->prompt_tokens);
        r->output_tokens = dialect_long(usage, "completion_tokens", r->output_tokens);
        const cJSON *det = cJSON_GetObjectItemCaseSensitive(usage, "prompt_tokens_details");
        if (cJSON_IsObject(det))
            r->cached_tokens = dialect_long(det, "cached_tokens", 0);
        if (dialect_keep_raw(r, "usage", usage) != KV_OK)
            return kv_fail(err, KV_ERR_NOMEM, "out of memory reading the stream");
    }
    if (dialect_timings(r, j) != KV_OK)
        return kv_fail(err, KV_ERR_NOMEM, "out of memory reading the stream");
    const cJSON *stats = cJSON_GetObjectItemCaseSensitive(j, "stats");
    if (cJSON_IsObject(stats)) {
        double ttft = dialect_num(stats, "time_to_first_token");
        if (isnan(ttft))
            ttft = dialect_num(stats, "time_to_first_token_seconds");
        if (!isnan(ttft))
            r->prefill_ms = ttft * 1e3;
        if (dialect_keep_raw(r, "stats", stats) != KV_OK)
            return kv_fail(err, KV_ERR_NOMEM, "out of memory reading the stream");
    }
    return KV_OK;
}

static kv_status dialect_ollama(dialect_reader *r, const cJSON *j, char *err)
{
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(j, "message");
    const cJSON *tc = cJSON_GetObjectItemCaseSensitive(msg, "tool_calls");
    const char *text = dialect_text(msg, "content");
    if (!text)
        text = dialect_text(j, "response");
    bool thinking = dialect_text(msg, "thinking") || dialect_text(j, "thinking");
    kv_status st = dialect_chunk_token(r, text, thinking, tc, err);
    if (st != KV_OK)
        return st;
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "done"))) {
        r->done = true;
        r->prompt_tokens = dialect_long(j, "prompt_eval_count", r->prompt_tokens);
        r->output_tokens = dialect_long(j, "eval_count", r->output_tokens);
        double ped = dialect_num(j, "prompt_eval_duration");
        if (!isnan(ped))
            r->prefill_ms = ped / 1e6;
        static const char *const keys[] = {
            "total_duration", "load_duration", "prompt_eval_count", "prompt_eval_duration",
            "eval_count",     "eval_duration", "done_reason"};
        return dialect_oom(dialect_keep_keys(r, j, keys, sizeof keys / sizeof keys[0]), err);
    }
    return KV_OK;
}

/* Merges Anthropic usage fields into raw.usage and the parts. */
static kv_status dialect_anthropic_usage(dialect_reader *r, const cJSON *usage)
{
    if (!cJSON_IsObject(usage))
        return KV_OK;
    r->an_input = dialect_long(usage, "input_tokens", r->an_input);
    r->an_create = dialect_long(usage, "cache_creation_input_tokens", r->an_create);
    r->an_read = dialect_long(usage, "cache_read_input_tokens", r->an_read);
    r->output_tokens = dialect_long(usage, "output_tokens", r->output_tokens);
    cJSON *dst = cJSON_GetObjectItemCaseSensitive(r->raw, "usage");
    if (!dst) {
        dst = cJSON_AddObjectToObject(r->raw, "usage");
        if (!dst)
            return KV_ERR_NOMEM;
    }
    for (const cJSON *it = usage->child; it; it = it->next)
        if (dialect_put_copy(dst, it->string, it) != KV_OK)
            return KV_ERR_NOMEM;
    return KV_OK;
}

static kv_status dialect_anthropic(dialect_reader *r, const char *name, const cJSON *j,
                                   const char *data, size_t len, char *err)
{
    const char *type = dialect_event_type(j, name);
    kv_status st = KV_OK;
    if (strcmp(type, "error") == 0 || cJSON_GetObjectItemCaseSensitive(j, "error"))
        return dialect_server_error(r, j, data, len, err);
    if (strcmp(type, "message_start") == 0) {
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(j, "message");
        st = dialect_anthropic_usage(r, cJSON_GetObjectItemCaseSensitive(msg, "usage"));
    } else if (strcmp(type, "message_delta") == 0) {
        st = dialect_anthropic_usage(r, cJSON_GetObjectItemCaseSensitive(j, "usage"));
    } else if (strcmp(type, "content_block_delta") == 0) {
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "delta");
        const char *dt = dialect_str(d, "type");
        const char *text = dt && strcmp(dt, "text_delta") == 0 ? dialect_text(d, "text") : NULL;
        if (text)
            st = dialect_token(r, true, text);
        else if (dialect_text(d, "thinking") || dialect_text(d, "partial_json"))
            st = dialect_token(r, false, NULL);
    } else if (strcmp(type, "message_stop") == 0) {
        r->done = true;
    }
    return dialect_oom(st, err);
}

/* Whether every number in j is finite (1e999 parses as infinity). */
static bool dialect_finite(const cJSON *j)
{
    for (const cJSON *it = j; it; it = it->next)
        if ((cJSON_IsNumber(it) && !isfinite(it->valuedouble)) ||
            (it->child && !dialect_finite(it->child)))
            return false;
    return true;
}

/* LM Studio /api/v1/chat events (lmstudio-ai/docs streaming-events.md):
 * message.delta carries content, reasoning.delta and tool_call.start the
 * other tokens; chat.end ends the stream with result.stats (input_tokens,
 * total_output_tokens, time_to_first_token_seconds: the server's TTFT, kept
 * as server_prefill_ms beside the client's ttft_ms). */
static kv_status dialect_lms_chat(dialect_reader *r, const char *name, const cJSON *j,
                                  const char *data, size_t len, char *err)
{
    const char *type = dialect_event_type(j, name);
    if (strcmp(type, "error") == 0)
        return dialect_server_error(r, j, data, len, err);
    kv_status st = KV_OK;
    if (strcmp(type, "message.delta") == 0 && dialect_text(j, "content")) {
        st = dialect_token(r, true, dialect_text(j, "content"));
    } else if ((strcmp(type, "reasoning.delta") == 0 && dialect_text(j, "content")) ||
               strcmp(type, "tool_call.start") == 0) {
        st = dialect_token(r, false, NULL);
    } else if (strcmp(type, "chat.end") == 0) {
        r->done = true;
        const cJSON *stats = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(j, "result"), "stats");
        if (cJSON_IsObject(stats)) {
            r->prompt_tokens = dialect_long(stats, "input_tokens", r->prompt_tokens);
            r->output_tokens = dialect_long(stats, "total_output_tokens", r->output_tokens);
            double ttft = dialect_num(stats, "time_to_first_token_seconds");
            if (!isnan(ttft))
                r->prefill_ms = ttft * 1e3;
            st = dialect_keep_raw(r, "stats", stats);
        }
    }
    return dialect_oom(st, err);
}

/* One data payload (an SSE event's data, or an NDJSON line). */
static kv_status dialect_payload(dialect_reader *r, const char *name, const char *data, size_t len,
                                 char *err)
{
    r->n_events++;
    if (r->done && r->api != SPEC_API_ANTHROPIC)
        return KV_OK; /* after [DONE]/done:true nothing counts */
    if (!dialect_is_ndjson(r->api) && r->api != SPEC_API_ANTHROPIC && len == 6 &&
        memcmp(data, "[DONE]", 6) == 0) {
        r->done = true;
        return KV_OK;
    }
    cJSON *j = cJSON_ParseWithLength(data, len);
    if (!j) {
        char what[64];
        snprintf(what, sizeof what, "malformed JSON in stream event %zu", r->n_events);
        return dialect_failf(r, err, KV_ERR_PROTOCOL, what, data, len < 80 ? len : 80);
    }
    if (!dialect_finite(j)) {
        cJSON_Delete(j);
        char what[96];
        snprintf(what, sizeof what, "number out of range (infinite) in stream event %zu",
                 r->n_events);
        return dialect_failf(r, err, KV_ERR_PROTOCOL, what, data, len < 80 ? len : 80);
    }
    kv_status st;
    if (r->api == SPEC_API_ANTHROPIC)
        st = dialect_anthropic(r, name, j, data, len, err);
    else if (r->api == SPEC_API_LMSTUDIO_CHAT)
        st = dialect_lms_chat(r, name, j, data, len, err);
    else if (cJSON_GetObjectItemCaseSensitive(j, "error"))
        st = dialect_server_error(r, j, data, len, err);
    else if (r->api == SPEC_API_OLLAMA)
        st = dialect_ollama(r, j, err);
    else if (r->api == SPEC_API_LLAMACPP_COMPLETION)
        st = dialect_llama_native(r, j, err);
    else if (r->api == SPEC_API_SGLANG_GENERATE)
        st = dialect_sglang(r, j, err);
    else
        st = dialect_openai(r, j, err);
    cJSON_Delete(j);
    return st;
}

/* Reads the last "kvproof-sent-ns=<ns>" stamp among an event's comments. */
static void dialect_stamp(dialect_reader *r, const char *comments)
{
    static const char key[] = "kvproof-sent-ns=";
    for (const char *p = strstr(comments, key); p; p = strstr(p + 1, key)) {
        char *end = NULL;
        long long v = strtoll(p + sizeof key - 1, &end, 10);
        if (end != p + sizeof key - 1 && v > 0)
            r->stamp_ns = (int64_t)v;
    }
}

static kv_status dialect_on_sse(void *ctx, const sse_event *ev, char *err)
{
    dialect_reader *r = ctx;
    if (ev->comments_len)
        dialect_stamp(r, ev->comments);
    if (!ev->has_data)
        return KV_OK;
    if (r->api == SPEC_API_ANTHROPIC && strcmp(ev->event, "ping") == 0)
        return KV_OK;
    kv_status st = dialect_payload(r, ev->event, ev->data, ev->data_len, err);
    r->stamp_ns = 0; /* a stamp belongs to the event it came with */
    return st;
}

static kv_status dialect_on_line(void *ctx, const char *line, size_t len, size_t lineno, char *err)
{
    (void)lineno;
    return dialect_payload(ctx, "", line, len, err);
}

kv_status dialect_reader_feed(dialect_reader *r, const char *p, size_t n, int64_t now_ns, char *err)
{
    if (r->failed)
        return kv_fail(err, r->failed, "%s", r->fail_msg);
    r->now_ns = now_ns;
    char perr[KV_ERRLEN];
    perr[0] = '\0'; /* per chunk: clear only the first byte, not all KV_ERRLEN */
    kv_status st = r->nd ? ndjson_feed(r->nd, p, n, perr) : sse_feed(r->sse, p, n, perr);
    if (st != KV_OK && !r->failed) {
        r->failed = st;
        snprintf(r->fail_msg, sizeof r->fail_msg, "%s", perr[0] ? perr : kv_strerror(st));
    }
    if (st != KV_OK)
        return kv_fail(err, r->failed, "%s", r->fail_msg);
    return KV_OK;
}

/* The body ended inside an SSE event: when that event is whole but for its
 * closing blank line (the Anthropic SDK's own stream fixtures end so), read
 * it. true when it was the terminator; otherwise the reader is left as it
 * was, to report the missing terminator. */
static bool dialect_close_last_event(dialect_reader *r)
{
    char perr[KV_ERRLEN] = "";
    bool ok = sse_feed(r->sse, "\n\n", 2, perr) == KV_OK && !r->failed && r->done;
    if (!ok) {
        r->failed = KV_OK;
        r->done = false;
    }
    return ok;
}

kv_status dialect_reader_finish(dialect_reader *r, char *err)
{
    if (r->failed)
        return kv_fail(err, r->failed, "%s", r->fail_msg);
    if (!r->done) {
        char perr[KV_ERRLEN] = "";
        kv_status st = r->nd ? ndjson_finish(r->nd, perr) : sse_finish(r->sse, perr);
        if (st != KV_OK && r->sse && dialect_close_last_event(r))
            return KV_OK;
        r->failed = KV_ERR_PROTOCOL;
        snprintf(r->fail_msg, sizeof r->fail_msg, "stream ended without terminator%s%s",
                 st != KV_OK ? " (" : "", st != KV_OK ? "partial event left)" : "");
        return kv_fail(err, KV_ERR_PROTOCOL, "%s", r->fail_msg);
    }
    return KV_OK;
}

bool dialect_reader_first_token(const dialect_reader *r, int64_t *at_ns)
{
    if (at_ns)
        *at_ns = r->first_token_ns;
    return r->first_token_ns != 0;
}

bool dialect_reader_done(const dialect_reader *r)
{
    return r->done;
}

size_t dialect_reader_tokens(const dialect_reader *r)
{
    return r->n_tok;
}

/* Quantile q of sorted v (n > 0), linear interpolation (type 7). */
static double dialect_quantile(const double *v, size_t n, double q)
{
    double h = (double)(n - 1) * q;
    size_t lo = (size_t)floor(h);
    size_t hi = lo + 1 < n ? lo + 1 : lo;
    return v[lo] + (h - (double)lo) * (v[hi] - v[lo]);
}

static double dialect_rel_ms(int64_t t, int64_t start_ns)
{
    return t ? (double)(t - start_ns) / 1e6 : NAN;
}

kv_status dialect_reader_fill(const dialect_reader *r, int64_t start_ns, trial_request *out,
                              char *err)
{
    out->ttft_ms = dialect_rel_ms(r->first_token_ns, start_ns);
    out->first_content_ms = dialect_rel_ms(r->first_content_ns, start_ns);
    out->last_token_ms = dialect_rel_ms(r->last_token_ns, start_ns);
    out->gap_median_ms = out->gap_p99_ms = NAN;
    if (r->n_tok >= 2) {
        size_t n = r->n_tok - 1;
        double *g = malloc(n * sizeof *g);
        if (!g)
            return kv_fail(err, KV_ERR_NOMEM, "out of memory for token gaps");
        for (size_t i = 0; i < n; i++)
            g[i] = (double)(r->tok_ns[i + 1] - r->tok_ns[i]) / 1e6;
        qsort(g, n, sizeof *g, kv_cmp_double);
        out->gap_median_ms = dialect_quantile(g, n, 0.5);
        out->gap_p99_ms = dialect_quantile(g, n, 0.99);
        free(g);
    }
    if (r->api == SPEC_API_ANTHROPIC) {
        out->prompt_tokens = r->an_input < 0 ? -1
                                             : r->an_input + (r->an_create > 0 ? r->an_create : 0) +
                                                   (r->an_read > 0 ? r->an_read : 0);
        out->cached_tokens = r->an_read >= 0 ? r->an_read : (r->an_input >= 0 ? 0 : -1);
    } else {
        out->prompt_tokens = r->prompt_tokens;
        out->cached_tokens = r->cached_tokens;
    }
    out->output_tokens = r->output_tokens >= 0 ? r->output_tokens : (long)r->n_tok;
    out->server_prefill_ms = r->prefill_ms;
    out->server_overhead_us = r->overhead_us;
    free(out->raw);
    out->raw = NULL;
    if (r->raw->child) {
        char *text = cJSON_PrintUnformatted(r->raw);
        out->raw = kv_strdup(text);
        cJSON_free(text);
        if (!out->raw)
            return kv_fail(err, KV_ERR_NOMEM, "out of memory for the raw server fields");
    }
    return KV_OK;
}

kv_status dialect_reader_take_reply(dialect_reader *r, char **out, char *err)
{
    if (!r->reply.data && kv_buf_append(&r->reply, "", 0) != KV_OK)
        return kv_fail(err, KV_ERR_NOMEM, "out of memory for the reply");
    *out = r->reply.data;
    r->reply = (kv_buf){0};
    return KV_OK;
}
