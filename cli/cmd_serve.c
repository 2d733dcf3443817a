/* cmd_serve.c - 'kvproof serve': parses the options, starts the reference
 * server (server/refsrv.h), prints the banner and the listening line, and
 * runs until SIGINT or SIGTERM. */
#include <math.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "common/status.h"
#include "server/costmodel.h"
#include "server/refsrv.h"

static volatile sig_atomic_t serve_stop;

static void on_signal(int sig)
{
    (void)sig;
    serve_stop = 1;
}

static void serve_usage_slots(FILE *f);

static void serve_usage(FILE *f)
{
    fprintf(
        f, "usage: kvproof serve [options]\n\n"
           "Starts the built-in reference LLM server: a SIMULATED target (no model, no GPU) whose\n"
           "true costs are known. It sleeps for the time its cost model gives, reuses cached\n"
           "token prefixes, and answers in one real server's wire format. Every reply carries\n"
           "the header X-Kvproof-Simulated: 1. Runs until SIGINT/SIGTERM. See docs/server.md.\n\n"
           "cost model (milliseconds, before --time-scale):\n"
           "  prefill(n_new, n_cached) = a + b*n_new + c*(n_new*n_cached + n_new^2/2)\n"
           "  each output token after the first = d0 + d1*context\n"
           "  (the first token comes at the end of the prefill)\n"
           "  noise: prefill and each token x log-normal factor (mean 1, coefficient of\n"
           "  variation cv); with probability stall_p a request's prefill stalls: an\n"
           "  added exponential stall (mean stall_ms) or, when stall_x_min > 0, a multiple\n"
           "  of its time drawn bounded-Pareto on [stall_x_min, stall_x_max] with tail\n"
           "  index stall_alpha; a request after idle_ms without requests (and the first)\n"
           "  takes idle_x as long; a slow drift x (1 + drift*sin(2 pi t/drift_period_s)).\n\n"
           "network:\n"
           "  --host ADDR          IPv4 address to bind (default 127.0.0.1)\n"
           "  --port N             port; 0 = ephemeral (default 8080). Prints\n"
           "                       'listening on http://HOST:PORT' once ready\n"
           "  --dialect D          wire format: llama.cpp, vllm, sglang, ollama, lmstudio, mlx,\n"
           "                       openai, anthropic (default llama.cpp)\n"
           "  --model NAME         model name in replies (default kvproof-reference-sim)\n\n"
           "cost model:\n"
           "  --preset P           laptop (default; 18,490-token system prompt ~25 s), gpu, flat\n"
           "  --noise N            lognormal (default: the log-normal body only) or\n"
           "                       realistic (3.5%% stalls of 5-30x, 3x first request after\n"
           "                       5 s idle, 3%% drift over 10 min; cv at least 0.05)\n"
           "  --params FILE        JSON object overriding a, b, c, d0, d1, cv, stall_p,\n"
           "                       stall_ms, stall_x_min, stall_x_max, stall_alpha, idle_ms,\n"
           "                       idle_x, drift, drift_period_s, time_scale (applied after\n"
           "                       --preset and --noise)\n"
           "  --a MS --b MS --c MS --d0 MS --d1 MS\n"
           "                       the coefficients above (applied after --params)\n"
           "  --cv X               noise coefficient of variation (0 = deterministic)\n"
           "  --stall-p P          probability of a prefill stall per request\n"
           "  --stall-ms MS        mean additive stall length\n"
           "  --stall-x-min X --stall-x-max X --stall-alpha A\n"
           "                       multiplicative stalls (stall-x-min 0 = additive)\n"
           "  --idle-ms MS --idle-x X\n"
           "                       slow first request after idle (idle-ms 0 = never)\n"
           "  --drift F --drift-period-s S\n"
           "                       slow drift amplitude and period (drift 0 = none)\n"
           "  --time-scale F       sleep F x model time (e.g. 0.01); replies report the time\n"
           "                       that actually elapsed (default 1)\n"
           "  --seed N             seed of the noise and fault draws (default 1)\n\n");
    serve_usage_slots(f);
}

/* The second half of the help: slots, cache and faults. */
static void serve_usage_slots(FILE *f)
{
    fprintf(f,
            "slots and cache:\n"
            "  --slots N            requests served at once; others queue (default 1). Queue\n"
            "                       time is not prefill time\n"
            "  --cache-tokens N     prefix cache capacity in tokens, LRU (default 262144)\n"
            "  --no-cache           no prefix reuse at all\n"
            "  --cache-mode M       shared (default: one LRU of --cache-tokens for all slots,\n"
            "                       as vLLM/SGLang) or slot (each slot holds its last prompt\n"
            "                       and reply only, as llama.cpp -np N; --cache-tokens unused)\n"
            "  --ram-cache-tokens N slot mode: host-RAM tier (LRU) that keeps what a slot\n"
            "                       held when it is reused, and restores it (default 0 = off)\n"
            "  --restore-ms-per-token MS\n"
            "                       model time per token restored from RAM (default 0.01)\n"
            "  --cache-preset P     shared, llama.cpp (slot mode, no RAM tier) or\n"
            "                       llama.cpp-ram (slot mode, 262144-token RAM tier,\n"
            "                       0.01 ms/token); options are applied in the order given\n"
            "  --ctx N              context window in tokens; longer prompts get 400\n"
            "                       (default 131072)\n"
            "  --reply-tokens N     reply length when the request sets no limit (default 64)\n\n"
            "faults (each drawn per request, seeded; refuse per connection):\n"
            "  --fault KIND[:P]     repeatable; P in [0,1], default 1. KIND is one of:\n"
            "                       refuse (accept, then close), reset (close after\n"
            "                       --fault-reset-after token chunks), http500, http503,\n"
            "                       http429 (Retry-After: 1), stall (headers, then silence\n"
            "                       for --fault-stall-ms), malformed (one broken JSON chunk),\n"
            "                       truncate (no stream terminator / half a body),\n"
            "                       hugeline (one 10 MB line), content-type (text/html),\n"
            "                       drip (one byte at a time, --fault-drip-ms apart)\n"
            "  --fault-reset-after N  token chunks before a reset (default 2)\n"
            "  --fault-stall-ms MS  real length of a stall (default 30000)\n"
            "  --fault-drip-ms MS   real pause between dripped bytes (default 1)\n\n"
            "  -h, --help           this text\n\n"
            "tokenizer: each run of letters/digits is 1 token, each other non-space character\n"
            "1 token, whitespace free; chat prompts add 4 tokens per message + 3.\n"
            "exit codes: 0 stopped by a signal, 1 cannot listen, 2 usage error, 3 bad --params.\n");
}

/* The cost coefficients a single option sets, in the order of serve_coef. */
enum {
    C_A,
    C_B,
    C_C,
    C_D0,
    C_D1,
    C_CV,
    C_STALL_P,
    C_STALL_MS,
    C_STALL_X_MIN,
    C_STALL_X_MAX,
    C_STALL_ALPHA,
    C_IDLE_MS,
    C_IDLE_X,
    C_DRIFT,
    C_DRIFT_PERIOD,
    C_TIME_SCALE,
    C_COUNT
};

static const size_t serve_coef[C_COUNT] = {offsetof(costmodel_params, a),
                                           offsetof(costmodel_params, b),
                                           offsetof(costmodel_params, c),
                                           offsetof(costmodel_params, d0),
                                           offsetof(costmodel_params, d1),
                                           offsetof(costmodel_params, cv),
                                           offsetof(costmodel_params, stall_p),
                                           offsetof(costmodel_params, stall_ms),
                                           offsetof(costmodel_params, stall_x_min),
                                           offsetof(costmodel_params, stall_x_max),
                                           offsetof(costmodel_params, stall_alpha),
                                           offsetof(costmodel_params, idle_ms),
                                           offsetof(costmodel_params, idle_x),
                                           offsetof(costmodel_params, drift),
                                           offsetof(costmodel_params, drift_period_s),
                                           offsetof(costmodel_params, time_scale)};

typedef struct serve_config {
    refsrv_config srv;
    const char *preset, *noise, *params;
    double coef[C_COUNT]; /* NaN: not given; applied after --preset/--params */
    args_u64 seed;
    bool no_cache;
} serve_config;

static kv_status serve_dialect(void *cfg, const char *arg, char *err)
{
    if (refsrv_dialect_parse(arg, &((serve_config *)cfg)->srv.dialect))
        return KV_OK;
    return kv_fail(err, KV_ERR_USAGE,
                   "--dialect %s: expected llama.cpp, vllm, sglang, ollama, lmstudio, mlx, "
                   "openai or anthropic",
                   arg);
}

static kv_status serve_cache_mode(void *cfg, const char *arg, char *err)
{
    bool shared = false;
    if (!args_pick(arg, "shared", "slot", &shared))
        return kv_fail(err, KV_ERR_USAGE, "--cache-mode %s: expected shared or slot", arg);
    ((serve_config *)cfg)->srv.cache_mode = shared ? REFSRV_CACHE_SHARED : REFSRV_CACHE_SLOT;
    return KV_OK;
}

static kv_status serve_cache_preset(void *cfg, const char *arg, char *err)
{
    if (refsrv_cache_preset(arg, &((serve_config *)cfg)->srv))
        return KV_OK;
    return kv_fail(err, KV_ERR_USAGE,
                   "--cache-preset %s: expected shared, llama.cpp or llama.cpp-ram", arg);
}

static kv_status serve_fault(void *cfg, const char *arg, char *err)
{
    return refsrv_fault_parse(arg, &((serve_config *)cfg)->srv, err);
}

#define SRV(f) offsetof(serve_config, srv.f)
#define COEF(i) offsetof(serve_config, coef[i])

static const args_opt serve_opts[] = {
    {"host", 0, ARGS_STR, SRV(host), 0, 0, NULL},
    {"port", 0, ARGS_INT, SRV(port), 0, 65535, NULL},
    {"dialect", 0, ARGS_FN, 0, 0, 0, serve_dialect},
    {"model", 0, ARGS_STR, SRV(model), 0, 0, NULL},
    {"preset", 0, ARGS_STR, offsetof(serve_config, preset), 0, 0, NULL},
    {"params", 0, ARGS_STR, offsetof(serve_config, params), 0, 0, NULL},
    {"a", 0, ARGS_NUM, COEF(C_A), 0, 1e12, NULL},
    {"b", 0, ARGS_NUM, COEF(C_B), 0, 1e12, NULL},
    {"c", 0, ARGS_NUM, COEF(C_C), 0, 1e12, NULL},
    {"d0", 0, ARGS_NUM, COEF(C_D0), 0, 1e12, NULL},
    {"d1", 0, ARGS_NUM, COEF(C_D1), 0, 1e12, NULL},
    {"cv", 0, ARGS_NUM, COEF(C_CV), 0, 1e12, NULL},
    {"stall-p", 0, ARGS_NUM, COEF(C_STALL_P), 0, 1, NULL},
    {"stall-ms", 0, ARGS_NUM, COEF(C_STALL_MS), 0, 1e12, NULL},
    {"stall-x-min", 0, ARGS_NUM, COEF(C_STALL_X_MIN), 0, 1e12, NULL},
    {"stall-x-max", 0, ARGS_NUM, COEF(C_STALL_X_MAX), 0, 1e12, NULL},
    {"stall-alpha", 0, ARGS_NUM, COEF(C_STALL_ALPHA), 0, 1e12, NULL},
    {"idle-ms", 0, ARGS_NUM, COEF(C_IDLE_MS), 0, 1e12, NULL},
    {"idle-x", 0, ARGS_NUM, COEF(C_IDLE_X), 0, 1e12, NULL},
    {"drift", 0, ARGS_NUM, COEF(C_DRIFT), 0, 1, NULL},
    {"drift-period-s", 0, ARGS_NUM, COEF(C_DRIFT_PERIOD), 0, 1e12, NULL},
    {"noise", 0, ARGS_STR, offsetof(serve_config, noise), 0, 0, NULL},
    {"time-scale", 0, ARGS_NUM, COEF(C_TIME_SCALE), 0, 1e12, NULL},
    {"seed", 0, ARGS_U64, offsetof(serve_config, seed), 0, 0, NULL},
    {"slots", 0, ARGS_INT, SRV(slots), 1, 1024, NULL},
    {"cache-tokens", 0, ARGS_LONG, SRV(cache_tokens), 0, 1e10, NULL},
    {"no-cache", 0, ARGS_FLAG, offsetof(serve_config, no_cache), 0, 0, NULL},
    {"cache-mode", 0, ARGS_FN, 0, 0, 0, serve_cache_mode},
    {"cache-preset", 0, ARGS_FN, 0, 0, 0, serve_cache_preset},
    {"ram-cache-tokens", 0, ARGS_LONG, SRV(ram_cache_tokens), 0, 1e10, NULL},
    {"restore-ms-per-token", 0, ARGS_NUM, SRV(restore_ms_per_token), 0, 1e6, NULL},
    {"ctx", 0, ARGS_LONG, SRV(ctx_tokens), 1, 1e9, NULL},
    {"reply-tokens", 0, ARGS_LONG, SRV(reply_tokens), 0, 1e7, NULL},
    {"fault", 0, ARGS_FN, 0, 0, 0, serve_fault},
    {"fault-reset-after", 0, ARGS_LONG, SRV(fault_reset_after), 0, 1e9, NULL},
    {"fault-stall-ms", 0, ARGS_NUM, SRV(fault_stall_ms), 0, 1e9, NULL},
    {"fault-drip-ms", 0, ARGS_NUM, SRV(fault_drip_ms), 0, 1e6, NULL},
    {NULL, 0, ARGS_FLAG, 0, 0, 0, NULL},
};

static void serve_defaults(void *cfg)
{
    serve_config *c = cfg;
    refsrv_config_default(&c->srv);
    c->srv.port = 8080;
    c->preset = "laptop";
    c->noise = "lognormal";
    for (int i = 0; i < C_COUNT; i++)
        c->coef[i] = NAN;
}

static args_verdict serve_check(void *cfg, int npos, char **pos, char *err)
{
    serve_config *c = cfg;
    if (npos > 0) {
        snprintf(err, KV_ERRLEN, "unexpected argument '%s'", pos[0]);
        return ARGS_BAD;
    }
    if (c->seed.set)
        c->srv.seed = c->seed.v;
    if (c->no_cache)
        c->srv.cache_enabled = false;
    return ARGS_OK;
}

/* The cost model in order: --preset, --noise, --params, then single flags.
 * Returns 0 or the exit code. */
static int serve_cost(const serve_config *c, costmodel_params *cost)
{
    const char *preset = c->preset, *noise = c->noise, *params = c->params;
    char err[KV_ERRLEN] = "";
    if (!costmodel_preset(preset, cost)) {
        fprintf(stderr, "kvproof serve: --preset %s: expected laptop, gpu or flat\n", preset);
        return KV_EXIT_USAGE;
    }
    if (!costmodel_noise_preset(noise, cost)) {
        fprintf(stderr, "kvproof serve: --noise %s: expected lognormal or realistic\n", noise);
        return KV_EXIT_USAGE;
    }
    if (params && costmodel_params_load(params, cost, err) != KV_OK) {
        fprintf(stderr, "kvproof serve: %s\n", err);
        return KV_EXIT_INPUT;
    }
    for (int i = 0; i < C_COUNT; i++)
        if (!isnan(c->coef[i]))
            *(double *)((char *)cost + serve_coef[i]) = c->coef[i];
    return 0;
}

static void serve_banner(const refsrv_config *cfg, const char *preset, const char *noise)
{
    const costmodel_params *p = &cfg->cost;
    printf("kvproof reference server %s - SIMULATED target: no model runs here; every reply\n"
           "is labelled (header X-Kvproof-Simulated: 1, model %s).\n"
           "dialect %s, preset %s, noise %s, slots %d, prefix cache %s (%s, %ld tokens, RAM tier "
           "%ld tokens at %g ms/token), seed %llu\n"
           "cost model: prefill = %g + %g*n_new + %g*(n_new*n_cached + n_new^2/2) ms, "
           "token = %g + %g*context ms, cv %g, stall p %g mean %g ms, time scale %g\n",
           KVPROOF_VERSION, cfg->model, refsrv_dialect_name(cfg->dialect), preset, noise,
           cfg->slots, cfg->cache_enabled ? "on" : "off",
           cfg->cache_mode == REFSRV_CACHE_SLOT ? "per slot" : "shared", cfg->cache_tokens,
           cfg->ram_cache_tokens, cfg->restore_ms_per_token, (unsigned long long)cfg->seed, p->a,
           p->b, p->c, p->d0, p->d1, p->cv, p->stall_p, p->stall_ms, p->time_scale);
    if (p->stall_x_min > 0 || p->idle_ms > 0 || p->drift > 0)
        printf("noise: stalls x%g..%g (tail index %g), idle %g ms -> x%g, drift %g over %g s\n",
               p->stall_x_min, p->stall_x_max, p->stall_alpha, p->idle_ms, p->idle_x, p->drift,
               p->drift_period_s);
    for (int i = 0; i < REFSRV_FAULT_COUNT; i++)
        if (cfg->fault_p[i] > 0)
            printf("fault %s with probability %g\n", refsrv_fault_name((refsrv_fault)i),
                   cfg->fault_p[i]);
}

static void serve_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static int serve_exec(void *cfg)
{
    serve_config *c = cfg;
    int rc = serve_cost(c, &c->srv.cost);
    if (rc != 0)
        return rc;
    /* refsrv_start checks the rest (host, slots, time scale): KV_ERR_USAGE. */
    serve_signals();
    char err[KV_ERRLEN] = "";
    refsrv *srv = NULL;
    kv_status st = refsrv_start(&c->srv, &srv, err);
    if (st != KV_OK) {
        fprintf(stderr, "kvproof serve: %s\n", err[0] ? err : kv_strerror(st));
        return st == KV_ERR_USAGE ? KV_EXIT_USAGE : KV_EXIT_FAILURE;
    }
    serve_banner(&c->srv, c->preset, c->noise);
    printf("listening on http://%s:%d\n", c->srv.host, refsrv_port(srv));
    fflush(stdout);
    while (!serve_stop) {
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
    refsrv_stop(srv);
    printf("stopped\n");
    return KV_EXIT_OK;
}

const args_cmd cmd_serve =
    ARGS_CMD(serve, serve_config, serve_opts, .defaults = serve_defaults,
             .unknown = "bad option '%s' (see --help)", .help_in_order = true);
