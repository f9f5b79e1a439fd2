"""Member tiers: which tier a customer has reached over the last 12 months, kept on their
points account, recomputed when an order of theirs is paid, refunded or cancelled and by
the nightly sweep (so a year-old order stops counting), with an email on reaching a
higher tier; and the merchant's tiers themselves.

What counts (the programme's `tier_basis`):
* "spend": the items of paid orders placed in the window, after discounts, less what
  was refunded of them (a refund is taken from the items first, so a refunded order
  counts nothing), cancelled orders not at all;
* "points": the points earned in the window, less those taken back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, or_, select

from saas.db import db
from saas.jobs import enqueue
from tenants.accounts.problems import FormProblem
from tenants.loyalty import points, rules
from tenants.loyalty.models import (
    EntryKind,
    LoyaltyProgram,
    LoyaltyTier,
    PointsAccount,
    PointsEntry,
    TierBasis,
)
from tenants.orders.models import SALE_STATUSES, Order, PaymentStatus
from tenants.settings.services import get_settings

WINDOW = timedelta(days=365)
MAX_TIERS = 10


def all_tiers() -> list[LoyaltyTier]:
    return list(db.session.scalars(select(LoyaltyTier).order_by(LoyaltyTier.threshold)))


def tier_of(customer_id: int | None) -> LoyaltyTier | None:
    """The customer's tier now, while the programme runs."""
    if customer_id is None or points.active_program() is None:
        return None
    found = points.account(customer_id)
    if found is None or found.tier_id is None:
        return None
    return db.session.get(LoyaltyTier, found.tier_id)


def progress(customer_id: int, rules: LoyaltyProgram, now: datetime) -> int:
    """How far the customer is over the window, in the programme's basis: points, or
    whole units of the shop's currency spent (what thresholds are typed in)."""
    since = now - WINDOW
    if rules.tier_basis == TierBasis.POINTS:
        earned = db.session.scalar(
            select(func.coalesce(func.sum(PointsEntry.points), 0)).where(
                PointsEntry.customer_id == customer_id,
                PointsEntry.created_at >= since,
                or_(
                    PointsEntry.kind == EntryKind.EARN,
                    (PointsEntry.kind == EntryKind.REVERSE) & (PointsEntry.points < 0),
                ),
            )
        )
        return max(int(earned or 0), 0)
    goods = Order.subtotal_cents - Order.discount_cents
    counted = func.greatest(goods - Order.refunded_cents, 0)
    spent = db.session.scalar(
        select(func.coalesce(func.sum(counted), 0)).where(
            Order.customer_id == customer_id,
            Order.paid_at.is_not(None),
            Order.cancelled_at.is_(None),
            Order.placed_at >= since,
            Order.payment_status.in_([*SALE_STATUSES, PaymentStatus.REFUNDED]),
        )
    )
    return int(spent or 0) // points.unit(get_settings().currency)


def reached(value: int, tiers: list[LoyaltyTier]) -> LoyaltyTier | None:
    """The highest tier whose threshold `value` meets."""
    met = [t for t in tiers if t.threshold <= value]
    return met[-1] if met else None


def recompute(customer_id: int, *, now: datetime | None = None) -> LoyaltyTier | None:
    """Put the customer in the tier they have reached; a higher tier than before is
    announced by email (queued on commit). The tier, None for none."""
    rules = points.active_program()
    if rules is None:
        return None
    tiers = all_tiers()
    found = points.account(customer_id)
    if not tiers and (found is None or found.tier_id is None):
        return None
    now = now or datetime.now(UTC)
    tier = reached(progress(customer_id, rules, now), tiers)
    if found is None:
        if tier is None:
            return None
        points.open_account(customer_id)
        found = points.account(customer_id)
        assert found is not None
    before = db.session.get(LoyaltyTier, found.tier_id) if found.tier_id else None
    found.tier_id = tier.id if tier else None
    db.session.flush()
    if tier is not None and (before is None or tier.threshold > before.threshold):
        enqueue("tenants.loyalty.emails.send_tier_reached", customer_id, tier.id)
    return tier


def recompute_all(*, now: datetime | None = None) -> int:
    """The nightly pass: everyone in a tier and everyone who bought in the window.
    How many customers changed tier."""
    if points.active_program() is None:
        return 0
    now = now or datetime.now(UTC)
    in_tier = select(PointsAccount.customer_id).where(PointsAccount.tier_id.is_not(None))
    bought = select(Order.customer_id).where(
        Order.customer_id.is_not(None), Order.paid_at.is_not(None), Order.placed_at >= now - WINDOW
    )
    changed = 0
    for customer_id in db.session.scalars(in_tier.union(bought)).all():
        found = points.account(customer_id)
        before = found.tier_id if found else None
        tier = recompute(customer_id, now=now)
        changed += (tier.id if tier else None) != before
    return changed


# --- what a tier gives at checkout ---------------------------------------------------------


@dataclass(frozen=True)
class Benefit:
    """The customer's tier at checkout: its name, the amount off the items (after the
    discount code: the rule is code first, then the tier's percentage of what is left),
    and whether shipping is free."""

    name: str = ""
    cents: int = 0
    free_shipping: bool = False


def benefit(customer_id: int | None, goods_cents: int) -> Benefit:
    tier = tier_of(customer_id)
    if tier is None:
        return Benefit()
    return Benefit(tier.name, goods_cents * tier.discount_percent // 100, tier.free_shipping)


def multiplier_percent(customer_id: int) -> int:
    """How many percent of the usual points the customer's orders earn (100: as usual)."""
    tier = tier_of(customer_id)
    return tier.points_multiplier_percent if tier else 100


# --- the merchant's tiers -------------------------------------------------------------------


class TierInvalid(FormProblem):
    pass


# The tier form's numbers, checked like the programme's (`rules.whole_number`).
THRESHOLD = rules.Number("threshold", "From", 1, 1_000_000_000)
DISCOUNT = rules.Number("discount_percent", "Discount", 0, 90)
MULTIPLIER = rules.Number("points_multiplier_percent", "Points earned", 100, 1000)


def save_tier(tier: LoyaltyTier | None, form: Mapping[str, str]) -> LoyaltyTier:
    """Add (no `tier`) or change a tier from the posted form; raises TierInvalid."""
    errors: dict[str, str] = {}
    name = " ".join((form.get("name") or "").split())
    if not name:
        errors["name"] = "Give the tier a name, like Gold."
    elif len(name) > 60:
        errors["name"] = "Use at most 60 characters."
    else:
        same = db.session.scalar(
            select(LoyaltyTier.id).where(func.lower(LoyaltyTier.name) == name.lower())
        )
        if same is not None and (tier is None or same != tier.id):
            errors["name"] = f"There is already a tier called {name}."
    threshold = rules.whole_number(form, THRESHOLD, errors)
    discount = rules.whole_number(form, DISCOUNT, errors)
    multiplier = rules.whole_number(form, MULTIPLIER, errors)
    if tier is None and len(all_tiers()) >= MAX_TIERS:
        errors[""] = f"A programme has at most {MAX_TIERS} tiers."
    if errors:
        raise TierInvalid(errors)
    if tier is None:
        tier = LoyaltyTier()
        db.session.add(tier)
    tier.name = name
    tier.threshold = threshold
    tier.discount_percent = discount
    tier.free_shipping = form.get("free_shipping") == "1"
    tier.points_multiplier_percent = multiplier
    db.session.flush()
    return tier


def delete_tier(tier: LoyaltyTier) -> None:
    """Its members fall to the tier below at the next recompute (tonight at the latest)."""
    db.session.delete(tier)
    db.session.flush()
