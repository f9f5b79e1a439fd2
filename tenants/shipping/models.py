"""Where a shop ships, what it charges, and the taxes it collects."""

from __future__ import annotations

import enum

from sqlalchemy import ARRAY, CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tenants.private import PrivateModel


class RateKind(enum.StrEnum):
    FLAT = "flat"  # always applies
    WEIGHT = "weight"  # applies when the cart's weight (grams) is within [min, max]
    PRICE = "price"  # applies when the cart's subtotal (minor units) is within [min, max]


class ShippingZone(PrivateModel):
    __tablename__ = "shipping_zones"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    countries: Mapped[list[str]] = mapped_column(ARRAY(String(2)), default=list)
    # ISO 3166-2 codes ("US-CA"); empty: the whole of each country.
    regions: Mapped[list[str]] = mapped_column(ARRAY(String(10)), default=list)

    rates: Mapped[list[ShippingRate]] = relationship(
        back_populates="zone", order_by="ShippingRate.price_cents", cascade="all, delete-orphan"
    )


class ShippingRate(PrivateModel):
    __tablename__ = "shipping_rates"
    __table_args__ = (
        CheckConstraint("price_cents >= 0", name="price_not_negative"),
        CheckConstraint("min_value >= 0", name="min_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    zone_id: Mapped[int] = mapped_column(
        ForeignKey("shipping_zones.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(10), default=RateKind.FLAT)
    min_value: Mapped[int] = mapped_column(Integer, default=0)
    max_value: Mapped[int | None] = mapped_column(Integer)
    price_cents: Mapped[int] = mapped_column(Integer)
    # The rate costs nothing when the subtotal reaches this.
    free_over_cents: Mapped[int | None] = mapped_column(Integer)

    zone: Mapped[ShippingZone] = relationship(back_populates="rates")


class TaxRate(PrivateModel):
    __tablename__ = "tax_rates"
    __table_args__ = (CheckConstraint("rate_bp >= 0 AND rate_bp <= 10000", name="rate_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    country: Mapped[str] = mapped_column(String(2))
    region: Mapped[str] = mapped_column(String(10), default="")  # "" : the whole country
    name: Mapped[str] = mapped_column(String(100))  # shown on the order: "VAT"
    rate_bp: Mapped[int] = mapped_column(Integer)  # basis points: 2000 is 20 %
