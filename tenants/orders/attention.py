"""Orders that wait on the merchant: money to collect, parcels to send.

* to pay: an offline payment (bank transfer, cash on delivery) not received yet. A card
  checkout still on Stripe's page is the shopper's to finish, not the merchant's.
* to ship: paid, or cash on delivery (paid at the door), and not fully sent yet.

Cancelled orders wait on nobody. An order can be both (cash on delivery, not sent).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, or_, select

from saas.db import db
from tenants.orders.models import (
    SALE_STATUSES,
    FulfillmentStatus,
    Order,
    PaymentMethod,
    PaymentStatus,
)

OFFLINE_METHODS = (PaymentMethod.BANK_TRANSFER, PaymentMethod.CASH_ON_DELIVERY)
NOT_SENT = (FulfillmentStatus.UNFULFILLED, FulfillmentStatus.PARTIALLY_FULFILLED)


def to_pay() -> ColumnElement[bool]:
    return and_(
        Order.cancelled_at.is_(None),
        Order.payment_status == PaymentStatus.PENDING,
        Order.payment_method.in_(OFFLINE_METHODS),
    )


def to_ship() -> ColumnElement[bool]:
    return and_(
        Order.cancelled_at.is_(None),
        Order.fulfillment_status.in_(NOT_SENT),
        or_(
            Order.payment_status.in_(SALE_STATUSES),
            and_(
                Order.payment_status == PaymentStatus.PENDING,
                Order.payment_method == PaymentMethod.CASH_ON_DELIVERY,
            ),
        ),
    )


def is_open() -> ColumnElement[bool]:
    return or_(to_pay(), to_ship())


def placed() -> ColumnElement[bool]:
    """A real order: anything but a card checkout the shopper has not paid (yet)."""
    return or_(
        Order.payment_method.is_distinct_from(PaymentMethod.STRIPE),
        Order.payment_status != PaymentStatus.PENDING,
    )


@dataclass(frozen=True)
class Waiting:
    new_today: int  # orders placed since `since` (the start of the shop's day)
    to_pay: int
    to_ship: int
    open: int  # to pay or to ship (an order that is both counts once)


def waiting(since: datetime) -> Waiting:
    """The counts the dashboard leads with, in one query."""
    row = db.session.execute(
        select(
            func.count().filter(placed(), Order.placed_at >= since),
            func.count().filter(to_pay()),
            func.count().filter(to_ship()),
            func.count().filter(is_open()),
        )
    ).one()
    return Waiting(*(int(n) for n in row))


def open_count() -> int:
    """How many orders wait on the merchant (the navigation's badge)."""
    return db.session.scalar(select(func.count()).select_from(Order).where(is_open())) or 0


def open_orders(limit: int = 10) -> list[Order]:
    """The orders waiting on the merchant, oldest first: the longest wait comes first."""
    return list(
        db.session.scalars(
            select(Order).where(is_open()).order_by(Order.placed_at, Order.id).limit(limit)
        )
    )
