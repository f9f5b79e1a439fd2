"""Sales figures for a date range, from the shop's orders, aggregated in PostgreSQL.

Every function takes a `DateRange` (calendar days in the shop's time zone) and the zone,
and runs a few queries whatever the number of orders: which rollup there is, then one
statement that adds the range's rolled-up days (`sales_rollup`) to its stale days
computed live (`sale_orders.sources`), so both come from one snapshot. Which orders
count, and why fully refunded ones do, is in `sale_orders`. A sale belongs to the local
day its order was placed; a refund to the local day it was made (`Refund.created_at`).

Money: gross is the lines before discounts (`subtotal_cents`); net is gross less
discounts and less the refunds made in the range; total adds shipping and the taxes
that were added on top of prices (taxes included in prices are already in gross).

This module is the one the reports import: it re-exports the breakdowns (`breakdowns`)
and the customer and business figures (`buyers`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, Integer, cast, func, literal, select, union_all

from saas.db import db
from tenants.analytics.breakdowns import (
    Row,
    by_collection,
    by_country,
    by_discount_code,
    by_payment_method,
    by_product,
    by_variant,
)
from tenants.analytics.buyers import (
    Business,
    CustomerRow,
    business,
    buyer_counts,
    top_customers,
)
from tenants.analytics.ranges import DateRange
from tenants.analytics.sale_orders import Sources, local_day, sources
from tenants.analytics.sales_models import SalesDay

__all__ = [
    "Business",
    "CustomerRow",
    "DaySales",
    "Row",
    "SalesSummary",
    "business",
    "by_collection",
    "by_country",
    "by_discount_code",
    "by_payment_method",
    "by_product",
    "by_variant",
    "daily",
    "summary",
    "top_customers",
]


def _sum(column: Any) -> Any:
    return func.coalesce(func.sum(column), 0)


def day_rows(orders: Any, refunds: Any, zone: ZoneInfo) -> Any:
    """`orders` (counted) and `refunds` (of counted orders), `sale_orders` subqueries,
    grouped by local day, with the columns of `SalesDay`."""
    sales = select(
        local_day(orders.c.placed_at, zone).label("day"),
        literal(1).label("orders"),
        orders.c.subtotal_cents.label("gross"),
        orders.c.discount_cents.label("discount"),
        orders.c.shipping_cents.label("shipping"),
        orders.c.tax_cents.label("tax"),
        orders.c.total_cents.label("total"),
        literal(0).label("refund"),
    )
    made = select(
        local_day(refunds.c.created_at, zone),
        literal(0),
        literal(0),
        literal(0),
        literal(0),
        literal(0),
        literal(0),
        refunds.c.amount_cents,
    )
    both = union_all(sales, made).subquery("both")
    return select(
        both.c.day,
        cast(_sum(both.c.orders), Integer).label("orders"),
        *(
            cast(_sum(both.c[name]), BigInteger).label(f"{column}_cents")
            for name, column in (
                ("gross", "gross"),
                ("discount", "discounts"),
                ("shipping", "shipping"),
                ("tax", "taxes"),
                ("total", "totals"),
                ("refund", "refunds"),
            )
        ),
    ).group_by(both.c.day)


_DAY_COLUMNS = (
    "orders",
    *(f"{n}_cents" for n in ("gross", "discounts", "shipping", "taxes", "totals", "refunds")),
)


def _days(src: Sources) -> Any:
    """The range's day rows: the clean days' from the rollup, the rest live."""
    rolled = select(SalesDay.day, *(SalesDay.__table__.c[c] for c in _DAY_COLUMNS)).where(
        *src.clean(SalesDay.day)
    )
    return union_all(rolled, day_rows(src.orders, src.refunds, src.zone)).subquery("days")


# --- the range's totals -----------------------------------------------------------------


@dataclass(frozen=True)
class SalesSummary:
    orders: int
    gross_cents: int  # lines before discounts
    discounts_cents: int
    refunds_cents: int  # refunds made in the range, whenever their order was placed
    net_cents: int  # gross - discounts - refunds
    shipping_cents: int
    taxes_cents: int  # every tax, included in prices or added to them
    total_cents: int  # net + shipping + the taxes added on top of prices
    average_order_cents: int  # the orders' totals / orders, before refunds
    customers: int  # who bought in the range (an account, else an email)
    new_customers: int  # whose first order ever is in the range
    returning_customers: int  # who had bought before the range
    returning_rate: float | None  # returning / customers; None without customers


def summary(r: DateRange, zone: ZoneInfo, *, buyers: bool = True) -> SalesSummary:
    """The range's sales and refunds (one query), and its buyers (`buyer_counts`; all
    zero unless `buyers`: a page that shows none need not count them)."""
    src = sources(r, zone)
    days = _days(src)
    sums = select(*(_sum(days.c[c]).label(c) for c in _DAY_COLUMNS))
    orders, gross, discounts, shipping, taxes, totals, refunded = map(
        int, db.session.execute(sums).one()
    )
    customers, back = buyer_counts(src) if buyers else (0, 0)
    net = gross - discounts - refunded
    return SalesSummary(
        orders=orders,
        gross_cents=gross,
        discounts_cents=discounts,
        refunds_cents=refunded,
        net_cents=net,
        shipping_cents=shipping,
        taxes_cents=taxes,
        total_cents=totals - refunded,
        average_order_cents=totals // orders if orders else 0,
        customers=customers,
        new_customers=customers - back,
        returning_customers=back,
        returning_rate=back / customers if customers else None,
    )


@dataclass(frozen=True)
class DaySales:
    day: date
    orders: int
    gross_cents: int
    net_cents: int
    total_cents: int


def daily(r: DateRange, zone: ZoneInfo) -> list[DaySales]:
    """Each day of the range, oldest first, zeros where nothing was sold (one query)."""
    days = _days(sources(r, zone))
    rows = db.session.execute(
        select(
            days.c.day,
            _sum(days.c.orders),
            _sum(days.c.gross_cents),
            _sum(days.c.discounts_cents),
            _sum(days.c.totals_cents),
            _sum(days.c.refunds_cents),
        ).group_by(days.c.day)
    ).all()
    by_day = {day: tuple(map(int, figures)) for day, *figures in rows}
    days_out = []
    for n in range(r.days):  # the range's days, not its orders
        day = r.start + timedelta(days=n)
        orders, gross, discount, total, refund = by_day.get(day, (0, 0, 0, 0, 0))
        days_out.append(DaySales(day, orders, gross, gross - discount - refund, total - refund))
    return days_out
