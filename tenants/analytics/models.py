"""Visits rolled up by day: what `tenants.analytics.rollup` folds out of Redis.

Days are calendar days in the shop's time zone (the zone when the hour was folded).
Private tables: folding never drops the shop's cached pages.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Index, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from saas.db import TenantModel


class AnalyticsDay(TenantModel):
    """A day's visits and its funnel (sessions that reached each step)."""

    __tablename__ = "analytics_days"
    storefront_visible = False

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    pageviews: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Sum of each UTC day's new visitors over the day's hours (a visitor is one per UTC
    # day: a shop far from UTC may see one person twice on a local day).
    visitors: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    sessions: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    product_sessions: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    cart_sessions: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    checkout_sessions: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    order_sessions: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class AnalyticsDayCount(TenantModel):
    """A day's count for one value of a dimension (`visits.DIMENSIONS`): page views per
    path and per product, sessions per referrer, UTM value, device and landing page."""

    __tablename__ = "analytics_day_counts"
    # A report reads one dimension over a range: its rows only, not every dimension's.
    __table_args__ = (Index("ix_analytics_day_counts_dimension_day", "dimension", "day"),)
    storefront_visible = False

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    dimension: Mapped[str] = mapped_column(String(20), primary_key=True)
    value: Mapped[str] = mapped_column(String(200), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class AnalyticsMonthCount(TenantModel):
    """A calendar month's `AnalyticsDayCount` rows added up (the fold adds to both): a
    year of sources, pages or products is twelve months of rows and the days at its
    ends, not 365 days of them."""

    __tablename__ = "analytics_month_counts"
    storefront_visible = False

    dimension: Mapped[str] = mapped_column(String(20), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)  # its first day
    value: Mapped[str] = mapped_column(String(200), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class AnalyticsFoldedHour(TenantModel):
    """A UTC hour already folded into the days: a rerun skips it, never counts twice."""

    __tablename__ = "analytics_folded_hours"
    storefront_visible = False

    hour: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    folded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class AnalyticsCustomerDay(TenantModel):
    """A customer of the shop who browsed it signed in on that (shop-local) day: with the
    day's buyers, the shop's active customers (`tenants.analytics.active`)."""

    __tablename__ = "analytics_customer_days"
    storefront_visible = False

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True, index=True
    )
