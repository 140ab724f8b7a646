#!/bin/sh
# The HEALTHCHECK of the wstg-bridge image (deploy/Dockerfile). One image runs
# any of the three services, each with its health endpoint on its own address,
# so this finds which service runs in the container and probes its /healthz:
#   wstg-ingest  on WSTG_INGEST_ADDR      (default 0.0.0.0:8088)
#   wstg-worker  on WSTG_WORKER_OPS_ADDR  (default 0.0.0.0:9101)
#   wstg-poller  on WSTG_POLLER_OPS_ADDR  (default 0.0.0.0:9102)
# HEALTHCHECK_URL overrides the URL (it is not a WSTG_ variable on purpose:
# the services refuse WSTG_ variables they do not know).
set -eu

url=${HEALTHCHECK_URL:-}
if [ -z "$url" ]; then
  addr=
  # PID 1 is the service, or an init (docker --init, tini) whose child it is.
  for comm in /proc/[0-9]*/comm; do
    case "$(cat "$comm" 2>/dev/null || true)" in
      wstg-ingest) addr=${WSTG_INGEST_ADDR:-0.0.0.0:8088}; break ;;
      wstg-worker) addr=${WSTG_WORKER_OPS_ADDR:-0.0.0.0:9101}; break ;;
      wstg-poller) addr=${WSTG_POLLER_OPS_ADDR:-0.0.0.0:9102}; break ;;
    esac
  done
  if [ -z "$addr" ]; then
    # wstgctl one-shot jobs (migrate, setup-webhook) serve nothing.
    exit 0
  fi
  url="http://127.0.0.1:${addr##*:}/healthz"
fi
exec curl -fsS --max-time 2 -o /dev/null "$url"
