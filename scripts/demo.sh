#!/usr/bin/env bash
# `make demo`: the whole system on this machine. Redis-backed services with the
# embedded SQLite store, against the built-in DefectDojo emulator.
# Ctrl-C stops everything. Ports: DEMO_INGEST_PORT (8088), DEMO_DOJO_PORT (8080).
set -euo pipefail
cd "$(dirname "$0")/.."

INGEST_PORT=${DEMO_INGEST_PORT:-8088}
DOJO_PORT=${DEMO_DOJO_PORT:-8080}
TOKEN=demo-dojo-token

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in "$INGEST_PORT" "$DOJO_PORT"; do
  if port_busy "$p"; then
    echo "demo: port $p is already in use (another demo?). Stop it, or set DEMO_INGEST_PORT / DEMO_DOJO_PORT." >&2
    exit 1
  fi
done

scripts/ensure-services.sh redis
cargo build --workspace --bins
BIN=target/debug
# The emulator keeps its data in memory, so each demo starts from nothing:
# a fresh store and a fresh Redis prefix.
rm -f .demo/wstg.db .demo/wstg.db-wal .demo/wstg.db-shm
redis-cli --scan --pattern 'wstg-demo:*' | xargs -r redis-cli del >/dev/null
mkdir -p .demo/logs

export WSTG_REDIS_URL=redis://127.0.0.1:6379
export WSTG_KEY_PREFIX=wstg-demo
export WSTG_DATABASE_URL="sqlite://./.demo/wstg.db?mode=rwc"
export WSTG_DOJO_URL=http://127.0.0.1:$DOJO_PORT
export WSTG_DOJO_TOKEN=$TOKEN
export WSTG_INGEST_ADDR=127.0.0.1:$INGEST_PORT
export WSTG_CORS_ORIGINS="http://127.0.0.1:$INGEST_PORT,http://localhost:$INGEST_PORT"
export WSTG_WEBHOOK_KEY=demo-webhook-key
export WSTG_POLL_INTERVAL_SECS=5

# `make wstg-status`, `make sync-wstg` and `make dlq` read this, so they
# operate on the running demo.
env | grep -E '^WSTG_' | sed 's/^/export /' > .demo/env

pids=()
cleanup() {
  echo; echo "stopping the demo…"
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -f .demo/env
}
trap cleanup EXIT INT TERM

start() { # name logfile cmd...
  local name=$1; shift
  "$@" >".demo/logs/$name.log" 2>&1 &
  pids+=($!)
}

wait_http() { # url
  for _ in $(seq 1 100); do curl -fsS "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "demo: $1 did not come up; see .demo/logs/" >&2; return 1
}

start dojo-sim "$BIN/dojo-sim" --addr "127.0.0.1:$DOJO_PORT" --token "$TOKEN" \
  --webhook-url "http://127.0.0.1:$INGEST_PORT/api/wstg/webhook" \
  --webhook-header-name X-API-Key --webhook-header-value demo-webhook-key
wait_http "http://127.0.0.1:$DOJO_PORT/__sim/stats"
start ingest "$BIN/wstg-ingest"
start worker-1 "$BIN/wstg-worker"
start worker-2 "$BIN/wstg-worker"
start poller "$BIN/wstg-poller"
wait_http "http://127.0.0.1:$INGEST_PORT/readyz"

# The bridge refuses calls without a token (docs/security.md). The demo makes
# one for the default project, kept hashed in the store: it is shown once,
# here, and the tracker page asks for it.
BRIDGE_TOKEN=$("$BIN/wstgctl" token create --label "make demo" --write default)

cat <<MSG

wstg-bridge demo is running.
  tracker page   http://127.0.0.1:$INGEST_PORT/
  status         http://127.0.0.1:$INGEST_PORT/api/wstg/status   (with the token below)
  DefectDojo     http://127.0.0.1:$DOJO_PORT/api/v2/findings/   (emulator; header "Authorization: Token $TOKEN")
  logs           make wstg-logs   (files in .demo/logs/)

Your bridge token (project "default", read-write; shown once, the page asks for it):
  $BRIDGE_TOKEN

Make a finding appear:
  curl -s -X POST http://127.0.0.1:$INGEST_PORT/api/wstg/sync -H 'Content-Type: application/json' \\
       -H "Authorization: Bearer $BRIDGE_TOKEN" \\
       -d '{"wstg_id": "WSTG-INFO-01", "status": "In Progress", "notes": "started recon", "user": "alice"}'
  curl -s -H "Authorization: Token $TOKEN" "http://127.0.0.1:$DOJO_PORT/api/v2/findings/?tags=wstg-info-01"

More projects and tokens (admin, from a shell):
  set -a; . .demo/env; set +a
  $BIN/wstgctl project add "Client A"
  $BIN/wstgctl token create --label alice --write "Client A" --read default

Ctrl-C stops everything.
MSG
wait
