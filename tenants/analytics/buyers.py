"""Who bought in a date range, and the figures a merchant grows the business by: active
and paying customers, products added each week, the stock's value at cost.

`sales` re-exports these; the rules of which orders count are in `sale_orders`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Date,
    Integer,
    case,
    cast,
    exists,
    false,
    func,
    literal_column,
    null,
    or_,
    select,
    true,
    union,
)
from sqlalchemy.orm import aliased

from saas.db import db
from tenants.analytics.ranges import DateRange
from tenants.analytics.sale_orders import (
    Sources,
    counted,
    customer_key,
    earlier_orders,
    local_day,
    orders_on,
    rolled_rows,
    sources,
    stale_days,
    zone_name,
)
from tenants.analytics.sales_models import (
    SalesBuyerFirst,
    SalesBuyerKey,
    SalesDayBuyer,
    SalesDirty,
    SalesMonthBuyer,
)
from tenants.catalog.models import Product, ProductVariant
from tenants.customers.models import Customer


def _latest(placed_at: Any, name: Any) -> Any:
    """An order's time (UTC, fixed width) then its name: the `max` of these over some
    orders is the latest one's, with no sort (top customers show that name)."""
    at = func.to_char(func.timezone(literal_column("'UTC'"), placed_at), "YYYYMMDDHH24MISSUS")
    return (at + name).collate("C")


def buyer_rows(orders: Any, zone: ZoneInfo) -> Any:
    """`orders` (counted, a `sale_orders` subquery) grouped by local day and buyer
    (`customer_key`): day, key, customer_id, latest, orders, total_cents."""
    key = customer_key(orders.c)
    day = local_day(orders.c.placed_at, zone)
    return select(
        day.label("day"),
        key.label("key"),
        func.max(orders.c.customer_id).label("customer_id"),
        func.max(_latest(orders.c.placed_at, orders.c.customer_name)).label("latest"),
        cast(func.count(), Integer).label("orders"),
        cast(func.sum(orders.c.total_cents), Integer).label("total_cents"),
    ).group_by(day, key)


def _live(src: Sources) -> tuple[Any, Any, Any]:
    """The live (day, buyer) rows, numbered where the rollup numbered the buyer: what
    to select them from, the rows, and their buyer's number (NULL: a buyer the rollup
    never saw)."""
    live = buyer_rows(src.orders, src.zone).subquery("live_buyers")
    if not src.rolled:
        return live, live, cast(null(), Integer)
    number = aliased(SalesBuyerKey, name="live_number")
    return live.outerjoin(number, number.key == live.c.key), live, number.id


def buyer_counts(src: Sources, *, returning: bool = True) -> Any:
    """One row (customers, returning) of the range: who bought in it, and how many of
    them had bought before it (left out unless `returning`).

    The buyers are the numbers of those on its clean days (by number: an integer set)
    and of the live ones, plus the live ones the rollup never numbered, by key."""
    r = src.range
    t = SalesDayBuyer
    found, live, number = _live(src)
    clean = rolled_rows(src, t, SalesMonthBuyer, lambda m, day: select(day, m.buyer_id))
    clean_numbers = clean.subquery("clean")
    numbered = union(
        select(clean_numbers.c.buyer_id),
        select(number).select_from(found).where(number.is_not(None)),
    ).subquery("numbered")
    fresh = select(live.c.key).select_from(found).where(number.is_(None)).distinct()
    fresh_keys = fresh.subquery("fresh")
    if not returning:
        total = select(func.count()).select_from(numbered).scalar_subquery() + (
            select(func.count()).select_from(fresh_keys).scalar_subquery()
        )
        return select(total.label("customers"))
    if not src.rolled:
        start, _ = r.bounds(src.zone)
        earlier = earlier_orders()
        before: Any = exists().where(
            customer_key(earlier) == fresh_keys.c.key,
            counted(earlier),
            earlier.placed_at < start,
        )
        return select(
            func.count().label("customers"), func.count().filter(before).label("returning")
        ).select_from(fresh_keys)
    # Bought before the range: on a clean day before it -- their first rolled-up day,
    # unless that day is stale (then any other clean day) -- or, live, on a stale one.
    first = SalesBuyerFirst
    stale = select(SalesDirty.day)
    other_clean_day = exists().where(
        t.buyer_id == numbered.c.buyer_id, t.day < r.start, t.day.not_in(stale)
    )
    clean_before = case(
        (first.first_day.is_(None) | (first.first_day >= r.start), false()),
        (first.first_day.not_in(stale), true()),
        else_=other_clean_day,
    )
    earlier = orders_on(stale_days(last=r.start - timedelta(days=1)), src.zone)
    earlier_keys = select(customer_key(earlier.c))
    earlier_numbers = select(SalesBuyerKey.id).where(SalesBuyerKey.key.in_(earlier_keys))
    before = or_(clean_before, numbered.c.buyer_id.in_(earlier_numbers))
    by_number = (
        select(func.count().label("n"), func.count().filter(before).label("back"))
        .select_from(numbered.outerjoin(first, first.buyer_id == numbered.c.buyer_id))
        .subquery("by_number")
    )
    by_key = (
        select(
            func.count().label("n"),
            func.count().filter(fresh_keys.c.key.in_(earlier_keys)).label("back"),
        )
        .select_from(fresh_keys)
        .subquery("by_key")
    )
    return select(
        (by_number.c.n + by_key.c.n).label("customers"),
        (by_number.c.back + by_key.c.back).label("returning"),
    ).select_from(by_number.join(by_key, true()))


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
    src = sources(r, zone)
    t = SalesDayBuyer
    # The clean days' rows added up by number (integers: the big grouping), joined
    # with the few live ones, by number where the rollup numbered the buyer.
    clean = rolled_rows(
        src, t, SalesMonthBuyer, lambda m, day: select(day, m.buyer_id, m.orders, m.total_cents)
    ).subquery("clean")
    rolled = (
        select(
            clean.c.buyer_id,
            func.sum(clean.c.orders).label("orders"),
            func.sum(clean.c.total_cents).label("total"),
        )
        .group_by(clean.c.buyer_id)
        .subquery("rolled")
    )
    found, live, number = _live(src)
    fresh = (
        select(
            number.label("buyer_id"),
            func.max(live.c.key).label("key"),
            func.max(live.c.customer_id).label("customer_id"),
            func.max(live.c.latest).label("latest"),
            func.sum(live.c.orders).label("orders"),
            func.sum(live.c.total_cents).label("total"),
        )
        .select_from(found)
        .group_by(number, case((number.is_(None), live.c.key)))
        .subquery("fresh")
    )
    both = rolled.join(fresh, rolled.c.buyer_id == fresh.c.buyer_id, full=True)
    orders = func.coalesce(rolled.c.orders, 0) + func.coalesce(fresh.c.orders, 0)
    total = func.coalesce(rolled.c.total, 0) + func.coalesce(fresh.c.total, 0)
    spent = select(
        func.coalesce(rolled.c.buyer_id, fresh.c.buyer_id).label("buyer_id"),
        case((fresh.c.buyer_id.is_(None), fresh.c.key)).label("key"),
        fresh.c.customer_id.label("live_customer_id"),
        fresh.c.latest,
        orders.label("orders"),
        total.label("total"),
    ).select_from(both)
    if limit is not None:
        # Only the top `limit` by money and orders (and whoever ties with the last of
        # them) need their customer row and address, which break the ties.
        rank = func.rank().over(order_by=(total.desc(), orders.desc()))
        ranked = spent.add_columns(rank.label("rank")).subquery("ranked")
        spent_rows = select(ranked).where(ranked.c.rank <= limit).subquery("spent")
    else:
        spent_rows = spent.subquery("spent")
    key = func.coalesce(SalesBuyerKey.key, spent_rows.c.key)
    customer_id = func.coalesce(SalesBuyerKey.customer_id, spent_rows.c.live_customer_id)
    rolled_latest = (
        select(func.max(t.latest))
        .where(t.buyer_id == spent_rows.c.buyer_id, *src.clean(t.day))
        .scalar_subquery()
    )
    latest = func.greatest(spent_rows.c.latest, rolled_latest)  # (NULLs ignored)
    label = func.coalesce(func.nullif(Customer.name, ""), func.substr(latest, 21), "")
    # A buyer without an account is their email in lower case: the key itself.
    address = func.coalesce(Customer.email, key)
    query = (
        select(customer_id, label, address, spent_rows.c.orders, spent_rows.c.total)
        .select_from(
            spent_rows.outerjoin(
                SalesBuyerKey, SalesBuyerKey.id == spent_rows.c.buyer_id
            ).outerjoin(Customer, Customer.id == customer_id)
        )
        .order_by(spent_rows.c.total.desc(), spent_rows.c.orders.desc(), address)
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
    active = buyer_counts(sources(r, zone), returning=False).subquery("buyer_counts")
    known = select(func.count()).select_from(Customer).where(Customer.created_at < end)
    valued = ProductVariant.inventory_tracked.is_(True), ProductVariant.cost_cents.is_not(None)
    stock = func.greatest(ProductVariant.inventory_quantity, 0) * ProductVariant.cost_cents
    value = select(func.sum(stock)).where(*valued)
    row = db.session.execute(select(active, known.scalar_subquery(), value.scalar_subquery())).one()
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
