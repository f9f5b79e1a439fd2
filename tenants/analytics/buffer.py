"""Visits waiting in this process for a moment before they join their shop's queue.

A counted page only appends a tuple of what it knows here (well under a microsecond). A
daemon thread, started by the first visit of each process (so after a pre-forking server
has forked), turns them into queued visits every `INTERVAL` seconds, up to `CHUNK` in
one script call. The visitor's hash, the user agent's parse and the Redis round trip so
leave the request: done inside the page, they cost 7-13 % of a cached page's throughput
(`bench/storefront.py`).

What this costs in exactness is bounded: a process that dies uncleanly loses at most
its last `INTERVAL` of visits (a clean exit flushes), the same order as losing Redis;
a report drains this process's buffer before it reads today, and other processes' within
`INTERVAL`. Past `MAX_PENDING` waiting visits (Redis down for a long time) the oldest are
dropped, like the queue's own bound in Redis.

Written here because what a library would bring (a job queue, a metrics client) costs a
round trip or a serialisation per visit, which is exactly what this avoids.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections import deque
from typing import Any

from tenants.analytics import visits

log = logging.getLogger(__name__)

INTERVAL = 0.5  # seconds between flushes
CHUNK = 200  # visits per script call: short scripts keep Redis responsive
MAX_PENDING = 100_000


class VisitBuffer:
    """One per application: its Redis client, its waiting visits and its flushing thread."""

    def __init__(self, redis: Any) -> None:
        self.redis = redis
        self._pending: deque[tuple[Any, ...]] = deque(maxlen=MAX_PENDING)
        self._flushing = threading.Lock()
        self._starting = threading.Lock()
        self._thread: threading.Thread | None = None
        self._script: Any = None
        # Off, only `flush()` queues visits: the benchmark charges the flushes it times to
        # counting, instead of a thread's work landing on whatever request it interrupts.
        self.background = True
        os.register_at_fork(after_in_child=self._forked)
        atexit.register(self.flush)

    def add(
        self,
        tenant_id: int,
        environ: dict[str, Any],
        *,
        step: str = "",
        page: bool = True,
        customer: int | None = None,
    ) -> None:
        """Keep a visit of a request that may be counted (the caller decided the page is
        one: a 200 HTML page of a launched shop, or a funnel step; no staff). A request
        with no user agent is left out at once (never counted, like any bot); the rest
        of the bot test waits for the flush."""
        if not environ.get("HTTP_USER_AGENT"):
            return
        self._pending.append(
            (
                tenant_id,
                visits.clock(),
                page,
                step,
                customer,
                tuple(map(environ.get, visits.ENVIRON_KEYS)),
            )
        )
        if self._thread is None and self.background:
            self._start()

    def __len__(self) -> int:
        """How many visits are waiting."""
        return len(self._pending)

    def flush(self) -> int:
        """Queue every waiting visit in Redis now; how many were waiting. Visits that
        cannot be queued (Redis down) are dropped with a warning, never retried forever."""
        taken = 0
        with self._flushing:
            while self._pending:
                shops: dict[int, list[str]] = {}
                for _ in range(min(CHUNK, len(self._pending))):
                    tenant_id, now, page, step, customer, request = self._pending.popleft()
                    taken += 1
                    line = visits.visit_line(
                        tenant_id,
                        request,
                        self.redis,
                        now=int(now),
                        step=step,
                        page=page,
                        customer=customer,
                    )
                    if line is not None:  # (a bot or a prefetch: never counted)
                        shops.setdefault(tenant_id, []).append(line)
                if shops:
                    self._queue(shops)
        return taken

    def _queue(self, shops: dict[int, list[str]]) -> None:
        args: list[str | int] = []
        for tenant_id, lines in shops.items():
            args += (tenant_id, "\n".join(lines))
        try:
            if self._script is None:
                self._script = self.redis.register_script(visits.lua_count())
            self._script(args=args)
        except Exception:
            log.warning("visits not counted: analytics store unavailable", exc_info=True)

    def _start(self) -> None:
        with self._starting:
            if self._thread is None:
                thread = threading.Thread(target=self._run, name="visit-buffer", daemon=True)
                thread.start()
                self._thread = thread

    def _run(self) -> None:
        while True:
            time.sleep(INTERVAL)
            try:
                self.flush()
            except Exception:  # the thread must outlive any one bad visit
                log.exception("visit buffer flush failed")

    def _forked(self) -> None:
        """In a forked child: no thread runs here yet, and the parent's waiting visits are
        the parent's to queue (queueing them here too would count them twice)."""
        self._pending.clear()
        self._thread = None
        self._flushing = threading.Lock()
        self._starting = threading.Lock()


def init_app(app: Any) -> None:
    """Give the application its buffer (`app.extensions["visit_buffer"]`)."""
    app.extensions["visit_buffer"] = VisitBuffer(app.extensions["redis"])


def of(app: Any) -> VisitBuffer | None:
    """The application's buffer (None if it was built without one)."""
    return app.extensions.get("visit_buffer")
