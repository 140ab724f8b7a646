"""Validates rendered Kubernetes manifests (`kubectl kustomize` output), offline.

    python3 deploy/checks/k8s.py RENDERED.yaml [RENDERED.yaml ...]

1. Schemas: every built-in kind against the Kubernetes JSON schemas shipped
   in the kubernetes-validate package (strict: unknown fields are errors), for
   the oldest and the newest Kubernetes version it ships that we support; the
   KEDA kinds against deploy/checks/keda-v1alpha1.schema.json. A kind with no
   schema is an error.
2. Rules the schemas cannot know: non-root, read-only root file system, no
   capabilities, no privilege escalation, requests and a memory limit on every
   container; liveness and readiness probes on every long-running container;
   a PodDisruptionBudget for every Deployment; no Secret objects (the
   manifests reference Secrets, listed in deploy/k8s/base/secrets.example.md,
   and never hold values); every WSTG_ variable a setting; the KEDA trigger
   reads the stream and group docs/redis-keys.md names, with the key prefix
   of the ConfigMap.
"""

import json
import pathlib
import re
import sys

import jsonschema
import kubernetes_validate
import kubernetes_validate.utils as kv_utils
import yaml

import settings_names

ROOT = pathlib.Path(__file__).resolve().parents[2]
# The oldest Kubernetes the manifests are meant for (PodDisruptionBudget
# policy/v1, seccompProfile, emptyDir sizeLimit are all older) and the newest
# whose schemas the pinned kubernetes-validate ships.
VERSIONS = ["1.29.0", kv_utils.latest_version()]
KEDA_SCHEMA = json.loads((ROOT / "deploy" / "checks" / "keda-v1alpha1.schema.json").read_text())
WORKLOADS = {"Deployment", "StatefulSet", "Job"}


def documented_secret_keys() -> set:
    """(secret, key) pairs of the table in secrets.example.md."""
    text = (ROOT / "deploy" / "k8s" / "base" / "secrets.example.md").read_text()
    return set(re.findall(r"^\| `([a-z0-9-]+)` \| `([a-zA-Z0-9_.-]+)` \|", text, re.M))


def events_stream_group() -> tuple:
    """The stream suffix and group of the work stream, from docs/redis-keys.md."""
    text = (ROOT / "docs" / "redis-keys.md").read_text()
    m = re.search(r"^\| `P:(events)` \| stream, group `([a-z0-9_-]+)` \|", text, re.M)
    if not m:
        raise SystemExit("docs/redis-keys.md: no row for `P:events` with its group")
    return m.group(1), m.group(2)


def schema_errors(doc: dict) -> list:
    name = f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
    if doc.get("apiVersion", "").startswith("keda.sh/"):
        validator = jsonschema.Draft202012Validator(KEDA_SCHEMA)
        return [f"{name}: {e.json_path}: {e.message}" for e in validator.iter_errors(doc)]
    errors = []
    for version in VERSIONS:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as e:
            path = ".".join(str(p) for p in e.path)
            errors.append(f"{name} (Kubernetes {version}): {path}: {e.message}")
        except kv_utils.SchemaNotFoundError:
            errors.append(f"{name}: no schema for {doc.get('apiVersion')} {doc.get('kind')} in Kubernetes {version}")
    return errors


def pod_rule_errors(doc: dict, secret_keys: set) -> list:
    kind, name = doc["kind"], doc["metadata"]["name"]
    where = f"{kind}/{name}"
    pod = doc["spec"]["template"]["spec"]
    errors = []
    psc = pod.get("securityContext", {})
    if psc.get("runAsNonRoot") is not True:
        errors.append(f"{where}: pod securityContext.runAsNonRoot is not true")
    if psc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
        errors.append(f"{where}: no RuntimeDefault seccompProfile")
    if pod.get("automountServiceAccountToken") is not False:
        errors.append(f"{where}: mounts a service account token it does not need")
    for c in pod.get("initContainers", []) + pod["containers"]:
        cw = f"{where} container {c['name']}"
        sc = c.get("securityContext", {})
        if sc.get("allowPrivilegeEscalation") is not False:
            errors.append(f"{cw}: allowPrivilegeEscalation is not false")
        if sc.get("readOnlyRootFilesystem") is not True:
            errors.append(f"{cw}: root file system is writable")
        if "ALL" not in sc.get("capabilities", {}).get("drop", []):
            errors.append(f"{cw}: capabilities are not dropped (drop: [ALL])")
        res = c.get("resources", {})
        if not {"cpu", "memory"} <= set(res.get("requests", {})):
            errors.append(f"{cw}: no cpu and memory requests")
        if "memory" not in res.get("limits", {}):
            errors.append(f"{cw}: no memory limit")
        if kind != "Job":
            for probe in ("livenessProbe", "readinessProbe"):
                if probe not in c:
                    errors.append(f"{cw}: no {probe}")
        image = c.get("image", "")
        tag = image.rsplit("/", 1)[-1]
        if "@sha256:" not in image and (":" not in tag or tag.endswith(":latest")):
            errors.append(f"{cw}: image {image!r} is not pinned to a version")
        names = [e["name"] for e in c.get("env", [])]
        for var in settings_names.unknown(names):
            errors.append(f"{cw}: {var} is not a setting (config/default.toml; WSTG_ + key path)")
        for e in c.get("env", []):
            ref = e.get("valueFrom", {}).get("secretKeyRef")
            if ref and (ref["name"], ref["key"]) not in secret_keys:
                errors.append(f"{cw}: secret {ref['name']}/{ref['key']} is not in secrets.example.md")
    for v in pod.get("volumes", []):
        if "secret" in v:
            sname = v["secret"]["secretName"]
            for item in v["secret"].get("items", []) or [{"key": "*"}]:
                if (sname, item["key"]) not in secret_keys:
                    errors.append(f"{where}: volume {v['name']} reads {sname}/{item['key']}, not in secrets.example.md")
    return errors


def check(docs: list) -> list:
    errors = []
    secret_keys = documented_secret_keys()
    by_kind = {}
    for doc in docs:
        by_kind.setdefault(doc["kind"], []).append(doc)
        errors += schema_errors(doc)
        if doc["kind"] in WORKLOADS:
            errors += pod_rule_errors(doc, secret_keys)
        if doc["kind"] == "Secret":
            errors.append(f"Secret/{doc['metadata']['name']}: the manifests must reference Secrets, not hold them")
        if doc["kind"] == "ConfigMap":
            for var in settings_names.unknown(doc.get("data", {})):
                errors.append(f"ConfigMap/{doc['metadata']['name']}: {var} is not a setting")
        if doc["kind"] == "TriggerAuthentication":
            for ref in doc["spec"].get("secretTargetRef", []):
                if (ref["name"], ref["key"]) not in secret_keys:
                    errors.append(f"TriggerAuthentication: {ref['name']}/{ref['key']} is not in secrets.example.md")

    pdb_selectors = [p["spec"]["selector"]["matchLabels"] for p in by_kind.get("PodDisruptionBudget", [])]
    for d in by_kind.get("Deployment", []):
        labels = d["spec"]["template"]["metadata"]["labels"]
        if not any(all(labels.get(k) == v for k, v in sel.items()) for sel in pdb_selectors):
            errors.append(f"Deployment/{d['metadata']['name']}: no PodDisruptionBudget selects it")

    config = next((c["data"] for c in by_kind.get("ConfigMap", []) if c["metadata"]["name"] == "wstg-config"), None)
    suffix, group = events_stream_group()
    deployments = {d["metadata"]["name"] for d in by_kind.get("Deployment", [])}
    for so in by_kind.get("ScaledObject", []):
        if so["spec"]["scaleTargetRef"]["name"] not in deployments:
            errors.append(f"ScaledObject/{so['metadata']['name']}: scales a Deployment that is not there")
        for t in so["spec"]["triggers"]:
            if t["type"] != "redis-streams" or config is None:
                continue
            # Every key is under the hash-tagged prefix `{P}` (docs/redis-keys.md).
            want = f"{{{config.get('WSTG_REDIS_KEY_PREFIX', 'wstg')}}}:{suffix}"
            if t["metadata"].get("stream") != want:
                errors.append(f"ScaledObject: stream {t['metadata'].get('stream')!r}, the workers read {want!r}")
            if t["metadata"].get("consumerGroup") != group:
                errors.append(f"ScaledObject: group {t['metadata'].get('consumerGroup')!r}, the workers' is {group!r}")
    return errors


def main() -> int:
    status = 0
    for path in sys.argv[1:]:
        docs = [d for d in yaml.safe_load_all(pathlib.Path(path).read_text()) if d]
        errors = check(docs)
        for e in errors:
            print(f"k8s {path}: {e}", file=sys.stderr)
        if errors:
            status = 1
        else:
            kinds = sorted({d["kind"] for d in docs})
            print(f"k8s {path}: {len(docs)} objects valid against Kubernetes {', '.join(VERSIONS)} "
                  f"and the KEDA schema, and keep the rules ({', '.join(kinds)})")
    return status


if __name__ == "__main__":
    sys.exit(main())
