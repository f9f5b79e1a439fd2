"""The catalog. Prices are integer minor units (cents) in the shop's currency.

`Product.price_cents` and `Product.inventory_quantity` are a summary of the product's
variants (lowest price; sum of tracked stock, None when no variant tracks stock), kept
in step by `tenants.catalog.products.sync_summary` whenever variants change. They stay
real columns, not properties, because listing, sorting and the dashboard's low-stock
query filter on them in SQL, and existing code (storefront, demo, bench) reads them.
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ARRAY,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from saas.db import TenantModel
from tenants.private import PrivateModel


class ProductStatus(enum.StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    ARCHIVED = "archived"


class Product(TenantModel):
    __tablename__ = "products"
    __table_args__ = (CheckConstraint("price_cents >= 0", name="price_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    handle: Mapped[str] = mapped_column(String(255), unique=True)
    title: Mapped[str] = mapped_column(String(255))
    # Sanitised HTML (an allow-list of tags, see services.catalog.clean_description).
    description: Mapped[str] = mapped_column(Text, default="")
    price_cents: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default=ProductStatus.ACTIVE)
    # None: stock is not tracked for this product.
    inventory_quantity: Mapped[int | None] = mapped_column(Integer)
    vendor: Mapped[str] = mapped_column(String(255), default="", server_default=text("''"))
    product_type: Mapped[str] = mapped_column(String(255), default="", server_default=text("''"))
    tags: Mapped[list[str]] = mapped_column(
        ARRAY(String(255)), default=list, server_default=text("'{}'")
    )
    seo_title: Mapped[str] = mapped_column(String(255), default="", server_default=text("''"))
    seo_description: Mapped[str] = mapped_column(String(500), default="", server_default=text("''"))
    # Keep selling when tracked stock reaches zero (backorders).
    # Added to by checkout when an order is paid: the "best selling" sort reads it.
    units_sold: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    # Page views of the last 30 days, set once a day by the analytics rollup: the "most
    # popular" sort reads it (`tenants.analytics.popularity`).
    recent_views: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    # Published reviews' mean rating and number (`tenants.reviews.services` keeps them in
    # the transaction that publishes, unpublishes or deletes one): cards and the "rating"
    # sort read them without touching reviews.
    rating_average: Mapped[Decimal] = mapped_column(
        Numeric(3, 2), default=Decimal(0), server_default=text("0")
    )
    rating_count: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    continue_selling: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    options: Mapped[list[ProductOption]] = relationship(
        order_by="ProductOption.position", cascade="all, delete-orphan", back_populates="product"
    )
    variants: Mapped[list[ProductVariant]] = relationship(
        order_by="ProductVariant.position, ProductVariant.id",
        cascade="all, delete-orphan",
        back_populates="product",
    )
    images: Mapped[list[ProductImage]] = relationship(
        order_by="ProductImage.position, ProductImage.id",
        cascade="all, delete-orphan",
        back_populates="product",
    )

    def __repr__(self) -> str:
        return f"<Product {self.id} {self.handle!r}>"


class ProductRedirect(TenantModel):
    """An old handle that still leads to its product after the handle changed."""

    __tablename__ = "product_redirects"

    id: Mapped[int] = mapped_column(primary_key=True)
    old_handle: Mapped[str] = mapped_column(String(255), unique=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ProductOption(TenantModel):
    """One of at most three choices a product comes in (Size: S, M, L)."""

    __tablename__ = "product_options"
    __table_args__ = (
        UniqueConstraint("product_id", "position", name="product_position"),
        CheckConstraint("position BETWEEN 1 AND 3", name="position_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(255))
    values: Mapped[list[str]] = mapped_column(ARRAY(String(255)))

    product: Mapped[Product] = relationship(back_populates="options")


class ProductImage(TenantModel):
    __tablename__ = "product_images"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), index=True
    )
    # The re-encoded original under the shop's media folder; sized copies are named
    # `<stem>-<width>w<suffix>` next to it once the resize job has run.
    file: Mapped[str] = mapped_column(String(100))
    alt: Mapped[str] = mapped_column(String(512), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    # Widths of the sized copies made so far (empty until the job runs).
    sizes: Mapped[list[int]] = mapped_column(ARRAY(Integer), default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    product: Mapped[Product] = relationship(back_populates="images")

    def sized(self, width: int) -> str:
        """The file name of the copy `width` pixels wide (the original if not made yet)."""
        if width not in (self.sizes or []):
            return self.file
        stem, dot, suffix = self.file.rpartition(".")
        return f"{stem}-{width}w{dot}{suffix}"


class ProductVariant(TenantModel):
    __tablename__ = "product_variants"
    __table_args__ = (
        CheckConstraint("price_cents >= 0", name="price_not_negative"),
        CheckConstraint(
            "compare_at_cents IS NULL OR compare_at_cents >= price_cents",
            name="compare_at_not_below_price",
        ),
        CheckConstraint("weight_grams IS NULL OR weight_grams >= 0", name="weight_not_negative"),
        CheckConstraint("cost_cents IS NULL OR cost_cents >= 0", name="cost_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=1)
    option1: Mapped[str | None] = mapped_column(String(255))
    option2: Mapped[str | None] = mapped_column(String(255))
    option3: Mapped[str | None] = mapped_column(String(255))
    # Unique within the shop (each shop has its own schema), so two shops may share one.
    sku: Mapped[str | None] = mapped_column(String(255), unique=True)
    price_cents: Mapped[int] = mapped_column(Integer)
    compare_at_cents: Mapped[int | None] = mapped_column(Integer)
    # What one unit cost the merchant, if they said: the stock's value at cost (analytics).
    cost_cents: Mapped[int | None] = mapped_column(Integer)
    weight_grams: Mapped[int | None] = mapped_column(Integer)
    barcode: Mapped[str | None] = mapped_column(String(64))
    inventory_tracked: Mapped[bool] = mapped_column(Boolean, default=False)
    inventory_quantity: Mapped[int] = mapped_column(Integer, default=0)
    image_id: Mapped[int | None] = mapped_column(
        ForeignKey("product_images.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    product: Mapped[Product] = relationship(back_populates="variants")

    @property
    def title(self) -> str:
        values = [v for v in (self.option1, self.option2, self.option3) if v]
        return " / ".join(values) or "Default"


class ImportStatus(enum.StrEnum):
    PREVIEWED = "previewed"  # checked, waiting for the merchant to confirm
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


# While a run is in these, its page refreshes itself (product and review imports).
IMPORT_IN_PROGRESS = (ImportStatus.QUEUED, ImportStatus.RUNNING)


class ProductImport(PrivateModel):
    """One product CSV upload: its dry-run findings, then the import job's progress.

    The file's text is kept only until the import ends (the job re-reads it, so a catalog
    changed between preview and confirm is checked again); `problems` and `notes` are
    lists of {"row", "column", "message"}.
    """

    __tablename__ = "product_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(255), default="")
    status: Mapped[str] = mapped_column(String(20), default=ImportStatus.PREVIEWED)
    csv_text: Mapped[str] = mapped_column(Text, default="")
    # What the dry run found: products to create and update, variants, rows.
    summary: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    problems: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    notes: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    total: Mapped[int] = mapped_column(Integer, default=0)  # products in the file
    processed: Mapped[int] = mapped_column(Integer, default=0)
    failure: Mapped[str] = mapped_column(Text, default="")
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# --- stock history: every change to a variant's tracked quantity, with why and by whom


class AdjustmentReason(enum.StrEnum):
    RECEIVED = "received"
    CORRECTION = "correction"
    DAMAGED = "damaged"
    SOLD = "sold"
    RETURNED = "returned"
    IMPORTED = "imported"  # set by a product CSV import, never chosen by hand


class InventoryAdjustment(PrivateModel):
    __tablename__ = "inventory_adjustments"

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
