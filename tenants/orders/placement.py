"""Placing an order: one transaction that never sells stock the shop does not have and
never makes two orders of one checkout.

The checkout prices everything first (cart, discount, shipping, taxes: each recomputed
from the database, never taken from the browser) and hands the result to
`place_order`, which then, in one transaction:

1. returns the existing order if this checkout's idempotency key already made one;
2. takes stock with one conditional `UPDATE` per variant (in variant-id order, so two
   orders never wait on each other's rows in opposite orders): a tracked variant of a
   product that does not keep selling when out of stock is only decremented if enough
   is left, so stock never goes below zero however many buyers race for it;
3. takes the next order number from the shop's counter row (after the stock, so the row
   every order needs is held as briefly as possible and never by a sold-out attempt;
   a rolled-back order gives its number back, so numbers have no gaps);
4. writes the order and its lines, then counts the discount's use with a conditional
   `UPDATE` (never past its limit), then the first timeline event and stock history.

Locks are always taken in that order (variants by id, counter, discount), so two
orders never wait on each other in a cycle.

Two concurrent submits of one checkout both get this far; the unique idempotency key
lets exactly one commit, and the other returns the order that did.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Integer, Table, and_, bindparam, case, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError

from saas.db import atomic, db
from saas.jobs import enqueue
from saas.page_cache import storefront_changed
from saas.tenancy import current_tenant
from tenants.catalog.inventory import low_stock_threshold, notify_low_stock
from tenants.catalog.models import (
    AdjustmentReason,
    InventoryAdjustment,
    Product,
    ProductStatus,
    ProductVariant,
)
from tenants.discounts import services as discounts
from tenants.discounts.models import Discount
from tenants.orders.models import Counter, Order, OrderEvent, OrderLine, PaymentStatus


class OrderError(Exception):
    """An order that cannot be placed; the message is for the shopper."""


class SoldOut(OrderError):
    def __init__(self, titles: Sequence[str]) -> None:
        self.titles = list(titles)
        names = ", ".join(self.titles)
        super().__init__(
            f"Sorry, {names} sold out while you were checking out. "
            "Your cart shows what is still available."
        )


class DiscountUnavailable(OrderError):
    def __init__(self, code: str) -> None:
        super().__init__(f"The code {code} has just been used up. Your order was not placed.")


@dataclass(frozen=True)
class LineInput:
    """A line as the order keeps it: each field is a column of `OrderLine`."""

    variant_id: int
    product_id: int
    title: str
    quantity: int
    unit_price_cents: int
    variant_title: str = ""
    sku: str = ""
    discount_cents: int = 0
    tax_cents: int = 0
    weight_grams: int = 0


@dataclass(frozen=True)
class OrderInput:
    """A priced checkout. Totals are the checkout's; `place_order` checks they add up."""

    idempotency_key: str
    email: str
    currency: str
    lines: Sequence[LineInput]
    payment_method: str
    subtotal_cents: int
    total_cents: int
    discount_cents: int = 0
    shipping_cents: int = 0
    tax_cents: int = 0
    taxes_included: bool = False
    tax_lines: Sequence[dict[str, Any]] = ()
    customer_id: int | None = None
    customer_name: str = ""
    phone: str = ""
    discount_id: int | None = None
    discount_code: str | None = None
    # Points spent (`tenants.loyalty`), paid for by `points_discount_cents` of the discount.
    points_redeemed: int = 0
    points_discount_cents: int = 0
    # The member tier whose discount is `tier_discount_cents` of the discount.
    tier_name: str = ""
    tier_discount_cents: int = 0
    # Whose referral link brought the buyer, and the welcome discount of the discount.
    referrer_id: int | None = None
    referral_discount_cents: int = 0
    shipping_method: str = ""
    shipping_address: dict[str, Any] | None = None
    billing_address: dict[str, Any] | None = None
    note: str = ""
    reserved_until: datetime | None = None


@dataclass(frozen=True)
class Placed:
    order: Order
    created: bool  # False: this checkout had already made the order (a repeat submit)


def _check(data: OrderInput) -> None:
    if not data.lines:
        raise OrderError("Your cart is empty.")
    if any(line.quantity <= 0 for line in data.lines):
        raise OrderError("Every item needs a quantity of at least 1.")
    if not data.idempotency_key:
        raise ValueError("an order needs its checkout's idempotency key")
    subtotal = sum(line.unit_price_cents * line.quantity for line in data.lines)
    added_tax = 0 if data.taxes_included else data.tax_cents
    expected = subtotal - data.discount_cents + data.shipping_cents + added_tax
    if subtotal != data.subtotal_cents or expected != data.total_cents or data.total_cents < 0:
        raise ValueError(f"order totals do not add up: {data}")


def existing(idempotency_key: str) -> Order | None:
    return db.session.scalar(select(Order).where(Order.idempotency_key == idempotency_key))


_variants = cast(Table, ProductVariant.__table__)
_products = cast(Table, Product.__table__)


def _take_stock_statement() -> Any:
    """One statement per variant: decrement only when there is enough, or when the
    variant is not tracked (nothing to decrement) or its product keeps selling.
    Core, not text: the shop's schema is written in by the engine's translate map."""
    v, p = _variants, _products
    quantity = bindparam("quantity", type_=Integer)
    return (
        update(v)
        .values(
            inventory_quantity=case(
                (v.c.inventory_tracked, v.c.inventory_quantity - quantity),
                else_=v.c.inventory_quantity,
            )
        )
        .where(
            v.c.id == bindparam("variant_id"),
            p.c.id == v.c.product_id,
            p.c.status == ProductStatus.ACTIVE,
            or_(~v.c.inventory_tracked, v.c.inventory_quantity >= quantity, p.c.continue_selling),
        )
        .returning(v.c.inventory_tracked, v.c.inventory_quantity, v.c.product_id)
    )


def _product_summary_statement() -> Any:
    p = _products
    quantity = bindparam("quantity", type_=Integer)
    return (
        update(p)
        .values(
            units_sold=p.c.units_sold + quantity,
            inventory_quantity=case(
                (
                    and_(bindparam("tracked"), p.c.inventory_quantity.is_not(None)),
                    p.c.inventory_quantity - quantity,
                ),
                else_=p.c.inventory_quantity,
            ),
        )
        .where(p.c.id == bindparam("product_id"))
    )


def _next_number_statement() -> Any:
    """The next order number; the first one follows any orders already there."""
    counters, orders = cast(Table, Counter.__table__), cast(Table, Order.__table__)
    first = select(func.coalesce(func.max(orders.c.number), 1000) + 1).scalar_subquery()
    insert_ = pg_insert(counters).values(name="order", value=first)
    return insert_.on_conflict_do_update(
        index_elements=[counters.c.name], set_={"value": counters.c.value + 1}
    ).returning(counters.c.value)


@dataclass(frozen=True)
class Taken:
    tracked: bool
    left: int  # stock after this order (meaningless when not tracked)
    quantity: int


def _take_stock(lines: Sequence[LineInput]) -> dict[int, Taken]:
    """Decrement stock for every line: {variant id: what was taken}. Raises `SoldOut`
    naming what ran out (the caller rolls back what was already taken)."""
    wanted: dict[int, int] = {}
    for line in lines:
        wanted[line.variant_id] = wanted.get(line.variant_id, 0) + line.quantity
    titles = {line.variant_id: line.title for line in lines}
    taken: dict[int, Taken] = {}
    short: list[str] = []
    take, summary = _take_stock_statement(), _product_summary_statement()
    for variant_id in sorted(wanted):  # the same lock order in every transaction
        quantity = wanted[variant_id]
        row = db.session.execute(take, {"variant_id": variant_id, "quantity": quantity}).first()
        if row is None:
            short.append(titles[variant_id])
            continue
        tracked, left, product_id = row
        taken[variant_id] = Taken(bool(tracked), left, quantity)
        db.session.execute(
            summary, {"quantity": quantity, "tracked": bool(tracked), "product_id": product_id}
        )
    if short:
        raise SoldOut(short)
    return taken


def _redeem(discount_id: int, order: Order) -> bool:
    """Count the order's use of its discount (False: used up meanwhile)."""
    discount = db.session.get(Discount, discount_id)
    return discount is not None and discounts.redeem(discount, order.id, order.email)


def place_order(data: OrderInput) -> Placed:
    """Place the order (flushing), or return the one this checkout already placed.

    Raises `SoldOut` or `DiscountUnavailable` (nothing is changed then: the order's
    savepoint is rolled back). Its low-stock notices are queued once the unit of work
    commits; `Placed.created` tells the caller whether to queue anything of its own.
    """
    _check(data)
    found = existing(data.idempotency_key)
    if found is not None:
        return Placed(found, created=False)
    threshold = low_stock_threshold()
    try:
        with atomic():  # a concurrent submit of this checkout may win: see below
            taken = _take_stock(data.lines)
            order = Order(
                token=secrets.token_urlsafe(24),
                idempotency_key=data.idempotency_key,
                customer_id=data.customer_id,
                email=data.email.strip().lower(),
                customer_name=data.customer_name,
                phone=data.phone,
                payment_status=PaymentStatus.PENDING,
                payment_method=data.payment_method,
                currency=data.currency,
                subtotal_cents=data.subtotal_cents,
                discount_cents=data.discount_cents,
                shipping_cents=data.shipping_cents,
                tax_cents=data.tax_cents,
                total_cents=data.total_cents,
                taxes_included=data.taxes_included,
                tax_lines=list(data.tax_lines),
                discount_code=data.discount_code,
                points_redeemed=data.points_redeemed,
                points_discount_cents=data.points_discount_cents,
                tier_name=data.tier_name,
                tier_discount_cents=data.tier_discount_cents,
                referrer_id=data.referrer_id,
                referral_discount_cents=data.referral_discount_cents,
                shipping_method=data.shipping_method,
                shipping_address=data.shipping_address,
                billing_address=data.billing_address,
                note=data.note,
                reserved_until=data.reserved_until,
            )
            order.lines = [
                OrderLine(
                    **asdict(line),
                    stock_taken=line.variant_id in taken and taken[line.variant_id].tracked,
                )
                for line in data.lines
            ]
            # Taken after the stock (so a sold-out order never holds the row every order
            # needs), right before the order row it goes on.
            order.number = db.session.execute(_next_number_statement()).scalar_one()
            db.session.add(order)
            db.session.flush()  # the order's id, for the discount's usage row
            if data.discount_id is not None and not _redeem(data.discount_id, order):
                raise DiscountUnavailable(data.discount_code or "")
            order.events = [
                OrderEvent(
                    kind="placed", message=f"Order #{order.number} placed.", actor="customer"
                )
            ]
            db.session.add_all(
                InventoryAdjustment(
                    variant_id=variant_id,
                    delta=-t.quantity,
                    quantity_after=t.left,
                    reason=AdjustmentReason.SOLD,
                    note=f"Order #{order.number}",
                )
                for variant_id, t in taken.items()
                if t.tracked
            )
            if any(t.tracked and t.left <= threshold for t in taken.values()):
                # The storefront shows "Only N left" or "Sold out" now: its pages changed.
                # (Orders themselves are private and do not touch the page cache.)
                storefront_changed(current_tenant.id)
    except IntegrityError:
        found = existing(data.idempotency_key)
        if found is None:
            raise
        return Placed(found, created=False)  # a concurrent submit of this checkout won
    for variant_id, t in taken.items():
        if t.tracked and t.left <= threshold < t.left + t.quantity:
            enqueue(notify_low_stock, variant_id)  # queued once the order commits
    return Placed(order, created=True)
