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

The back office's side (the form, saving, the list) is `tenants.discounts.admin`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, or_, select, update

from saas.billing import limits
from saas.billing.limits import LimitProblem
from saas.db import db
from saas.models import Feature
from saas.money import format_money
from saas.tenancy import current_tenant
from tenants.catalog.models import Product
from tenants.checkout.cart import Summary
from tenants.collections.models import Collection
from tenants.collections.services import products_query
from tenants.discounts.models import Discount, DiscountKind, DiscountScope, DiscountUsage

MAX_CODE = 100

UNKNOWN = "We don't know this code."
EXPIRED = "This code has expired."
NOT_YET = "This code is not active yet."
USED_UP = "This code has been used up."
ALREADY_USED = "You have already used this code."
NOT_APPLICABLE = "This code does not apply to the items in your cart."
# The shop's plan does not include discount codes (automatic discounts still apply).
NOT_ACCEPTED = "This shop does not accept discount codes."


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


def plan_allows_codes() -> bool:
    """Whether the shop's plan includes discount codes (`Feature.DISCOUNT_CODES`).

    Only codes are the plan's feature: automatic discounts work on every plan. Asks the
    plan each time: a caller that evaluates several times (a cart page) remembers the
    answer and hands it to `evaluate` (`codes_allowed=`).
    """
    return limits.has_feature(current_tenant.id, Feature.DISCOUNT_CODES)


def code_problem() -> LimitProblem | None:
    """Why the shop cannot offer discount codes on its plan, or None."""
    return limits.feature_problem(current_tenant.id, Feature.DISCOUNT_CODES)


def find_code(code: str) -> Discount | None:
    """The discount with this code, whatever its case (None for an automatic one)."""
    code = normalize_code(code)
    if not code or len(code) > MAX_CODE:
        return None
    return db.session.scalar(select(Discount).where(func.lower(Discount.code) == code.lower()))


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


def share(amount: int, weights: dict[int, int]) -> dict[int, int]:
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
    return Result(discount, amount_cents=amount, lines=share(amount, eligible))


def evaluate(
    code_or_none: str | None,
    summary: Summary,
    email: str | None = None,
    now: datetime | None = None,
    *,
    codes_allowed: Callable[[], bool] = plan_allows_codes,
) -> Result:
    """Whether a discount applies to this cart, and how much it takes off.

    With a code: that code's discount, or `discount` None and a message for the
    shopper (UNKNOWN, EXPIRED, NOT_YET, USED_UP, ALREADY_USED, NOT_APPLICABLE, or
    "Spend $50.00 or more to use this code."). Without one: the best automatic
    discount the cart qualifies for (the largest amount; free shipping when none takes
    money off), or an empty Result with no message.

    `email` enables the per-customer limit (checked again by `redeem`). `codes_allowed`
    says whether the shop's plan takes codes, asked only when a code is given (by
    default the plan is asked; a page that evaluates several times passes its own
    remembered answer). Changes nothing.
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
