"""Where a shop stands with billing, and the moves between standings.

A subscription is trialing, active, past due or canceled. Past due starts a grace
period (`BILLING_GRACE_DAYS`, 14 by default) during which the shop keeps selling and the
owner is reminded; when it ends the storefront closes (`Tenant.billing_closes_at`, which
the host cache carries, so closing needs no job) and the back office allows billing
only. Paying reopens everything at once. A canceled subscription closes the storefront
when it ends.

Every move adds an audit event to the caller's transaction; callers commit.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app

from saas import audit
from saas.db import db
from saas.models import Subscription, SubscriptionStatus, Tenant


class Standing(enum.StrEnum):
    TRIAL = "trial"
    ACTIVE = "active"
    PAST_DUE = "past_due"  # unpaid, within the grace period: still selling
    CLOSED = "closed"  # unpaid past the grace period, or canceled and ended


STATUS_LABELS = {
    SubscriptionStatus.TRIALING: "Free trial",
    SubscriptionStatus.ACTIVE: "Active",
    SubscriptionStatus.PAST_DUE: "Payment overdue",
    SubscriptionStatus.CANCELED: "Cancelled",
}


def now() -> datetime:
    return datetime.now(UTC)


def grace() -> timedelta:
    return timedelta(days=int(current_app.config["BILLING_GRACE_DAYS"]))


@dataclass(frozen=True)
class Status:
    """A shop's standing as its pages show it."""

    standing: Standing
    closes_at: datetime | None  # when the storefront closes (or closed)

    @property
    def closed(self) -> bool:
        return self.standing == Standing.CLOSED

    @property
    def needs_payment(self) -> bool:
        return self.standing in (Standing.PAST_DUE, Standing.CLOSED)


def status_of(tenant: Tenant, subscription: Subscription | None) -> Status:
    closes_at = tenant.billing_closes_at
    if closes_at is not None and closes_at <= now():
        return Status(Standing.CLOSED, closes_at)
    if subscription is None:
        return Status(Standing.ACTIVE, None)
    if subscription.status == SubscriptionStatus.PAST_DUE:
        return Status(Standing.PAST_DUE, closes_at)
    if subscription.status == SubscriptionStatus.TRIALING:
        return Status(Standing.TRIAL, closes_at)
    return Status(Standing.ACTIVE, closes_at)


def _tenant(subscription: Subscription) -> Tenant:
    tenant = db.session.get(Tenant, subscription.tenant_id)
    assert tenant is not None
    return tenant


def enter_past_due(subscription: Subscription, since: datetime, *, actor: Any, reason: str) -> bool:
    """A payment failed (or a trial ended unpaid) at `since`: start the grace period.

    Idempotent: a shop already past due keeps its first date, so a second failed attempt
    does not stretch the grace period. Returns whether this started a new episode.
    """
    fresh = subscription.past_due_since is None
    subscription.status = SubscriptionStatus.PAST_DUE
    if fresh:
        subscription.past_due_since = since
        subscription.dunning_notices = 0
        tenant = _tenant(subscription)
        closes = since + grace()
        if tenant.billing_closes_at is None or tenant.billing_closes_at > closes:
            tenant.billing_closes_at = closes
        audit.record(
            "billing.past_due",
            tenant_id=subscription.tenant_id,
            actor=actor,
            reason=reason,
            closes_at=closes.isoformat(),
        )
    db.session.flush()
    return fresh


def settle(
    subscription: Subscription, *, actor: Any, reason: str, status: str | None = None
) -> None:
    """Paid up: end any dunning episode and reopen the shop at once."""
    tenant = _tenant(subscription)
    was_open = subscription.past_due_since is not None or tenant.billing_closes_at is not None
    subscription.status = status or SubscriptionStatus.ACTIVE
    subscription.past_due_since = None
    subscription.dunning_notices = 0
    if subscription.status != SubscriptionStatus.CANCELED:
        tenant.billing_closes_at = None
    if was_open:
        audit.record(
            "billing.settled", tenant_id=subscription.tenant_id, actor=actor, reason=reason
        )
    db.session.flush()


def end(subscription: Subscription, ended_at: datetime, *, actor: Any, reason: str) -> None:
    """The subscription is over (canceled and its last period ended): close the shop
    from `ended_at`; choosing a plan again reopens it."""
    tenant = _tenant(subscription)
    already = subscription.status == SubscriptionStatus.CANCELED
    subscription.status = SubscriptionStatus.CANCELED
    subscription.canceled_at = subscription.canceled_at or ended_at
    subscription.cancel_at_period_end = False
    subscription.past_due_since = None
    if tenant.billing_closes_at is None or tenant.billing_closes_at > ended_at:
        tenant.billing_closes_at = ended_at
    if not already:
        audit.record(
            "billing.canceled", tenant_id=subscription.tenant_id, actor=actor, reason=reason
        )
    db.session.flush()
