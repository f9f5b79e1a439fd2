"""The shop's customers in the back office: the list, and a customer's page (orders,
total spent, addresses, the merchant's note and tags, marketing consent)."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for

from saas.db import atomic, db
from saas.paging import Page, paginate
from tenants.backoffice import bp
from tenants.backoffice.access import requires
from tenants.customers import services as service
from tenants.customers.models import Customer
from tenants.customers.services import CustomerProblem
from tenants.geo.addresses import format_lines
from tenants.settings.services import get_settings, shop_zone
from tenants.staff.models import Area

PER_PAGE = 25
ORDERS_PER_PAGE = 20
LIST_FILTERS = ("q", "account", "marketing", "sort")
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
    filters = {name: request.args.get(name, "").strip() for name in LIST_FILTERS}
    if filters["sort"] not in service.LIST_SORTS:
        filters["sort"] = ""
    query = service.customers_query(
        q=filters["q"],
        account=filters["account"],
        marketing=filters["marketing"],
        sort=filters["sort"] or "newest",
    )
    page: Page = paginate(query, PER_PAGE, scalars=False)
    if page.page > page.pages:
        abort(404)
    return render_template(
        "backoffice/customers.html",
        page=page,
        filters=filters,
        filtered=any(v for k, v in filters.items() if k != "sort"),
        sorts=[(key, SORT_LABELS[key]) for key in service.LIST_SORTS],
        currency=get_settings().currency,
    )


def _customer(customer_id: int) -> Customer:
    # The session sees only this shop's schema: another shop's customer id is absent.
    customer = db.session.get(Customer, customer_id)
    if customer is None:
        abort(404)
    return customer


def _render(
    customer: Customer,
    *,
    form: str = "",
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Any:
    """The customer's page; `form` names the one form being re-shown with its mistakes."""
    errors = errors or {}
    settings = get_settings()
    orders = paginate(service.orders_query(customer), ORDERS_PER_PAGE)
    notes = {"note": customer.note, "tags": ", ".join(customer.tags or [])}
    consent = {"accepts_marketing": customer.accepts_marketing, "reason": ""}
    if form == "notes" and values is not None:
        notes = values
    if form == "marketing" and values is not None:
        consent = values
    return render_template(
        "backoffice/customer.html",
        customer=customer,
        summary=service.summary(customer),
        orders=orders,
        addresses=service.addresses(customer),
        format_address=format_lines,
        zone=shop_zone(settings),
        currency=settings.currency,
        notes=notes,
        notes_errors=errors if form == "notes" else {},
        consent=consent,
        consent_errors=errors if form == "marketing" else {},
    ), status


@bp.route("/customers/<int:customer_id>", methods=["GET", "POST"])
@requires(Area.CUSTOMERS)
def customer(customer_id: int) -> Any:
    item = _customer(customer_id)
    if request.method == "GET":
        return _render(item)
    which = request.form.get("form")
    back = url_for("backoffice.customer", customer_id=item.id)
    if which == "notes":
        values = {"note": request.form.get("note", ""), "tags": request.form.get("tags", "")}
        try:
            with atomic():
                changed = service.update_notes(item, values["note"], values["tags"])
        except CustomerProblem as problem:
            return _render(
                _customer(customer_id),
                form="notes",
                values=values,
                errors=problem.errors,
                status=400,
            )
        flash("Note and tags saved." if changed else "Nothing changed.")
        return redirect(back)
    if which == "marketing":
        accepts = request.form.get("accepts_marketing") == "1"
        consent: dict[str, Any] = {
            "accepts_marketing": accepts,
            "reason": request.form.get("reason", ""),
        }
        try:
            with atomic():
                changed = service.set_marketing_consent(item, accepts, consent["reason"])
        except CustomerProblem as problem:
            return _render(
                _customer(customer_id),
                form="marketing",
                values=consent,
                errors=problem.errors,
                status=400,
            )
        if not changed:
            flash("Nothing changed.")
        elif accepts:
            flash(f"{item.email} now receives marketing email.")
        else:
            flash(f"{item.email} no longer receives marketing email.")
        return redirect(back)
    abort(400)
