"""Starting an export (`start`), the job that writes its file (`run_export`), and how
it ends; the kinds of list that can be exported are `EXPORTERS`."""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from saas import audit
from saas.db import atomic, db
from saas.job_progress import Progress, claim, mark_failed
from saas.spreadsheet import safe_cell
from saas.tenancy import current_tenant
from tenants.customers.export import EXPORTER as CUSTOMERS
from tenants.exports.exporter import Exporter
from tenants.exports.models import ExportRun, ExportStatus
from tenants.loyalty.export import EXPORTER as POINTS
from tenants.orders.export import EXPORTER as ORDERS
from tenants.staff.actors import audit_actor

log = logging.getLogger(__name__)

EXPORTERS: dict[str, Exporter] = {e.kind: e for e in (ORDERS, CUSTOMERS, POINTS)}
IN_PROGRESS = (ExportStatus.QUEUED, ExportStatus.RUNNING)
KEEP_DAYS = 7  # a finished file stays downloadable this long; then export again
BATCH = 500  # rows read from the database at a time
TIMEOUT = 30 * 60  # seconds: the job's limit (100,000 orders take well under a minute)


def start(kind: str, args: Mapping[str, str], *, staff_id: int | None) -> ExportRun:
    """A queued export of the `kind` list with the filters in `args` (the list's query
    string). The caller commits, then enqueues `run_export` (see the back office).
    Flushes. Raises KeyError for an unknown kind."""
    exporter = EXPORTERS[kind]
    _expire_old()
    filters = {name: value for name, value in exporter.filters(args).items() if value}
    run = ExportRun(
        kind=kind,
        status=ExportStatus.QUEUED,
        filters=filters,
        total=_count(exporter, filters),
        processed=0,
        filename=f"{kind}-{current_tenant.slug}-{datetime.now(UTC).date().isoformat()}.csv",
        content="",
        failure="",
        staff_id=staff_id,
    )
    db.session.add(run)
    db.session.flush()
    audit.record("export.started", export_id=run.id, kind=kind, filters=filters)
    return run


def recent_runs(kind: str, limit: int = 5) -> list[ExportRun]:
    return list(
        db.session.scalars(
            select(ExportRun)
            .where(ExportRun.kind == kind)
            .order_by(ExportRun.id.desc())
            .limit(limit)
        )
    )


def _count(exporter: Exporter, filters: Mapping[str, str]) -> int:
    listed = exporter.query(filters).order_by(None).subquery()
    return db.session.scalar(select(func.count()).select_from(listed)) or 0


def _expire_old() -> None:
    """Drop the files of exports finished more than `KEEP_DAYS` ago (staged)."""
    db.session.execute(
        update(ExportRun)
        .where(
            ExportRun.status == ExportStatus.DONE,
            ExportRun.finished_at < datetime.now(UTC) - timedelta(days=KEEP_DAYS),
        )
        .values(status=ExportStatus.EXPIRED, content="")
    )


def expires_at(run: ExportRun) -> datetime | None:
    return run.finished_at + timedelta(days=KEEP_DAYS) if run.finished_at else None


def downloadable(run: ExportRun) -> bool:
    until = expires_at(run)
    return run.status == ExportStatus.DONE and until is not None and until > datetime.now(UTC)


def fail_to_start(run_id: int) -> None:
    """The job could not be queued: say so rather than leave the run waiting for ever
    (staged; the caller commits)."""
    _finish_failed(run_id, "The export could not be started. Please try again.")


def run_export(run_id: int) -> str | None:
    """Job: write the run's file with the list's query as it is now. Safe to run twice:
    only a queued run is picked up. Returns the run's final status."""
    if not claim(ExportRun, run_id, waiting=ExportStatus.QUEUED, running=ExportStatus.RUNNING):
        return None
    run = db.session.get(ExportRun, run_id)
    assert run is not None
    exporter = EXPORTERS[run.kind]
    progress = Progress(ExportRun, run_id)
    try:
        with atomic():  # a database error leaves the job's transaction usable
            content, written = _write(exporter, run.filters, progress)
    except Exception:
        log.exception("export %s (%s) failed after %s rows", run_id, run.kind, progress.row)
        _finish_failed(
            run_id,
            "The export stopped because of an unexpected error. Try again; if it happens "
            "again, contact support.",
        )
        return ExportStatus.FAILED
    run = db.session.get(ExportRun, run_id, populate_existing=True)
    assert run is not None
    run.status = ExportStatus.DONE
    run.content = content
    run.processed = run.total = written
    run.finished_at = datetime.now(UTC)
    audit.record(
        "export.finished",
        actor=audit_actor(run.staff_id),
        export_id=run.id,
        kind=run.kind,
        rows=written,
    )
    return ExportStatus.DONE


def _write(exporter: Exporter, filters: Mapping[str, str], progress: Progress) -> tuple[str, int]:
    # Never write to the run before the end (see `saas.job_progress`).
    progress.total = _count(exporter, filters)
    row = exporter.make_row()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(exporter.header)
    query = exporter.query(filters).options(*exporter.options).execution_options(yield_per=BATCH)
    written = 0
    for result in db.session.execute(query):
        item = result[0] if len(result) == 1 else result
        writer.writerow([safe_cell(cell) for cell in row(item)])
        written += 1
        progress.row = written
        if written % BATCH == 0:
            progress.step(written, total=progress.total)
    progress.step(written, total=written)
    return buffer.getvalue(), written


def _finish_failed(run_id: int, reason: str) -> None:
    run = mark_failed(ExportRun, run_id, reason, content="")
    if run is not None:
        audit.record(
            "export.failed", actor=audit_actor(run.staff_id), export_id=run.id, reason=reason
        )
