"""Manual billing: the operator records a payment received outside Stripe (a bank
transfer, an invoice paid by cheque, the demo platform with no Stripe keys).

A recorded payment is an invoice marked paid for one or more periods of the shop's
plan; it ends a trial or a dunning episode and reopens a closed shop at once.
"""

from __future__ import annotations

import calendar
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from saas import audit
from saas.billing import standing
from saas.billing.limits import subscription as locked
from saas.billing.subscribe import live_in_stripe
from saas.console.actions import ActionRefused
from saas.db import db
from saas.models import (
    BillingInterval,
    Invoice,
    InvoiceStatus,
    SubscriptionStatus,
    Tenant,
    TenantStatus,
)

MAX_PERIODS = 24


def add_months(moment: datetime, months: int) -> datetime:
    """`moment` plus whole months, the day clamped to the month's last (31 Jan + 1 → 28 Feb)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def period_after(start: datetime, interval: str, periods: int = 1) -> datetime:
    return add_months(start, periods * (12 if interval == BillingInterval.YEAR else 1))


def record_payment(
    tenant: Tenant, periods: int, reason: str | None, *, actor: Any = None
) -> Invoice:
    """Record `periods` paid periods of the shop's plan. Flushes; the caller commits."""
    reason = (reason or "").strip()
    if not reason:
        raise ActionRefused("Give a reason (for example the bank transfer's reference).")
    if not 1 <= periods <= MAX_PERIODS:
        raise ActionRefused(f"Record between 1 and {MAX_PERIODS} periods.")
    if tenant.status == TenantStatus.DELETED:
        raise ActionRefused("A deleted shop cannot pay; restore it first.")
    subscription = locked(tenant.id, lock=True)
    if subscription is None:
        raise ActionRefused("This shop has no plan yet: choose one for it first.")
    if live_in_stripe(subscription):
        raise ActionRefused(
            "This shop pays through Stripe: its payments are recorded from Stripe. "
            "Cancel its Stripe subscription first to bill it by hand."
        )
    now = standing.now()
    paid_through = subscription.current_period_end
    # A running paid period is extended; otherwise the paid time starts today.
    start = (
        paid_through
        if subscription.status == SubscriptionStatus.ACTIVE and paid_through and paid_through > now
        else now
    )
    end = period_after(start, subscription.interval, periods)
    plan = subscription.plan
    amount = subscription.price_cents * periods
    count = db.session.scalar(select(func.count(Invoice.id)).where(Invoice.tenant_id == tenant.id))
    invoice = Invoice(
        tenant_id=tenant.id,
        number=f"M{tenant.id:05d}-{(count or 0) + 1:04d}",
        status=InvoiceStatus.PAID,
        description=f"{plan.name} plan, {start:%d %b %Y} to {end:%d %b %Y} (recorded by hand)",
        billing_reason="manual",
        amount_due_cents=amount,
        amount_paid_cents=amount,
        currency=plan.currency,
        period_start=start,
        period_end=end,
        attempt_count=1,
        issued_at=now,
        paid_at=now,
    )
    db.session.add(invoice)
    subscription.current_period_end = end
    subscription.trial_ends_at = None
    subscription.cancel_at_period_end = False
    subscription.canceled_at = None
    standing.settle(subscription, actor=actor, reason=reason)
    audit.record(
        "billing.payment_recorded",
        tenant_id=tenant.id,
        actor=actor,
        reason=reason,
        periods=periods,
        amount_cents=amount,
        currency=plan.currency,
        paid_through=end.isoformat(),
    )
    db.session.flush()
    return invoice
