"""A product's options and variants: the options form, the variants table, and the
default variant every product has.

Options (at most `MAX_OPTIONS`, like Size and Colour) span the variants: one variant per
combination of their values. Every change syncs the product's summary
(`products.sync_summary`).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping

from sqlalchemy import select

from saas.db import db
from tenants.catalog.models import Product, ProductOption, ProductVariant
from tenants.catalog.products import (
    MAX_OPTION_VALUES,
    MAX_OPTIONS,
    MAX_VARIANTS,
    MAX_WEIGHT_GRAMS,
    ProductError,
    ProductFormInvalid,
    format_amount,
    parse_optional_price,
    parse_price,
    parse_stock,
    parse_whole_number,
    sync_summary,
)


def ensure_default_variant(product: Product) -> bool:
    """Products made before variants existed (or written directly) get their variant.

    Returns whether one was added (flushed; the caller commits)."""
    if product.variants:
        return False
    product.variants.append(
        ProductVariant(
            position=1,
            price_cents=product.price_cents,
            inventory_tracked=product.inventory_quantity is not None,
            inventory_quantity=product.inventory_quantity or 0,
        )
    )
    db.session.flush()
    return True


def option_form_values(product: Product) -> dict[str, str]:
    values: dict[str, str] = {}
    for option in product.options:
        values[f"option{option.position}_name"] = option.name
        values[f"option{option.position}_values"] = ", ".join(option.values)
    return values


def save_options(product: Product, form: Mapping[str, str]) -> None:
    """Replace the product's options and rebuild its variants to match. Flushes.

    Variants whose combination of values survives keep their price, SKU and stock; new
    combinations start as copies of the first variant (without its SKU or stock).
    """
    errors: dict[str, str] = {}
    parsed: list[tuple[str, list[str]]] = []
    for n in range(1, MAX_OPTIONS + 1):
        name = " ".join((form.get(f"option{n}_name") or "").split())
        values: list[str] = []
        for part in (form.get(f"option{n}_values") or "").split(","):
            value = " ".join(part.split())
            if value and value not in values:
                values.append(value)
        if not name and not values:
            continue
        if not name:
            errors[f"option{n}_name"] = "Name this option, like Size."
        elif len(name) > 255:
            errors[f"option{n}_name"] = "Use at most 255 characters."
        elif name.lower() in [p[0].lower() for p in parsed]:
            errors[f"option{n}_name"] = "Two options cannot have the same name."
        if not values:
            errors[f"option{n}_values"] = "List its values, separated by commas, like S, M, L."
        elif len(values) > MAX_OPTION_VALUES or any(len(v) > 255 for v in values):
            errors[f"option{n}_values"] = f"Use at most {MAX_OPTION_VALUES} short values."
        parsed.append((name, values))
    combinations = list(itertools.product(*[values for _, values in parsed])) if parsed else [()]
    if not errors and len(combinations) > MAX_VARIANTS:
        errors["form"] = (
            f"These options make {len(combinations)} variants; a product can have at most "
            f"{MAX_VARIANTS}."
        )
    if errors:
        raise ProductFormInvalid(errors)

    ensure_default_variant(product)
    template = product.variants[0]
    existing = {(v.option1, v.option2, v.option3): v for v in product.variants}
    keep: list[ProductVariant] = []
    for position, combo in enumerate(combinations, 1):
        key = tuple(list(combo) + [None] * (3 - len(combo)))
        variant = existing.pop(key, None)  # type: ignore[arg-type]
        reusable = template not in keep and (
            not parsed or (template.option1, template.option2, template.option3) == (None,) * 3
        )
        if variant is None and reusable:
            # To or from no options: the first variant lives on (its SKU, stock, history).
            variant = template
            existing = {k: v for k, v in existing.items() if v is not template}
        if variant is None:
            variant = ProductVariant(
                price_cents=template.price_cents,
                compare_at_cents=template.compare_at_cents,
                cost_cents=template.cost_cents,
                weight_grams=template.weight_grams,
                inventory_tracked=template.inventory_tracked,
                inventory_quantity=0,
            )
        variant.option1, variant.option2, variant.option3 = key
        variant.position = position
        keep.append(variant)
    product.variants = keep
    # Update option rows in place: the unit of work inserts before it deletes, so
    # replacing them would briefly hold two rows at one position.
    options = {option.position: option for option in product.options}
    kept_options: list[ProductOption] = []
    for n, (name, values) in enumerate(parsed, 1):
        option = options.get(n) or ProductOption(position=n)
        option.name, option.values = name, values
        kept_options.append(option)
    product.options = kept_options
    db.session.flush()
    sync_summary(product)
    db.session.flush()


def variant_form_values(product: Product, currency: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for v in product.variants:
        p = f"v{v.id}_"
        values[p + "sku"] = v.sku or ""
        values[p + "price"] = format_amount(v.price_cents, currency)
        values[p + "compare_at"] = (
            "" if v.compare_at_cents is None else format_amount(v.compare_at_cents, currency)
        )
        values[p + "cost"] = "" if v.cost_cents is None else format_amount(v.cost_cents, currency)
        values[p + "weight"] = "" if v.weight_grams is None else str(v.weight_grams)
        values[p + "barcode"] = v.barcode or ""
        values[p + "tracked"] = "1" if v.inventory_tracked else ""
        values[p + "quantity"] = str(v.inventory_quantity)
        values[p + "image"] = "" if v.image_id is None else str(v.image_id)
    return values


def parse_weight(text: str) -> int | None:
    return parse_whole_number(
        text,
        MAX_WEIGHT_GRAMS,
        negative="Weight cannot be negative.",
        wrong="Enter the weight in whole grams, like 350.",
    )


def save_variants(
    product: Product, form: Mapping[str, str], currency: str
) -> list[tuple[ProductVariant, int]]:
    """Apply the variants table. Flushes; the caller commits.

    Returns (variant, new quantity) for each tracked variant whose stock was typed
    differently, so the caller records those as inventory corrections.

    Raises:
        ProductFormInvalid: keyed `v<id>_<field>`; nothing has changed.
    """
    errors: dict[str, str] = {}
    image_ids = {image.id for image in product.images}
    planned: list[tuple[ProductVariant, dict[str, object]]] = []
    skus: dict[str, int] = {}
    for v in product.variants:
        p = f"v{v.id}_"
        row: dict[str, object] = {}
        sku = (form.get(p + "sku") or "").strip() or None
        if sku and len(sku) > 255:
            errors[p + "sku"] = "Use at most 255 characters."
        elif sku:
            if sku in skus:
                errors[p + "sku"] = f"Two variants cannot share the SKU “{sku}”."
            skus[sku] = v.id
        row["sku"] = sku
        try:
            row["price_cents"] = parse_price(form.get(p + "price", ""), currency)
        except ProductError as error:
            errors[p + "price"] = str(error)
        try:
            compare_at = parse_optional_price(
                form.get(p + "compare_at", ""), currency, what="a compare-at price"
            )
            price = row.get("price_cents")
            if compare_at is not None and isinstance(price, int) and compare_at < price:
                errors[p + "compare_at"] = "The compare-at price must be at least the price."
            row["compare_at_cents"] = compare_at
        except ProductError as error:
            errors[p + "compare_at"] = str(error)
        if p + "cost" in form:  # (a form without it leaves the cost alone)
            try:
                row["cost_cents"] = parse_optional_price(form[p + "cost"], currency, what="a cost")
            except ProductError as error:
                errors[p + "cost"] = str(error)
        try:
            row["weight_grams"] = parse_weight(form.get(p + "weight", ""))
        except ProductError as error:
            errors[p + "weight"] = str(error)
        barcode = (form.get(p + "barcode") or "").strip() or None
        if barcode and len(barcode) > 64:
            errors[p + "barcode"] = "Use at most 64 characters."
        row["barcode"] = barcode
        row["inventory_tracked"] = bool(form.get(p + "tracked"))
        try:
            quantity = (
                parse_stock(form.get(p + "quantity", "")) if row["inventory_tracked"] else None
            )
            row["quantity"] = v.inventory_quantity if quantity is None else quantity
        except ProductError as error:
            errors[p + "quantity"] = str(error)
        image = (form.get(p + "image") or "").strip()
        if image and (not image.isdigit() or int(image) not in image_ids):
            errors[p + "image"] = "Choose an image of this product."
        row["image_id"] = int(image) if image and image.isdigit() else None
        planned.append((v, row))
    if skus:
        own = {v.id for v in product.variants}
        clash = db.session.execute(
            select(ProductVariant.sku, ProductVariant.id).where(ProductVariant.sku.in_(skus))
        ).all()
        for sku, variant_id in clash:
            # Within this product SKUs may move between rows; elsewhere they are taken.
            if variant_id not in own and sku is not None:
                errors[f"v{skus[sku]}_sku"] = f"Another product already uses the SKU “{sku}”."
    if errors:
        raise ProductFormInvalid(errors)

    stock_changes: list[tuple[ProductVariant, int]] = []
    # SKUs may swap between rows; clear them first so the unique index never sees a clash.
    for v, _ in planned:
        v.sku = None
    db.session.flush()
    for v, row in planned:
        quantity = int(row.pop("quantity"))  # type: ignore[call-overload]
        for name, value in row.items():
            setattr(v, name, value)
        if v.inventory_tracked and quantity != v.inventory_quantity:
            stock_changes.append((v, quantity))
    sync_summary(product)
    db.session.flush()
    return stock_changes
