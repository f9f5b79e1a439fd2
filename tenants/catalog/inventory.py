"""Stock: every change to a tracked variant is an adjustment with a reason in the history.

When a change takes a variant's stock from above the shop's low-stock threshold to at
or below it, the caller enqueues `notify_low_stock` after committing; the job mails the
owner once per variant per day (the outbox's dedupe key), however often stock wobbles.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Select, select

from saas.db import db
from saas.mail import send_email
from tenants.catalog.models import AdjustmentReason, InventoryAdjustment, ProductVariant
from tenants.catalog.products import MAX_STOCK, ProductError, sync_summary
from tenants.settings.services import get_settings
from tenants.staff.models import Role, Staff, StaffStatus

MAX_NOTE = 500
REASONS = tuple(AdjustmentReason)
# What staff may pick when they adjust stock by hand.
MANUAL_REASONS = tuple(r for r in AdjustmentReason if r != AdjustmentReason.IMPORTED)


class InventoryError(ProductError):
    """An adjustment that cannot be made; `field` names the form field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def low_stock_threshold() -> int:
    return get_settings().low_stock_threshold


def adjust(
    variant: ProductVariant,
    delta: int,
    reason: str,
    *,
    note: str = "",
    staff_id: int | None = None,
) -> tuple[InventoryAdjustment, bool]:
    """Change a variant's stock by `delta` and record why. Flushes; the caller commits.

    Returns the history row and whether the change crossed the low-stock threshold
    (then the caller enqueues `notify_low_stock(variant.id)` after its commit).
    """
    if reason not in REASONS:
        raise InventoryError("reason", "Choose a reason.")
    note = " ".join((note or "").split())
    if len(note) > MAX_NOTE:
        raise InventoryError("note", f"Use at most {MAX_NOTE} characters.")
    if delta == 0:
        raise InventoryError("delta", "Enter a change other than zero, like 5 or -2.")
    # Lock the row: two adjustments at once must both count.
    db.session.refresh(variant, with_for_update=True)
    before = variant.inventory_quantity if variant.inventory_tracked else 0
    after = before + delta
    if after < 0:
        raise InventoryError("delta", f"Stock cannot go below zero (there are {before}).")
    if after > MAX_STOCK:
        raise InventoryError("delta", "That is more stock than can be recorded.")
    variant.inventory_tracked = True
    variant.inventory_quantity = after
    row = InventoryAdjustment(
        variant_id=variant.id,
        delta=delta,
        quantity_after=after,
        reason=reason,
        note=note,
        staff_id=staff_id,
    )
    db.session.add(row)
    sync_summary(variant.product)
    db.session.flush()
    threshold = low_stock_threshold()
    return row, before > threshold >= after


def set_quantity(
    variant: ProductVariant,
    quantity: int,
    reason: str = AdjustmentReason.CORRECTION,
    *,
    note: str = "",
    staff_id: int | None = None,
) -> tuple[InventoryAdjustment | None, bool]:
    """Set stock to `quantity` (recorded as an adjustment by the difference)."""
    current = variant.inventory_quantity if variant.inventory_tracked else 0
    if quantity == current:
        variant.inventory_tracked = True
        return None, False
    return adjust(variant, quantity - current, reason, note=note, staff_id=staff_id)


def parse_delta(text: str) -> int:
    text = (text or "").strip().replace("+", "", 1)
    if not text.lstrip("-").isdigit() or len(text) > 11:
        raise InventoryError("delta", "Enter a whole number: 5 adds stock, -2 removes it.")
    return int(text)


def history_query(variant_id: int) -> Select:
    return (
        select(InventoryAdjustment, Staff.name)
        .outerjoin(Staff, Staff.id == InventoryAdjustment.staff_id)
        .where(InventoryAdjustment.variant_id == variant_id)
        .order_by(InventoryAdjustment.created_at.desc(), InventoryAdjustment.id.desc())
    )


def owner_email() -> str | None:
    email = db.session.scalar(
        select(Staff.email)
        .where(Staff.role == Role.OWNER, Staff.status == StaffStatus.ACTIVE)
        .order_by(Staff.id)
        .limit(1)
    )
    if email:
        return email
    return get_settings().contact_email or None


def notify_low_stock(variant_id: int) -> None:
    """Job: tell the owner a variant is running low (at most once per variant per day)."""
    variant = db.session.get(ProductVariant, variant_id)
    if variant is None or not variant.inventory_tracked:
        return
    threshold = low_stock_threshold()
    if variant.inventory_quantity > threshold:
        return  # restocked before the job ran
    to = owner_email()
    if not to:
        return
    product = variant.product
    name = product.title if variant.title == "Default" else f"{product.title} ({variant.title})"
    left = variant.inventory_quantity
    day = datetime.now(UTC).date().isoformat()
    send_email(
        to,
        f"Low stock: {name}",
        f"{name}{f' (SKU {variant.sku})' if variant.sku else ''} has {left} left, at or under "
        f"your low-stock threshold of {threshold}.\n\nRestock it, or record what you received "
        "on the product's inventory page.",
        dedupe_key=f"low-stock:{variant.id}:{day}",
    )
