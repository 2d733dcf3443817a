/* srvfmt.c - reply bodies per dialect. Divided into: framing helpers (SSE
 * with send stamps, NDJSON), shared pieces (usage, llama.cpp timings),
 * OpenAI-compatible chat/completions, llama.cpp /completion, Ollama native,
 * LM Studio v0 extras, Anthropic Messages, and error bodies. */
#include "server/srvfmt.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define FINGERPRINT "kvproof-reference-simulated"

/* ---- framing ---- */

static kv_status put_json(kv_buf *out, cJSON *obj)
{
    if (!obj)
        return KV_ERR_NOMEM;
    char *s = cJSON_PrintUnformatted(obj);
    cJSON_Delete(obj);
    if (!s)
        return KV_ERR_NOMEM;
    kv_status st = kv_buf_append(out, s, strlen(s));
    cJSON_free(s);
    return st;
}

static kv_status put_stamp(kv_buf *out)
{
    return kv_buf_appendf(out, ": kvproof-sent-ns=%" PRId64 "\n", kv_now_ns());
}

/* One SSE event: stamp comment, optional event name, data line. Takes obj. */
static kv_status sse(kv_buf *out, const char *event, cJSON *obj)
{
    kv_status st = put_stamp(out);
    if (st == KV_OK && event)
        st = kv_buf_appendf(out, "event: %s\n", event);
    if (st == KV_OK)
        st = kv_buf_append(out, "data: ", 6);
    if (st == KV_OK)
        st = put_json(out, obj);
    else
        cJSON_Delete(obj);
    if (st == KV_OK)
        st = kv_buf_append(out, "\n\n", 2);
    return st;
}

static kv_status sse_done(kv_buf *out)
{
    kv_status st = put_stamp(out);
    if (st == KV_OK)
        st = kv_buf_appendf(out, "data: [DONE]\n\n");
    return st;
}

static kv_status ndjson(kv_buf *out, cJSON *obj)
{
    kv_status st = put_json(out, obj);
    if (st == KV_OK)
        st = kv_buf_append(out, "\n", 1);
    return st;
}

static bool is_ndjson(srvfmt_api api)
{
    return api == SRVFMT_OLLAMA_GEN || api == SRVFMT_OLLAMA_CHAT;
}

const char *srvfmt_content_type(srvfmt_api api, bool stream)
{
    if (is_ndjson(api))
        return stream ? "application/x-ndjson" : "application/json; charset=utf-8";
    return stream ? "text/event-stream" : "application/json";
}

/* ---- shared pieces ---- */

static double per(double num, double den)
{
    return den > 0 ? num / den : 0.0;
}

static cJSON *timings_json(const srvfmt_reply *r)
{
    cJSON *t = cJSON_CreateObject();
    long prompt_n = r->prompt_tokens - r->cached_tokens;
    cJSON_AddNumberToObject(t, "cache_n", (double)r->cached_tokens);
    cJSON_AddNumberToObject(t, "prompt_n", (double)prompt_n);
    cJSON_AddNumberToObject(t, "prompt_ms", r->prompt_ms);
    cJSON_AddNumberToObject(t, "prompt_per_token_ms", per(r->prompt_ms, (double)prompt_n));
    cJSON_AddNumberToObject(t, "prompt_per_second", per(1e3 * (double)prompt_n, r->prompt_ms));
    cJSON_AddNumberToObject(t, "predicted_n", (double)r->output_tokens);
    cJSON_AddNumberToObject(t, "predicted_ms", r->predicted_ms);
    cJSON_AddNumberToObject(t, "predicted_per_token_ms",
                            per(r->predicted_ms, (double)r->output_tokens));
    cJSON_AddNumberToObject(t, "predicted_per_second",
                            per(1e3 * (double)r->output_tokens, r->predicted_ms));
    return t;
}

/* usage.prompt_tokens_details.cached_tokens, as each server reports it. */
static void add_cached_details(const srvfmt_reply *r, cJSON *usage)
{
    bool show = false;
    switch (r->dialect) {
    case REFSRV_LLAMACPP:
    case REFSRV_MLX:
    case REFSRV_OPENAI:
        show = true;
        break;
    case REFSRV_VLLM:
    case REFSRV_SGLANG:
        show = r->cached_tokens > 0; /* omitted when 0 */
        break;
    default: /* Ollama, LM Studio: never */
        break;
    }
    if (r->api == SRVFMT_LMS_CHAT || r->api == SRVFMT_LMS_COMPL)
        show = false;
    if (!show)
        return;
    cJSON *d = cJSON_AddObjectToObject(usage, "prompt_tokens_details");
    cJSON_AddNumberToObject(d, "cached_tokens", (double)r->cached_tokens);
    if (r->dialect == REFSRV_OPENAI)
        cJSON_AddNumberToObject(d, "audio_tokens", 0);
}

static cJSON *usage_json(const srvfmt_reply *r)
{
    cJSON *u = cJSON_CreateObject();
    cJSON_AddNumberToObject(u, "prompt_tokens", (double)r->prompt_tokens);
    cJSON_AddNumberToObject(u, "completion_tokens", (double)r->output_tokens);
    cJSON_AddNumberToObject(u, "total_tokens", (double)(r->prompt_tokens + r->output_tokens));
    add_cached_details(r, u);
    return u;
}

static bool is_chat(srvfmt_api api)
{
    return api == SRVFMT_OAI_CHAT || api == SRVFMT_LMS_CHAT;
}

static bool has_fingerprint(refsrv_dialect d)
{
    return d == REFSRV_LLAMACPP || d == REFSRV_OPENAI || d == REFSRV_OLLAMA || d == REFSRV_LMSTUDIO;
}

static const char *oai_finish(const srvfmt_reply *r)
{
    return r->hit_limit ? "length" : "stop";
}

/* ---- OpenAI-compatible ---- */

static cJSON *oai_head(const srvfmt_reply *r, const char *object)
{
    char id[64];
    snprintf(id, sizeof id, "%s-kvp%ld", is_chat(r->api) ? "chatcmpl" : "cmpl", r->seq);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "object", object);
    cJSON_AddNumberToObject(o, "created", (double)r->created);
    cJSON_AddStringToObject(o, "model", r->model);
    if (has_fingerprint(r->dialect))
        cJSON_AddStringToObject(o, "system_fingerprint", FINGERPRINT);
    return o;
}

/* A streamed chunk with one choice; delta (chat) or text (completions). */
static cJSON *oai_chunk(const srvfmt_reply *r, cJSON *delta, const char *text, const char *finish)
{
    cJSON *o = oai_head(r, is_chat(r->api) ? "chat.completion.chunk" : "text_completion");
    cJSON *choices = cJSON_AddArrayToObject(o, "choices");
    cJSON *c = cJSON_CreateObject();
    cJSON_AddItemToArray(choices, c);
    cJSON_AddNumberToObject(c, "index", 0);
    if (is_chat(r->api))
        cJSON_AddItemToObject(c, "delta", delta ? delta : cJSON_CreateObject());
    else
        cJSON_AddStringToObject(c, "text", text ? text : "");
    cJSON_AddNullToObject(c, "logprobs");
    if (finish)
        cJSON_AddStringToObject(c, "finish_reason", finish);
    else
        cJSON_AddNullToObject(c, "finish_reason");
    if (r->dialect == REFSRV_OPENAI && r->include_usage)
        cJSON_AddNullToObject(o, "usage");
    return o;
}

static cJSON *role_delta(const srvfmt_reply *r)
{
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "role", "assistant");
    if (r->dialect == REFSRV_LLAMACPP) {
        cJSON_AddNullToObject(d, "content");
    } else {
        cJSON_AddStringToObject(d, "content", "");
        if (r->dialect == REFSRV_OPENAI)
            cJSON_AddNullToObject(d, "refusal");
    }
    return d;
}

/* Dialects that send a role-only delta before the first content delta. */
static bool has_role_chunk(refsrv_dialect d)
{
    return d == REFSRV_LLAMACPP || d == REFSRV_VLLM || d == REFSRV_SGLANG || d == REFSRV_OPENAI;
}

static kv_status oai_token(const srvfmt_reply *r, const char *piece, bool first, kv_buf *out)
{
    kv_status st = KV_OK;
    if (!is_chat(r->api))
        return sse(out, NULL, oai_chunk(r, NULL, piece, NULL));
    if (first && has_role_chunk(r->dialect))
        st = sse(out, NULL, oai_chunk(r, role_delta(r), NULL, NULL));
    if (st != KV_OK)
        return st;
    cJSON *d = cJSON_CreateObject();
    if (!has_role_chunk(r->dialect))
        cJSON_AddStringToObject(d, "role", "assistant");
    cJSON_AddStringToObject(d, "content", piece);
    return sse(out, NULL, oai_chunk(r, d, NULL, NULL));
}

static kv_status oai_close(const srvfmt_reply *r, kv_buf *out)
{
    cJSON *fin = oai_chunk(r, NULL, "", oai_finish(r));
    bool usage = r->include_usage;
    if (r->dialect == REFSRV_LLAMACPP && !usage)
        cJSON_AddItemToObject(fin, "timings", timings_json(r));
    kv_status st = sse(out, NULL, fin);
    if (st == KV_OK && usage) {
        cJSON *u =
            oai_head(r, is_chat(r->api) ? (r->dialect == REFSRV_MLX ? "chat.completion"
                                                                    : "chat.completion.chunk")
                                        : "text_completion");
        cJSON_AddArrayToObject(u, "choices");
        cJSON_AddItemToObject(u, "usage", usage_json(r));
        if (r->dialect == REFSRV_LLAMACPP)
            cJSON_AddItemToObject(u, "timings", timings_json(r));
        st = sse(out, NULL, u);
    }
    if (st == KV_OK)
        st = sse_done(out);
    return st;
}

static const char *lms_stop(const srvfmt_reply *r)
{
    return r->hit_limit ? "maxPredictedTokensReached" : "eosFound";
}

static void add_lms_extras(const srvfmt_reply *r, cJSON *o)
{
    cJSON *s = cJSON_AddObjectToObject(o, "stats");
    double gen_s = r->predicted_ms / 1e3;
    cJSON_AddNumberToObject(s, "tokens_per_second", per((double)r->output_tokens, gen_s));
    cJSON_AddNumberToObject(s, "time_to_first_token", (r->queue_ms + r->prompt_ms) / 1e3);
    cJSON_AddNumberToObject(s, "generation_time", gen_s);
    cJSON_AddStringToObject(s, "stop_reason", lms_stop(r));
    cJSON *mi = cJSON_AddObjectToObject(o, "model_info");
    cJSON_AddStringToObject(mi, "arch", "kvproof-sim");
    cJSON_AddStringToObject(mi, "quant", "none");
    cJSON_AddStringToObject(mi, "format", "gguf");
    cJSON_AddNumberToObject(mi, "context_length", (double)r->ctx_tokens);
    cJSON *rt = cJSON_AddObjectToObject(o, "runtime");
    cJSON_AddStringToObject(rt, "name", "kvproof-reference-simulated");
    cJSON_AddStringToObject(rt, "version", KVPROOF_VERSION);
    cJSON *f = cJSON_AddArrayToObject(rt, "supported_formats");
    cJSON_AddItemToArray(f, cJSON_CreateString("gguf"));
}

static kv_status oai_full(const srvfmt_reply *r, kv_buf *out)
{
    bool chat = is_chat(r->api);
    cJSON *o = oai_head(r, chat ? "chat.completion" : "text_completion");
    cJSON *choices = cJSON_AddArrayToObject(o, "choices");
    cJSON *c = cJSON_CreateObject();
    cJSON_AddItemToArray(choices, c);
    cJSON_AddNumberToObject(c, "index", 0);
    if (chat) {
        cJSON *m = cJSON_AddObjectToObject(c, "message");
        cJSON_AddStringToObject(m, "role", "assistant");
        cJSON_AddStringToObject(m, "content", r->text);
    } else {
        cJSON_AddStringToObject(c, "text", r->text);
    }
    cJSON_AddNullToObject(c, "logprobs");
    cJSON_AddStringToObject(c, "finish_reason", oai_finish(r));
    cJSON_AddItemToObject(o, "usage", usage_json(r));
    if (r->dialect == REFSRV_LLAMACPP)
        cJSON_AddItemToObject(o, "timings", timings_json(r));
    if (r->api == SRVFMT_LMS_CHAT || r->api == SRVFMT_LMS_COMPL)
        add_lms_extras(r, o);
    return put_json(out, o);
}

/* ---- llama.cpp /completion ---- */

static cJSON *llama_obj(const srvfmt_reply *r, const char *content, bool stop)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "index", 0);
    cJSON_AddStringToObject(o, "content", content);
    cJSON_AddArrayToObject(o, "tokens");
    cJSON_AddNumberToObject(o, "id_slot", (double)r->slot);
    cJSON_AddBoolToObject(o, "stop", stop);
    if (stop) {
        cJSON_AddStringToObject(o, "model", r->model);
        cJSON_AddNumberToObject(o, "tokens_predicted", (double)r->output_tokens);
        cJSON_AddNumberToObject(o, "tokens_evaluated", (double)r->prompt_tokens);
        cJSON_AddBoolToObject(o, "has_new_line", false);
        cJSON_AddBoolToObject(o, "truncated", false);
        cJSON_AddStringToObject(o, "stop_type", r->hit_limit ? "limit" : "eos");
        cJSON_AddStringToObject(o, "stopping_word", "");
        cJSON_AddNumberToObject(o, "tokens_cached", (double)r->cached_tokens);
        cJSON_AddItemToObject(o, "timings", timings_json(r));
    } else {
        cJSON_AddNumberToObject(o, "tokens_predicted", (double)r->output_tokens);
        cJSON_AddNumberToObject(o, "tokens_evaluated", (double)r->prompt_tokens);
    }
    return o;
}

/* ---- Ollama native ---- */

static void add_created_at(cJSON *o)
{
    struct timespec ts;
    struct tm tm;
    char day[32], buf[64];
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, sizeof buf, "%s.%09ldZ", day, ts.tv_nsec);
    cJSON_AddStringToObject(o, "created_at", buf);
}

static cJSON *ollama_obj(const srvfmt_reply *r, const char *content, bool done)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "model", r->model);
    add_created_at(o);
    if (r->api == SRVFMT_OLLAMA_CHAT) {
        cJSON *m = cJSON_AddObjectToObject(o, "message");
        cJSON_AddStringToObject(m, "role", "assistant");
        cJSON_AddStringToObject(m, "content", content);
    } else {
        cJSON_AddStringToObject(o, "response", content);
    }
    cJSON_AddBoolToObject(o, "done", done);
    if (!done)
        return o;
    cJSON_AddStringToObject(o, "done_reason", r->hit_limit ? "length" : "stop");
    cJSON_AddNumberToObject(o, "total_duration", r->total_ms * 1e6);
    cJSON_AddNumberToObject(o, "load_duration", r->queue_ms * 1e6);
    if (r->prompt_tokens > 0) /* omitempty */
        cJSON_AddNumberToObject(o, "prompt_eval_count", (double)r->prompt_tokens);
    cJSON_AddNumberToObject(o, "prompt_eval_duration", r->prompt_ms * 1e6);
    if (r->output_tokens > 0) {
        cJSON_AddNumberToObject(o, "eval_count", (double)r->output_tokens);
        cJSON_AddNumberToObject(o, "eval_duration", r->predicted_ms * 1e6);
    }
    return o;
}

/* ---- Anthropic ---- */

static cJSON *anthropic_usage(const srvfmt_reply *r, bool delta)
{
    cJSON *u = cJSON_CreateObject();
    long input = r->prompt_tokens - r->cached_tokens - r->cache_creation;
    cJSON_AddNumberToObject(u, "input_tokens", (double)input);
    cJSON_AddNumberToObject(u, "cache_creation_input_tokens", (double)r->cache_creation);
    cJSON_AddNumberToObject(u, "cache_read_input_tokens", (double)r->cached_tokens);
    if (!delta) {
        cJSON *cc = cJSON_AddObjectToObject(u, "cache_creation");
        cJSON_AddNumberToObject(cc, "ephemeral_5m_input_tokens", (double)r->cache_creation);
        cJSON_AddNumberToObject(cc, "ephemeral_1h_input_tokens", 0);
    }
    cJSON_AddNumberToObject(u, "output_tokens", (double)r->output_tokens);
    return u;
}

static cJSON *anthropic_message(const srvfmt_reply *r, bool final)
{
    char id[64];
    snprintf(id, sizeof id, "msg_kvp%ld", r->seq);
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "id", id);
    cJSON_AddStringToObject(m, "type", "message");
    cJSON_AddStringToObject(m, "role", "assistant");
    cJSON_AddStringToObject(m, "model", r->model);
    cJSON *content = cJSON_AddArrayToObject(m, "content");
    if (final) {
        cJSON *b = cJSON_CreateObject();
        cJSON_AddStringToObject(b, "type", "text");
        cJSON_AddStringToObject(b, "text", r->text);
        cJSON_AddItemToArray(content, b);
        cJSON_AddStringToObject(m, "stop_reason", r->hit_limit ? "max_tokens" : "end_turn");
    } else {
        cJSON_AddNullToObject(m, "stop_reason");
    }
    cJSON_AddNullToObject(m, "stop_sequence");
    cJSON_AddItemToObject(m, "usage", anthropic_usage(r, false));
    return m;
}

static cJSON *typed(const char *type)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", type);
    return o;
}

static kv_status anthropic_open(const srvfmt_reply *r, kv_buf *out)
{
    cJSON *ms = typed("message_start");
    cJSON_AddItemToObject(ms, "message", anthropic_message(r, false));
    kv_status st = sse(out, "message_start", ms);
    if (st == KV_OK) {
        cJSON *cb = typed("content_block_start");
        cJSON_AddNumberToObject(cb, "index", 0);
        cJSON *b = cJSON_AddObjectToObject(cb, "content_block");
        cJSON_AddStringToObject(b, "type", "text");
        cJSON_AddStringToObject(b, "text", "");
        st = sse(out, "content_block_start", cb);
    }
    if (st == KV_OK)
        st = sse(out, "ping", typed("ping"));
    return st;
}

static kv_status anthropic_token(const char *piece, kv_buf *out)
{
    cJSON *o = typed("content_block_delta");
    cJSON_AddNumberToObject(o, "index", 0);
    cJSON *d = cJSON_AddObjectToObject(o, "delta");
    cJSON_AddStringToObject(d, "type", "text_delta");
    cJSON_AddStringToObject(d, "text", piece);
    return sse(out, "content_block_delta", o);
}

static kv_status anthropic_close(const srvfmt_reply *r, kv_buf *out)
{
    cJSON *stop = typed("content_block_stop");
    cJSON_AddNumberToObject(stop, "index", 0);
    kv_status st = sse(out, "content_block_stop", stop);
    if (st == KV_OK) {
        cJSON *md = typed("message_delta");
        cJSON *d = cJSON_AddObjectToObject(md, "delta");
        cJSON_AddStringToObject(d, "stop_reason", r->hit_limit ? "max_tokens" : "end_turn");
        cJSON_AddNullToObject(d, "stop_sequence");
        cJSON_AddItemToObject(md, "usage", anthropic_usage(r, true));
        st = sse(out, "message_delta", md);
    }
    if (st == KV_OK)
        st = sse(out, "message_stop", typed("message_stop"));
    return st;
}

/* ---- dispatch ---- */

kv_status srvfmt_open(const srvfmt_reply *r, kv_buf *out)
{
    if (r->api == SRVFMT_ANTHROPIC)
        return anthropic_open(r, out);
    return KV_OK;
}

kv_status srvfmt_token(const srvfmt_reply *r, const char *piece, bool first, kv_buf *out)
{
    switch (r->api) {
    case SRVFMT_LLAMA_COMPL:
        return sse(out, NULL, llama_obj(r, piece, false));
    case SRVFMT_OLLAMA_GEN:
    case SRVFMT_OLLAMA_CHAT:
        return ndjson(out, ollama_obj(r, piece, false));
    case SRVFMT_ANTHROPIC:
        return anthropic_token(piece, out);
    default:
        return oai_token(r, piece, first, out);
    }
}

kv_status srvfmt_malformed(const srvfmt_reply *r, kv_buf *out)
{
    if (is_ndjson(r->api))
        return kv_buf_appendf(out, "{\"model\":\"%s\",\"response\":\"x\",\"done\":fal\n", "m");
    kv_status st = put_stamp(out);
    if (st == KV_OK)
        st = kv_buf_appendf(out, "data: {\"choices\":[{\"delta\":{\"content\":\"x\"}\n\n");
    return st;
}

kv_status srvfmt_hugeline(const srvfmt_reply *r, size_t bytes, kv_buf *out)
{
    kv_status st = KV_OK;
    if (is_ndjson(r->api))
        st = kv_buf_appendf(out, "{\"model\":\"x\",\"done\":false,\"response\":\"");
    else
        st = kv_buf_appendf(out, "data: {\"choices\":[{\"index\":0,\"delta\":{},\"filler\":\"");
    for (size_t i = 0; st == KV_OK && i < bytes / 64; i++)
        st = kv_buf_append(out, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
                           64);
    if (st == KV_OK)
        st = kv_buf_appendf(out, is_ndjson(r->api) ? "\"}\n" : "\"}]}\n\n");
    return st;
}

kv_status srvfmt_close(const srvfmt_reply *r, kv_buf *out)
{
    switch (r->api) {
    case SRVFMT_LLAMA_COMPL:
        return sse(out, NULL, llama_obj(r, "", true));
    case SRVFMT_OLLAMA_GEN:
    case SRVFMT_OLLAMA_CHAT:
        return ndjson(out, ollama_obj(r, "", true));
    case SRVFMT_ANTHROPIC:
        return anthropic_close(r, out);
    default:
        return oai_close(r, out);
    }
}

kv_status srvfmt_full(const srvfmt_reply *r, kv_buf *out)
{
    switch (r->api) {
    case SRVFMT_LLAMA_COMPL:
        return put_json(out, llama_obj(r, r->text, true));
    case SRVFMT_OLLAMA_GEN:
    case SRVFMT_OLLAMA_CHAT:
        return put_json(out, ollama_obj(r, r->text, true));
    case SRVFMT_ANTHROPIC:
        return put_json(out, anthropic_message(r, true));
    default:
        return oai_full(r, out);
    }
}

static const char *error_type(int status)
{
    switch (status) {
    case 400:
        return "invalid_request_error";
    case 404:
        return "not_found_error";
    case 429:
        return "rate_limit_error";
    case 503:
        return "unavailable_error";
    default:
        return "server_error";
    }
}

kv_status srvfmt_error(refsrv_dialect d, int http_status, const char *msg, kv_buf *out,
                       const char **ctype)
{
    *ctype = "application/json";
    cJSON *o = cJSON_CreateObject();
    switch (d) {
    case REFSRV_LLAMACPP: {
        cJSON *e = cJSON_AddObjectToObject(o, "error");
        cJSON_AddNumberToObject(e, "code", http_status);
        cJSON_AddStringToObject(e, "message", msg);
        cJSON_AddStringToObject(e, "type", error_type(http_status));
        break;
    }
    case REFSRV_VLLM:
    case REFSRV_SGLANG:
        if (http_status == 404) {
            cJSON_AddStringToObject(o, "detail", "Not Found");
            break;
        }
        cJSON_AddStringToObject(o, "object", "error");
        cJSON_AddStringToObject(o, "message", msg);
        cJSON_AddStringToObject(o, "type", error_type(http_status));
        cJSON_AddNullToObject(o, "param");
        cJSON_AddNumberToObject(o, "code", http_status);
        break;
    case REFSRV_OLLAMA:
        if (http_status == 404) {
            cJSON_Delete(o);
            *ctype = "text/plain";
            return kv_buf_appendf(out, "404 page not found");
        }
        cJSON_AddStringToObject(o, "error", msg);
        break;
    case REFSRV_LMSTUDIO:
        cJSON_AddStringToObject(o, "error", msg);
        break;
    case REFSRV_ANTHROPIC: {
        cJSON_AddStringToObject(o, "type", "error");
        cJSON *e = cJSON_AddObjectToObject(o, "error");
        cJSON_AddStringToObject(e, "type", error_type(http_status));
        cJSON_AddStringToObject(e, "message", msg);
        break;
    }
    default: { /* OpenAI, MLX */
        cJSON *e = cJSON_AddObjectToObject(o, "error");
        cJSON_AddStringToObject(e, "message", msg);
        cJSON_AddStringToObject(e, "type", error_type(http_status));
        cJSON_AddNullToObject(e, "param");
        cJSON_AddNullToObject(e, "code");
        break;
    }
    }
    return put_json(out, o);
}
