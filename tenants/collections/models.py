"""Collections: a hand-ordered list of products, or the products matching rules."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from saas.db import TenantModel


class CollectionKind(enum.StrEnum):
    MANUAL = "manual"
    AUTOMATIC = "automatic"


class CollectionSort(enum.StrEnum):
    MANUAL = "manual"
    TITLE = "title"
    PRICE_ASC = "price-asc"
    PRICE_DESC = "price-desc"
    NEWEST = "newest"
    BEST_SELLING = "best-selling"
    POPULAR = "most-popular"
    RATING = "rating"


class Collection(TenantModel):
    __tablename__ = "collections"

    id: Mapped[int] = mapped_column(primary_key=True)
    handle: Mapped[str] = mapped_column(String(255), unique=True)
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(20), default=CollectionKind.MANUAL)
    # Automatic collections: every rule must match (True) or any one (False).
    match_all: Mapped[bool] = mapped_column(Boolean, default=True)
    # [{"field": "tag"|"product_type"|"vendor", "value": str}
    #  | {"field": "price", "min": cents|None, "max": cents|None}]
    rules: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    sort: Mapped[str] = mapped_column(String(20), default=CollectionSort.MANUAL)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class CollectionProduct(TenantModel):
    """A product's place in a manual collection."""

    __tablename__ = "collection_products"

    collection_id: Mapped[int] = mapped_column(
        ForeignKey("collections.id", ondelete="CASCADE"), primary_key=True
    )
    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
