"""The shop's own settings: one row per shop (id 1)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, DateTime, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from saas.db import TenantModel


class ShopSettings(TenantModel):
    __tablename__ = "shop_settings"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, default=1, autoincrement=False)
    contact_email: Mapped[str] = mapped_column(String(320), default="")
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    address_line1: Mapped[str] = mapped_column(String(200), default="")
    address_line2: Mapped[str] = mapped_column(String(200), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    region: Mapped[str] = mapped_column(String(100), default="")
    postal_code: Mapped[str] = mapped_column(String(20), default="")
    country: Mapped[str] = mapped_column(String(2), default="")
    # File name under the shop's media folder, re-encoded by us; None: no logo.
    logo_file: Mapped[str | None] = mapped_column(String(100))
    # argon2 hash of the password that lets visitors in before launch; None: none set.
    storefront_password_hash: Mapped[str | None] = mapped_column(String(255))
    theme_chosen: Mapped[bool] = mapped_column(Boolean, default=False)
    payments_ready: Mapped[bool] = mapped_column(Boolean, default=False)
    low_stock_threshold: Mapped[int] = mapped_column(Integer, default=5, server_default="5")
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
