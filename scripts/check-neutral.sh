#!/usr/bin/env bash
# Shows that a change is behaviour-neutral: builds two revisions and compares
# what they produce (docs/structure.md).
#
#   1. BASE and HEAD (default: HEAD) are exported with git archive into a
#      scratch directory under /tmp and built (the kvproof target only).
#   2. Each build runs `kvproof demo` at a short time scale; the two journals
#      are compared after the measured and volatile fields are removed: in the
#      header created, created_unix, client_host, spec_path and the targets'
#      base_url (an ephemeral port); in every trial started_unix and every key
#      ending in _ms, _us, _per_second or _per_token_ms (times measured on this
#      machine). Everything else (plan order, token counts, cache hits,
#      statuses, errors) must be identical.
#   3. Both builds run `kvproof analyze` on the SAME journal (BASE's demo
#      journal): results.json and report.pdf must be identical bytes.
#   4. Both builds run `kvproof plan` (text and --format json) on every shipped
#      spec, data/experiments/*.json of BASE, and on the demo's spec with BASE's
#      demo journal as the pilot (--pilot): identical output and exit status.
#
# Prints one line per compared output, like git diff --stat, and exits 0 when
# everything is identical, 1 when anything differs (the scratch directory is
# then kept for inspection), 2 on a usage or build error.
#
# Usage: scripts/check-neutral.sh BASE [HEAD]
#   KVPROOF_NEUTRAL_TIME_SCALE  demo time scale (default 0.002: ~30 s a demo)
#   KVPROOF_NEUTRAL_KEEP=1      keep the scratch directory also on success
set -euo pipefail
if [ $# -lt 1 ] || [ $# -gt 2 ] || [ "${1:-}" = "--help" ]; then
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
  exit 2
fi
repo=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)
base=$(git -C "$repo" rev-parse --verify "$1^{commit}")
head=$(git -C "$repo" rev-parse --verify "${2:-HEAD}^{commit}")
scale=${KVPROOF_NEUTRAL_TIME_SCALE:-0.002}
work=$(mktemp -d /tmp/kvproof-neutral.XXXXXX)
echo "check-neutral: base ${base:0:12}, head ${head:0:12}, scratch $work"

build() { # name commit
  local dir="$work/$1"
  mkdir -p "$dir/src"
  git -C "$repo" archive "$2" | tar -x -C "$dir/src"
  if ! { cmake -S "$dir/src" -B "$dir/build" -DCMAKE_BUILD_TYPE=Release &&
    cmake --build "$dir/build" -j2 --target kvproof; } >"$dir/build.log" 2>&1; then
    echo "check-neutral: building $1 (${2:0:12}) failed; see $dir/build.log" >&2
    exit 2
  fi
}

demo() { # name
  local dir="$work/$1"
  (cd "$dir/src" && "$dir/build/kvproof" demo --out "$dir/demo" --time-scale "$scale" --quiet) \
    >"$dir/demo.out" 2>"$dir/demo.err" || echo "exit $?" >>"$dir/demo.out"
}

normalise() { # journal out
  python3 - "$1" "$2" <<'EOF'
import json, re, sys

HEADER_VOLATILE = {"created", "created_unix", "client_host", "spec_path", "base_url"}
MEASURED = re.compile(r"(_ms|_us|_per_second|_per_token_ms)$")


def strip(o, header):
    if isinstance(o, dict):
        out = {}
        for k, v in o.items():
            if header and k in HEADER_VOLATILE:
                continue
            if not header and (k == "started_unix" or MEASURED.search(k)):
                continue
            out[k] = strip(v, header)
        return out
    if isinstance(o, list):
        return [strip(v, header) for v in o]
    return o


with open(sys.argv[1], encoding="utf-8") as src, open(sys.argv[2], "w", encoding="utf-8") as dst:
    for line in src:
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except ValueError:
            dst.write("unparsable line: " + line)
            continue
        header = isinstance(rec, dict) and rec.get("type") == "header"
        dst.write(json.dumps(strip(rec, header), sort_keys=True) + "\n")
EOF
}

differ=0
compared=0
report() { # label fileA fileB
  compared=$((compared + 1))
  if cmp -s "$2" "$3"; then
    printf ' %-52s | identical\n' "$1"
  else
    differ=$((differ + 1))
    local n
    n=$(diff "$2" "$3" | grep -c '^[<>]' || true)
    if [ "$n" -eq 0 ]; then n="binary"; else n="$n lines"; fi
    printf ' %-52s | DIFFERS (%s)\n' "$1" "$n"
  fi
}

build base "$base"
build head "$head"
demo base
demo head

# 2. the demo journals, measured fields removed
for n in base head; do
  if [ -f "$work/$n/demo/journal.jsonl" ]; then
    normalise "$work/$n/demo/journal.jsonl" "$work/$n/journal.norm"
  else
    echo "no journal: $(cat "$work/$n/demo.err")" >"$work/$n/journal.norm"
  fi
done
report "demo journal.jsonl (measured fields removed)" "$work/base/journal.norm" "$work/head/journal.norm"

# 3. results.json and report.pdf of both builds from BASE's journal
journal="$work/base/demo/journal.jsonl"
for n in base head; do
  mkdir -p "$work/$n/analysis"
  (cd "$work/$n" && "$work/$n/build/kvproof" analyze "$journal" --out analysis --quiet) \
    >"$work/$n/analysis.out" 2>&1 || echo "exit $?" >>"$work/$n/analysis.out"
done
report "analyze: stdout and status" "$work/base/analysis.out" "$work/head/analysis.out"
for f in results.json report.pdf; do
  for n in base head; do [ -f "$work/$n/analysis/$f" ] || echo missing >"$work/$n/analysis/$f"; done
  report "analyze: $f" "$work/base/analysis/$f" "$work/head/analysis/$f"
done

# 4. kvproof plan of every shipped spec (BASE's copies, the same files for both)
for spec in "$work"/base/src/data/experiments/*.json; do
  name=$(basename "$spec")
  for fmt in text json; do
    for n in base head; do
      (cd "$work/base/src" && "$work/$n/build/kvproof" plan "data/experiments/$name" --format $fmt) \
        >"$work/$n/plan-$name.$fmt" 2>&1 || echo "exit $?" >>"$work/$n/plan-$name.$fmt"
    done
    report "plan $name --format $fmt" "$work/base/plan-$name.$fmt" "$work/head/plan-$name.$fmt"
  done
done

# ... and the demo spec planned from BASE's demo journal as a pilot (stats/planning.c)
for n in base head; do
  (cd "$work/base/src" && "$work/$n/build/kvproof" plan data/experiments/kv-cache-hypothesis.json \
    --pilot "$journal") >"$work/$n/plan-pilot.text" 2>&1 || echo "exit $?" >>"$work/$n/plan-pilot.text"
done
report "plan kv-cache-hypothesis.json --pilot (demo journal)" "$work/base/plan-pilot.text" \
  "$work/head/plan-pilot.text"

if [ "$differ" -eq 0 ]; then
  echo " $compared outputs compared, all identical"
  if [ "${KVPROOF_NEUTRAL_KEEP:-0}" != 1 ]; then rm -rf "$work"; fi
  exit 0
fi
echo " $compared outputs compared, $differ differ (kept in $work)"
exit 1
