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
    ARRAY,
    Date,
    Integer,
    any_,
    case,
    cast,
    exists,
    func,
    literal,
    literal_column,
    null,
    select,
)
from sqlalchemy.orm import aliased

from saas.db import db
from tenants.analytics import buyer_sets
from tenants.analytics.buyer_sets import BOUGHT
from tenants.analytics.ranges import DateRange
from tenants.analytics.sale_orders import (
    Sources,
    counted,
    customer_key,
    earlier_orders,
    local_day,
    rolled_rows,
    sources,
    zone_name,
)
from tenants.analytics.sales_models import (
    SalesBuyerKey,
    SalesDayBuyer,
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


def buyer_counts(src: Sources, *, returning: bool = True) -> tuple[int, int]:
    """Who bought in the range, and how many of them had bought before it (0 unless
    `returning`): from the buyer sets once the sales are rolled up (`buyer_sets`),
    else from the orders."""
    r = src.range
    if src.rolled:
        stale = buyer_sets.stale_days()
        bought = buyer_sets.tally(BOUGHT, r.start, r.end, src.zone, rolled=True, stale=stale).people
        if not returning or not len(bought):
            return len(bought), 0
        last = r.start - timedelta(days=1)
        before = buyer_sets.tally(BOUGHT, None, last, src.zone, rolled=True, stale=stale).people
        return len(bought), len(bought & before)
    keys = select(customer_key(src.orders.c).label("key")).distinct().subquery("keys")
    if not returning:
        return int(db.session.scalar(select(func.count()).select_from(keys)) or 0), 0
    start, _ = r.bounds(src.zone)
    earlier = earlier_orders()
    had_bought = exists().where(
        customer_key(earlier) == keys.c.key, counted(earlier), earlier.placed_at < start
    )
    row = db.session.execute(
        select(func.count(), func.count().filter(had_bought)).select_from(keys)
    ).one()
    return int(row[0]), int(row[1])


@dataclass(frozen=True)
class CustomerRow:
    customer_id: int | None  # None: orders by email only, with no customer row
    name: str
    email: str
    orders: int
    total_cents: int  # what their orders of the range came to, before later refunds


# Top customers first look among this many of the biggest spenders per row asked for.
POOL_PER_ROW = 20


def top_customers(r: DateRange, zone: ZoneInfo, limit: int | None = 10) -> list[CustomerRow]:
    """The customers who spent most in the range, with the name of their latest order
    when their customer row has none.

    On rolled-up days, first only among the biggest spenders of all time and the range's
    live buyers: nobody else can have spent more in the range than the least of those
    spenders did ever (`SalesBuyerKey.spent_cents`), so if the last row shown spent more
    than that, the list is exact. Over a long range it usually is; over a short one the
    whole range is grouped, which is cheap there."""
    src = sources(r, zone)
    if limit is not None and src.rolled:
        k = SalesBuyerKey
        pool = POOL_PER_ROW * limit
        spenders = db.session.execute(
            select(k.id, k.spent_cents).order_by(k.spent_cents.desc()).limit(pool)
        ).all()
        if len(spenders) == pool:
            rows = _top(src, limit, among=[number for number, _ in spenders])
            if len(rows) == limit and rows[-1].total_cents > spenders[-1].spent_cents:
                return rows
    return _top(src, limit)


def _top(src: Sources, limit: int | None, among: list[int] | None = None) -> list[CustomerRow]:
    """Top customers of `src`'s range; of `among` and the live buyers only, if given."""
    t = SalesDayBuyer
    found, live, number = _live(src)

    if among is not None:  # and the live buyers, as one array: index lookups, no scan
        numbered = select(number).select_from(found).where(number.is_not(None)).distinct()
        among = sorted({*among, *db.session.scalars(numbered)})
    chosen = cast(literal(among), ARRAY(Integer)) if among is not None else None

    def picked(m: Any, day: Any) -> Any:
        rows = select(day, m.buyer_id, m.orders, m.total_cents)
        return rows if chosen is None else rows.where(m.buyer_id == any_(chosen))

    # The clean days' rows added up by number (integers: the big grouping), joined
    # with the few live ones, by number where the rollup numbered the buyer.
    clean = rolled_rows(src, t, SalesMonthBuyer, picked).subquery("clean")
    rolled = (
        select(
            clean.c.buyer_id,
            func.sum(clean.c.orders).label("orders"),
            func.sum(clean.c.total_cents).label("total"),
        )
        .group_by(clean.c.buyer_id)
        .subquery("rolled")
    )
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
    buyers, _ = buyer_counts(sources(r, zone), returning=False)
    known = select(func.count()).select_from(Customer).where(Customer.created_at < end)
    valued = ProductVariant.inventory_tracked.is_(True), ProductVariant.cost_cents.is_not(None)
    stock = func.greatest(ProductVariant.inventory_quantity, 0) * ProductVariant.cost_cents
    value = select(func.sum(stock)).where(*valued)
    row = db.session.execute(select(known.scalar_subquery(), value.scalar_subquery())).one()
    customers, stock_value = int(row[0]), row[1]

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
