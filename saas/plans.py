"""Plans and each shop's subscription to one, as far as the platform itself needs.

Stripe Billing builds on these rows; until a shop has paid, its subscription is a
trial of the default plan.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

# `Usage` and `usage` live with the other limits in saas.billing.limits (kept importable
# from here for the pages that show usage).
from saas.billing.limits import Usage as Usage
from saas.billing.limits import usage as usage
from saas.db import db
from saas.models import Feature, Plan, Subscription, SubscriptionStatus, Tenant

_STARTER_FEATURES = [Feature.DISCOUNT_CODES.value, Feature.CUSTOM_DOMAIN.value]
_GROWTH_FEATURES = [*_STARTER_FEATURES, Feature.ABANDONED_CHECKOUT_EMAILS.value]
# The plans a fresh platform starts with (`flask db upgrade` leaves plans alone;
# `seed_default_plans` adds these when there are none). Yearly: ten months' price.
DEFAULT_PLANS = [
    dict(code="starter", name="Starter", price_cents=900, yearly_price_cents=9000,
         trial_days=14, max_products=50, max_staff=2, max_domains=1, max_storage_mb=1024,
         features=_STARTER_FEATURES, transaction_fee_bps=200, is_default=True, sort_order=1),
    dict(code="growth", name="Growth", price_cents=2900, yearly_price_cents=29000,
         trial_days=14, max_products=1000, max_staff=5, max_domains=3, max_storage_mb=10240,
         features=_GROWTH_FEATURES, transaction_fee_bps=100, sort_order=2),
    dict(code="pro", name="Pro", price_cents=7900, yearly_price_cents=79000,
         trial_days=14, max_products=None, max_staff=15, max_domains=10, max_storage_mb=None,
         features=[f.value for f in Feature], transaction_fee_bps=50, sort_order=3),
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
