/* cmd_export.c - 'kvproof export DIR|JOURNAL... --format csv [-o FILE]':
 * every journal field flattened into one CSV row per request turn (RFC 4180:
 * CRLF line ends, fields with a comma, quote or line break quoted, quotes
 * doubled), for pandas, R or a spreadsheet. Divided into: the columns, the
 * field writers, one journal's rows, and the command. */
#include <stddef.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/analyze.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "common/status.h"
#include "experiments/journal.h"
#include "experiments/spec.h"

/* The columns, in order: the journal header's, the trial's (trial_ and
 * error fields renamed where a turn has the same name), the turn's. */
static const char *const export_columns[] = {"journal",
                                             "client_host",
                                             "spec_name",
                                             "spec_hash",
                                             "seed",
                                             "kvproof_version",
                                             "plan_index",
                                             "id",
                                             "kind",
                                             "target",
                                             "target_name",
                                             "cell",
                                             "system_prompt_tokens",
                                             "query_tokens",
                                             "query_count",
                                             "mode",
                                             "repetition",
                                             "run_position",
                                             "started_unix",
                                             "trial_ok",
                                             "trial_error",
                                             "contaminated",
                                             "turn",
                                             "attempts",
                                             "ok",
                                             "error",
                                             "http_status",
                                             "prompt_tokens",
                                             "cached_tokens",
                                             "prefix_tokens",
                                             "output_tokens",
                                             "cache_state",
                                             "ttfb_ms",
                                             "ttft_ms",
                                             "first_content_ms",
                                             "last_token_ms",
                                             "total_ms",
                                             "gap_median_ms",
                                             "gap_p99_ms",
                                             "server_prefill_ms",
                                             "server_overhead_us",
                                             "agent",
                                             "agent_position",
                                             "slot_held",
                                             "hit",
                                             "after_resume",
                                             "raw"};

static const char *const cache_states[] = {"unknown", "verified", "inferred", "contaminated"};

/* ---- field writers -------------------------------------------------------- */

/* One field, quoted when it holds a comma, quote, CR or LF (RFC 4180). */
static void put_str(FILE *f, const char *s, bool last)
{
    if (!s)
        s = "";
    if (strpbrk(s, ",\"\r\n")) {
        fputc('"', f);
        for (const char *p = s; *p; p++) {
            if (*p == '"')
                fputc('"', f);
            fputc(*p, f);
        }
        fputc('"', f);
    } else {
        fputs(s, f);
    }
    fputs(last ? "\r\n" : ",", f);
}

static void put_long(FILE *f, long long v)
{
    fprintf(f, "%lld,", v);
}

static void put_bool(FILE *f, bool v)
{
    fputs(v ? "true," : "false,", f);
}

/* The fewest digits (15 to 17) that read back to the same double; empty
 * for NaN (the journal's null). */
static void put_num(FILE *f, double v)
{
    if (!isfinite(v)) {
        fputc(',', f);
        return;
    }
    char buf[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    fprintf(f, "%s,", buf);
}

/* ---- rows ----------------------------------------------------------------- */

static void header_fields(FILE *f, const char *path, const journal_header *h)
{
    char hash[17], seed[24];
    snprintf(hash, sizeof hash, "%016llx", (unsigned long long)h->spec_hash);
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)h->seed);
    put_str(f, path, false);
    put_str(f, h->client_host, false);
    put_str(f, h->spec_name, false);
    put_str(f, hash, false);
    put_str(f, seed, false);
    put_str(f, h->kvproof_version, false);
}

static void trial_fields(FILE *f, const trial_record *t)
{
    put_long(f, (long long)t->plan_index);
    put_str(f, t->id, false);
    put_str(f,
            t->kind == PLAN_WARMUP       ? "warmup"
            : t->kind == PLAN_CONTENTION ? "contention"
                                         : "measure",
            false);
    put_long(f, (long long)t->target);
    put_str(f, t->target_name, false);
    put_long(f, (long long)t->cell);
    put_long(f, t->system_prompt_tokens);
    put_long(f, t->query_tokens);
    put_long(f, t->query_count);
    put_str(f, spec_cache_mode_name(t->mode), false);
    put_long(f, t->repetition);
    put_long(f, (long long)t->run_position);
    put_num(f, t->started_unix);
    put_bool(f, t->ok);
    put_str(f, t->error, false);
    put_bool(f, t->contaminated);
}

static void turn_fields(FILE *f, const trial_request *q)
{
    put_long(f, q->turn);
    put_long(f, q->attempts);
    put_bool(f, q->ok);
    put_str(f, q->error, false);
    put_long(f, q->http_status);
    put_long(f, q->prompt_tokens);
    put_long(f, q->cached_tokens);
    put_long(f, q->prefix_tokens);
    put_long(f, q->output_tokens);
    unsigned cs = (unsigned)q->cache_state;
    put_str(f, cs < sizeof cache_states / sizeof cache_states[0] ? cache_states[cs] : "unknown",
            false);
    put_num(f, q->ttfb_ms);
    put_num(f, q->ttft_ms);
    put_num(f, q->first_content_ms);
    put_num(f, q->last_token_ms);
    put_num(f, q->total_ms);
    put_num(f, q->gap_median_ms);
    put_num(f, q->gap_p99_ms);
    put_num(f, q->server_prefill_ms);
    put_num(f, q->server_overhead_us);
    if (q->in_contention) { /* docs/journal.md, "Contention fields" */
        put_long(f, q->agent);
        put_long(f, q->agent_position);
        put_str(f, trial_slot_held_name(q->slot_held), false);
        put_str(f, trial_hit_name(q->hit), false);
        put_bool(f, q->after_resume);
    } else {
        fputs(",,,,,", f);
    }
    put_str(f, q->raw, true);
}

/* One journal's rows: one per turn of every trial, in file order. */
static size_t journal_rows(FILE *f, const char *path, const journal_data *d)
{
    size_t rows = 0;
    for (size_t i = 0; i < d->n_trials; i++) {
        const trial_record *t = &d->trials[i];
        for (size_t k = 0; k < t->n_turns; k++) {
            header_fields(f, path, &d->header);
            trial_fields(f, t);
            turn_fields(f, &t->turns[k]);
            rows++;
        }
    }
    return rows;
}

/* ---- the command ---------------------------------------------------------- */

static void export_usage(FILE *f)
{
    fprintf(f, "usage: kvproof export DIR|JOURNAL... --format csv [-o FILE]\n\n"
               "Writes every field of the journals as CSV, one row per request turn (a\n"
               "session trial of 10 queries gives 10 rows), for pandas, R or a spreadsheet.\n"
               "Header, trial and turn fields are flattened into columns (docs/journal.md;\n"
               "the trial's ok and error are trial_ok and trial_error); a time the journal\n"
               "holds as null is an empty field; `raw` is the server's JSON text. RFC 4180:\n"
               "CRLF line ends, quoted fields where needed. DIR stands for DIR/journal.jsonl.\n\n"
               "options:\n"
               "  --format csv   the output format (only csv)\n"
               "  -o, --output FILE  write to FILE instead of stdout\n");
}

/* Loads every journal first, so a bad one leaves the output empty. */
static int export_all(char **args, int n, FILE *out)
{
    journal_data **ds = calloc((size_t)n, sizeof *ds);
    char(*paths)[4096] = calloc((size_t)n, sizeof *paths);
    int code = KV_EXIT_OK;
    if (!ds || !paths) {
        free(ds);
        free(paths);
        fprintf(stderr, "kvproof export: out of memory\n");
        return KV_EXIT_FAILURE;
    }
    for (int i = 0; code == KV_EXIT_OK && i < n; i++) {
        char err[KV_ERRLEN] = "";
        analyze_journal_arg(args[i], paths[i], sizeof paths[i]); /* too long: cut short */
        kv_status st = journal_load(paths[i], &ds[i], err);
        if (st != KV_OK) {
            fprintf(stderr, "kvproof export: %s\n", err);
            code = kv_exit_code(st);
        }
    }
    size_t nc = sizeof export_columns / sizeof export_columns[0];
    for (size_t c = 0; code == KV_EXIT_OK && c < nc; c++)
        put_str(out, export_columns[c], c + 1 == nc);
    for (int i = 0; code == KV_EXIT_OK && i < n; i++)
        journal_rows(out, paths[i], ds[i]);
    for (int i = 0; i < n; i++)
        journal_data_free(ds[i]);
    free(ds);
    free(paths);
    return code;
}

typedef struct export_config {
    const char *format;
    const char *output;
    int n;
    char **inputs;
} export_config;

static const args_opt export_opts[] = {
    {"format", 'f', ARGS_STR, offsetof(export_config, format), 0, 0, NULL},
    {"output", 'o', ARGS_STR, offsetof(export_config, output), 0, 0, NULL},
    {NULL, 0, ARGS_FLAG, 0, 0, 0, NULL},
};

static void export_defaults(void *cfg)
{
    ((export_config *)cfg)->format = "csv";
}

static args_verdict export_check(void *cfg, int npos, char **pos, char *err)
{
    export_config *c = cfg;
    if (strcmp(c->format, "csv") != 0 || npos <= 0) {
        snprintf(err, KV_ERRLEN, "%s",
                 npos <= 0 ? "missing DIR or JOURNAL" : "--format: only csv is offered");
        return ARGS_BAD_USAGE;
    }
    c->n = npos;
    c->inputs = pos;
    return ARGS_OK;
}

static int export_exec(void *cfg)
{
    const export_config *c = cfg;
    FILE *out = c->output ? fopen(c->output, "w") : stdout;
    if (!out) {
        fprintf(stderr, "kvproof export: %s: cannot write\n", c->output);
        return KV_EXIT_FAILURE;
    }
    int code = export_all(c->inputs, c->n, out);
    if (fflush(out) != 0 && code == KV_EXIT_OK) {
        fprintf(stderr, "kvproof export: %s: write failed\n", c->output ? c->output : "stdout");
        code = KV_EXIT_FAILURE;
    }
    if (c->output && fclose(out) != 0 && code == KV_EXIT_OK)
        code = KV_EXIT_FAILURE;
    return code;
}

const args_cmd cmd_export = ARGS_CMD(export, export_config, export_opts,
                                     .defaults = export_defaults, .unknown = ARGS_SEE_HELP);
