"""The pieces every sales report is built from: which orders count, in which local day
they fall, and who bought them.

An order counts from the moment money was taken: `SALE_STATUSES` (paid, partly
refunded), and also fully refunded orders, because a refund belongs to the day it was
made: an order of March refunded in April stays in March's gross sales and lowers
April's net sales. Leaving refunded orders out would change March after the fact and
take the same money off twice.

Where the figures come from (`sources`): once the shop's sales are rolled up by day in
the zone asked for (`tenants.analytics.sales_rollup`), a report adds up the rolled-up
rows of the range's clean days and computes only its stale days live from the orders;
otherwise (never rolled up, another zone) it computes the whole range live. Both go
through the same grouping code, so they cannot disagree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    TIMESTAMP,
    ColumnElement,
    Date,
    Text,
    and_,
    cast,
    false,
    func,
    literal_column,
    select,
    text,
    true,
    union_all,
)
from sqlalchemy.orm import aliased

from saas.db import db
from tenants.analytics.ranges import DateRange
from tenants.analytics.sales_models import SalesDirty, SalesRollup
from tenants.orders.models import SALE_STATUSES, Order, PaymentStatus, Refund

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


# --- where a report reads from -------------------------------------------------------


def on_days(column: Any, day: Any, zone: ZoneInfo) -> list[Any]:
    """`column` (an aware timestamp) falls on the local day `day` (an SQL date): the
    exact test, and a window around the day's UTC bounds that an index on `column` can
    range-scan (three hours wider each side: a day starting in a clock change's gap)."""
    name = zone_name(zone)
    start = func.timezone(name, cast(day, TIMESTAMP)) - text("interval '3 hours'")
    end = func.timezone(name, cast(day + 1, TIMESTAMP)) + text("interval '3 hours'")
    return [column >= start, column < end, local_day(column, zone) == day]


# The columns the reports read: a live subquery carries these only (not the whole row).
_ORDER_COLUMNS = (
    Order.id,
    Order.placed_at,
    Order.customer_id,
    Order.email,
    Order.customer_name,
    Order.subtotal_cents,
    Order.discount_cents,
    Order.shipping_cents,
    Order.tax_cents,
    Order.total_cents,
    Order.discount_code,
    Order.payment_method,
    Order.shipping_address,
)


def orders_on(days: Any, zone: ZoneInfo) -> Any:
    """The counted orders placed on the local days of `days` (a FROM with a `day`
    column), as a subquery of the columns reports read: one index range per day."""
    return (
        select(*_ORDER_COLUMNS)
        .join(days, and_(*on_days(Order.placed_at, days.c.day, zone)))
        .where(counted())
        .subquery("live_orders")
    )


def refunds_on(days: Any, zone: ZoneInfo) -> Any:
    """The refunds of counted orders made on the local days of `days`."""
    return (
        select(Refund.amount_cents, Refund.created_at)
        .join(Order, Order.id == Refund.order_id)
        .join(days, and_(*on_days(Refund.created_at, days.c.day, zone)))
        .where(counted())
        .subquery("live_refunds")
    )


def stale_days(first: date | None = None, last: date | None = None) -> Any:
    """The days marked stale, between `first` and `last` when given, as a subquery."""
    query = select(SalesDirty.day.label("day"))
    if first is not None:
        query = query.where(SalesDirty.day >= first)
    if last is not None:
        query = query.where(SalesDirty.day <= last)
    return query.subquery("stale")


def rolled_up_zone() -> str | None:
    """The zone the rollup's days are in; None while there is nothing to read there.

    Also turns JIT compilation off for the rest of the transaction (only: `set_config`
    with is_local): the reports' unions of small tables are estimated dear enough to
    trigger it, and compiling costs a hundred milliseconds where running takes ten."""
    no_jit = func.set_config("jit", "off", true())
    query = select(no_jit, SalesRollup.zone).where(SalesRollup.id == 1)
    row = db.session.execute(query).first()
    if row is None:
        db.session.execute(select(no_jit))
        return None
    return row[1]


def _months(r: DateRange) -> list[date]:
    """The calendar months wholly inside the range (their first days)."""
    first = r.start if r.start.day == 1 else next_month(r.start)
    months = []
    while next_month(first) - timedelta(days=1) <= r.end:
        months.append(first)
        first = next_month(first)
    return months


@dataclass(frozen=True)
class Sources:
    """A range's figures: `clean(day)` selects the rolled-up rows to add (none unless
    `rolled`), `orders`/`refunds` what to compute live (the stale days', or the whole
    range's), `everything()` the range's counted orders whatever the rollup holds.
    `months` are the range's whole calendar months (read from month rows when clean)."""

    range: DateRange
    zone: ZoneInfo
    rolled: bool
    orders: Any
    refunds: Any
    months: list[date]

    def clean(self, day: Any) -> list[Any]:
        if not self.rolled:
            return [false()]
        r = self.range
        return [day >= r.start, day <= r.end, day.not_in(select(SalesDirty.day))]

    def everything(self) -> Any:
        start, end = self.range.bounds(self.zone)
        return select(*_ORDER_COLUMNS).where(*placed_between(start, end)).subquery("all_orders")


def month_of(day: Any) -> Any:
    return cast(func.date_trunc("month", cast(day, TIMESTAMP)), Date)


def next_month(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def rolled_rows(src: Sources, days: Any, months: Any, rows: Any) -> Any:
    """The rolled-up rows of the range's clean days: from `months` (a model keyed by
    `month`) for each whole month of the range without a stale day, else from `days`
    (keyed by `day`). `rows(model, day column)` selects a model's rows, its day first."""
    if not src.months:
        return rows(days, days.day).where(*src.clean(days.day))
    first, after = src.months[0], next_month(src.months[-1])
    stale = (
        select(month_of(SalesDirty.day).label("month"))
        .where(SalesDirty.day >= first, SalesDirty.day < after)
        .distinct()
        .subquery("stale_months")
    )
    by_month = rows(months, months.month).where(
        months.month.in_(src.months), months.month.not_in(select(stale.c.month))
    )
    # Days before and after the whole months, and the days of a whole month with a
    # stale day: each an index range (a condition on the month of `day` is not).
    within_stale = (
        rows(days, days.day)
        .where(*src.clean(days.day))
        .join(
            stale,
            and_(days.day >= stale.c.month, days.day < stale.c.month + text("interval '1 month'")),
        )
    )
    return union_all(
        rows(days, days.day).where(*src.clean(days.day), days.day < first),
        rows(days, days.day).where(*src.clean(days.day), days.day >= after),
        within_stale,
        by_month,
    )


def sources(r: DateRange, zone: ZoneInfo) -> Sources:
    if rolled_up_zone() != (zone.key or "UTC"):
        start, end = r.bounds(zone)
        everything = select(*_ORDER_COLUMNS).where(*placed_between(start, end))
        refunds = (
            select(Refund.amount_cents, Refund.created_at)
            .join(Order, Order.id == Refund.order_id)
            .where(counted(), Refund.created_at >= start, Refund.created_at < end)
        )
        return Sources(
            r, zone, False, everything.subquery("live_orders"), refunds.subquery("live_refunds"), []
        )
    stale = stale_days(r.start, r.end)
    return Sources(r, zone, True, orders_on(stale, zone), refunds_on(stale, zone), _months(r))
