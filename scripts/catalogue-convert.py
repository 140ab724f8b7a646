#!/usr/bin/env python3
"""Turns the OWASP ASVS and MASTG public repositories into catalogue/*.json.

Rerunnable: point it at git checkouts (or bare mirrors) of
https://github.com/OWASP/ASVS and https://github.com/OWASP/owasp-mastg and it
rewrites catalogue/asvs-4.0.3.json, catalogue/asvs-5.0.json and
catalogue/mastg.json in the shape of the WSTG files (top-level metadata,
`source`, `license`, `test_count`, `validation`, `tests[]` with `id`,
`category_id`, `category_name`, `title`, `objectives`, `reference`).

    python3 scripts/catalogue-convert.py --asvs PATH/ASVS --mastg PATH/owasp-mastg

Both sources are CC BY-SA 4.0 (their LICENSE.md / License.md); the text is
reproduced unmodified, so the output is shared under the same licence.
Only the standard library and PyYAML (front matter) are used.
"""

import argparse
import json
import os
import subprocess
import sys
from collections import OrderedDict

import yaml

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CC_BY_SA = {
    "spdx": "CC-BY-SA-4.0",
    "name": "Creative Commons Attribution-ShareAlike 4.0 International",
    "url": "https://creativecommons.org/licenses/by-sa/4.0/",
}

# MASVS v2 control groups (the directories MASTG files its tests under).
MASVS_CATEGORIES = OrderedDict(
    [
        ("MASVS-STORAGE", "Storage"),
        ("MASVS-CRYPTO", "Cryptography"),
        ("MASVS-AUTH", "Authentication and Authorization"),
        ("MASVS-NETWORK", "Network Communication"),
        ("MASVS-PLATFORM", "Platform Interaction"),
        ("MASVS-CODE", "Code Quality"),
        ("MASVS-RESILIENCE", "Resilience Against Reverse Engineering and Tampering"),
        ("MASVS-PRIVACY", "Privacy"),
    ]
)


def git(repo, *args):
    return subprocess.run(
        ["git", "--git-dir", git_dir(repo), *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def git_dir(repo):
    dot = os.path.join(repo, ".git")
    return dot if os.path.exists(dot) else repo


def commit_info(repo):
    commit, date = git(repo, "log", "-1", "--format=%H %cI", "HEAD").split()
    return commit, date


def per_category(tests):
    counts = OrderedDict()
    for t in tests:
        key = f"{t['category_id']} ({t['category_name']})"
        counts[key] = counts.get(key, 0) + 1
    return counts


def write(name, doc):
    path = os.path.join(REPO_ROOT, "catalogue", name)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {path}: {doc['test_count']} tests", file=sys.stderr)


def asvs(repo, version, file, status):
    commit, date = commit_info(repo)
    raw = json.loads(git(repo, "show", f"HEAD:{file}"))
    tests = []
    for r in raw["requirements"]:
        description = r["req_description"].strip()
        # 4.0.3 keeps withdrawn requirements as "[DELETED, ...]" rows: an id
        # that names no requirement to verify is no checklist item.
        if description.upper().startswith("[DELETED"):
            continue
        levels = [lvl for lvl in ("1", "2", "3") if r.get(f"level{lvl}", "").strip()]
        if "L" in r:
            levels = [str(r["L"]).strip()]
        tests.append(
            OrderedDict(
                [
                    ("id", r["req_id"]),
                    ("category_id", r["chapter_id"]),
                    ("category_name", r["chapter_name"]),
                    ("section_id", r["section_id"]),
                    ("section_name", r["section_name"]),
                    ("title", description),
                    ("objectives", []),
                    ("levels", levels),
                    (
                        "reference",
                        f"https://github.com/OWASP/ASVS/blob/{commit}/{file.replace(' ', '%20')}",
                    ),
                ]
            )
        )
    ids = [t["id"] for t in tests]
    attribution = (
        f"OWASP Application Security Verification Standard (ASVS) {version}, OWASP Foundation, "
        "https://github.com/OWASP/ASVS, CC BY-SA 4.0. Requirement texts reproduced unmodified; "
        "derived data must be shared under CC BY-SA 4.0."
    )
    return OrderedDict(
        [
            ("methodology", "asvs"),
            ("version", version),
            ("version_status", status),
            (
                "source",
                OrderedDict(
                    [
                        ("repository", "https://github.com/OWASP/ASVS"),
                        ("commit", commit),
                        ("commit_date", date),
                        ("file", file),
                        (
                            "file_url",
                            f"https://github.com/OWASP/ASVS/blob/{commit}/{file.replace(' ', '%20')}",
                        ),
                    ]
                ),
            ),
            (
                "license",
                OrderedDict(
                    [
                        *CC_BY_SA.items(),
                        ("evidence", "LICENSE.md at the repository root begins 'Attribution-ShareAlike 4.0 International'"),
                        ("attribution", attribution),
                    ]
                ),
            ),
            ("test_count", len(tests)),
            (
                "validation",
                OrderedDict(
                    [
                        ("total_tests", len(tests)),
                        ("tests_per_category", per_category(tests)),
                        ("duplicate_ids", sorted({i for i in ids if ids.count(i) > 1})),
                    ]
                ),
            ),
            ("tests", tests),
        ]
    )


def front_matter(text):
    if not text.startswith("---"):
        return {}
    end = text.index("\n---", 3)
    return yaml.safe_load(text[3:end]) or {}


def mastg(repo):
    commit, date = commit_info(repo)
    files = [
        f
        for f in git(repo, "ls-tree", "-r", "--name-only", "HEAD").splitlines()
        if (f.startswith("tests/") or f.startswith("tests-beta/"))
        and os.path.basename(f).startswith("MASTG-TEST-")
        and f.endswith(".md")
    ]
    tests = []
    for f in files:
        meta = front_matter(git(repo, "show", f"HEAD:{f}"))
        parts = f.split("/")
        platform, category = parts[1], parts[2]
        test_id = meta.get("id") or os.path.basename(f)[: -len(".md")]
        deprecated = str(meta.get("status", "")).lower() == "deprecated"
        entry = OrderedDict(
            [
                ("id", test_id),
                ("category_id", category),
                ("category_name", MASVS_CATEGORIES[category]),
                ("title", str(meta["title"]).strip()),
                ("objectives", []),
                ("platform", platform),
                ("reference", f"https://github.com/OWASP/owasp-mastg/blob/{commit}/{f}"),
            ]
        )
        if deprecated:
            entry["deprecated"] = True
        tests.append(entry)
    order = list(MASVS_CATEGORIES)
    tests.sort(key=lambda t: (order.index(t["category_id"]), t["id"]))
    ids = [t["id"] for t in tests]
    return OrderedDict(
        [
            ("methodology", "mastg"),
            ("version", "latest"),
            (
                "version_status",
                f"tests/ and tests-beta/ on master at {commit[:8]} ({date[:10]}); MASTG tests are not versioned",
            ),
            (
                "source",
                OrderedDict(
                    [
                        ("repository", "https://github.com/OWASP/owasp-mastg"),
                        ("commit", commit),
                        ("commit_date", date),
                        ("file", "tests/**/MASTG-TEST-*.md, tests-beta/**/MASTG-TEST-*.md (front matter)"),
                    ]
                ),
            ),
            (
                "license",
                OrderedDict(
                    [
                        *CC_BY_SA.items(),
                        ("evidence", "License.md at the repository root is the CC BY-SA 4.0 legal code"),
                        (
                            "attribution",
                            "OWASP Mobile Application Security Testing Guide (MASTG), OWASP Foundation, "
                            "https://github.com/OWASP/owasp-mastg, CC BY-SA 4.0. Test titles reproduced "
                            "unmodified; derived data must be shared under CC BY-SA 4.0.",
                        ),
                    ]
                ),
            ),
            ("test_count", len(tests)),
            (
                "validation",
                OrderedDict(
                    [
                        ("total_tests", len(tests)),
                        ("tests_per_category", per_category(tests)),
                        ("deprecated", sum(1 for t in tests if t.get("deprecated"))),
                        ("duplicate_ids", sorted({i for i in ids if ids.count(i) > 1})),
                    ]
                ),
            ),
            ("tests", tests),
        ]
    )


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--asvs", required=True, help="git checkout or mirror of OWASP/ASVS")
    p.add_argument("--mastg", required=True, help="git checkout or mirror of OWASP/owasp-mastg")
    a = p.parse_args()
    write(
        "asvs-4.0.3.json",
        asvs(
            a.asvs,
            "4.0.3",
            "4.0/docs_en/OWASP Application Security Verification Standard 4.0.3-en.flat.json",
            "stable release 4.0.3 (October 2021)",
        ),
    )
    write(
        "asvs-5.0.json",
        asvs(
            a.asvs,
            "5.0",
            "5.0/docs_en/OWASP_Application_Security_Verification_Standard_5.0.0_en.flat.json",
            "stable release 5.0.0 (May 2025)",
        ),
    )
    write("mastg.json", mastg(a.mastg))


if __name__ == "__main__":
    main()
