"""The environment variables wstg-bridge reads, derived from config/default.toml.

The rule (docs/configuration.md): WSTG_ + the key path upper-cased, `.` -> `_`
(`ingest.admin_token` -> WSTG_INGEST_ADMIN_TOKEN); every one may also be given
as `<NAME>_FILE`, a path whose content is the value. The deployment files may
use no other WSTG_ name: the services refuse WSTG_ variables they do not know.
"""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]

# Keys whose section and default land with another branch of the same
# release (issue 10: the worker's and poller's ops addresses). Each is
# accepted until config/default.toml has it; from then on the check fails
# until the name is removed here, so this list cannot rot.
PENDING: set[str] = set()

# Set by the process environment, not a key of the file.
EXTRA = {"WSTG_CONFIG"}

_SECTION = re.compile(r"^\[([a-z0-9_.]+)\]\s*$")
# `key = value`, or a commented-out optional key `# key = value`.
_KEY = re.compile(r"^#?\s?([a-z][a-z0-9_]*)\s*=")


def derived_names(default_toml: pathlib.Path = ROOT / "config" / "default.toml") -> set:
    names = set()
    section = ""
    for line in default_toml.read_text().splitlines():
        m = _SECTION.match(line)
        if m:
            section = m.group(1)
            continue
        m = _KEY.match(line)
        if m:
            path = f"{section}.{m.group(1)}" if section else m.group(1)
            names.add("WSTG_" + path.upper().replace(".", "_"))
    return names


def known_names() -> set:
    """Every WSTG_ name a deployment file may set, with the pending ones."""
    derived = derived_names()
    landed = PENDING & derived
    if landed:
        raise SystemExit(
            f"deploy/checks/settings_names.py: {sorted(landed)} are in config/default.toml now; "
            "remove them from PENDING"
        )
    base = derived | PENDING
    return base | {n + "_FILE" for n in base} | EXTRA


def unknown(names) -> list:
    known = known_names()
    return sorted(n for n in names if n.startswith("WSTG_") and n not in known)
