#!/bin/sh
# make-results-fixtures.sh - writes tests/fixtures/results/NAME.json and its
# points file NAME.points.csv (the name the reader looks for next to
# NAME.json) from the committed journal
# tests/fixtures/journals/results/NAME.jsonl with kvproof's own writer
# (`kvproof analyze`). Run from the source tree after a build:
#   scripts/make-results-fixtures.sh [path/to/kvproof]
# tests/test_results_schema.c checks that the committed fixtures are exactly
# what this writes, so a change to the writer shows up as a test failure
# until the fixtures are regenerated.
set -eu
bin=${1:-build/kvproof}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for j in tests/fixtures/journals/results/*.jsonl; do
    name=$(basename "$j" .jsonl)
    "$bin" analyze "$j" --out "$tmp/$name" --quiet >/dev/null
    cp "$tmp/$name/results.json" "tests/fixtures/results/$name.json"
    cp "$tmp/$name/points.csv" "tests/fixtures/results/$name.points.csv"
    echo "tests/fixtures/results/$name.json tests/fixtures/results/$name.points.csv"
done
