#!/usr/bin/env bash
# A local Redis Cluster of 3 masters (no replicas) for tests and trials
# (docs/deploy.md "Redis Cluster").
#
#   scripts/redis-cluster.sh start    prints its URL: redis+cluster://127.0.0.1:P1,…
#   scripts/redis-cluster.sh status   the URL and cluster_state, or exit 1
#   scripts/redis-cluster.sh stop
#
# Idempotent: `start` on a running cluster prints its URL again. Free local
# ports are picked at the first start; data (no persistence) lives in
# $WSTG_REDIS_CLUSTER_DIR (default target/redis-cluster). With
# WSTG_STOP_WITH_PID=<pid>, a watcher stops the cluster when that process
# ends (the tests pass their own pid, so nothing outlives `cargo test`).
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${WSTG_REDIS_CLUSTER_DIR:-$PWD/target/redis-cluster}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
SELF="$PWD/scripts/redis-cluster.sh"

ports() { cat "$DIR/ports" 2>/dev/null || true; }
url() { echo "redis+cluster://$(ports | sed 's/^/127.0.0.1:/' | paste -sd, -)"; }
ok() {
  local p
  [ -n "$(ports)" ] || return 1
  for p in $(ports); do
    redis-cli -p "$p" cluster info 2>/dev/null | grep -q '^cluster_state:ok' || return 1
  done
}
# A port nothing listens on (nothing answers a connection to it). Ports are
# drawn below the kernel's ephemeral range (32768-60999 by default), where an
# outgoing connection's local port could take one between the check and the bind.
unused() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# Three ports that are free with their cluster bus port (port + 10000).
free_ports() {
  local got=() p
  while [ ${#got[@]} -lt 3 ]; do
    p=$((10000 + RANDOM % 12000))
    if unused "$p" && unused $((p + 10000)) && [[ " ${got[*]} " != *" $p "* ]]; then got+=("$p"); fi
  done
  printf '%s\n' "${got[@]}"
}
watch_owner() {
  [ -n "${WSTG_STOP_WITH_PID:-}" ] || return 0
  nohup bash -c "while kill -0 $WSTG_STOP_WITH_PID 2>/dev/null; do sleep 1; done; WSTG_REDIS_CLUSTER_DIR='$DIR' '$SELF' stop" \
    >/dev/null 2>&1 &
}

stop() {
  local p
  for p in $(ports); do
    redis-cli -p "$p" shutdown nosave >/dev/null 2>&1 || true
  done
  rm -f "$DIR"/ports "$DIR"/nodes-*.conf "$DIR"/*.pid
}

start() {
  if ok; then watch_owner; url; return 0; fi
  stop
  free_ports >"$DIR/ports"
  # A start that fails half way stops what it started.
  trap 'stop' ERR
  local p
  for p in $(ports); do
    redis-server --port "$p" --bind 127.0.0.1 --cluster-enabled yes \
      --cluster-config-file "$DIR/nodes-$p.conf" --cluster-node-timeout 2000 \
      --dir "$DIR" --daemonize yes --pidfile "$DIR/$p.pid" --logfile "$DIR/$p.log" \
      --save "" --appendonly no >/dev/null
  done
  for p in $(ports); do
    for _ in $(seq 100); do redis-cli -p "$p" ping >/dev/null 2>&1 && break; sleep 0.05; done
  done
  # shellcheck disable=SC2046
  redis-cli --cluster create $(ports | sed 's/^/127.0.0.1:/') --cluster-replicas 0 --cluster-yes \
    >"$DIR/create.log" 2>&1 || { cat "$DIR/create.log" >&2; stop; exit 1; }
  for _ in $(seq 200); do ok && break; sleep 0.05; done
  ok || { echo "cluster did not reach cluster_state:ok" >&2; stop; exit 1; }
  trap - ERR
  watch_owner
  url
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) if ok; then url; echo "cluster_state:ok"; else echo "not running" >&2; exit 1; fi ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
