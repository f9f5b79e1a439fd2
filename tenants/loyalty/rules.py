"""The merchant's form for the points programme: which numbers it takes, their bounds
and words, read and checked in one place (the back office's settings page shows them)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import inspect

from saas.db import db
from tenants.accounts.problems import FormProblem
from tenants.loyalty.models import LoyaltyProgram, TierBasis


@dataclass(frozen=True)
class Number:
    name: str
    label: str
    low: int
    high: int
    hint: str = ""


# In the order the form shows them.
NUMBERS = (
    Number("points_per_unit", "Points per unit of currency spent", 0, 1000,
           "On the items of a paid order, after discounts; not shipping or taxes."),
    Number("signup_points", "Points for opening an account", 0, 1_000_000),
    Number("first_order_points", "Points for a first order", 0, 1_000_000),
    Number("review_points", "Points for a published review", 0, 1_000_000),
    Number("birthday_points", "Points on a customer's birthday", 0, 1_000_000,
           "For customers who give their birthday in their account."),
    Number("points_per_unit_off", "Points for one unit of currency off", 1, 1_000_000,
           "At checkout: 100 means 100 points take 1.00 off."),
    Number("min_redeem", "Fewest points used at a time", 0, 1_000_000),
    Number("max_share_percent", "Most of an order's items points may pay (%)", 1, 100),
    Number("holding_days", "Days before earned points can be spent", 0, 365,
           "Cover your refund window: a refund takes back what its order earned."),
    Number("referral_percent", "A referred friend's first order: % off", 0, 90,
           "0 for none. After any discount code and member discount."),
    Number("referral_points", "Points for referring a friend", 0, 1_000_000,
           "Earned when the friend's first order is paid, held like any order's points."),
    Number("referral_monthly_cap", "Most referral rewards per customer a month", 0, 1000),
    Number("expiry_months", "Months without activity before points expire", 0, 120,
           "0: points never expire."),
)  # fmt: skip


BASES = {
    TierBasis.SPEND: "Spending in the last 12 months",
    TierBasis.POINTS: "Points earned in the last 12 months",
}


def whole_number(form: Mapping[str, str], number: Number, errors: dict[str, str]) -> int:
    """The posted `number` (thousands separators allowed); out of its bounds or not a
    whole number, a message in `errors` under its name (and its lowest value back)."""
    text = (form.get(number.name) or "").strip().replace(",", "")
    if text.isdigit() and len(text) <= len(str(number.high)):
        value = int(text)
        if number.low <= value <= number.high:
            return value
    errors[number.name] = f"Enter a whole number from {number.low:,} to {number.high:,}."
    return number.low


def form_values(program: LoyaltyProgram) -> dict[str, str]:
    values = {n.name: str(getattr(program, n.name)) for n in NUMBERS}
    values["enabled"] = "1" if program.enabled else ""
    values["tier_basis"] = program.tier_basis
    return values


class RulesInvalid(FormProblem):
    pass


def save(program: LoyaltyProgram, form: Mapping[str, str]) -> bool:
    """Check and keep the posted rules; whether anything changed. Raises RulesInvalid
    with a message for each field that is wrong (nothing is kept then)."""
    errors: dict[str, str] = {}
    chosen: dict[str, int] = {}
    for number in NUMBERS:
        chosen[number.name] = whole_number(form, number, errors)
    basis = form.get("tier_basis") or TierBasis.SPEND
    if basis not in BASES:
        errors["tier_basis"] = "Choose what member tiers are reached by."
    if errors:
        raise RulesInvalid(errors)
    program.enabled = form.get("enabled") == "1"
    program.tier_basis = basis
    for name, value in chosen.items():
        setattr(program, name, value)
    changed = inspect(program).modified
    db.session.flush()
    return bool(changed)
