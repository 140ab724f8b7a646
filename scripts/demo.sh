#!/usr/bin/env bash
# `make demo`: the whole system on this machine. Redis-backed services with the
# embedded SQLite store, against the built-in DefectDojo emulator.
# Ctrl-C stops everything. Ports: DEMO_INGEST_PORT (8088), DEMO_DOJO_PORT (8080).
# Each demo is keyed by its ingest port: Redis prefix wstg-demo-PORT, state in
# .demo/PORT/ (store, env, logs), so two demos on one Redis stay apart.
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
# Only what the demo runs (and wstgctl for `make wstg-status`): not the
# benchmarks or test helpers. The Makefile's DEMO_PACKAGES is the same list.
cargo build -p dojo-sim -p wstg-ingest -p wstg-worker -p wstg-poller -p wstgctl
BIN=${CARGO_TARGET_DIR:-target}/debug
STATE=.demo/$INGEST_PORT
PREFIX=wstg-demo-$INGEST_PORT
# The emulator keeps its data in memory, so each demo starts from nothing:
# a fresh store and a fresh Redis prefix (this demo's only).
rm -rf "$STATE"
# Keys are hash-tagged ({prefix}:…, docs/redis-keys.md); the second pattern
# clears a demo left by a release before the hash tag.
for pattern in "{$PREFIX}:*" "$PREFIX:*"; do
  redis-cli --scan --pattern "$pattern" | xargs -r redis-cli del >/dev/null
done
mkdir -p "$STATE/logs"

export WSTG_REDIS_URL=redis://127.0.0.1:6379
export WSTG_REDIS_KEY_PREFIX=$PREFIX
export WSTG_DATABASE_URL="sqlite://./$STATE/wstg.db"
export WSTG_DOJO_URL=http://127.0.0.1:$DOJO_PORT
export WSTG_DOJO_TOKEN=$TOKEN
export WSTG_INGEST_ADDR=127.0.0.1:$INGEST_PORT
export WSTG_INGEST_CORS_ORIGINS="http://127.0.0.1:$INGEST_PORT,http://localhost:$INGEST_PORT"
export WSTG_INGEST_WEBHOOK_KEY=demo-webhook-key
export WSTG_POLLER_INTERVAL_SECS=5
# Prometheus' bearer token for every /metrics (docs/operations.md).
export WSTG_METRICS_TOKEN=demo-metrics-token

# `make wstg-status`, `make sync-wstg` and `make dlq` read this, so they
# operate on the running demo (DEMO_INGEST_PORT picks which).
env | grep -E '^WSTG_' | sed 's/^/export /' > "$STATE/env"

pids=()
cleanup() {
  echo; echo "stopping the demo…"
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -f "$STATE/env"
}
trap cleanup EXIT INT TERM

start() { # name logfile cmd...
  local name=$1; shift
  "$@" >"$STATE/logs/$name.log" 2>&1 &
  pids+=($!)
}

wait_http() { # url
  for _ in $(seq 1 100); do curl -fsS "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "demo: $1 did not come up; see $STATE/logs/" >&2; return 1
}

# The store is created and migrated by its own step, as in a deployment:
# the services only open a database whose schema is current.
"$BIN/wstgctl" migrate

start dojo-sim "$BIN/dojo-sim" --addr "127.0.0.1:$DOJO_PORT" --token "$TOKEN" \
  --webhook-url "http://127.0.0.1:$INGEST_PORT/api/wstg/webhook" \
  --webhook-header-name X-API-Key --webhook-header-value demo-webhook-key
wait_http "http://127.0.0.1:$DOJO_PORT/__sim/stats"
start ingest "$BIN/wstg-ingest"
start worker-1 "$BIN/wstg-worker"
start worker-2 "$BIN/wstg-worker"
start poller "$BIN/wstg-poller"
wait_http "http://127.0.0.1:$INGEST_PORT/readyz"

# Workers and the poller serve /healthz, /readyz and /metrics on a free
# loopback port each (worker.ops_addr = 127.0.0.1:0), printed at start.
ops_of() { # log file -> http://127.0.0.1:PORT
  for _ in $(seq 1 100); do
    local url
    url=$(grep -o 'ops http://[0-9.:]*' "$STATE/logs/$1.log" 2>/dev/null | head -n1 | cut -d' ' -f2)
    [ -n "$url" ] && { echo "$url"; return 0; }
    sleep 0.1
  done
  echo "(see $STATE/logs/$1.log)"
}
OPS_W1=$(ops_of worker-1)
OPS_W2=$(ops_of worker-2)
OPS_P=$(ops_of poller)

# The bridge refuses calls without a token (docs/security.md). The demo makes
# one for the default project, kept hashed in the store: it is shown once,
# here, and the tracker page asks for it.
BRIDGE_TOKEN=$("$BIN/wstgctl" token create --label "make demo" --write default)

INGEST=http://127.0.0.1:$INGEST_PORT
DOJO=http://127.0.0.1:$DOJO_PORT
cat <<MSG

wstg-bridge demo is running (Redis prefix $PREFIX, state in $STATE/).
  tracker page   $INGEST/
  dashboard      $INGEST/dashboard
  status (JSON)  $INGEST/api/wstg/status?project=default   (with the token below)
  DefectDojo     $DOJO/api/v2/findings/   (emulator; header "Authorization: Token $TOKEN")
  a finding      $DOJO/finding/1   (the "Finding #N" links; exists after the first change)
  logs           make wstg-logs DEMO_INGEST_PORT=$INGEST_PORT   (files in $STATE/logs/)

Metrics (Prometheus text; header "Authorization: Bearer $WSTG_METRICS_TOKEN") and health:
  ingest         $INGEST/metrics
  worker-1       $OPS_W1/metrics   ($OPS_W1/readyz)
  worker-2       $OPS_W2/metrics   ($OPS_W2/readyz)
  poller         $OPS_P/metrics   ($OPS_P/readyz)
  e.g.  curl -s -H "Authorization: Bearer $WSTG_METRICS_TOKEN" $INGEST/metrics | grep ^wstg_queue

Your bridge token (project "default", read-write; shown once, the page asks for it):
  $BRIDGE_TOKEN

tracker -> DefectDojo (then open the finding page above):
  curl -s -X POST $INGEST/api/wstg/sync -H 'Content-Type: application/json' \\
       -H "Authorization: Bearer $BRIDGE_TOKEN" \\
       -d '{"wstg_id": "WSTG-INFO-01", "status": "In Progress", "notes": "started recon", "user": "alice"}'
DefectDojo -> tracker (close the finding; the tracker item turns Done within a poll, ${WSTG_POLLER_INTERVAL_SECS}s):
  curl -s -o /dev/null -w '%{http_code}\\n' -X PATCH $DOJO/api/v2/findings/1/ -H "Authorization: Token $TOKEN" \\
       -H 'Content-Type: application/json' -d '{"active": false, "is_mitigated": true}'

More projects and tokens (admin, from a shell):
  set -a; . $STATE/env; set +a
  $BIN/wstgctl project add "Client A"
  $BIN/wstgctl token create --label alice --write "Client A" --read default

Ctrl-C stops everything.
MSG
wait
