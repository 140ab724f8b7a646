#!/usr/bin/env bash
# `make test-deploy`: everything about the deployment files that can be
# checked without a container engine or a cluster (docs/deploy.md, "What is
# checked offline"). Tools come from scripts/ensure-deploy-tools.sh.
#   1. hadolint on deploy/Dockerfile; shellcheck on the deployment scripts;
#   2. deploy/compose-secrets.sh writes a full set of secrets, and a second
#      run changes none of them;
#   3. `docker compose config` for each profile (default, defectdojo, demo),
#      then deploy/checks/compose.py on the rendered file;
#   4. `kubectl kustomize` of the base and the production overlay, then
#      deploy/checks/k8s.py (Kubernetes JSON schemas, the KEDA schema, rules);
#   5. deploy/checks/selftest.py: each check reports a mistake made on purpose.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)

bin=$(scripts/ensure-deploy-tools.sh)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== hadolint, shellcheck"
"$bin/hadolint" deploy/Dockerfile
"$bin/shellcheck" deploy/healthcheck.sh deploy/compose-secrets.sh \
  scripts/ensure-deploy-tools.sh scripts/test-deploy.sh
echo "hadolint: deploy/Dockerfile clean; shellcheck: 4 scripts clean"

echo "== compose secrets"
secrets=$work/secrets
deploy/compose-secrets.sh "$secrets" >/dev/null
before=$(cd "$secrets" && sha256sum -- *)
deploy/compose-secrets.sh "$secrets" >/dev/null
[ "$(cd "$secrets" && sha256sum -- *)" = "$before" ] \
  || { echo "deploy/compose-secrets.sh changed existing secrets on a second run" >&2; exit 1; }
[ "$(stat -c %a "$secrets")" = 700 ] || { echo "the secrets directory is not 0700" >&2; exit 1; }
echo "compose-secrets: $(find "$secrets" -type f | wc -l) secrets written, a second run changes none"

echo "== docker compose config"
# Only the variables the file documents; nothing from the caller's shell.
compose() {
  env -i PATH="$PATH" HOME="$work" WSTG_SECRETS_DIR="$secrets" \
    "$bin/docker-compose" --project-directory . -f docker-compose.yml "$@"
}
for profile in "" defectdojo demo; do
  args=()
  [ -z "$profile" ] || args=(--profile "$profile")
  compose "${args[@]}" config --quiet
  compose "${args[@]}" config --format json > "$work/compose-${profile:-default}.json"
  "$bin/python" deploy/checks/compose.py "$profile" "$work/compose-${profile:-default}.json"
done

echo "== kustomize, Kubernetes schemas"
# deploy/k8s/base carries a copy of deploy/redis.conf (kustomize reads no
# file outside its directory): the two must not drift.
cmp deploy/redis.conf deploy/k8s/base/redis.conf \
  || { echo "deploy/k8s/base/redis.conf differs from deploy/redis.conf: copy it" >&2; exit 1; }
for k in base overlays/production; do
  out=$work/k8s-${k//\//-}.yaml
  "$bin/kubectl" kustomize "deploy/k8s/$k" > "$out"
done
"$bin/python" deploy/checks/k8s.py "$work/k8s-base.yaml" "$work/k8s-overlays-production.yaml"

echo "== the checks catch mistakes"
"$bin/python" deploy/checks/selftest.py "$work/compose-default.json" "$work/k8s-overlays-production.yaml"

echo "test-deploy: done in $(( $(date +%s) - start )) s"
