#!/usr/bin/env python3
"""Measures a real DefectDojo's latency per API operation and writes a dojo-sim latency profile.

    DOJO_URL=http://127.0.0.1:18080 DOJO_TOKEN=... scripts/measure-dojo-latency.py OUT.json

Stdlib only. One keep-alive connection, requests one at a time (what one worker sees), then the
same PATCH from 4 threads at once (how the server scales with concurrent writers). It creates its
own product type, product, engagement and test, and a few hundred findings: run it against a
DefectDojo made for tests (`scripts/dojo-kit.sh reset` afterwards).

The profile gives, per operation, the quantiles of the measured times in milliseconds; dojo-sim
draws a uniform number and interpolates between them (docs/benchmarks.md, "Latency profile").
"""
import http.client
import json
import os
import platform
import statistics
import sys
import threading
import time
import urllib.parse
from datetime import datetime, timezone

QUANTILES = [0.0, 0.05, 0.10, 0.25, 0.50, 0.75, 0.90, 0.95, 0.99, 1.0]


class Api:
    def __init__(self, url, token):
        u = urllib.parse.urlparse(url)
        self.host, self.port = u.hostname, u.port or 80
        self.headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body)
        t = time.perf_counter()
        self.conn.request(method, "/api/v2/" + path, body=data, headers=self.headers)
        r = self.conn.getresponse()
        raw = r.read()
        ms = (time.perf_counter() - t) * 1000
        if r.status >= 300:
            raise SystemExit(f"{method} {path}: {r.status} {raw[:300]!r}")
        return ms, (json.loads(raw) if raw else None)


def quantiles(samples):
    s = sorted(samples)
    out = []
    for q in QUANTILES:
        pos = q * (len(s) - 1)
        lo = int(pos)
        hi = min(lo + 1, len(s) - 1)
        out.append(round(s[lo] + (s[hi] - s[lo]) * (pos - lo), 2))
    return out


def main():
    out_path = sys.argv[1]
    n = int(os.environ.get("SAMPLES", "30"))
    api = Api(os.environ["DOJO_URL"], os.environ["DOJO_TOKEN"])
    stamp = str(int(time.time()))
    _, pt = api.call("POST", "product_types/", {"name": f"latency-{stamp}"})
    _, prod = api.call("POST", "products/", {"name": f"latency-{stamp}", "description": "latency probe", "prod_type": pt["id"]})
    _, eng = api.call("POST", "engagements/", {"name": "latency", "product": prod["id"], "target_start": "2026-01-01", "target_end": "2026-12-31"})
    _, tt = api.call("GET", "test_types/?limit=1")
    tt_id = tt["results"][0]["id"]

    def new_test():
        _, t = api.call("POST", "tests/", {"engagement": eng["id"], "test_type": tt_id, "target_start": "2026-01-01T00:00:00Z", "target_end": "2026-12-31T00:00:00Z"})
        return t["id"]

    def finding_body(test, i):
        return {"test": test, "found_by": [], "title": f"WSTG-INFO-{i:02d} probe", "severity": "Info",
                "numerical_severity": "S4", "description": "latency probe", "active": True, "verified": False,
                "unique_id_from_tool": f"WSTG-INFO-{i:02d}", "tags": [f"wstg-info-{i:02d}", "wstg-status-not-started"],
                "mitigation": "probe"}

    samples = {}
    test = new_test()
    samples["post_finding"] = []
    ids = []
    for i in range(n):
        ms, f = api.call("POST", "findings/", finding_body(test, i))
        samples["post_finding"].append(ms)
        ids.append(f["id"])
    samples["get_finding"] = [api.call("GET", f"findings/{ids[i % len(ids)]}/")[0] for i in range(n)]
    statuses = [("wstg-status-in-progress", True, False), ("wstg-status-done", False, True)]
    samples["patch_finding"] = []
    for i in range(n):
        tag, active, mitigated = statuses[i % 2]
        ms, _ = api.call("PATCH", f"findings/{ids[i]}/", {"active": active, "is_mitigated": mitigated, "tags": [f"wstg-info-{i:02d}", tag], "mitigation": f"change {i}"})
        samples["patch_finding"].append(ms)
    samples["close_finding"] = [api.call("POST", f"findings/{ids[i]}/close/", {"is_mitigated": True})[0] for i in range(n)]
    samples["post_note"] = [api.call("POST", f"findings/{ids[i]}/notes/", {"entry": f"note {i}"})[0] for i in range(n)]
    samples["get_other"] = [api.call("GET", f"tests/?engagement={eng['id']}&limit=25")[0] for _ in range(n // 2)]

    # Lists: one test per size, the poller's query.
    lists = {}
    for size in (0, 10, 50, 100, 200):
        t = new_test()
        for i in range(size):
            api.call("POST", "findings/", finding_body(t, i % 100))
        q = f"findings/?test={t}&o=-last_status_update&limit=200"
        lists[size] = [api.call("GET", q)[0] for _ in range(max(5, n // 3))]
    medians = {k: statistics.median(v) for k, v in lists.items()}
    # Least squares of median time on size: the per-finding cost of a list page.
    xs, ys = list(medians), list(medians.values())
    mx, my = statistics.mean(xs), statistics.mean(ys)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    samples["list_findings"] = lists[0]

    # Concurrency: the same PATCH, 4 threads with a connection each, against sequential.
    def patch_loop(k, count, out):
        a = Api(os.environ["DOJO_URL"], os.environ["DOJO_TOKEN"])
        for j in range(count):
            fid = ids[(k * count + j) % len(ids)]
            a.call("PATCH", f"findings/{fid}/", {"mitigation": f"par {k} {j}"})
        out.append(count)
    per = max(5, n // 3)
    t0 = time.perf_counter(); patch_loop(0, per, []); seq = per / (time.perf_counter() - t0)
    done = []
    threads = [threading.Thread(target=patch_loop, args=(k, per, done)) for k in range(4)]
    t0 = time.perf_counter()
    for th in threads: th.start()
    for th in threads: th.join()
    par = sum(done) / (time.perf_counter() - t0)

    profile = {
        "name": "defectdojo-3.2.0-kit",
        "measured": {
            "at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "by": "scripts/measure-dojo-latency.py",
            "server": "DefectDojo 3.2.0 test kit: manage.py runserver (DEBUG off) + 1 celery worker, PostgreSQL 16, loopback",
            "machine": f"{os.cpu_count()} cores shared with other builds, {platform.system()}",
            "samples_per_operation": n,
            "one_at_a_time": "one keep-alive connection, one request at a time",
            "list_medians_ms_by_size": {str(k): round(v, 2) for k, v in medians.items()},
            "patch_per_sec_sequential": round(seq, 2),
            "patch_per_sec_4_threads": round(par, 2),
        },
        "quantiles": QUANTILES,
        "operations": {k: {"ms": quantiles(v)} for k, v in samples.items()},
    }
    profile["operations"]["list_findings"]["per_finding_ms"] = round(max(slope, 0.0), 3)
    with open(out_path, "w") as f:
        json.dump(profile, f, indent=2)
        f.write("\n")
    for k, v in profile["operations"].items():
        print(k, "p50", v["ms"][4], "p95", v["ms"][7], "max", v["ms"][-1])
    print("list medians", profile["measured"]["list_medians_ms_by_size"], "slope", slope)
    print("patch/s sequential", seq, "4 threads", par)


if __name__ == "__main__":
    main()
