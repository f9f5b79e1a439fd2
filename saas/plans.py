"""Plans and each shop's subscription to one, as far as the platform itself needs.

Stripe Billing builds on these rows; until a shop has paid, its subscription is a
trial of the default plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from saas.db import db
from saas.models import Plan, Subscription, SubscriptionStatus, Tenant

# The plans a fresh platform starts with (`flask db upgrade` leaves plans alone;
# `seed_default_plans` adds these when there are none).
DEFAULT_PLANS = [
    dict(code="starter", name="Starter", price_cents=900, trial_days=14, max_products=50,
         max_staff=2, max_domains=1, transaction_fee_bps=200, is_default=True, sort_order=1),
    dict(code="growth", name="Growth", price_cents=2900, trial_days=14, max_products=1000,
         max_staff=5, max_domains=3, transaction_fee_bps=100, sort_order=2),
    dict(code="pro", name="Pro", price_cents=7900, trial_days=14, max_products=None,
         max_staff=15, max_domains=10, transaction_fee_bps=50, sort_order=3),
]  # fmt: skip


class NoPlanAvailable(RuntimeError):
    """There is no default plan to start a trial on (the operator must set one)."""


def seed_default_plans() -> list[Plan]:
    """Create the starting plans if the platform has none. Flushes."""
    if db.session.scalar(select(func.count(Plan.id))):
        return []
    plans = [Plan(**spec) for spec in DEFAULT_PLANS]
    db.session.add_all(plans)
    db.session.flush()
    return plans


def offered_plans() -> list[Plan]:
    """Plans a new merchant can choose, cheapest first."""
    return list(
        db.session.scalars(
            select(Plan)
            .where(Plan.retired_at.is_(None))
            .order_by(Plan.sort_order, Plan.price_cents, Plan.id)
        )
    )


def default_plan() -> Plan:
    plan = db.session.scalar(
        select(Plan).where(Plan.is_default.is_(True), Plan.retired_at.is_(None))
    ) or next(iter(offered_plans()), None)
    if plan is None:
        raise NoPlanAvailable("No plan is offered; create one in the operator console.")
    return plan


def start_trial(tenant: Tenant, plan: Plan | None = None) -> Subscription:
    """Put a new shop on a trial of `plan` (the default plan if None). Flushes."""
    plan = plan or default_plan()
    now = datetime.now(UTC)
    subscription = Subscription(
        tenant_id=tenant.id,
        plan_id=plan.id,
        status=SubscriptionStatus.TRIALING if plan.trial_days else SubscriptionStatus.ACTIVE,
        trial_ends_at=now + timedelta(days=plan.trial_days) if plan.trial_days else None,
        current_period_end=now + timedelta(days=plan.trial_days or 30),
    )
    db.session.add(subscription)
    db.session.flush()
    return subscription


def subscription_of(tenant_id: int) -> Subscription | None:
    return db.session.scalar(select(Subscription).where(Subscription.tenant_id == tenant_id))


@dataclass(frozen=True)
class Usage:
    """How much of one plan limit a shop uses. `limit` None: unlimited."""

    label: str
    used: int
    limit: int | None

    @property
    def over(self) -> bool:
        return self.limit is not None and self.used > self.limit

    @property
    def at_limit(self) -> bool:
        return self.limit is not None and self.used >= self.limit


def usage(tenant_id: int, plan: Plan) -> list[Usage]:
    """The shop's use of each limit of `plan`: products, staff seats, custom domains."""
    from saas.models import Domain
    from saas.tenancy import tenant_context
    from tenants.models import Product, Staff, StaffStatus

    tenant = db.session.get(Tenant, tenant_id)
    if tenant is None:
        return []
    domains = db.session.scalar(select(func.count(Domain.id)).where(Domain.tenant_id == tenant_id))
    with tenant_context(tenant):
        products = db.session.scalar(select(func.count(Product.id))) or 0
        staff = (
            db.session.scalar(
                select(func.count(Staff.id)).where(Staff.status != StaffStatus.DISABLED)
            )
            or 0
        )
    return [
        Usage("Products", products, plan.max_products),
        Usage("Staff seats", staff, plan.max_staff),
        Usage("Custom domains", domains or 0, plan.max_domains),
    ]
