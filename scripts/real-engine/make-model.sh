#!/usr/bin/env bash
# Generates (once) kvproof's small random-weight test model with gen_model.py:
# llama architecture, 8 layers, width 512, 8 heads / 4 KV heads, FFN 1408,
# context 32768, f16, seeded; tokenizer copied from llama.cpp's vocab-only
# models/ggml-vocab-llama-spm.gguf plus a ChatML chat template (~110 MB).
# Cached as ${KVPROOF_CACHE:-$HOME/.cache/kvproof}/model-<hash>.gguf, where the
# hash covers the parameters, gen_model.py and the llama.cpp bundle commit.
# The last line of stdout is the model's path; progress goes to stderr.
#
# Env: KVPROOF_CACHE (cache root), KVPROOF_MODEL_REBUILD=1 (regenerate).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"

params=(--layers 8 --embd 512 --heads 8 --kv-heads 4 --ffn 1408 --ctx 32768 --seed 1234)

[ -x "$KVP_PY" ] || die "$KVP_PY not found (Debian's python3 is required)"
kvp_bundle_commit
commit="$KVP_COMMIT"
gen="$here/gen_model.py"
hash="$( { printf '%s\n' "${params[@]}" "$commit"; cat "$gen"; } | sha256sum | cut -c1-16)"
model="$KVP_CACHE_ROOT/model-$hash.gguf"

model_valid() {
  [ -s "$1" ] && [ "$(head -c4 "$1")" = "GGUF" ]
}

if [ "${KVPROOF_MODEL_REBUILD:-0}" != 1 ] && model_valid "$model"; then
  log "using cached model $model"
  printf '%s\n' "$model"
  exit 0
fi

kvp_lock "model-$hash"
if [ "${KVPROOF_MODEL_REBUILD:-0}" != 1 ] && model_valid "$model"; then
  log "using cached model $model"
  printf '%s\n' "$model"
  exit 0
fi

"$KVP_PY" -c 'import numpy' 2>/dev/null || die "numpy missing for $KVP_PY (apt-get install python3-numpy)"
kvp_ensure_src "$commit"
src="$KVP_SRC"

kvp_mktemp model
tmp_model="$KVP_TMP/model.gguf"
log "generating random-weight model (${params[*]}) ..."
t0=$(date +%s.%N)
PYTHONPATH="$src/gguf-py${PYTHONPATH:+:$PYTHONPATH}" "$KVP_PY" "$gen" \
  --vocab "$src/models/ggml-vocab-llama-spm.gguf" --out "$tmp_model" "${params[@]}" \
  || die "gen_model.py failed"
t1=$(date +%s.%N)
model_valid "$tmp_model" || die "gen_model.py wrote no valid GGUF"
mv -f "$tmp_model" "$model"
log "model generated in $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') s: $model ($(du -m "$model" | cut -f1) MiB)"
printf '%s\n' "$model"
