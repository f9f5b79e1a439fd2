"""A customer's loyalty points on the storefront: balance, points on hold, history, the
programme's rules and their referral link (`tenants.loyalty`); and the referral link
itself, which remembers who referred this browser. Personal: never cached."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import redirect, session, url_for

from tenants.customers.models import Customer
from tenants.loyalty import emails, points, referrals, tiers
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
        referral_url=(
            url_for("shop.referral", code=referrals.code_for(customer.id), _external=True)
            if rules.referrals_on
            else ""
        ),
    )


# Who referred this browser (a customer id of this shop: the session is bound to the
# shop's host), until an order is placed.
REFERRER_KEY = "referrer"


@bp.get("/r/<code>")
def referral(code: str) -> Any:
    """A customer's referral link: remember them and welcome the friend. An unknown code
    (or one of another shop) shows the shop's way in, saying nothing about the code."""
    rules = points.active_program()
    referrer = referrals.referrer_of(code)
    if referrer is None or rules is None:
        response = redirect(url_for("shop.home"))
        response.headers["Cache-Control"] = "private, no-store"
        return response
    session[REFERRER_KEY] = referrer
    response = page("referral_welcome.html", rules=rules)
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def referrer() -> int | None:
    """Whose link brought this browser, for checkout's welcome discount."""
    found = session.get(REFERRER_KEY)
    return found if isinstance(found, int) else None
