"""Applying one planned product: its fields, variants, options, stock and image texts."""

from __future__ import annotations

from sqlalchemy import delete

from saas.db import db
from tenants.catalog import inventory
from tenants.catalog import products as catalog
from tenants.catalog.csv.plan import ProductPlan
from tenants.catalog.csv.plan_variants import VariantPlan
from tenants.catalog.models import (
    AdjustmentReason,
    InventoryAdjustment,
    Product,
    ProductOption,
    ProductRedirect,
    ProductVariant,
)

IMPORT_NOTE = "CSV import"  # the stock history's note on the import's corrections


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
