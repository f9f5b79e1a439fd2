"""Product cards: what a list of products on the storefront shows of each one.

Collection pages, search results and homepage sections list products as cards: the
first image (sized for a tile), the price and whether it can be bought now. One query
for the whole list, however long it is, rather than loading every product's images
and variants.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, bindparam, select, true
from sqlalchemy.orm import aliased

from saas.db import db
from tenants.catalog.models import Product, ProductImage
from tenants.catalog.product_page import srcset
from tenants.collections.services import available_condition

TILE_WIDTH = 320  # the resize job's smallest copy; `srcset` offers the larger ones


@dataclass(frozen=True)
class Card:
    product: Product
    available: bool
    image: ProductImage | None = None
    src: str = ""
    srcset: str = ""

    # Themes written for plain products (`p.title`) keep working with cards.
    @property
    def handle(self) -> str:
        return self.product.handle

    @property
    def title(self) -> str:
        return self.product.title

    @property
    def price_cents(self) -> int:
        return self.product.price_cents


def first_image_lateral() -> Any:
    """Each product's first image, as a lateral subquery to join to `Product` (product
    cards, cart lines)."""
    return (
        select(ProductImage)
        .where(ProductImage.product_id == Product.id)
        .order_by(ProductImage.position, ProductImage.id)
        .limit(1)
        .lateral("first_image")
    )


@functools.cache
def _cards_statement() -> Select[int, bool, ProductImage]:
    """Built once: composing the lateral join and the stock test costs more Python time
    than running the query does."""
    first = first_image_lateral()
    image = aliased(ProductImage, first)
    return (
        select(Product.id, available_condition(), image)
        .outerjoin(first, true())
        .where(Product.id.in_(bindparam("ids", expanding=True)))
    )


def cards(products: Sequence[Product], media_url: Callable[[str], str]) -> list[Card]:
    """Cards for `products`, in their order."""
    if not products:
        return []
    rows = db.session.execute(_cards_statement(), {"ids": [p.id for p in products]})
    found = {product_id: (bool(available), img) for product_id, available, img in rows}
    out = []
    for product in products:
        available, img = found.get(product.id, (True, None))
        if img is None:
            out.append(Card(product, available))
            continue
        out.append(
            Card(
                product,
                available,
                img,
                src=media_url(img.sized(TILE_WIDTH)),
                srcset=srcset(img, media_url),
            )
        )
    return out
