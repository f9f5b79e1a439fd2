"""Orders, as far as the back office reads them (checkout builds on this table)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from saas.db import TenantModel


class OrderStatus(enum.StrEnum):
    PENDING = "pending"
    PAID = "paid"
    FULFILLED = "fulfilled"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


# Orders that count as sales on the dashboard.
SALE_STATUSES = (OrderStatus.PAID, OrderStatus.FULFILLED)


class Order(TenantModel):
    __tablename__ = "orders"
    __table_args__ = (CheckConstraint("total_cents >= 0", name="total_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)  # shown to people: #1001
    email: Mapped[str] = mapped_column(String(320))
    customer_name: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(20), default=OrderStatus.PENDING)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    total_cents: Mapped[int] = mapped_column(Integer)
    placed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), index=True
    )
