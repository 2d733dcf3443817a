# shellcheck shell=bash disable=SC2034  # globals are used by the sourcing scripts
# Shared helpers for the real-engine scripts. Sourced, not executed.
#
# Cache layout (outside the repository):
#   $KVPROOF_CACHE (default ~/.cache/kvproof)/
#     npm/node-llama-cpp-<ver>.tgz      the npm tarball (carries llama.cpp as a git bundle)
#     llama/node-llama-cpp-<ver>.commit the bundle's commit, so warm runs skip npm and git
#     llama/<commit>/                   llama-server + metadata (appears atomically when complete)
#     src/<commit>/                     gguf-py + the vocab-only GGUF (for the model generator)
#     model-<hash>.gguf                 the random-weight test model
#     tmp.*                             in-progress work; removed on exit

NLC_PACKAGE="node-llama-cpp"
NLC_VERSION="3.21.1"
KVP_CACHE_ROOT="${KVPROOF_CACHE:-$HOME/.cache/kvproof}"
KVP_PY="/usr/bin/python3"   # Debian's python (has python3-numpy); never the pyenv one

log() { printf '[real-engine] %s\n' "$*" >&2; }
die() { printf '[real-engine] ERROR: %s\n' "$*" >&2; exit 1; }

kvp_tmp_dirs=()
kvp_cleanup() {
  local d
  for d in "${kvp_tmp_dirs[@]+"${kvp_tmp_dirs[@]}"}"; do
    [ -n "$d" ] && [ -e "$d" ] && rm -rf -- "$d"
  done
  return 0
}
trap kvp_cleanup EXIT
# On a signal, stop the long-running child started by kvp_run (its whole process
# group, which it leads) and exit normally so the EXIT trap removes temp dirs.
KVP_CHILD=""
kvp_on_signal() {
  if [ -n "$KVP_CHILD" ] && kill -0 "$KVP_CHILD" 2>/dev/null; then
    kill -TERM -- "-$KVP_CHILD" 2>/dev/null || kill -TERM "$KVP_CHILD" 2>/dev/null || true
    wait "$KVP_CHILD" 2>/dev/null || true
  fi
  exit "$1"
}
trap 'kvp_on_signal 130' INT
trap 'kvp_on_signal 143' TERM
trap 'kvp_on_signal 129' HUP

# kvp_run CMD...: run CMD in its own process group (so a signal to this script
# can stop the whole build) and return its exit status.
kvp_run() {
  local rc=0
  setsid "$@" &
  KVP_CHILD=$!
  wait "$KVP_CHILD" || rc=$?
  KVP_CHILD=""
  return "$rc"
}

# kvp_mktemp NAME: make a temp dir under the cache root (same filesystem, so mv
# is a rename), set KVP_TMP to it and remove it on exit. Call it directly, not
# in $(...): the registration must happen in this shell.
kvp_mktemp() {
  mkdir -p "$KVP_CACHE_ROOT"
  KVP_TMP="$(mktemp -d "$KVP_CACHE_ROOT/tmp.$1.XXXXXX")"
  kvp_tmp_dirs+=("$KVP_TMP")
}

# kvp_lock NAME: serialise concurrent runs touching the same cache entry (fd 9).
kvp_lock() {
  mkdir -p "$KVP_CACHE_ROOT"
  exec 9>"$KVP_CACHE_ROOT/.lock-$1"
  if ! flock -n 9; then
    log "waiting for another run holding $KVP_CACHE_ROOT/.lock-$1 ..."
    flock 9
  fi
}

kvp_tarball_path() { printf '%s/npm/%s-%s.tgz\n' "$KVP_CACHE_ROOT" "$NLC_PACKAGE" "$NLC_VERSION"; }
kvp_commit_file() { printf '%s/llama/%s-%s.commit\n' "$KVP_CACHE_ROOT" "$NLC_PACKAGE" "$NLC_VERSION"; }

# kvp_cached_commit: the bundle commit recorded by an earlier run, or empty.
kvp_cached_commit() {
  local f c
  f="$(kvp_commit_file)"
  [ -f "$f" ] || return 0
  c="$(tr -d '[:space:]' <"$f")"
  [[ "$c" =~ ^[0-9a-f]{40}$ ]] && printf '%s\n' "$c"
  return 0
}

# kvp_ensure_tarball: fetch the pinned npm tarball once (npm pack: tarball only, no deps).
kvp_ensure_tarball() {
  local tgz tmp
  tgz="$(kvp_tarball_path)"
  if [ -s "$tgz" ] && gzip -t "$tgz" 2>/dev/null; then
    return 0
  fi
  command -v npm >/dev/null 2>&1 || die "npm not found (install Debian's 'npm' package; see scripts/install-deps.sh)"
  kvp_mktemp npm
  tmp="$KVP_TMP"
  log "fetching $NLC_PACKAGE@$NLC_VERSION tarball with npm pack (~35 MB) ..."
  if ! (cd "$tmp" && npm pack --silent "$NLC_PACKAGE@$NLC_VERSION" >npm-pack.out 2>npm-pack.err); then
    cat "$tmp/npm-pack.err" >&2 || true
    die "npm pack $NLC_PACKAGE@$NLC_VERSION failed"
  fi
  local got="$tmp/$NLC_PACKAGE-$NLC_VERSION.tgz"
  [ -s "$got" ] || die "npm pack produced no $NLC_PACKAGE-$NLC_VERSION.tgz"
  gzip -t "$got" || die "downloaded tarball is corrupt: $got"
  mkdir -p "$(dirname "$tgz")"
  mv -f "$got" "$tgz"
  log "cached tarball: $tgz"
}

# kvp_extract_bundle DIR: unpack llama/gitRelease.bundle from the tarball into DIR,
# record its commit in the commit file, and print the commit.
kvp_extract_bundle() {
  local dir="$1" tgz commit
  tgz="$(kvp_tarball_path)"
  tar -xzf "$tgz" -C "$dir" package/llama/gitRelease.bundle \
    || die "tarball $tgz has no package/llama/gitRelease.bundle"
  commit="$(git bundle list-heads "$dir/package/llama/gitRelease.bundle" | awk '$2=="HEAD"{print $1; exit}')"
  [[ "$commit" =~ ^[0-9a-f]{40}$ ]] || die "could not read the HEAD commit of the llama.cpp bundle"
  mkdir -p "$KVP_CACHE_ROOT/llama"
  printf '%s\n' "$commit" >"$(kvp_commit_file).tmp.$$"
  mv -f "$(kvp_commit_file).tmp.$$" "$(kvp_commit_file)"
  printf '%s\n' "$commit"
}

# kvp_clone_bundle DIR DEST: clone the extracted bundle (detached at HEAD) into DEST.
kvp_clone_bundle() {
  git -c advice.detachedHead=false clone --quiet "$1/package/llama/gitRelease.bundle" "$2" \
    || die "git clone of the llama.cpp bundle failed"
}

# kvp_cpu_fingerprint: the CPU feature flags a native (-march=native) build depends on.
kvp_cpu_fingerprint() {
  { uname -m; grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true; } | sha256sum | cut -c1-16
}

# kvp_ensure_src COMMIT: the few source files the model generator needs (gguf-py and
# the vocab-only GGUF), extracted from the bundle into $KVP_CACHE_ROOT/src/COMMIT.
# Sets KVP_SRC. Needs the tarball (fetched if missing).
kvp_ensure_src() {
  local commit="$1" dest="$KVP_CACHE_ROOT/src/$1"
  KVP_SRC="$dest"
  if [ -f "$dest/.complete" ]; then return 0; fi
  kvp_ensure_tarball
  kvp_mktemp src
  local tmp="$KVP_TMP" got
  got="$(kvp_extract_bundle "$tmp")"
  [ "$got" = "$commit" ] || die "bundle commit $got differs from expected $commit"
  git clone --quiet --bare "$tmp/package/llama/gitRelease.bundle" "$tmp/repo.git" \
    || die "git clone of the llama.cpp bundle failed"
  mkdir -p "$tmp/out"
  git --git-dir="$tmp/repo.git" archive "$commit" gguf-py models/ggml-vocab-llama-spm.gguf LICENSE \
    | tar -x -C "$tmp/out" || die "could not extract gguf-py and the vocab GGUF from the bundle"
  touch "$tmp/out/.complete"
  mkdir -p "$KVP_CACHE_ROOT/src"
  if [ -e "$dest" ]; then rm -rf -- "$dest"; fi
  mv -T "$tmp/out" "$dest"
}

# kvp_bundle_commit: set KVP_COMMIT to the bundle commit (from the commit file,
# or by fetching and reading the tarball).
kvp_bundle_commit() {
  KVP_COMMIT="$(kvp_cached_commit)"
  if [ -z "$KVP_COMMIT" ]; then
    kvp_ensure_tarball
    kvp_mktemp bundle
    KVP_COMMIT="$(kvp_extract_bundle "$KVP_TMP")"
  fi
}
