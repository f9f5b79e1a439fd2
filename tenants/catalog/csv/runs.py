"""An import's run: the dry run (`preview`), the merchant's go-ahead (`confirm`), and
the job that applies it (`run_import`), with its progress and how it ends."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

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
        problems=_stored(plan.problems),
        notes=_stored(plan.notes),
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


def confirm(run: ProductImport) -> None:
    """Mark a previewed run to be imported (the caller commits, then enqueues the job).

    Raises:
        ImportRefused: it was already started, or its file has problems.
    """
    if run.status != ImportStatus.PREVIEWED:
        raise ImportRefused("This import has already been started.")
    if run.problems:
        raise ImportRefused(
            "This file has problems to fix first. Correct them and upload it again."
        )
    run.status = ImportStatus.QUEUED
    db.session.flush()


def fail_to_start(run_id: int) -> None:
    """The job could not be queued: say so rather than leave the run waiting for ever
    (staged; the caller commits)."""
    _finish_failed(run_id, "The import could not be started. Please try again.", [])


def run_import(run_id: int) -> str | None:
    """Job: import a confirmed run in one transaction; a failure changes nothing.

    Safe to run twice: only a queued run is picked up. Returns the run's final status.
    The job's edge (`saas.jobs.run_job`) commits once: the catalog's changes with the
    run marked done, or, after a failure, only the run marked failed.
    """
    if not _claim(run_id):
        return None
    run = db.session.get(ProductImport, run_id)
    assert run is not None
    progress = Progress(ProductImport, run_id)
    try:
        # A savepoint: a failure undoes every product applied so far (and a database
        # error leaves the transaction usable), so the failure is still recorded.
        with atomic():
            counts = _import(run, progress)
    except ImportFailed as failed:
        _finish_failed(run_id, str(failed), failed.problems)
        return ImportStatus.FAILED
    except Exception:
        log.exception("product import %s failed at row %s", run_id, progress.row)
        where = f" at row {progress.row}" if progress.row else ""
        _finish_failed(
            run_id,
            f"The import stopped{where} because of an unexpected error. Try again; if it "
            "happens again, contact support.",
            [],
        )
        return ImportStatus.FAILED
    _finish_done(run, counts)
    return ImportStatus.DONE


def _claim(run_id: int) -> bool:
    """Mark a queued run running, committed at once (see `saas.job_progress`): only a
    queued run is claimed, so a second copy of the job does nothing."""
    return claim(ProductImport, run_id, waiting=ImportStatus.QUEUED, running=ImportStatus.RUNNING)


def _import(run: ProductImport, progress: Progress) -> dict[str, Any]:
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
    return plan.summary()


def _finish_done(run: ProductImport, counts: dict[str, Any]) -> None:
    run.status = ImportStatus.DONE
    run.processed = run.total = counts["create"] + counts["update"]
    run.summary = counts
    run.csv_text = ""  # the file is not needed any more
    run.finished_at = datetime.now(UTC)
    audit.record(
        "product.import_finished",
        actor=audit_actor(run.staff_id),
        import_id=run.id,
        counts=_audit_counts(counts),
    )


def _finish_failed(run_id: int, reason: str, problems: list[Problem]) -> None:
    # Nothing of it was kept: no product counts as processed.
    run = mark_failed(
        ProductImport, run_id, reason, processed=0, problems=_stored(problems), csv_text=""
    )
    if run is not None:
        audit.record(
            "product.import_failed",
            actor=audit_actor(run.staff_id),
            import_id=run.id,
            reason=reason,
        )


def _stored(problems: list[Problem]) -> list[dict[str, Any]]:
    return [p.as_dict() for p in problems[:MAX_STORED_PROBLEMS]]


def _audit_counts(counts: dict[str, Any]) -> dict[str, int]:
    names = ("create", "update", "variants_new", "variants_updated", "variants_removed")
    return {name: int(counts.get(name, 0)) for name in names}
