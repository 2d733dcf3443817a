#!/usr/bin/env bash
# Starts a real llama.cpp llama-server for kvproof's tests and benchmarks.
#
# Usage: start-server.sh [--cache-ram MiB] [--port P] [extra llama-server args...]
#
# Builds or reuses the cached llama-server (build-llama-server.sh) and test model
# (make-model.sh), then runs llama-server on 127.0.0.1 with one slot (-np 1),
# -c 32768, -t 2 and --cache-ram 0 unless given (0 = no host-RAM prompt cache).
# Without --port a free port is chosen. Waits (up to KVPROOF_LLAMA_TIMEOUT s,
# default 120) until GET /health returns 200, writes "PORT PID" to the state file
# ${KVPROOF_LLAMA_STATE:-${TMPDIR:-/tmp}/kvproof-llama.state} and prints
# http://127.0.0.1:PORT as the last line of stdout. The server log is the state
# file's path with .state replaced by .log. --slot-save-path points at the
# directory with .state replaced by .slots: this llama-server answers every
# /slots/{id}?action=... (even erase) with 501 unless that flag is set.
# Stop it with stop-server.sh.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

cache_ram=0
port=""
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --cache-ram) [ $# -ge 2 ] || usage; cache_ram="$2"; shift 2 ;;
    --cache-ram=*) cache_ram="${1#*=}"; shift ;;
    --port) [ $# -ge 2 ] || usage; port="$2"; shift 2 ;;
    --port=*) port="${1#*=}"; shift ;;
    -h|--help) usage ;;
    --) shift; extra+=("$@"); break ;;
    *) extra+=("$1"); shift ;;
  esac
done
[[ "$cache_ram" =~ ^-?[0-9]+$ ]] || die "--cache-ram wants a number of MiB, got '$cache_ram'"
[ -z "$port" ] || [[ "$port" =~ ^[0-9]+$ ]] || die "--port wants a number, got '$port'"

state="${KVPROOF_LLAMA_STATE:-${TMPDIR:-/tmp}/kvproof-llama.state}"
logfile="${state%.state}.log"
[ "$logfile" != "$state" ] || logfile="$state.log"
slotdir="${state%.state}.slots"
[ "$slotdir" != "$state" ] || slotdir="$state.slots"
timeout_s="${KVPROOF_LLAMA_TIMEOUT:-120}"
command -v curl >/dev/null 2>&1 || die "curl not found"

# An earlier server recorded in the state file?
if [ -f "$state" ]; then
  read -r old_port old_pid _ <"$state" || true
  if [[ "${old_pid:-}" =~ ^[0-9]+$ ]] && kill -0 "$old_pid" 2>/dev/null \
     && tr '\0' ' ' <"/proc/$old_pid/cmdline" 2>/dev/null | grep -q llama-server; then
    die "llama-server already running (port $old_port, pid $old_pid, state $state); run stop-server.sh first"
  fi
  log "removing stale state file $state"
  rm -f "$state"
fi

bin="$("$here/build-llama-server.sh" | tail -n1)"
[ -x "$bin" ] || die "build-llama-server.sh returned no binary"
model="$("$here/make-model.sh" | tail -n1)"
[ -s "$model" ] || die "make-model.sh returned no model"

free_port() {
  "$KVP_PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

mkdir -p "$(dirname "$state")" "$slotdir"
pid=""
cleanup_failed_start() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
}

attempts=1
[ -n "$port" ] || attempts=5
for ((try = 1; try <= attempts; try++)); do
  p="${port:-$(free_port)}"
  args=(-m "$model" --host 127.0.0.1 --port "$p" -np 1 -c 32768 --cache-ram "$cache_ram" -t 2
        --slot-save-path "$slotdir/" "${extra[@]+"${extra[@]}"}")
  log "starting: $bin ${args[*]} (log: $logfile)"
  printf '=== %s start-server: %s %s\n' "$(date -Is)" "$bin" "${args[*]}" >>"$logfile"
  "$bin" "${args[@]}" </dev/null >>"$logfile" 2>&1 &
  pid=$!
  deadline=$((SECONDS + timeout_s))
  status=""
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid" 2>/dev/null && rc=0 || rc=$?
      status="exited($rc)"
      break
    fi
    code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$p/health" || true)"
    if [ "$code" = 200 ]; then status=ok; break; fi
    if [ "$SECONDS" -ge "$deadline" ]; then status=timeout; break; fi
    sleep 0.5
  done
  if [ "$status" = ok ]; then break; fi
  if [ "$status" = timeout ]; then
    cleanup_failed_start
    tail -n 30 "$logfile" >&2
    die "llama-server did not answer GET /health with 200 within ${timeout_s}s (log: $logfile)"
  fi
  # Exited early: retry on another port only when we picked it and it was taken.
  if [ -z "$port" ] && tail -n 20 "$logfile" | grep -qi "bind\|address already in use"; then
    log "port $p was taken, retrying on another port"
    pid=""
    continue
  fi
  tail -n 30 "$logfile" >&2
  die "llama-server $status before becoming healthy (log: $logfile)"
done
[ "$status" = ok ] || die "could not find a free port for llama-server after $attempts tries"

printf '%s %s\n' "$p" "$pid" >"$state.tmp.$$"
mv -f "$state.tmp.$$" "$state"
log "llama-server healthy on port $p (pid $pid, --cache-ram $cache_ram, state $state)"
printf 'http://127.0.0.1:%s\n' "$p"
