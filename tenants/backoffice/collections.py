"""Collections in the back office: list, create, edit (rules or a hand-ordered list)."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from saas import audit
from saas.db import atomic, db
from tenants.backoffice import bp
from tenants.backoffice.access import requires
from tenants.backoffice.helpers import get_or_404, paginate_or_404
from tenants.catalog.models import Product
from tenants.catalog.products import ProductError, ProductFormInvalid
from tenants.collections import services as collections
from tenants.collections.models import Collection, CollectionKind
from tenants.settings.services import get_settings
from tenants.staff.models import Area

PER_PAGE = 25


@bp.get("/collections")
@requires(Area.PRODUCTS)
def collections_list() -> Any:
    query = select(Collection).order_by(Collection.title, Collection.id)
    return render_template("backoffice/collections.html", page=paginate_or_404(query, PER_PAGE))


def _form(
    collection: Collection | None, values: dict[str, str], errors: dict[str, str], status: int = 200
) -> Any:
    members: list[Product] = []
    candidates: list[tuple[int, str]] = []
    if collection is not None and collection.kind == CollectionKind.MANUAL:
        members = list(
            db.session.scalars(collections.products_query(collection, active_only=False))
        )
        inside = {p.id for p in members}
        candidates = [
            (p.id, p.title)
            for p in db.session.scalars(select(Product).order_by(Product.title).limit(500))
            if p.id not in inside
        ]
    matched = 0
    if collection is not None and collection.kind == CollectionKind.AUTOMATIC:
        matched = len(db.session.scalars(collections.products_query(collection)).all())
    return render_template(
        "backoffice/collection_edit.html",
        collection=collection,
        values=values,
        errors=errors,
        members=members,
        candidates=candidates,
        matched=matched,
        sorts=list(collections.SORTS.items()),
        rule_fields=list(collections.RULE_FIELDS.items()),
        max_rules=collections.MAX_RULES,
        currency=get_settings().currency,
    ), status


@bp.route("/collections/new", methods=["GET", "POST"], endpoint="collection_new")
@bp.route("/collections/<int:collection_id>", methods=["GET", "POST"])
@requires(Area.PRODUCTS)
def collection_edit(collection_id: int | None = None) -> Any:
    """Create a collection (no id) or edit one: the same form and rules."""
    collection = get_or_404(Collection, collection_id)
    currency = get_settings().currency
    if request.method == "GET":
        return _form(collection, collections.form_values(collection, currency), {})
    try:
        with atomic():
            saved = collections.save_collection(collection, request.form, currency)
    except ProductFormInvalid as invalid:
        again = get_or_404(Collection, collection_id)
        return _form(again, dict(request.form.items()), invalid.errors, 400)
    if collection is None:
        audit.record("collection.created", collection_id=saved.id, handle=saved.handle)
        flash(f"Collection “{saved.title}” was created.")
    else:
        audit.record("collection.updated", collection_id=saved.id)
        flash("Collection saved.")
    return redirect(url_for("backoffice.collection_edit", collection_id=saved.id))


@bp.post("/collections/<int:collection_id>/products")
@requires(Area.PRODUCTS)
def collection_products(collection_id: int) -> Any:
    """Add, remove or move a product of a manual collection."""
    collection = get_or_404(Collection, collection_id)
    action = request.form.get("action", "")
    product_id = request.form.get("product", type=int) or 0
    try:
        with atomic():
            if action == "add":
                product = collections.add_product(collection, product_id)
                message = f"“{product.title}” was added."
            elif action == "remove":
                collections.remove_product(collection, product_id)
                message = "Product removed from the collection."
            elif action in ("up", "down"):
                collections.move_product(collection, product_id, -1 if action == "up" else 1)
                message = "Product moved."
            else:
                abort(400)
    except ProductError as error:
        flash(str(error))
    else:
        audit.record(
            f"collection.product_{action}", collection_id=collection.id, product_id=product_id
        )
        flash(message)
    return redirect(
        url_for("backoffice.collection_edit", collection_id=collection.id) + "#products"
    )


@bp.route("/collections/<int:collection_id>/delete", methods=["GET", "POST"])
@requires(Area.PRODUCTS)
def collection_delete(collection_id: int) -> Any:
    collection = get_or_404(Collection, collection_id)
    if request.method == "POST":
        if request.form.get("confirm_title", "").strip() != collection.title:
            return render_template(
                "backoffice/collection_delete.html",
                collection=collection,
                error="Type the collection's title to confirm.",
            ), 400
        audit.record("collection.deleted", collection_id=collection.id, handle=collection.handle)
        db.session.delete(collection)
        flash(f"Collection “{collection.title}” was deleted. Its products were not changed.")
        return redirect(url_for("backoffice.collections_list"))
    return render_template("backoffice/collection_delete.html", collection=collection, error=None)
