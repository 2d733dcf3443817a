/* cmd_probe.c - 'kvproof probe URL': detects a server's dialect, models and
 * tokenizer, then runs one cold/warm pair to show whether its prefix cache
 * works. The work is in net/probe.c; this file parses options and
 * formats text. */
#include <stddef.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "common/status.h"
#include "net/client.h"
#include "net/dialect.h"
#include "net/probe.h"

static void probe_usage(FILE *f)
{
    fprintf(
        f, "usage: kvproof probe URL [--api auto|openai-chat|openai-completions|llama.cpp|\n"
           "                          ollama|lmstudio|lmstudio-chat|anthropic|\n"
           "                          llama.cpp-completion|sglang-generate] [--model M]\n"
           "                         [--api-key-env NAME] [--format text|json] [--no-cache-check]\n"
           "\n"
           "Detects the server at URL (llama.cpp GET /props, Ollama GET /api/version,\n"
           "LM Studio GET /api/v1/models (0.4+, dialect lmstudio-chat) or /api/v0/models,\n"
           "SGLang GET /get_server_info, vLLM GET /version,\n"
           "then GET /v1/models; kvproof's reference server by its X-Kvproof-Simulated\n"
           "header), lists its models, checks POST /tokenize, then sends a ~1,000-word\n"
           "system prompt (longer where the server caches only longer prompts: OpenAI\n"
           "1,024 tokens, Anthropic 1,024-4,096 by model) three times: prime, warm (the\n"
           "same prompt again) and cold\n"
           "(llama.cpp: cache_prompt:false; others: a fresh nonce in front), and shows\n"
           "cached-token counts and times to first token side by side.\n"
           "\n"
           "  --api NAME          dialect to use instead of detecting it (default auto)\n"
           "  --model M           model to name in requests (default: the first listed)\n"
           "  --api-key-env NAME  environment variable holding the API key\n"
           "  --format FMT        text (default) or json\n"
           "  --no-cache-check    detect only; send no generation requests\n"
           "\n"
           "exit codes: 0 probed, 1 the cache check failed, 2 usage, 4 unreachable\n");
}

static void print_ms(double v)
{
    if (isnan(v))
        printf(" %10s", "-");
    else
        printf(" %10.1f", v);
}

static void print_count(long v)
{
    if (v < 0)
        printf(" %8s", "-");
    else
        printf(" %8ld", v);
}

static void print_row(const char *name, const trial_request *r)
{
    printf("  %-6s", name);
    if (r->attempts == 0) {
        printf(" %8s\n", "not run");
        return;
    }
    print_count(r->prompt_tokens);
    print_count(r->cached_tokens);
    print_ms(r->ttft_ms);
    print_ms(r->server_prefill_ms);
    print_ms(r->total_ms);
    if (!r->ok)
        printf("  failed: %s", r->error);
    printf("\n");
}

static void print_text(const char *url, const probe_info *p, const probe_cache_result *c)
{
    printf("url:          %s\n", url);
    printf("server:       %s (detected by %s)\n", p->server, p->detected_by);
    printf("dialect:      %s\n", dialect_name(p->api));
    printf("version:      %s\n", p->server_version ? p->server_version : "unknown");
    printf("simulated:    %s\n", p->simulated ? "yes (kvproof reference server)" : "no");
    printf("model:        %s\n", p->model ? p->model : "(none listed)");
    printf("models:       ");
    for (size_t i = 0; i < p->n_models; i++)
        printf("%s%s", i ? ", " : "", p->models[i]);
    printf("%s\n", p->n_models ? "" : "(none listed)");
    printf("tokenizes:    %s\n", p->tokenizes ? "yes (POST /tokenize)" : "no");
    if (!c)
        return;
    printf("\ncache check: system prompt of %ld tokens, cold by %s", c->prefix_tokens,
           c->cold_method);
    if (c->min_cache_tokens > 0)
        printf(" (the server caches prompts of %ld tokens or more)", c->min_cache_tokens);
    printf("\n");
    printf("  %-6s %8s %8s %10s %10s %10s\n", "", "prompt", "cached", "TTFT ms", "prefill ms",
           "total ms");
    print_row("prime", &c->prime);
    print_row("warm", &c->warm);
    print_row("cold", &c->cold);
    if (!c->ran) {
        printf("cache check:  not run (%s)\n", c->not_run);
        return;
    }
    printf("reports cached tokens: %s\n", c->reports_cached ? "yes" : "no");
    printf("honours a cold request: %s\n",
           c->reports_cached ? (c->honours_cold ? "yes" : "no (cold request reused the cache)")
                             : "unknown (no cached count; a nonce is assumed to work)");
    printf("cache works:  %s%s\n", c->cache_works ? "yes" : "no",
           c->inferred ? " (inferred from TTFT: no cached count reported)"
                       : " (from the server's cached-token count)");
}

typedef struct probe_config {
    spec_api api;
    const char *model, *key_env;
    bool json;              /* --format json (else text) */
    const char *bad_format; /* the last --format when neither, else NULL */
    bool no_cache_check;
    const char *url;
} probe_config;

static kv_status probe_api(void *cfg, const char *arg, char *err)
{
    return dialect_parse(arg, &((probe_config *)cfg)->api, err);
}

/* A bad --format is told by probe_check, as the last --format given and
 * before the URL's rules, as it always was. */
static kv_status probe_format(void *cfg, const char *arg, char *err)
{
    probe_config *c = cfg;
    (void)err;
    c->bad_format = args_pick(arg, "json", "text", &c->json) ? NULL : arg;
    return KV_OK;
}

static const args_opt probe_opts[] = {
    {"api", 0, ARGS_FN, 0, 0, 0, probe_api},
    {"model", 0, ARGS_STR, offsetof(probe_config, model), 0, 0, NULL},
    {"api-key-env", 0, ARGS_STR, offsetof(probe_config, key_env), 0, 0, NULL},
    {"format", 0, ARGS_FN, 0, 0, 0, probe_format},
    {"no-cache-check", 0, ARGS_FLAG, offsetof(probe_config, no_cache_check), 0, 0, NULL},
    {NULL, 0, ARGS_FLAG, 0, 0, 0, NULL},
};

static void probe_defaults(void *cfg)
{
    probe_config *c = cfg;
    c->api = SPEC_API_AUTO;
}

static args_verdict probe_check(void *cfg, int npos, char **pos, char *err)
{
    probe_config *c = cfg;
    if (c->bad_format) {
        snprintf(err, KV_ERRLEN, "--format must be text or json, not '%s'", c->bad_format);
        return ARGS_BAD;
    }
    if (!args_npos(npos, 1, "expected exactly one URL", err))
        return ARGS_BAD_USAGE;
    c->url = pos[0];
    if (strncmp(c->url, "http://", 7) != 0 && strncmp(c->url, "https://", 8) != 0) {
        snprintf(err, KV_ERRLEN, "URL must start with http:// or https://: %s", c->url);
        return ARGS_BAD;
    }
    return ARGS_OK;
}

static int probe_exec(void *cfg)
{
    const probe_config *o = cfg;
    const char *url = o->url;
    bool cache_check = !o->no_cache_check;
    char err[KV_ERRLEN] = "";
    int rc = KV_EXIT_OK;
    client *c = NULL;
    probe_info info = {0};
    probe_cache_result cache = {0};
    char *json = NULL;
    kv_status st = client_new(&c, err);
    if (st != KV_OK)
        goto fail;
    st = probe_detect(c, url, o->api, o->model, o->key_env, &info, err);
    if (st != KV_OK)
        goto fail;
    if (cache_check) {
        st = probe_cache(c, &info, url, o->key_env, &cache, err);
        if (st != KV_OK)
            rc = KV_EXIT_FAILURE; /* the table still shows what happened */
    }
    if (o->json) {
        st = probe_to_json(&info, cache_check ? &cache : NULL, &json, err);
        if (st != KV_OK)
            goto fail;
        printf("%s\n", json);
    } else {
        print_text(url, &info, cache_check ? &cache : NULL);
    }
    if (rc != KV_EXIT_OK)
        fprintf(stderr, "kvproof probe: cache check failed: %s\n", err);
    goto out;
fail:
    fprintf(stderr, "kvproof probe: %s: %s\n", url, err);
    rc = (st == KV_ERR_NET || st == KV_ERR_TIMEOUT) ? KV_EXIT_TARGET : kv_exit_code(st);
out:
    free(json);
    probe_cache_clear(&cache);
    probe_info_clear(&info);
    client_free(c);
    return rc;
}

const args_cmd cmd_probe = ARGS_CMD(probe, probe_config, probe_opts, .defaults = probe_defaults);
