"""Billing rows made directly with the ORM: plans, shops with no schema, subscriptions in
any state, invoices. Each helper commits and returns ids (the rows themselves would be
detached from a closed session)."""

from __future__ import annotations

import itertools
import string
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete

from saas.db import db
from saas.models import (
    AuditEvent,
    BillingInterval,
    Invoice,
    InvoiceStatus,
    Plan,
    Subscription,
    SubscriptionStatus,
    Tenant,
    TenantStatus,
)

_codes = itertools.product(string.ascii_lowercase, repeat=2)


def fresh_currency() -> str:
    """A currency code no other test uses (within a run): per-currency figures are exact."""
    return "q" + "".join(next(_codes))


def billing_plan(
    app: Any,
    price_cents: int = 900,
    yearly_price_cents: int | None = None,
    currency: str = "usd",
    **fields: Any,
) -> int:
    """A committed plan with a unique code; its id."""
    with app.app_context():
        plan = Plan(
            code=f"bill-{uuid.uuid4().hex[:8]}",
            name=fields.pop("name", "Billed"),
            price_cents=price_cents,
            yearly_price_cents=yearly_price_cents,
            currency=currency,
            trial_days=14,
            **fields,
        )
        db.session.add(plan)
        db.session.commit()
        return plan.id


# Shop rows made with no schema: `forget_bare_shops` deletes them, so that nothing run
# later (`flask tenants migrate` over every shop) meets a shop without its schema.
BARE_SHOPS: list[int] = []


def forget_bare_shops(app: Any) -> None:
    with app.app_context():
        db.session.execute(delete(Tenant).where(Tenant.id.in_(BARE_SHOPS)))
        db.session.commit()
    BARE_SHOPS.clear()


def bare_shop(app: Any, name: str | None = None, **fields: Any) -> int:
    """A shop row with no schema (quick; enough for billing figures and lists); its id."""
    with app.app_context():
        slug = f"bill{uuid.uuid4().hex[:10]}"
        tenant = Tenant(
            slug=slug,
            name=name or slug.title(),
            status=fields.pop("status", TenantStatus.ACTIVE),
            **fields,
        )
        db.session.add(tenant)
        db.session.commit()
        BARE_SHOPS.append(tenant.id)
        return tenant.id


def subscribe(
    app: Any,
    tenant_id: int,
    plan_id: int,
    status: str = SubscriptionStatus.ACTIVE,
    interval: str = BillingInterval.MONTH,
    closes_at: datetime | None = None,
    **fields: Any,
) -> int:
    """Give the shop a subscription in any state (and, with `closes_at`, the date its
    storefront closes for billing); its id."""
    with app.app_context():
        subscription = Subscription(
            tenant_id=tenant_id, plan_id=plan_id, status=status, interval=interval, **fields
        )
        db.session.add(subscription)
        if closes_at is not None:
            tenant = db.session.get(Tenant, tenant_id)
            assert tenant is not None
            tenant.billing_closes_at = closes_at
        db.session.commit()
        return subscription.id


def billed_shop(app: Any, plan_id: int, name: str | None = None, **subscription: Any) -> int:
    """A bare shop with a subscription (see `subscribe`); the shop's id."""
    tenant_id = bare_shop(app, name)
    subscribe(app, tenant_id, plan_id, **subscription)
    return tenant_id


def add_invoice(
    app: Any,
    tenant_id: int,
    status: str = InvoiceStatus.OPEN,
    amount_cents: int = 900,
    issued_at: datetime | None = None,
    **fields: Any,
) -> int:
    """An invoice of the shop (paid in full when `status` is paid); its id."""
    issued_at = issued_at or datetime.now(UTC)
    with app.app_context():
        invoice = Invoice(
            tenant_id=tenant_id,
            status=status,
            amount_due_cents=amount_cents,
            amount_paid_cents=amount_cents if status == InvoiceStatus.PAID else 0,
            issued_at=issued_at,
            paid_at=issued_at if status == InvoiceStatus.PAID else None,
            **fields,
        )
        db.session.add(invoice)
        db.session.commit()
        return invoice.id


def add_event(
    app: Any, tenant_id: int, action: str, at: datetime | None = None, **fields: Any
) -> int:
    """An audit event about the shop (by the system unless told); its id."""
    with app.app_context():
        event = AuditEvent(
            tenant_id=tenant_id, actor_type=fields.pop("actor_type", "system"), action=action
        )
        for key, value in fields.items():
            setattr(event, key, value)
        if at is not None:
            event.created_at = at
        db.session.add(event)
        db.session.commit()
        return event.id


def set_shop(app: Any, tenant_id: int, **fields: Any) -> None:
    """Change the shop's row (status, billing_closes_at, …) and commit."""
    with app.app_context():
        tenant = db.session.get(Tenant, tenant_id)
        assert tenant is not None
        for key, value in fields.items():
            setattr(tenant, key, value)
        db.session.commit()
