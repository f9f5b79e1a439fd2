"""The back office's product list: its pages, its filter menus and its bulk actions.

The search itself (`products.products_query`) lives in products.py: the CSV export runs
the same search.
"""

from __future__ import annotations

from sqlalchemy import func, select

from saas.db import db
from tenants.catalog.models import Product, ProductStatus
from tenants.catalog.products import ProductError, ensure_room_for, parse_tags


def facet_values() -> dict[str, list[str]]:
    """The vendors, types and tags in use, for the list's filter menus."""
    vendors = db.session.scalars(
        select(Product.vendor).where(Product.vendor != "").distinct().order_by(Product.vendor)
    ).all()
    types = db.session.scalars(
        select(Product.product_type)
        .where(Product.product_type != "")
        .distinct()
        .order_by(Product.product_type)
    ).all()
    tag = func.unnest(Product.tags).label("tag")
    tags = db.session.scalars(select(tag).distinct().order_by(tag)).all()
    return {"vendors": list(vendors), "types": list(types), "tags": list(tags)}


BULK_ACTIONS = ("publish", "archive", "draft", "add-tag")


def bulk_update(ids: list[int], action: str, tag: str = "") -> list[Product]:
    """Apply a bulk action to these products of the current shop. Flushes.

    Raises:
        ProductLimitReached: publishing or drafting archived products would take the
            catalog over the plan's limit; nothing changed.
    """
    if action not in BULK_ACTIONS:
        raise ProductError("Choose an action.")
    products = list(db.session.scalars(select(Product).where(Product.id.in_(ids))))
    if not products:
        raise ProductError("Select at least one product.")
    if action == "add-tag":
        tags = parse_tags(tag)
        if not tags:
            raise ProductError("Type the tag to add.")
        for product in products:
            product.tags = list(dict.fromkeys([*(product.tags or []), *tags]))
    else:
        status = {
            "publish": ProductStatus.ACTIVE,
            "archive": ProductStatus.ARCHIVED,
            "draft": ProductStatus.DRAFT,
        }[action]
        returning = sum(1 for p in products if p.status == ProductStatus.ARCHIVED)
        if status != ProductStatus.ARCHIVED and returning:
            ensure_room_for(returning)  # archived products coming back count against the plan
        for product in products:
            product.status = status
    db.session.flush()
    return products
