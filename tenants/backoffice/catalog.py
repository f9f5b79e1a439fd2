"""Products in the back office: the list, adding, and the product page (details,
options and variants, images, stock)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from markupsafe import Markup
from sqlalchemy.orm import selectinload

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
    acting_staff_id,
    get_or_404,
    paginate_or_404,
)
from tenants.catalog import inventory, product_form, product_list
from tenants.catalog import products as catalog
from tenants.catalog.models import Product, ProductVariant
from tenants.settings.services import get_settings
from tenants.staff.models import Area

PER_PAGE = 25
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
    ).options(selectinload(Product.images))  # the thumbnails, in one query per page
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


def _uploads() -> list[product_form.Upload]:
    return [
        product_form.Upload(upload.filename or "", upload.stream)
        for upload in request.files.getlist("images")
    ]


def _render(
    product: Product | None, values: dict[str, str], errors: dict[str, str] | None = None
) -> Any:
    """The product form, for adding (`product` None) or editing; 400 with `errors`."""
    new = product is None
    labels = {
        "active": "Active — shown in your storefront",
        "draft": "Draft — hidden until you are ready",
        "archived": "Archived — hidden and set aside",
    }
    statuses = catalog.FORM_STATUSES if new else catalog.EDIT_STATUSES
    return render_template(
        "backoffice/product_form.html",
        product=product,
        values=values,
        errors=errors or {},
        currency=get_settings().currency,
        single=product_form.single_variant(product),
        limit_problem=_limit_notice() if new else None,
        statuses=[(s, labels[s]) for s in statuses],
        max_options=catalog.MAX_OPTIONS,
        image_options=[
            (image.id, f"Image {n}" + (f": {image.alt}" if image.alt else ""))
            for n, image in enumerate(product.images if product else [], 1)
        ],
    ), 400 if errors else 200


def _limit_notice() -> Markup | None:
    """Said before the merchant types anything: the plan has no room for a product."""
    problem = limits.limit_problem(current_tenant.id, Limit.PRODUCTS)
    return problem.html() if problem else None


@bp.route("/products/new", methods=["GET", "POST"])
@requires(Area.PRODUCTS)
def product_new() -> Any:
    currency = get_settings().currency
    if request.method == "GET":
        return _render(None, product_form.form_values(None, currency))
    try:
        with atomic():
            saved = product_form.save_product(
                None, request.form, _uploads(), currency=currency, staff_id=acting_staff_id()
            )
    except catalog.ProductFormInvalid as invalid:
        return _render(None, request.form.to_dict(), invalid.errors)
    product = saved.product
    audit.record("product.created", product_id=product.id, handle=product.handle)
    flash(f"“{product.title}” was added.")
    return redirect(url_for("backoffice.products"))


@bp.route("/products/<int:product_id>", methods=["GET", "POST"])
@requires(Area.PRODUCTS)
def product_edit(product_id: int) -> Any:
    product = get_or_404(Product, product_id)
    currency = get_settings().currency
    if request.method == "GET":
        return _render(product, product_form.form_values(product, currency))
    old_handle = product.handle
    try:
        with atomic():
            saved = product_form.save_product(
                product, request.form, _uploads(), currency=currency, staff_id=acting_staff_id()
            )
    except catalog.ProductFormInvalid as invalid:
        return _render(get_or_404(Product, product_id), request.form.to_dict(), invalid.errors)
    if saved.changed:
        audit.record(
            "product.updated",
            product_id=product.id,
            fields=sorted(saved.changed),
            old_handle=old_handle if "handle" in saved.changed else None,
        )
    flash(_saved_message(saved))
    back = url_for("backoffice.product_edit", product_id=product.id)
    return redirect(back + ("#media" if saved.moved else ""))


def _saved_message(saved: product_form.SavedProduct) -> str:
    if saved.moved:
        return "Image moved." if set(saved.changed) <= {"images"} else "Product saved. Image moved."
    if not saved.changed:
        return "Nothing changed."
    said = "Product saved."
    if "options" in saved.changed:
        n = len(saved.product.variants)
        said = f"Product saved: {n} variant{'' if n == 1 else 's'}."
    if saved.images_added:
        n = saved.images_added
        images = f"{n} image{'' if n == 1 else 's'} added"
        said += f" {images}; smaller copies for phones are being made."
    return said


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
