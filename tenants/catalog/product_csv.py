"""Product CSV import and export in Shopify's product CSV layout.

The layout: one row per variant. A product's first row carries the product's fields
(Title, Body (HTML), Vendor, ...) and its first variant; the rows after it with the same
Handle carry its further variants, and rows with only an image for the extra images.
A product without options has one variant, written as Option1 Name "Title" with Option1
Value "Default Title". `export_csv` writes exactly this, so an export imports back.

Importing is two steps. `preview` reads and checks the whole file against the shop -- a
dry run that stores only a `ProductImport` row with what it found -- and `run_import`, an
RQ job started once the merchant confirms, checks the file again (the catalog may have
changed since) and applies it in one transaction: any failure leaves the catalog as it
was, and the run records why.

What an import changes. Products are matched by Handle: a new handle creates a product,
a known one updates it. Only the columns the file has are applied, so a file of just
Handle, Variant SKU and Variant Inventory Qty updates stock and nothing else; an empty
cell in a column the file has clears that field, except Title, Status and prices, which
keep their value. Variants are matched by SKU, then by their option values; variants not
in the file are kept, unless the file gives the product different options, when they
no longer fit and are removed. Stock changes go into the stock history as corrections
noted "CSV import".

Images are never downloaded. Fetching whatever address a file names would let an upload
make the server request internal services (server-side request forgery: cloud metadata
endpoints, the database, Redis) or huge files, and production workers may not reach the
internet at all. An Image Src naming one of the product's own images (as the export
writes them) is recognised and its Image Alt Text applied; any other is listed in the
preview as not imported, to be uploaded on the product's page.

Spreadsheet formulas: exported cells that start with = + - or @ (except plain numbers)
get a leading apostrophe, so a title like `=HYPERLINK(...)` opens as text, not as a
formula; the import removes that apostrophe again.
"""

from __future__ import annotations

import csv
import io
import itertools
import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any
from urllib.parse import urlsplit

from sqlalchemy import delete, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import selectinload

from saas import audit
from saas.billing import limits
from saas.billing.limits import Limit
from saas.db import atomic, db, tenant_bind
from saas.money import ZERO_DECIMAL
from saas.tenancy import TenantRecord, current_tenant, tenant_context
from tenants.catalog import inventory
from tenants.catalog import products as catalog
from tenants.catalog.models import (
    AdjustmentReason,
    ImportStatus,
    InventoryAdjustment,
    Product,
    ProductImport,
    ProductOption,
    ProductRedirect,
    ProductStatus,
    ProductVariant,
)
from tenants.catalog.products import ProductError
from tenants.staff.models import Staff

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 5 * 1024 * 1024
# The import job must finish well inside the worker's job timeout (RQ's default, 180 s):
# an import writes about 3 to 5 ms per row, so this leaves a wide margin.
MAX_ROWS = 10_000
MAX_STORED_PROBLEMS = 500  # a file with more is summarised: fix these and look again
IMPORT_NOTE = "CSV import"
PROGRESS_EVERY = 0.5  # seconds between progress writes
CHUNK = 200  # products loaded at once (export, lookups)

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
_KNOWN = {name.lower(): name for name in (*HEADER, CATEGORY)}
_KNOWN.update({"body html": "Body (HTML)", "product type": "Type"})
_EXTRA_OPTION = re.compile(r"option ?([0-9]+) (name|value)")
VARIANT_COLUMNS = (
    "Option1 Value",
    "Option2 Value",
    "Option3 Value",
    "Variant SKU",
    "Variant Grams",
    "Variant Inventory Tracker",
    "Variant Inventory Qty",
    "Variant Inventory Policy",
    "Variant Price",
    "Variant Compare At Price",
    "Variant Barcode",
)
# Product fields an empty cell clears: (attribute, column, what the merchant calls it).
CLEARABLE = (
    ("description", "Body (HTML)", "description"),
    ("vendor", "Vendor", "vendor"),
    ("product_type", "Type", "type"),
    ("tags", "Tags", "tags"),
    ("seo_title", "SEO Title", "SEO title"),
    ("seo_description", "SEO Description", "SEO description"),
)
NO_OPTIONS = ("Title", "Default Title")  # Shopify's spelling of "this product has no options"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")
MAX_TEXT = {
    "Title": catalog.MAX_TITLE,
    "Vendor": 255,
    "Type": 255,
    CATEGORY: 255,
    "SEO Title": catalog.MAX_SEO_TITLE,
    "SEO Description": catalog.MAX_SEO_DESCRIPTION,
    "Option1 Name": 255,
    "Option2 Name": 255,
    "Option3 Name": 255,
    "Option1 Value": 255,
    "Option2 Value": 255,
    "Option3 Value": 255,
    "Variant SKU": 255,
    "Variant Barcode": 64,
    "Image Alt Text": 512,
}


class CsvFileError(ValueError):
    """The upload is not a product CSV we can read; the message is for the merchant."""


class ImportRefused(ValueError):
    """The run cannot be started (already started, or the file has problems)."""


class ImportFailed(RuntimeError):
    """The import stopped; nothing was changed. The message is for the merchant."""

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


@dataclass(frozen=True)
class Problem:
    """One finding about the file, at a spreadsheet row (the header is row 1) and column."""

    row: int | None
    column: str | None
    message: str
    # A plan limit: what upgrading would let the merchant do (the page links to billing).
    upgrade: str = ""

    def __str__(self) -> str:
        return describe(self.as_dict())

    def as_dict(self) -> dict[str, Any]:
        found = {"row": self.row, "column": self.column, "message": self.message}
        return found | {"upgrade": self.upgrade} if self.upgrade else found


def describe(problem: dict[str, Any]) -> str:
    """'Row 7, Variant Price: “-3” is not a valid price (must be 0 or more).'"""
    where = ", ".join(
        part
        for part in (
            f"Row {problem['row']}" if problem.get("row") else "",
            problem.get("column") or "",
        )
        if part
    )
    return f"{where}: {problem['message']}" if where else problem["message"]


# --- reading the file -------------------------------------------------------------


def read_upload(stream: IO[bytes] | None) -> str:
    """The uploaded file's text, after the checks a wrong file fails.

    Raises:
        CsvFileError: too large, empty, not UTF-8 text, or no Handle/Title column.
    """
    if stream is None:
        raise CsvFileError("Choose a CSV file to upload.")
    data = stream.read(MAX_FILE_BYTES + 1)
    if not data:
        raise CsvFileError("The file is empty. Choose a product CSV file.")
    if len(data) > MAX_FILE_BYTES:
        raise CsvFileError(
            f"The file is too large: the limit is {size_label(MAX_FILE_BYTES)}. "
            "Split it into smaller files."
        )
    if data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        raise CsvFileError(
            "This is a spreadsheet workbook, not a CSV file. In your spreadsheet, save or "
            "download it as “CSV UTF-8”."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise CsvFileError(
            f"The file is not UTF-8 text (an unreadable byte at position {error.start + 1}). "
            "Save it as “CSV UTF-8” and upload it again."
        ) from None
    if "\x00" in text:
        raise CsvFileError("The file holds binary data, not CSV text. Save it as “CSV UTF-8”.")
    _check_header(_header_cells(text))
    return text


def size_label(size: int) -> str:
    return f"{size // (1024 * 1024)} MB" if size >= 1024 * 1024 else f"{size // 1024} KB"


def _header_cells(text: str) -> list[str]:
    try:
        return next(csv.reader(io.StringIO(text, newline="")), [])
    except csv.Error as error:
        raise CsvFileError(f"The first row cannot be read as CSV ({error}).") from None


def _canonical(cell: str) -> str | None:
    return _KNOWN.get(" ".join(cell.split()).lower())


def _check_header(cells: list[str]) -> None:
    names = [_canonical(cell) for cell in cells]
    if "Handle" not in names and "Title" not in names:
        shown = ", ".join(_quote(c, 30) for c in cells[:8] if c.strip()) or "nothing"
        raise CsvFileError(
            "The first row must name the columns, and one of them must be Handle or Title "
            f"(as in Shopify's product CSV). This file's first row has {shown}."
        )
    seen: dict[str, int] = {}
    for index, name in enumerate(names):
        if name is None:
            continue
        if name in seen:
            raise CsvFileError(
                f"The column “{name}” appears twice (columns {column_letter(seen[name])} and "
                f"{column_letter(index)}). Keep one of them."
            )
        seen[name] = index


def column_letter(index: int) -> str:
    """A spreadsheet's name for the column at `index` (0 -> A, 26 -> AA)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _quote(value: str, limit: int = 40) -> str:
    """A value as it appears in a message: quoted, and cut short if long."""
    value = " ".join(value.split())
    return f"“{value[:limit]}…”" if len(value) > limit else f"“{value}”"


def _unguard(cell: str) -> str:
    # Undo the export's formula guard (see the module's docstring).
    if len(cell) > 1 and cell[0] == "'" and cell[1] in "=+-@\t\r":
        return cell[1:]
    return cell


@dataclass
class Row:
    number: int  # as a spreadsheet numbers it: the header is row 1
    cells: dict[str, str]
    extra_options: dict[str, str] = field(default_factory=dict)  # Option4 Name etc.

    def get(self, column: str) -> str:
        return self.cells.get(column, "")


@dataclass
class ParsedFile:
    columns: set[str]
    ignored: list[str]
    rows: list[Row]
    problems: list[Problem]


def parse(text: str) -> ParsedFile:
    """Rows of the file keyed by Shopify's column names; unreadable rows as problems."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header = next(reader, [])
    names = [_canonical(cell) for cell in header]
    extra = {i: " ".join(c.split()) for i, c in enumerate(header) if _is_extra_option(c)}
    ignored = [c.strip() for i, c in enumerate(header) if names[i] is None and i not in extra]
    parsed = ParsedFile({n for n in names if n}, [c for c in ignored if c], [], [])
    number = 1
    while True:
        number += 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            parsed.problems.append(Problem(number, None, _csv_error(error)))
            break
        row = _row(number, cells, names, extra, parsed)
        if row is not None:
            parsed.rows.append(row)
    return parsed


def _is_extra_option(cell: str) -> bool:
    match = _EXTRA_OPTION.fullmatch(" ".join(cell.split()).lower())
    return bool(match and int(match.group(1)) > catalog.MAX_OPTIONS)


def _csv_error(error: csv.Error) -> str:
    if "field larger than field limit" in str(error):
        return (
            f"a cell is longer than {csv.field_size_limit():,} characters (the longest "
            f"allowed, a description, has {catalog.MAX_DESCRIPTION:,}); nothing after it was read."
        )
    return f"this row is not valid CSV ({error}); check its quotes. Nothing after it was read."


def _row(
    number: int,
    cells: list[str],
    names: list[str | None],
    extra: dict[int, str],
    parsed: ParsedFile,
) -> Row | None:
    if not any(cell.strip() for cell in cells):
        return None  # blank lines are common at the end of a spreadsheet
    if len(cells) > len(names) and any(c.strip() for c in cells[len(names) :]):
        parsed.problems.append(
            Problem(
                number,
                None,
                f"this row has {len(cells)} cells but the first row names {len(names)} "
                "columns. Check it for a stray comma or quote.",
            )
        )
        return None
    row = Row(number, {})
    for index, name in enumerate(names):
        value = _unguard(cells[index]).strip() if index < len(cells) else ""
        if name is not None:
            row.cells[name] = value
        elif index in extra and value:
            row.extra_options[extra[index]] = value
    return row


# --- checking the file against the shop -------------------------------------------


@dataclass
class VariantPlan:
    row: int
    key: tuple[str | None, str | None, str | None] | None  # option values; None: not given
    values: dict[str, Any]  # columns to set on the variant
    quantity: int | None = None  # stock to set (tracked variants)
    existing_id: int | None = None


@dataclass
class ProductPlan:
    handle: str
    row: int
    existing_id: int | None
    fields: dict[str, Any]
    option_names: list[str] | None  # None: keep the product's options
    variants: list[VariantPlan]
    replace_variants: bool = False  # the options change: variants not in the file go
    image_alts: dict[int, str] = field(default_factory=dict)  # image id -> alt text
    removed_variants: int = 0
    counted_before: bool = False  # an existing product the plan's limit counts (not archived)

    @property
    def counts(self) -> int:
        """What this product changes in the plan's product count: +1 when it is new or
        comes back from the archive, -1 when the file archives it, else 0."""
        status = self.fields.get("status")
        after = self.counted_before if status is None else status != ProductStatus.ARCHIVED
        return int(after) - int(self.counted_before)


@dataclass
class ImportPlan:
    products: list[ProductPlan] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    notes: list[Problem] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    rows: int = 0

    @property
    def creates(self) -> int:
        return sum(1 for p in self.products if p.existing_id is None)

    def summary(self) -> dict[str, Any]:
        variants = [v for p in self.products for v in p.variants]
        return {
            "rows": self.rows,
            "create": self.creates,
            "update": len(self.products) - self.creates,
            "variants_new": sum(1 for v in variants if v.existing_id is None),
            "variants_updated": sum(1 for v in variants if v.existing_id is not None),
            "variants_removed": sum(p.removed_variants for p in self.products),
            "stock_set": sum(1 for v in variants if v.quantity is not None),
            "ignored_columns": self.ignored,
            "problem_count": len(self.problems),
            "note_count": len(self.notes),
        }


def check(text: str, *, tenant_id: int, currency: str, limit: bool = True) -> ImportPlan:
    """Read `text` and work out what importing it would do, changing nothing.

    With `limit`, a file that would take the catalog over the plan's product limit has
    that as a problem (the job checks the limit itself, under a lock).
    """
    parsed = parse(text)
    planner = _Planner(parsed, tenant_id=tenant_id, currency=currency)
    plan = planner.plan()
    if limit:
        planner.check_limit()
    return plan


class _Planner:
    """Checks every row and turns the file into an `ImportPlan` (see `check`)."""

    def __init__(self, parsed: ParsedFile, *, tenant_id: int, currency: str) -> None:
        self.parsed = parsed
        self.columns = parsed.columns
        self.tenant_id = tenant_id
        self.currency = currency
        self.result = ImportPlan(
            problems=list(parsed.problems), ignored=parsed.ignored, rows=len(parsed.rows)
        )
        self.sku_rows: dict[str, int] = {}
        self.sku_owners: dict[str, tuple[int, str]] = {}

    def error(self, row: int | None, column: str | None, message: str) -> None:
        self.result.problems.append(Problem(row, column, message))

    def note(self, row: int | None, column: str | None, message: str) -> None:
        self.result.notes.append(Problem(row, column, message))

    def plan(self) -> ImportPlan:
        if not self.parsed.rows and not self.result.problems:
            self.error(None, None, "The file has column names but no products.")
        if len(self.parsed.rows) > MAX_ROWS:
            self.error(
                None,
                None,
                f"This file has {len(self.parsed.rows):,} rows; an import takes at most "
                f"{MAX_ROWS:,}. Split it into smaller files, keeping each product's rows together.",
            )
            return self.result
        groups = self._groups()
        existing = _existing_products([handle for handle, _ in groups])
        self.sku_owners = _sku_owners(self._skus())
        for handle, rows in groups:
            planned = self._product(handle, rows, existing.get(handle))
            if planned is not None:
                self.result.products.append(planned)
        return self.result

    # -- rows into products --

    def _groups(self) -> list[tuple[str, list[Row]]]:
        groups: list[tuple[str, list[Row]]] = []
        first_row: dict[str, int] = {}
        for row in self.parsed.rows:
            handle = self._handle(row)
            if handle is None:
                continue
            if groups and groups[-1][0] == handle:
                self._check_same_product(row, groups[-1][1][0], handle)
                groups[-1][1].append(row)
            elif handle in first_row:
                self.error(
                    row.number,
                    "Handle",
                    f"“{handle}” is the handle of the product starting in row "
                    f"{first_row[handle]}. Keep a product's rows together, one after another, "
                    "and give different products different handles.",
                )
            else:
                first_row[handle] = row.number
                groups.append((handle, [row]))
        return groups

    def _handle(self, row: Row) -> str | None:
        typed, title = row.get("Handle"), row.get("Title")
        column, source = ("Handle", typed) if typed else ("Title", title)
        if not source:
            self.error(
                row.number, "Handle", "give the product's Handle (or a Title for a new product)."
            )
            return None
        if column == "Handle" and len(typed) > 255:
            self.error(
                row.number, "Handle", f"is too long: {len(typed):,} characters, at most 255."
            )
            return None
        handle = catalog.handleize(source)
        if not handle:
            self.error(
                row.number,
                column,
                f"{_quote(source)} has no letters or digits to make a handle from.",
            )
            return None
        return handle

    def _check_same_product(self, row: Row, first: Row, handle: str) -> None:
        title, first_title = row.get("Title"), first.get("Title")
        if title and first_title and title != first_title:
            self.error(
                row.number,
                "Title",
                f"{_quote(title)} has the same handle (“{handle}”) as “{first_title}” in row "
                f"{first.number}. Give each product its own handle.",
            )

    def _skus(self) -> list[str]:
        return sorted({row.get("Variant SKU") for row in self.parsed.rows} - {""})

    # -- one product --

    def _product(
        self, handle: str, rows: list[Row], existing: Product | None
    ) -> ProductPlan | None:
        first = rows[0]
        before = len(self.result.problems)
        fields = self._product_fields(first, existing, handle)
        names = self._option_names(first, existing)
        for row in rows:
            for column in row.extra_options:
                self.error(
                    row.number, column, f"a product can have at most {catalog.MAX_OPTIONS} options."
                )
        current = [o.name for o in existing.options] if existing is not None else []
        effective = current if names is None else names
        variant_rows = [
            r for r in rows if _has_variant_data(r) or (r is first and existing is None)
        ]
        variants = [self._variant(r, effective, first.number) for r in variant_rows]
        planned = ProductPlan(
            handle=handle,
            row=first.number,
            existing_id=existing.id if existing is not None else None,
            fields=fields,
            option_names=names,
            variants=[v for v in variants if v is not None],
            replace_variants=existing is not None and names is not None and names != current,
            counted_before=existing is not None and existing.status != ProductStatus.ARCHIVED,
        )
        self._continue_selling(planned, variant_rows)
        self._check_variants(planned, existing, first)
        self._images(planned, rows, existing)
        return planned if len(self.result.problems) == before else None

    def _product_fields(self, first: Row, existing: Product | None, handle: str) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        n = first.number
        title = " ".join(first.get("Title").split())
        if title:
            fields["title"] = self._limited(first, "Title", title)
        elif existing is None:
            self.error(
                n, "Title", f"a new product needs a title (no product has the handle “{handle}”)."
            )
        if "Body (HTML)" in self.columns:
            fields["description"] = self._description(first)
        for column, name in (
            ("Vendor", "vendor"),
            ("SEO Title", "seo_title"),
            ("SEO Description", "seo_description"),
        ):
            if column in self.columns:
                fields[name] = self._limited(first, column, " ".join(first.get(column).split()))
        product_type = self._product_type(first)
        if product_type is not None:
            fields["product_type"] = product_type
        if "Tags" in self.columns:
            try:
                fields["tags"] = catalog.parse_tags(first.get("Tags"))
            except ProductError as error:
                self.error(n, "Tags", str(error))
        status = self._status(first)
        if status is not None:
            fields["status"] = status
        elif existing is None:
            fields["status"] = ProductStatus.ACTIVE
        if existing is not None:
            self._note_cleared(first, existing, fields)
        return fields

    def _note_cleared(self, row: Row, existing: Product, fields: dict[str, Any]) -> None:
        # An empty cell in a column the file has clears the field: say so before it happens.
        for name, column, label in CLEARABLE:
            if name in fields and not fields[name] and getattr(existing, name):
                self.note(row.number, column, f"empty, so the product's {label} will be cleared.")

    def _limited(self, row: Row, column: str, value: str) -> str:
        limit = MAX_TEXT[column]
        if len(value) > limit:
            self.error(
                row.number, column, f"is too long: {len(value):,} characters, at most {limit:,}."
            )
        return value

    def _description(self, row: Row) -> str:
        raw = row.get("Body (HTML)")
        if len(raw) > catalog.MAX_DESCRIPTION:
            self.error(
                row.number,
                "Body (HTML)",
                f"is too long: {len(raw):,} characters, at most {catalog.MAX_DESCRIPTION:,}.",
            )
            return ""
        cleaned = catalog.clean_description(raw)
        if cleaned != raw:
            self.note(
                row.number,
                "Body (HTML)",
                "the description was cleaned: scripts and formatting the shop does not allow "
                "were removed.",
            )
        return cleaned

    def _product_type(self, row: Row) -> str | None:
        if "Type" in self.columns:
            return self._limited(row, "Type", " ".join(row.get("Type").split()))
        if CATEGORY in self.columns:
            # "Home & Garden > Kitchen > Mugs": the last step is the type.
            last = row.get(CATEGORY).split(">")[-1]
            return self._limited(row, CATEGORY, " ".join(last.split()))
        return None

    def _status(self, row: Row) -> str | None:
        status, published = row.get("Status").lower(), row.get("Published").lower()
        if status:
            if status not in catalog.EDIT_STATUSES:
                self.error(
                    row.number,
                    "Status",
                    f"{_quote(row.get('Status'))} is not a status; use active, draft or archived.",
                )
            return status
        if published:
            if published not in ("true", "false"):
                self.error(
                    row.number,
                    "Published",
                    f"{_quote(row.get('Published'))} must be TRUE or FALSE.",
                )
            return ProductStatus.ACTIVE if published == "true" else ProductStatus.DRAFT
        return None

    def _option_names(self, first: Row, existing: Product | None) -> list[str] | None:
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
                self.error(first.number, column, f"fill in Option{n - 1} Name first.")
            elif name.lower() in (x.lower() for x in names):
                self.error(
                    first.number, column, f"two options cannot both be called {_quote(name)}."
                )
            elif name:
                names.append(self._limited(first, column, name))
        return names

    # -- variants --

    def _variant(self, row: Row, names: list[str], first_row: int) -> VariantPlan | None:
        before = len(self.result.problems)
        key = self._option_values(row, names, first_row)
        values, quantity = self._variant_values(row)
        if len(self.result.problems) > before:
            return None
        return VariantPlan(row.number, key, values, quantity)

    def _option_values(
        self, row: Row, names: list[str], first_row: int
    ) -> tuple[str | None, str | None, str | None] | None:
        given = any(f"Option{n} Value" in self.columns for n in (1, 2, 3))
        if not given:
            return (None, None, None) if not names else None
        values: list[str | None] = []
        for n in (1, 2, 3):
            column = f"Option{n} Value"
            value = " ".join(row.get(column).split())
            if n == 1 and not names and value == NO_OPTIONS[1]:
                value = ""
            if n <= len(names) and not value:
                self.error(row.number, column, f"give this variant's {names[n - 1]}.")
            elif n > len(names) and value:
                self.error(
                    row.number,
                    column,
                    f"the product has no Option{n} Name: name its options on its first row "
                    f"(row {first_row}).",
                )
            elif value:
                self._limited(row, column, value)
            values.append(value or None)
        return (values[0], values[1], values[2])

    def _variant_values(self, row: Row) -> tuple[dict[str, Any], int | None]:
        values: dict[str, Any] = {}
        sku = row.get("Variant SKU")
        if "Variant SKU" in self.columns:
            values["sku"] = self._sku(row, sku) or None
        price = self._price(row, "Variant Price")
        if price is not None:
            values["price_cents"] = price
        if "Variant Compare At Price" in self.columns:
            values["compare_at_cents"] = self._price(row, "Variant Compare At Price")
        if "Variant Grams" in self.columns:
            values["weight_grams"] = self._grams(row)
        if "Variant Barcode" in self.columns:
            values["barcode"] = (
                self._limited(row, "Variant Barcode", row.get("Variant Barcode")) or None
            )
        quantity = self._quantity(row)
        if "Variant Inventory Tracker" in self.columns:
            values["inventory_tracked"] = bool(row.get("Variant Inventory Tracker"))
            if not values["inventory_tracked"] and quantity:
                self.note(
                    row.number,
                    "Variant Inventory Qty",
                    "not applied: Variant Inventory Tracker is empty, so stock is not tracked.",
                )
        elif quantity is not None:
            values["inventory_tracked"] = True
        if values.get("inventory_tracked") is False:
            quantity = None
        return values, quantity

    def _sku(self, row: Row, sku: str) -> str:
        if not sku:
            return ""
        self._limited(row, "Variant SKU", sku)
        if sku in self.sku_rows:
            self.error(
                row.number,
                "Variant SKU",
                f"{_quote(sku)} is also in row {self.sku_rows[sku]}; "
                "each variant needs its own SKU.",
            )
        self.sku_rows.setdefault(sku, row.number)
        return sku

    def _price(self, row: Row, column: str) -> int | None:
        raw = row.get(column)
        if not raw:
            return None
        if raw.startswith("-"):
            self.error(
                row.number, column, f"{_quote(raw)} is not a valid price (must be 0 or more)."
            )
            return None
        text = re.sub(r"^([0-9]+\.[0-9]{2})0+$", r"\1", raw)  # "12.500" as some exports write
        if self.currency in ZERO_DECIMAL:
            text = re.sub(r"^([0-9]+)\.0+$", r"\1", text)
        try:
            return catalog.parse_price(text, self.currency)
        except ProductError as error:
            reason = str(error).rstrip(".")
            self.error(
                row.number,
                column,
                f"{_quote(raw)} is not a valid price ({reason[0].lower()}{reason[1:]}).",
            )
            return None

    def _whole_number(
        self, row: Row, column: str, what: str, limit: int, decimals: bool
    ) -> int | None:
        raw = row.get(column)
        if not raw:
            return None
        pattern = r"[0-9]{1,10}(?:\.[0-9]+)?" if decimals else r"[0-9]{1,10}"
        if raw.startswith("-"):
            self.error(
                row.number, column, f"{_quote(raw)} is not a valid {what} (must be 0 or more)."
            )
        elif not re.fullmatch(pattern, raw):
            self.error(
                row.number,
                column,
                f"{_quote(raw)} is not a valid {what} (use a whole number, like 12).",
            )
        elif float(raw) > limit:
            self.error(
                row.number,
                column,
                f"{_quote(raw)} is more than the largest {what} allowed ({limit:,}).",
            )
        else:
            return round(float(raw)) if decimals else int(raw)
        return None

    def _grams(self, row: Row) -> int | None:
        # Shopify writes grams as whole numbers; some tools add decimals ("350.0").
        return self._whole_number(row, "Variant Grams", "weight", catalog.MAX_WEIGHT_GRAMS, True)

    def _quantity(self, row: Row) -> int | None:
        return self._whole_number(
            row, "Variant Inventory Qty", "quantity", catalog.MAX_STOCK, False
        )

    def _continue_selling(self, planned: ProductPlan, rows: list[Row]) -> None:
        policies = [(r, r.get("Variant Inventory Policy").lower()) for r in rows]
        policies = [(r, p) for r, p in policies if p]
        for row, policy in policies:
            if policy not in ("deny", "continue"):
                self.error(
                    row.number,
                    "Variant Inventory Policy",
                    f"{_quote(policy)} must be deny or continue.",
                )
        if policies:
            planned.fields["continue_selling"] = policies[0][1] == "continue"
        if len({p for _, p in policies}) > 1:
            self.note(
                policies[0][0].number,
                "Variant Inventory Policy",
                "this shop keeps selling when out of stock per product, not per variant: the "
                f"first variant's “{policies[0][1]}” applies to all.",
            )

    def _check_variants(self, planned: ProductPlan, existing: Product | None, first: Row) -> None:
        self._check_sku_owners(planned)
        self._match(planned, existing)
        self._check_combinations(planned, existing)
        self._check_compare_at(planned, existing)
        self._note_untracked(planned, existing)
        unlisted = not planned.variants or any(v.key is None for v in planned.variants)
        if planned.replace_variants and unlisted:
            self.error(
                first.number,
                "Option1 Name",
                "these options differ from the product's, so list its variants in the file too, "
                "each with its option values.",
            )

    def _check_sku_owners(self, planned: ProductPlan) -> None:
        for variant in planned.variants:
            owner = self.sku_owners.get(variant.values.get("sku") or "")
            if owner is not None and owner[0] != planned.existing_id:
                self.error(
                    variant.row,
                    "Variant SKU",
                    f"{_quote(variant.values['sku'])} is already used by another product in your "
                    f"shop (“{owner[1]}”).",
                )

    def _match(self, planned: ProductPlan, existing: Product | None) -> None:
        """Pair rows with the product's variants: by SKU first, then by option values."""
        if existing is None:
            return
        by_sku = {v.sku: v for v in existing.variants if v.sku}
        claimed: dict[int, int] = {}
        for variant in planned.variants:
            match = by_sku.get(variant.values.get("sku") or "")
            if match is not None:
                variant.existing_id, claimed[match.id] = match.id, variant.row
        by_key = {
            (v.option1, v.option2, v.option3): v for v in existing.variants if v.id not in claimed
        }
        for variant in planned.variants:
            if variant.existing_id is None and variant.key is not None and variant.key in by_key:
                match = by_key.pop(variant.key)
                variant.existing_id, claimed[match.id] = match.id, variant.row
        if planned.replace_variants:
            planned.removed_variants = sum(1 for v in existing.variants if v.id not in claimed)

    def _check_combinations(self, planned: ProductPlan, existing: Product | None) -> None:
        final: dict[tuple[str | None, ...], int] = {}
        for variant in planned.variants:
            key = variant.key
            if key is None:
                if variant.existing_id is None:
                    self.error(
                        variant.row, "Option1 Value", "a new variant needs its option values."
                    )
                    continue
                key = _key(_variant_by_id(existing, variant.existing_id))
            if key in final:
                self._duplicate(variant.row, key, final[key])
            final[key] = variant.row
        kept = [] if existing is None or planned.replace_variants else existing.variants
        used = {v.existing_id for v in planned.variants}
        for old in kept:
            if old.id not in used and _key(old) in final:
                self._duplicate(final[_key(old)], _key(old), None)
        count = len(final) + sum(1 for v in kept if v.id not in used)
        if count > catalog.MAX_VARIANTS:
            self.error(
                planned.row,
                None,
                f"the product would have {count} variants; at most {catalog.MAX_VARIANTS}.",
            )

    def _duplicate(self, row: int, key: tuple[str | None, ...], other: int | None) -> None:
        if key == (None, None, None):
            self.error(
                row,
                "Option1 Value",
                "this product has no options, so it has one variant"
                + (f" (in row {other})" if other else "")
                + ". To list more, name an option (Option1 Name) and give each variant a value.",
            )
            return
        name = " / ".join(v for v in key if v)
        where = f"row {other}" if other else "the product already"
        self.error(
            row,
            "Option1 Value",
            f"{where} has the variant “{name}”; each variant needs different option values.",
        )

    def _check_compare_at(self, planned: ProductPlan, existing: Product | None) -> None:
        for variant in planned.variants:
            old = _variant_by_id(existing, variant.existing_id) if variant.existing_id else None
            price = variant.values.get("price_cents", old.price_cents if old else None)
            compare = variant.values.get("compare_at_cents", old.compare_at_cents if old else None)
            if price is None and variant.existing_id is None:
                self.error(variant.row, "Variant Price", "a new variant needs a price.")
            elif price is not None and compare is not None and compare < price:
                self.error(
                    variant.row,
                    "Variant Compare At Price",
                    "must be at least the price (it is the “was” price shown crossed out).",
                )

    def _note_untracked(self, planned: ProductPlan, existing: Product | None) -> None:
        for variant in planned.variants:
            if variant.existing_id is None or variant.values.get("inventory_tracked") is not False:
                continue
            old = _variant_by_id(existing, variant.existing_id)
            if old.inventory_tracked:
                self.note(
                    variant.row,
                    "Variant Inventory Tracker",
                    f"empty, so this variant's stock ({old.inventory_quantity}) will no longer "
                    "be tracked.",
                )

    # -- images --

    def _images(self, planned: ProductPlan, rows: list[Row], existing: Product | None) -> None:
        own = {image.file: image for image in existing.images} if existing is not None else {}
        for row in rows:
            src = row.get("Image Src")
            if not src:
                continue
            image = own.get(_media_file(src) or "")
            if image is None:
                self.note(
                    row.number,
                    "Image Src",
                    "not imported: images are never downloaded from web addresses. Upload it "
                    "on the product's page.",
                )
            elif "Image Alt Text" in self.columns:
                alt = self._limited(
                    row, "Image Alt Text", " ".join(row.get("Image Alt Text").split())
                )
                if alt != image.alt:
                    planned.image_alts[image.id] = alt

    # -- the plan's limit --

    def check_limit(self) -> None:
        problem = limit_problem(self.tenant_id, self.result)
        if problem:
            self.result.problems.append(problem)


def _has_variant_data(row: Row) -> bool:
    return any(row.get(column) for column in VARIANT_COLUMNS)


def _key(variant: ProductVariant) -> tuple[str | None, str | None, str | None]:
    return (variant.option1, variant.option2, variant.option3)


def _variant_by_id(product: Product | None, variant_id: int) -> ProductVariant:
    assert product is not None
    return next(v for v in product.variants if v.id == variant_id)


def _media_file(src: str) -> str | None:
    """The file name in one of this shop's image addresses (`.../media/<file>`)."""
    path = urlsplit(src).path
    folder, _, name = path.rpartition("/")
    return name if folder.endswith("/media") and name else None


def _chunks(items: list[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _existing_products(handles: list[str]) -> dict[str, Product]:
    found: dict[str, Product] = {}
    for chunk in _chunks(handles, 1000):
        query = (
            select(Product)
            .where(Product.handle.in_(chunk))
            .options(
                selectinload(Product.variants),
                selectinload(Product.options),
                selectinload(Product.images),
            )
        )
        found.update((p.handle, p) for p in db.session.scalars(query))
    return found


def _sku_owners(skus: list[str]) -> dict[str, tuple[int, str]]:
    owners: dict[str, tuple[int, str]] = {}
    for chunk in _chunks(skus, 1000):
        rows = db.session.execute(
            select(ProductVariant.sku, Product.id, Product.handle)
            .join(Product, Product.id == ProductVariant.product_id)
            .where(ProductVariant.sku.in_(chunk))
        )
        owners.update((sku, (product_id, handle)) for sku, product_id, handle in rows if sku)
    return owners


def limit_problem(tenant_id: int, plan: ImportPlan, *, lock: bool = False) -> Problem | None:
    """Why the plan cannot take what this import adds to the catalog; None if it can.

    What counts is the net change in products that are not archived: new products and
    products the file brings back from the archive, less those it archives (the import
    is one transaction). The problem names how many are over the limit and the first
    of them. With `lock`, the subscription row stays locked until the transaction ends
    (see saas.billing.limits).
    """
    adding = sum(p.counts for p in plan.products)
    problem = limits.limit_problem(tenant_id, Limit.PRODUCTS, adding, lock=lock)
    if problem is None or problem.limit is None:
        return None
    over = problem.used + adding - problem.limit
    arriving = [p for p in plan.products if p.counts > 0]
    first = arriving[max(len(arriving) - over, 0)]
    room = max(problem.limit - problem.used, 0)
    message = (
        f"This file would add {adding:,} product{'' if adding == 1 else 's'} to your catalog, "
        f"but your {problem.plan_name} plan allows {problem.limit:,} and your catalog has "
        f"{problem.used:,}: {over:,} too many (the first over the limit is “{first.handle}”, "
        f"row {first.row}). Archived products don't count. Import "
        + (f"at most {room:,} new product{'' if room == 1 else 's'}" if room else "no new products")
        + ", or archive products you no longer sell."
    )
    return Problem(None, None, message, upgrade=problem.goal)


# --- the run: preview, confirm, the job --------------------------------------------


def preview(
    text: str, filename: str, *, tenant_id: int, currency: str, staff_id: int | None
) -> ProductImport:
    """The dry run: check the file and keep what was found as a new run. Flushes."""
    plan = check(text, tenant_id=tenant_id, currency=currency)
    run = ProductImport(
        filename=(filename or "products.csv")[-255:],
        status=ImportStatus.PREVIEWED,
        # Kept for the job to re-read; a file with problems is never imported.
        csv_text="" if plan.problems else text,
        summary=plan.summary(),
        problems=[p.as_dict() for p in plan.problems[:MAX_STORED_PROBLEMS]],
        notes=[p.as_dict() for p in plan.notes[:MAX_STORED_PROBLEMS]],
        total=len(plan.products),
        processed=0,
        failure="",
        staff_id=staff_id,
    )
    db.session.add(run)
    db.session.flush()
    return run


def recent_runs(limit: int = 10) -> list[ProductImport]:
    return list(
        db.session.scalars(select(ProductImport).order_by(ProductImport.id.desc()).limit(limit))
    )


def confirm(run: ProductImport) -> None:
    """Mark a previewed run to be imported (the caller commits, then enqueues the job).

    Raises:
        ImportRefused: it was already started, or its file has problems.
    """
    if run.status != ImportStatus.PREVIEWED:
        raise ImportRefused("This import has already been started.")
    if run.problems:
        raise ImportRefused(
            "This file has problems to fix first. Correct them and upload it again."
        )
    run.status = ImportStatus.QUEUED
    db.session.flush()


def fail_to_start(run_id: int) -> None:
    """The job could not be queued: say so rather than leave the run waiting for ever
    (staged; the caller commits)."""
    _finish_failed(run_id, "The import could not be started. Please try again.", [])


def run_import(run_id: int) -> str | None:
    """Job: import a confirmed run in one transaction; a failure changes nothing.

    Safe to run twice: only a queued run is picked up. Returns the run's final status.
    The job's edge (`saas.jobs.run_job`) commits once: the catalog's changes with the
    run marked done, or, after a failure, only the run marked failed.
    """
    if not _claim(run_id):
        return None
    run = db.session.get(ProductImport, run_id)
    assert run is not None
    progress = _Progress(run_id)
    try:
        # A savepoint: a failure undoes every product applied so far (and a database
        # error leaves the transaction usable), so the failure is still recorded.
        with atomic():
            counts = _import(run, progress)
    except ImportFailed as failed:
        _finish_failed(run_id, str(failed), failed.problems)
        return ImportStatus.FAILED
    except Exception:
        log.exception("product import %s failed at row %s", run_id, progress.row)
        where = f" at row {progress.row}" if progress.row else ""
        _finish_failed(
            run_id,
            f"The import stopped{where} because of an unexpected error. Try again; if it "
            "happens again, contact support.",
            [],
        )
        return ImportStatus.FAILED
    _finish_done(run, counts)
    return ImportStatus.DONE


def _claim(run_id: int) -> bool:
    """Mark a queued run running, on a short transaction of its own that commits at once
    (not the job's, which commits only at the end): the merchant's page must show the
    run running while the import goes on, and the job's transaction must hold no lock
    on the run's row, which the progress updates (`_Progress`) write from another
    connection. Only a queued run is claimed, so a second copy of the job does nothing.
    """
    with tenant_bind(db.engine, current_tenant.schema).begin() as conn:
        claimed = conn.execute(
            update(ProductImport)
            .where(ProductImport.id == run_id, ProductImport.status == ImportStatus.QUEUED)
            .values(status=ImportStatus.RUNNING)
        )
    return bool(getattr(claimed, "rowcount", 0))


def _import(run: ProductImport, progress: _Progress) -> dict[str, Any]:
    from tenants.settings.services import get_settings

    # Never write to `run` before the end: the progress updates go through another
    # connection, and a lock held here on its row would make them wait for ever.
    currency = get_settings().currency
    plan = check(run.csv_text, tenant_id=current_tenant.id, currency=currency, limit=False)
    if plan.problems:
        raise ImportFailed(
            "The file no longer passes its checks, because the catalog changed since the "
            "preview. Correct the problems below and upload the file again.",
            plan.problems,
        )
    problem = limit_problem(current_tenant.id, plan, lock=True)
    if problem:
        raise ImportFailed(
            "Your catalog or plan changed since the preview, and this file would now take "
            "the catalog over your plan's product limit.",
            [problem],
        )
    progress.total = len(plan.products)
    for done, planned in enumerate(plan.products, 1):
        progress.row = planned.row
        apply_product(planned, staff_id=run.staff_id)
        progress.step(done)
    return plan.summary()


class _Progress:
    """Writes "N of M done" on a separate connection, so it shows while the import's own
    transaction is still open."""

    def __init__(self, run_id: int) -> None:
        self.run_id = run_id
        self.total = 0
        self.row: int | None = None
        self.last = time.monotonic()
        self.engine = tenant_bind(db.engine, current_tenant.schema)

    def step(self, done: int) -> None:
        now = time.monotonic()
        if now - self.last < PROGRESS_EVERY and done < self.total:
            return
        self.last = now
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    update(ProductImport)
                    .where(ProductImport.id == self.run_id)
                    .values(processed=done)
                )
        except SQLAlchemyError:  # only the progress display suffers: the import goes on
            log.warning("could not record the progress of product import %s", self.run_id)


def _finish_done(run: ProductImport, counts: dict[str, Any]) -> None:
    run.status = ImportStatus.DONE
    run.processed = run.total = counts["create"] + counts["update"]
    run.summary = counts
    run.csv_text = ""  # the file is not needed any more
    run.finished_at = datetime.now(UTC)
    audit.record(
        "product.import_finished",
        actor=_actor(run.staff_id),
        import_id=run.id,
        counts=_audit_counts(counts),
    )


def _finish_failed(run_id: int, reason: str, problems: list[Problem]) -> None:
    # Read again: the progress updates have written `processed` on another connection.
    run = db.session.get(ProductImport, run_id, populate_existing=True)
    if run is None:
        return
    run.status = ImportStatus.FAILED
    run.failure = reason
    run.processed = 0  # nothing of it was kept
    run.problems = [p.as_dict() for p in problems[:MAX_STORED_PROBLEMS]]
    run.csv_text = ""
    run.finished_at = datetime.now(UTC)
    audit.record(
        "product.import_failed", actor=_actor(run.staff_id), import_id=run.id, reason=reason
    )


def _actor(staff_id: int | None) -> tuple[str, int | None, str | None]:
    staff = db.session.get(Staff, staff_id) if staff_id is not None else None
    return ("staff", staff.id, staff.email) if staff is not None else ("system", None, None)


def _audit_counts(counts: dict[str, Any]) -> dict[str, int]:
    names = ("create", "update", "variants_new", "variants_updated", "variants_removed")
    return {name: int(counts.get(name, 0)) for name in names}


# --- applying one product ----------------------------------------------------------


def apply_product(planned: ProductPlan, *, staff_id: int | None) -> Product:
    """Create or update one planned product with its variants, options and stock. Flushes."""
    product = _product_for(planned)
    variants = _apply_variants(product, planned)
    if planned.variants or planned.option_names is not None:
        _apply_options(product, planned.option_names)
    _apply_stock(variants, staff_id)
    for image in product.images:
        if image.id in planned.image_alts:
            image.alt = planned.image_alts[image.id]
    catalog.sync_summary(product)
    db.session.flush()
    return product


def _apply_stock(variants: list[tuple[ProductVariant, VariantPlan]], staff_id: int | None) -> None:
    for variant, plan in variants:
        if plan.quantity is None or not variant.inventory_tracked:
            continue
        if plan.existing_id is None:
            _record_first_stock(variant, plan.quantity, staff_id)
        else:
            inventory.set_quantity(
                variant,
                plan.quantity,
                AdjustmentReason.IMPORTED,
                note=IMPORT_NOTE,
                staff_id=staff_id,
            )


def _record_first_stock(variant: ProductVariant, quantity: int, staff_id: int | None) -> None:
    """A new variant's stock, with its history row, as `inventory.adjust` would write it.

    Without its row lock and threshold check: the variant was made in this transaction,
    so nobody else can see it yet, and its stock cannot fall from above the threshold.
    That saves several statements per variant, which large imports need.
    """
    variant.inventory_quantity = quantity
    if quantity:
        db.session.add(
            InventoryAdjustment(
                variant_id=variant.id,
                delta=quantity,
                quantity_after=quantity,
                reason=AdjustmentReason.IMPORTED,
                note=IMPORT_NOTE,
                staff_id=staff_id,
            )
        )


def _product_for(planned: ProductPlan) -> Product:
    if planned.existing_id is not None:
        product = db.session.get(Product, planned.existing_id)
        assert product is not None
        for name, value in planned.fields.items():
            setattr(product, name, value)
        return product
    first_price = next(v.values["price_cents"] for v in planned.variants)
    product = Product(handle=planned.handle, price_cents=first_price, **planned.fields)
    # A new product takes its handle back from any old redirect (as a renamed one does).
    db.session.execute(delete(ProductRedirect).where(ProductRedirect.old_handle == planned.handle))
    db.session.add(product)  # inserted with its variants, at their flush
    return product


def _apply_variants(
    product: Product, planned: ProductPlan
) -> list[tuple[ProductVariant, VariantPlan]]:
    matched = {v.existing_id for v in planned.variants if v.existing_id is not None}
    if planned.replace_variants:
        # Delete first: the unit of work inserts before it deletes, and a removed
        # variant's SKU may be reused below.
        product.variants = [v for v in product.variants if v.id in matched]
        db.session.flush()
    by_id = {v.id: v for v in product.variants}
    # SKUs may move between variants: clear them first so the unique index never clashes.
    moving = [by_id[p.existing_id] for p in planned.variants if p.existing_id and "sku" in p.values]
    for taken in moving:
        taken.sku = None
    if moving:
        db.session.flush()
    position = max((v.position for v in product.variants), default=0)
    renumber = planned.replace_variants
    result: list[tuple[ProductVariant, VariantPlan]] = []
    for index, plan in enumerate(planned.variants, 1):
        variant = by_id.get(plan.existing_id) if plan.existing_id is not None else None
        if variant is None:
            variant = ProductVariant(inventory_tracked=False, inventory_quantity=0)
            position += 1
            variant.position = index if renumber else position
            product.variants.append(variant)
        elif renumber:
            variant.position = index
        if plan.key is not None:
            variant.option1, variant.option2, variant.option3 = plan.key
        for name, value in plan.values.items():
            setattr(variant, name, value)
        result.append((variant, plan))
    db.session.flush()
    return result


def _apply_options(product: Product, names: list[str] | None) -> None:
    """Option rows in step with the variants: names as given (or kept), values in use."""
    if names is None:
        names = [option.name for option in product.options]
    variants = sorted(product.variants, key=lambda v: (v.position, v.id or 0))
    by_position = {option.position: option for option in product.options}
    kept: list[ProductOption] = []
    for n, name in enumerate(names, 1):
        # Updated in place: the unit of work inserts before it deletes (see save_options).
        option = by_position.get(n) or ProductOption(position=n, values=[])
        used = list(dict.fromkeys(v for v in (getattr(x, f"option{n}") for x in variants) if v))
        option.name = name
        option.values = [v for v in option.values if v in used] + [
            v for v in used if v not in option.values
        ]
        kept.append(option)
    product.options = kept


# --- export ------------------------------------------------------------------------


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
    for chunk in _chunks(product_ids):
        with tenant_context(tenant):
            lines = _export_chunk(chunk, currency, image_url)
        yield lines


def _export_chunk(chunk: list[int], currency: str, image_url: Callable[[str], str]) -> str:
    products = {
        p.id: p
        for p in db.session.scalars(
            select(Product)
            .where(Product.id.in_(chunk))
            .options(
                selectinload(Product.variants),
                selectinload(Product.options),
                selectinload(Product.images),
            )
        )
    }
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


def safe_cell(value: str) -> str:
    """A cell a spreadsheet will not run as a formula (see the module's docstring)."""
    if value.startswith(_FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


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
                "Variant Price": catalog.format_amount(product.price_cents, currency),
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
            "Variant Price": catalog.format_amount(variant.price_cents, currency),
            "Variant Compare At Price": ""
            if compare is None
            else catalog.format_amount(compare, currency),
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
