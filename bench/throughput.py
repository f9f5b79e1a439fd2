"""Request throughput: in-process through the Flask test client, and over real HTTP."""

from __future__ import annotations

import contextlib
import json
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from flask import Flask
from werkzeug.serving import make_server

from saas.config import PROJECT_ROOT


@dataclass
class Run:
    """One measured series of requests."""

    requests: int
    seconds: float
    p50_ms: float
    p95_ms: float
    hosts: int = 1
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "rps": round(self.rps, 1)}


def _percentile(sorted_values: Sequence[float], fraction: float) -> float:
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, round(fraction * (len(sorted_values) - 1)))]


class BadResponse(RuntimeError):
    """The page under test did not answer 200: measuring it would be meaningless."""


def in_process(
    app: Flask,
    hosts: Sequence[str],
    *,
    max_requests: int,
    budget: float,
    warmup_requests: int = 100,
    path: str = "/",
) -> Run:
    """GET `path` through the test client, hosts taken round-robin.

    Warm-up: `warmup_requests`, and at least one request per host. Then up to
    `max_requests` or `budget` seconds, whichever comes first.
    """
    client = app.test_client()
    base_urls = [f"http://{host}" for host in hosts]

    def get(i: int) -> None:
        response = client.get(path, base_url=base_urls[i % len(base_urls)])
        if response.status_code != 200:
            raise BadResponse(
                f"GET {base_urls[i % len(base_urls)]}{path} answered {response.status}: "
                f"{response.get_data(as_text=True)[:300]!r}"
            )

    for i in range(max(warmup_requests, len(hosts))):
        get(i)
    latencies: list[float] = []
    clock = time.perf_counter
    began = clock()
    deadline = began + budget
    i = 0
    while i < max_requests:
        started = clock()
        get(i)
        finished = clock()
        latencies.append(finished - started)
        i += 1
        if finished >= deadline:
            break
    elapsed = clock() - began
    latencies.sort()
    return Run(
        requests=len(latencies),
        seconds=elapsed,
        p50_ms=_percentile(latencies, 0.5) * 1000,
        p95_ms=_percentile(latencies, 0.95) * 1000,
        hosts=len(hosts),
    )


def interleaved(series: dict[str, Callable[[], Run]], rounds: int) -> dict[str, list[Run]]:
    """Run each series `rounds` times, alternating, so that drift hits all of them alike."""
    runs: dict[str, list[Run]] = {name: [] for name in series}
    for _ in range(rounds):
        for name, measure in series.items():
            runs[name].append(measure())
    return runs


def median_rps(runs: Sequence[Run]) -> float:
    return statistics.median(run.rps for run in runs)


@contextlib.contextmanager
def served(app: Flask) -> Iterator[int]:
    """Serve `app` with a threaded werkzeug server on a free port; yield the port."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="bench-server", daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def over_http(
    port: int,
    hosts: Sequence[str],
    *,
    threads: int = 4,
    warmup: float = 1.0,
    duration: float = 4.0,
    path: str = "/",
) -> Run:
    """Drive the server on `port` from a client subprocess (see `bench.loadgen`)."""
    spec = {
        "port": port,
        "hosts": [f"{host}:{port}" for host in hosts],
        "path": path,
        "threads": threads,
        "warmup": warmup,
        "duration": duration,
    }
    done = subprocess.run(
        [sys.executable, "-m", "bench.loadgen"],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=warmup + duration + 300,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed ({done.returncode}): {done.stderr[-2000:]}")
    result = json.loads(done.stdout)
    if result["errors"]:
        raise BadResponse(
            f"{result['errors']} failed requests over HTTP, e.g. {result['error_samples']}"
        )
    return Run(
        requests=result["requests"],
        seconds=result["seconds"],
        p50_ms=result["latency_ms"]["p50"],
        p95_ms=result["latency_ms"]["p95"],
        hosts=len(hosts),
        extra={
            "threads": threads,
            "connections_opened": result["connections_opened"],
            "warmup_seconds": result["warmup_seconds"],
        },
    )
