"""Active customers: who visited the shop signed in, or bought, in a range.

A visit counts only for a customer signed in (the visit counting keeps no identity of
anyone else, by design: `visits`); a purchase counts for whoever bought it (an account,
else an email, as everywhere in sales: `sale_orders.customer_key`). Days are the
shop's; the figures of a day are only known once its visits are rolled up (`rollup`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from tenants.analytics import buyer_sets
from tenants.analytics.buyer_sets import ACTIVE
from tenants.analytics.ranges import DateRange
from tenants.analytics.sale_orders import rolled_up_zone

MONTH_DAYS = 30


@dataclass(frozen=True)
class Active:
    customers: int  # distinct customers active at least once in the range
    daily_average: float  # the range's days' active customers, on average
    monthly: int  # active in the 30 days that end on the range's last day


def active_customers(r: DateRange, zone: ZoneInfo) -> Active:
    """The range's active customers, per day on average, and over the month that ends
    with it: OR-ed sets of the rolled-up days and the stale days live (`buyer_sets`)."""
    rolled = rolled_up_zone() == (zone.key or "UTC")
    stale = buyer_sets.stale_days() if rolled else set()
    both = buyer_sets.tally(ACTIVE, r.start, r.end, zone, rolled=rolled, stale=stale)
    first = r.end - timedelta(days=MONTH_DAYS - 1)
    month = (
        both
        if first == r.start
        else buyer_sets.tally(ACTIVE, first, r.end, zone, rolled=rolled, stale=stale)
    )
    days = r.days
    return Active(len(both.people), both.day_sizes / days if days else 0.0, len(month.people))
