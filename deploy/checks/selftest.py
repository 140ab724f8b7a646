"""The checks catch what they claim to: each mistake below, made on a copy of
the rendered files, must be reported (a check that cannot fail proves nothing).

    python3 deploy/checks/selftest.py COMPOSE_DEFAULT.json PRODUCTION.yaml
"""

import copy
import json
import pathlib
import sys

import yaml

import compose
import k8s


def compose_mistakes(cfg: dict):
    def secret_in_env(c):
        c["services"]["worker"]["environment"]["WSTG_DOJO_TOKEN"] = "0123abcd"

    def password_url(c):
        c["services"]["poller"]["environment"]["WSTG_REDIS_URL"] = "redis://:hunter2@redis:6379"

    def no_healthcheck(c):
        c["services"]["poller"]["healthcheck"] = {"disable": True}

    def no_restart(c):
        c["services"]["ingest"].pop("restart")

    def unknown_setting(c):
        c["services"]["ingest"]["environment"]["WSTG_KEY_PREFIX"] = "wstg"

    def open_port(c):
        c["services"]["ingest"]["ports"][0]["host_ip"] = "0.0.0.0"

    def no_migrate_wait(c):
        c["services"]["worker"]["depends_on"].pop("migrate")

    def unmounted_secret(c):
        c["services"]["worker"]["secrets"] = [s for s in c["services"]["worker"]["secrets"] if s["source"] != "dojo_token"]

    for m in (secret_in_env, password_url, no_healthcheck, no_restart, unknown_setting,
              open_port, no_migrate_wait, unmounted_secret):
        c = copy.deepcopy(cfg)
        m(c)
        yield m.__name__, compose.check("selftest", c)


def k8s_mistakes(docs: list):
    def find(ds, kind, name):
        return next(d for d in ds if d["kind"] == kind and d["metadata"]["name"] == name)

    def container(ds, name):
        return find(ds, "Deployment", name)["spec"]["template"]["spec"]["containers"][0]

    def typo_field(ds):
        sc = container(ds, "wstg-worker")["securityContext"]
        sc["readOnlyRootFilesytem"] = sc.pop("readOnlyRootFilesystem")

    def writable_root(ds):
        container(ds, "wstg-ingest")["securityContext"]["readOnlyRootFilesystem"] = False

    def no_limits(ds):
        container(ds, "wstg-poller")["resources"].pop("limits")

    def no_probe(ds):
        container(ds, "wstg-worker").pop("readinessProbe")

    def no_pdb(ds):
        ds.remove(find(ds, "PodDisruptionBudget", "wstg-worker"))

    def secret_value(ds):
        ds.append({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "oops"}, "stringData": {"k": "v"}})

    def wrong_stream(ds):
        find(ds, "ScaledObject", "wstg-worker")["spec"]["triggers"][0]["metadata"]["stream"] = "wstg:event"

    def keda_typo(ds):
        find(ds, "ScaledObject", "wstg-worker")["spec"]["maxReplicas"] = 8

    def unknown_setting(ds):
        find(ds, "ConfigMap", "wstg-config")["data"]["WSTG_LOG"] = "info"

    def undocumented_secret_key(ds):
        vols = find(ds, "Deployment", "wstg-worker")["spec"]["template"]["spec"]["volumes"]
        vols[0]["secret"]["items"].append({"key": "dojo-password", "path": "x"})

    for m in (typo_field, writable_root, no_limits, no_probe, no_pdb, secret_value,
              wrong_stream, keda_typo, unknown_setting, undocumented_secret_key):
        ds = copy.deepcopy(docs)
        m(ds)
        yield m.__name__, k8s.check(ds)


def main() -> int:
    cfg = json.loads(pathlib.Path(sys.argv[1]).read_text())
    docs = [d for d in yaml.safe_load_all(pathlib.Path(sys.argv[2]).read_text()) if d]
    baseline = compose.check("selftest", cfg) + k8s.check(docs)
    if baseline:
        print("selftest: the unchanged files already fail:", *baseline, sep="\n  ", file=sys.stderr)
        return 1
    missed = []
    caught = 0
    for kind, results in (("compose", compose_mistakes(cfg)), ("k8s", k8s_mistakes(docs))):
        for name, errors in results:
            if errors:
                caught += 1
            else:
                missed.append(f"{kind}: {name}")
    for m in missed:
        print(f"selftest: the checks missed the mistake {m}", file=sys.stderr)
    print(f"selftest: {caught} passed, {len(missed)} failed")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
