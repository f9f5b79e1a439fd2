"""Who bought in a date range, and the figures a merchant grows the business by: active
and paying customers, products added each week, the stock's value at cost.

`sales` re-exports these; the rules of which orders count are in `sale_orders`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, case, cast, distinct, func, select
from sqlalchemy.dialects.postgresql import aggregate_order_by, array_agg

from saas.db import db
from tenants.analytics.ranges import DateRange
from tenants.analytics.sale_orders import customer_key, placed_between, zone_name
from tenants.catalog.models import Product, ProductVariant
from tenants.customers.models import Customer
from tenants.orders.models import Order


@dataclass(frozen=True)
class CustomerRow:
    customer_id: int | None  # None: orders by email only, with no customer row
    name: str
    email: str
    orders: int
    total_cents: int  # what their orders of the range came to, before later refunds


def top_customers(r: DateRange, zone: ZoneInfo, limit: int | None = 10) -> list[CustomerRow]:
    """The customers who spent most in the range, with the name of their latest order
    when their customer row has none."""
    start, end = r.bounds(zone)
    email = func.lower(Order.email)
    names = array_agg(aggregate_order_by(Order.customer_name, Order.placed_at.desc()))
    spent = (
        select(
            Order.customer_id,
            func.max(email).label("email"),
            names[1].label("name"),
            func.count().label("orders"),
            func.sum(Order.total_cents).label("total"),
        )
        .where(*placed_between(start, end))
        .group_by(Order.customer_id, case((Order.customer_id.is_(None), email)))
        .subquery("spent")
    )
    label = func.coalesce(func.nullif(Customer.name, ""), spent.c.name, "")
    address = func.coalesce(Customer.email, spent.c.email)
    query = (
        select(spent.c.customer_id, label, address, spent.c.orders, spent.c.total)
        .select_from(spent.outerjoin(Customer, Customer.id == spent.c.customer_id))
        .order_by(spent.c.total.desc(), spent.c.orders.desc(), address)
        .limit(limit)
    )
    return [
        CustomerRow(customer_id, name, email, int(orders), int(total))
        for customer_id, name, email, orders, total in db.session.execute(query).all()
    ]


@dataclass(frozen=True)
class Business:
    active_customers: int  # who bought in the range (visits join them with traffic)
    paying_ratio: float | None  # active / customer rows (accounts and guests) at the end
    products_added: list[tuple[date, int]]  # (Monday of each ISO week of the range, count)
    inventory_value_cents: int | None  # tracked stock x cost, today; None: no cost known


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def business(r: DateRange, zone: ZoneInfo) -> Business:
    """Two queries: the counts and the stock value, then products added per week.

    The stock value is today's (stock has no history): variants whose stock is tracked
    and whose cost is known, stock below zero counted as none."""
    start, end = r.bounds(zone)
    active = select(func.count(distinct(customer_key()))).where(*placed_between(start, end))
    known = select(func.count()).select_from(Customer).where(Customer.created_at < end)
    valued = ProductVariant.inventory_tracked.is_(True), ProductVariant.cost_cents.is_not(None)
    stock = func.greatest(ProductVariant.inventory_quantity, 0) * ProductVariant.cost_cents
    value = select(func.sum(stock)).where(*valued)
    row = db.session.execute(
        select(active.scalar_subquery(), known.scalar_subquery(), value.scalar_subquery())
    ).one()
    buyers, customers, stock_value = int(row[0]), int(row[1]), row[2]

    week = cast(func.date_trunc("week", func.timezone(zone_name(zone), Product.created_at)), Date)
    rows = db.session.execute(
        select(week, func.count())
        .where(Product.created_at >= start, Product.created_at < end)
        .group_by(week)
    ).all()
    added: dict[Any, int] = {monday: int(count) for monday, count in rows}
    weeks, monday = [], _monday(r.start)
    while monday <= r.end:  # the range's weeks, not its products
        weeks.append((monday, int(added.get(monday, 0))))
        monday += timedelta(days=7)
    return Business(
        active_customers=buyers,
        paying_ratio=buyers / customers if customers else None,
        products_added=weeks,
        inventory_value_cents=None if stock_value is None else int(stock_value),
    )
