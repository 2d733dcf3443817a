#!/usr/bin/env bash
# Installs kvproof's build, test, report and fuzzing dependencies from Debian packages.
# Idempotent: packages already present are skipped, apt-get update runs once
# per invocation and only when something is missing.
set -euo pipefail

pkgs=(
  build-essential cmake pkg-config git
  libgsl-dev libcurl4-openssl-dev libcjson-dev libhpdf-dev
  libmicrohttpd-dev libcmocka-dev libssl-dev
  fonts-dejavu-core poppler-utils qpdf clang-format curl
  clang libclang-rt-dev
  python3 python3-numpy ca-certificates
)

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# npm is needed only by the real-engine suite (it fetches llama.cpp's source
# as an npm tarball); machines whose Node.js already ships npm keep theirs.
if ! command -v npm >/dev/null 2>&1; then missing+=(npm); fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#pkgs[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
