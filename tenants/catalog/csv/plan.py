"""Checking a file against the shop: what importing it would do, changing nothing.

`check` groups the rows into products by Handle, plans each product's fields
(`plan_fields`) and variants (`plan_variants`), its images, and checks the plan's
product limit. A product with any problem is left out of the plan; a file with any
problem is never imported.

Images are never downloaded. Fetching whatever address a file names would let an upload
make the server request internal services (server-side request forgery: cloud metadata
endpoints, the database, Redis) or huge files, and production workers may not reach the
internet at all. An Image Src naming one of the product's own images (as the export
writes them) is recognised and its Image Alt Text applied; any other is listed in the
preview as not imported, to be uploaded on the product's page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from saas.billing import limits
from saas.billing.limits import Limit
from tenants.catalog import products as catalog
from tenants.catalog.csv.findings import Findings, Problem, quote
from tenants.catalog.csv.lookups import existing_products, sku_owners
from tenants.catalog.csv.plan_fields import extra_options, option_names, product_fields
from tenants.catalog.csv.plan_variants import (
    VariantPlan,
    VariantReader,
    check_variants,
    continue_selling,
    has_variant_data,
)
from tenants.catalog.csv.read import ParsedFile, Row, parse
from tenants.catalog.models import Product, ProductStatus

# The import job must finish well inside the worker's job timeout (RQ's default, 180 s):
# an import writes about 3 to 5 ms per row, so this leaves a wide margin.
MAX_ROWS = 10_000


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
    plan = _plan(parse(text), currency)
    if limit:
        problem = limit_problem(tenant_id, plan)
        if problem:
            plan.problems.append(problem)
    return plan


def _plan(parsed: ParsedFile, currency: str) -> ImportPlan:
    plan = ImportPlan(problems=list(parsed.problems), ignored=parsed.ignored, rows=len(parsed.rows))
    findings = Findings(plan.problems, plan.notes)
    if not parsed.rows and not plan.problems:
        findings.error(None, None, "The file has column names but no products.")
    if len(parsed.rows) > MAX_ROWS:
        findings.error(
            None,
            None,
            f"This file has {len(parsed.rows):,} rows; an import takes at most "
            f"{MAX_ROWS:,}. Split it into smaller files, keeping each product's rows together.",
        )
        return plan
    groups = _groups(parsed.rows, findings)
    existing = existing_products([handle for handle, _ in groups])
    skus = sorted({row.get("Variant SKU") for row in parsed.rows} - {""})
    planner = _ProductPlanner(
        columns=parsed.columns,
        findings=findings,
        variants=VariantReader(columns=parsed.columns, currency=currency, findings=findings),
        sku_owners=sku_owners(skus),
    )
    for handle, rows in groups:
        planned = planner.plan(handle, rows, existing.get(handle))
        if planned is not None:
            plan.products.append(planned)
    return plan


# --- rows into products --------------------------------------------------------------


def _groups(rows: list[Row], findings: Findings) -> list[tuple[str, list[Row]]]:
    """The rows of each product, by handle, in the file's order."""
    groups: list[tuple[str, list[Row]]] = []
    first_row: dict[str, int] = {}
    for row in rows:
        handle = _handle(row, findings)
        if handle is None:
            continue
        if groups and groups[-1][0] == handle:
            _check_same_product(row, groups[-1][1][0], handle, findings)
            groups[-1][1].append(row)
        elif handle in first_row:
            findings.error(
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


def _handle(row: Row, findings: Findings) -> str | None:
    typed, title = row.get("Handle"), row.get("Title")
    column, source = ("Handle", typed) if typed else ("Title", title)
    if not source:
        findings.error(
            row.number, "Handle", "give the product's Handle (or a Title for a new product)."
        )
        return None
    if column == "Handle" and findings.too_long(row.number, "Handle", typed, 255):
        return None
    handle = catalog.handleize(source)
    if not handle:
        findings.error(
            row.number, column, f"{quote(source)} has no letters or digits to make a handle from."
        )
        return None
    return handle


def _check_same_product(row: Row, first: Row, handle: str, findings: Findings) -> None:
    title, first_title = row.get("Title"), first.get("Title")
    if title and first_title and title != first_title:
        findings.error(
            row.number,
            "Title",
            f"{quote(title)} has the same handle (“{handle}”) as “{first_title}” in row "
            f"{first.number}. Give each product its own handle.",
        )


# --- one product ---------------------------------------------------------------------


@dataclass
class _ProductPlanner:
    """Plans one product at a time, with what the whole file shares."""

    columns: set[str]
    findings: Findings
    variants: VariantReader
    sku_owners: dict[str, tuple[int, str]]  # SKU -> the shop's product (id, handle)

    def plan(self, handle: str, rows: list[Row], existing: Product | None) -> ProductPlan | None:
        """The product's plan; None if it has problems (they are in the findings)."""
        first = rows[0]
        before = len(self.findings.problems)
        fields = product_fields(
            first, existing, handle, columns=self.columns, findings=self.findings
        )
        names = option_names(first, existing, self.findings)
        extra_options(rows, self.findings)
        current = [o.name for o in existing.options] if existing is not None else []
        effective = current if names is None else names
        variant_rows = [r for r in rows if has_variant_data(r) or (r is first and existing is None)]
        variants = [self.variants.variant(r, effective, first.number) for r in variant_rows]
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
        keeps_selling = continue_selling(variant_rows, self.findings)
        if keeps_selling is not None:
            planned.fields["continue_selling"] = keeps_selling
        planned.removed_variants = check_variants(
            planned.variants,
            existing,
            row=planned.row,
            replace=planned.replace_variants,
            sku_owners=self.sku_owners,
            findings=self.findings,
        )
        self._images(planned, rows, existing)
        return planned if len(self.findings.problems) == before else None

    def _images(self, planned: ProductPlan, rows: list[Row], existing: Product | None) -> None:
        # Only the product's own images are recognised (see the module's docstring).
        own = {image.file: image for image in existing.images} if existing is not None else {}
        for row in rows:
            src = row.get("Image Src")
            if not src:
                continue
            image = own.get(_media_file(src) or "")
            if image is None:
                self.findings.note(
                    row.number,
                    "Image Src",
                    "not imported: images are never downloaded from web addresses. Upload it "
                    "on the product's page.",
                )
            elif "Image Alt Text" in self.columns:
                alt = " ".join(row.get("Image Alt Text").split())
                self.findings.limited(row.number, "Image Alt Text", alt)
                if alt != image.alt:
                    planned.image_alts[image.id] = alt


def _media_file(src: str) -> str | None:
    """The file name in one of this shop's image addresses (`.../media/<file>`)."""
    path = urlsplit(src).path
    folder, _, name = path.rpartition("/")
    return name if folder.endswith("/media") and name else None


# --- the plan's limit ----------------------------------------------------------------


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
