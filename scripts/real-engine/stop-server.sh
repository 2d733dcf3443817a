#!/usr/bin/env bash
# Stops the llama-server started by start-server.sh: kills exactly the PID in the
# state file (${KVPROOF_LLAMA_STATE:-${TMPDIR:-/tmp}/kvproof-llama.state}), waits
# for it to exit (SIGTERM, then SIGKILL after 20 s) and removes the state file.
# No state file, or a PID that is gone, is not an error.
set -euo pipefail
log() { printf '[real-engine] %s\n' "$*" >&2; }

state="${KVPROOF_LLAMA_STATE:-${TMPDIR:-/tmp}/kvproof-llama.state}"
if [ ! -f "$state" ]; then
  log "no state file $state: nothing to stop"
  exit 0
fi
read -r port pid _ <"$state" || true
if ! [[ "${pid:-}" =~ ^[0-9]+$ ]]; then
  log "state file $state holds no PID; removing it"
  rm -f "$state"
  exit 0
fi

# Only signal the PID if it is still a llama-server (guards against PID reuse).
# True while the PID runs; a zombie (exited, not yet reaped by its parent)
# counts as stopped.
running() {
  kill -0 "$pid" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]
}

# Waits up to $1 tenths of a second for the PID to stop.
wait_stopped() {
  for _ in $(seq 1 "$1"); do
    running || break
    sleep 0.1
  done
}

if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q llama-server; then
  log "stopping llama-server pid $pid (port $port)"
  kill -TERM "$pid" 2>/dev/null || true
  wait_stopped 200
  if running; then
    log "pid $pid did not exit after SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_stopped 50
  fi
  log "llama-server pid $pid stopped"
else
  log "pid $pid from $state is not a running llama-server (already stopped)"
fi
rm -f "$state"
