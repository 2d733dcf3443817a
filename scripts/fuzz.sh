#!/usr/bin/env bash
# Runs kvproof's libFuzzer targets (fuzz/fuzz_*.c) one after the other.
#
#   scripts/fuzz.sh TARGET|all SECONDS [libFuzzer options...]
#
# TARGET is a name from fuzz/ without the fuzz_ prefix (spec, sse, ndjson,
# journal_header, journal_trial, results, points, csv, report). Builds build-fuzz
# with clang (-DKVPROOF_FUZZ=ON: ASan + UBSan + libFuzzer) unless
# KVPROOF_FUZZ_NOBUILD=1. Each target starts from its committed corpus
# fuzz/corpus/TARGET/ (never written to); what it finds goes to
# build-fuzz/corpus/TARGET/, crashes to build-fuzz/artifacts/TARGET/; JSON
# targets get a dictionary from fuzz/dict/.
# The report target is followed by a replay step: every input of its corpus
# is run once more, the PDFs are kept and each must pass qpdf --check and
# pdftotext without a warning. Every target runs; the exit status is non-zero
# when any of them crashed or left a bad PDF.
# Runs at nice 10.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
    echo "usage: scripts/fuzz.sh TARGET|all SECONDS [libFuzzer options...]" >&2
    echo "targets: $(ls fuzz/fuzz_*.c | sed 's|fuzz/fuzz_||; s|\.c$||' | tr '\n' ' ')" >&2
    exit 2
}
[ $# -ge 2 ] || usage
target=$1
seconds=$2
shift 2
case $seconds in '' | *[!0-9]*) usage ;; esac

if [ "$target" = all ]; then
    targets=$(ls fuzz/fuzz_*.c | sed 's|fuzz/fuzz_||; s|\.c$||')
else
    [ -f "fuzz/fuzz_$target.c" ] || usage
    targets=$target
fi

if [ "${KVPROOF_FUZZ_NOBUILD:-0}" != 1 ]; then
    cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DKVPROOF_FUZZ=ON -DKVPROOF_WERROR=ON \
        >/dev/null
    cmake --build build-fuzz --target fuzz -j2 >/dev/null
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# Runs fuzz_report over its corpus once, keeping the PDFs, and checks each.
replay_report() {
    local pdfs
    pdfs=$(mktemp -d)
    find build-fuzz/corpus/report fuzz/corpus/report -type f -print0 |
        KVPROOF_FUZZ_PDF_DIR=$pdfs xargs -0 -r -n 200 nice -n 10 build-fuzz/fuzz/fuzz_report \
            >/dev/null 2>&1
    local n=0 bad=0
    for pdf in "$pdfs"/*.pdf; do
        [ -e "$pdf" ] || continue
        n=$((n + 1))
        if ! out=$(qpdf --check "$pdf" 2>&1) || printf '%s' "$out" | grep -q WARNING; then
            echo "fuzz report: qpdf --check fails on $pdf:" >&2
            printf '%s\n' "$out" | tail -5 >&2
            bad=$((bad + 1))
        elif [ -n "$(pdftotext "$pdf" /dev/null 2>&1)" ]; then
            echo "fuzz report: pdftotext warns on $pdf:" >&2
            pdftotext "$pdf" /dev/null 2>&1 | head -5 >&2
            bad=$((bad + 1))
        fi
    done
    echo "fuzz report: replay: $n PDFs, $bad failing qpdf --check or pdftotext"
    if [ "$bad" -eq 0 ]; then rm -rf "$pdfs"; else echo "kept in $pdfs" >&2; fi
    [ "$bad" -eq 0 ]
}

# The dictionary of JSON tokens and keys a target's input is written in.
dict_for() {
    case $1 in
    spec) echo fuzz/dict/spec.dict ;;
    results | report) echo fuzz/dict/results.dict ;;
    journal_header | journal_trial) echo fuzz/dict/journal.dict ;;
    esac
}

failed=""
for t in $targets; do
    work=build-fuzz/corpus/$t
    dict=$(dict_for "$t")
    art=build-fuzz/artifacts/$t
    mkdir -p "$work" "$art"
    echo "== fuzz $t for ${seconds}s"
    log=build-fuzz/fuzz-$t.log
    if ! nice -n 10 "build-fuzz/fuzz/fuzz_$t" -max_total_time="$seconds" -print_final_stats=1 \
        -artifact_prefix="$art/" ${dict:+-dict="$dict"} "$@" "$work" "fuzz/corpus/$t" \
        >"$log" 2>&1; then
        grep -E -A12 "runtime error|fuzz check failed|ERROR: |Assertion" "$log" | head -40 >&2
        echo "fuzz $t: FAILED (input in $art/, log $log)" >&2
        failed="$failed $t"
        continue
    fi
    grep -E "^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::average_exec_per_sec)" "$log" |
        tr '\n' ' '
    echo
    if [ "$t" = report ] && ! replay_report; then failed="$failed report-replay"; fi
done
if [ -n "$failed" ]; then
    echo "fuzz: FAILED:$failed" >&2
    exit 1
fi
echo "fuzz: all passed"
