"""The shop's customers in the back office: the list, and a customer's page (orders,
total spent, addresses, the merchant's note and tags, marketing consent)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for

from saas import audit
from saas.db import atomic
from saas.paging import paginate
from tenants.backoffice import bp
from tenants.backoffice.access import requires
from tenants.backoffice.helpers import (
    NO_RETRY,
    FormRetry,
    acting_staff_id,
    get_or_404,
    paginate_or_404,
)
from tenants.customers import services as service
from tenants.customers.models import Customer
from tenants.customers.services import CustomerProblem
from tenants.loyalty import points, tiers
from tenants.settings.services import get_settings, shop_zone
from tenants.staff.models import Area

PER_PAGE = 25
ORDERS_PER_PAGE = 20
SORT_LABELS = {
    "newest": "Newest first",
    "oldest": "Oldest first",
    "name": "Name A–Z",  # noqa: RUF001 -- an en dash, as in the products list
    "email": "Email A–Z",  # noqa: RUF001
    "spent": "Most spent",
    "orders": "Most orders",
}


@bp.get("/customers")
@requires(Area.CUSTOMERS)
def customers() -> Any:
    filters = service.list_filters(request.args)
    return render_template(
        "backoffice/customers.html",
        page=paginate_or_404(service.list_query(filters), PER_PAGE, scalars=False),
        filters=filters,
        filtered=any(v for k, v in filters.items() if k != "sort"),
        sorts=[(key, SORT_LABELS[key]) for key in service.LIST_SORTS],
        currency=get_settings().currency,
    )


def _render(customer: Customer, retry: FormRetry = NO_RETRY) -> Any:
    """The customer's page, with its notes and marketing consent forms."""
    settings = get_settings()
    orders = paginate(service.orders_query(customer), ORDERS_PER_PAGE)
    return render_template(
        "backoffice/customer.html",
        customer=customer,
        summary=service.summary(customer),
        orders=orders,
        addresses=service.addresses(customer),
        zone=shop_zone(settings),
        currency=settings.currency,
        notes=retry.values_for(
            "notes", lambda: {"note": customer.note, "tags": ", ".join(customer.tags or [])}
        ),
        notes_errors=retry.errors_for("notes"),
        consent=retry.values_for(
            "marketing", lambda: {"accepts_marketing": customer.accepts_marketing, "reason": ""}
        ),
        consent_errors=retry.errors_for("marketing"),
        points_account=points.account(customer.id),
        points_history=points.history(customer.id, limit=20),
        points_on=points.active_program() is not None,
        points_tier=tiers.tier_of(customer.id),
        adjust=retry.values_for("points", lambda: {"points": "", "reason": ""}),
        adjust_errors=retry.errors_for("points"),
    ), retry.status


def _adjust_points(customer: Customer, values: dict[str, Any]) -> bool:
    """The merchant's adjustment of the customer's points (audited)."""
    text = values["points"].strip().replace(",", "")
    number = text[1:] if text[:1] in "+-" else text
    if not number.isdigit() or len(number) > 9:
        raise points.PointsError({"points": "Enter a whole number of points, like 500 or -200."})
    entry = points.adjust(customer.id, int(text), values["reason"], staff_id=acting_staff_id())
    audit.record(
        "loyalty.adjusted", customer_id=customer.id, points=entry.points, reason=entry.reason
    )
    return True


@bp.route("/customers/<int:customer_id>", methods=["GET", "POST"])
@requires(Area.CUSTOMERS)
def customer(customer_id: int) -> Any:
    item = get_or_404(Customer, customer_id)
    if request.method == "GET":
        return _render(item)
    which = request.form.get("form", "")
    values: dict[str, Any]
    save: Callable[[], bool]
    if which == "notes":
        values = {"note": request.form.get("note", ""), "tags": request.form.get("tags", "")}
        save = partial(service.update_notes, item, values["note"], values["tags"])
    elif which == "points":
        values = {
            "points": request.form.get("points", ""),
            "reason": request.form.get("reason", ""),
        }
        save = partial(_adjust_points, item, values)
    elif which == "marketing":
        values = {
            "accepts_marketing": request.form.get("accepts_marketing") == "1",
            "reason": request.form.get("reason", ""),
        }
        save = partial(
            service.set_marketing_consent, item, values["accepts_marketing"], values["reason"]
        )
    else:
        abort(400)
    try:
        with atomic():
            changed = save()
    except (CustomerProblem, points.PointsError) as problem:
        retry = FormRetry(which, values, problem.errors)
        return _render(get_or_404(Customer, customer_id), retry)
    if not changed:
        flash("Nothing changed.")
    elif which == "points":
        flash(f"Points adjusted: {item.email} now has {points.balance(item.id):,} to spend.")
    elif which == "notes":
        flash("Note and tags saved.")
    elif values["accepts_marketing"]:
        flash(f"{item.email} now receives marketing email.")
    else:
        flash(f"{item.email} no longer receives marketing email.")
    return redirect(url_for("backoffice.customer", customer_id=item.id))
