"""Catalog rules: creating and listing products (the catalog issue grows this)."""

from __future__ import annotations

import re
import unicodedata

from sqlalchemy import func, select

from saas.db import db
from tenants.models import Product, ProductStatus


class ProductError(ValueError):
    """Invalid product input; the message is meant for the merchant."""


def handleize(text: str) -> str:
    """A URL handle from a title: 'Blue T-Shirt!' -> 'blue-t-shirt'."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:255]


def create_product(
    title: str,
    price_cents: int,
    *,
    handle: str | None = None,
    description: str = "",
    status: str = ProductStatus.ACTIVE,
) -> Product:
    """Add a product to the current shop's catalog. Flushes; the caller commits."""
    title = title.strip()
    if not title:
        raise ProductError("A product needs a title.")
    if not isinstance(price_cents, int) or price_cents < 0:
        raise ProductError("The price must be zero or more.")
    handle = handleize(handle or title)
    if not handle:
        raise ProductError("The handle must contain letters or digits.")
    if db.session.scalar(select(Product.id).where(Product.handle == handle)) is not None:
        raise ProductError(f"Another product already uses the handle “{handle}”.")
    product = Product(
        title=title, handle=handle, description=description, price_cents=price_cents, status=status
    )
    db.session.add(product)
    db.session.flush()
    return product


def active_products(*, page: int = 1, per_page: int = 24) -> tuple[list[Product], int]:
    """One page of the products shoppers can see, newest first, and the total count."""
    page = max(page, 1)
    visible = Product.status == ProductStatus.ACTIVE
    rows = list(
        db.session.scalars(
            select(Product)
            .where(visible)
            .order_by(Product.created_at.desc(), Product.id.desc())
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    )
    if page == 1 and len(rows) < per_page:  # the whole catalog fits: no count query
        return rows, len(rows)
    total = db.session.scalar(select(func.count()).select_from(Product).where(visible)) or 0
    return rows, total


def product_by_handle(handle: str) -> Product | None:
    return db.session.scalar(
        select(Product).where(Product.handle == handle, Product.status == ProductStatus.ACTIVE)
    )
