"""Product cards: what a list of products on the storefront shows of each one.

Collection pages, search results and homepage sections list products as cards: the
first image (sized for a tile), the price (and the higher "was" price of a sale) and
whether it can be bought now. One query
for the whole list, however long it is, rather than loading every product's images
and variants.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from sqlalchemy import Select, and_, bindparam, func, select, true
from sqlalchemy.orm import aliased

from saas.db import db
from tenants.catalog.models import Product, ProductImage, ProductVariant
from tenants.catalog.product_page import srcset
from tenants.collections.services import available_condition

TILE_WIDTH = 320  # the resize job's smallest copy; `srcset` offers the larger ones


def _product_attribute(name: str) -> Any:
    """A card's read-only attribute that is its product's own."""
    return property(attrgetter(f"product.{name}"))


@dataclass(frozen=True)
class Card:
    product: Product
    available: bool
    image: ProductImage | None = None
    src: str = ""
    srcset: str = ""
    # The "was" price of the variant(s) at the card's price, when it is higher: on sale.
    compare_at_cents: int | None = None

    # Themes written for plain products (`p.title`) keep working with cards.
    handle = _product_attribute("handle")
    title = _product_attribute("title")
    price_cents = _product_attribute("price_cents")
    # Stars and count from the product's published rating summary (no per-card query).
    rating_average = _product_attribute("rating_average")
    rating_count = _product_attribute("rating_count")

    @property
    def on_sale(self) -> bool:
        return self.compare_at_cents is not None and self.compare_at_cents > self.price_cents


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


def _compare_at() -> Any:
    """The highest compare-at price among the variants sold at the product's (lowest)
    price, so a card's "was" price always belongs to the price it shows."""
    return (
        select(func.max(ProductVariant.compare_at_cents))
        .where(
            and_(
                ProductVariant.product_id == Product.id,
                ProductVariant.price_cents == Product.price_cents,
                ProductVariant.compare_at_cents > ProductVariant.price_cents,
            )
        )
        .scalar_subquery()
    )


@functools.cache
def _cards_statement() -> Select[int, bool, int | None, ProductImage]:
    """Built once: composing the lateral join and the stock test costs more Python time
    than running the query does."""
    first = first_image_lateral()
    image = aliased(ProductImage, first)
    return (
        select(Product.id, available_condition(), _compare_at(), image)
        .outerjoin(first, true())
        .where(Product.id.in_(bindparam("ids", expanding=True)))
    )


def cards(products: Sequence[Product], media_url: Callable[[str], str]) -> list[Card]:
    """Cards for `products`, in their order."""
    if not products:
        return []
    rows = db.session.execute(_cards_statement(), {"ids": [p.id for p in products]})
    found = {product_id: (bool(available), was, img) for product_id, available, was, img in rows}
    out = []
    for product in products:
        available, was, img = found.get(product.id, (True, None, None))
        if img is None:
            out.append(Card(product, available, compare_at_cents=was))
            continue
        out.append(
            Card(
                product,
                available,
                img,
                src=media_url(img.sized(TILE_WIDTH)),
                srcset=srcset(img, media_url),
                compare_at_cents=was,
            )
        )
    return out


@dataclass(frozen=True)
class Picture:
    """A homepage section's picture, sized so the page keeps its layout as it loads."""

    src: str
    width: int
    height: int
    srcset: str = ""


def section_pictures(paths: Sequence[str], media_url: Callable[[str], str]) -> dict[str, Picture]:
    """Pictures for `/media/<file>` addresses that are catalog images (one query): their
    real size and narrower copies. Other addresses are left out (the theme sizes them)."""
    files = {path.removeprefix("/media/"): path for path in paths if path.startswith("/media/")}
    if not files:
        return {}
    found = db.session.scalars(select(ProductImage).where(ProductImage.file.in_(files)))
    return {
        files[img.file]: Picture(media_url(img.file), img.width, img.height, srcset(img, media_url))
        for img in found
    }
