"""Creating, editing and retiring plans: the form's rules and the writes.

Amounts are typed the way people write them (9.99, 2.5 %) and stored as integers
(cents, basis points). Exactly one plan is the default: setting a new one unsets the
old one in the same transaction (a partial unique index backs this up).

A plan's Stripe prices (`stripe_price_month`, `stripe_price_year`) were made for its
amounts at the time: changing an amount (or the currency) clears them, and the next
subscription gets a price at the new amount (saas/billing/prices.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select, update

from saas import audit
from saas.db import db
from saas.models import Feature, Plan, Subscription
from saas.money import DEFAULT_LOCALE, MoneyError, exponent, format_amount, parse_money

CODE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
MAX_PRICE = Decimal("100000")
MAX_LIMIT = 1_000_000
FIELDS = (
    "code",
    "name",
    "price",
    "yearly_price",
    "currency",
    "trial_days",
    "max_products",
    "max_staff",
    "max_domains",
    "max_storage_mb",
    "fee_percent",
    "sort_order",
)
LIMIT_FIELDS = {
    "max_products": "Products",
    "max_staff": "Staff seats",
    "max_domains": "Custom domains",
    "max_storage_mb": "Storage",
}
# Sent with the feature checkboxes: a post without it (an older form, a script) leaves
# the plan's features as they are, rather than reading "no box ticked" as "none".
FEATURES_SHOWN = "features_shown"


class PlanRefused(ValueError):
    """The change cannot be made; the message says why."""


@dataclass
class PlanForm:
    """What the operator typed (kept as typed, to re-show) and what it means."""

    raw: dict[str, str]
    is_default: bool
    values: dict[str, Any]
    errors: dict[str, str]
    features: list[str] = field(default_factory=lambda: [f.value for f in Feature])

    @classmethod
    def from_plan(cls, plan: Plan | None) -> PlanForm:
        if plan is None:
            raw = {f: "" for f in FIELDS} | {
                "currency": "usd",
                "trial_days": "14",
                "sort_order": "0",
            }
            raw["fee_percent"] = "0"
            return cls(raw, False, {}, {})
        raw = {
            "code": plan.code,
            "name": plan.name,
            "price": _amount(plan.price_cents, plan.currency),
            "yearly_price": _amount(plan.yearly_price_cents, plan.currency),
            "currency": plan.currency,
            "trial_days": str(plan.trial_days),
            "fee_percent": _trim(Decimal(plan.transaction_fee_bps).scaleb(-2)),
            "sort_order": str(plan.sort_order),
        }
        for name in LIMIT_FIELDS:
            limit = getattr(plan, name)
            raw[name] = "" if limit is None else str(limit)
        return cls(raw, plan.is_default, {}, {}, _known_features(plan.features or []))


def _amount(cents: int | None, currency: str) -> str:
    return "" if cents is None else format_amount(cents, currency.upper())


def _known_features(chosen: Any) -> list[str]:
    """The Feature values among `chosen`, in the order of `Feature`."""
    picked = {str(c) for c in chosen}
    return [f.value for f in Feature if f.value in picked]


def _trim(value: Decimal) -> str:
    text = f"{value:.2f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _decimal(text: str) -> Decimal | None:
    try:
        value = Decimal(text.replace(",", "").replace("%", "").strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _whole(text: str, low: int, high: int) -> int | None:
    text = text.strip()
    if not re.fullmatch(r"-?[0-9]{1,9}", text):
        return None
    value = int(text)
    return value if low <= value <= high else None


def read_form(form: Any, plan: Plan | None = None) -> PlanForm:
    """Check every field of a submitted plan form; errors are per field."""
    raw = {f: (form.get(f) or "").strip() for f in FIELDS}
    raw["code"] = raw["code"].lower()
    raw["currency"] = raw["currency"].lower()
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}

    code = raw["code"]
    if not code:
        errors["code"] = "Enter a code, for example “growth”."
    elif not CODE.match(code):
        errors["code"] = "Use lowercase letters, digits and hyphens (at most 63)."
    else:
        taken = db.session.scalar(
            select(Plan.id).where(Plan.code == code, Plan.id != (plan.id if plan else -1))
        )
        if taken:
            errors["code"] = f"Another plan already uses the code “{code}”."
        values["code"] = code

    name = raw["name"]
    if not name:
        errors["name"] = "Enter the name merchants see."
    elif len(name) > 100:
        errors["name"] = "Keep the name under 100 characters."
    values["name"] = name

    # Minor units of the plan's own currency, as `format_money` shows them.
    currency = raw["currency"].upper() if re.fullmatch(r"[a-z]{3}", raw["currency"]) else "USD"
    if not raw["price"]:
        errors["price"] = "Enter the monthly price, for example 29.00 (0 for free)."
    else:
        try:
            values["price_cents"] = _price(raw["price"], currency, "the monthly price")
        except MoneyError as error:
            errors["price"] = str(error)

    values["yearly_price_cents"] = None  # blank: sold by the month only
    if raw["yearly_price"]:
        try:
            values["yearly_price_cents"] = _price(raw["yearly_price"], currency, "the yearly price")
        except MoneyError as error:
            errors["yearly_price"] = str(error)

    if not re.fullmatch(r"[a-z]{3}", raw["currency"]):
        errors["currency"] = "Enter a three-letter currency code, for example usd."
    values["currency"] = raw["currency"]

    trial = _whole(raw["trial_days"], 0, 365)
    if trial is None:
        errors["trial_days"] = "Enter a whole number of days from 0 to 365 (0: no trial)."
    values["trial_days"] = trial

    for name, label in LIMIT_FIELDS.items():
        if not raw[name]:
            values[name] = None  # unlimited
            continue
        limit = _whole(raw[name], 0, MAX_LIMIT)
        if limit is None:
            unit = " of MB" if name == "max_storage_mb" else ""
            errors[name] = (
                f"{label}: enter a whole number{unit} from 0 to {MAX_LIMIT:,}, or leave it "
                "blank for unlimited."
            )
        values[name] = limit

    chosen = form.getlist("features") if hasattr(form, "getlist") else []
    features = _known_features(chosen)
    if form.get(FEATURES_SHOWN):
        values["features"] = features
    elif plan is not None:  # no checkboxes in this post: keep the plan's features
        features = _known_features(plan.features or [])
    else:
        features = [f.value for f in Feature]
        values["features"] = features

    fee = _decimal(raw["fee_percent"] or "0")
    if fee is None:
        errors["fee_percent"] = "Enter the fee as a percentage, for example 2.5."
    elif fee < 0 or fee > 100:
        errors["fee_percent"] = "The fee must be between 0 and 100 %."
    elif fee != fee.quantize(Decimal("0.01")):
        errors["fee_percent"] = "Use at most two decimals (0.01 % is the smallest step)."
    else:
        values["transaction_fee_bps"] = int(fee * 100)

    order = _whole(raw["sort_order"] or "0", -10_000, 10_000)
    if order is None:
        errors["sort_order"] = "Enter a whole number (lower numbers are listed first)."
    values["sort_order"] = order

    is_default = form.get("is_default") in ("1", "on", "true", "yes")
    if is_default and plan is not None and plan.retired:
        errors["is_default"] = "A retired plan cannot be the default; put it back on offer first."
    values["is_default"] = is_default
    return PlanForm(raw, is_default, values, errors, features)


def _price(text: str, currency: str, what: str) -> int:
    """A plan price typed by the operator, read as the console writes it (en_US)."""
    maximum = int(MAX_PRICE.scaleb(exponent(currency)))
    return parse_money(text, currency, DEFAULT_LOCALE, maximum=maximum, what=what)


def _make_default(plan_id: int | None) -> None:
    """Unset the default flag of every other plan (before this one is flagged)."""
    query = update(Plan).where(Plan.is_default.is_(True))
    if plan_id is not None:
        query = query.where(Plan.id != plan_id)
    db.session.execute(query.values(is_default=False))


def save_plan(form: PlanForm, plan: Plan | None, *, actor: Any) -> Plan:
    """Create or update a plan from a valid form, audited. Flushes; the caller commits."""
    assert not form.errors
    values = form.values
    if values["is_default"]:
        _make_default(plan.id if plan else None)
    if plan is None:
        plan = Plan(**values)
        db.session.add(plan)
        db.session.flush()
        audit.record("plan.created", tenant_id=None, actor=actor, plan=plan.code, **_public(plan))
        return plan
    changes = {
        key: [getattr(plan, key), value]
        for key, value in values.items()
        if getattr(plan, key) != value
    }
    # Stripe prices are made for one amount in one currency: a new amount needs a new one.
    if {"price_cents", "currency"} & changes.keys() and plan.stripe_price_month:
        changes["stripe_price_month"] = [plan.stripe_price_month, None]
        plan.stripe_price_month = None
    if {"yearly_price_cents", "currency"} & changes.keys() and plan.stripe_price_year:
        changes["stripe_price_year"] = [plan.stripe_price_year, None]
        plan.stripe_price_year = None
    for key, value in values.items():
        setattr(plan, key, value)
    db.session.flush()
    audit.record("plan.updated", tenant_id=None, actor=actor, plan=plan.code, changes=changes)
    return plan


def set_retired(plan: Plan, retired: bool, *, actor: Any) -> None:
    if retired:
        if plan.is_default:
            raise PlanRefused(
                f"“{plan.name}” is the default plan, so it cannot be retired. "
                "Make another plan the default first."
            )
        if plan.retired:
            raise PlanRefused(f"“{plan.name}” is already retired.")
        plan.retired_at = datetime.now(UTC)
        action = "plan.retired"
    else:
        if not plan.retired:
            raise PlanRefused(f"“{plan.name}” is already on offer.")
        plan.retired_at = None
        action = "plan.unretired"
    db.session.flush()
    audit.record(action, tenant_id=None, actor=actor, plan=plan.code)


def subscriber_counts() -> dict[int, int]:
    rows = db.session.execute(
        select(Subscription.plan_id, func.count(Subscription.id)).group_by(Subscription.plan_id)
    ).all()
    return {plan_id: count for plan_id, count in rows}


def _public(plan: Plan) -> dict[str, Any]:
    return {
        "name": plan.name,
        "price_cents": plan.price_cents,
        "yearly_price_cents": plan.yearly_price_cents,
        "currency": plan.currency,
        "trial_days": plan.trial_days,
        "max_products": plan.max_products,
        "max_staff": plan.max_staff,
        "max_domains": plan.max_domains,
        "max_storage_mb": plan.max_storage_mb,
        "features": list(plan.features or []),
        "transaction_fee_bps": plan.transaction_fee_bps,
        "is_default": plan.is_default,
    }
