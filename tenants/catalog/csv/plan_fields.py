"""Planning a product's own fields and its option names, from its first row."""

from __future__ import annotations

from typing import Any

from tenants.catalog import products as catalog
from tenants.catalog.csv.findings import Findings, quote
from tenants.catalog.csv.layout import CATEGORY, NO_OPTIONS
from tenants.catalog.csv.read import Row
from tenants.catalog.models import Product, ProductStatus
from tenants.catalog.products import ProductError

# Product fields an empty cell clears: (attribute, column, what the merchant calls it).
CLEARABLE = (
    ("description", "Body (HTML)", "description"),
    ("vendor", "Vendor", "vendor"),
    ("product_type", "Type", "type"),
    ("tags", "Tags", "tags"),
    ("seo_title", "SEO Title", "SEO title"),
    ("seo_description", "SEO Description", "SEO description"),
)
# Plain text fields, set as written (with runs of spaces made one): (column, attribute).
_TEXT_FIELDS = (
    ("Vendor", "vendor"),
    ("SEO Title", "seo_title"),
    ("SEO Description", "seo_description"),
)


def product_fields(
    first: Row, existing: Product | None, handle: str, *, columns: set[str], findings: Findings
) -> dict[str, Any]:
    """The product's attributes to set, from the columns the file has."""
    fields: dict[str, Any] = {}
    n = first.number
    title = " ".join(first.get("Title").split())
    if title:
        fields["title"] = findings.limited(n, "Title", title)
    elif existing is None:
        findings.error(
            n, "Title", f"a new product needs a title (no product has the handle “{handle}”)."
        )
    if "Body (HTML)" in columns:
        fields["description"] = _description(first, findings)
    for column, name in _TEXT_FIELDS:
        if column in columns:
            fields[name] = findings.limited(n, column, " ".join(first.get(column).split()))
    product_type = _product_type(first, columns, findings)
    if product_type is not None:
        fields["product_type"] = product_type
    if "Tags" in columns:
        try:
            fields["tags"] = catalog.parse_tags(first.get("Tags"))
        except ProductError as error:
            findings.error(n, "Tags", str(error))
    status = _status(first, findings)
    if status is not None:
        fields["status"] = status
    elif existing is None:
        fields["status"] = ProductStatus.ACTIVE
    if existing is not None:
        _note_cleared(first, existing, fields, findings)
    return fields


def _note_cleared(row: Row, existing: Product, fields: dict[str, Any], findings: Findings) -> None:
    # An empty cell in a column the file has clears the field: say so before it happens.
    for name, column, label in CLEARABLE:
        if name in fields and not fields[name] and getattr(existing, name):
            findings.note(row.number, column, f"empty, so the product's {label} will be cleared.")


def _description(row: Row, findings: Findings) -> str:
    raw = row.get("Body (HTML)")
    if findings.too_long(row.number, "Body (HTML)", raw, catalog.MAX_DESCRIPTION):
        return ""
    cleaned = catalog.clean_description(raw)
    if cleaned != raw:
        findings.note(
            row.number,
            "Body (HTML)",
            "the description was cleaned: scripts and formatting the shop does not allow "
            "were removed.",
        )
    return cleaned


def _product_type(row: Row, columns: set[str], findings: Findings) -> str | None:
    if "Type" in columns:
        return findings.limited(row.number, "Type", " ".join(row.get("Type").split()))
    if CATEGORY in columns:
        # "Home & Garden > Kitchen > Mugs": the last step is the type.
        last = row.get(CATEGORY).split(">")[-1]
        return findings.limited(row.number, CATEGORY, " ".join(last.split()))
    return None


def _status(row: Row, findings: Findings) -> str | None:
    status, published = row.get("Status").lower(), row.get("Published").lower()
    if status:
        if status not in catalog.EDIT_STATUSES:
            findings.error(
                row.number,
                "Status",
                f"{quote(row.get('Status'))} is not a status; use active, draft or archived.",
            )
        return status
    if published:
        if published not in ("true", "false"):
            findings.error(
                row.number, "Published", f"{quote(row.get('Published'))} must be TRUE or FALSE."
            )
        return ProductStatus.ACTIVE if published == "true" else ProductStatus.DRAFT
    return None


def option_names(first: Row, existing: Product | None, findings: Findings) -> list[str] | None:
    """The product's option names as the file gives them; None: keep the product's."""
    typed = [" ".join(first.get(f"Option{n} Name").split()) for n in (1, 2, 3)]
    if (typed[0], first.get("Option1 Value")) == NO_OPTIONS and not any(typed[1:]):
        return []
    if not any(typed):
        # Blank names keep what the product has: only "Title" / "Default Title" removes options.
        return None if existing is not None else []
    names: list[str] = []
    for n, name in enumerate(typed, 1):
        column = f"Option{n} Name"
        if name and n > 1 and not typed[n - 2]:
            findings.error(first.number, column, f"fill in Option{n - 1} Name first.")
        elif name.lower() in (x.lower() for x in names):
            findings.error(
                first.number, column, f"two options cannot both be called {quote(name)}."
            )
        elif name:
            names.append(findings.limited(first.number, column, name))
    return names


def extra_options(rows: list[Row], findings: Findings) -> None:
    """Option4 and beyond: the shop has at most three options."""
    for row in rows:
        for column in row.extra_options:
            findings.error(
                row.number, column, f"a product can have at most {catalog.MAX_OPTIONS} options."
            )
