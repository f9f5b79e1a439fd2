"""The date range an analytics page shows, chosen by the merchant, and the one before it.

A range is whole calendar days in the shop's time zone, both ends included: "today" in
a shop in Tokyo ends at midnight Tokyo time. `bounds()` turns it into the UTC instants
the queries compare timestamps with; the reports group by the local day.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from tenants.analytics.dashboard import day_start

RANGE_CHOICES: list[tuple[str, str]] = [
    ("today", "Today"),
    ("yesterday", "Yesterday"),
    ("7d", "Last 7 days"),
    ("30d", "Last 30 days"),
    ("90d", "Last 90 days"),
    ("this-month", "This month"),
    ("last-month", "Last month"),
    ("custom", "Custom"),
]
LABELS = dict(RANGE_CHOICES)
DEFAULT = "30d"
MAX_CUSTOM_DAYS = 366  # a leap year: "all of 2028" is allowed, more would be slow to draw
EN_DASH = "\u2013"  # between the two ends of a span of dates
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_TRAILING = {"today": 1, "yesterday": 1, "7d": 7, "30d": 30, "90d": 90}


class RangeError(ValueError):
    """A custom range that cannot be shown; the message is for the merchant, `field`
    the date it is about ("start" or "end")."""

    def __init__(self, message: str, field: str = "start") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class DateRange:
    key: str  # one of RANGE_CHOICES, or "previous" for the period a range is compared with
    start: date
    end: date  # included

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def label(self) -> str:
        """ "Last 30 days" for a preset; the dates themselves for other ranges."""
        if self.key in LABELS and self.key != "custom":
            return LABELS[self.key]
        return span_label(self.start, self.end)

    def previous(self) -> DateRange:
        """The same number of days just before this range (what its deltas compare with)."""
        end = self.start - timedelta(days=1)
        return DateRange("previous", end - timedelta(days=self.days - 1), end)

    def bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """[start, end) as aware UTC instants: local midnight of the first day, and of the
        day after the last (so a 23- or 25-hour day around a clock change is whole)."""
        return day_start(self.start, zone), day_start(self.end + timedelta(days=1), zone)

    def query_args(self) -> dict[str, str]:
        """What a link puts in its query string to show this range again."""
        if self.key in _TRAILING or self.key in ("this-month", "last-month"):
            return {"range": self.key}
        return {"range": "custom", "start": self.start.isoformat(), "end": self.end.isoformat()}


def span_label(start: date, end: date) -> str:
    """ "5 Mar 2026", "1 Mar - 5 Mar 2026" or "28 Dec 2025 - 3 Jan 2026" (an en dash)."""

    def day(d: date, year: bool) -> str:
        return f"{d.day} {d:%b}" + (f" {d.year}" if year else "")

    if start == end:
        return day(end, True)
    return f"{day(start, start.year != end.year)} {EN_DASH} {day(end, True)}"


def shop_today(zone: ZoneInfo, now: datetime | None = None) -> date:
    """Today's date in the shop's time zone."""
    return (now or datetime.now(UTC)).astimezone(zone).date()


def delta_percent(current: int, previous: int) -> float | None:
    """The change from `previous` to `current` in %; None when there was nothing before
    (no percentage of zero means anything)."""
    if previous == 0:
        return None
    return (current - previous) * 100 / abs(previous)


def _first_of_month(day: date) -> date:
    return day.replace(day=1)


def preset(key: str, today: date) -> DateRange:
    """The range `key` (any of RANGE_CHOICES but "custom") as seen on `today`."""
    if key == "yesterday":
        day = today - timedelta(days=1)
        return DateRange(key, day, day)
    if key in _TRAILING:
        return DateRange(key, today - timedelta(days=_TRAILING[key] - 1), today)
    if key == "this-month":
        return DateRange(key, _first_of_month(today), today)
    if key == "last-month":
        end = _first_of_month(today) - timedelta(days=1)
        return DateRange(key, _first_of_month(end), end)
    raise KeyError(key)


def _parse_day(value: str | None, which: str) -> date:
    value = (value or "").strip()
    if not value:
        raise RangeError(f"Choose the {which} date of the range.", which)
    try:
        if not _ISO_DAY.fullmatch(value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise RangeError(
            f"The {which} date is not a date: write it as YYYY-MM-DD, for example 2026-03-01.",
            which,
        ) from None


def parse_range(args: Mapping[str, str], today: date) -> DateRange:
    """The range a page's query string asks for (`range`, and `start`/`end` for a custom
    one). An unknown `range` gives the last 30 days; a custom range ending in the future
    ends today; a custom range that makes no sense raises `RangeError`."""
    key = (args.get("range") or DEFAULT).strip()
    if key != "custom":
        return preset(key if key in LABELS else DEFAULT, today)
    start, end = _parse_day(args.get("start"), "start"), _parse_day(args.get("end"), "end")
    if start > end:
        raise RangeError("The end date must be on or after the start date.", "end")
    if start > today:
        raise RangeError("The start date is in the future: there is nothing to show yet.")
    end = min(end, today)
    if (end - start).days + 1 > MAX_CUSTOM_DAYS:
        raise RangeError(f"A custom range can cover at most {MAX_CUSTOM_DAYS} days.", "end")
    return DateRange("custom", start, end)
