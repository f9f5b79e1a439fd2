"""Visits reports: totals, days, top values of a dimension, the funnel, product views.

Dates are shop-local calendar days, both ends included. Every figure comes from the
rolled-up tables (`tenants.analytics.rollup`), with one exception: when the range
includes today, the shop's queued visits are drained (`sessions.drain`, at most
`LIVE_DRAIN` of them) and today's hours not folded yet are read from Redis (one
SMEMBERS and one pipelined HGETALL), so "today" is live. History never touches Redis.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import g, has_app_context
from sqlalchemy import func, select, union_all

from saas.cache import redis_client
from saas.db import db
from saas.tenancy import current_tenant
from tenants.analytics import rollup, sessions, visits
from tenants.analytics.models import AnalyticsDay, AnalyticsDayCount, AnalyticsMonthCount
from tenants.analytics.sale_orders import next_month
from tenants.settings.services import get_settings

LIVE_DRAIN = 50_000  # a report drains no more than this (about a quarter of a second)
FUNNEL_LABELS = (
    ("sessions", "Sessions"),
    ("product_sessions", "Viewed a product"),
    ("cart_sessions", "Added to cart"),
    ("checkout_sessions", "Reached checkout"),
    ("order_sessions", "Placed an order"),
)


@dataclass(frozen=True)
class Traffic:
    pageviews: int
    visitors: int
    sessions: int


@dataclass(frozen=True)
class DayTraffic:
    day: date
    pageviews: int
    visitors: int
    sessions: int


@dataclass(frozen=True)
class Funnel:
    sessions: int
    product_sessions: int
    cart_sessions: int
    checkout_sessions: int
    order_sessions: int

    @property
    def steps(self) -> list[tuple[str, int, float, float]]:
        """(label, sessions, rate from the previous step, rate from the first), rates as
        fractions (0.0 when the step before had no session)."""
        out: list[tuple[str, int, float, float]] = []
        start = self.sessions
        previous = start
        for name, label in FUNNEL_LABELS:
            count = getattr(self, name)
            out.append(
                (
                    label,
                    count,
                    count / previous if previous else 0.0,
                    count / start if start else 0.0,
                )
            )
            previous = count
        return out


@dataclass
class _Live:
    """Today's hours still in Redis, folded the way the rollup would."""

    days: dict[date, dict[str, int]] = field(default_factory=lambda: defaultdict(dict))
    counts: dict[tuple[date, str, str], int] = field(default_factory=lambda: defaultdict(int))


def _zone() -> ZoneInfo:
    return ZoneInfo(get_settings().timezone)


def _live(start: date, end: date) -> _Live:
    """The not-yet-folded hours of today, if today is in the range (the only Redis read)."""
    live = _Live()
    zone = _zone()
    today = datetime.fromtimestamp(visits.clock(), UTC).astimezone(zone).date()
    if not start <= today <= end:
        return live
    # A report page asks several times (totals, days, each dimension): drain and read
    # Redis once per request, not once per figure.
    memo = g.setdefault("analytics_live", {}) if has_app_context() else {}
    key = (current_tenant.id, today)
    if key not in memo:
        memo[key] = _read_live(today, zone)
    return memo[key]


def _read_live(today: date, zone: ZoneInfo) -> _Live:
    live = _Live()
    sessions.drain(current_tenant.id, limit=LIVE_DRAIN)
    buckets = [
        b for b in rollup.pending_hours(current_tenant.id) if rollup.local_day(b, zone) == today
    ]
    if not buckets:
        return live
    done = rollup.folded([rollup.hour_start(b) for b in buckets])
    buckets = [b for b in buckets if rollup.hour_start(b) not in done]  # folded, not yet deleted
    pipe = redis_client().pipeline(transaction=False)
    key = visits.prefix(current_tenant.id)
    for bucket in buckets:
        pipe.hgetall(f"{key}h:{bucket}")
    for raw in pipe.execute() if buckets else []:
        totals, counts = rollup.split(rollup.decoded(raw))
        for column, value in totals.items():
            live.days[today][column] = live.days[today].get(column, 0) + value
        for (dimension, name), count in counts.items():
            live.counts[(today, dimension, name)] += count
    return live


def _days(start: date, end: date) -> dict[date, dict[str, int]]:
    """Every day's columns in the range that has any (tables plus today's live hours)."""
    columns = list(rollup.DAY_FIELDS.values())
    rows = db.session.execute(
        select(AnalyticsDay).where(AnalyticsDay.day >= start, AnalyticsDay.day <= end)
    ).scalars()
    days: dict[date, dict[str, int]] = {
        row.day: {c: getattr(row, c) for c in columns} for row in rows
    }
    for day, totals in _live(start, end).days.items():
        into = days.setdefault(day, dict.fromkeys(columns, 0))
        for column, value in totals.items():
            into[column] += value
    return days


def _sum(start: date, end: date) -> dict[str, int]:
    out = dict.fromkeys(rollup.DAY_FIELDS.values(), 0)
    for totals in _days(start, end).values():
        for column, value in totals.items():
            out[column] += value
    return out


def totals(start: date, end: date) -> Traffic:
    figures = _sum(start, end)
    return Traffic(figures["pageviews"], figures["visitors"], figures["sessions"])


def daily(start: date, end: date) -> list[DayTraffic]:
    """One row per day of the range, days without visits included (zeros)."""
    days = _days(start, end)
    out = []
    day = start
    while day <= end:
        figures = days.get(day, {})
        out.append(
            DayTraffic(
                day,
                figures.get("pageviews", 0),
                figures.get("visitors", 0),
                figures.get("sessions", 0),
            )
        )
        day += timedelta(days=1)
    return out


def _whole_months(start: date, end: date) -> list[date]:
    """The first days of the calendar months wholly inside [start, end]."""
    months, month = [], start if start.day == 1 else next_month(start)
    while next_month(month) - timedelta(days=1) <= end:
        months.append(month)
        month = next_month(month)
    return months


def _counts(dimension: str, start: date, end: date) -> dict[str, int]:
    """The dimension's counts over the range: its whole months from the month rows, the
    days at its ends from the day rows, and today's live hours."""
    if dimension not in visits.DIMENSIONS:
        raise ValueError(f"unknown dimension {dimension!r}")
    d, m = AnalyticsDayCount, AnalyticsMonthCount
    by_day = select(d.value, d.count).where(d.dimension == dimension)
    months = _whole_months(start, end)
    if months:
        first, after = months[0], next_month(months[-1])
        rows: Any = union_all(
            by_day.where(d.day >= start, d.day < first),
            by_day.where(d.day >= after, d.day <= end),
            select(m.value, m.count).where(
                m.dimension == dimension, m.month >= first, m.month < after
            ),
        ).subquery("counts")
    else:
        rows = by_day.where(d.day >= start, d.day <= end).subquery("counts")
    out = {
        value: int(count)
        for value, count in db.session.execute(
            select(rows.c.value, func.sum(rows.c.count)).group_by(rows.c.value)
        )
    }
    for (_, name, value), count in _live(start, end).counts.items():
        if name == dimension:
            out[value] = out.get(value, 0) + count
    return out


def top(dimension: str, start: date, end: date, limit: int = 10) -> list[tuple[str, int]]:
    """The dimension's values with the most page views (path, product) or sessions
    (referrer, utm_*, device, landing), most first, ties by value."""
    counts = _counts(dimension, start, end)
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:limit]


def funnel(start: date, end: date) -> Funnel:
    figures = _sum(start, end)
    return Funnel(
        sessions=figures["sessions"],
        product_sessions=figures["product_sessions"],
        cart_sessions=figures["cart_sessions"],
        checkout_sessions=figures["checkout_sessions"],
        order_sessions=figures["order_sessions"],
    )


def product_views(start: date, end: date) -> dict[str, int]:
    """Page views per product handle."""
    return _counts("product", start, end)
