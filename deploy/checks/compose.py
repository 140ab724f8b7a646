"""Rules docker-compose.yml keeps, checked on `docker compose config --format json`.

    python3 deploy/checks/compose.py PROFILE RENDERED.json

`docker compose config` has already checked the file against the Compose
specification; this checks what the specification cannot know:
- every long-running service restarts (`unless-stopped`) and has a
  healthcheck; one-shot jobs (an explicit `restart: "no"` or `on-failure`)
  are exempt, and a service with no restart policy is an error;
- no secret in the environment: variables named like a secret (TOKEN, KEY,
  PASSWORD, SECRET) and URLs with a password are given as `*_FILE`, each
  pointing at a compose secret the service mounts;
- every WSTG_ variable is a setting of config/default.toml (settings_names);
- published ports are bound to 127.0.0.1 unless the operator says otherwise;
- wstg-bridge's services start after `migrate` has completed successfully;
- Redis persists (AOF), has maxmemory and never evicts (deploy/redis.conf);
- the Python a one-shot job feeds to a shell heredoc (<<'PY' ... PY) compiles.
"""

import json
import pathlib
import re
import sys

import settings_names

ROOT = pathlib.Path(__file__).resolve().parents[2]
SECRET_NAME = re.compile(r"(TOKEN|KEY|PASSWORD|SECRET)$")
URL_WITH_PASSWORD = re.compile(r"://[^/@\s]*:[^/@\s]+@")
WSTG_SERVICES = {"ingest", "worker", "poller"}


def one_shot(service: dict) -> bool:
    """A job that runs once: its restart policy says so explicitly."""
    restart = service.get("restart") or ""
    return restart == "no" or restart.startswith("on-failure")


def check(profile: str, config: dict) -> list:
    errors = []
    services = config.get("services", {})
    for name, svc in sorted(services.items()):
        where = f"[{profile or 'default'}] service {name}"
        env = svc.get("environment") or {}
        if one_shot(svc):
            pass
        else:
            if svc.get("restart") != "unless-stopped":
                errors.append(f"{where}: restart is {svc.get('restart')!r}, not unless-stopped")
            hc = svc.get("healthcheck") or {}
            if hc.get("disable") or not hc.get("test"):
                errors.append(f"{where}: no healthcheck")

        mounted = {s["source"] for s in svc.get("secrets", [])}
        for var, value in sorted(env.items()):
            value = value or ""
            if var.endswith("_FILE"):
                m = re.fullmatch(r"/run/secrets/([a-z0-9_]+)", value)
                if not m:
                    errors.append(f"{where}: {var}={value!r} is not a /run/secrets/<name> path")
                elif m.group(1) not in mounted:
                    errors.append(f"{where}: {var} reads secret {m.group(1)!r}, which the service does not mount")
            elif SECRET_NAME.search(var) and value:
                errors.append(f"{where}: {var} holds a secret in the environment; use {var}_FILE and a compose secret")
            elif URL_WITH_PASSWORD.search(value):
                errors.append(f"{where}: {var} is a URL with a password in the environment; use {var}_FILE")
        for var in settings_names.unknown(env):
            errors.append(f"{where}: {var} is not a setting (config/default.toml; WSTG_ + key path)")

        for part in svc.get("command") or []:
            for script in re.findall(r"<<'PY'\n(.*?)\nPY(?:\n|$)", part, re.S):
                try:
                    compile(script, f"{name} command", "exec")
                except SyntaxError as e:
                    errors.append(f"{where}: the Python in its command does not compile: {e}")

        for port in svc.get("ports", []):
            if port.get("published") and port.get("host_ip") not in ("127.0.0.1", "::1"):
                errors.append(f"{where}: port {port.get('published')} is published on {port.get('host_ip') or 'every interface'}")

        if name in WSTG_SERVICES:
            dep = (svc.get("depends_on") or {}).get("migrate", {})
            if dep.get("condition") != "service_completed_successfully":
                errors.append(f"{where}: does not wait for migrate (service_completed_successfully)")
            if svc.get("user") not in (None, "", "10001", "10001:10001"):
                errors.append(f"{where}: runs as {svc.get('user')!r}, not the image's non-root user")
            if not svc.get("read_only"):
                errors.append(f"{where}: root file system is writable (read_only: true)")
            if "ALL" not in (svc.get("cap_drop") or []):
                errors.append(f"{where}: capabilities are not dropped (cap_drop: [ALL])")

    worker = services.get("worker", {})
    if (worker.get("deploy") or {}).get("replicas", 1) < 2:
        errors.append(f"[{profile}] worker: fewer than 2 replicas")

    conf = (ROOT / "deploy" / "redis.conf").read_text()
    for directive in ("appendonly yes", "maxmemory-policy noeviction"):
        if not re.search(rf"^{re.escape(directive)}\s*$", conf, re.M):
            errors.append(f"deploy/redis.conf: missing `{directive}`")
    if not re.search(r"^maxmemory \d+", conf, re.M):
        errors.append("deploy/redis.conf: no maxmemory")
    redis = services.get("redis", {})
    if "--aclfile" not in (redis.get("command") or []):
        errors.append(f"[{profile}] redis: no password (--aclfile from a secret)")
    return errors


def main() -> int:
    profile, path = sys.argv[1], sys.argv[2]
    config = json.loads(pathlib.Path(path).read_text())
    errors = check(profile, config)
    for e in errors:
        print(f"compose: {e}", file=sys.stderr)
    if not errors:
        print(f"compose [{profile or 'default'}]: {len(config.get('services', {}))} services keep the rules")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
