/* cmd_serve.c - 'kvproof serve': parses the options, starts the reference
 * server (server/refsrv.h), prints the banner and the listening line, and
 * runs until SIGINT or SIGTERM. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/commands.h"
#include "common/status.h"
#include "server/refsrv.h"

static volatile sig_atomic_t serve_stop;

static void on_signal(int sig)
{
    (void)sig;
    serve_stop = 1;
}

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
           "  --seed N             seed of the noise and fault draws (default 1)\n\n"
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

enum {
    OPT_HOST = 256,
    OPT_PORT,
    OPT_DIALECT,
    OPT_MODEL,
    OPT_PRESET,
    OPT_PARAMS,
    OPT_A,
    OPT_B,
    OPT_C,
    OPT_D0,
    OPT_D1,
    OPT_CV,
    OPT_STALL_P,
    OPT_STALL_MS,
    OPT_STALL_X_MIN,
    OPT_STALL_X_MAX,
    OPT_STALL_ALPHA,
    OPT_IDLE_MS,
    OPT_IDLE_X,
    OPT_DRIFT,
    OPT_DRIFT_PERIOD,
    OPT_TIME_SCALE,
    OPT_NOISE,
    OPT_SEED,
    OPT_SLOTS,
    OPT_CACHE_TOKENS,
    OPT_NO_CACHE,
    OPT_CACHE_MODE,
    OPT_CACHE_PRESET,
    OPT_RAM_CACHE,
    OPT_RESTORE_MS,
    OPT_CTX,
    OPT_REPLY_TOKENS,
    OPT_FAULT,
    OPT_FAULT_RESET_AFTER,
    OPT_FAULT_STALL_MS,
    OPT_FAULT_DRIP_MS
};

static const struct option serve_opts[] = {
    {"host", required_argument, NULL, OPT_HOST},
    {"port", required_argument, NULL, OPT_PORT},
    {"dialect", required_argument, NULL, OPT_DIALECT},
    {"model", required_argument, NULL, OPT_MODEL},
    {"preset", required_argument, NULL, OPT_PRESET},
    {"params", required_argument, NULL, OPT_PARAMS},
    {"a", required_argument, NULL, OPT_A},
    {"b", required_argument, NULL, OPT_B},
    {"c", required_argument, NULL, OPT_C},
    {"d0", required_argument, NULL, OPT_D0},
    {"d1", required_argument, NULL, OPT_D1},
    {"cv", required_argument, NULL, OPT_CV},
    {"stall-p", required_argument, NULL, OPT_STALL_P},
    {"stall-ms", required_argument, NULL, OPT_STALL_MS},
    {"stall-x-min", required_argument, NULL, OPT_STALL_X_MIN},
    {"stall-x-max", required_argument, NULL, OPT_STALL_X_MAX},
    {"stall-alpha", required_argument, NULL, OPT_STALL_ALPHA},
    {"idle-ms", required_argument, NULL, OPT_IDLE_MS},
    {"idle-x", required_argument, NULL, OPT_IDLE_X},
    {"drift", required_argument, NULL, OPT_DRIFT},
    {"drift-period-s", required_argument, NULL, OPT_DRIFT_PERIOD},
    {"noise", required_argument, NULL, OPT_NOISE},
    {"time-scale", required_argument, NULL, OPT_TIME_SCALE},
    {"seed", required_argument, NULL, OPT_SEED},
    {"slots", required_argument, NULL, OPT_SLOTS},
    {"cache-tokens", required_argument, NULL, OPT_CACHE_TOKENS},
    {"no-cache", no_argument, NULL, OPT_NO_CACHE},
    {"cache-mode", required_argument, NULL, OPT_CACHE_MODE},
    {"cache-preset", required_argument, NULL, OPT_CACHE_PRESET},
    {"ram-cache-tokens", required_argument, NULL, OPT_RAM_CACHE},
    {"restore-ms-per-token", required_argument, NULL, OPT_RESTORE_MS},
    {"ctx", required_argument, NULL, OPT_CTX},
    {"reply-tokens", required_argument, NULL, OPT_REPLY_TOKENS},
    {"fault", required_argument, NULL, OPT_FAULT},
    {"fault-reset-after", required_argument, NULL, OPT_FAULT_RESET_AFTER},
    {"fault-stall-ms", required_argument, NULL, OPT_FAULT_STALL_MS},
    {"fault-drip-ms", required_argument, NULL, OPT_FAULT_DRIP_MS},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}};

static int parse_num(const char *opt, const char *arg, double lo, double hi, double *out)
{
    char *end = NULL;
    double v = strtod(arg, &end);
    if (end == arg || *end != '\0' || !(v >= lo && v <= hi)) {
        fprintf(stderr, "kvproof serve: --%s %s: expected a number in [%g, %g]\n", opt, arg, lo,
                hi);
        return 0;
    }
    *out = v;
    return 1;
}

/* Coefficient options are remembered and applied after --preset/--params. */
typedef struct cost_override {
    double *field;
    double value;
} cost_override;

/* The cost model in order: --preset, --noise, --params, then single flags.
 * Returns 0 or the exit code. */
static int serve_cost(const char *preset, const char *noise, const char *params,
                      const cost_override *ov, size_t n_ov, costmodel_params *cost)
{
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
    for (size_t i = 0; i < n_ov; i++)
        *ov[i].field = ov[i].value;
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

int cmd_serve(int argc, char **argv)
{
    refsrv_config cfg;
    refsrv_config_default(&cfg);
    cfg.port = 8080;
    const char *preset = "laptop", *noise = "lognormal", *params = NULL;
    cost_override ov[32];
    size_t n_ov = 0;
    char err[KV_ERRLEN] = "";
    double v = 0;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", serve_opts, NULL)) != -1) {
        const char *name = optind > 1 ? argv[optind - 1] : "";
        if (c == 'h') {
            serve_usage(stdout);
            return KV_EXIT_OK;
        }
        if (c == '?' || c == ':') {
            fprintf(stderr, "kvproof serve: bad option '%s' (see --help)\n", name);
            return KV_EXIT_USAGE;
        }
        const char *opt = serve_opts[0].name;
        for (size_t i = 0; serve_opts[i].name; i++)
            if (serve_opts[i].val == c)
                opt = serve_opts[i].name;
        switch (c) {
        case OPT_HOST:
            cfg.host = optarg;
            break;
        case OPT_PORT:
            if (!parse_num(opt, optarg, 0, 65535, &v))
                return KV_EXIT_USAGE;
            cfg.port = (int)v;
            break;
        case OPT_DIALECT:
            if (!refsrv_dialect_parse(optarg, &cfg.dialect)) {
                fprintf(stderr,
                        "kvproof serve: --dialect %s: expected llama.cpp, vllm, sglang, ollama, "
                        "lmstudio, mlx, openai or anthropic\n",
                        optarg);
                return KV_EXIT_USAGE;
            }
            break;
        case OPT_MODEL:
            cfg.model = optarg;
            break;
        case OPT_PRESET:
            preset = optarg;
            break;
        case OPT_PARAMS:
            params = optarg;
            break;
        case OPT_NOISE:
            noise = optarg;
            break;
        case OPT_A:
        case OPT_B:
        case OPT_C:
        case OPT_D0:
        case OPT_D1:
        case OPT_CV:
        case OPT_STALL_P:
        case OPT_STALL_MS:
        case OPT_STALL_X_MIN:
        case OPT_STALL_X_MAX:
        case OPT_STALL_ALPHA:
        case OPT_IDLE_MS:
        case OPT_IDLE_X:
        case OPT_DRIFT:
        case OPT_DRIFT_PERIOD:
        case OPT_TIME_SCALE: {
            double *fields[] = {
                &cfg.cost.a,           &cfg.cost.b,           &cfg.cost.c,
                &cfg.cost.d0,          &cfg.cost.d1,          &cfg.cost.cv,
                &cfg.cost.stall_p,     &cfg.cost.stall_ms,    &cfg.cost.stall_x_min,
                &cfg.cost.stall_x_max, &cfg.cost.stall_alpha, &cfg.cost.idle_ms,
                &cfg.cost.idle_x,      &cfg.cost.drift,       &cfg.cost.drift_period_s,
                &cfg.cost.time_scale};
            double hi = c == OPT_STALL_P || c == OPT_DRIFT ? 1 : 1e12;
            if (!parse_num(opt, optarg, 0, hi, &v) || n_ov == sizeof ov / sizeof ov[0])
                return KV_EXIT_USAGE;
            ov[n_ov].field = fields[c - OPT_A];
            ov[n_ov++].value = v;
            break;
        }
        case OPT_SEED:
            if (!parse_num(opt, optarg, 0, 9e15, &v))
                return KV_EXIT_USAGE;
            cfg.seed = (uint64_t)v;
            break;
        case OPT_SLOTS:
            if (!parse_num(opt, optarg, 1, 1024, &v))
                return KV_EXIT_USAGE;
            cfg.slots = (int)v;
            break;
        case OPT_CACHE_TOKENS:
            if (!parse_num(opt, optarg, 0, 1e10, &v))
                return KV_EXIT_USAGE;
            cfg.cache_tokens = (long)v;
            break;
        case OPT_NO_CACHE:
            cfg.cache_enabled = false;
            break;
        case OPT_CACHE_MODE:
            if (strcmp(optarg, "shared") != 0 && strcmp(optarg, "slot") != 0) {
                fprintf(stderr, "kvproof serve: --cache-mode %s: expected shared or slot\n",
                        optarg);
                return KV_EXIT_USAGE;
            }
            cfg.cache_mode = optarg[1] == 'h' ? REFSRV_CACHE_SHARED : REFSRV_CACHE_SLOT;
            break;
        case OPT_CACHE_PRESET:
            if (!refsrv_cache_preset(optarg, &cfg)) {
                fprintf(stderr,
                        "kvproof serve: --cache-preset %s: expected shared, llama.cpp or "
                        "llama.cpp-ram\n",
                        optarg);
                return KV_EXIT_USAGE;
            }
            break;
        case OPT_RAM_CACHE:
            if (!parse_num(opt, optarg, 0, 1e10, &v))
                return KV_EXIT_USAGE;
            cfg.ram_cache_tokens = (long)v;
            break;
        case OPT_RESTORE_MS:
            if (!parse_num(opt, optarg, 0, 1e6, &v))
                return KV_EXIT_USAGE;
            cfg.restore_ms_per_token = v;
            break;
        case OPT_CTX:
            if (!parse_num(opt, optarg, 1, 1e9, &v))
                return KV_EXIT_USAGE;
            cfg.ctx_tokens = (long)v;
            break;
        case OPT_REPLY_TOKENS:
            if (!parse_num(opt, optarg, 0, 1e7, &v))
                return KV_EXIT_USAGE;
            cfg.reply_tokens = (long)v;
            break;
        case OPT_FAULT:
            if (refsrv_fault_parse(optarg, &cfg, err) != KV_OK) {
                fprintf(stderr, "kvproof serve: %s\n", err);
                return KV_EXIT_USAGE;
            }
            break;
        case OPT_FAULT_RESET_AFTER:
            if (!parse_num(opt, optarg, 0, 1e9, &v))
                return KV_EXIT_USAGE;
            cfg.fault_reset_after = (long)v;
            break;
        case OPT_FAULT_STALL_MS:
            if (!parse_num(opt, optarg, 0, 1e9, &v))
                return KV_EXIT_USAGE;
            cfg.fault_stall_ms = v;
            break;
        case OPT_FAULT_DRIP_MS:
            if (!parse_num(opt, optarg, 0, 1e6, &v))
                return KV_EXIT_USAGE;
            cfg.fault_drip_ms = v;
            break;
        default:
            return KV_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "kvproof serve: unexpected argument '%s'\n", argv[optind]);
        return KV_EXIT_USAGE;
    }
    int rc = serve_cost(preset, noise, params, ov, n_ov, &cfg.cost);
    if (rc != 0)
        return rc;
    /* refsrv_start checks the rest (host, slots, time scale): KV_ERR_USAGE. */

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    refsrv *srv = NULL;
    kv_status st = refsrv_start(&cfg, &srv, err);
    if (st != KV_OK) {
        fprintf(stderr, "kvproof serve: %s\n", err[0] ? err : kv_strerror(st));
        return st == KV_ERR_USAGE ? KV_EXIT_USAGE : KV_EXIT_FAILURE;
    }
    serve_banner(&cfg, preset, noise);
    printf("listening on http://%s:%d\n", cfg.host, refsrv_port(srv));
    fflush(stdout);
    while (!serve_stop) {
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
    refsrv_stop(srv);
    printf("stopped\n");
    return KV_EXIT_OK;
}
