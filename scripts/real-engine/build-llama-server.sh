#!/usr/bin/env bash
# Builds (once) llama.cpp's llama-server, CPU only, Release, from the source tree
# that the npm package node-llama-cpp@3.21.1 ships as llama/gitRelease.bundle,
# and caches it outside the repository under
#   ${KVPROOF_CACHE:-$HOME/.cache/kvproof}/llama/<bundle-commit>/llama-server
# A warm run (binary present, built for this CPU, `--version` works) does no npm,
# git or cmake work. The last line of stdout is the binary's path; progress goes
# to stderr.
#
# Env: KVPROOF_CACHE (cache root), KVPROOF_BUILD_JOBS (default 2),
#      KVPROOF_LLAMA_REBUILD=1 (ignore a valid cache and rebuild).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"

jobs="${KVPROOF_BUILD_JOBS:-2}"
rebuild="${KVPROOF_LLAMA_REBUILD:-0}"

# cache_valid DIR: the binary exists, was built for this CPU's features and runs.
cache_valid() {
  local dir="$1"
  [ -x "$dir/llama-server" ] || return 1
  if ! [ -f "$dir/cpu-fingerprint" ] || [ "$(cat "$dir/cpu-fingerprint")" != "$(kvp_cpu_fingerprint)" ]; then
    log "cached binary in $dir was built for another CPU"; return 1
  fi
  "$dir/llama-server" --version >/dev/null 2>&1 || { log "cached $dir/llama-server --version fails"; return 1; }
  return 0
}

# Fast path: commit known from an earlier run and its cache is valid.
commit="$(kvp_cached_commit)"
if [ "$rebuild" != 1 ] && [ -n "$commit" ] && cache_valid "$KVP_CACHE_ROOT/llama/$commit"; then
  log "using cached llama-server ($commit)"
  printf '%s\n' "$KVP_CACHE_ROOT/llama/$commit/llama-server"
  exit 0
fi

kvp_lock llama-build
# Holding the lock, no other build is running: leftovers of killed builds go.
for stale in "$KVP_CACHE_ROOT"/tmp.build.*; do
  [ -e "$stale" ] || continue
  log "removing leftover $stale"
  rm -rf -- "$stale"
done
for tool in git cmake make cc c++ tar gzip flock; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found (run scripts/install-deps.sh)"
done

kvp_ensure_tarball
kvp_mktemp build
work="$KVP_TMP"
commit="$(kvp_extract_bundle "$work")"
final="$KVP_CACHE_ROOT/llama/$commit"
log "llama.cpp bundle commit: $commit"

# Another run may have finished the build while we waited for the lock.
if [ "$rebuild" != 1 ] && cache_valid "$final"; then
  log "using cached llama-server ($commit)"
  printf '%s\n' "$final/llama-server"
  exit 0
fi

kvp_clone_bundle "$work" "$work/src"
rm -f "$work/package/llama/gitRelease.bundle"

# Everything that could reach the network is off: the web UI (npm build and the
# prebuilt-asset download), HTTPS/OpenSSL, OpenMP/BoringSSL/LibreSSL fetching,
# llguidance, tests, examples; FETCHCONTENT_FULLY_DISCONNECTED as a backstop.
# (LLAMA_CURL no longer exists in this tree: it is deprecated and ignored.)
cmake_args=(
  -S "$work/src" -B "$work/build"
  -DCMAKE_BUILD_TYPE=Release
  -DBUILD_SHARED_LIBS=OFF
  -DGGML_NATIVE=ON
  -DGGML_OPENMP_FETCH=OFF
  -DLLAMA_BUILD_UI=OFF
  -DLLAMA_USE_PREBUILT_UI=OFF
  -DLLAMA_OPENSSL=OFF
  -DLLAMA_BUILD_BORINGSSL=OFF
  -DLLAMA_BUILD_LIBRESSL=OFF
  -DLLAMA_LLGUIDANCE=OFF
  -DLLAMA_BUILD_TESTS=OFF
  -DLLAMA_BUILD_EXAMPLES=OFF
  -DLLAMA_BUILD_SERVER=ON
  -DLLAMA_BUILD_TOOLS=ON
  -DLLAMA_BUILD_APP=OFF
  -DFETCHCONTENT_FULLY_DISCONNECTED=ON
)
for opt in LLAMA_BUILD_UI LLAMA_USE_PREBUILT_UI LLAMA_OPENSSL LLAMA_BUILD_TESTS LLAMA_BUILD_EXAMPLES; do
  grep -rqs "option($opt\b" "$work/src/CMakeLists.txt" "$work/src/tools/ui/CMakeLists.txt" \
    || die "CMake option $opt not found in this llama.cpp tree; update build-llama-server.sh"
done

log "configuring (log: $work/cmake-configure.log) ..."
if ! kvp_run cmake "${cmake_args[@]}" >"$work/cmake-configure.log" 2>&1; then
  tail -n 40 "$work/cmake-configure.log" >&2
  die "cmake configure failed"
fi
log "building target llama-server with -j$jobs (about 12 min on 2 cores; log: $work/cmake-build.log) ..."
t0=$(date +%s)
if ! kvp_run cmake --build "$work/build" --config Release --target llama-server -j "$jobs" >"$work/cmake-build.log" 2>&1; then
  tail -n 60 "$work/cmake-build.log" >&2
  die "cmake build of llama-server failed"
fi
t1=$(date +%s)
log "build finished in $((t1 - t0)) s"

bin="$work/build/bin/llama-server"
[ -x "$bin" ] || die "build produced no $bin"
out="$work/out"
mkdir -p "$out"
cp "$bin" "$out/llama-server"
strip "$out/llama-server" 2>/dev/null || true
"$out/llama-server" --version >"$out/version.txt" 2>&1 || {
  cat "$out/version.txt" >&2; die "freshly built llama-server --version fails"; }
kvp_cpu_fingerprint >"$out/cpu-fingerprint"
printf '%s\n' "$commit" >"$out/commit"
printf '%s\n' "${cmake_args[@]:4}" >"$out/cmake-flags.txt"
printf '%s\n' "$((t1 - t0))" >"$out/build-seconds"
cp "$work/cmake-configure.log" "$work/cmake-build.log" "$out/" 2>/dev/null || true

# Move into place atomically: a rename of a complete directory. A stale entry
# is renamed away first and deleted afterwards.
mkdir -p "$KVP_CACHE_ROOT/llama"
if [ -e "$final" ]; then
  stale="$(mktemp -u "$KVP_CACHE_ROOT/tmp.stale.XXXXXX")"
  mv -T "$final" "$stale"
  kvp_tmp_dirs+=("$stale")
fi
mv -T "$out" "$final"
log "cached llama-server: $final/llama-server ($(head -n1 "$final/version.txt" 2>/dev/null || true))"
printf '%s\n' "$final/llama-server"
