"""The products shoppers can see (the active ones): the catalog's pages, a product by
its handle, and where an old handle leads now."""

from __future__ import annotations

from sqlalchemy import func, select

from saas.db import db
from tenants.catalog.models import Product, ProductRedirect, ProductStatus


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


def redirected_handle(old_handle: str) -> str | None:
    """The current handle of the active product that used to be at `old_handle`."""
    return db.session.scalar(
        select(Product.handle)
        .join(ProductRedirect, ProductRedirect.product_id == Product.id)
        .where(ProductRedirect.old_handle == old_handle, Product.status == ProductStatus.ACTIVE)
    )
