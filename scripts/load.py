#!/usr/bin/env python3
"""Posts tracker changes to a running wstg-ingest (stdlib only): the memory and soak benchmark's
load (scripts/bench-memory.sh).

    load.py URL TOKEN --changes 1000 --items 50 [--clients 16] [--rate 0] [--seconds 0]

Change i goes to item i % items of the WSTG 4.2 INFO/CONF chapters, with a status and notes that
change every time. Each client owns the items whose index modulo `clients` is its own, so an item's changes stay in order.
--rate R paces all clients together at R changes a second; --seconds S stops after S seconds.
"""
import argparse
import http.client
import json
import sys
import threading
import time
import urllib.parse

STATUSES = ["in_progress", "blocked", "done", "not_applicable", "not_started"]
CHAPTERS = {"INFO": 10, "CONF": 11, "IDNT": 5, "ATHN": 10, "ATHZ": 4, "SESS": 9, "INPV": 19}


def item_ids():
    return [f"WSTG-{c}-{n:02d}" for c, count in CHAPTERS.items() for n in range(1, count + 1)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("token")
    ap.add_argument("--changes", type=int, default=1000)
    ap.add_argument("--items", type=int, default=50)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--rate", type=float, default=0.0)
    ap.add_argument("--seconds", type=float, default=0.0)
    a = ap.parse_args()
    ids = item_ids()[: a.items]
    u = urllib.parse.urlparse(a.url)
    start = time.monotonic()
    errors = []
    sent = [0]
    lock = threading.Lock()

    def client(c):
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        headers = {"Authorization": f"Bearer {a.token}", "Content-Type": "application/json"}
        i = -1
        while True:
            i += 1
            # Each item belongs to one client, so its changes stay in order.
            if (i % len(ids)) % a.clients != c:
                continue
            if a.seconds and time.monotonic() - start >= a.seconds:
                return
            if not a.seconds and i >= a.changes:
                return
            if a.rate:
                due = start + (i / a.rate)
                pause = due - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
            body = {"wstg_id": ids[i % len(ids)], "status": STATUSES[(i // len(ids)) % 5], "notes": f"change {i}"}
            conn.request("POST", "/api/wstg/sync", body=json.dumps(body), headers=headers)
            r = conn.getresponse()
            r.read()
            if r.status != 202:
                errors.append(r.status)
            with lock:
                sent[0] += 1

    threads = [threading.Thread(target=client, args=(c,)) for c in range(a.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.monotonic() - start
    print(json.dumps({"sent": sent[0], "seconds": round(took, 2), "errors": len(errors), "first_error": errors[:1]}))
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
