"""Progress of a long job that a merchant watches on a page (imports, exports).

A job row (a table with `status` and `processed` columns) is claimed and its progress
written on short transactions of their own, on another connection than the job's unit
of work, which commits only at the end: the page must show the run running while the
job goes on, and the job's transaction must hold no lock on the run's row, which the
progress updates write. So a job never writes to its run's row through the session
before it ends.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError

from saas.db import db, tenant_bind
from saas.tenancy import current_tenant

log = logging.getLogger(__name__)

PROGRESS_EVERY = 0.5  # seconds between progress writes


def claim(model: Any, run_id: int, *, waiting: str, running: str) -> bool:
    """Mark a `waiting` run `running`, committed at once; False if it was not waiting (a
    second copy of the job then does nothing)."""
    with tenant_bind(db.engine, current_tenant.schema).begin() as conn:
        claimed = conn.execute(
            update(model).where(model.id == run_id, model.status == waiting).values(status=running)
        )
    return bool(getattr(claimed, "rowcount", 0))


def mark_failed(model: Any, run_id: int, failure: str, **values: Any) -> Any | None:
    """A job's end after its work failed (and was undone): the run marked failed in the
    job's unit of work, with `failure` for the merchant and `values` (the file or the
    content dropped). The run is read again: the progress updates wrote `processed` on
    another connection. Returns the run (None if it is gone) for the caller's audit."""
    run = db.session.get(model, run_id, populate_existing=True)
    if run is None:
        return None
    run.status = "failed"
    run.failure = failure
    run.finished_at = datetime.now(UTC)
    for name, value in values.items():
        setattr(run, name, value)
    return run


class Progress:
    """Writes "N of M done" on a separate connection, so it shows while the job's own
    transaction is still open; at most every `PROGRESS_EVERY` seconds, and at the end."""

    def __init__(self, model: Any, run_id: int, *, total: int = 0) -> None:
        self.model = model
        self.run_id = run_id
        self.total = total
        self.row: int | None = None  # where the job is, for its failure message
        self.last = time.monotonic()
        self.engine = tenant_bind(db.engine, current_tenant.schema)

    def step(self, done: int, **values: Any) -> None:
        now = time.monotonic()
        if now - self.last < PROGRESS_EVERY and done < self.total:
            return
        self.last = now
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    update(self.model)
                    .where(self.model.id == self.run_id)
                    .values(processed=done, **values)
                )
        except SQLAlchemyError:  # only the progress display suffers: the job goes on
            log.warning("could not record the progress of %s %s", self.model.__name__, self.run_id)
