#!/usr/bin/env bash
# Memory of the three services as separate processes (docs/benchmarks.md "Memory"):
# RSS at rest, under a burst of 1,000 changes over 50 items, and during a soak at a
# steady rate, with Redis's memory and the prefix's key count beside it.
#
#   scripts/bench-memory.sh [BIN_DIR]     BIN_DIR default target/release
#   BENCH_SOAK_SECS=1800 BENCH_SOAK_RATE=20 scripts/bench-memory.sh   (the 30-minute soak)
#
# DefectDojo is dojo-sim with the real latency profile. Prints one line per sample.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/release}
SOAK_SECS=${BENCH_SOAK_SECS:-60}
SOAK_RATE=${BENCH_SOAK_RATE:-20}
SAMPLE_SECS=${BENCH_SOAK_SAMPLE_SECS:-30}
PREFIX=wstgmem$$
STATE=$(mktemp -d)
DOJO_PORT=${BENCH_MEM_DOJO_PORT:-18191}
INGEST_PORT=${BENCH_MEM_INGEST_PORT:-18192}
TOKEN=bench-ingest-token
DOJO_TOKEN=0123456789abcdef0123456789abcdef01234567
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  redis-cli --scan --pattern "{$PREFIX}*" | xargs -r redis-cli del >/dev/null
  rm -rf "$STATE"
}
trap cleanup EXIT

export WSTG_REDIS_URL=redis://127.0.0.1:6379 WSTG_REDIS_KEY_PREFIX=$PREFIX
export WSTG_DATABASE_URL="sqlite://$STATE/wstg.db?mode=rwc"
export WSTG_DOJO_URL=http://127.0.0.1:$DOJO_PORT WSTG_DOJO_TOKEN=$DOJO_TOKEN
export WSTG_INGEST_ADDR=127.0.0.1:$INGEST_PORT WSTG_INGEST_TOKEN=$TOKEN
export WSTG_LIMITS_RATE_PER_SEC=100000 WSTG_LIMITS_RATE_BURST=100000
export WSTG_POLLER_INTERVAL_SECS=10 WSTG_LOG_LEVEL=warn

wait_http() { for _ in $(seq 1 200); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.1; done; echo "no answer from $1" >&2; return 1; }
start() { local name=$1; shift; "$@" >"$STATE/$name.log" 2>&1 & pids+=($!); eval "PID_$name=$!"; }

start dojo "$BIN/dojo-sim" --addr 127.0.0.1:$DOJO_PORT --token $DOJO_TOKEN --latency-profile real
wait_http http://127.0.0.1:$DOJO_PORT/__sim/stats
"$BIN/wstgctl" migrate >/dev/null
start ingest "$BIN/wstg-ingest"
wait_http http://127.0.0.1:$INGEST_PORT/healthz
start worker "$BIN/wstg-worker"
start poller "$BIN/wstg-poller"

rss() { awk '/^VmRSS/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
hwm() { awk '/^VmHWM/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
redis_state() {
  local mem keys
  mem=$(redis-cli info memory | awk -F: '/^used_memory:/ {printf "%.2f", $2/1048576}')
  keys=$(redis-cli --scan --pattern "{$PREFIX}*" | wc -l)
  local xlen; xlen=$(redis-cli xlen "{$PREFIX}:events")
  # Our keys' own bytes: used_memory is the whole (possibly shared) server.
  local ours; ours=$(redis-cli --scan --pattern "{$PREFIX}*" | while read -r k; do redis-cli memory usage "$k"; done \
    | awk '{s += $1} END {printf "%.1f", s / 1024}')
  echo "redis used_memory ${mem} MiB (whole server), prefix keys $keys using ${ours} KiB, stream length $xlen"
}
sample() { # label
  echo "$1: RSS MiB ingest $(rss $PID_ingest), worker $(rss $PID_worker), poller $(rss $PID_poller); $(redis_state)"
}
drain() { for _ in $(seq 1 600); do
  [ "$(redis-cli xlen "{$PREFIX}:events")" = 0 ] && [ "$(redis-cli zcard "{$PREFIX}:delayed")" = 0 ] && return 0; sleep 0.1; done; }

sleep 5
sample "at rest, nothing synced"
echo "burst: scripts/load.py --changes 1000 --items 50 --clients 16"
python3 scripts/load.py http://127.0.0.1:$INGEST_PORT $TOKEN --changes 1000 --items 50 --clients 16
drain
sample "after the burst"
echo "peak RSS MiB (VmHWM) ingest $(hwm $PID_ingest), worker $(hwm $PID_worker), poller $(hwm $PID_poller)"
sleep 15
sample "at rest again, 15 s after the burst"

echo "soak: $SOAK_RATE changes/s over 50 items for $SOAK_SECS s, a sample every $SAMPLE_SECS s"
python3 scripts/load.py http://127.0.0.1:$INGEST_PORT $TOKEN --items 50 --clients 4 --rate "$SOAK_RATE" --seconds "$SOAK_SECS" >"$STATE/soak.out" &
load=$!
t=0
while kill -0 $load 2>/dev/null; do
  sleep "$SAMPLE_SECS"; t=$((t + SAMPLE_SECS))
  sample "soak t=${t}s"
done
wait $load && cat "$STATE/soak.out"
drain
sample "after the soak, drained"
echo "peak RSS MiB (VmHWM) ingest $(hwm $PID_ingest), worker $(hwm $PID_worker), poller $(hwm $PID_poller)"
