"""The pieces every sales report is built from: which orders count, in which local day
they fall, and who bought them.

An order counts from the moment money was taken: `SALE_STATUSES` (paid, partly
refunded), and also fully refunded orders, because a refund belongs to the day it was
made: an order of March refunded in April stays in March's gross sales and lowers
April's net sales. Leaving refunded orders out would change March after the fact and
take the same money off twice.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Date, Text, cast, func, literal_column
from sqlalchemy.orm import aliased

from tenants.orders.models import SALE_STATUSES, Order, PaymentStatus

COUNTED: tuple[str, ...] = tuple(str(s) for s in (*SALE_STATUSES, PaymentStatus.REFUNDED))
_ZONE_NAME = re.compile(r"[A-Za-z0-9_+\-/]{1,64}")


def zone_name(zone: ZoneInfo) -> ColumnElement[Any]:
    """The zone's IANA name as an SQL literal, not a bound value: a query grouping by the
    local day repeats the expression, and PostgreSQL only matches two expressions as the
    same if their text is (two bound values are two parameters)."""
    name = zone.key or "UTC"
    if not _ZONE_NAME.fullmatch(name):
        raise ValueError(f"not a time zone name: {name!r}")
    return literal_column(f"'{name}'")


def local_day(column: Any, zone: ZoneInfo) -> ColumnElement[Any]:
    """The calendar day of an aware timestamp in `zone` (`AT TIME ZONE`, then the date)."""
    return cast(func.timezone(zone_name(zone), column), Date)


def customer_key(orders: Any = Order) -> ColumnElement[str]:
    """Who bought an order: their customer row, else their email in any case."""
    return func.coalesce(cast(orders.customer_id, Text), func.lower(orders.email))


def counted(orders: Any = Order) -> ColumnElement[bool]:
    return orders.payment_status.in_(COUNTED)


def placed_between(start: datetime, end: datetime, orders: Any = Order) -> list[Any]:
    """Counted orders placed in [start, end)."""
    return [counted(orders), orders.placed_at >= start, orders.placed_at < end]


def earlier_orders() -> Any:
    """A second `orders` in a query, for "did this customer buy before?"."""
    return aliased(Order, name="earlier")
