"""Background jobs on RQ, each run inside the tenant it was enqueued for.

`enqueue()` records the current tenant's id with the job; the worker runs every job
through `run_job()`, which opens an application context and, when the job belongs to
a shop, that shop's schema (`tenant_context`). Job functions take ids and plain values,
never ORM objects, and must be safe to run twice.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import Flask, current_app
from rq import Queue, Retry, Worker
from rq.job import Job

from saas.cache import redis_client
from saas.db import after_commit, db
from saas.models import Tenant, TenantStatus
from saas.tenancy import get_current_tenant, tenant_context

log = logging.getLogger(__name__)

QUEUES = ("default", "mail")


def queue_name(name: str) -> str:
    return f"{current_app.config['QUEUE_PREFIX']}{name}"


def get_queue(name: str = "default") -> Queue:
    return Queue(queue_name(name), connection=redis_client())


def _dotted(func: Callable[..., Any] | str) -> str:
    if isinstance(func, str):
        return func
    return f"{func.__module__}.{func.__qualname__}"


def enqueue(
    func: Callable[..., Any] | str,
    *args: Any,
    queue: str = "default",
    tenant_id: int | None = None,
    retries: int = 3,
    timeout: int | None = None,
    delay: timedelta | None = None,
    **kwargs: Any,
) -> Job | None:
    """Queue `func(*args, **kwargs)` to run as the current tenant (or `tenant_id`), once
    the current unit of work commits (`saas.db.after_commit`): a job never sees data that
    is not there yet, and a job of a unit that rolls back never runs. Outside any
    transaction it is queued at once and its `Job` returned (None when deferred).

    Jobs are retried with backoff (10 s, 60 s, 5 min) because most of them talk to the
    outside world. `timeout` (seconds) overrides RQ's default of 180 for long jobs such
    as imports. With `delay` the job runs that much later (the worker's scheduler holds
    it; it lives in Redis, so work that must happen also has a cron-run sweep behind it).
    """
    if tenant_id is None:
        tenant = get_current_tenant()
        tenant_id = tenant.id if tenant else None
    queued: list[Job] = []
    after_commit(
        lambda: queued.append(
            _enqueue_now(func, args, kwargs, queue, tenant_id, retries, timeout, delay)
        )
    )
    return queued[0] if queued else None


def _enqueue_now(
    func: Callable[..., Any] | str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    queue: str,
    tenant_id: int | None,
    retries: int,
    timeout: int | None,
    delay: timedelta | None,
) -> Job:
    options: dict[str, Any] = {
        "meta": {"tenant_id": tenant_id},
        "retry": Retry(max=retries, interval=[10, 60, 300]) if retries else None,
        "description": f"{_dotted(func)} for tenant {tenant_id or '-'}",
        "job_timeout": timeout,
    }
    queue_ = get_queue(queue)
    call = (run_job, tenant_id, _dotted(func), list(args), kwargs)
    if delay is not None:
        return queue_.enqueue_in(delay, *call, **options)
    return queue_.enqueue(*call, **options)


def run_job(tenant_id: int | None, func_path: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
    """Worker-side entry point: re-enter the job's tenant, then call the function."""
    module_name, _, attr = func_path.rpartition(".")
    func = getattr(importlib.import_module(module_name), attr)
    app = _worker_app()
    with app.app_context():
        tenant = None
        if tenant_id is not None:
            tenant = db.session.get(Tenant, tenant_id)
            if tenant is None or tenant.status == TenantStatus.DELETED:
                log.warning("skipping %s: tenant %s no longer exists", func_path, tenant_id)
                return None
        with tenant_context(tenant):  # the job's unit of work: commits or rolls back
            return func(*args, **kwargs)


_app: Flask | None = None


def _worker_app() -> Flask:
    global _app
    if _app is None:
        try:
            _app = current_app._get_current_object()  # type: ignore[attr-defined]
        except RuntimeError:  # the core never builds the app: the entry point does
            raise RuntimeError(
                "jobs run in a worker made by saas.jobs.make_worker(app): `flask worker`"
            ) from None
    return _app


class TenantWorker(Worker):
    """An RQ worker that builds the app once, before it forks a work horse per job."""

    def __init__(self, *args: Any, app: Flask | None = None, **kwargs: Any) -> None:
        global _app
        super().__init__(*args, **kwargs)
        if app is not None:
            _app = app
        _worker_app()

    def main_work_horse(self, job: Job, queue: Queue) -> Any:
        # In the forked work horse: forget (without closing) the parent's pooled
        # connections, so the child opens its own and never talks over the parent's.
        with _worker_app().app_context():
            db.engine.dispose(close=False)
        return super().main_work_horse(job, queue)


def make_worker(app: Flask, queues: list[str] | None = None) -> TenantWorker:
    with app.app_context():
        names = [queue_name(q) for q in (queues or list(QUEUES))]
        return TenantWorker(names, connection=redis_client(), app=app)
