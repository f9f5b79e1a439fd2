"""Planning a product's variants: their rows read into `VariantPlan`s, then paired with
the product's variants in the shop and checked as the set the product would end with."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from saas.money import DEFAULT_LOCALE as FILE_LOCALE
from tenants.catalog import products as catalog
from tenants.catalog.csv.findings import Findings, quote
from tenants.catalog.csv.layout import NO_OPTIONS, VARIANT_COLUMNS
from tenants.catalog.csv.read import Row
from tenants.catalog.models import Product, ProductVariant
from tenants.catalog.products import ProductError

OptionKey = tuple[str | None, str | None, str | None]


@dataclass
class VariantPlan:
    row: int
    key: OptionKey | None  # option values; None: not given
    values: dict[str, Any]  # columns to set on the variant
    quantity: int | None = None  # stock to set (tracked variants)
    existing_id: int | None = None


def has_variant_data(row: Row) -> bool:
    return any(row.get(column) for column in VARIANT_COLUMNS)


# --- reading the rows ---------------------------------------------------------------


class VariantReader:
    """Reads variant rows into plans. One reader reads the whole file, so that a SKU
    given in two rows is found even when they are two products' rows."""

    def __init__(self, *, columns: set[str], currency: str, findings: Findings) -> None:
        self.columns = columns
        self.currency = currency
        self.locale = catalog.shop_locale()
        self.findings = findings
        self.sku_rows: dict[str, int] = {}

    def variant(self, row: Row, names: list[str], first_row: int) -> VariantPlan | None:
        """The variant on `row` of a product with options `names`; None if it has problems."""
        before = len(self.findings.problems)
        key = self._option_values(row, names, first_row)
        values, quantity = self._values(row)
        if len(self.findings.problems) > before:
            return None
        return VariantPlan(row.number, key, values, quantity)

    def _option_values(self, row: Row, names: list[str], first_row: int) -> OptionKey | None:
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
                self.findings.error(row.number, column, f"give this variant's {names[n - 1]}.")
            elif n > len(names) and value:
                self.findings.error(
                    row.number,
                    column,
                    f"the product has no Option{n} Name: name its options on its first row "
                    f"(row {first_row}).",
                )
            elif value:
                self.findings.limited(row.number, column, value)
            values.append(value or None)
        return (values[0], values[1], values[2])

    def _values(self, row: Row) -> tuple[dict[str, Any], int | None]:
        """The variant's attributes to set, and the stock to set."""
        values: dict[str, Any] = {}
        if "Variant SKU" in self.columns:
            values["sku"] = self._sku(row) or None
        price = self._price(row, "Variant Price")
        if price is not None:
            values["price_cents"] = price
        if "Variant Compare At Price" in self.columns:
            values["compare_at_cents"] = self._price(row, "Variant Compare At Price")
        if "Variant Grams" in self.columns:
            # Shopify writes grams as whole numbers; some tools add decimals ("350.0").
            values["weight_grams"] = self._number(
                row, "Variant Grams", "weight", catalog.MAX_WEIGHT_GRAMS, decimals=True
            )
        if "Variant Barcode" in self.columns:
            barcode = self.findings.limited(
                row.number, "Variant Barcode", row.get("Variant Barcode")
            )
            values["barcode"] = barcode or None
        quantity = self._number(row, "Variant Inventory Qty", "quantity", catalog.MAX_STOCK)
        if "Variant Inventory Tracker" in self.columns:
            values["inventory_tracked"] = bool(row.get("Variant Inventory Tracker"))
            if not values["inventory_tracked"] and quantity:
                self.findings.note(
                    row.number,
                    "Variant Inventory Qty",
                    "not applied: Variant Inventory Tracker is empty, so stock is not tracked.",
                )
        elif quantity is not None:
            values["inventory_tracked"] = True
        if values.get("inventory_tracked") is False:
            quantity = None
        return values, quantity

    def _sku(self, row: Row) -> str:
        sku = row.get("Variant SKU")
        if not sku:
            return ""
        self.findings.limited(row.number, "Variant SKU", sku)
        if sku in self.sku_rows:
            self.findings.error(
                row.number,
                "Variant SKU",
                f"{quote(sku)} is also in row {self.sku_rows[sku]}; "
                "each variant needs its own SKU.",
            )
        self.sku_rows.setdefault(sku, row.number)
        return sku

    def _negative(self, row: Row, column: str, raw: str, what: str) -> bool:
        """Whether `raw` is a negative amount (a problem, then)."""
        if not raw.startswith("-"):
            return False
        self.findings.error(
            row.number, column, f"{quote(raw)} is not a valid {what} (must be 0 or more)."
        )
        return True

    def _price(self, row: Row, column: str) -> int | None:
        raw = row.get(column)
        if not raw or self._negative(row, column, raw, "price"):
            return None
        # A file means the same in every shop, so an amount is first read as exports
        # (ours, Shopify's) write it, "1234.50"; only what that cannot read, like "12,50"
        # from a spreadsheet saved in the merchant's language, in the shop's locale.
        try:
            return catalog.parse_price(raw, self.currency, FILE_LOCALE)
        except ProductError as error:
            first = error
        if self.locale != FILE_LOCALE:
            try:
                return catalog.parse_price(raw, self.currency, self.locale)
            except ProductError:
                pass
        self.findings.error(row.number, column, str(first))
        return None

    def _number(
        self, row: Row, column: str, what: str, limit: int, *, decimals: bool = False
    ) -> int | None:
        """A whole number of at most `limit` (with `decimals`, rounded to one)."""
        raw = row.get(column)
        if not raw or self._negative(row, column, raw, what):
            return None
        pattern = r"[0-9]{1,10}(?:\.[0-9]+)?" if decimals else r"[0-9]{1,10}"
        if not re.fullmatch(pattern, raw):
            self.findings.error(
                row.number,
                column,
                f"{quote(raw)} is not a valid {what} (use a whole number, like 12).",
            )
        elif float(raw) > limit:
            self.findings.error(
                row.number,
                column,
                f"{quote(raw)} is more than the largest {what} allowed ({limit:,}).",
            )
        else:
            return round(float(raw)) if decimals else int(raw)
        return None


def continue_selling(rows: list[Row], findings: Findings) -> bool | None:
    """Whether the product keeps selling when out of stock; None: the file does not say."""
    policies = [(r, r.get("Variant Inventory Policy").lower()) for r in rows]
    policies = [(r, p) for r, p in policies if p]
    for row, policy in policies:
        if policy not in ("deny", "continue"):
            findings.error(
                row.number, "Variant Inventory Policy", f"{quote(policy)} must be deny or continue."
            )
    if len({p for _, p in policies}) > 1:
        findings.note(
            policies[0][0].number,
            "Variant Inventory Policy",
            "this shop keeps selling when out of stock per product, not per variant: the "
            f"first variant's “{policies[0][1]}” applies to all.",
        )
    return policies[0][1] == "continue" if policies else None


# --- checking them against the shop -----------------------------------------------


def check_variants(
    variants: list[VariantPlan],
    existing: Product | None,
    *,
    row: int,
    replace: bool,
    sku_owners: dict[str, tuple[int, str]],
    findings: Findings,
) -> int:
    """Pair `variants` with the product's (`existing`) and check the set the product would
    end with; `replace`: the options change, so its variants not in the file go. Returns
    how many variants that removes."""
    owner_id = existing.id if existing is not None else None
    for variant in variants:
        owner = sku_owners.get(variant.values.get("sku") or "")
        if owner is not None and owner[0] != owner_id:
            findings.error(
                variant.row,
                "Variant SKU",
                f"{quote(variant.values['sku'])} is already used by another product in your "
                f"shop (“{owner[1]}”).",
            )
    removed = _match(variants, existing, replace)
    _check_combinations(variants, existing, row, replace, findings)
    _check_compare_at(variants, existing, findings)
    _note_untracked(variants, existing, findings)
    if replace and (not variants or any(v.key is None for v in variants)):
        findings.error(
            row,
            "Option1 Name",
            "these options differ from the product's, so list its variants in the file too, "
            "each with its option values.",
        )
    return removed


def _match(variants: list[VariantPlan], existing: Product | None, replace: bool) -> int:
    """Pair rows with the product's variants: by SKU first, then by option values.
    Returns how many of its variants are left unpaired and, with `replace`, removed."""
    if existing is None:
        return 0
    by_sku = {v.sku: v for v in existing.variants if v.sku}
    claimed: dict[int, int] = {}
    for variant in variants:
        match = by_sku.get(variant.values.get("sku") or "")
        if match is not None:
            variant.existing_id, claimed[match.id] = match.id, variant.row
    by_key = {_key(v): v for v in existing.variants if v.id not in claimed}
    for variant in variants:
        if variant.existing_id is None and variant.key is not None and variant.key in by_key:
            match = by_key.pop(variant.key)
            variant.existing_id, claimed[match.id] = match.id, variant.row
    return sum(1 for v in existing.variants if v.id not in claimed) if replace else 0


def _check_combinations(
    variants: list[VariantPlan],
    existing: Product | None,
    row: int,
    replace: bool,
    findings: Findings,
) -> None:
    final: dict[OptionKey, int] = {}
    for variant in variants:
        key = variant.key
        if key is None:
            if variant.existing_id is None:
                findings.error(
                    variant.row, "Option1 Value", "a new variant needs its option values."
                )
                continue
            key = _key(_variant_by_id(existing, variant.existing_id))
        if key in final:
            _duplicate(variant.row, key, final[key], findings)
        final[key] = variant.row
    kept = [] if existing is None or replace else existing.variants
    used = {v.existing_id for v in variants}
    for old in kept:
        if old.id not in used and _key(old) in final:
            _duplicate(final[_key(old)], _key(old), None, findings)
    count = len(final) + sum(1 for v in kept if v.id not in used)
    if count > catalog.MAX_VARIANTS:
        findings.error(
            row, None, f"the product would have {count} variants; at most {catalog.MAX_VARIANTS}."
        )


def _duplicate(row: int, key: OptionKey, other: int | None, findings: Findings) -> None:
    if key == (None, None, None):
        findings.error(
            row,
            "Option1 Value",
            "this product has no options, so it has one variant"
            + (f" (in row {other})" if other else "")
            + ". To list more, name an option (Option1 Name) and give each variant a value.",
        )
        return
    name = " / ".join(v for v in key if v)
    where = f"row {other}" if other else "the product already"
    findings.error(
        row,
        "Option1 Value",
        f"{where} has the variant “{name}”; each variant needs different option values.",
    )


def _check_compare_at(
    variants: list[VariantPlan], existing: Product | None, findings: Findings
) -> None:
    for variant in variants:
        old = _variant_by_id(existing, variant.existing_id) if variant.existing_id else None
        price = variant.values.get("price_cents", old.price_cents if old else None)
        compare = variant.values.get("compare_at_cents", old.compare_at_cents if old else None)
        if price is None and variant.existing_id is None:
            findings.error(variant.row, "Variant Price", "a new variant needs a price.")
        elif price is not None and compare is not None and compare < price:
            findings.error(
                variant.row,
                "Variant Compare At Price",
                "must be at least the price (it is the “was” price shown crossed out).",
            )


def _note_untracked(
    variants: list[VariantPlan], existing: Product | None, findings: Findings
) -> None:
    for variant in variants:
        if variant.existing_id is None or variant.values.get("inventory_tracked") is not False:
            continue
        old = _variant_by_id(existing, variant.existing_id)
        if old.inventory_tracked:
            findings.note(
                variant.row,
                "Variant Inventory Tracker",
                f"empty, so this variant's stock ({old.inventory_quantity}) will no longer "
                "be tracked.",
            )


def _key(variant: ProductVariant) -> OptionKey:
    return (variant.option1, variant.option2, variant.option3)


def _variant_by_id(product: Product | None, variant_id: int) -> ProductVariant:
    assert product is not None
    return next(v for v in product.variants if v.id == variant_id)
