"""Discounts: codes shoppers type, and automatic ones (no code) that apply by themselves.

`evaluate()` says whether a discount applies to a cart summary and for how much; it
changes nothing and can be called on every page of the checkout. `redeem()` counts a
use when the order is placed, inside the order's transaction, and never past a limit.

Amounts, in the shop's minor units:

* percentage: `value` is in basis points (1500 = 15 %). It is taken of the whole
  eligible subtotal and rounded half up once, to the minor unit (15 % of 333 cents is
  49.95, so 50), never line by line: the amount does not depend on how the cart is
  split into lines. `Result.lines` then shares it among the eligible lines.
* fixed amount: `value` off the eligible subtotal, never more than it.
* free shipping: no amount here; `Result.free_shipping` tells the shipping step.

The eligible subtotal is the cart's subtotal for a discount on all products, or that of
the lines whose product is in one of the discount's collections. The minimum subtotal
is compared with the eligible subtotal (spending elsewhere does not unlock a discount
on one collection).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from flask import g
from sqlalchemy import Select, false, func, or_, select, update
from werkzeug.datastructures import MultiDict

from saas.billing import limits
from saas.billing.limits import LimitProblem
from saas.db import db
from saas.models import Feature
from saas.money import ZERO_DECIMAL, format_money
from saas.tenancy import current_tenant
from tenants.catalog.models import Product
from tenants.catalog.products import ProductError, format_amount, parse_price
from tenants.checkout.cart import Summary
from tenants.collections.models import Collection
from tenants.collections.services import products_query
from tenants.discounts.models import Discount, DiscountKind, DiscountScope, DiscountUsage

MAX_CODE = 100
CODE_PATTERN = re.compile(rf"[A-Za-z0-9_-]{{3,{MAX_CODE}}}")
MAX_TITLE = 200
MAX_LIMIT = 1_000_000

UNKNOWN = "We don't know this code."
EXPIRED = "This code has expired."
NOT_YET = "This code is not active yet."
USED_UP = "This code has been used up."
ALREADY_USED = "You have already used this code."
NOT_APPLICABLE = "This code does not apply to the items in your cart."
# The shop's plan does not include discount codes (automatic discounts still apply).
NOT_ACCEPTED = "This shop does not accept discount codes."

KIND_LABELS = {
    DiscountKind.PERCENTAGE: "Percentage off",
    DiscountKind.FIXED_AMOUNT: "Fixed amount off",
    DiscountKind.FREE_SHIPPING: "Free shipping",
}
STATUS_LABELS = {
    "active": "Active",
    "scheduled": "Scheduled",
    "expired": "Expired",
    "used_up": "Used up",
    "inactive": "Deactivated",
}
# What the back office's list can be filtered by ("used up" ones count as active there).
STATUS_FILTERS = {
    "active": "Active",
    "scheduled": "Scheduled",
    "expired": "Expired",
    "inactive": "Deactivated",
}


@dataclass(frozen=True)
class Result:
    """What a discount does to a cart.

    `discount` is None when none applies: then `message` says why, for a code the
    shopper typed ("" when no code was typed and no automatic discount applies).
    """

    discount: Discount | None
    amount_cents: int = 0
    free_shipping: bool = False
    message: str = ""
    # Cart line id -> its share of `amount_cents` (eligible lines only; adds up exactly).
    lines: dict[int, int] = field(default_factory=dict)

    @property
    def applied(self) -> bool:
        return self.discount is not None


def normalize_code(code: str | None) -> str:
    return " ".join((code or "").split())


def codes_allowed() -> bool:
    """Whether the shop's plan includes discount codes (`Feature.DISCOUNT_CODES`).

    Only codes are the plan's feature: automatic discounts work on every plan. Asked
    once per request (a cart page evaluates several times).
    """
    tenant_id = current_tenant.id
    cached = g.get("discount_codes_allowed")
    if cached is None or cached[0] != tenant_id:
        cached = (tenant_id, limits.has_feature(tenant_id, Feature.DISCOUNT_CODES))
        g.discount_codes_allowed = cached
    return cached[1]


def code_problem() -> LimitProblem | None:
    """Why the shop cannot offer discount codes on its plan, or None."""
    return limits.feature_problem(current_tenant.id, Feature.DISCOUNT_CODES)


def find_code(code: str) -> Discount | None:
    """The discount with this code, whatever its case (None for an automatic one)."""
    code = normalize_code(code)
    if not code or len(code) > MAX_CODE:
        return None
    return db.session.scalar(select(Discount).where(func.lower(Discount.code) == code.lower()))


def status_of(discount: Discount, now: datetime | None = None) -> str:
    """One of STATUS_LABELS' keys."""
    now = now or datetime.now(UTC)
    if not discount.active:
        return "inactive"
    if discount.starts_at is not None and discount.starts_at > now:
        return "scheduled"
    if discount.ends_at is not None and discount.ends_at <= now:
        return "expired"
    if discount.usage_limit is not None and discount.times_used >= discount.usage_limit:
        return "used_up"
    return "active"


def describe(discount: Discount, currency: str) -> str:
    """What it gives, in a few words: "15% off", "$5.00 off", "Free shipping"."""
    if discount.kind == DiscountKind.PERCENTAGE:
        percent = Decimal(discount.value) / 100
        text = f"{percent.normalize():f}% off"
    elif discount.kind == DiscountKind.FIXED_AMOUNT:
        text = f"{format_money(discount.value, currency)} off"
    else:
        text = "Free shipping"
    if discount.scope == DiscountScope.COLLECTIONS:
        text += " selected products"
    return text


def _eligible_product_ids(discount: Discount, product_ids: set[int]) -> set[int]:
    if discount.scope != DiscountScope.COLLECTIONS:
        return product_ids
    if not product_ids or not discount.collection_ids:
        return set()
    collections = db.session.scalars(
        select(Collection).where(Collection.id.in_(discount.collection_ids))
    ).all()
    if not collections:
        return set()
    members = [
        Product.id.in_(products_query(c).order_by(None).with_only_columns(Product.id))
        for c in collections
    ]
    return set(
        db.session.scalars(select(Product.id).where(Product.id.in_(product_ids), or_(*members)))
    )


def _share(amount: int, weights: dict[int, int]) -> dict[int, int]:
    """`amount` split in proportion to `weights`, in whole units adding up exactly
    (largest remainders get the odd units)."""
    total = sum(weights.values())
    if total <= 0 or amount <= 0:
        return {key: 0 for key in weights}
    shares = {key: amount * weight // total for key, weight in weights.items()}
    left = amount - sum(shares.values())
    by_remainder = sorted(weights, key=lambda key: (-(amount * weights[key] % total), key))
    for key in by_remainder[:left]:
        shares[key] += 1
    return shares


def _usages_by(discount: Discount, email: str) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(DiscountUsage)
            .where(DiscountUsage.discount_id == discount.id, DiscountUsage.email == email)
        )
        or 0
    )


def percentage_of(amount_cents: int, basis_points: int) -> int:
    """`basis_points` of `amount_cents`, rounded half up to the minor unit."""
    exact = Decimal(amount_cents) * Decimal(basis_points) / Decimal(10_000)
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _apply(discount: Discount, summary: Summary, email: str | None, now: datetime) -> Result:
    """The discount on this cart, or why not (`discount` None and a message)."""
    if not discount.active:
        return Result(None, message=UNKNOWN)
    if discount.starts_at is not None and discount.starts_at > now:
        return Result(None, message=NOT_YET)
    if discount.ends_at is not None and discount.ends_at <= now:
        return Result(None, message=EXPIRED)
    if discount.usage_limit is not None and discount.times_used >= discount.usage_limit:
        return Result(None, message=USED_UP)
    email = (email or "").strip().lower()
    if (
        email
        and discount.per_customer_limit is not None
        and _usages_by(discount, email) >= discount.per_customer_limit
    ):
        return Result(None, message=ALREADY_USED)
    eligible_ids = _eligible_product_ids(discount, {line.product_id for line in summary.lines})
    eligible = {
        line.id: line.total_cents for line in summary.lines if line.product_id in eligible_ids
    }
    eligible_subtotal = sum(eligible.values())
    if not eligible or (eligible_subtotal <= 0 and discount.kind != DiscountKind.FREE_SHIPPING):
        return Result(None, message=NOT_APPLICABLE)
    if eligible_subtotal < discount.min_subtotal_cents:
        minimum = format_money(discount.min_subtotal_cents, summary.currency)
        if discount.scope == DiscountScope.COLLECTIONS:
            return Result(
                None, message=f"Spend {minimum} or more on eligible items to use this code."
            )
        return Result(None, message=f"Spend {minimum} or more to use this code.")
    if discount.kind == DiscountKind.FREE_SHIPPING:
        return Result(discount, free_shipping=True)
    if discount.kind == DiscountKind.PERCENTAGE:
        amount = percentage_of(eligible_subtotal, min(discount.value, 10_000))
    else:
        amount = min(discount.value, eligible_subtotal)
    return Result(discount, amount_cents=amount, lines=_share(amount, eligible))


def evaluate(
    code_or_none: str | None,
    summary: Summary,
    email: str | None = None,
    now: datetime | None = None,
) -> Result:
    """Whether a discount applies to this cart, and how much it takes off.

    With a code: that code's discount, or `discount` None and a message for the
    shopper (UNKNOWN, EXPIRED, NOT_YET, USED_UP, ALREADY_USED, NOT_APPLICABLE, or
    "Spend $50.00 or more to use this code."). Without one: the best automatic
    discount the cart qualifies for (the largest amount; free shipping when none takes
    money off), or an empty Result with no message.

    `email` enables the per-customer limit (checked again by `redeem`). Changes nothing.
    """
    now = now or datetime.now(UTC)
    code = normalize_code(code_or_none)
    if code and not codes_allowed():
        return Result(None, message=NOT_ACCEPTED)
    if code:
        discount = find_code(code)
        if discount is None:
            return Result(None, message=UNKNOWN)
        return _apply(discount, summary, email, now)
    best = Result(None)
    automatic = db.session.scalars(
        select(Discount)
        .where(
            Discount.code.is_(None),
            Discount.active.is_(True),
            or_(Discount.starts_at.is_(None), Discount.starts_at <= now),
            or_(Discount.ends_at.is_(None), Discount.ends_at > now),
        )
        .order_by(Discount.id)
    ).all()
    for discount in automatic:
        result = _apply(discount, summary, email, now)
        if result.discount is None:
            continue
        if best.discount is None or (result.amount_cents, result.free_shipping) > (
            best.amount_cents,
            best.free_shipping,
        ):
            best = result
    return best


def redeem(discount: Discount, order_id: int, email: str) -> bool:
    """Count one use of `discount` by the order `order_id`. Flushes; the order's
    transaction commits it (or rolls it back with the order).

    One conditional UPDATE takes the use: `times_used + 1` only while under
    `usage_limit`, so racing checkouts can never count past it (the row stays locked
    until the order commits, so they take turns). Then the per-customer limit is
    checked against DiscountUsage rows (the lock makes that check safe too) and the
    usage row is added. Returns False, counting nothing, when the code is used up or
    this email has used it as often as allowed.
    """
    email = (email or "").strip().lower()
    row = db.session.execute(
        update(Discount)
        .where(
            Discount.id == discount.id,
            or_(Discount.usage_limit.is_(None), Discount.times_used < Discount.usage_limit),
        )
        .values(times_used=Discount.times_used + 1)
        .returning(Discount.per_customer_limit)
        .execution_options(synchronize_session=False)
    ).first()
    if row is None:
        return False
    per_customer = row[0]
    if per_customer is not None and _usages_by(discount, email) >= per_customer:
        db.session.execute(
            update(Discount)
            .where(Discount.id == discount.id)
            .values(times_used=Discount.times_used - 1)
            .execution_options(synchronize_session=False)
        )
        return False
    db.session.add(DiscountUsage(discount_id=discount.id, order_id=order_id, email=email))
    db.session.flush()
    if discount in db.session:
        db.session.expire(discount, ["times_used"])
    return True


# --- the back office's form ----------------------------------------------------------------


class DiscountFormInvalid(ValueError):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def _local_input(moment: datetime | None, zone: tzinfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%dT%H:%M") if moment else ""


def form_values(discount: Discount | None, currency: str, zone: tzinfo) -> dict[str, Any]:
    """The form's values for a discount (defaults for a new one)."""
    if discount is None:
        return {
            "method": "code",
            "kind": DiscountKind.PERCENTAGE,
            "scope": DiscountScope.ALL,
            "collections": [],
            "active": "1",
        }
    if discount.kind == DiscountKind.PERCENTAGE:
        value = f"{(Decimal(discount.value) / 100).normalize():f}"
    elif discount.kind == DiscountKind.FIXED_AMOUNT:
        value = format_amount(discount.value, currency)
    else:
        value = ""
    return {
        "method": "automatic" if discount.code is None else "code",
        "code": discount.code or "",
        "title": discount.title,
        "kind": discount.kind,
        "value": value,
        "scope": discount.scope,
        "collections": [str(i) for i in discount.collection_ids or []],
        "min_subtotal": format_amount(discount.min_subtotal_cents, currency)
        if discount.min_subtotal_cents
        else "",
        "starts_at": _local_input(discount.starts_at, zone),
        "ends_at": _local_input(discount.ends_at, zone),
        "usage_limit": "" if discount.usage_limit is None else str(discount.usage_limit),
        "per_customer_limit": ""
        if discount.per_customer_limit is None
        else str(discount.per_customer_limit),
        "active": "1" if discount.active else "",
    }


def _parse_percentage(text: str) -> int:
    """ "15" or "12.5" (a % sign allowed) in basis points."""
    text = text.strip().removesuffix("%").strip()
    if not re.fullmatch(r"[0-9]{1,3}(?:\.[0-9]{1,2})?", text):
        raise ProductError("Enter a percentage from 1 to 100, like 15 or 12.5.")
    try:
        percent = Decimal(text)
    except InvalidOperation as error:  # pragma: no cover - the pattern rules it out
        raise ProductError("Enter a percentage from 1 to 100, like 15 or 12.5.") from error
    if not 1 <= percent <= 100:
        raise ProductError("Enter a percentage from 1 to 100, like 15 or 12.5.")
    return int(percent * 100)


def _parse_amount(text: str, currency: str) -> int | None:
    """An amount of money typed by the merchant, in minor units (None if empty)."""
    text = text.strip()
    if not text:
        return None
    example = "5" if currency in ZERO_DECIMAL else "5.00"
    if text.startswith("-"):
        raise ProductError("The amount cannot be negative.")
    try:
        return parse_price(text, currency)
    except ProductError as error:
        if "too high" in str(error):
            raise ProductError("That amount is too high.") from None
        raise ProductError(f"Enter an amount as a number, like {example}.") from error


def _parse_moment(text: str, zone: tzinfo) -> datetime | None:
    """A date and time typed in the shop's time zone ("2025-06-01T09:00"), in UTC."""
    text = text.strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ProductError("Enter a date and time, like 2025-06-01 09:00.") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    if not 2000 <= moment.year <= 2999:
        raise ProductError("Enter a date between the years 2000 and 2999.")
    return moment.astimezone(UTC)


def _parse_limit(text: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not (text.isascii() and text.isdigit()) or len(text) > 7 or not 1 <= int(text) <= MAX_LIMIT:
        raise ProductError(
            f"Enter a whole number from 1 to {MAX_LIMIT:,}, or leave it empty for no limit."
        )
    return int(text)


def save_discount(
    discount: Discount | None, form: MultiDict[str, str], currency: str, zone: tzinfo
) -> Discount:
    """Create (discount None) or update a discount from the back office's form. Flushes.

    Raises:
        DiscountFormInvalid: a message per wrong field; nothing has changed.
    """
    errors: dict[str, str] = {}

    def text(name: str) -> str:
        value = form.get(name)
        return value if isinstance(value, str) else ""

    method = text("method")
    if method not in ("code", "automatic"):
        errors["method"] = "Choose a code or an automatic discount."
    code: str | None = None
    if method == "code":
        code = text("code").strip()
        if not code:
            errors["code"] = "Enter the code shoppers will type, like SUMMER15."
        elif not CODE_PATTERN.fullmatch(code):
            errors["code"] = f"Use 3 to {MAX_CODE} letters, digits, - or _ (no spaces)."
        else:
            same = select(Discount.id).where(func.lower(Discount.code) == code.lower())
            if discount is not None:
                same = same.where(Discount.id != discount.id)
            if db.session.scalar(same) is not None:
                errors["code"] = f"Another discount already uses the code “{code}”."
    title = " ".join(text("title").split())
    if len(title) > MAX_TITLE:
        errors["title"] = f"Use at most {MAX_TITLE} characters."
    elif method == "automatic" and not title:
        errors["title"] = "Name the discount: shoppers see it in their cart, like “Summer sale”."
    kind = text("kind")
    value = 0
    if kind not in tuple(DiscountKind):
        errors["kind"] = "Choose what the discount gives."
    elif kind == DiscountKind.PERCENTAGE:
        try:
            value = _parse_percentage(text("value"))
        except ProductError as error:
            errors["value"] = str(error)
    elif kind == DiscountKind.FIXED_AMOUNT:
        try:
            value = _parse_amount(text("value"), currency) or 0
        except ProductError as error:
            errors["value"] = str(error)
        else:
            if value <= 0:
                errors["value"] = "Enter an amount above zero."
    scope = text("scope")
    collection_ids: list[int] = []
    if scope not in tuple(DiscountScope):
        errors["scope"] = "Choose which products the discount applies to."
    elif scope == DiscountScope.COLLECTIONS:
        chosen = {
            int(v)
            for v in form.getlist("collections")
            if v.isascii() and v.isdigit() and len(v) < 10
        }
        collection_ids = (
            sorted(db.session.scalars(select(Collection.id).where(Collection.id.in_(chosen))).all())
            if chosen
            else []
        )
        if not collection_ids:
            errors["collections"] = "Choose at least one collection."
    try:
        min_subtotal = _parse_amount(text("min_subtotal"), currency) or 0
    except ProductError as error:
        errors["min_subtotal"] = str(error)
        min_subtotal = 0
    moments: dict[str, datetime | None] = {}
    for name in ("starts_at", "ends_at"):
        try:
            moments[name] = _parse_moment(text(name), zone)
        except ProductError as error:
            errors[name] = str(error)
    starts_at, ends_at = moments.get("starts_at"), moments.get("ends_at")
    if starts_at is not None and ends_at is not None and ends_at <= starts_at:
        errors["ends_at"] = "The end must be after the start."
    caps: dict[str, int | None] = {}
    for name in ("usage_limit", "per_customer_limit"):
        try:
            caps[name] = _parse_limit(text(name))
        except ProductError as error:
            errors[name] = str(error)
    # A plan without discount codes: no new code, and none switched (or kept) on; an
    # existing code can still be edited while deactivated, or deleted.
    switched_on = discount is None or bool(form.get("active"))
    if method == "code" and switched_on and (problem := code_problem()):
        errors["form"] = problem.html()
    if errors:
        raise DiscountFormInvalid(errors)
    if discount is None:
        discount = Discount(times_used=0)
        db.session.add(discount)
    discount.code = code
    discount.title = title
    discount.kind = kind
    discount.value = value
    discount.scope = scope
    discount.collection_ids = collection_ids
    discount.min_subtotal_cents = min_subtotal
    discount.starts_at = starts_at
    discount.ends_at = ends_at
    discount.usage_limit = caps.get("usage_limit")
    discount.per_customer_limit = caps.get("per_customer_limit")
    discount.active = bool(form.get("active"))
    db.session.flush()
    return discount


def discounts_query(search: str = "", status: str = "", now: datetime | None = None) -> Select:
    """The back office's list: newest first, by code or title, by status."""
    now = now or datetime.now(UTC)
    query = select(Discount).order_by(Discount.created_at.desc(), Discount.id.desc())
    search = " ".join(search.split())[:MAX_CODE]
    if search:
        pattern = (
            "%" + search.lower().replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_") + "%"
        )
        query = query.where(
            or_(func.lower(Discount.code).like(pattern), func.lower(Discount.title).like(pattern))
        )
    started = or_(Discount.starts_at.is_(None), Discount.starts_at <= now)
    not_ended = or_(Discount.ends_at.is_(None), Discount.ends_at > now)
    if status == "active":
        query = query.where(Discount.active.is_(True), started, not_ended)
    elif status == "scheduled":
        query = query.where(Discount.active.is_(True), Discount.starts_at > now)
    elif status == "expired":
        query = query.where(Discount.ends_at <= now)
    elif status == "inactive":
        query = query.where(Discount.active.is_(False))
    elif status:
        query = query.where(false())
    return query


def form_collections() -> list[tuple[int, str]]:
    """Collections a discount can be limited to, by title."""
    return [
        (row.id, row.title)
        for row in db.session.execute(
            select(Collection.id, Collection.title).order_by(Collection.title, Collection.id)
        )
    ]


def usage_count(discount: Discount) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(DiscountUsage)
            .where(DiscountUsage.discount_id == discount.id)
        )
        or 0
    )
