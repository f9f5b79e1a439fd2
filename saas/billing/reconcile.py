"""Nightly reconciliation: every Stripe-billed shop is compared with Stripe, and any
drift (a webhook that never arrived, a change made in Stripe's dashboard) is repaired.

Each repair is logged at WARNING and audited as `billing.repaired` with what changed.
Shops are done one by one, each in its own transaction; one that fails is reported and
the rest go on. Run by cron (`flask billing reconcile`, see deploy/) or as a job.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from saas import audit
from saas.billing.batch import each_subscription
from saas.billing.sync import STATUSES, apply_subscription, record_invoice
from saas.db import db
from saas.models import Invoice, Subscription, SubscriptionStatus
from saas.payments import stripe_api
from saas.payments.webhooks import STRIPE_ACTOR
from saas.tenancy import tenant_context

log = logging.getLogger(__name__)

INVOICES_CHECKED = 24  # the newest invoices per shop compared each night


@dataclass
class ReconcileReport:
    checked: int = 0
    repaired: int = 0
    invoices_repaired: int = 0
    failed: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"{self.checked} subscriptions checked, {self.repaired} repaired, "
            f"{self.invoices_repaired} invoices repaired"
            + (f", {len(self.failed)} failed ({', '.join(self.failed)})" if self.failed else "")
        )


def reconcile(progress: Callable[[int, int], Any] | None = None) -> ReconcileReport:
    report = ReconcileReport()
    if not stripe_api.configured():
        log.info("billing reconciliation: Stripe is not configured, nothing to compare")
        return report
    ids = db.session.scalars(
        select(Subscription.id)
        .where(Subscription.stripe_customer_id.is_not(None))
        .order_by(Subscription.id)
    ).all()
    each_subscription(
        ids,
        lambda subscription_id: _reconcile_one(subscription_id, report),
        failed=report.failed,
        progress=progress,
        what="billing reconciliation",
    )
    log.info("billing reconciliation: %s", report)
    return report


def _reconcile_one(subscription_id: int, report: ReconcileReport) -> None:
    row = db.session.get(Subscription, subscription_id, with_for_update=True)
    if row is None or not row.stripe_customer_id:
        return
    report.checked += 1
    theirs = stripe_api.list_subscriptions(row.stripe_customer_id)
    stored = next((s for s in theirs if s.get("id") == row.stripe_subscription_id), None)
    running = [
        s for s in theirs if STATUSES.get(str(s.get("status"))) != SubscriptionStatus.CANCELED
    ]
    # A running subscription we never heard of (its webhooks were lost) takes over once
    # the stored one is seen to have ended.
    newest = max(running, key=lambda s: int(s.get("created") or 0)) if running else None
    changes: dict[str, Any] = {}
    seen: set[str] = set()
    for candidate in (stored, newest):
        if candidate is None or candidate["id"] in seen:
            continue
        seen.add(candidate["id"])
        full = stripe_api.retrieve_subscription(str(candidate["id"]))
        changes |= apply_subscription(row, full, why="nightly reconciliation")
    if changes:
        report.repaired += 1
        shown = {k: [str(a), str(b)] for k, (a, b) in changes.items()}
        log.warning("billing drift repaired for shop %s: %s", row.tenant_id, shown)
        audit.record("billing.repaired", tenant_id=row.tenant_id, actor=STRIPE_ACTOR, changes=shown)
    for data in stripe_api.list_invoices(row.stripe_customer_id, INVOICES_CHECKED):
        ours = db.session.scalar(select(Invoice).where(Invoice.stripe_invoice_id == data["id"]))
        before = None if ours is None else (ours.status, ours.amount_paid_cents, ours.attempt_count)
        invoice = record_invoice(row.tenant_id, data)
        after = (invoice.status, invoice.amount_paid_cents, invoice.attempt_count)
        if before != after:
            report.invoices_repaired += 1
            log.warning(
                "billing drift repaired for shop %s: invoice %s %s -> %s",
                row.tenant_id,
                data["id"],
                before,
                after,
            )


def reconcile_job() -> str:
    """RQ entry point (no tenant): the same as `flask billing reconcile`."""
    with tenant_context(None):
        return str(reconcile())
