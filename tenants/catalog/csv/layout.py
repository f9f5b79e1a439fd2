"""Shopify's product CSV layout: its columns, and what a cell may hold.

One row per variant. A product's first row carries the product's fields (Title,
Body (HTML), Vendor, ...) and its first variant; the rows after it with the same Handle
carry its further variants, and rows with only an image for the extra images. A product
without options has one variant, written as Option1 Name "Title" with Option1 Value
"Default Title".

Spreadsheet formulas: exported cells that start with one of `FORMULA_START` of
`saas.spreadsheet` (except plain numbers) get a leading apostrophe, so a title like
`=HYPERLINK(...)` opens as text, not as a formula; the import removes it again.
"""

from __future__ import annotations

from tenants.catalog import products as catalog

HEADER = (
    "Handle",
    "Title",
    "Body (HTML)",
    "Vendor",
    "Type",
    "Tags",
    "Published",
    "Option1 Name",
    "Option1 Value",
    "Option2 Name",
    "Option2 Value",
    "Option3 Name",
    "Option3 Value",
    "Variant SKU",
    "Variant Grams",
    "Variant Inventory Tracker",
    "Variant Inventory Qty",
    "Variant Inventory Policy",
    "Variant Price",
    "Variant Compare At Price",
    "Variant Barcode",
    "Image Src",
    "Image Position",
    "Image Alt Text",
    "SEO Title",
    "SEO Description",
    "Status",
)
CATEGORY = "Product Category"  # Shopify's taxonomy path; used as the type if there is no Type
# The cells that make a row a variant's (the option values and the Variant columns).
VARIANT_COLUMNS = tuple(c for c in HEADER if c.endswith(" Value") or c.startswith("Variant "))
NO_OPTIONS = ("Title", "Default Title")  # Shopify's spelling of "this product has no options"
MAX_TEXT = {
    "Title": catalog.MAX_TITLE,
    "Vendor": 255,
    "Type": 255,
    CATEGORY: 255,
    "SEO Title": catalog.MAX_SEO_TITLE,
    "SEO Description": catalog.MAX_SEO_DESCRIPTION,
    **{f"Option{n} {part}": 255 for n in (1, 2, 3) for part in ("Name", "Value")},
    "Variant SKU": 255,
    "Variant Barcode": 64,
    "Image Alt Text": 512,
}
