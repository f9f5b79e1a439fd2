"""Discounts: codes shoppers type, and automatic ones (no code) applied at checkout."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    ARRAY,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from tenants.private import PrivateModel


class DiscountKind(enum.StrEnum):
    PERCENTAGE = "percentage"  # `value` in basis points: 1500 is 15 %
    FIXED_AMOUNT = "fixed_amount"  # `value` in minor units off the eligible subtotal
    FREE_SHIPPING = "free_shipping"


class DiscountScope(enum.StrEnum):
    ALL = "all"
    COLLECTIONS = "collections"  # only products in `collection_ids`


class Discount(PrivateModel):
    __tablename__ = "discounts"
    __table_args__ = (
        CheckConstraint("value >= 0", name="value_not_negative"),
        CheckConstraint("times_used >= 0", name="times_used_not_negative"),
        # Codes are unique whatever their case; automatic discounts have none.
        Index("uq_discounts_code_lower", text("lower(code)"), unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str | None] = mapped_column(String(100))  # None: automatic
    title: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str] = mapped_column(String(20))
    value: Mapped[int] = mapped_column(Integer, default=0)
    scope: Mapped[str] = mapped_column(String(20), default=DiscountScope.ALL)
    collection_ids: Mapped[list[int]] = mapped_column(ARRAY(Integer), default=list)
    min_subtotal_cents: Mapped[int] = mapped_column(Integer, default=0)
    starts_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    usage_limit: Mapped[int | None] = mapped_column(Integer)  # in all
    per_customer_limit: Mapped[int | None] = mapped_column(Integer)  # per email
    # Counted by a conditional UPDATE in the order's transaction: never past the limit.
    times_used: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class DiscountUsage(PrivateModel):
    __tablename__ = "discount_usages"

    id: Mapped[int] = mapped_column(primary_key=True)
    discount_id: Mapped[int] = mapped_column(
        ForeignKey("discounts.id", ondelete="CASCADE"), index=True
    )
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320), index=True)  # lowercased
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
