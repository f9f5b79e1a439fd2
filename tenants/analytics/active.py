"""Active customers: who visited the shop signed in, or bought, in a range.

A visit counts only for a customer signed in (the visit counting keeps no identity of
anyone else, by design: `visits`); a purchase counts for whoever bought it (an account,
else an email, as everywhere in sales: `sale_orders.customer_key`). Days are the
shop's; the figures of a day are only known once its visits are rolled up (`rollup`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Text, cast, distinct, func, select, union

from saas.db import db
from tenants.analytics.models import AnalyticsCustomerDay
from tenants.analytics.ranges import DateRange
from tenants.analytics.sale_orders import customer_key, local_day, placed_between
from tenants.orders.models import Order

MONTH_DAYS = 30


@dataclass(frozen=True)
class Active:
    customers: int  # distinct customers active at least once in the range
    daily_average: float  # the range's days' active customers, on average
    monthly: int  # active in the 30 days that end on the range's last day


def _activity(first: date, last: date, zone: ZoneInfo) -> Any:
    """Distinct (local day, customer key) of every purchase and signed-in visit."""
    start, end = DateRange("custom", first, last).bounds(zone)
    bought = select(
        local_day(Order.placed_at, zone).label("day"), customer_key().label("key")
    ).where(*placed_between(start, end))
    visited = select(AnalyticsCustomerDay.day, cast(AnalyticsCustomerDay.customer_id, Text)).where(
        AnalyticsCustomerDay.day >= first, AnalyticsCustomerDay.day <= last
    )
    return union(bought, visited).subquery("activity")


def active_customers(r: DateRange, zone: ZoneInfo) -> Active:
    """One query: the range's active customers, per day on average, and over the month."""
    both = _activity(r.start, r.end, zone)
    month = _activity(r.end - timedelta(days=MONTH_DAYS - 1), r.end, zone)
    row = db.session.execute(
        select(
            select(func.count(distinct(both.c.key))).scalar_subquery(),
            select(func.count()).select_from(both).scalar_subquery(),
            select(func.count(distinct(month.c.key))).scalar_subquery(),
        )
    ).one()
    customers, customer_days, monthly = map(int, row)
    return Active(customers, customer_days / r.days if r.days else 0.0, monthly)
