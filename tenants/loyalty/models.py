"""Loyalty points: the shop's programme (one row), each customer's account, and the
ledger every change of points is a line of.

The ledger (`PointsEntry`) is the truth: a customer's points are the sum of its lines.
`PointsAccount` keeps that sum in two columns, changed in the same statement as each
line is added, so checkout reads one row and two spends of the same points cannot both
pass: a redemption is `UPDATE ... SET balance = balance - n WHERE balance >= n`, and the
CHECK constraints stop anything that would take an account below zero.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from tenants.private import PrivateModel


class LoyaltyProgram(PrivateModel):
    """The merchant's rules. Amounts of currency are whole units of the shop's currency
    (one dollar, one euro, one yen): points per unit spent, points per unit off."""

    __tablename__ = "loyalty_program"
    __table_args__ = (
        CheckConstraint("id = 1", name="single_row"),
        CheckConstraint(
            "points_per_unit >= 0 AND signup_points >= 0 AND first_order_points >= 0 "
            "AND review_points >= 0 AND birthday_points >= 0",
            name="earning_not_negative",
        ),
        CheckConstraint("points_per_unit_off > 0", name="redeem_rate_positive"),
        CheckConstraint("max_share_percent BETWEEN 1 AND 100", name="share_range"),
        CheckConstraint("min_redeem >= 0 AND holding_days >= 0 AND expiry_months >= 0",
                        name="limits_not_negative"),
    )  # fmt: skip

    id: Mapped[int] = mapped_column(primary_key=True, default=1, autoincrement=False)
    enabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    points_per_unit: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    signup_points: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    first_order_points: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    review_points: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    birthday_points: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # How many points make one unit of currency off an order.
    points_per_unit_off: Mapped[int] = mapped_column(Integer, default=100, server_default="100")
    min_redeem: Mapped[int] = mapped_column(Integer, default=100, server_default="100")
    # The most of an order's goods (after discounts) points may pay.
    max_share_percent: Mapped[int] = mapped_column(Integer, default=50, server_default="50")
    # Earned points become spendable after this many days (the refund window).
    holding_days: Mapped[int] = mapped_column(Integer, default=14, server_default="14")
    # Points expire after this many months without activity (0: never).
    expiry_months: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # What member tiers are reached by over the last 12 months: "spend" (minor units of
    # items paid, after discounts and refunds) or "points" (points earned).
    tier_basis: Mapped[str] = mapped_column(String(10), default="spend", server_default="spend")
    # The shop-local day the sweep last put every customer in their tier (once a day).
    tiers_checked_on: Mapped[date | None] = mapped_column(Date)
    # Referrals: the friend's first order gets `referral_percent` off its items; the
    # customer who referred them earns `referral_points` once it is paid (held like any
    # order's points), at most `referral_monthly_cap` times a calendar month.
    referral_percent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    referral_points: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    referral_monthly_cap: Mapped[int] = mapped_column(Integer, default=10, server_default="10")

    @property
    def referrals_on(self) -> bool:
        return bool(self.referral_percent or self.referral_points)

    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class TierBasis(enum.StrEnum):
    SPEND = "spend"
    POINTS = "points"


class LoyaltyTier(PrivateModel):
    """A member tier (Silver, Gold...): reached at `threshold` of the programme's basis
    over the last 12 months, with the benefits the merchant picked."""

    __tablename__ = "loyalty_tiers"
    __table_args__ = (
        CheckConstraint("threshold > 0", name="threshold_positive"),
        CheckConstraint("discount_percent BETWEEN 0 AND 90", name="discount_range"),
        CheckConstraint("points_multiplier_percent BETWEEN 100 AND 1000", name="multiplier_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    threshold: Mapped[int] = mapped_column(Integer)
    # Off every order's items, after its discount code.
    discount_percent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    free_shipping: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    # Points earned on orders, in percent: 150 is one and a half times.
    points_multiplier_percent: Mapped[int] = mapped_column(
        Integer, default=100, server_default="100"
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class PointsAccount(PrivateModel):
    """A customer's points: `balance` spendable now, `pending` earned but still held."""

    __tablename__ = "loyalty_accounts"
    __table_args__ = (
        CheckConstraint("balance >= 0", name="balance_not_negative"),
        CheckConstraint("pending >= 0", name="pending_not_negative"),
    )

    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    balance: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    pending: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The last earning or spending: points expire counted from here.
    last_activity_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    # The customer's referral link's code (`/r/<code>`), made when first shown.
    referral_code: Mapped[str | None] = mapped_column(String(24), unique=True)
    # The member tier reached (kept by `tiers.recompute`); None: none.
    tier_id: Mapped[int | None] = mapped_column(
        ForeignKey("loyalty_tiers.id", ondelete="SET NULL"), index=True
    )


class EntryKind(enum.StrEnum):
    EARN = "earn"
    REDEEM = "redeem"
    EXPIRE = "expire"
    ADJUST = "adjust"
    REVERSE = "reverse"


class PointsEntry(PrivateModel):
    """One change of a customer's points, never edited (a mistake is undone by a new
    line). `held` lines count in `pending` until `available_at`, then in `balance`."""

    __tablename__ = "loyalty_entries"
    __table_args__ = (
        # (a take-back of points all spent already is all forgiven: 0 points, recorded)
        CheckConstraint("points <> 0 OR forgiven > 0", name="points_not_zero"),
        Index("ix_loyalty_entries_customer", "customer_id", "id"),
        Index("ix_loyalty_entries_held", "available_at", postgresql_where="held"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))
    # What it is for, in the customer's words: "Order #1004", "Signing up", a reason.
    label: Mapped[str] = mapped_column(String(200), default="")
    points: Mapped[int] = mapped_column(Integer)
    held: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    available_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("orders.id", ondelete="SET NULL"), index=True
    )
    staff_id: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    # A take-back's points that were already spent and so not taken (forgiven): they
    # count as settled, so a later refund of the order never asks for them again.
    forgiven: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # What makes the line happen once: "order-earn:12", "signup", "review:5".
    key: Mapped[str | None] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Referral(PrivateModel):
    """A referred customer's first paid order: whether it rewarded who referred them (at
    most once per referred customer: the unique `referred_id`)."""

    __tablename__ = "loyalty_referrals"

    id: Mapped[int] = mapped_column(primary_key=True)
    referrer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    referred_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), unique=True
    )
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"))
    rewarded: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    # Why not, when not: "monthly cap", "the same person".
    refused: Mapped[str] = mapped_column(String(200), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
