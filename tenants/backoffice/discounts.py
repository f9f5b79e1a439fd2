"""Discount codes and automatic discounts in the back office."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy.exc import IntegrityError

from saas import audit
from saas.db import atomic, db
from tenants.backoffice import bp
from tenants.backoffice.access import requires
from tenants.backoffice.helpers import get_or_404, paginate_or_404
from tenants.discounts import admin
from tenants.discounts import services as discounts
from tenants.discounts.models import Discount
from tenants.settings.services import get_settings, shop_zone
from tenants.staff.models import Area

PER_PAGE = 25
# Status -> the back office's pill colour (backoffice.css): green, blue, red.
STATUS_CLASSES = {
    "active": "status-active",
    "scheduled": "status-draft",
    "expired": "status-cancelled",
    "used_up": "status-cancelled",
    "inactive": "status-cancelled",
}


def _label(discount: Discount) -> str:
    return discount.code or discount.title or "Automatic discount"


@bp.get("/discounts", endpoint="discounts")
@requires(Area.PRODUCTS)
def discounts_list() -> Any:
    search = (request.args.get("q") or "").strip()[: discounts.MAX_CODE]
    status = request.args.get("status") or ""
    if status not in admin.STATUS_FILTERS:
        status = ""
    now = datetime.now(UTC)
    page = paginate_or_404(admin.discounts_query(search, status, now), PER_PAGE)
    settings = get_settings()
    rows = [
        {
            "discount": d,
            "status": (state := admin.status_of(d, now)),
            "status_label": admin.STATUS_LABELS[state],
            "status_class": STATUS_CLASSES[state],
            "gives": discounts.describe(d, settings.currency),
        }
        for d in page.items
    ]
    return render_template(
        "backoffice/discounts.html",
        page=page,
        rows=rows,
        filters={"q": search, "status": status},
        filtered=bool(search or status),
        status_options=list(admin.STATUS_FILTERS.items()),
        zone=shop_zone(settings),
        currency=settings.currency,
        code_problem=discounts.code_problem(),
    )


def _form(
    discount: Discount | None, values: dict[str, Any], errors: dict[str, str], status: int = 200
) -> Any:
    settings = get_settings()
    state = admin.status_of(discount) if discount is not None else None
    return render_template(
        "backoffice/discounts_form.html",
        discount=discount,
        values=values,
        errors=errors,
        currency=settings.currency,
        timezone=settings.timezone or "UTC",
        collections=admin.form_collections(),
        kinds=[(str(k), label) for k, label in admin.KIND_LABELS.items()],
        status_label=admin.STATUS_LABELS[state] if state else "",
        status_class=STATUS_CLASSES[state] if state else "",
        gives=discounts.describe(discount, settings.currency) if discount is not None else "",
        code_problem=discounts.code_problem(),
    ), status


def _submitted() -> dict[str, Any]:
    values: dict[str, Any] = dict(request.form.items())
    values["collections"] = request.form.getlist("collections")
    values.pop("csrf_token", None)
    return values


def _code_taken(code: str) -> dict[str, str]:
    return {"code": f"Another discount already uses the code “{code}”."}


@bp.route("/discounts/new", methods=["GET", "POST"], endpoint="discount_new")
@bp.route("/discounts/<int:discount_id>", methods=["GET", "POST"])
@requires(Area.PRODUCTS)
def discount_edit(discount_id: int | None = None) -> Any:
    """Create a discount (no id) or edit one: the same form and rules."""
    discount = get_or_404(Discount, discount_id)
    settings = get_settings()
    zone = shop_zone(settings)
    if request.method == "GET":
        return _form(discount, admin.form_values(discount, settings.currency, zone), {})
    try:
        with atomic():
            saved = admin.save_discount(discount, request.form, settings.currency, zone)
    except admin.DiscountFormInvalid as invalid:
        return _form(get_or_404(Discount, discount_id), _submitted(), invalid.errors, 400)
    except IntegrityError:  # the same code saved a moment ago by someone else
        taken = _code_taken(request.form.get("code", ""))
        return _form(get_or_404(Discount, discount_id), _submitted(), taken, 400)
    if discount is None:
        audit.record("discount.created", discount_id=saved.id, code=saved.code)
        flash(f"Discount {_label(saved)} was created.")
    else:
        audit.record("discount.updated", discount_id=saved.id, code=saved.code)
        flash("Discount saved.")
    return redirect(url_for("backoffice.discount_edit", discount_id=saved.id))


def _set_active(discount_id: int, active: bool) -> Any:
    discount = get_or_404(Discount, discount_id)
    if active and discount.code and (problem := discounts.code_problem()):
        flash(problem.html(), "error")  # the plan has no discount codes: it stays off
        return redirect(url_for("backoffice.discount_edit", discount_id=discount.id))
    if discount.active != active:
        discount.active = active
        audit.record(
            "discount.activated" if active else "discount.deactivated",
            discount_id=discount.id,
            code=discount.code,
        )
    if active:
        flash(f"Discount {_label(discount)} is active again.")
    else:
        flash(f"Discount {_label(discount)} was deactivated: shoppers can no longer use it.")
    return redirect(url_for("backoffice.discount_edit", discount_id=discount.id))


@bp.post("/discounts/<int:discount_id>/deactivate")
@requires(Area.PRODUCTS)
def discount_deactivate(discount_id: int) -> Any:
    return _set_active(discount_id, False)


@bp.post("/discounts/<int:discount_id>/activate")
@requires(Area.PRODUCTS)
def discount_activate(discount_id: int) -> Any:
    return _set_active(discount_id, True)


@bp.route("/discounts/<int:discount_id>/delete", methods=["GET", "POST"])
@requires(Area.PRODUCTS)
def discount_delete(discount_id: int) -> Any:
    discount = get_or_404(Discount, discount_id)
    if request.method == "POST":
        label = _label(discount)
        audit.record("discount.deleted", discount_id=discount.id, code=discount.code)
        db.session.delete(discount)
        flash(f"Discount {label} was deleted. Orders that used it keep their discount.")
        return redirect(url_for("backoffice.discounts"))
    return render_template(
        "backoffice/discounts_delete.html",
        discount=discount,
        label=_label(discount),
        uses=admin.usage_count(discount),
    )
