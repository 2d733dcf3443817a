/* cmd_demo.c - 'kvproof demo': the built-in experiment
 * (data/experiments/kv-cache-hypothesis.json) against the reference server
 * started in process on an ephemeral port, with a time scale that makes the
 * run take about a minute. Everything it writes says SIMULATED TARGET. An
 * earlier demo directory is moved aside (DIR.1, DIR.2, ...), never deleted. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/commands.h"
#include "cli/run_common.h"
#include "common/status.h"
#include "experiments/plan.h"
#include "experiments/runner.h"
#include "experiments/spec.h"
#include "server/costmodel.h"
#include "server/refsrv.h"

#define DEMO_SPEC "data/experiments/kv-cache-hypothesis.json"
#define DEMO_DIR "kvproof-demo"
/* Seconds of simulated server time the demo aims for. */
#define DEMO_TARGET_S 35.0

static void demo_usage(FILE *f)
{
    fprintf(f, "usage: kvproof demo [--out DIR] [--time-scale F] [--dialect llama.cpp|openai]\n"
               "                    [--keep-going] [--quiet]\n\n"
               "Starts kvproof's reference server (a SIMULATED target whose true costs are\n"
               "known) on 127.0.0.1, runs the built-in experiment\n"
               "(" DEMO_SPEC ") against it and writes the journal,\n"
               "results.json and report.pdf to DIR (default " DEMO_DIR "). An existing DIR is\n"
               "moved aside to DIR.1, DIR.2, ... first.\n\n"
               "options:\n"
               "  --out DIR         output directory (default " DEMO_DIR ")\n"
               "  --time-scale F    multiply every simulated duration by F (default: chosen so\n"
               "                    the run takes about a minute)\n"
               "  --dialect D       the server's wire format: llama.cpp (default) or openai\n"
               "  --keep-going      run every trial even after one fails (default: stop, since\n"
               "                    a failure against the built-in server means a bug)\n"
               "  --quiet           no progress on stderr\n");
}

static bool file_exists(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0;
}

static bool find_spec(char *out, size_t n)
{
    if (file_exists(DEMO_SPEC)) {
        snprintf(out, n, "%s", DEMO_SPEC);
        return true;
    }
    const char *roots[2] = {getenv("KVPROOF_SOURCE_DIR"), KVPROOF_SOURCE_DIR};
    for (int i = 0; i < 2; i++) {
        if (!roots[i] || !*roots[i])
            continue;
        snprintf(out, n, "%s/%s", roots[i], DEMO_SPEC);
        if (file_exists(out))
            return true;
    }
    return false;
}

/* Moves an existing output directory to DIR.1, DIR.2, ... */
static kv_status move_aside(const char *dir, char *moved, size_t n, char *err)
{
    moved[0] = '\0';
    if (!file_exists(dir))
        return KV_OK;
    for (int k = 1; k < 10000; k++) {
        snprintf(moved, n, "%s.%d", dir, k);
        if (file_exists(moved))
            continue;
        if (rename(dir, moved) != 0)
            return kv_fail(err, KV_ERR_IO, "cannot move the earlier %s to %s: %s", dir, moved,
                           strerror(errno));
        return KV_OK;
    }
    return kv_fail(err, KV_ERR_IO, "%s.1 ... %s.9999 all exist; remove old demo runs", dir, dir);
}

/* Nominal server time of the whole plan in ms at time scale 1. */
static double plan_cost_ms(const spec *s, const plan *p, const costmodel_params *cp)
{
    double ms = 0;
    for (size_t i = 0; i < p->n_trials; i++) {
        const plan_trial *t = &p->trials[i];
        long long all = 0, fresh = 0;
        plan_trial_tokens(s, t, &all, &fresh);
        long req = t->requests > 0 ? t->requests : 1;
        double per_all = (double)all / (double)req;
        bool warm = t->kind == PLAN_MEASURE && t->mode == SPEC_WARM;
        if (warm) {
            double per_fresh = (double)fresh / (double)req;
            ms += costmodel_prefill_ms(cp, (double)(t->system_prompt_tokens + t->query_tokens), 0);
            ms += (double)(req - 1) *
                  costmodel_prefill_ms(cp, per_fresh, (double)t->system_prompt_tokens);
        } else {
            ms += (double)req * costmodel_prefill_ms(cp, per_all, 0);
        }
        ms += (double)req * (double)s->max_output_tokens * costmodel_decode_ms(cp, per_all);
    }
    return ms;
}

int cmd_demo(int argc, char **argv)
{
    static const struct option opts[] = {{"out", required_argument, NULL, 'o'},
                                         {"time-scale", required_argument, NULL, 't'},
                                         {"dialect", required_argument, NULL, 'd'},
                                         {"keep-going", no_argument, NULL, 'k'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    if (cmd_wants_help(argc, argv)) {
        demo_usage(stdout);
        return KV_EXIT_OK;
    }
    const char *out = DEMO_DIR;
    double scale = NAN;
    bool keep_going = false, quiet = false;
    refsrv_dialect dialect = REFSRV_LLAMACPP;
    spec_api api = SPEC_API_LLAMACPP;
    optind = 1;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, "o:t:d:kqh", opts, NULL)) != -1) {
        switch (ch) {
        case 'o':
            out = optarg;
            break;
        case 't':
            if (!cli_parse_positive(optarg, &scale)) {
                fprintf(stderr, "kvproof demo: --time-scale %s: expected a positive number\n",
                        optarg);
                return KV_EXIT_USAGE;
            }
            break;
        case 'd':
            if (strcmp(optarg, "llama.cpp") == 0 || strcmp(optarg, "llamacpp") == 0) {
                dialect = REFSRV_LLAMACPP;
                api = SPEC_API_LLAMACPP;
            } else if (strcmp(optarg, "openai") == 0) {
                dialect = REFSRV_OPENAI;
                api = SPEC_API_OPENAI_CHAT;
            } else {
                fprintf(stderr, "kvproof demo: --dialect %s: expected llama.cpp or openai\n",
                        optarg);
                return KV_EXIT_USAGE;
            }
            break;
        case 'k':
            keep_going = true;
            break;
        case 'q':
            quiet = true;
            break;
        default:
            fprintf(stderr, "kvproof demo: unknown or incomplete option '%s' (see --help)\n",
                    argv[optind - 1]);
            return KV_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "kvproof demo: unexpected argument '%s' (see --help)\n", argv[optind]);
        return KV_EXIT_USAGE;
    }

    char err[KV_ERRLEN] = "";
    char spec_path[4096], moved[4096];
    spec *s = NULL;
    plan *p = NULL;
    refsrv *srv = NULL;
    int code = KV_EXIT_FAILURE;
    kv_status st;
    if (!find_spec(spec_path, sizeof spec_path)) {
        fprintf(stderr,
                "kvproof demo: cannot find %s (run from the source tree or set "
                "KVPROOF_SOURCE_DIR)\n",
                DEMO_SPEC);
        return KV_EXIT_INPUT;
    }
    st = spec_load(spec_path, &s, err);
    if (st != KV_OK) {
        fprintf(stderr, "kvproof demo: %s\n", err);
        return kv_exit_code(st);
    }
    refsrv_config cfg;
    refsrv_config_default(&cfg);
    cfg.host = "127.0.0.1";
    cfg.port = 0;
    cfg.dialect = dialect;
    cfg.seed = s->seed;
    /* realistic noise: stalls, a slow first request, drift - the report
     * shows how they are found and handled */
    if (!costmodel_preset("laptop", &cfg.cost) || !costmodel_noise_preset("realistic", &cfg.cost)) {
        fprintf(stderr, "kvproof demo: the cost model has no 'laptop' preset\n");
        goto out;
    }
    if (!isfinite(scale)) {
        st = plan_build(s, s->seed, &p, err);
        if (st != KV_OK) {
            fprintf(stderr, "kvproof demo: %s\n", err);
            code = kv_exit_code(st);
            goto out;
        }
        cfg.cost.time_scale = 1.0;
        double ms = plan_cost_ms(s, p, &cfg.cost);
        scale = ms > 0 ? DEMO_TARGET_S * 1000.0 / ms : 1.0;
        if (scale > 1.0)
            scale = 1.0;
        if (scale < 1e-4)
            scale = 1e-4;
        if (!quiet)
            fprintf(stderr,
                    "kvproof demo: %zu trials, %.0f s of nominal server time; time scale %.4g\n",
                    p->n_trials, ms / 1000.0, scale);
    }
    cfg.cost.time_scale = scale;
    st = move_aside(out, moved, sizeof moved, err);
    if (st != KV_OK) {
        fprintf(stderr, "kvproof demo: %s\n", err);
        code = kv_exit_code(st);
        goto out;
    }
    if (moved[0] && !quiet)
        fprintf(stderr, "kvproof demo: moved the earlier %s to %s\n", out, moved);
    st = refsrv_start(&cfg, &srv, err);
    if (st != KV_OK) {
        fprintf(stderr, "kvproof demo: cannot start the reference server: %s\n", err);
        code = kv_exit_code(st);
        goto out;
    }
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", refsrv_port(srv));
    for (size_t i = 0; i < s->n_targets; i++) {
        char *u = strdup(url);
        if (!u) {
            fprintf(stderr, "kvproof demo: out of memory\n");
            goto out;
        }
        free(s->targets[i].base_url);
        s->targets[i].base_url = u;
        s->targets[i].api = api;
    }
    if (!quiet)
        fprintf(stderr, "kvproof demo: SIMULATED TARGET: reference server (%s dialect) at %s\n",
                refsrv_dialect_name(dialect), url);

    runner_options ro;
    memset(&ro, 0, sizeof ro);
    ro.out_dir = out;
    ro.simulated = true;
    ro.stop_on_failure = !keep_going;
    ro.backoff_base_s = 0.05;
    ro.backoff_cap_s = 0.5;
    runner_summary sum;
    cli_outputs outs;
    st = cli_run_with_progress(s, &ro, quiet, &sum, &outs, err);
    code = cli_run_report(stdout, stderr, "demo", NULL, st, &sum, &outs, err, true);
out:
    refsrv_stop(srv);
    plan_free(p);
    spec_free(s);
    return code;
}
