"""What the operator does to a shop over its life: suspend, resume, change its plan,
extend its trial, delete it (softly), restore it, export its data and finally purge it.

The console's views and the jobs both call these. Each action adds its audit event to
the caller's transaction and flushes; the caller commits once, so an action and its
trail land together (and the ORM commit invalidates the host cache, so a suspended or
deleted shop stops serving at once).

Deletion is in two steps. Soft delete hides the shop immediately and queues an export
of its data; after `DELETED_RETENTION_DAYS` the purge drops its schema, but only once
an export exists. Audit events are never purged: they have no foreign key to the shop.
"""

from __future__ import annotations

import base64
import json
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from flask import current_app
from sqlalchemy import FromClause, select
from sqlalchemy.engine import Connection

from saas import audit, handoff
from saas.billing.limits import downgrade_problems
from saas.billing.subscribe import BillingRefused, live_in_stripe
from saas.billing.subscribe import change_plan as change_in_stripe
from saas.db import TenantModel, checked_schema, db, unit_of_work
from saas.jobs import enqueue, get_queue, run_job
from saas.models import (
    AuditEvent,
    Domain,
    HandoffPurpose,
    Plan,
    Subscription,
    SubscriptionStatus,
    Tenant,
    TenantStatus,
)
from saas.payments.stripe_api import StripeFailure
from saas.plans import start_trial, subscription_of
from saas.tenancy.provisioning import drop_tenant

log = logging.getLogger(__name__)

SYSTEM = ("system", None, None)  # the actor of jobs and cron commands
MAX_TRIAL_EXTENSION_DAYS = 90
REASON_MAX = 500


class ActionRefused(ValueError):
    """The action does not apply to this shop as it is now; the message says why."""


# --- status ---------------------------------------------------------------------------


def _reason(reason: str | None, *, required: bool = True) -> str | None:
    reason = (reason or "").strip()
    if required and not reason:
        raise ActionRefused("Give a reason: it goes into the audit log.")
    if len(reason) > REASON_MAX:
        raise ActionRefused(f"Keep the reason under {REASON_MAX} characters.")
    return reason or None


def _set_status(
    tenant: Tenant,
    status: TenantStatus,
    note: str | None,
    event: str,
    *,
    actor: Any,
    why: str | None,
) -> None:
    """Put the shop in `status` with `note` as its status reason, audited as `event`."""
    tenant.status = status
    tenant.status_reason = note
    audit.record(event, tenant_id=tenant.id, actor=actor, reason=why)
    db.session.flush()


def suspend(tenant: Tenant, reason: str | None, *, actor: Any = None) -> None:
    """Close the storefront (503 to shoppers); the back office stays open, bannered."""
    why = _reason(reason)
    if tenant.status != TenantStatus.ACTIVE:
        raise ActionRefused(f"Only an active shop can be suspended (this one is {tenant.status}).")
    _set_status(tenant, TenantStatus.SUSPENDED, why, "tenant.suspended", actor=actor, why=why)


def resume(tenant: Tenant, reason: str | None, *, actor: Any = None) -> None:
    why = _reason(reason)
    if tenant.status != TenantStatus.SUSPENDED:
        raise ActionRefused(f"Only a suspended shop can be resumed (this one is {tenant.status}).")
    _set_status(tenant, TenantStatus.ACTIVE, None, "tenant.resumed", actor=actor, why=why)


# --- plan and trial -------------------------------------------------------------------


def change_plan(tenant: Tenant, plan: Plan, reason: str | None, *, actor: Any = None) -> None:
    """Move the shop to `plan` (a shop with no subscription yet starts a trial of it)."""
    why = _reason(reason)
    if tenant.status == TenantStatus.DELETED:
        raise ActionRefused("A deleted shop's plan cannot be changed; restore it first.")
    if plan.retired:
        raise ActionRefused(f"The plan “{plan.name}” is retired; choose another.")
    subscription = subscription_of(tenant.id)
    detail: dict[str, str | None]
    if subscription is None:
        start_trial(tenant, plan)
        detail = {"old_plan": None}
    elif subscription.plan_id == plan.id:
        raise ActionRefused(f"The shop is already on “{plan.name}”.")
    else:
        problems = downgrade_problems(tenant.id, plan)
        if problems:
            raise ActionRefused(
                f"The shop uses more than “{plan.name}” allows. First: " + " ".join(problems)
            )
        if live_in_stripe(subscription):
            # Stripe bills this shop: the change goes through Stripe (prorated), and its
            # audit event records the operator.
            try:
                change_in_stripe(tenant, plan, subscription.interval, actor=actor)
            except (BillingRefused, StripeFailure) as error:
                raise ActionRefused(str(error)) from error
            detail = {"through": "stripe"}
        else:
            old_plan = db.session.get(Plan, subscription.plan_id)
            detail = {"old_plan": old_plan.code}  # type: ignore[union-attr]
            subscription.plan_id = plan.id
    audit.record(
        "tenant.plan_changed",
        tenant_id=tenant.id,
        actor=actor,
        reason=why,
        new_plan=plan.code,
        **detail,
    )
    db.session.flush()


def extend_trial(tenant: Tenant, days: int, reason: str | None, *, actor: Any = None) -> datetime:
    """Add `days` to the trial (counted from now if it has already ended); return its end."""
    why = _reason(reason)
    if not 1 <= days <= MAX_TRIAL_EXTENSION_DAYS:
        raise ActionRefused(f"Extend by 1 to {MAX_TRIAL_EXTENSION_DAYS} days.")
    if tenant.status == TenantStatus.DELETED:
        raise ActionRefused("A deleted shop's trial cannot be extended; restore it first.")
    subscription = subscription_of(tenant.id)
    if subscription is None:
        raise ActionRefused("This shop has no subscription yet: choose a plan for it first.")
    if live_in_stripe(subscription):
        raise ActionRefused(
            "This shop pays through Stripe, which keeps its trial and periods; "
            "record nothing by hand while that subscription runs."
        )
    now = datetime.now(UTC)
    # An ended trial restarts from today: adding days to a date in the past gives nothing.
    base = max(subscription.trial_ends_at or now, now)
    old_end = subscription.trial_ends_at
    subscription.trial_ends_at = base + timedelta(days=days)
    subscription.status = SubscriptionStatus.TRIALING
    # A trial is good standing: any dunning ends and a closed shop reopens at once.
    subscription.past_due_since = None
    subscription.dunning_notices = 0
    subscription.canceled_at = None
    subscription.trial_reminder_sent_at = None  # the new end gets its own reminder
    tenant.billing_closes_at = None
    if subscription.current_period_end is None or subscription.current_period_end < (
        subscription.trial_ends_at
    ):
        subscription.current_period_end = subscription.trial_ends_at
    audit.record(
        "tenant.trial_extended",
        tenant_id=tenant.id,
        actor=actor,
        reason=why,
        days=days,
        old_trial_end=old_end.isoformat() if old_end else None,
        new_trial_end=subscription.trial_ends_at.isoformat(),
    )
    db.session.flush()
    return subscription.trial_ends_at


# --- delete, restore ------------------------------------------------------------------


def retention(app: Any = None) -> timedelta:
    app = app or current_app
    return timedelta(days=int(app.config["DELETED_RETENTION_DAYS"]))


def soft_delete(tenant: Tenant, reason: str | None, *, actor: Any = None) -> None:
    """Hide the shop at once and start the retention clock. The caller commits, then
    calls `schedule_after_delete` to queue the export and the purge."""
    why = _reason(reason)
    if tenant.status == TenantStatus.DELETED:
        raise ActionRefused("This shop is already deleted.")
    now = datetime.now(UTC)
    tenant.status = TenantStatus.DELETED
    tenant.deleted_at = now
    tenant.purge_after = now + retention()
    tenant.export_path = None  # a new export is made for this deletion
    audit.record(
        "tenant.deleted",
        tenant_id=tenant.id,
        actor=actor,
        reason=why,
        purge_after=tenant.purge_after.isoformat(),
    )
    db.session.flush()


def schedule_after_delete(tenant_id: int) -> None:
    """Queue the export and the end of Stripe billing now, and a purge attempt once
    retention is over (after commit).

    The purge job is a convenience; `flask tenants purge` run from cron is the
    guarantee (a scheduled job lives in Redis and dies with it).
    """
    # Platform jobs (tenant_id=None): the worker skips jobs of deleted shops.
    enqueue(export_tenant, tenant_id, tenant_id=None)
    enqueue("saas.billing.subscribe.stop_billing_job", tenant_id, tenant_id=None)
    get_queue().enqueue_in(
        retention() + timedelta(minutes=5),
        run_job,
        None,
        f"{__name__}.purge_tenant_job",
        [tenant_id],
        {},
        description=f"purge deleted tenant {tenant_id}",
    )


def restore(tenant: Tenant, reason: str | None, *, actor: Any = None) -> None:
    """Bring a deleted shop back, suspended, while its data is still there."""
    why = _reason(reason)
    if tenant.status != TenantStatus.DELETED:
        raise ActionRefused("Only a deleted shop can be restored.")
    if tenant.purge_after is not None and tenant.purge_after <= datetime.now(UTC):
        raise ActionRefused("The retention period is over: this shop can no longer be restored.")
    tenant.deleted_at = None
    tenant.purge_after = None
    restored = f"Restored after deletion: {why}"[:REASON_MAX]
    _set_status(tenant, TenantStatus.SUSPENDED, restored, "tenant.restored", actor=actor, why=why)


# --- export ---------------------------------------------------------------------------


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"cannot export {type(value).__name__}")


def _rows(conn: Connection, table: FromClause, where: Any = None) -> Iterator[dict[str, Any]]:
    query = select(table)
    if where is not None:
        query = query.where(where)
    pk = list(table.primary_key)
    if pk:
        query = query.order_by(*pk)
    # A server-side cursor: rows arrive in batches, never the whole table at once.
    result = conn.execution_options(stream_results=True, yield_per=500).execute(query)
    for row in result.mappings():
        yield dict(row)


def _write_array(out: IO[str], rows: Iterator[dict[str, Any]]) -> int:
    out.write("[")
    count = 0
    for row in rows:
        out.write(",\n  " if count else "\n  ")
        out.write(json.dumps(row, default=_json_default, ensure_ascii=False))
        count += 1
    out.write("\n]" if count else "]")
    return count


def write_export(tenant_id: int, directory: str | Path) -> tuple[Path, dict[str, int]]:
    """Write every table of the shop's schema and its platform rows to one JSON file.

    Returns the file and the row count per table. Read in one REPEATABLE READ snapshot,
    written to a temporary name and renamed, so a file that exists is complete.
    """
    tenant = db.session.get(Tenant, tenant_id)
    if tenant is None:
        raise LookupError(f"no tenant {tenant_id}")
    schema = checked_schema(tenant.schema)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = directory / f"{tenant.slug}-{tenant.id}-{stamp}.json"
    partial = path.with_suffix(".json.partial")
    counts: dict[str, int] = {}
    platform_tables: list[tuple[str, FromClause, Any]] = [
        ("tenants", Tenant.__table__, Tenant.__table__.c.id == tenant_id),
        ("domains", Domain.__table__, Domain.__table__.c.tenant_id == tenant_id),
        (
            "subscriptions",
            Subscription.__table__,
            Subscription.__table__.c.tenant_id == tenant_id,
        ),
        (
            "audit_events",
            AuditEvent.__table__,
            AuditEvent.__table__.c.tenant_id == tenant_id,
        ),
    ]
    with db.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                header = {
                    "format": "storefront-tenant-export/1",
                    "exported_at": datetime.now(UTC).isoformat(),
                    "tenant": {"id": tenant.id, "slug": tenant.slug, "name": tenant.name},
                    "schema": schema,
                }
                out.write(json.dumps(header, ensure_ascii=False)[:-1])
                out.write(',\n"platform": {')
                for i, (name, table, where) in enumerate(platform_tables):
                    out.write(f'{"," if i else ""}\n"{name}": ')
                    counts[f"platform.{name}"] = _write_array(out, _rows(conn, table, where))
                out.write('},\n"tables": {')
                tenant_conn = conn.execution_options(schema_translate_map={"tenant": schema})
                for i, table in enumerate(TenantModel.metadata.sorted_tables):
                    out.write(f'{"," if i else ""}\n"{table.name}": ')
                    counts[table.name] = _write_array(out, _rows(tenant_conn, table))
                out.write("}}\n")
            conn.rollback()  # its own read-only snapshot, not the unit of work
            os.replace(partial, path)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    return path, counts


def export_tenant(tenant_id: int) -> str | None:
    """Job: export a shop's data, record where, and audit `tenant.exported`."""
    tenant = db.session.get(Tenant, tenant_id)
    if tenant is None:
        log.warning("export skipped: tenant %s is gone", tenant_id)
        return None
    path, counts = write_export(tenant_id, current_app.config["EXPORT_PATH"])
    tenant.export_path = str(path)
    audit.record("tenant.exported", tenant_id=tenant_id, actor=SYSTEM, path=str(path), rows=counts)
    log.info("exported tenant %s to %s", tenant_id, path)
    return str(path)


# --- purge ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PurgeResult:
    tenant_id: int
    slug: str
    purged: bool
    note: str = ""


def purge_due_tenants(
    *,
    now: datetime | None = None,
    only: list[int] | None = None,
    progress: Callable[[PurgeResult], object] | None = None,
) -> list[PurgeResult]:
    """Drop the schema of every deleted shop past its retention that has an export.

    Each shop is purged in its own transaction, its row locked (SKIP LOCKED), so two
    purgers (cron and the scheduled job) never work on the same shop. A shop with no
    export yet is left alone and reported.
    """
    now = now or datetime.now(UTC)
    query = select(Tenant.id).where(
        Tenant.status == TenantStatus.DELETED,
        Tenant.purge_after.is_not(None),
        Tenant.purge_after <= now,
    )
    if only is not None:
        query = query.where(Tenant.id.in_(only))
    ids = list(db.session.scalars(query.order_by(Tenant.id)))
    results = []
    for tenant_id in ids:
        with unit_of_work():  # each shop its own transaction: the loop is the edge
            result = _purge_one(tenant_id, now, drop_tenant)
        if result is None:  # restored meanwhile, or another purger holds it
            continue
        results.append(result)
        if progress is not None:
            progress(result)
    return results


def _purge_one(
    tenant_id: int, now: datetime, drop_tenant: Callable[[Tenant], None]
) -> PurgeResult | None:
    tenant = db.session.scalar(
        select(Tenant)
        .where(
            Tenant.id == tenant_id,
            Tenant.status == TenantStatus.DELETED,
            Tenant.purge_after <= now,
        )
        .with_for_update(skip_locked=True)
    )
    if tenant is None:
        return None
    slug = tenant.slug
    if not tenant.export_path or not Path(tenant.export_path).is_file():
        return PurgeResult(tenant_id, slug, False, "no export yet; kept")
    audit.record(
        "tenant.purged",
        tenant_id=tenant_id,
        actor=SYSTEM,
        slug=slug,
        export_path=tenant.export_path,
    )
    export_path = tenant.export_path
    drop_tenant(tenant)
    return PurgeResult(tenant_id, slug, True, export_path or "")


def purge_tenant_job(tenant_id: int) -> bool:
    """Job scheduled at deletion: purge this one shop if it is (still) due."""
    results = purge_due_tenants(only=[tenant_id])
    return any(r.purged for r in results)


# --- impersonation --------------------------------------------------------------------

IMPERSONATION_MINUTES = (15, 30, 60)


def start_impersonation(
    tenant: Tenant,
    operator: Any,
    *,
    read_only: bool,
    reason: str | None,
    minutes: int,
) -> str:
    """Issue a one-time hand-off into the shop's back office; return the raw token."""
    why = _reason(reason)
    if tenant.status == TenantStatus.DELETED:
        raise ActionRefused("A deleted shop cannot be entered.")
    if minutes not in IMPERSONATION_MINUTES:
        raise ActionRefused("Choose 15, 30 or 60 minutes.")
    raw, row = handoff.issue(
        HandoffPurpose.IMPERSONATE,
        tenant.id,
        operator_id=operator.id,
        read_only=read_only,
        reason=why,
        session_ttl=timedelta(minutes=minutes),
    )
    audit.record(
        "operator.impersonation_started",
        tenant_id=tenant.id,
        actor=operator,
        reason=why,
        mode="read-only" if read_only else "full",
        minutes=minutes,
        handoff_id=row.id,
        session_expires_at=row.session_expires_at.isoformat() if row.session_expires_at else None,
    )
    return raw
