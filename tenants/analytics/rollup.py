"""Fold the shop's finished hours of visit counters from Redis into its daily tables.

Redis holds only the visits not drained yet and the hours not yet folded
(`tenants.analytics.visits`, `sessions`): losing it loses at most those. The queue is
drained first, then every hour that ended more than `GRACE` seconds ago is folded (a
page that started in the last second of an hour is queued a moment later). Each finished
UTC hour is added to the shop-local day its start falls in (in a zone half an hour off
UTC, such as India's, an hour straddles two local days: all of it goes to the first -- a
day's edges move by half an hour, its totals stay right). A folded hour is recorded
(`AnalyticsFoldedHour`, inserted-or-skipped first) in the same transaction as its
counts, and its Redis hash is deleted only after that commits: a rerun, or a worker
killed between the commit and the delete, never counts it twice.

Runs from `flask tenants sweep` for every shop (cron, every few minutes) and as an RQ
job (`saas.jobs.enqueue(roll_up, tenant_id)`): safe to run twice, or concurrently (the
hour's row is the lock).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, date, datetime
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, Integer, exists, select, sql
from sqlalchemy.dialects.postgresql import insert

from saas.cache import redis_client
from saas.db import after_commit, db
from saas.tenancy import current_tenant
from tenants.analytics import popularity, sales_rollup, sessions, visits
from tenants.analytics.models import (
    AnalyticsCustomerDay,
    AnalyticsDay,
    AnalyticsDayCount,
    AnalyticsFoldedHour,
    AnalyticsMonthCount,
)
from tenants.customers.models import Customer
from tenants.settings.services import get_settings

# Hour-hash fields -> analytics_days columns.
DAY_FIELDS = {
    "pv": "pageviews",
    "visitors": "visitors",
    "sessions": "sessions",
    "f:product": "product_sessions",
    "f:cart": "cart_sessions",
    "f:checkout": "checkout_sessions",
    "f:order": "order_sessions",
}
_DIMENSIONS = frozenset(visits.DIMENSIONS)
GRACE = 60


def hour_start(bucket: str) -> datetime:
    """The UTC instant a `YYYYMMDDHH` bucket starts at."""
    return datetime.strptime(bucket, "%Y%m%d%H").replace(tzinfo=UTC)


def local_day(bucket: str, zone: ZoneInfo) -> date:
    return hour_start(bucket).astimezone(zone).date()


def split(fields: dict[str, int]) -> tuple[dict[str, int], dict[tuple[str, str], int]]:
    """An hour's fields as (day columns, {(dimension, value): count})."""
    totals: dict[str, int] = {}
    counts: dict[tuple[str, str], int] = {}
    for field, value in fields.items():
        if column := DAY_FIELDS.get(field):
            totals[column] = value
            continue
        dimension, _, name = field.partition(":")
        if dimension in _DIMENSIONS and name:
            counts[(dimension, name[:200])] = counts.get((dimension, name[:200]), 0) + value
    return totals, counts


def _text(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else value


def decoded(raw: Mapping[Any, Any]) -> dict[str, int]:
    """An hour hash as Redis returns it, as {field: count}."""
    return {_text(k): int(v) for k, v in raw.items()}


def pending_hours(tenant_id: int) -> list[str]:
    """The hour buckets Redis still holds for the shop, oldest first."""
    members = redis_client().smembers(visits.prefix(tenant_id) + "hours")
    return sorted(_text(m) for m in members)


def roll_up(tenant_id: int, now: float | None = None) -> int:
    """Drain the shop's queued visits, then fold every pending hour that ended `GRACE`
    seconds ago; the number of hours folded. (`tenant_id` is the shop the job was
    queued for.)"""
    if current_tenant.id != tenant_id:
        raise RuntimeError(f"roll_up({tenant_id}) run in shop {current_tenant.id}")
    settings = get_settings()
    # The switch's copy in Redis heals itself here if Redis lost it.
    visits.write_config(tenant_id, visits.Config(settings.respect_privacy_signals))
    zone = ZoneInfo(settings.timezone)
    sessions.drain(tenant_id)
    current = visits.hour_bucket((visits.clock() if now is None else now) - GRACE)
    redis = redis_client()
    key = visits.prefix(tenant_id)
    done: list[str] = []
    day_totals: dict[date, dict[str, int]] = defaultdict(dict)
    day_counts: dict[tuple[date, str, str], int] = defaultdict(int)
    customer_days: set[tuple[date, int]] = set()
    for bucket in pending_hours(tenant_id):
        if bucket >= current:
            continue  # still being counted (or its last visits queued)
        done.append(bucket)
        claimed = db.session.execute(
            insert(AnalyticsFoldedHour)
            .values(hour=hour_start(bucket))
            .on_conflict_do_nothing()
            .returning(AnalyticsFoldedHour.hour)
        ).first()
        if claimed is None:
            continue  # folded before; only its Redis key was left
        totals, counts = split(decoded(redis.hgetall(f"{key}h:{bucket}")))
        day = local_day(bucket, zone)
        for column, value in totals.items():
            day_totals[day][column] = day_totals[day].get(column, 0) + value
        for (dimension, name), count in counts.items():
            day_counts[(day, dimension, name)] += count
        for member in redis.smembers(f"{key}c:{bucket}"):
            if (text := _text(member)).isdigit():
                customer_days.add((day, int(text)))
    _add_days(day_totals)
    _add_counts(day_counts)
    _add_customer_days(customer_days)
    if done:
        after_commit(partial(_forget, key, done))
    sales_rollup.roll_up_sales(tenant_id)
    clock = visits.clock() if now is None else now
    popularity.refresh_recent_views(tenant_id, datetime.fromtimestamp(clock, zone).date())
    return len(done)


def _add_days(day_totals: dict[date, dict[str, int]]) -> None:
    table = AnalyticsDay.__table__
    for day, totals in sorted(day_totals.items()):
        values = {column: totals.get(column, 0) for column in DAY_FIELDS.values()}
        statement = insert(AnalyticsDay).values(day=day, **values)
        db.session.execute(
            statement.on_conflict_do_update(
                index_elements=[table.c.day],
                set_={c: table.c[c] + statement.excluded[c] for c in values},
            )
        )


def _add_counts(day_counts: dict[tuple[date, str, str], int]) -> None:
    """Add the hours' counts to their days and to their months."""
    if not day_counts:
        return
    month_counts: dict[tuple[str, date, str], int] = defaultdict(int)
    for (day, dimension, value), count in day_counts.items():
        month_counts[(dimension, day.replace(day=1), value)] += count
    days = [
        {"day": day, "dimension": dimension, "value": value, "count": count}
        for (day, dimension, value), count in sorted(day_counts.items())
    ]
    months = [
        {"dimension": dimension, "month": month, "value": value, "count": count}
        for (dimension, month, value), count in sorted(month_counts.items())
    ]
    targets: tuple[tuple[Any, list[dict[str, Any]], list[str]], ...] = (
        (AnalyticsDayCount, days, ["day", "dimension", "value"]),
        (AnalyticsMonthCount, months, ["dimension", "month", "value"]),
    )
    for model, rows, keys in targets:
        table = model.__table__
        for first in range(0, len(rows), 1000):
            statement = insert(model).values(rows[first : first + 1000])
            db.session.execute(
                statement.on_conflict_do_update(
                    index_elements=keys,
                    set_={"count": table.c.count + statement.excluded.count},
                )
            )
    db.session.flush()


def _add_customer_days(pairs: set[tuple[date, int]]) -> None:
    """The customers who browsed signed in, by day; a customer deleted since is skipped
    (the rows follow the customer row, and so does its erasure)."""
    if not pairs:
        return
    days = sql.values(
        sql.column("day", Date), sql.column("customer_id", Integer), name="browsed"
    ).data(sorted(pairs))
    db.session.execute(
        insert(AnalyticsCustomerDay)
        .from_select(
            ["day", "customer_id"],
            select(days.c.day, days.c.customer_id).where(
                exists().where(Customer.id == days.c.customer_id)
            ),
        )
        .on_conflict_do_nothing()
    )


def _forget(key: str, buckets: list[str]) -> None:
    """After commit: the folded hours leave Redis."""
    redis = redis_client()
    pipe = redis.pipeline(transaction=False)
    pipe.delete(*(f"{key}h:{bucket}" for bucket in buckets))
    pipe.delete(*(f"{key}c:{bucket}" for bucket in buckets))
    pipe.srem(key + "hours", *buckets)
    pipe.execute()


def folded(hours: list[datetime]) -> set[datetime]:
    """Which of these hour starts are already in the tables (for `traffic`)."""
    if not hours:
        return set()
    return set(
        db.session.scalars(
            select(AnalyticsFoldedHour.hour).where(AnalyticsFoldedHour.hour.in_(hours))
        )
    )
