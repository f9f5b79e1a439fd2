"""Date ranges of the analytics pages: every choice, custom ranges and their refusals,
the period before, and the UTC instants of local days (clock changes included)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from tenants.analytics.ranges import (
    RANGE_CHOICES,
    DateRange,
    RangeError,
    delta_percent,
    parse_range,
    shop_today,
)

TODAY = date(2026, 3, 18)  # a Wednesday


@pytest.mark.parametrize(
    ("key", "start", "end", "label"),
    [
        ("today", date(2026, 3, 18), date(2026, 3, 18), "Today"),
        ("yesterday", date(2026, 3, 17), date(2026, 3, 17), "Yesterday"),
        ("7d", date(2026, 3, 12), date(2026, 3, 18), "Last 7 days"),
        ("30d", date(2026, 2, 17), date(2026, 3, 18), "Last 30 days"),
        ("90d", date(2025, 12, 19), date(2026, 3, 18), "Last 90 days"),
        ("this-month", date(2026, 3, 1), date(2026, 3, 18), "This month"),
        ("last-month", date(2026, 2, 1), date(2026, 2, 28), "Last month"),
    ],
)
def test_every_preset(key, start, end, label):
    r = parse_range({"range": key}, TODAY)
    assert (r.key, r.start, r.end, r.label) == (key, start, end, label)
    assert r.days == (end - start).days + 1
    assert r.query_args() == {"range": key}
    assert parse_range(r.query_args(), TODAY) == r


def test_choices_are_the_issue_s():
    assert [k for k, _ in RANGE_CHOICES] == [
        "today", "yesterday", "7d", "30d", "90d", "this-month", "last-month", "custom",
    ]  # fmt: skip


def test_unknown_or_missing_range_is_the_last_30_days():
    for args in ({}, {"range": ""}, {"range": "forever"}, {"range": "<script>"}):
        r = parse_range(args, TODAY)
        assert (r.key, r.start, r.end) == ("30d", date(2026, 2, 17), TODAY)


def test_custom_range_and_its_label():
    r = parse_range({"range": "custom", "start": "2026-03-01", "end": "2026-03-05"}, TODAY)
    assert (r.key, r.start, r.end, r.days) == ("custom", date(2026, 3, 1), date(2026, 3, 5), 5)
    assert r.label == "1 Mar \u2013 5 Mar 2026"
    assert r.query_args() == {"range": "custom", "start": "2026-03-01", "end": "2026-03-05"}
    assert parse_range(r.query_args(), TODAY) == r
    one = parse_range({"range": "custom", "start": "2026-03-04", "end": "2026-03-04"}, TODAY)
    assert (one.days, one.label) == (1, "4 Mar 2026")
    across = DateRange("custom", date(2025, 12, 28), date(2026, 1, 3))
    assert across.label == "28 Dec 2025 \u2013 3 Jan 2026"


@pytest.mark.parametrize(
    ("start", "end", "message", "field"),
    [
        ("", "2026-03-05", "Choose the start date of the range.", "start"),
        ("2026-03-01", None, "Choose the end date of the range.", "end"),
        ("2026-02-30", "2026-03-05", "The start date is not a date", "start"),
        ("01/03/2026", "2026-03-05", "The start date is not a date", "start"),
        ("20260301", "2026-03-05", "The start date is not a date", "start"),
        ("2026-03-01", "tomorrow", "The end date is not a date", "end"),
        ("2026-03-06", "2026-03-05", "The end date must be on or after the start date.", "end"),
        ("2026-03-19", "2026-03-25", "The start date is in the future", "start"),
        ("2025-03-16", "2026-03-17", "at most 366 days", "end"),
    ],
)
def test_custom_range_refusals_say_why(start, end, message, field):
    args = {"range": "custom", "start": start}
    if end is not None:
        args["end"] = end
    with pytest.raises(RangeError) as refused:
        parse_range(args, TODAY)
    assert message in str(refused.value) and refused.value.field == field
    assert isinstance(refused.value, ValueError)


def test_custom_range_ending_in_the_future_ends_today_and_366_days_is_allowed():
    r = parse_range({"range": "custom", "start": "2026-03-10", "end": "2026-12-31"}, TODAY)
    assert (r.start, r.end) == (date(2026, 3, 10), TODAY)
    leap = parse_range(
        {"range": "custom", "start": "2028-01-01", "end": "2028-12-31"}, date(2029, 1, 5)
    )
    assert leap.days == 366
    # clamped first, then measured: a long range that mostly lies ahead is fine
    ahead = parse_range({"range": "custom", "start": "2026-01-01", "end": "2027-06-01"}, TODAY)
    assert (ahead.start, ahead.end) == (date(2026, 1, 1), TODAY)


def test_previous_period_is_the_same_length_just_before():
    r = parse_range({"range": "7d"}, TODAY)
    before = r.previous()
    assert (before.key, before.start, before.end, before.days) == (
        "previous", date(2026, 3, 5), date(2026, 3, 11), 7,
    )  # fmt: skip
    assert before.label == "5 Mar \u2013 11 Mar 2026"
    assert before.query_args() == {"range": "custom", "start": "2026-03-05", "end": "2026-03-11"}
    today = parse_range({"range": "today"}, TODAY).previous()
    assert (today.start, today.end) == (date(2026, 3, 17), date(2026, 3, 17))
    # this month so far (18 days) against the 18 days before it
    month = parse_range({"range": "this-month"}, TODAY).previous()
    assert (month.start, month.end) == (date(2026, 2, 11), date(2026, 2, 28))


def test_month_edges_and_29_february():
    assert _span("last-month", date(2024, 3, 31)) == (date(2024, 2, 1), date(2024, 2, 29))
    assert _span("last-month", date(2026, 1, 1)) == (date(2025, 12, 1), date(2025, 12, 31))
    assert _span("this-month", date(2024, 2, 29)) == (date(2024, 2, 1), date(2024, 2, 29))
    assert _span("this-month", date(2026, 5, 1)) == (date(2026, 5, 1), date(2026, 5, 1))
    assert _span("yesterday", date(2024, 3, 1)) == (date(2024, 2, 29), date(2024, 2, 29))
    assert _span("7d", date(2024, 3, 3)) == (date(2024, 2, 26), date(2024, 3, 3))
    # last month of a leap March: 29 days, and the period before it is the 29 days before
    feb = parse_range({"range": "last-month"}, date(2024, 3, 10))
    assert feb.days == 29
    assert (feb.previous().start, feb.previous().end) == (date(2024, 1, 3), date(2024, 1, 31))
    custom = parse_range({"range": "custom", "start": "2024-02-29", "end": "2024-02-29"}, TODAY)
    assert custom.label == "29 Feb 2024"


def _span(key: str, today: date) -> tuple[date, date]:
    r = parse_range({"range": key}, today)
    return r.start, r.end


def test_bounds_are_local_midnights_in_utc_including_clock_changes():
    la = ZoneInfo("America/Los_Angeles")
    march = DateRange("custom", date(2026, 3, 1), date(2026, 3, 1))
    assert march.bounds(la) == (
        datetime(2026, 3, 1, 8, tzinfo=UTC), datetime(2026, 3, 2, 8, tzinfo=UTC),
    )  # fmt: skip
    # 8 March 2026: clocks go forward, the day lasts 23 hours
    spring = DateRange("custom", date(2026, 3, 8), date(2026, 3, 8)).bounds(la)
    assert spring == (datetime(2026, 3, 8, 8, tzinfo=UTC), datetime(2026, 3, 9, 7, tzinfo=UTC))
    tokyo = DateRange("custom", date(2026, 3, 1), date(2026, 3, 2)).bounds(ZoneInfo("Asia/Tokyo"))
    assert tokyo == (datetime(2026, 2, 28, 15, tzinfo=UTC), datetime(2026, 3, 2, 15, tzinfo=UTC))
    assert all(b.utcoffset().total_seconds() == 0 for b in tokyo)


def test_shop_today_is_the_local_date():
    now = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
    assert shop_today(ZoneInfo("America/Los_Angeles"), now) == date(2026, 3, 1)
    assert shop_today(ZoneInfo("UTC"), now) == date(2026, 3, 2)
    assert shop_today(ZoneInfo("Asia/Tokyo"), datetime(2026, 3, 1, 15, tzinfo=UTC)) == date(
        2026, 3, 2
    )


def test_delta_percent():
    assert delta_percent(150, 100) == 50.0
    assert delta_percent(50, 100) == -50.0
    assert delta_percent(100, 100) == 0.0
    assert delta_percent(5, 0) is None
    assert delta_percent(0, 0) is None
    assert delta_percent(0, 40) == -100.0
    assert delta_percent(-50, -100) == 50.0  # net sales can be negative (refunds)
