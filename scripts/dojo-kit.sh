#!/usr/bin/env bash
# The real DefectDojo 3.2.0 kit for `make test-dojo` (the only place that names it).
#
#   scripts/dojo-kit.sh available   exit 0 when the kit is at hand, 3 when not
#   scripts/dojo-kit.sh start       start it (idempotent); prints DOJO_URL=... and DOJO_TOKEN=...
#   scripts/dojo-kit.sh reset       back to a freshly initialised DefectDojo (~3 s), same token
#   scripts/dojo-kit.sh shell       DefectDojo's `manage.py shell`, reading a Python script on stdin
#   scripts/dojo-kit.sh stop        stop it
#
# The kit's folder is WSTG_DOJO_KIT, default ../shared/defectdojo/real next to the repository.
# Workdir, port, database and Redis db are fixed, so every run on this machine (CI included)
# reuses the warm venv and database instead of building them again.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KIT=${WSTG_DOJO_KIT:-$ROOT/../shared/defectdojo/real}
KIT_WORKDIR=${XDG_CACHE_HOME:-$HOME/.cache}/defectdojo-real
KIT_PORT=18080
KIT_DB=wstg_dd_kit
KIT_REDIS_DB=13

have_kit() { [ -x "$KIT/start.sh" ] && [ -x "$KIT/reset.sh" ] && [ -f "$KIT/_common.sh" ]; }
need_kit() { have_kit || { echo "dojo-kit: no DefectDojo kit at $KIT (set WSTG_DOJO_KIT)" >&2; exit 3; }; }

case "${1:-}" in
    available)
        have_kit || exit 3 ;;
    start)
        need_kit
        # Fail fast: an `eval` of nothing would leave DOJO_URL/DOJO_TOKEN unset.
        out=$("$KIT/start.sh" --workdir "$KIT_WORKDIR" --port "$KIT_PORT" --db "$KIT_DB" --redis-db "$KIT_REDIS_DB") \
            || { echo "dojo-kit: the DefectDojo kit did not start (logs in $KIT_WORKDIR/logs)" >&2; exit 1; }
        grep -q '^DOJO_URL=' <<<"$out" && grep -q '^DOJO_TOKEN=' <<<"$out" \
            || { echo "dojo-kit: start.sh printed no DOJO_URL/DOJO_TOKEN" >&2; exit 1; }
        echo "$out" ;;
    reset)
        need_kit
        "$KIT/reset.sh" --workdir "$KIT_WORKDIR" --db "$KIT_DB" >/dev/null ;;
    shell)
        need_kit
        # The kit's own environment (database, secrets), then Django's shell on stdin.
        (
            # shellcheck disable=SC1091
            . "$KIT/_common.sh"
            parse_args --workdir "$KIT_WORKDIR" --db "$KIT_DB" --port "$KIT_PORT" --redis-db "$KIT_REDIS_DB"
            dd_env
            cd "$SRC"
            exec "$VENV/bin/python" manage.py shell
        ) ;;
    stop)
        need_kit
        "$KIT/stop.sh" --workdir "$KIT_WORKDIR" ;;
    *)
        echo "usage: $0 available|start|reset|shell|stop" >&2
        exit 2 ;;
esac
