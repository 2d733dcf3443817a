#!/bin/sh
# bench_concurrency.sh - trials per second of `kvproof run` against the
# reference server at a given concurrency (a benchmark, not a test).
#
#   bench/bench_concurrency.sh [KVPROOF_BIN] [CONCURRENCY] [TRIALS]
#
# Starts `kvproof serve` (slots = concurrency, time scale 0.001, small
# prompts), runs a spec of TRIALS trials (cold and warm, 2 cells sizes) three
# times and prints each run's trials/s (from the trials' start times in the
# journal, so analysis and report are not counted) and their median.
set -eu
BIN=${1:-build/kvproof}
CONC=${2:-64}
TRIALS=${3:-4000}
TMP=$(mktemp -d /tmp/kvproof-benchconc-XXXXXX)
trap 'kill $SRV 2>/dev/null || true; rm -rf "$TMP"' EXIT INT TERM
"$BIN" serve --port 0 --slots "$CONC" --time-scale 0.001 --cv 0 >"$TMP/serve.log" 2>&1 &
SRV=$!
for i in $(seq 1 100); do
    grep -q listening "$TMP/serve.log" && break
    sleep 0.05
done
URL=$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$TMP/serve.log" | head -1)
REPS=$((TRIALS / 8))
cat >"$TMP/spec.json" <<SPEC
{"name": "bench-concurrency", "seed": 5,
 "targets": [{"name": "ref", "base_url": "$URL", "api": "llama.cpp"}],
 "workload": {"system_prompt_tokens": [32, 64], "query_tokens": [5, 9], "max_output_tokens": 2},
 "cache_modes": ["cold", "warm"], "repetitions": $REPS,
 "warmup_requests": 0, "retries": 1, "concurrency": $CONC}
SPEC
RATES=""
for run in 1 2 3; do
    rm -rf "$TMP/out"
    "$BIN" run "$TMP/spec.json" --out "$TMP/out" --quiet >"$TMP/run.log" 2>&1 || true
    # Steady rate: trials between the first and the last trial's start.
    R=$(grep -o '"started_unix":[0-9.e+]*' "$TMP/out/journal.jsonl" | cut -d: -f2 | sort -g |
        awk 'NR == 1 {a = $1} {b = $1; n = NR} END {printf "%.0f", (n - 1) / (b - a)}')
    N=$(($(wc -l <"$TMP/out/journal.jsonl") - 1))
    echo "run $run: $N trials, $R trials/s"
    RATES="$RATES $R"
done
echo "$RATES" | tr ' ' '\n' | grep . | sort -n | sed -n 2p | sed "s/^/median trials\/s at concurrency $CONC: /"
