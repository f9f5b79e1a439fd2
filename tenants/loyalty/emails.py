"""The member-tier email: sent (by a job, queued when the tier is reached) to a customer
who reaches a higher tier."""

from __future__ import annotations

from saas.db import db
from saas.mail import send_email
from saas.tenancy import current_tenant
from tenants.customers.models import Customer
from tenants.loyalty import points
from tenants.loyalty.models import LoyaltyTier


def benefits(tier: LoyaltyTier) -> list[str]:
    """A tier's benefits in words, for emails and pages."""
    said = []
    if tier.discount_percent:
        said.append(f"{tier.discount_percent}% off every order")
    if tier.free_shipping:
        said.append("free shipping")
    if tier.points_multiplier_percent != 100:
        said.append(f"{tier.points_multiplier_percent / 100:g} times the points on your orders")
    return said


def send_tier_reached(customer_id: int, tier_id: int) -> bool:
    """Job: tell the customer about their new tier, if they still have it. True if sent."""
    customer = db.session.get(Customer, customer_id)
    tier = db.session.get(LoyaltyTier, tier_id)
    found = points.account(customer_id)
    if customer is None or tier is None or found is None or found.tier_id != tier.id:
        return False
    hello = f"Hello {customer.name.split()[0]},\n\n" if customer.name.strip() else ""
    gives = benefits(tier)
    body = (
        f"{hello}You are now a {tier.name} member of {current_tenant.name}."
        + (f" That means {', '.join(gives)}." if gives else "")
        + "\n\nYour benefits apply at checkout whenever you are logged in; your account's "
        "Points page shows your tier and what it takes to keep it."
    )
    send_email(
        customer.email,
        f"You are now a {tier.name} member of {current_tenant.name}",
        body,
        dedupe_key=f"tier-reached-{customer_id}-{tier_id}-{found.last_activity_at:%Y%m}",
    )
    return True
