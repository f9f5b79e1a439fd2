"""Our subscription and invoice rows follow Stripe's objects.

Webhook handlers and the nightly reconciliation both call these with objects fetched
from Stripe just before (never the copy inside an event, which may be older than what
we already hold: Stripe delivers events late, twice and out of order). Applying the
same object twice changes nothing; every change is logged and audited.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import or_, select

from saas import audit
from saas.billing import standing
from saas.db import db
from saas.models import Invoice, Plan, Subscription, SubscriptionStatus
from saas.payments.webhooks import STRIPE_ACTOR

log = logging.getLogger(__name__)


# Stripe's subscription statuses in ours. `incomplete` (a first payment still being
# confirmed) changes nothing: the shop stays as it was until Stripe decides.
STATUSES = {
    "trialing": SubscriptionStatus.TRIALING,
    "active": SubscriptionStatus.ACTIVE,
    "past_due": SubscriptionStatus.PAST_DUE,
    "unpaid": SubscriptionStatus.PAST_DUE,
    "paused": SubscriptionStatus.PAST_DUE,  # a trial that ended without a card
    "canceled": SubscriptionStatus.CANCELED,
    "incomplete_expired": SubscriptionStatus.CANCELED,
}


def moment(value: Any) -> datetime | None:
    return datetime.fromtimestamp(int(value), UTC) if value else None


def _id(value: Any) -> str | None:
    if isinstance(value, Mapping):
        return str(value.get("id") or "") or None
    return str(value) if value else None


def _locked(query: Any) -> Any:
    # Read afresh once the lock is granted: another transaction may just have changed it.
    return query.with_for_update().execution_options(populate_existing=True)


def subscription_of_customer(customer: str | None, *, lock: bool = True) -> Subscription | None:
    """Our subscription row for a Stripe customer (the only way Stripe's objects lead to
    a shop: customers are made by us, one per shop, and stored before any checkout)."""
    if not customer:
        return None
    query = select(Subscription).where(Subscription.stripe_customer_id == customer)
    return db.session.scalar(_locked(query) if lock else query)


def subscription_of_stripe(data: Mapping[str, Any]) -> Subscription | None:
    """Our row for a Stripe subscription: by its id, else by its customer."""
    query = select(Subscription).where(
        or_(
            Subscription.stripe_subscription_id == data.get("id"),
            Subscription.stripe_customer_id == _id(data.get("customer")),
        )
    )
    rows = db.session.scalars(_locked(query)).all()
    # Both matches name the same shop when they exist: customer ids are ours and unique.
    return rows[0] if rows else None


def card_summary(method: Any) -> str | None:
    if not isinstance(method, Mapping):
        return None
    card = method.get("card") or {}
    if not card:
        return str(method.get("type") or "").replace("_", " ").capitalize() or None
    brand = str(card.get("brand") or "card").replace("_", " ").title()
    return f"{brand} •••• {card.get('last4') or '????'}"


def _plan_of(price: Mapping[str, Any]) -> Plan | None:
    metadata = price.get("metadata") or {}
    plan_id = str(metadata.get("plan_id") or "")
    plan = db.session.get(Plan, int(plan_id)) if plan_id.isdigit() else None
    if plan is None:
        plan = db.session.scalar(
            select(Plan).where(
                or_(
                    Plan.stripe_price_month == price.get("id"),
                    Plan.stripe_price_year == price.get("id"),
                )
            )
        )
    return plan


def apply_subscription(
    row: Subscription, data: Mapping[str, Any], *, seen_at: datetime | None = None, why: str
) -> dict[str, tuple[Any, Any]]:
    """Make `row` say what Stripe's subscription `data` says. Flushes; returns the
    changes ({field: (old, new)}), which are logged and audited."""
    current = row.stripe_subscription_id
    if current and current != data.get("id"):
        # Another subscription of this shop: an ended old one never overrides the
        # running one; a new running one replaces an ended one.
        if STATUSES.get(str(data.get("status"))) == SubscriptionStatus.CANCELED:
            return {}
        if row.status != SubscriptionStatus.CANCELED:
            log.warning(
                "shop %s has subscription %s, Stripe also reports %s: keeping the first",
                row.tenant_id,
                current,
                data.get("id"),
            )
            return {}
    items = (data.get("items") or {}).get("data") or []
    item = items[0] if items else {}
    price = item.get("price") or {}
    wanted: dict[str, Any] = {
        "stripe_subscription_id": data.get("id"),
        "cancel_at_period_end": bool(data.get("cancel_at_period_end")),
        "current_period_end": moment(item.get("current_period_end")) or row.current_period_end,
        "trial_ends_at": moment(data.get("trial_end")),
    }
    plan = _plan_of(price) if price else None
    if plan is not None:
        wanted["plan_id"] = plan.id
    interval = (price.get("recurring") or {}).get("interval")
    if interval in ("month", "year"):
        wanted["interval"] = interval
    summary = card_summary(data.get("default_payment_method"))
    if summary:
        wanted["payment_method"] = summary
    changes: dict[str, tuple[Any, Any]] = {}
    for name, value in wanted.items():
        if getattr(row, name) != value:
            changes[name] = (getattr(row, name), value)
            setattr(row, name, value)

    status = STATUSES.get(str(data.get("status")))
    old_status = row.status
    reason = f"Stripe: subscription {data.get('status')} ({why})"
    if status == SubscriptionStatus.PAST_DUE:
        standing.enter_past_due(row, seen_at or standing.now(), actor=STRIPE_ACTOR, reason=reason)
    elif status in (SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING):
        row.canceled_at = None
        standing.settle(row, actor=STRIPE_ACTOR, reason=reason, status=status)
    elif status == SubscriptionStatus.CANCELED:
        ended = moment(data.get("ended_at")) or moment(data.get("canceled_at")) or standing.now()
        standing.end(row, ended, actor=STRIPE_ACTOR, reason=reason)
    if row.status != old_status:
        changes["status"] = (old_status, row.status)
    row.stripe_synced_at = seen_at or standing.now()
    if changes:
        shown = {k: [_shown(a), _shown(b)] for k, (a, b) in changes.items()}
        log.info("shop %s subscription follows Stripe (%s): %s", row.tenant_id, why, shown)
        audit.record(
            "billing.subscription_synced",
            tenant_id=row.tenant_id,
            actor=STRIPE_ACTOR,
            reason=why,
            changes=shown,
        )
    db.session.flush()
    return changes


def _shown(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def invoice_subscription(data: Mapping[str, Any]) -> str | None:
    parent = data.get("parent") or {}
    details = parent.get("subscription_details") or {}
    return _id(details.get("subscription")) or _id(data.get("subscription"))


def record_invoice(tenant_id: int, data: Mapping[str, Any]) -> Invoice:
    """Insert or update our copy of a Stripe invoice. Flushes."""
    invoice = db.session.scalar(
        select(Invoice).where(Invoice.stripe_invoice_id == data["id"]).with_for_update()
    )
    if invoice is None:
        invoice = Invoice(tenant_id=tenant_id, stripe_invoice_id=data["id"])
        db.session.add(invoice)
    elif invoice.tenant_id != tenant_id:  # never: customers are per shop
        raise ValueError(f"invoice {data['id']} belongs to shop {invoice.tenant_id}")
    lines = (data.get("lines") or {}).get("data") or []
    period = (lines[0].get("period") if lines else None) or {}
    transitions = data.get("status_transitions") or {}
    invoice.number = data.get("number")
    invoice.status = str(data.get("status") or "open")
    invoice.description = (
        "; ".join(str(line.get("description") or "") for line in lines if line.get("description"))[
            :300
        ]
        or None
    )
    invoice.billing_reason = data.get("billing_reason")
    invoice.amount_due_cents = int(data.get("amount_due") or 0)
    invoice.amount_paid_cents = int(data.get("amount_paid") or 0)
    invoice.currency = str(data.get("currency") or "usd")
    invoice.period_start = moment(period.get("start") or data.get("period_start"))
    invoice.period_end = moment(period.get("end") or data.get("period_end"))
    invoice.attempt_count = int(data.get("attempt_count") or 0)
    invoice.next_attempt_at = moment(data.get("next_payment_attempt"))
    invoice.hosted_url = data.get("hosted_invoice_url")
    invoice.pdf_url = data.get("invoice_pdf")
    invoice.issued_at = moment(data.get("created")) or standing.now()
    invoice.paid_at = moment(transitions.get("paid_at"))
    db.session.flush()
    return invoice
