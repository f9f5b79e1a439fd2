"""What the import and the export read from the catalog, a chunk of products at a time."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import selectinload

from saas.db import db
from tenants.catalog.models import Product, ProductVariant

CHUNK = 200  # products loaded at once by the export
LOOKUP_CHUNK = 1000  # handles or SKUs in one query's IN list


def chunks(items: list[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def load_products(where: ColumnElement[bool]) -> list[Product]:
    """The products matching `where`, with what a CSV row shows of them already loaded."""
    query = (
        select(Product)
        .where(where)
        .options(
            selectinload(Product.variants),
            selectinload(Product.options),
            selectinload(Product.images),
        )
    )
    return list(db.session.scalars(query))


def existing_products(handles: list[str]) -> dict[str, Product]:
    found: dict[str, Product] = {}
    for chunk in chunks(handles, LOOKUP_CHUNK):
        found.update((p.handle, p) for p in load_products(Product.handle.in_(chunk)))
    return found


def sku_owners(skus: list[str]) -> dict[str, tuple[int, str]]:
    """Each SKU's product in the shop, as (id, handle)."""
    owners: dict[str, tuple[int, str]] = {}
    for chunk in chunks(skus, LOOKUP_CHUNK):
        rows = db.session.execute(
            select(ProductVariant.sku, Product.id, Product.handle)
            .join(Product, Product.id == ProductVariant.product_id)
            .where(ProductVariant.sku.in_(chunk))
        )
        owners.update((sku, (product_id, handle)) for sku, product_id, handle in rows if sku)
    return owners
