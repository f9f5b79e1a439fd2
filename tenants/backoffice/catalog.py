"""Products in the back office: the list, adding, and the product page (details,
options and variants, images, stock)."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from markupsafe import Markup

from saas import audit, uploads
from saas.billing import limits
from saas.billing.limits import Limit
from saas.db import atomic, db
from saas.jobs import enqueue
from saas.paging import paginate
from saas.tenancy import current_tenant
from tenants.backoffice import bp
from tenants.backoffice.access import requires
from tenants.backoffice.helpers import (
    NO_RETRY,
    FormRetry,
    acting_staff_id,
    get_or_404,
    paginate_or_404,
)
from tenants.catalog import images, inventory, product_list, variants
from tenants.catalog import products as catalog
from tenants.catalog.models import Product, ProductStatus, ProductVariant
from tenants.settings.services import get_settings
from tenants.staff.models import Area

PER_PAGE = 25
FORM_FIELDS = ("title", "description", "price", "stock", "status")
LIST_FILTERS = ("q", "status", "vendor", "type", "tag", "sort")


@bp.context_processor
def _amount_hints() -> dict[str, object]:
    # Form hints: an amount's example in the shop's locale; the one upload size limit.
    return {"price_example": catalog.price_example, "upload_limit": uploads.limit_label}


@bp.get("/products")
@requires(Area.PRODUCTS)
def products() -> Any:
    filters = {name: request.args.get(name, "").strip() for name in LIST_FILTERS}
    query = catalog.products_query(
        q=filters["q"],
        status=filters["status"],
        vendor=filters["vendor"],
        product_type=filters["type"],
        tag=filters["tag"],
        sort=filters["sort"] or "newest",
    )
    filtered = any(v for k, v in filters.items() if k != "sort")
    return render_template(
        "backoffice/products.html",
        page=paginate_or_404(query, PER_PAGE),
        currency=get_settings().currency,
        filters=filters,
        filtered=filtered,
        facets=product_list.facet_values(),
        status_options=[(s, s.capitalize()) for s in catalog.EDIT_STATUSES],
        pairs=lambda values: [(v, v) for v in values],
    )


@bp.post("/products/bulk")
@requires(Area.PRODUCTS)
def products_bulk() -> Any:
    action = request.form.get("action", "")
    ids = [int(i) for i in request.form.getlist("product") if i.isdigit()]
    back = url_for("backoffice.products")
    if action == "archive" and not request.form.get("confirm"):
        # Archiving hides products from the storefront: ask first, on a page of its own.
        chosen = list(db.session.scalars(db.select(Product).where(Product.id.in_(ids))))
        if not chosen:
            flash("Select at least one product.")
            return redirect(back)
        return render_template("backoffice/products_archive.html", products=chosen)
    try:
        with atomic():
            changed = product_list.bulk_update(ids, action, request.form.get("tag", ""))
    except catalog.ProductLimitReached as full:
        flash(full.problem.html(), "error")
        return redirect(back)
    except catalog.ProductError as error:
        flash(str(error))
        return redirect(back)
    audit.record(
        "product.bulk_" + action.replace("-", "_"),
        product_ids=[p.id for p in changed],
        tag=request.form.get("tag", "") if action == "add-tag" else None,
    )
    done = {"publish": "published", "archive": "archived", "draft": "set to draft"}
    what = done.get(action, "tagged")
    flash(f"{len(changed)} product{'' if len(changed) == 1 else 's'} {what}.")
    return redirect(back)


@bp.route("/products/new", methods=["GET", "POST"])
@requires(Area.PRODUCTS)
def product_new() -> Any:
    currency = get_settings().currency
    values: dict[str, str] = {"status": ProductStatus.ACTIVE}
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        values = {f: request.form.get(f, "") for f in FORM_FIELDS}
        try:
            with atomic():
                product = catalog.add_product(
                    request.form, tenant_id=current_tenant.id, currency=currency
                )
        except catalog.ProductFormInvalid as invalid:
            errors, status = invalid.errors, 400
        else:
            audit.record("product.created", product_id=product.id, handle=product.handle)
            flash(f"“{product.title}” was added.")
            return redirect(url_for("backoffice.products"))
    return render_template(
        "backoffice/product_new.html",
        values=values,
        errors=errors,
        currency=currency,
        limit_problem=errors.get("form") or _limit_notice(),
        statuses=catalog.FORM_STATUSES,
    ), status


def _limit_notice() -> Markup | None:
    """Said before the merchant types anything: the plan has no room for a product."""
    problem = limits.limit_problem(current_tenant.id, Limit.PRODUCTS)
    return problem.html() if problem else None


# --- the product page -------------------------------------------------------------


def _render(product: Product, retry: FormRetry = NO_RETRY) -> Any:
    """The product page: its details, options, variants and images forms."""
    settings = get_settings()
    variants.ensure_default_variant(product)  # so the variants form names a variant that exists
    return render_template(
        "backoffice/product_edit.html",
        product=product,
        currency=settings.currency,
        details=retry.values_for("details", lambda: catalog.product_form_values(product)),
        details_errors=retry.errors_for("details"),
        option_values=retry.values_for("options", lambda: variants.option_form_values(product)),
        option_errors=retry.errors_for("options"),
        variant_values=retry.values_for(
            "variants", lambda: variants.variant_form_values(product, settings.currency)
        ),
        variant_errors=retry.errors_for("variants"),
        image_errors=retry.errors_for("images"),
        image_values=retry.values_for("images", dict),
        statuses=catalog.EDIT_STATUSES,
        max_options=catalog.MAX_OPTIONS,
        image_options=[
            (image.id, f"Image {n}" + (f": {image.alt}" if image.alt else ""))
            for n, image in enumerate(product.images, 1)
        ],
    ), retry.status


@bp.route("/products/<int:product_id>", methods=["GET", "POST"])
@requires(Area.PRODUCTS)
def product_edit(product_id: int) -> Any:
    product = get_or_404(Product, product_id)
    if request.method == "GET":
        return _render(product)
    old_handle = product.handle
    try:
        with atomic():
            changed = catalog.update_product(product, request.form)
    except catalog.ProductFormInvalid as invalid:
        values = {k: request.form.get(k, "") for k in catalog.product_form_values(product)}
        retry = FormRetry("details", values, invalid.errors)
        return _render(get_or_404(Product, product_id), retry)
    if changed:
        audit.record(
            "product.updated",
            product_id=product.id,
            fields=sorted(changed),
            old_handle=old_handle if "handle" in changed else None,
        )
    flash("Product saved." if changed else "Nothing changed.")
    return redirect(url_for("backoffice.product_edit", product_id=product.id))


@bp.post("/products/<int:product_id>/options")
@requires(Area.PRODUCTS)
def product_options(product_id: int) -> Any:
    product = get_or_404(Product, product_id)
    try:
        with atomic():
            variants.save_options(product, request.form)
    except catalog.ProductFormInvalid as invalid:
        values = {k: request.form.get(k, "") for k in request.form if k.startswith("option")}
        retry = FormRetry("options", values, invalid.errors)
        return _render(get_or_404(Product, product_id), retry)
    audit.record(
        "product.options_changed",
        product_id=product.id,
        options=[o.name for o in product.options],
        variants=len(product.variants),
    )
    count = len(product.variants)
    flash(f"Options saved: {count} variant{'' if count == 1 else 's'}.")
    return redirect(url_for("backoffice.product_edit", product_id=product.id) + "#variants")


@bp.post("/products/<int:product_id>/variants")
@requires(Area.PRODUCTS)
def product_variants(product_id: int) -> Any:
    product = get_or_404(Product, product_id)
    currency = get_settings().currency
    crossed: list[int] = []
    try:
        with atomic():  # the stock of one variant refused: none of the table is kept
            changes = variants.save_variants(product, request.form, currency)
            for variant, quantity in changes:
                _, low = inventory.set_quantity(
                    variant, quantity, note="Edited on the product page", staff_id=acting_staff_id()
                )
                if low:
                    crossed.append(variant.id)
    except catalog.ProductFormInvalid as invalid:
        values = {k: request.form.get(k, "") for k in request.form if k.startswith("v")}
        retry = FormRetry("variants", values, invalid.errors)
        return _render(get_or_404(Product, product_id), retry)
    except inventory.InventoryError as error:
        flash(str(error))
        return redirect(url_for("backoffice.product_edit", product_id=product_id))
    audit.record("product.variants_changed", product_id=product.id)
    for variant_id in crossed:
        enqueue(inventory.notify_low_stock, variant_id, queue="mail")
    flash("Variants saved.")
    return redirect(url_for("backoffice.product_edit", product_id=product.id) + "#variants")


# --- images -----------------------------------------------------------------------


@bp.post("/products/<int:product_id>/images")
@requires(Area.PRODUCTS)
def product_image_upload(product_id: int) -> Any:
    product = get_or_404(Product, product_id)
    alt = request.form.get("alt", "")
    upload = request.files.get("image")
    errors: dict[str, str] = {}
    size = limits.upload_size(upload.stream if upload else None)
    if 0 < size <= uploads.upload_limit():  # (larger ones are refused for their size)
        problem = limits.limit_problem(current_tenant.id, Limit.STORAGE, size, lock=True)
        if problem is not None:
            errors["image"] = problem.html()
    if not errors:
        try:
            with atomic():
                image = images.add_image(product, upload.stream if upload else None, alt)
        except images.ImageError as error:
            errors[error.field] = str(error)
    if errors:
        retry = FormRetry("images", {"alt": alt}, errors)
        return _render(get_or_404(Product, product_id), retry)
    audit.record("product.image_added", product_id=product.id, image_id=image.id)
    images.enqueue_resize(image.id)
    flash("Image added. Smaller copies for phones are being made.")
    return redirect(url_for("backoffice.product_edit", product_id=product.id) + "#images")


@bp.route("/products/<int:product_id>/images/<int:image_id>", methods=["GET", "POST"])
@requires(Area.PRODUCTS)
def product_image(product_id: int, image_id: int) -> Any:
    """Change an image's alt text or place, or (after confirming) delete it."""
    product = get_or_404(Product, product_id)
    image = images.image_of(product, image_id)
    if image is None:
        abort(404)
    back = url_for("backoffice.product_edit", product_id=product.id) + "#images"
    if request.method == "GET":
        return render_template("backoffice/product_image_delete.html", product=product, image=image)
    action = request.form.get("action", "")
    if action == "delete":
        if not request.form.get("confirm"):
            return render_template(
                "backoffice/product_image_delete.html",
                product=product,
                image=image,
                error="Tick the box to confirm.",
            ), 400
        images.delete_image(product, image)  # its files go once the deletion commits
        audit.record("product.image_deleted", product_id=product.id, image_id=image_id)
        flash("Image deleted.")
    elif action in ("up", "down"):
        images.move_image(product, image, -1 if action == "up" else 1)
        flash("Image moved.")
    elif action == "alt":
        try:
            with atomic():
                images.set_alt(image, request.form.get("alt", ""))
        except images.ImageError as error:
            flash(str(error))
            return redirect(back)
        flash("Alt text saved.")
    else:
        abort(400)
    return redirect(back)


# --- stock ------------------------------------------------------------------------


@bp.route("/variants/<int:variant_id>/inventory", methods=["GET", "POST"])
@requires(Area.PRODUCTS)
def variant_inventory(variant_id: int) -> Any:
    variant = get_or_404(ProductVariant, variant_id)
    values = {"delta": "", "reason": "", "note": ""}
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        values = {k: request.form.get(k, "") for k in values}
        try:
            delta = inventory.parse_delta(values["delta"])
            if values["reason"] not in inventory.MANUAL_REASONS:
                raise inventory.InventoryError("reason", "Choose a reason.")
            with atomic():
                row, low = inventory.adjust(
                    variant,
                    delta,
                    values["reason"],
                    note=values["note"],
                    staff_id=acting_staff_id(),
                )
        except inventory.InventoryError as error:
            variant = get_or_404(ProductVariant, variant_id)  # (a 404 if deleted meanwhile)
            errors, status = {error.field: str(error)}, 400
        else:
            audit.record(
                "inventory.adjusted",
                variant_id=variant.id,
                delta=delta,
                reason=row.reason,
                quantity_after=row.quantity_after,
            )
            if low:
                enqueue(inventory.notify_low_stock, variant.id, queue="mail")
            flash(f"Stock is now {row.quantity_after}.")
            return redirect(url_for("backoffice.variant_inventory", variant_id=variant.id))
    page = paginate(inventory.history_query(variant_id), 50, scalars=False)
    return render_template(
        "backoffice/inventory_history.html",
        variant=variant,
        product=variant.product,
        page=page,
        values=values,
        errors=errors,
        reasons=inventory.MANUAL_REASONS,
        threshold=inventory.low_stock_threshold(),
    ), status
