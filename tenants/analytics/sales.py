"""Sales figures for a date range, from the shop's orders, aggregated in PostgreSQL.

Every function takes a `DateRange` (calendar days in the shop's time zone) and the zone,
and runs one or two queries whatever the number of orders. Which orders count, and why
fully refunded ones do, is in `sale_orders`. A sale belongs to the local day its order
was placed; a refund to the local day it was made (`Refund.created_at`).

Money: gross is the lines before discounts (`subtotal_cents`); net is gross less
discounts and less the refunds made in the range; total adds shipping and the taxes
that were added on top of prices (taxes included in prices are already in gross).

This module is the one the reports import: it re-exports the breakdowns (`breakdowns`)
and the customer and business figures (`buyers`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    exists,
    func,
    literal,
    select,
    union_all,
)

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
    top_customers,
)
from tenants.analytics.ranges import DateRange
from tenants.analytics.sale_orders import (
    counted,
    customer_key,
    earlier_orders,
    local_day,
    placed_between,
)
from tenants.orders.models import Order, Refund

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


def _refunds_between(start: datetime, end: datetime) -> Any:
    """Refunds made in [start, end), of orders that count as sales."""
    return (
        select(Refund.amount_cents, Refund.created_at)
        .join(Order, Order.id == Refund.order_id)
        .where(counted(), Refund.created_at >= start, Refund.created_at < end)
    )


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


def summary(r: DateRange, zone: ZoneInfo) -> SalesSummary:
    """The range's sales, refunds and buyers, in one query."""
    start, end = r.bounds(zone)
    sale = (
        select(
            customer_key().label("key"),
            Order.subtotal_cents,
            Order.discount_cents,
            Order.shipping_cents,
            Order.tax_cents,
            Order.total_cents,
        )
        .where(*placed_between(start, end))
        .cte("sale")
    )
    buyers = select(sale.c.key).distinct().subquery("buyers")
    earlier = earlier_orders()
    bought_before = exists().where(
        customer_key(earlier) == buyers.c.key, counted(earlier), earlier.placed_at < start
    )
    returning = select(func.count()).select_from(buyers).where(bought_before)
    refunds = _refunds_between(start, end).subquery("refunds")
    row = db.session.execute(
        select(
            func.count(),
            _sum(sale.c.subtotal_cents),
            _sum(sale.c.discount_cents),
            _sum(sale.c.shipping_cents),
            _sum(sale.c.tax_cents),
            _sum(sale.c.total_cents),
            select(func.count()).select_from(buyers).scalar_subquery(),
            returning.scalar_subquery(),
            select(_sum(refunds.c.amount_cents)).scalar_subquery(),
        ).select_from(sale)
    ).one()
    orders, gross, discounts, shipping, taxes, totals, customers, back, refunded = map(int, row)
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
    start, end = r.bounds(zone)
    sales = select(
        local_day(Order.placed_at, zone).label("day"),
        literal(1).label("orders"),
        Order.subtotal_cents.label("gross"),
        Order.discount_cents.label("discount"),
        Order.total_cents.label("total"),
        literal(0).label("refund"),
    ).where(*placed_between(start, end))
    refunds = (
        _refunds_between(start, end)
        .with_only_columns(
            local_day(Refund.created_at, zone),
            literal(0),
            literal(0),
            literal(0),
            literal(0),
            Refund.amount_cents,
        )
        .subquery()
    )
    both = union_all(sales, select(*refunds.c)).subquery("both")
    rows = db.session.execute(
        select(
            both.c.day,
            _sum(both.c.orders),
            _sum(both.c.gross),
            _sum(both.c.discount),
            _sum(both.c.total),
            _sum(both.c.refund),
        ).group_by(both.c.day)
    ).all()
    by_day = {day: tuple(map(int, figures)) for day, *figures in rows}
    days = []
    for n in range(r.days):  # the range's days, not its orders
        day = r.start + timedelta(days=n)
        orders, gross, discount, total, refund = by_day.get(day, (0, 0, 0, 0, 0))
        days.append(DaySales(day, orders, gross, gross - discount - refund, total - refund))
    return days
