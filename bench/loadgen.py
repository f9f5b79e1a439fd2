"""HTTP load generator, run as a subprocess: `python -m bench.loadgen < spec.json`.

It runs in its own process so the client does not compete with the server under test
for the GIL. A few threads each send `GET <path>` with a `Host` header over an
`http.client` connection, taking hosts round-robin from a shared counter. Connections
are reused when the server allows it (werkzeug's does not: it closes each one).

Warm-up lasts `warmup` seconds (and, with `warm_every_host`, at least one full pass over
the hosts); then requests
completing within the next `duration` seconds are counted. The result (JSON on stdout)
holds the count, the window, latency percentiles, errors and reconnections.
"""

from __future__ import annotations

import http.client
import itertools
import json
import statistics
import sys
import threading
import time
from typing import Any


def _percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, round(fraction * (len(sorted_values) - 1)))
    return sorted_values[index]


def run(spec: dict[str, Any]) -> dict[str, Any]:
    port = int(spec["port"])
    hosts: list[str] = spec["hosts"]
    path: str = spec.get("path", "/")
    threads = int(spec.get("threads", 4))
    warmup = float(spec.get("warmup", 1.0))
    duration = float(spec.get("duration", 4.0))
    warm_every_host = bool(spec.get("warm_every_host", False))

    counter = itertools.count()  # next() is atomic under the GIL
    window: dict[str, float] = {}  # "start" and "end" once warm-up is over
    stop = threading.Event()
    lock = threading.Lock()
    latencies: list[float] = []
    errors: list[str] = []
    connections = [0]

    def worker() -> None:
        conn: http.client.HTTPConnection | None = None
        mine: list[float] = []
        my_errors: list[str] = []
        opened = 0
        while not stop.is_set():
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                opened += 1
            host = hosts[next(counter) % len(hosts)]
            started = time.perf_counter()
            try:
                conn.request("GET", path, headers={"Host": host})
                response = conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException) as exc:
                my_errors.append(f"{type(exc).__name__}: {exc}")
                conn.close()
                conn = None
                continue
            finished = time.perf_counter()
            if response.status != 200:
                my_errors.append(f"HTTP {response.status} for {host}")
            if response.will_close:
                conn.close()
                conn = None
            start = window.get("start")
            if start is not None and start <= finished <= window["end"]:
                mine.append(finished - started)
            elif start is not None and finished > window["end"]:
                break
        if conn is not None:
            conn.close()
        with lock:
            latencies.extend(mine)
            errors.extend(my_errors)
            connections[0] += opened

    workers = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    began = time.perf_counter()
    for thread in workers:
        thread.start()
    # Warm-up: the time asked for and, if asked, every host requested at least once.
    needed = len(hosts) + threads if warm_every_host else 0
    deadline = began + warmup + 300
    while time.perf_counter() < deadline:
        elapsed = time.perf_counter() - began
        issued = next(counter)  # costs one host slot; harmless
        if elapsed >= warmup and issued >= needed:
            break
        time.sleep(0.02)
    start = time.perf_counter()
    window["end"] = start + duration
    window["start"] = start
    time.sleep(duration)
    stop.set()
    for thread in workers:
        thread.join(60)

    latencies.sort()
    return {
        "requests": len(latencies),
        "seconds": duration,
        "rps": len(latencies) / duration,
        "threads": threads,
        "hosts": len(hosts),
        "latency_ms": {
            "p50": round(_percentile(latencies, 0.50) * 1000, 3),
            "p95": round(_percentile(latencies, 0.95) * 1000, 3),
            "mean": round(statistics.fmean(latencies) * 1000, 3) if latencies else None,
        },
        "errors": len(errors),
        "error_samples": sorted(set(errors))[:5],
        "connections_opened": connections[0],
        "warmup_seconds": round(start - began, 2),
    }


def main() -> int:
    spec = json.load(sys.stdin)
    json.dump(run(spec), sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
