#!/usr/bin/env bash
# Makes sure Redis (127.0.0.1:6379) and PostgreSQL (127.0.0.1:5432, trust auth)
# are running, installing them from Debian's packages if they are missing.
# Idempotent: does nothing when both already answer.
# Usage: ensure-services.sh [redis] [postgres]   (default: both)
set -euo pipefail

need_apt_update=1
apt_install() {
  if [ "$need_apt_update" = 1 ]; then apt-get update -qq >/dev/null; need_apt_update=0; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

want() { [ $# -eq 0 ] || [[ " $WANTED " == *" $1 "* ]]; }
WANTED="${*:-redis postgres}"

redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }
if want redis && ! redis_up; then
  command -v redis-server >/dev/null || apt_install redis-server redis-tools
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 1 50); do redis_up && break; sleep 0.1; done
  redis_up || { echo "ensure-services: Redis did not start" >&2; exit 1; }
fi

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
if want postgres && ! pg_up; then
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    apt_install postgresql
  fi
  version=$(ls /etc/postgresql | sort -V | tail -n1)
  conf=/etc/postgresql/$version/main
  # Trust local TCP connections (test machines only: this script is for CI and laptops).
  if ! grep -q "wstg-bridge trust" "$conf/pg_hba.conf"; then
    sed -i '1i host all all 127.0.0.1/32 trust # wstg-bridge trust\nhost all all ::1/128 trust # wstg-bridge trust' "$conf/pg_hba.conf"
  fi
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 1 100); do pg_up && break; sleep 0.1; done
  pg_up || { echo "ensure-services: PostgreSQL did not start" >&2; exit 1; }
fi
echo "services ready: $WANTED"
