#!/usr/bin/env bash
# A bounded property-based fuzz run of the ingest's HTTP API against its own
# OpenAPI document (schemathesis, https://schemathesis.readthedocs.io).
#
# Starts one wstg-ingest (Redis on 127.0.0.1:6379 under a fresh key prefix,
# a fresh SQLite store, an admin token and a webhook key; no DefectDojo, the
# ingest never calls it), then lets schemathesis send generated requests,
# valid and invalid, to every documented operation. It fails on any 5xx, on
# an answer its schema does not describe (status, headers, body), on an
# operation that takes a request without its credentials, and when the
# ingest logs a panic.
#
# Bounds: API_FUZZ_EXAMPLES examples per operation (default 20) and
# API_FUZZ_MAX_TIME seconds for the whole run (default 120). The seed is
# fixed (API_FUZZ_SEED) so a failure can be reproduced; change it to explore.
#
# schemathesis is installed, at the pinned version, into a virtualenv in the
# clone (.venv-api, ignored by git) from PyPI; the next run reuses it.
#
# One check is off: positive_data_acceptance expects every request that fits
# the schema to succeed, but a value of the right shape can still name a
# project that does not exist or a status no tracker spells that way, and
# that is a 400 naming the field by contract. Every other check is on,
# negative_data_rejection (a request the schema forbids must get a 4xx) too.
#
# `GET /api/wstg/stream` is left out: it is an endless event stream, which a
# request-per-example fuzzer can only time out on (tests/tracker_api.rs and
# the browser tests cover it).
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
VENV=.venv-api
EXAMPLES=${API_FUZZ_EXAMPLES:-20}
MAX_TIME=${API_FUZZ_MAX_TIME:-120}
SEED=${API_FUZZ_SEED:-20261201}
BIN=${CARGO_TARGET_DIR:-target}/debug

if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -qF "$SCHEMATHESIS_VERSION"; then
  echo "test-api: installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi
[ -x "$BIN/wstg-ingest" ] || { echo "test-api: $BIN/wstg-ingest is missing: cargo build --bins first" >&2; exit 1; }

STATE=$(mktemp -d)
PREFIX="wstg-api-fuzz-$$-$RANDOM"
INGEST_PID=
cleanup() {
  [ -n "$INGEST_PID" ] && kill "$INGEST_PID" 2>/dev/null && wait "$INGEST_PID" 2>/dev/null || true
  redis-cli -h 127.0.0.1 -p 6379 --scan --pattern "*$PREFIX*" 2>/dev/null \
    | xargs -r redis-cli -h 127.0.0.1 -p 6379 del >/dev/null 2>&1 || true
  rm -rf "$STATE"
}
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
secret() { python3 -c 'import secrets; print(secrets.token_urlsafe(32))'; }
ADMIN_TOKEN=$(secret)
WEBHOOK_KEY=$(secret)
export WSTG_REDIS_URL=redis://127.0.0.1:6379
export WSTG_REDIS_KEY_PREFIX=$PREFIX
export WSTG_DATABASE_URL="sqlite://$STATE/wstg.db"
export WSTG_INGEST_ADDR=127.0.0.1:$PORT
export WSTG_INGEST_ADMIN_TOKEN=$ADMIN_TOKEN
export WSTG_INGEST_WEBHOOK_KEY=$WEBHOOK_KEY
export WSTG_DOJO_URL=http://127.0.0.1:9
export WSTG_DOJO_TOKEN=unused-the-ingest-never-calls-defectdojo
# The fuzzer sends thousands of requests: the rate limit and backlog bound
# would answer 429/503 (documented, but they would hide the handlers).
export WSTG_LIMITS_RATE_PER_SEC=1000000
export WSTG_LIMITS_RATE_BURST=1000000
export WSTG_LOG_LEVEL=info

# Migrations are an explicit step where wstgctl has one.
if [ -x "$BIN/wstgctl" ] && "$BIN/wstgctl" migrate --help >/dev/null 2>&1; then
  "$BIN/wstgctl" migrate >/dev/null
fi

"$BIN/wstg-ingest" >"$STATE/ingest.log" 2>&1 &
INGEST_PID=$!
BASE="http://127.0.0.1:$PORT"
for _ in $(seq 1 100); do
  curl -fs "$BASE/readyz" >/dev/null 2>&1 && break
  kill -0 "$INGEST_PID" 2>/dev/null || { cat "$STATE/ingest.log" >&2; echo "test-api: the ingest did not start" >&2; exit 1; }
  sleep 0.1
done
curl -fs "$BASE/readyz" >/dev/null || { cat "$STATE/ingest.log" >&2; echo "test-api: the ingest is not ready" >&2; exit 1; }

echo "test-api: schemathesis $SCHEMATHESIS_VERSION against $BASE/api/openapi.json ($EXAMPLES examples per operation, ${MAX_TIME}s at most, seed $SEED)"
status=0
# Run from the scratch directory: schemathesis and hypothesis keep caches in
# the working directory, and nothing of a run belongs in the clone. With the
# example database in memory, a run depends on its seed only.
ST="$PWD/$VENV/bin/schemathesis"
(cd "$STATE" && "$ST" run "$BASE/api/openapi.json" \
  --generation-database :memory: \
  --checks all \
  --exclude-checks positive_data_acceptance \
  --max-examples "$EXAMPLES" \
  --max-time "$MAX_TIME" \
  --seed "$SEED" \
  --request-timeout 10 \
  --workers 2 \
  --exclude-path /api/wstg/stream \
  --header "Authorization: Bearer $ADMIN_TOKEN" \
  --header "X-API-Key: $WEBHOOK_KEY" \
  --header "Content-Type: application/json" \
  --no-color) \
  || status=$?

if grep -qE "panicked|RUST_BACKTRACE" "$STATE/ingest.log"; then
  echo "test-api: the ingest panicked:" >&2
  grep -E -A5 "panicked" "$STATE/ingest.log" >&2
  status=1
fi
if [ "$status" -ne 0 ]; then
  echo "test-api: FAILED (the ingest's log was $STATE/ingest.log; kept below)" >&2
  tail -n 50 "$STATE/ingest.log" >&2
fi
exit "$status"
