"""Stock history: every change to a variant's tracked quantity, with why and by whom."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from saas.db import TenantModel


class AdjustmentReason(enum.StrEnum):
    RECEIVED = "received"
    CORRECTION = "correction"
    DAMAGED = "damaged"
    SOLD = "sold"
    RETURNED = "returned"
    IMPORTED = "imported"  # set by a product CSV import, never chosen by hand


class InventoryAdjustment(TenantModel):
    __tablename__ = "inventory_adjustments"
    storefront_visible = False  # private: never on a shop page

    id: Mapped[int] = mapped_column(primary_key=True)
    variant_id: Mapped[int] = mapped_column(
        ForeignKey("product_variants.id", ondelete="CASCADE"), index=True
    )
    delta: Mapped[int] = mapped_column(Integer)
    quantity_after: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(String(500), default="")
    # None: the system (an order) or a staff member since removed.
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
