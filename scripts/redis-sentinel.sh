#!/usr/bin/env bash
# A local Sentinel-managed Redis for tests and trials (docs/deploy.md "Redis
# Sentinel"): a primary, one replica and 3 sentinels (`redis-server
# --sentinel`) watching the master `wstgtest` with quorum 2.
#
#   scripts/redis-sentinel.sh start      prints its URL: redis+sentinel://127.0.0.1:S1,…/wstgtest
#   scripts/redis-sentinel.sh status     the URL and the current master's port, or exit 1
#   scripts/redis-sentinel.sh failover   SENTINEL FAILOVER (the replica becomes the primary)
#   scripts/redis-sentinel.sh stop
#
# Idempotent like scripts/redis-cluster.sh, same WSTG_STOP_WITH_PID watcher;
# state in $WSTG_REDIS_SENTINEL_DIR (default target/redis-sentinel).
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${WSTG_REDIS_SENTINEL_DIR:-$PWD/target/redis-sentinel}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
SELF="$PWD/scripts/redis-sentinel.sh"
MASTER=wstgtest

port() { sed -n "$1p" "$DIR/ports" 2>/dev/null; }   # 1 primary, 2 replica, 3-5 sentinels
sentinels() { sed -n '3,5p' "$DIR/ports" 2>/dev/null; }
url() { echo "redis+sentinel://$(sentinels | sed 's/^/127.0.0.1:/' | paste -sd, -)/$MASTER"; }
master_port() {
  redis-cli -p "$(port 3)" sentinel get-master-addr-by-name "$MASTER" 2>/dev/null | sed -n 2p
}
ok() {
  [ -s "$DIR/ports" ] || return 1
  local s m
  m=$(master_port) || return 1
  [ -n "$m" ] || return 1
  redis-cli -p "$m" role 2>/dev/null | head -1 | grep -q master || return 1
  # Every sentinel knows the replica, and the replica is in sync: a
  # failover can happen.
  for s in $(sentinels); do
    redis-cli -p "$s" sentinel replicas "$MASTER" 2>/dev/null | grep -q '^flags$' || return 1
    [ "$(redis-cli -p "$s" sentinel master "$MASTER" | sed -n '/^num-other-sentinels$/{n;p}')" = 2 ] || return 1
  done
  redis-cli -p "$m" info replication | grep -q 'state=online' || return 1
}
# A port nothing listens on (nothing answers a connection to it). Ports are
# drawn below the kernel's ephemeral range (32768-60999 by default), where an
# outgoing connection's local port could take one between the check and the bind.
unused() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_ports() {
  local got=() p
  while [ ${#got[@]} -lt 5 ]; do
    p=$((10000 + RANDOM % 22000))
    if unused "$p" && [[ " ${got[*]} " != *" $p "* ]]; then got+=("$p"); fi
  done
  printf '%s\n' "${got[@]}"
}
watch_owner() {
  [ -n "${WSTG_STOP_WITH_PID:-}" ] || return 0
  nohup bash -c "while kill -0 $WSTG_STOP_WITH_PID 2>/dev/null; do sleep 1; done; WSTG_REDIS_SENTINEL_DIR='$DIR' '$SELF' stop" \
    >/dev/null 2>&1 &
}

stop() {
  local p
  for p in $(cat "$DIR/ports" 2>/dev/null); do
    redis-cli -p "$p" shutdown nosave >/dev/null 2>&1 || true
  done
  rm -f "$DIR"/ports "$DIR"/*.pid "$DIR"/sentinel-*.conf
}

start() {
  if ok; then watch_owner; url; return 0; fi
  stop
  free_ports >"$DIR/ports"
  local common=(--bind 127.0.0.1 --dir "$DIR" --daemonize yes --save "" --appendonly no)
  redis-server --port "$(port 1)" "${common[@]}" --pidfile "$DIR/1.pid" --logfile "$DIR/primary.log" >/dev/null
  redis-server --port "$(port 2)" "${common[@]}" --pidfile "$DIR/2.pid" --logfile "$DIR/replica.log" \
    --replicaof 127.0.0.1 "$(port 1)" >/dev/null
  local s
  for s in $(sentinels); do
    cat >"$DIR/sentinel-$s.conf" <<CONF
port $s
bind 127.0.0.1
daemonize yes
pidfile $DIR/sentinel-$s.pid
logfile $DIR/sentinel-$s.log
dir $DIR
sentinel monitor $MASTER 127.0.0.1 $(port 1) 2
sentinel down-after-milliseconds $MASTER 1000
sentinel failover-timeout $MASTER 5000
sentinel parallel-syncs $MASTER 1
CONF
    redis-server "$DIR/sentinel-$s.conf" --sentinel >/dev/null
  done
  # Sentinels find the replica and each other through the primary's INFO
  # and hello messages, every few seconds.
  for _ in $(seq 300); do ok && break; sleep 0.1; done
  ok || { echo "sentinels did not see the primary, the replica and each other" >&2; stop; exit 1; }
  watch_owner
  url
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) if ok; then url; echo "master port $(master_port)"; else echo "not running" >&2; exit 1; fi ;;
  failover) redis-cli -p "$(port 3)" sentinel failover "$MASTER" ;;
  *) echo "usage: $0 start|stop|status|failover" >&2; exit 2 ;;
esac
