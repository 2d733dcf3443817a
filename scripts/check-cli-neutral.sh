#!/usr/bin/env bash
# check-cli-neutral.sh - compares two kvproof binaries on the command line:
# every command's --help and -h, and a set of bad (or cheap, offline)
# invocations: stdout, stderr and exit code of each. Prints the differences;
# exits 0 when there are none, 1 otherwise.
#
#   scripts/check-cli-neutral.sh OLD_KVPROOF NEW_KVPROOF
#
# Run it from the source tree (the cases read data/ and tests/fixtures/).
# Nothing here contacts a server or starts one: every serve/demo/run/probe
# case fails before it would.
set -u
old=${1:?usage: check-cli-neutral.sh OLD_KVPROOF NEW_KVPROOF}
new=${2:?usage: check-cli-neutral.sh OLD_KVPROOF NEW_KVPROOF}
spec=data/experiments/kv-cache-hypothesis.json
csv=data/nist-strd/norris.csv
bench=tests/fixtures/csv/llama_bench.csv
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cases() {
    for c in run plan analyze compare import export report fit serve demo probe version; do
        echo "$c --help"
        echo "$c -h"
    done
    cat <<CASES
--help
nosuch
run
run $spec
run --out $tmp/r
run $spec $spec --out $tmp/r
run $spec --out $tmp/r --seed -1
run $spec --out $tmp/r --seed abc
run $spec --out $tmp/r --seed 18446744073709551616
run $spec --out $tmp/r --bogus
run $spec --out
run $spec --out $tmp/r --url nonsense
run $spec --out $tmp/r --url nosuch=http://x
run $spec --bogus --help
plan
plan $spec $spec
plan $spec --seed -1
plan $spec --seed x
plan $spec --seed +5
plan $spec --seed 7
plan $spec --seed 18446744073709551615
plan $spec --format xml
plan $spec --format json --seed 3
plan $spec --assume-prefill-tps 0
plan $spec --assume-prefill-tps abc
plan $spec --assume-prefill-tps 1500
plan $spec --target-rel-ci 1
plan $spec --target-rel-ci 0.1
plan $spec --bogus
plan $spec --pilot
plan $spec --list --seed 2
plan $spec --bogus --help
analyze
analyze a b
analyze --bogus x
analyze --out
compare
compare a
compare a b --threshold 1
compare a b --threshold abc
compare a b --threshold 0
compare --bogus a b
import
import nosuch f
import llama-bench
import llama-bench f
import --bogus
export
export --format json x
export --bogus x
report
report a b
report x --format docx
report --bogus x
report -o
report nosuch/results.json
fit
fit $csv
fit $csv --x x
fit $csv --x x --y y --model nosuch
fit $csv --x x --y y --model poly:99
fit $csv --x x,x --y y --model quadratic
fit $csv --x x --y y --format xml
fit $csv --x ,x --y y
fit $csv --x x --y y --bogus
fit $csv --x x --y y --predict
fit $csv --x x --y y --predict a
fit $csv --x x --y y --format json
fit $csv --x x --y y --model quadratic --format json --predict 5 --predict 10
fit $bench --x n_prompt --y avg_ns --format json --predict 512
fit $bench --x n_prompt --y avg_ns --robust --format json
fit $bench --x n_prompt --y avg_ns
serve extra
serve --bogus
serve --port
serve --port 70000
serve --port abc
serve --port 80.5 extra
serve --slots 0
serve --stall-p 2
serve --cv -1
serve --cv nan
serve --ctx 0
serve --dialect nosuch
serve --cache-mode nosuch
serve --cache-preset nosuch
serve --fault nosuch
serve --preset nosuch
serve --noise nosuch
serve --params /nonexistent.json
serve --seed -1
serve --seed 123456789012345678 extra
serve --seed 18446744073709551615 extra
serve --seed abc
serve --bogus --help
demo extra
demo --bogus
demo --time-scale 0
demo --time-scale abc
demo --dialect nosuch
demo --out
probe
probe a b
probe ftp://x
probe http://x --format xml
probe http://x --api nosuch
probe --bogus http://x
probe --model
version
version --bogus
CASES
}

run_all() {
    local bin=$1 out=$2
    : >"$out"
    while IFS= read -r line; do
        # shellcheck disable=SC2086
        set -- $line
        {
            echo "### kvproof $line"
            "$bin" "$@" >"$tmp/o" 2>"$tmp/e" </dev/null
            echo "exit $?"
            echo "--- stdout"
            cat "$tmp/o"
            echo "--- stderr"
            cat "$tmp/e"
        } >>"$out"
    done < <(cases)
}

run_all "$old" "$tmp/old.txt"
run_all "$new" "$tmp/new.txt"
if diff -u "$tmp/old.txt" "$tmp/new.txt" >"$tmp/diff.txt"; then
    echo "check-cli-neutral: $(cases | wc -l) invocations, no difference"
    exit 0
fi
cat "$tmp/diff.txt"
exit 1
