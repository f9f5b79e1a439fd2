"""A customer's loyalty points on the storefront: balance, points on hold, history and
the programme's rules (`tenants.loyalty`). Personal: never cached."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tenants.customers.models import Customer
from tenants.loyalty import emails, points, tiers
from tenants.loyalty.models import TierBasis
from tenants.settings.services import get_settings, shop_zone
from tenants.shop import bp
from tenants.shop.account import customer_required, not_found, page


@bp.get("/account/points")
@customer_required
def account_points(customer: Customer) -> Any:
    rules = points.active_program()
    if rules is None:
        return not_found()
    settings = get_settings()
    found = points.account(customer.id)
    tier = tiers.tier_of(customer.id)
    ladder = tiers.all_tiers()
    above = [t for t in ladder if t.threshold > (tier.threshold if tier else 0)]
    return page(
        "account/points.html",
        section="points",
        rules=rules,
        balance=found.balance if found else 0,
        pending=found.pending if found else 0,
        worth=points.value_cents(found.balance if found else 0, rules, settings.currency),
        history=points.history(customer.id),
        unit_cents=points.unit(settings.currency),
        currency=settings.currency,
        zone=shop_zone(settings),
        tier=tier,
        next_tier=above[0] if above else None,
        progress=tiers.progress(customer.id, rules, datetime.now(UTC)) if ladder else 0,
        spend_basis=rules.tier_basis == TierBasis.SPEND,
        benefits=emails.benefits,
    )
