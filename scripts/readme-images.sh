#!/bin/sh
# readme-images.sh RESULTS_DIR - renders the report's page 1 and its main
# figure (time to first token against prompt tokens) to docs/img/*.png for
# the README. Needs a built kvproof (build/kvproof or $KVPROOF_BIN) and
# poppler-utils (pdftoppm).
set -eu
if [ $# -ne 1 ] || [ ! -f "$1/results.json" ]; then
    echo "usage: $0 RESULTS_DIR   (a directory holding results.json)" >&2
    exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${KVPROOF_BIN:-$root/build/kvproof}
out=$root/docs/img
dpi=110
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$bin" report "$1" -o "$tmp/report.pdf" --list-figures > "$tmp/figures.tsv"
pdftoppm -r "$dpi" -f 1 -l 1 -png -singlefile "$tmp/report.pdf" "$out/report-page1" 2>/dev/null
# The figure's plotting area plus its title, axis labels and tick labels.
awk -v dpi="$dpi" -F '\t' '$1 == "ttft_linear" {
    s = dpi / 72; x = $3 - 62; y = $4 - 22; w = $5 + 84; h = $6 + 56
    printf "%d %d %d %d %d\n", $2, x * s, y * s, w * s, h * s }' "$tmp/figures.tsv" |
while read -r page x y w h; do
    pdftoppm -r "$dpi" -f "$page" -l "$page" -x "$x" -y "$y" -W "$w" -H "$h" -png -singlefile \
        "$tmp/report.pdf" "$out/report-ttft" 2>/dev/null
done
echo "$out/report-page1.png"
echo "$out/report-ttft.png"
