"""Who the audit log names for work a member of staff started and a job finished (an
import, an export): the job has no logged-in user, so the run's staff id is looked up."""

from __future__ import annotations

from saas.db import db
from tenants.staff.models import Staff


def audit_actor(staff_id: int | None) -> tuple[str, int | None, str | None]:
    """`saas.audit.record`'s `actor`: that member of staff, or the system if gone."""
    staff = db.session.get(Staff, staff_id) if staff_id is not None else None
    return ("staff", staff.id, staff.email) if staff is not None else ("system", None, None)
