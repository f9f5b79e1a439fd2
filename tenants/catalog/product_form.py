"""The back office's one product form: details, images, price and stock, options and
variants, search engine fields and status, read together, checked together and saved in
one go (the caller's unit of work commits once, or rolls everything back).

Adding a product is the same form with no product yet: a blank draft is made first and
the form applied to it, so both pages share every rule and a mistake anywhere leaves
nothing behind. Every mistake of the whole form is collected before raising
`ProductFormInvalid`, so the merchant sees them all at once.

Field names: a product with one variant and no options (most of them) shows that
variant's fields plainly (`price`, `quantity`...); with options each variant's fields
are prefixed `v<id>_`. Images: `image<id>_alt`, `image<id>_delete`, `image_order` (ids in
their new order, written by the drag-and-drop script) and a `move` button
(`<id>:up|down`) that works without script; new files arrive as `images`. Each part
(details, prices and stock, options) is applied when the post carries it: a browser
always sends them all, and a script that sends one part leaves the others alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from saas import uploads
from saas.billing import limits
from saas.billing.limits import Limit
from saas.db import db
from saas.jobs import enqueue
from saas.tenancy import current_tenant
from tenants.catalog import images, inventory, variants
from tenants.catalog.models import Product, ProductImage, ProductStatus
from tenants.catalog.products import (
    FORM_STATUSES,
    ProductFormInvalid,
    create_product,
    handleize,
    product_form_values,
    unique_handle,
    update_product,
)
from tenants.positions import renumber

VARIANT_FIELDS = (
    "price",
    "compare_at",
    "cost",
    "sku",
    "barcode",
    "weight",
    "tracked",
    "quantity",
    "image",
)


@dataclass
class Upload:
    """A file chosen in the form: its name (for messages) and its stream."""

    filename: str
    stream: IO[bytes]


@dataclass
class SavedProduct:
    product: Product
    created: bool
    changed: list[str] = field(default_factory=list)  # what changed: fields and parts
    images_added: int = 0
    moved: bool = False


def single_variant(product: Product | None) -> bool:
    """Whether the form shows the product's one variant as plain fields."""
    return product is None or (not product.options and len(product.variants) <= 1)


def prefix(product: Product, variant_id: int) -> str:
    return "" if single_variant(product) else f"v{variant_id}_"


def form_values(product: Product | None, currency: str) -> dict[str, str]:
    """The whole form as last saved (for a new product: its defaults)."""
    if product is None:
        return {"status": ProductStatus.ACTIVE}
    variants.ensure_default_variant(product)  # so the form names a variant that exists
    values = product_form_values(product)
    values |= variants.option_form_values(product)
    if single_variant(product):
        [variant] = product.variants
        saved = variants.variant_form_values(product, currency)
        values |= {name: saved[f"v{variant.id}_{name}"] for name in VARIANT_FIELDS}
    else:
        values |= variants.variant_form_values(product, currency)
    for image in product.images:
        values[f"image{image.id}_alt"] = image.alt
    return values


def save_product(
    product: Product | None,
    form: Mapping[str, str],
    files: Sequence[Upload] = (),
    *,
    currency: str,
    staff_id: int | None = None,
) -> SavedProduct:
    """Apply the product form to `product` (None: add one). Flushes; the caller commits.

    Raises:
        ProductFormInvalid: a message per wrong field (under "form" for the whole form);
            the caller rolls back, so nothing of the form is kept.
    """
    errors: dict[str, str] = {}
    created = product is None
    form = dict(form)
    if product is None:
        problem = limits.limit_problem(current_tenant.id, Limit.PRODUCTS, lock=True)
        if problem is not None:
            raise ProductFormInvalid({"form": problem.html()})
        product = _blank_product(form, errors)
    before = _snapshot(product)

    if "title" in form:  # each part of the form is applied when the post has it
        try:
            update_product(product, form)
        except ProductFormInvalid as invalid:
            errors |= invalid.errors
    deleted = _apply_image_changes(product, form, errors)
    _apply_variants(product, form, currency, deleted, staff_id, errors)
    if "option1_name" in form:  # (a form without the options part leaves them alone)
        try:
            variants.save_options(product, form)
        except ProductFormInvalid as invalid:
            errors |= {("options" if k == "form" else k): v for k, v in invalid.errors.items()}
    added = _add_images(product, files, errors)
    moved = _move_image(product, form.get("move", ""))

    if errors:
        if any(upload.filename for upload in files) and "images" not in errors:
            errors["images"] = "Nothing was saved, so choose the new images again."
        raise ProductFormInvalid(errors)
    after = _snapshot(product)
    changed = [part for part in after if after[part] != before[part]]
    for image in added:
        images.enqueue_resize(image.id)
    return SavedProduct(product, created, changed, len(added), moved)


def _blank_product(form: dict[str, str], errors: dict[str, str]) -> Product:
    """A draft to apply the "add product" form to, under the handle the merchant typed
    (or one made from the title); stock is tracked when a quantity is typed."""
    title = " ".join((form.get("title") or "").split())
    typed = handleize(form.get("handle") or "")
    handle = unique_handle(typed or title or "product")
    if typed and handle != typed:
        errors["handle"] = f"Another product already uses the handle “{typed}”."
    product = create_product(title or "product", 0, handle=handle, status=ProductStatus.DRAFT)
    form["handle"] = handle
    if form.get("status") not in FORM_STATUSES:  # (archiving comes once it exists)
        errors["status"] = "Choose active or draft."
        form["status"] = ProductStatus.DRAFT
    form.setdefault("title", "")  # (what a new product cannot do without)
    form.setdefault("price", "")
    form["tracked"] = "1" if (form.get("quantity") or "").strip() else ""
    return product


def _snapshot(product: Product) -> dict[str, Any]:
    """What the form can change, to tell the merchant (and the audit log) what did."""
    details = product_form_values(product)
    return details | {
        "options": [(o.name, list(o.values)) for o in product.options],
        "variants": [
            (
                v.id,
                v.price_cents,
                v.compare_at_cents,
                v.cost_cents,
                v.sku,
                v.barcode,
                v.weight_grams,
                v.inventory_tracked,
                v.inventory_quantity,
                v.image_id,
            )
            for v in product.variants
        ],
        "images": [(i.id, i.alt) for i in sorted(product.images, key=lambda i: i.position)],
    }


def _apply_image_changes(
    product: Product, form: Mapping[str, str], errors: dict[str, str]
) -> set[int]:
    """Alt texts, deletions (ticked "Delete") and a dragged order; returns deleted ids."""
    deleted: set[int] = set()
    for image in list(product.images):
        if form.get(f"image{image.id}_delete"):
            for variant in product.variants:
                if variant.image_id == image.id:
                    variant.image_id = None
            images.delete_image(product, image)
            deleted.add(image.id)
        elif f"image{image.id}_alt" in form:
            try:
                images.set_alt(image, form[f"image{image.id}_alt"])
            except images.ImageError as error:
                errors[f"image{image.id}_alt"] = str(error)
    order = [int(i) for i in (form.get("image_order") or "").split(",") if i.strip().isdigit()]
    by_id = {image.id: image for image in product.images}
    if order and sorted(order) == sorted(by_id):  # anything else is stale: keep the order
        renumber([by_id[i] for i in order])
        db.session.flush()
        db.session.refresh(product, ["images"])
    return deleted


def _apply_variants(
    product: Product,
    form: Mapping[str, str],
    currency: str,
    deleted_images: set[int],
    staff_id: int | None,
    errors: dict[str, str],
) -> None:
    """Price, stock, SKU... of each variant, before options change, so combinations the
    options add start from what was typed. Typed stock is recorded as a correction."""
    variants.ensure_default_variant(product)
    typed: dict[str, str] = {}
    back: dict[str, str] = {}  # save_variants' field names -> the form's
    for variant in product.variants:
        own = prefix(product, variant.id)
        for name in VARIANT_FIELDS:
            if own + name in form:
                value = form[own + name]
                if name == "image" and value.isdigit() and int(value) in deleted_images:
                    value = ""
                typed[f"v{variant.id}_{name}"] = value
            back[f"v{variant.id}_{name}"] = own + name
    if not typed:
        return  # a form without the price and stock part leaves them alone
    try:
        changes = variants.save_variants(product, typed, currency)
    except ProductFormInvalid as invalid:
        errors |= {back.get(k, k): v for k, v in invalid.errors.items()}
        return
    for variant, quantity in changes:
        try:
            _, low = inventory.set_quantity(
                variant, quantity, note="Edited on the product page", staff_id=staff_id
            )
        except inventory.InventoryError as error:
            errors[prefix(product, variant.id) + "quantity"] = str(error)
            continue
        if low:
            enqueue(inventory.notify_low_stock, variant.id, queue="mail")


def _add_images(
    product: Product, files: Sequence[Upload], errors: dict[str, str]
) -> list[ProductImage]:
    """New images, last in the order; each within the upload limit, all within the plan's
    storage. Their smaller copies are made by a job once the form commits."""
    chosen = [upload for upload in files if upload.filename]
    if not chosen:
        return []
    sizes = [uploads.stream_size(upload.stream) for upload in chosen]
    for upload, size in zip(chosen, sizes, strict=True):
        if size > uploads.upload_limit():
            errors["images"] = f"{upload.filename}: {uploads.too_large(size)}"
            return []
    problem = limits.limit_problem(current_tenant.id, Limit.STORAGE, sum(sizes), lock=True)
    if problem is not None:
        errors["images"] = problem.html()
        return []
    added = []
    for upload in chosen:
        try:
            added.append(images.add_image(product, upload.stream))
        except images.ImageError as error:
            errors["images"] = f"{upload.filename}: {error}"
            return []
    return added


def _move_image(product: Product, move: str) -> bool:
    """The "Move up"/"Move down" button of one image (the no-script way to reorder)."""
    image_id, _, direction = move.partition(":")
    if not image_id.isdigit() or direction not in ("up", "down"):
        return False
    image = images.image_of(product, int(image_id))
    if image is None or image not in product.images:
        return False
    images.move_image(product, image, -1 if direction == "up" else 1)
    return True
