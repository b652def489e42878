#!/usr/bin/env python3
"""500 sign-ins at once against a running CoachFlux, watching its memory and threads.

Each request comes "from" its own client (a distinct X-Forwarded-For, believed because the
server trusts 127.0.0.1 as a proxy) and names its own unknown address, so no rate limit stops
it before the password hash: this measures what the hashing bound does, not the limits.

Usage: login_flood.py BASE_URL PID [CONNECTIONS]
Prints one JSON line: statuses, idle and peak RSS (MiB), peak threads, wall time.
"""
import http.client
import json
import sys
import threading
import time
from collections import Counter
from urllib.parse import urlparse


def proc_status(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return int(fields["VmRSS"].split()[0]) // 1024, int(fields["Threads"])


def main():
    base, pid = sys.argv[1], int(sys.argv[2])
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 500
    url = urlparse(base)
    idle_rss, idle_threads = proc_status(pid)
    peak = {"rss": idle_rss, "threads": idle_threads}
    done = threading.Event()

    def watch():
        while not done.is_set():
            try:
                rss, threads = proc_status(pid)
            except FileNotFoundError:
                return
            peak["rss"] = max(peak["rss"], rss)
            peak["threads"] = max(peak["threads"], threads)
            time.sleep(0.02)

    statuses = Counter()
    lock = threading.Lock()
    barrier = threading.Barrier(n)

    def one(i):
        body = json.dumps({"email": f"flood{i}@example.com", "password": "a guess that is wrong"})
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
        barrier.wait()
        try:
            conn.request(
                "POST",
                "/api/v1/auth/login",
                body=body,
                headers={
                    "Content-Type": "application/json",
                    "X-Forwarded-For": f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}",
                },
            )
            status = conn.getresponse().status
        except Exception as e:  # a refused or reset connection is an outcome too
            status = type(e).__name__
        with lock:
            statuses[str(status)] += 1

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    started = time.monotonic()
    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - started
    done.set()
    watcher.join()
    print(json.dumps({
        "requests": n,
        "statuses": dict(statuses),
        "idle_rss_mib": idle_rss,
        "peak_rss_mib": peak["rss"],
        "idle_threads": idle_threads,
        "peak_threads": peak["threads"],
        "seconds": round(wall, 2),
    }))


if __name__ == "__main__":
    main()
