"""Stripe prices for plans, made when first needed.

A plan's monthly and yearly amounts each get one Stripe price (with its product). The
ids are kept on the plan and forgotten when the operator changes an amount, so the next
subscription gets a price at the new amount while running subscriptions keep theirs.
The price's metadata names the plan and interval: that is how a subscription read from
Stripe finds its plan again.
"""

from __future__ import annotations

from saas.db import db
from saas.models import BillingInterval, Plan
from saas.payments import stripe_api


class NotSoldThatWay(ValueError):
    """The plan has no price for that interval (e.g. no yearly price)."""


def price_id(plan: Plan, interval: str) -> str:
    """The Stripe price for `plan` billed every `interval`; made (idempotently) if new.
    Flushes the id onto the plan."""
    amount = plan.price_for(interval)
    if amount is None or interval not in (BillingInterval.MONTH, BillingInterval.YEAR):
        raise NotSoldThatWay(f"The {plan.name} plan is not sold by the {interval}.")
    column = "stripe_price_year" if interval == BillingInterval.YEAR else "stripe_price_month"
    known = getattr(plan, column)
    if known:
        return str(known)
    key = f"plan-{plan.id}-{interval}-{amount}-{plan.currency}"
    price = stripe_api.create_price(
        product_name=f"{plan.name} plan",
        amount=amount,
        currency=plan.currency,
        interval=interval,
        lookup_key=key,
        metadata={"plan_id": str(plan.id), "plan_code": plan.code, "interval": interval},
        idempotency_key=key,
    )
    setattr(plan, column, price["id"])
    db.session.flush()
    return str(price["id"])
