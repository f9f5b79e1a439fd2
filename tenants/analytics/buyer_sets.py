"""Distinct customers over any range, from per-day and per-month sets of buyer numbers.

"Customers who bought", "returning", "active customers" and "monthly active" are
distinct counts. Counted from (day, buyer) rows, a year is some 100,000 rows grouped
several times per page (hundreds of milliseconds); as sets it is a dozen month sets and
a few day sets OR-ed in Python (`pyroaring`, Roaring bitmaps: compact for a few hundred
buyers a day out of a million customers, and fast to combine), a few milliseconds.

The sets (`SalesBuyerSet`) hold the numbers `SalesBuyerKey` gives each buyer's key (an
account id, else an email; a customer who only browsed signed in is numbered by account
too), of two kinds: `BOUGHT` (counted orders, as `SalesDayBuyer`) and `ACTIVE` (bought,
or browsed signed in: `AnalyticsCustomerDay`). The sales rollup rebuilds a stale day's
sets with its rows and then its month's (`roll_up`). Readers take a range's clean days
from the sets (a whole month from its month set unless one of its days is stale) and its
stale days live, from the orders and browsing rows themselves, as keys: a key the rollup
never numbered is a customer no clean set holds, counted by key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from pyroaring import BitMap
from sqlalchemy import ARRAY, Date, Text, and_, cast, delete, func, literal, or_, select, union
from sqlalchemy.dialects.postgresql import insert

from saas.db import db
from tenants.analytics.models import AnalyticsCustomerDay
from tenants.analytics.sale_orders import customer_key, local_day, next_month, orders_on
from tenants.analytics.sales_models import SalesBuyerKey, SalesBuyerSet, SalesDayBuyer, SalesDirty

BOUGHT = "bought"
ACTIVE = "active"
KINDS = (BOUGHT, ACTIVE)


# --- writing: the rollup ------------------------------------------------------------------


def roll_up(days: list[date]) -> None:
    """Replace the sets of `days`, whose `SalesDayBuyer` rows were just replaced, and of
    their months. Numbers the customers who browsed on them first."""
    browsed = AnalyticsCustomerDay
    on_days = browsed.day.in_(days)
    account = cast(browsed.customer_id, Text)
    db.session.execute(
        insert(SalesBuyerKey)
        .from_select(
            ["key", "customer_id"],
            select(account, browsed.customer_id).where(on_days).distinct(),
        )
        .on_conflict_do_nothing(index_elements=["key"])
    )
    sets: dict[str, dict[date, BitMap]] = {kind: {} for kind in KINDS}
    bought = select(SalesDayBuyer.day, SalesDayBuyer.buyer_id).where(SalesDayBuyer.day.in_(days))
    for day, number in db.session.execute(bought):
        sets[BOUGHT].setdefault(day, BitMap()).add(number)
        sets[ACTIVE].setdefault(day, BitMap()).add(number)
    visited = (
        select(browsed.day, SalesBuyerKey.id)
        .join(SalesBuyerKey, SalesBuyerKey.key == account)
        .where(on_days)
    )
    for day, number in db.session.execute(visited):
        sets[ACTIVE].setdefault(day, BitMap()).add(number)
    t = SalesBuyerSet
    db.session.execute(delete(t).where(t.grain == "day", t.start.in_(days)))
    rows = [
        {
            "kind": kind,
            "grain": "day",
            "start": day,
            "members": members.serialize(),
            "size": len(members),
            "day_sizes": len(members),
        }
        for kind, by_day in sets.items()
        for day, members in by_day.items()
    ]
    for first in range(0, len(rows), 500):
        db.session.execute(insert(t).values(rows[first : first + 500]))
    _roll_months(sorted({day.replace(day=1) for day in days}))


def _roll_months(months: list[date]) -> None:
    """The month sets of `months`, as their day sets OR-ed."""
    t = SalesBuyerSet
    db.session.execute(delete(t).where(t.grain == "month", t.start.in_(months)))
    for month in months:
        query = select(t.kind, t.members, t.size).where(
            t.grain == "day", t.start >= month, t.start < next_month(month)
        )
        merged: dict[str, tuple[BitMap, int]] = {}
        for kind, serialised, size in db.session.execute(query):
            union_of, sizes = merged.get(kind, (BitMap(), 0))
            union_of |= BitMap.deserialize(serialised)
            merged[kind] = (union_of, sizes + size)
        for kind, (members, sizes) in merged.items():
            db.session.execute(
                insert(t).values(
                    kind=kind,
                    grain="month",
                    start=month,
                    members=members.serialize(),
                    size=len(members),
                    day_sizes=sizes,
                )
            )


# --- reading --------------------------------------------------------------------------------


@dataclass
class People:
    """Some customers: numbers (of clean sets or numbered keys) and keys never numbered."""

    numbers: BitMap = field(default_factory=BitMap)
    keys: set[str] = field(default_factory=set)

    def __len__(self) -> int:
        return len(self.numbers) + len(self.keys)

    def __ior__(self, other: People) -> People:
        self.numbers |= other.numbers
        self.keys |= other.keys
        return self

    def __and__(self, other: People) -> People:
        return People(self.numbers & other.numbers, self.keys & other.keys)


@dataclass(frozen=True)
class Tally:
    people: People  # everyone in the range
    day_sizes: int  # each day's distinct people, added up over the range's days


def stale_days() -> set[date]:
    return set(db.session.scalars(select(SalesDirty.day)))


def _pieces(first: date, last: date, stale: set[date]) -> tuple[list[date], list[date]]:
    """How the clean days of [first, last] are read: the whole months without a stale
    day from their month sets, the other clean days from their day sets."""
    stale_months = {day.replace(day=1) for day in stale}
    whole: list[date] = []
    month = first if first.day == 1 else next_month(first)
    while next_month(month) - timedelta(days=1) <= last:
        whole.append(month)
        month = next_month(month)
    if not whole:
        days = _days_between(first, last)
    else:
        days = _days_between(first, whole[0] - timedelta(days=1))
        days += _days_between(next_month(whole[-1]), last)
        for month in whole:
            if month in stale_months:
                days += _days_between(month, next_month(month) - timedelta(days=1))
    months = [m for m in whole if m not in stale_months]
    return months, [d for d in days if d not in stale]


def _days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _clean(kind: str, first: date, last: date, stale: set[date]) -> Tally:
    months, days = _pieces(first, last, stale)
    t = SalesBuyerSet
    query = select(t.members, t.day_sizes).where(
        t.kind == kind,
        or_(
            and_(t.grain == "month", t.start.in_(months)),
            and_(t.grain == "day", t.start.in_(days)),
        ),
    )
    numbers, sizes = BitMap(), 0
    for members, day_sizes in db.session.execute(query):
        numbers |= BitMap.deserialize(members)
        sizes += day_sizes
    return Tally(People(numbers), sizes)


def _first_day(kind: str) -> date | None:
    t = SalesBuyerSet
    return db.session.scalar(select(func.min(t.start)).where(t.kind == kind, t.grain == "day"))


def _live(kind: str, days: list[date], zone: ZoneInfo) -> Tally:
    """The people of `days` (stale ones, or every day before the first rollup) read from
    the orders, and for `ACTIVE` the browsing rows, by key: numbered where the rollup
    numbered it."""
    if not days:
        return Tally(People(), 0)
    listed = select(func.unnest(cast(literal(sorted(days)), ARRAY(Date))).label("day"))
    orders = orders_on(listed.subquery("listed"), zone)
    who = select(local_day(orders.c.placed_at, zone).label("day"), customer_key(orders.c))
    if kind == ACTIVE:
        browsed = AnalyticsCustomerDay
        who = union(  # type: ignore[assignment]
            who,
            select(browsed.day, cast(browsed.customer_id, Text)).where(browsed.day.in_(days)),
        )
    rows = who.subquery("who")
    key = rows.c[1]
    query = select(rows.c.day, key, SalesBuyerKey.id).outerjoin(
        SalesBuyerKey, SalesBuyerKey.key == key
    )
    people, pairs = People(), set()
    for day, who_key, number in db.session.execute(query):
        pairs.add((day, who_key))
        if number is None:
            people.keys.add(who_key)
        else:
            people.numbers.add(number)
    return Tally(people, len(pairs))


def tally(
    kind: str,
    first: date | None,
    last: date,
    zone: ZoneInfo,
    *,
    rolled: bool,
    stale: set[date] | None = None,
) -> Tally:
    """Everyone of `kind` on the days from `first` (None: the first ever) to `last`:
    clean days from the sets, stale ones live (every day live if not `rolled`, which
    needs a `first`)."""
    if not rolled:
        if first is None:
            raise ValueError("before the first rollup, a range needs its first day")
        return _live(kind, _days_between(first, last), zone)
    stale = stale_days() if stale is None else stale  # a caller tallying twice reads it once
    stale_in = sorted(d for d in stale if (first is None or d >= first) and d <= last)
    live = _live(kind, stale_in, zone)
    if first is None:
        first = _first_day(kind)
    clean = _clean(kind, first, last, stale) if first is not None and first <= last else None
    if clean is None:
        return live
    people = People()
    people |= clean.people
    people |= live.people
    return Tally(people, clean.day_sizes + live.day_sizes)
