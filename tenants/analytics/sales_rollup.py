"""Roll the shop's sales up by local day (`sales_models`), so that a report over a year
adds up 365 stored days instead of regrouping 100,000 orders.

The triggers of t0013 mark the days an order, line or refund change touches as stale
(`analytics_sales_dirty`); `roll_up_sales` takes them (DELETE ... RETURNING: an order
written meanwhile that marks one of them again waits for this transaction, then marks
it afresh) and recomputes each one's rows from the orders with set-based INSERT ...
SELECT, through the very grouping code the reports use live (`sales.day_rows`,
`breakdowns.item_rows`, `buyers.buyer_rows`): delete the day's rows, insert them again,
so a rerun changes nothing. The months of those days are added up again (`SalesMonth*`),
new buyers get a number, and the days' and months' sets of buyers and active customers
are built again (`buyer_sets`).

The rows are in the shop's zone at the time. When it differs from the rollup's (or there
is none yet: a new or just-migrated shop), everything is rebuilt: all rows dropped,
every day with an order or a refund marked. Until then the reports read the orders
live, which is right, only slower.

Runs in the caller's transaction (services flush; the caller commits), from
`rollup.roll_up`: the sweep (`flask tenants sweep`) and its RQ job. Two runs at once
queue on the rollup's row.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ARRAY,
    Date,
    Integer,
    and_,
    any_,
    cast,
    delete,
    func,
    literal,
    select,
    union,
    update,
)
from sqlalchemy.dialects.postgresql import insert

from saas.db import db
from saas.tenancy import current_tenant
from tenants.analytics import breakdowns, buyer_sets, buyers, sales
from tenants.analytics.models import AnalyticsCustomerDay
from tenants.analytics.sale_orders import local_day, month_of, orders_on, refunds_on
from tenants.analytics.sales_models import (
    SalesBuyerKey,
    SalesBuyerSet,
    SalesCollectionMember,
    SalesDay,
    SalesDayBuyer,
    SalesDayItem,
    SalesDirty,
    SalesMonthBuyer,
    SalesMonthItem,
    SalesRollup,
)
from tenants.orders.models import Order, Refund
from tenants.settings.services import get_settings, shop_zone

_ROWS = (SalesDay, SalesDayItem, SalesDayBuyer)


def _state(lock: Literal["update", "no key update"]) -> Any:
    """The rollup's row, locked (`FOR NO KEY UPDATE` queues rollups without holding up
    the triggers' `FOR KEY SHARE`; `FOR UPDATE` holds them up too)."""
    db.session.execute(
        insert(SalesRollup).values(id=1).on_conflict_do_nothing(index_elements=["id"])
    )
    query = select(SalesRollup.zone).where(SalesRollup.id == 1)
    query = query.with_for_update(key_share=lock != "update")
    return db.session.execute(query).scalar()


def mark_all_dirty() -> None:
    """Every day stale: after the shop's time zone changed, each order may fall on
    another day. Forgets the rollup's zone, so reports read everything live from now on
    (in this transaction already) and the next rollup rebuilds it all; the triggers mark
    nothing meanwhile. Waits for orders being written: they marked in the old zone."""
    _state("update")
    db.session.execute(update(SalesRollup).where(SalesRollup.id == 1).values(zone=None))
    db.session.execute(delete(SalesDirty))
    db.session.flush()


def _rebuild(zone: ZoneInfo) -> None:
    """Drop every row and mark every day with an order or a refund, in `zone`, with the
    triggers held up until this commits (no order can slip in unmarked)."""
    _state("update")
    derived = (SalesMonthItem, SalesMonthBuyer, SalesBuyerSet, SalesCollectionMember)
    for model in (*_ROWS, *derived, SalesDirty):
        db.session.execute(delete(model))
    days = union(
        select(local_day(Order.placed_at, zone)),
        select(local_day(Refund.created_at, zone)),
        select(AnalyticsCustomerDay.day),  # active customers who only browsed
    )
    db.session.execute(insert(SalesDirty).from_select(["day"], days))
    db.session.execute(
        update(SalesRollup).where(SalesRollup.id == 1).values(zone=zone.key or "UTC")
    )


def _days_table(days: list[date]) -> Any:
    return select(func.unnest(cast(literal(days), ARRAY(Date))).label("day")).subquery("days")


def _insert(model: Any, query: Any) -> None:
    columns = [c.name for c in query.selected_columns]
    db.session.execute(insert(model).from_select(columns, query))


def _roll_days(days: list[date], zone: ZoneInfo, members: Any) -> None:
    """Replace the rows of `days` with the orders' figures now."""
    buyers_then = _buyers_on(days)
    for model in _ROWS:
        where = [model.day.in_(days)]
        if model is SalesDayItem:  # the key's first column
            where.append(SalesDayItem.dimension.in_(breakdowns.DIMENSIONS))
        db.session.execute(delete(model).where(*where))
    on = _days_table(days)
    orders, refunds = orders_on(on, zone), refunds_on(on, zone)
    _insert(SalesDay, sales.day_rows(orders, refunds, zone))
    for dimension in breakdowns.DIMENSIONS:
        rows = breakdowns.item_rows(dimension, orders, zone, members)
        _insert(SalesDayItem, rows.add_columns(literal(dimension).label("dimension")))
    bought = buyers.buyer_rows(orders, zone).subquery("bought")
    new = select(bought.c.key, func.max(bought.c.customer_id)).group_by(bought.c.key)
    numbers = insert(SalesBuyerKey).from_select(["key", "customer_id"], new)
    db.session.execute(numbers.on_conflict_do_nothing(index_elements=["key"]))
    number = SalesBuyerKey
    _insert(
        SalesDayBuyer,
        select(
            bought.c.day,
            number.id.label("buyer_id"),
            bought.c.latest,
            bought.c.orders,
            bought.c.total_cents,
        ).join(number, number.key == bought.c.key),
    )
    buyer_sets.roll_up(days)
    _spent(buyers_then | _buyers_on(days))
    months = sorted({day.replace(day=1) for day in days})
    _roll_months(months)
    _roll_buyer_months(months)


def _buyers_on(days: list[date]) -> set[int]:
    d = SalesDayBuyer
    return set(db.session.scalars(select(d.buyer_id).where(d.day.in_(days)).distinct()))


def _spent(buyers: set[int]) -> None:
    """What each of `buyers` spent on every rolled-up day (`SalesBuyerKey.spent_cents`)."""
    if not buyers:
        return
    d, k = SalesDayBuyer, SalesBuyerKey
    total = select(func.coalesce(func.sum(d.total_cents), 0)).where(d.buyer_id == k.id)
    ids = cast(literal(sorted(buyers)), ARRAY(Integer))
    db.session.execute(
        update(k).where(k.id == any_(ids)).values(spent_cents=total.scalar_subquery())
    )


def _roll_buyer_months(months: list[date]) -> None:
    m, d = SalesMonthBuyer, SalesDayBuyer
    db.session.execute(delete(m).where(m.month.in_(months)))
    month = month_of(d.day)
    again = (
        select(
            month.label("month"),
            d.buyer_id,
            func.sum(d.orders).label("orders"),
            func.sum(d.total_cents).label("total_cents"),
        )
        .where(d.day >= months[0], d.day < months[-1] + timedelta(days=31), month.in_(months))
        .group_by(month, d.buyer_id)
    )
    _insert(SalesMonthBuyer, again)


def _roll_months(months: list[date], where: Any = None) -> None:
    """Add up the day rows of `months` again (all of them, or those `where` selects)."""
    m, d = SalesMonthItem, SalesDayItem
    gone = delete(m).where(m.month.in_(months), m.dimension.in_(breakdowns.DIMENSIONS))
    month = month_of(d.day)
    again = (
        select(
            d.dimension,
            month.label("month"),
            d.key,
            func.max(d.ref_id).label("ref_id"),
            func.max(d.product_id).label("product_id"),
            func.max(d.title).label("title"),
            func.max(d.subtitle).label("subtitle"),
            func.sum(d.orders).label("orders"),
            func.sum(d.units).label("units"),
            func.sum(d.revenue_cents).label("revenue_cents"),
            func.sum(d.discount_cents).label("discount_cents"),
        )
        .where(
            d.dimension.in_(breakdowns.DIMENSIONS),
            d.day >= months[0],
            d.day < months[-1] + timedelta(days=31),
            month.in_(months),
        )
        .group_by(d.dimension, month, d.key)
    )
    if where is not None:
        gone, again = gone.where(where(m)), again.where(where(d))
    db.session.execute(gone)
    _insert(SalesMonthItem, again)


def _recount_collections(members: Any, keep: list[date], zone: ZoneInfo) -> None:
    """Collections whose membership changed since their rows were counted: their rows
    again on every rolled-up day but `keep` (being rolled up anyway), with the members
    of now, and those members recorded."""
    changed = breakdowns.changed_collections(members)
    if not changed:
        return
    m = SalesCollectionMember
    db.session.execute(delete(m).where(m.collection_id.in_(changed)))
    now = select(members.c.collection_id, members.c.product_id).where(
        members.c.collection_id.in_(changed)
    )
    db.session.execute(insert(m).from_select(["collection_id", "product_id"], now))
    items = SalesDayItem
    for rows_of in (items, SalesMonthItem):
        db.session.execute(
            delete(rows_of).where(rows_of.dimension == "collection", rows_of.ref_id.in_(changed))
        )
    days = list(db.session.scalars(select(SalesDay.day).where(SalesDay.day.not_in(keep))))
    if not days:
        return
    subset = select(members).where(members.c.collection_id.in_(changed)).subquery()
    rows = breakdowns.item_rows("collection", orders_on(_days_table(days), zone), zone, subset)
    _insert(SalesDayItem, rows.add_columns(literal("collection").label("dimension")))
    months = sorted({day.replace(day=1) for day in days})
    _roll_months(months, lambda t: and_(t.dimension == "collection", t.ref_id.in_(changed)))


def roll_up_sales(tenant_id: int) -> int:
    """Recompute the shop's stale days (all of them after a change of zone); the number
    of days recomputed. (`tenant_id` is the shop the job was queued for.)"""
    if current_tenant.id != tenant_id:
        raise RuntimeError(f"roll_up_sales({tenant_id}) run in shop {current_tenant.id}")
    zone = shop_zone(get_settings())
    if _state("no key update") != (zone.key or "UTC"):
        _rebuild(zone)
    days = sorted(db.session.scalars(delete(SalesDirty).returning(SalesDirty.day)))
    members = breakdowns.memberships()
    _recount_collections(members, days, zone)
    if days:
        _roll_days(days, zone, members)
        db.session.execute(
            update(SalesRollup).where(SalesRollup.id == 1).values(rolled_up_at=datetime.now(UTC))
        )
    db.session.flush()
    return len(days)
