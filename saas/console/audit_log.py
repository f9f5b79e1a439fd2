"""The audit log: every operator action and sensitive merchant action, filterable."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import render_template, request
from flask_login import login_required
from sqlalchemy import false, func, select

from saas.console import bp
from saas.console.tenants import day_start, parse_date
from saas.db import db
from saas.models import AuditEvent, Tenant
from saas.paging import paginate

PER_PAGE = 50


def tenant_id_for(value: str) -> int | None:
    """A shop given by id or address. A purged shop has no row any more, but the event
    that purged it still names its address."""
    value = value.strip().lower()
    if value.isdigit():
        return int(value)
    tenant_id = db.session.scalar(select(Tenant.id).where(Tenant.slug == value))
    if tenant_id is None:
        tenant_id = db.session.scalar(
            select(AuditEvent.tenant_id)
            .where(AuditEvent.action == "tenant.purged", AuditEvent.detail["slug"].astext == value)
            .order_by(AuditEvent.id.desc())
            .limit(1)
        )
    return tenant_id


def _like_prefix(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_") + "%"


@bp.get("/audit")
@login_required
def audit() -> Any:
    args = request.args
    tenant = args.get("tenant", "").strip()[:100]
    action = args.get("action", "").strip()[:64]
    actor = args.get("actor", "").strip().lower()[:320]
    errors: dict[str, str] = {}
    query = select(AuditEvent)
    if tenant:
        tenant_id = tenant_id_for(tenant)
        if tenant_id is None:
            errors["tenant"] = f"No shop has the id or address “{tenant}”."
        else:
            query = query.where(AuditEvent.tenant_id == tenant_id)
    if action:
        query = query.where(AuditEvent.action.like(_like_prefix(action)))
    if actor:
        query = query.where(func.lower(AuditEvent.actor_email).like("%" + _like_prefix(actor)))
    for key, label in (("date_from", "From"), ("date_to", "To")):
        try:
            day = parse_date(args.get(key))
        except ValueError:
            errors[key] = f"“{label}” must be a date like 2025-01-31."
            continue
        if day and key == "date_from":
            query = query.where(AuditEvent.created_at >= day_start(day))
        elif day:
            query = query.where(AuditEvent.created_at < day_start(day) + timedelta(days=1))
    if errors.get("tenant"):
        query = query.where(false())  # an unknown shop has no events; show none, not all
    page = paginate(query.order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc()), PER_PAGE)
    ids = {e.tenant_id for e in page.items if e.tenant_id is not None}
    slugs = (
        dict(db.session.execute(select(Tenant.id, Tenant.slug).where(Tenant.id.in_(ids))).all())
        if ids
        else {}
    )
    return render_template(
        "console/audit.html",
        page=page,
        slugs=slugs,
        tenant=tenant,
        action=action,
        actor=args.get("actor", "").strip(),
        date_from=args.get("date_from", ""),
        date_to=args.get("date_to", ""),
        errors=errors,
        filtered=bool(tenant or action or actor or args.get("date_from") or args.get("date_to")),
    ), (400 if errors else 200)
