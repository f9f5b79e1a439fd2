"""The export: products as Shopify-layout CSV (see `layout`), which imports back."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime

from saas.db import db
from saas.money import file_amount
from saas.spreadsheet import safe_cell
from saas.tenancy import TenantRecord, tenant_context
from tenants.catalog import products as catalog
from tenants.catalog.csv.layout import HEADER, NO_OPTIONS
from tenants.catalog.csv.lookups import chunks, load_products
from tenants.catalog.models import Product, ProductStatus, ProductVariant


def export_csv(
    product_ids: list[int],
    *,
    tenant: TenantRecord,
    currency: str,
    image_url: Callable[[str], str],
) -> Iterator[str]:
    """The products, in this order, as Shopify-layout CSV text, a chunk at a time.

    `image_url` turns an image's file name into its address on the shop. Each chunk is
    read inside `tenant_context(tenant)`: a streamed response is sent after the request
    has left its shop, and the shop must never stay selected across a `yield`.
    """
    yield _csv_line(HEADER)
    for chunk in chunks(product_ids):
        with tenant_context(tenant):
            lines = _export_chunk(chunk, currency, image_url)
        yield lines


def _export_chunk(chunk: list[int], currency: str, image_url: Callable[[str], str]) -> str:
    products = {p.id: p for p in load_products(Product.id.in_(chunk))}
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for product_id in chunk:
        product = products.get(product_id)
        if product is not None:  # (None: deleted meanwhile)
            rows = product_rows(product, currency, image_url)
            writer.writerows([safe_cell(cell) for cell in row] for row in rows)
    return buffer.getvalue()


def _csv_line(cells: Iterable[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(cells)
    return buffer.getvalue()


def product_rows(
    product: Product, currency: str, image_url: Callable[[str], str]
) -> list[list[str]]:
    """The product's rows: its fields and first variant, more variants, extra images."""
    variants: list[ProductVariant | None] = list(product.variants) or [None]
    images = list(product.images)
    rows: list[list[str]] = []
    for index in range(max(len(variants), len(images))):
        cells = dict.fromkeys(HEADER, "")
        cells["Handle"] = product.handle
        if index == 0:
            cells.update(_product_cells(product))
        if index < len(variants):
            cells.update(_variant_cells(product, variants[index], currency, first=index == 0))
        if index < len(images):
            image = images[index]
            cells.update(
                {
                    "Image Src": image_url(image.file),
                    "Image Position": str(index + 1),
                    "Image Alt Text": image.alt,
                }
            )
        rows.append([cells[name] for name in HEADER])
    return rows


def _product_cells(product: Product) -> dict[str, str]:
    return {
        "Title": product.title,
        "Body (HTML)": product.description,
        "Vendor": product.vendor,
        "Type": product.product_type,
        "Tags": ", ".join(product.tags or []),
        "Published": "TRUE" if product.status == ProductStatus.ACTIVE else "FALSE",
        "SEO Title": product.seo_title,
        "SEO Description": product.seo_description,
        "Status": product.status,
    }


def _variant_cells(
    product: Product, variant: ProductVariant | None, currency: str, *, first: bool
) -> dict[str, str]:
    cells: dict[str, str] = {}
    options = list(product.options)
    if not options:
        cells["Option1 Value"] = NO_OPTIONS[1]
        if first:
            cells["Option1 Name"] = NO_OPTIONS[0]
    for option in options:
        if first:
            cells[f"Option{option.position} Name"] = option.name
        value = getattr(variant, f"option{option.position}", None) if variant else None
        cells[f"Option{option.position} Value"] = value or ""
    policy = "continue" if product.continue_selling else "deny"
    if variant is None:  # a product from before variants: its own price and stock
        tracked, quantity = product.inventory_quantity is not None, product.inventory_quantity
        cells.update(
            {
                "Variant Price": file_amount(product.price_cents, currency),
                "Variant Inventory Tracker": "shopify" if tracked else "",
                "Variant Inventory Qty": str(quantity) if tracked else "",
                "Variant Inventory Policy": policy,
            }
        )
        return cells
    compare = variant.compare_at_cents
    cells.update(
        {
            "Variant SKU": variant.sku or "",
            "Variant Grams": "" if variant.weight_grams is None else str(variant.weight_grams),
            "Variant Inventory Tracker": "shopify" if variant.inventory_tracked else "",
            "Variant Inventory Qty": str(variant.inventory_quantity)
            if variant.inventory_tracked
            else "",
            "Variant Inventory Policy": policy,
            "Variant Price": file_amount(variant.price_cents, currency),
            "Variant Compare At Price": "" if compare is None else file_amount(compare, currency),
            "Variant Barcode": variant.barcode or "",
        }
    )
    return cells


def export_ids(filters: dict[str, str]) -> list[int]:
    """The ids of the products the back office's list shows with these filters, in order."""
    query = catalog.products_query(
        q=filters.get("q", ""),
        status=filters.get("status", ""),
        vendor=filters.get("vendor", ""),
        product_type=filters.get("type", ""),
        tag=filters.get("tag", ""),
        sort=filters.get("sort") or "newest",
    )
    return list(db.session.scalars(query.with_only_columns(Product.id)))


def export_filename(slug: str) -> str:
    return f"products-{slug}-{datetime.now(UTC).date().isoformat()}.csv"
