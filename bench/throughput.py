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
from random import shuffle
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
    warm_every_host: bool = False,
    path: str = "/",
) -> Run:
    """GET `path` through the test client, hosts taken round-robin.

    Warm-up: `warmup_requests` (and, if asked, at least one request per host). Then up
    to `max_requests` or `budget` seconds, whichever comes first.
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

    for i in range(max(warmup_requests, len(hosts) if warm_every_host else 0)):
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


def in_process_interleaved(
    targets: dict[str, tuple[Flask, Sequence[str]]],
    *,
    requests: int,
    budget: float,
    blocks: int = 5,
    warmup_requests: int = 50,
    path: str = "/",
    paths: dict[str, str] | None = None,
) -> dict[str, list[Run]]:
    """Several series through the test client, interleaved request by request.

    Every series requests `path`, or its own entry in `paths`.

    Each iteration sends one request of every series, in a shuffled order (hosts
    round-robin within a series), so whatever else the machine does hits all series
    alike. A series'
    throughput is its request count over the time spent in its own requests. The run is
    split into `blocks` consecutive blocks, one `Run` each, to show the spread; it stops
    after `requests` per series or `budget` seconds.
    """
    clients = {name: app.test_client() for name, (app, _) in targets.items()}
    urls = {name: [f"http://{host}" for host in hosts] for name, (_, hosts) in targets.items()}
    sent = dict.fromkeys(targets, 0)

    def get(name: str) -> None:
        base_url = urls[name][sent[name] % len(urls[name])]
        sent[name] += 1
        target = (paths or {}).get(name, path)
        response = clients[name].get(target, base_url=base_url)
        if response.status_code != 200:
            raise BadResponse(
                f"GET {base_url}{target} answered {response.status}: "
                f"{response.get_data(as_text=True)[:300]!r}"
            )

    for _ in range(warmup_requests):
        for name in targets:
            get(name)
    clock = time.perf_counter
    runs: dict[str, list[Run]] = {name: [] for name in targets}
    per_block = max(1, requests // blocks)
    for _ in range(blocks):
        latencies: dict[str, list[float]] = {name: [] for name in targets}
        deadline = clock() + budget / blocks
        for _ in range(per_block):
            order = list(targets)
            shuffle(order)  # no series always follows the same one
            for name in order:
                started = clock()
                get(name)
                latencies[name].append(clock() - started)
            if clock() >= deadline:
                break
        for name, values in latencies.items():
            values.sort()
            runs[name].append(
                Run(
                    requests=len(values),
                    seconds=sum(values),
                    p50_ms=_percentile(values, 0.5) * 1000,
                    p95_ms=_percentile(values, 0.95) * 1000,
                    hosts=len(urls[name]),
                )
            )
    return runs


def interleaved(series: dict[str, Callable[[], Run]], rounds: int) -> dict[str, list[Run]]:
    """Run each series `rounds` times, alternating, so that drift hits all of them alike."""
    runs: dict[str, list[Run]] = {name: [] for name in series}
    for _ in range(rounds):
        for name, measure in series.items():
            runs[name].append(measure())
    return runs


def median_rps(runs: Sequence[Run]) -> float:
    return statistics.median(run.rps for run in runs)


def paired_ratios(numerator: Sequence[Run], denominator: Sequence[Run]) -> list[float]:
    """Per-round throughput ratios of two interleaved series."""
    return [n.rps / d.rps if d.rps else 0.0 for n, d in zip(numerator, denominator, strict=True)]


@contextlib.contextmanager
def served(app: Flask) -> Iterator[int]:
    """Serve `app` with a threaded werkzeug server on a free port; yield the port.

    Werkzeug 3 answers every request with `Connection: close` (and, after each response,
    drains the socket, which would swallow a pipelined or quickly following request), so
    keep-alive is not possible with it: each request costs a new TCP connection and a
    new server thread, as it does for real clients of this server.
    """
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
    warm_every_host: bool = False,
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
        "warm_every_host": warm_every_host,
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
