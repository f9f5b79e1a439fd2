"""Reviews of products, and their photos.

A review is written from an order line (one review per line; writing again replaces
it) or, when the merchant allows it, by someone who bought nothing. Only published
reviews count in the product's `rating_average` / `rating_count`, which the services of
`tenants.reviews.services` keep in step in the same transaction as every change of
what is published.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from saas.db import TenantModel


class ReviewStatus(enum.StrEnum):
    PENDING = "pending"  # waiting on the merchant (approve-all, or held)
    PUBLISHED = "published"
    REJECTED = "rejected"


class Review(TenantModel):
    __tablename__ = "reviews"
    # Writes to reviews do not move the page cache on by themselves: a pending review or
    # a report changes no page. What changes a page (publishing, unpublishing, deleting,
    # a reply on a published review) calls `storefront_changed` in the service.
    storefront_visible = False
    __table_args__ = (
        CheckConstraint("rating BETWEEN 1 AND 5", name="rating_range"),
        CheckConstraint("report_count >= 0", name="report_count_not_negative"),
        # The product page's page of reviews and its distribution, newest first.
        Index("ix_reviews_product_status_created", "product_id", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    # The line it reviews: one review per line. None: a non-buyer's review or an import.
    order_line_id: Mapped[int | None] = mapped_column(
        ForeignKey("order_lines.id", ondelete="SET NULL"), unique=True
    )
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    rating: Mapped[int] = mapped_column(SmallInteger)
    title: Mapped[str] = mapped_column(String(150), default="")
    # Plain text (tags removed when saved); templates escape it.
    body: Mapped[str] = mapped_column(Text, default="")
    author_name: Mapped[str] = mapped_column(String(80))
    # Where a non-buyer can be reached (never shown); buyers' reviews have their order's.
    email: Mapped[str] = mapped_column(String(320), default="", server_default=text("''"))
    status: Mapped[str] = mapped_column(String(20), default=ReviewStatus.PENDING)
    # Why an auto-published shop held this one ("contains a link"...), for the queue.
    held_reason: Mapped[str] = mapped_column(String(200), default="", server_default=text("''"))
    verified: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # A shopper's report takes a published review back to the queue (reported reviews
    # never show) until the merchant publishes it again.
    report_count: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    # Kept with `photos`, so the "with photos" sort and the distribution need no join.
    photo_count: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    reply: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))
    replied_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Set once, when first published (imports keep the date they came with).
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    photos: Mapped[list[ReviewPhoto]] = relationship(
        order_by="ReviewPhoto.position, ReviewPhoto.id",
        cascade="all, delete-orphan",
        back_populates="review",
    )


class ReviewPhoto(TenantModel):
    __tablename__ = "review_photos"
    storefront_visible = False  # shown through its review, which says when pages change

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id", ondelete="CASCADE"), index=True)
    # Re-encoded under the shop's media folder, like product images (`sized` copies).
    file: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer, default=0)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    sizes: Mapped[list[int]] = mapped_column(ARRAY(Integer), default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    review: Mapped[Review] = relationship(back_populates="photos")

    def sized(self, width: int) -> str:
        if width not in (self.sizes or []):
            return self.file
        stem, dot, suffix = self.file.rpartition(".")
        return f"{stem}-{width}w{dot}{suffix}"


class ReviewImport(TenantModel):
    """One review CSV upload: its dry run, then the import job's progress and how it
    ended (as `ProductImport` is for products, with its `ImportStatus` values). The
    file's text is kept only between a clean dry run and the import's end; `problems`
    are lists of {"row", "column", "message"}."""

    __tablename__ = "review_imports"
    storefront_visible = False  # staff only

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(255), default="")
    # previewed, then queued, running and done or failed (`tenants.catalog.models.ImportStatus`)
    status: Mapped[str] = mapped_column(String(20), default="previewed")
    csv_text: Mapped[str] = mapped_column(Text, default="")
    # What the dry run found: reviews to add, products they are of, rows read.
    summary: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    problems: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    # The job's progress (`saas.job_progress`): reviews in the file, reviews added so far.
    total: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    processed: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    failure: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
