"""Orders in the back office: the list with filters, an order's page and what staff do
to it (mark paid, fulfil with tracking, mark delivered, refund, cancel, add notes)."""

from __future__ import annotations

from typing import Any, Protocol

from flask import abort, flash, redirect, render_template, request, url_for

from saas.db import atomic
from saas.money import format_money
from tenants.backoffice import bp
from tenants.backoffice.access import requires
from tenants.backoffice.helpers import acting_staff_id, paginate_or_404
from tenants.catalog.products import ProductError, parse_price
from tenants.orders import admin as order_admin
from tenants.orders import emails as order_emails
from tenants.orders.models import PAYMENT_METHOD_LABELS, FulfillmentStatus, Order, PaymentStatus
from tenants.reviews import emails as review_requests
from tenants.settings.services import get_settings, shop_zone
from tenants.staff.models import Area

PER_PAGE = 25
# "To pay" and "To ship" are the orders waiting on the merchant (`tenants.orders.attention`).
PAYMENT_FILTERS = [
    ("to_pay", "To pay (offline payment not received)"),
    *((s.value, s.value.replace("_", " ").capitalize()) for s in PaymentStatus),
    ("cancelled", "Cancelled"),
]
FULFILLMENT_FILTERS = [
    ("to_ship", "To ship"),
    *((s.value, s.value.replace("_", " ").capitalize()) for s in FulfillmentStatus),
]


@bp.get("/orders")
@requires(Area.ORDERS)
def orders() -> Any:
    zone = shop_zone(get_settings())
    filters = order_admin.list_filters(request.args)
    filtered = any(filters.values())
    return render_template(
        "backoffice/orders.html",
        page=paginate_or_404(order_admin.list_query(filters, zone), PER_PAGE),
        zone=zone,
        filters=filters,
        filtered=filtered,
        payment_filters=PAYMENT_FILTERS,
        fulfillment_filters=FULFILLMENT_FILTERS,
        any_orders=filtered and order_admin.count_orders() > 0,
    )


def _order_or_404(number: int) -> Order:
    order = order_admin.order_by_number(number)
    if order is None:
        abort(404)
    return order


def _page(order: Order, errors: dict[str, str] | None = None, status: int = 200) -> Any:
    zone = shop_zone(get_settings())
    return render_template(
        "backoffice/order.html",
        order=order,
        zone=zone,
        errors=errors or {},
        form=request.form if request.method == "POST" else {},
        carriers=[(name, name) for name in order_admin.CARRIERS],
        refundable=order_admin.refundable(order),
        offline=order_admin.is_offline(order),
        payment_label=PAYMENT_METHOD_LABELS.get(order.payment_method or "", "—"),
        FulfillmentStatus=FulfillmentStatus,
        PaymentStatus=PaymentStatus,
    ), status


@bp.get("/orders/<int:number>")
@requires(Area.ORDERS)
def order(number: int) -> Any:
    return _page(_order_or_404(number))


class OrderAction(Protocol):
    """A change to a locked order, recorded as the staff member's; the emails it sends."""

    def __call__(self, order: Order, /, *, staff_id: int | None) -> list[str] | None: ...


def _act(number: int, action: OrderAction, done: str) -> Any:
    """Lock the order, apply `action`, queue its emails (sent once the request commits);
    errors re-render."""
    found = _order_or_404(number)
    order = order_admin.locked(found.id)
    if order is None:
        abort(404)
    try:
        with atomic():
            kinds = action(order, staff_id=acting_staff_id())
    except order_admin.OrderActionError as error:
        # At the top (the form it belongs to may not be shown for this order) and by
        # its field when there is one.
        errors = {"action": str(error)} | ({error.field: str(error)} if error.field else {})
        return _page(_order_or_404(number), errors, 400)
    order_emails.queue(order, kinds or [])
    review_requests.schedule(order)  # once shipped or delivered (it checks)
    flash(done)
    return redirect(url_for("backoffice.order", number=number))


@bp.post("/orders/<int:number>/paid")
@requires(Area.ORDERS)
def order_paid(number: int) -> Any:
    return _act(number, order_admin.mark_paid, "Order marked as paid; the customer has been told.")


def _quantities() -> dict[int, int]:
    out: dict[int, int] = {}
    for key, value in request.form.items():
        if key.startswith("quantity-") and key[9:].isdigit():
            text = value.strip()
            if not text.isdigit():
                raise order_admin.OrderActionError("Enter a whole number of items.", key)
            out[int(key[9:])] = int(text)
    return out


@bp.post("/orders/<int:number>/fulfil")
@requires(Area.ORDERS)
def order_fulfil(number: int) -> Any:
    def action(order: Order, *, staff_id: int | None) -> list[str]:
        return order_admin.fulfil(order, _quantities(), request.form, staff_id=staff_id)

    return _act(number, action, "Items marked as shipped; the customer has the tracking details.")


@bp.post("/orders/<int:number>/delivered")
@requires(Area.ORDERS)
def order_delivered(number: int) -> Any:
    return _act(number, order_admin.mark_delivered, "Order marked as delivered.")


@bp.post("/orders/<int:number>/refund")
@requires(Area.ORDERS)
def order_refund(number: int) -> Any:
    def action(order: Order, *, staff_id: int | None) -> list[str]:
        try:
            amount = parse_price(
                request.form.get("amount", ""), order.currency, what="the amount to refund"
            )
        except ProductError as error:
            raise order_admin.OrderActionError(str(error), "amount") from error
        return order_admin.refund(order, amount, request.form.get("reason", ""), staff_id=staff_id)

    return _act(number, action, "Refund recorded; the customer has been told.")


@bp.post("/orders/<int:number>/note")
@requires(Area.ORDERS)
def order_note(number: int) -> Any:
    def action(order: Order, *, staff_id: int | None) -> None:
        order_admin.add_note(order, request.form.get("note", ""), staff_id=staff_id)

    return _act(number, action, "Note added.")


@bp.route("/orders/<int:number>/cancel", methods=["GET", "POST"])
@requires(Area.ORDERS)
def order_cancel(number: int) -> Any:
    order = _order_or_404(number)
    if request.method == "GET" or not request.form.get("confirm"):
        return render_template(
            "backoffice/order_cancel.html",
            order=order,
            refundable=format_money(order_admin.refundable(order), order.currency),
            can_refund=order_admin.refundable(order) > 0,
        )

    def action(locked: Order, *, staff_id: int | None) -> list[str]:
        return order_admin.cancel(
            locked,
            reason=request.form.get("reason", ""),
            restock=request.form.get("restock") == "1",
            refund_payment=request.form.get("refund") == "1",
            staff_id=staff_id,
        )

    return _act(number, action, f"Order {order.name} cancelled; the customer has been told.")
