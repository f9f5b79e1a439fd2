"""Platform-wide sales figures for the operator: GMV and orders per day, active shops,
top shops by GMV, from every counted shop's own `orders` table.

The console may not import `tenants` (import-linter), so the few facts it needs about a
shop's orders are copied here, with a test (tests/console/test_figures.py) that fails
when they drift from `tenants.orders.models`.

All orders of every shop are read by one statement: a UNION ALL, one branch per shop
schema, each already aggregated by shop, day and currency, so the result has at most
shops x 60 days x currencies rows whatever the number of orders. It runs on its own
connection in one REPEATABLE READ, read-only snapshot (as `actions.write_export`
reads a shop): every shop is seen at the same instant, and the request's unit of work
is not involved.

Definitions:
* GMV: `total_cents` (what the buyer paid: goods, shipping and taxes, after
  discounts) of orders that took money, `SALE_STATUSES`, before refunds; per currency,
  never added across currencies.
* A day is a calendar day in UTC: shops keep their own time zones, the platform has one
  clock. The period is the last `PERIOD_DAYS` days, today included, compared with the
  `PERIOD_DAYS` days before.
* Counted shops: active and suspended ones (a suspension closes the storefront later;
  the sales it made happened). Deleted shops are left out (their data is on its way
  out, and a purged shop has no schema), as are shops still being provisioned.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    Date,
    Select,
    Text,
    and_,
    bindparam,
    cast,
    column,
    func,
    literal,
    literal_column,
    select,
    table,
    union_all,
)
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import BindParameter

from saas.db import checked_schema, db, schema_for
from saas.models import Tenant, TenantStatus
from saas.spreadsheet import csv_line

# `tenants.orders.models.SALE_STATUSES`, copied (the console cannot import `tenants`):
# orders for which money was taken, paid or partly refunded.
SALE_STATUSES: tuple[str, ...] = ("paid", "partially_refunded")
COUNTED_SHOP_STATUSES: tuple[str, ...] = (TenantStatus.ACTIVE, TenantStatus.SUSPENDED)
PERIOD_DAYS = 30
TOP_SHOPS = 10

# The columns of a shop's `orders` this module reads (lightweight: no tenant model).
_ORDER_COLUMNS = ("placed_at", "payment_status", "currency", "total_cents")


@dataclass(frozen=True)
class CurrencyTotal:
    currency: str
    gmv_cents: int
    orders: int
    shops: int  # shops with at least one order in this currency


@dataclass(frozen=True)
class ShopTotal:
    tenant_id: int
    slug: str
    name: str
    currency: str
    gmv_cents: int
    orders: int


@dataclass
class PlatformFigures:
    """Both periods' days, and what the page and the CSV show of them."""

    days: list[date]  # the period, oldest first (today last)
    previous_days: list[date]  # the comparison period, oldest first
    currencies: list[CurrencyTotal]  # this period: the main currency, then most GMV first
    previous_currencies: list[CurrencyTotal]
    main_currency: str | None  # the currency with the most orders this period
    top_shops: list[ShopTotal]  # in the main currency, most GMV first
    launched_active: int  # shops active and launched now
    shops_with_orders: int  # counted shops with an order this period, any currency
    shops_counted: int  # the shops whose orders were read
    # (day, currency) -> [orders, gmv_cents], both periods
    _cells: dict[tuple[date, str], list[int]] = field(default_factory=dict, repr=False)

    def gmv(self, day: date, currency: str) -> int:
        return self._cells.get((day, currency), [0, 0])[1]

    def orders(self, day: date, currency: str | None = None) -> int:
        """Orders on `day` in `currency`, or in every currency (a count adds up)."""
        if currency is not None:
            return self._cells.get((day, currency), [0, 0])[0]
        return sum(v[0] for (d, _), v in self._cells.items() if d == day)

    def day_currencies(self) -> list[str]:
        """Every currency seen in this period, the main one first (the CSV's columns)."""
        return [c.currency for c in self.currencies]

    @property
    def total_orders(self) -> int:
        return sum(c.orders for c in self.currencies)

    @property
    def previous_total_orders(self) -> int:
        return sum(c.orders for c in self.previous_currencies)


def period_days(today: date, days: int = PERIOD_DAYS) -> tuple[list[date], list[date]]:
    """The last `days` days up to today, and the `days` days before them."""
    current = [today - timedelta(days=days - 1 - i) for i in range(days)]
    previous = [d - timedelta(days=days) for d in current]
    return current, previous


def _utc_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


# --- the statement ------------------------------------------------------------------------


def counted_shops(conn: Connection, only: Collection[int] | None = None) -> list[Any]:
    """(id, slug, name) of the shops whose orders count, if their schema has `orders`.

    The `pg_tables` join keeps a shop whose schema is missing (a half-made or purged
    one whose row says otherwise) from failing the whole page.
    """
    pg_tables = table("pg_tables", column("schemaname"), column("tablename"), schema="pg_catalog")
    schema = literal("t_", Text) + cast(Tenant.id, Text)  # as `schema_for` names it
    query = (
        select(Tenant.id, Tenant.slug, Tenant.name)
        .join(pg_tables, and_(pg_tables.c.schemaname == schema, pg_tables.c.tablename == "orders"))
        .where(Tenant.status.in_([str(s) for s in COUNTED_SHOP_STATUSES]))
        .order_by(Tenant.id)
    )
    if only is not None:
        query = query.where(Tenant.id.in_(list(only)))
    return list(conn.execute(query))


def orders_by_shop_day(shop_ids: Iterable[int], since: datetime, until: datetime) -> Select[Any]:
    """One SELECT: per shop, UTC day and currency, the count and GMV of sale orders
    placed in [since, until), all shops' `orders` UNION ALLed.

    Schema names come from the platform's ids (`schema_for`, checked against `t_<id>`)
    and are still quoted by SQLAlchemy's identifier rules, never formatted into SQL.
    The bounds are one pair of bound parameters shared by every branch.
    """
    lower: BindParameter[datetime] = bindparam("since", since)
    upper: BindParameter[datetime] = bindparam("until", until)
    statuses: BindParameter[list[str]] = bindparam("statuses", list(SALE_STATUSES), expanding=True)
    branches = []
    for tenant_id in shop_ids:
        orders = table(
            "orders", *(column(name) for name in _ORDER_COLUMNS), schema=schema_for(tenant_id)
        )
        assert orders.schema is not None and checked_schema(orders.schema)
        day = cast(func.timezone(literal_column("'UTC'"), orders.c.placed_at), Date)
        branches.append(
            select(
                literal(tenant_id).label("tenant_id"),
                day.label("day"),
                orders.c.currency.label("currency"),
                func.count().label("orders"),
                func.coalesce(func.sum(orders.c.total_cents), 0).label("gmv_cents"),
            )
            .where(
                orders.c.payment_status.in_(statuses),
                orders.c.placed_at >= lower,
                orders.c.placed_at < upper,
            )
            .group_by(day, orders.c.currency)
        )
    return union_all(*branches)  # type: ignore[return-value]


def platform_figures(
    today: date | None = None, *, only: Collection[int] | None = None
) -> PlatformFigures:
    """The page's figures for the period ending `today` (UTC; by default the real one).

    `only` limits the shops read (tests assert exact figures on a database other
    tests also fill; a view never passes it).
    """
    today = today or datetime.now(UTC).date()
    days, previous_days = period_days(today)
    since, until = _utc_start(previous_days[0]), _utc_start(today + timedelta(days=1))
    with db.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        shops = counted_shops(conn, only)
        rows = (
            list(conn.execute(orders_by_shop_day([s.id for s in shops], since, until)))
            if shops
            else []
        )
        launched_query = select(func.count()).where(
            Tenant.status == TenantStatus.ACTIVE, Tenant.launched_at.is_not(None)
        )
        if only is not None:
            launched_query = launched_query.where(Tenant.id.in_(list(only)))
        launched_active = conn.scalar(launched_query) or 0
        conn.rollback()  # a read-only snapshot, nothing to keep
    return _figures(days, previous_days, shops, rows, launched_active)


def _figures(
    days: list[date],
    previous_days: list[date],
    shops: list[Any],
    rows: list[Any],
    launched_active: int,
) -> PlatformFigures:
    current = set(days)
    cells: dict[tuple[date, str], list[int]] = defaultdict(lambda: [0, 0])
    per_currency: dict[bool, dict[str, list[int]]] = {True: {}, False: {}}
    shops_per_currency: dict[bool, dict[str, set[int]]] = {True: {}, False: {}}
    per_shop: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0])
    with_orders: set[int] = set()
    for row in rows:
        in_period = row.day in current
        cell = cells[(row.day, row.currency)]
        cell[0] += row.orders
        cell[1] += row.gmv_cents
        totals = per_currency[in_period].setdefault(row.currency, [0, 0])
        totals[0] += row.orders
        totals[1] += row.gmv_cents
        shops_per_currency[in_period].setdefault(row.currency, set()).add(row.tenant_id)
        if in_period:
            with_orders.add(row.tenant_id)
            shop = per_shop[(row.tenant_id, row.currency)]
            shop[0] += row.orders
            shop[1] += row.gmv_cents

    main = _main_currency(per_currency[True]) or _main_currency(per_currency[False])

    def currency_totals(in_period: bool) -> list[CurrencyTotal]:
        totals = [
            CurrencyTotal(code, gmv, orders, len(shops_per_currency[in_period][code]))
            for code, (orders, gmv) in per_currency[in_period].items()
        ]
        return sorted(totals, key=lambda t: (t.currency != main, -t.gmv_cents, t.currency))

    names = {s.id: (s.slug, s.name) for s in shops}
    top = sorted(
        (
            ShopTotal(tenant_id, *names[tenant_id], currency, gmv, orders)
            for (tenant_id, currency), (orders, gmv) in per_shop.items()
            if currency == main
        ),
        key=lambda s: (-s.gmv_cents, s.tenant_id),
    )[:TOP_SHOPS]
    return PlatformFigures(
        days=days,
        previous_days=previous_days,
        currencies=currency_totals(True),
        previous_currencies=currency_totals(False),
        main_currency=main,
        top_shops=top,
        launched_active=launched_active,
        shops_with_orders=len(with_orders),
        shops_counted=len(shops),
        _cells=dict(cells),
    )


def _main_currency(totals: dict[str, list[int]]) -> str | None:
    """The currency with the most orders (ties: the most GMV, then the code)."""
    if not totals:
        return None
    counts = Counter({code: orders for code, (orders, _) in totals.items()})
    return min(counts, key=lambda code: (-counts[code], -totals[code][1], code))


# --- CSV ----------------------------------------------------------------------------------


def figures_csv(figures: PlatformFigures) -> str:
    """One row per day of the period: orders (all currencies), then each currency's
    orders and GMV in minor units, the main currency first."""
    currencies = figures.day_currencies()
    header = ["date", "orders"]
    for code in currencies:
        header += [f"orders_{code}", f"gmv_cents_{code}"]
    lines = [csv_line(header)]
    for day in figures.days:
        row = [day.isoformat(), str(figures.orders(day))]
        for code in currencies:
            row += [str(figures.orders(day, code)), str(figures.gmv(day, code))]
        lines.append(csv_line(row))
    return "".join(lines)
