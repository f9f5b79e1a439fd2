"""What the storefront's product page shows: the chosen variant, its stock state, the
gallery and the structured data. Pure functions of a product and the request's query,
so the page works without JavaScript (the variant picker is a plain GET form).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from markupsafe import Markup

from saas.money import ZERO_DECIMAL
from tenants.catalog.models import Product, ProductImage, ProductVariant

SCHEMA = "https://schema.org/"
IN_STOCK, LOW_STOCK, SOLD_OUT, BACKORDER = "in_stock", "low_stock", "sold_out", "backorder"
AVAILABILITY = {
    IN_STOCK: "InStock",
    LOW_STOCK: "InStock",
    SOLD_OUT: "OutOfStock",
    BACKORDER: "BackOrder",
}
MAX_OPTION_VALUE = 255


@dataclass
class Stock:
    state: str
    label: str

    @property
    def available(self) -> bool:
        return self.state != SOLD_OUT


@dataclass
class Choice:
    """The variant a visitor picked (None: a combination the product does not come in)
    and the option values the picker should show as selected."""

    variant: ProductVariant | None
    selected: list[str | None] = field(default_factory=list)


def _values(variant: ProductVariant) -> list[str | None]:
    return [variant.option1, variant.option2, variant.option3]


def variants_of(product: Product) -> list[ProductVariant]:
    """The product's variants; a product written without any (bulk imports, rows from
    before variants existed) is shown as its summary, without writing on a GET."""
    if product.variants:
        return list(product.variants)
    # Transient: never attached to the product or the session, so nothing is saved.
    return [
        ProductVariant(
            position=1,
            price_cents=product.price_cents,
            inventory_tracked=product.inventory_quantity is not None,
            inventory_quantity=product.inventory_quantity or 0,
        )
    ]


def stock_of(variant: ProductVariant, product: Product, low_threshold: int) -> Stock:
    if not variant.inventory_tracked:
        return Stock(IN_STOCK, "In stock")
    quantity = variant.inventory_quantity
    if quantity > 0:
        if quantity <= low_threshold:
            return Stock(LOW_STOCK, f"Only {quantity} left")
        return Stock(IN_STOCK, "In stock")
    if product.continue_selling:
        return Stock(BACKORDER, "Available to order")
    return Stock(SOLD_OUT, "Sold out")


def choose_variant(product: Product, query: Mapping[str, str], low_threshold: int) -> Choice:
    """The variant named by `?variant=<id>` (of this product only) or by the option values
    (`?option1=..&option2=..`); otherwise the first one that can be bought."""
    variants = variants_of(product)
    raw_id = (query.get("variant") or "").strip()
    if raw_id.isascii() and raw_id.isdigit() and len(raw_id) < 19:
        # Only ids among this product's own variants count: another product's (or shop's)
        # id falls through to the default instead of showing something else.
        for variant in variants:
            if variant.id == int(raw_id):
                return Choice(variant, _values(variant))
    count = len(product.options)
    wanted: list[str | None] = [
        (query.get(f"option{n}") or "").strip()[:MAX_OPTION_VALUE] or None for n in (1, 2, 3)
    ][:count]
    if count and any(wanted):
        matches = [
            v
            for v in variants
            if all(w is None or w == have for w, have in zip(wanted, _values(v), strict=False))
        ]
        if not matches:
            return Choice(None, wanted + [None] * (3 - count))
        if all(wanted) or len(matches) == 1:
            chosen = matches[0]
        else:  # a partial choice: the first of its matches that can be bought
            chosen = next(
                (v for v in matches if stock_of(v, product, low_threshold).available), matches[0]
            )
        return Choice(chosen, _values(chosen))
    default = next(
        (v for v in variants if stock_of(v, product, low_threshold).available), variants[0]
    )
    return Choice(default, _values(default))


def gallery(product: Product, variant: ProductVariant | None) -> list[ProductImage]:
    """The product's images in order, the chosen variant's own image first."""
    images = list(product.images)
    if variant is not None and variant.image_id is not None:
        own = [i for i in images if i.id == variant.image_id]
        images = own + [i for i in images if i.id != variant.image_id]
    return images


def srcset(image: ProductImage, url_of: Callable[[str], str]) -> str:
    """The sized copies the resize job made (recorded in `sizes`) plus the original."""
    entries = [
        f"{url_of(image.sized(width))} {width}w"
        for width in sorted(image.sizes or [])
        if width < image.width
    ]
    entries.append(f"{url_of(image.file)} {image.width}w")
    return ", ".join(entries)


def decimal_price(cents: int, currency: str) -> str:
    """Minor units as schema.org wants a price: '12.50' (a dot, no symbol, no grouping)."""
    exponent = 0 if currency in ZERO_DECIMAL else 2
    return f"{Decimal(cents).scaleb(-exponent):.{exponent}f}"


# Where a browser would break the line, the text gets a space: "<p>a</p><p>b</p>" is
# "a b", not "ab" (striptags then folds the runs of spaces into one).
_BLOCK_EDGE = re.compile(r"(?i)<(?:/?(?:p|div|li|ul|ol|h[1-6]|blockquote|tr|td|th)\b|br\b)")


def plain_text(html: str) -> str:
    # Only to strip the tags (and unescape entities): the result is plain text, never markup.
    spaced = _BLOCK_EDGE.sub(lambda m: " " + m.group(0), html or "")
    return Markup(spaced).striptags()  # noqa: S704


def product_json_ld(
    product: Product,
    *,
    url: str,
    currency: str,
    low_threshold: int,
    image_urls: list[str],
    variant_url: Callable[[ProductVariant], str],
) -> dict[str, Any]:
    """schema.org Product data; the template escapes it with the `json_ld` filter."""
    offers = [
        {
            "@type": "Offer",
            "price": decimal_price(v.price_cents, currency),
            "priceCurrency": currency,
            "availability": SCHEMA + AVAILABILITY[stock_of(v, product, low_threshold).state],
            "url": variant_url(v) if v.id is not None else url,
            **({"sku": v.sku} if v.sku else {}),
            **({"name": v.title} if product.options else {}),
        }
        for v in variants_of(product)
    ]
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": product.title,
        "description": plain_text(product.description),
        "url": url,
        "offers": offers,
    }
    first_sku = next((v.sku for v in product.variants if v.sku), None)
    if first_sku:
        data["sku"] = first_sku
    if image_urls:
        data["image"] = image_urls
    if product.vendor:
        data["brand"] = {"@type": "Brand", "name": product.vendor}
    return data
