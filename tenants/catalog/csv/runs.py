"""An import's run: the dry run (`preview`), the merchant's go-ahead (`confirm`), and
the job that applies it (`run_import`), with its progress and how it ends."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import select

from saas import audit
from saas.db import atomic, db
from saas.job_progress import Progress, claim, mark_failed
from saas.tenancy import current_tenant
from tenants.catalog.csv.apply import apply_product
from tenants.catalog.csv.findings import Problem
from tenants.catalog.csv.plan import check, limit_problem
from tenants.catalog.models import ImportStatus, ProductImport
from tenants.settings.services import get_settings
from tenants.staff.actors import audit_actor

log = logging.getLogger(__name__)

R = TypeVar("R", bound=Any)  # a run: a row with status, processed and total
MAX_STORED_PROBLEMS = 500  # a file with more is summarised: fix these and look again


class ImportRefused(ValueError):
    """The run cannot be started (already started, or the file has problems)."""


class ImportFailed(RuntimeError):
    """The import stopped; nothing was changed. The message is for the merchant."""

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


def preview(
    text: str, filename: str, *, tenant_id: int, currency: str, staff_id: int | None
) -> ProductImport:
    """The dry run: check the file and keep what was found as a new run. Flushes."""
    plan = check(text, tenant_id=tenant_id, currency=currency)
    run = ProductImport(
        filename=(filename or "products.csv")[-255:],
        status=ImportStatus.PREVIEWED,
        # Kept for the job to re-read; a file with problems is never imported.
        csv_text="" if plan.problems else text,
        summary=plan.summary(),
        problems=stored(plan.problems),
        notes=stored(plan.notes),
        total=len(plan.products),
        processed=0,
        failure="",
        staff_id=staff_id,
    )
    db.session.add(run)
    db.session.flush()
    return run


def recent_runs(limit: int = 10) -> list[ProductImport]:
    return list(
        db.session.scalars(select(ProductImport).order_by(ProductImport.id.desc()).limit(limit))
    )


def confirm(run: Any) -> None:
    """Mark a previewed run (a product or review import) to be imported (the caller
    commits, then enqueues the job). A run already started is refused, so a second
    click, or a second tab, imports nothing twice.

    Raises:
        ImportRefused: it was already started, or its file has problems.
    """
    if run.status != ImportStatus.PREVIEWED:
        raise ImportRefused("This import has already been started.")
    if run.problems or not run.csv_text:
        raise ImportRefused(
            "This file has problems to fix first. Correct them and upload it again."
        )
    run.status = ImportStatus.QUEUED
    run.processed = 0
    db.session.flush()


def not_started(model: Any, run_id: int, *, action: str) -> None:
    """The job could not be queued: say so rather than leave the run waiting for ever
    (staged; the caller commits)."""
    reason = "The import could not be started. Please try again."
    finish_failed(model, run_id, reason, [], action=action)


fail_to_start = partial(not_started, ProductImport, action="product.import")


def run_import(run_id: int) -> str | None:
    """Job: import a confirmed run in one transaction; a failure changes nothing.

    Safe to run twice: only a queued run is picked up. Returns the run's final status.
    The job's edge (`saas.jobs.run_job`) commits once: the catalog's changes with the
    run marked done, or, after a failure, only the run marked failed.
    """
    return import_job(ProductImport, run_id, _import, action="product.import")


@dataclass(frozen=True)
class Outcome:
    """What an import's work did: rows applied, the run's summary, the audit's detail."""

    processed: int
    summary: dict[str, Any]
    detail: dict[str, Any]


def import_job(
    model: type[R], run_id: int, work: Callable[[R, Progress], Outcome], *, action: str
) -> str | None:
    """An import job's course (product and review imports): claim the queued run, do
    its `work` with its progress, then mark it done or failed, audited as
    `<action>_finished` or `<action>_failed`. The run's final status, or None when it
    was not waiting (a second copy of the job does nothing).

    The run is claimed on a connection of its own, committed at once (see
    `saas.job_progress`), and `work` must never write to it: it is marked at the end.
    """
    if not claim(model, run_id, waiting=ImportStatus.QUEUED, running=ImportStatus.RUNNING):
        return None
    run = db.session.get(model, run_id)
    assert run is not None
    progress = Progress(model, run_id)
    try:
        # A savepoint: a failure undoes everything applied so far (and a database
        # error leaves the transaction usable), so the failure is still recorded.
        with atomic():
            outcome = work(run, progress)
    except ImportFailed as refused:
        finish_failed(model, run_id, str(refused), refused.problems, action=action)
        return ImportStatus.FAILED
    except Exception:
        log.exception("%s %s failed at row %s", model.__tablename__, run_id, progress.row)
        where = f" at row {progress.row}" if progress.row else ""
        reason = (
            f"The import stopped{where} because of an unexpected error. Try again; if it "
            "happens again, contact support."
        )
        finish_failed(model, run_id, reason, [], action=action)
        return ImportStatus.FAILED
    run.status = ImportStatus.DONE
    run.processed = run.total = outcome.processed
    run.summary = outcome.summary
    run.csv_text = ""  # the file is not needed any more
    run.finished_at = datetime.now(UTC)
    audit.record(
        f"{action}_finished", actor=audit_actor(run.staff_id), import_id=run.id, **outcome.detail
    )
    return ImportStatus.DONE


def finish_failed(
    model: Any, run_id: int, reason: str, problems: list[Problem], *, action: str
) -> None:
    """Mark a run failed (staged; the job or the caller commits): nothing of it was
    kept, so nothing counts as processed."""
    run = mark_failed(model, run_id, reason, processed=0, problems=stored(problems), csv_text="")
    if run is not None:
        audit.record(
            f"{action}_failed", actor=audit_actor(run.staff_id), import_id=run.id, reason=reason
        )


def _import(run: ProductImport, progress: Progress) -> Outcome:
    # Never write to `run` before the end (see `saas.job_progress`): a lock held here on
    # its row would make the progress updates wait for ever.
    currency = get_settings().currency
    plan = check(run.csv_text, tenant_id=current_tenant.id, currency=currency, limit=False)
    if plan.problems:
        raise ImportFailed(
            "The file no longer passes its checks, because the catalog changed since the "
            "preview. Correct the problems below and upload the file again.",
            plan.problems,
        )
    problem = limit_problem(current_tenant.id, plan, lock=True)
    if problem:
        raise ImportFailed(
            "Your catalog or plan changed since the preview, and this file would now take "
            "the catalog over your plan's product limit.",
            [problem],
        )
    progress.total = len(plan.products)
    for done, planned in enumerate(plan.products, 1):
        progress.row = planned.row
        apply_product(planned, staff_id=run.staff_id)
        progress.step(done)
    counts = plan.summary()
    return Outcome(counts["create"] + counts["update"], counts, {"counts": _audit_counts(counts)})


def stored(problems: list[Problem]) -> list[dict[str, Any]]:
    return [p.as_dict() for p in problems[:MAX_STORED_PROBLEMS]]


def _audit_counts(counts: dict[str, Any]) -> dict[str, int]:
    names = ("create", "update", "variants_new", "variants_updated", "variants_removed")
    return {name: int(counts.get(name, 0)) for name in names}
