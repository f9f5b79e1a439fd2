"""Checkout pages: information (contact and address), shipping, payment, review.

Plain forms, one step per page, working without JavaScript; every step prices the
cart again (`tenants.checkout.services.price`) and sends the shopper back to the
first step that is no longer complete (an address removed from shipping zones, a
method the merchant switched off). Personal pages: never cached, CSRF-protected.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import current_app, flash, redirect, request, session, url_for
from flask_login import current_user

from saas.db import atomic
from saas.payments.stripe_api import StripeFailure
from tenants.analytics import visits
from tenants.checkout import recovery
from tenants.checkout import services as service
from tenants.customers import services as customers
from tenants.customers.models import Customer
from tenants.geo.addresses import form_rules, regions
from tenants.orders.models import PaymentMethod, PaymentStatus
from tenants.orders.placement import OrderError
from tenants.settings.services import COUNTRIES, get_settings
from tenants.shop import bp, cart_session, checkout_state, render
from tenants.shop import points as points_pages
from tenants.shop.cart import codes_allowed

STEPS = (
    ("shop.checkout", "Information"),
    ("shop.checkout_shipping", "Shipping"),
    ("shop.checkout_payment", "Payment"),
    ("shop.checkout_review", "Review"),
)


def _customer() -> Customer | None:
    user = current_user._get_current_object() if current_user else None
    return user if isinstance(user, Customer) else None


def _start() -> tuple[Any, Any, dict[str, Any]] | Any:
    """(cart, summary, chosen: the checkout so far), or a redirect to the cart when there
    is nothing to check out."""
    cart = cart_session.current_cart()
    if cart is None:
        flash("Your cart is empty.")
        return redirect(url_for("shop.cart"))
    summary = cart_session.summary(cart)
    if summary.problems:
        # the cart was corrected: the request's commit keeps that; say so
        for problem in summary.problems:
            flash(problem.message)
        return redirect(url_for("shop.cart"))
    if summary.empty:
        flash("Your cart is empty.")
        return redirect(url_for("shop.cart"))
    return cart, summary, checkout_state.state(cart)


def _step(load: Callable[[], tuple[Any, ...] | Any]) -> Callable[[Callable[..., Any]], Any]:
    """A checkout step's view goes on from what `load` finds (its tuple, passed as the
    view's arguments); what is not a tuple is the redirect to answer instead."""

    def decorate(view: Callable[..., Any]) -> Callable[[], Any]:
        @functools.wraps(view)
        def wrapper() -> Any:
            ready = load()
            return view(*ready) if isinstance(ready, tuple) else ready

        return wrapper

    return decorate


def _price(summary: Any, chosen: dict[str, Any], settings: Any) -> service.Priced:
    customer = _customer()
    return service.price(
        summary,
        chosen,
        settings,
        codes_allowed=codes_allowed,
        customer_id=customer.id if customer is not None else None,
        referrer_id=points_pages.referrer(),
    )


def _page(template: str, step: str, cart: Any, summary: Any, **context: Any) -> Any:
    chosen = checkout_state.state(cart)
    priced = context.pop("priced", None) or _price(summary, chosen, get_settings())
    return render(
        template,
        status=context.pop("status", 200),
        steps=STEPS,
        step=step,
        chosen=chosen,
        priced=priced,
        summary=summary,
        **context,
    )


def _save_choice(cart: Any, field: str, offered: list[str]) -> bool:
    """Whether the posted `field` is one of the `offered` values: then it is the
    checkout's choice from now on."""
    value = request.form.get(field, "")
    if value not in offered:
        return False
    checkout_state.save(cart, **{field: value})
    return True


@bp.route("/checkout", methods=["GET", "POST"])
@_step(_start)
def checkout(cart: Any, summary: Any, chosen: dict[str, Any]) -> Any:
    visits.funnel_step("checkout")
    errors: dict[str, str] = {}
    if request.method == "POST":
        first_time = cart.checkout_started_at is None
        errors, contact = service.save_contact(cart, request.form)
        if not errors:
            checkout_state.save(cart, **contact)
            if first_time:
                recovery.schedule_reminder(cart)
            return redirect(url_for("shop.checkout_shipping"))
        values = dict(request.form)
    else:
        customer = _customer()
        saved = chosen.get("address") or {}
        if not saved and customer is not None:
            default = customers.default_address(customer)
            if default is not None:
                saved = customers.address_dict(default)
        values = {
            **saved,
            "email": chosen.get("email") or (customer.email if customer else ""),
        }
        values.setdefault("country", get_settings().country or "")
    country = values.get("country", "")
    return _page(
        "checkout/information.html",
        "shop.checkout",
        cart,
        summary,
        status=400 if errors else 200,
        values=values,
        errors=errors,
        countries=COUNTRIES,
        regions=regions(country),
        rules=form_rules(),
    )


@bp.route("/checkout/shipping", methods=["GET", "POST"])
@_step(_start)
def checkout_shipping(cart: Any, summary: Any, chosen: dict[str, Any]) -> Any:
    if not chosen.get("address"):
        return redirect(url_for("shop.checkout"))
    priced = _price(summary, chosen, get_settings())
    error = ""
    if request.method == "POST":
        if _save_choice(cart, "shipping", [option.key for option in priced.shipping_options]):
            return redirect(url_for("shop.checkout_payment"))
        error = "Choose how your order gets to you."
    return _page(
        "checkout/shipping.html",
        "shop.checkout_shipping",
        cart,
        summary,
        priced=priced,
        error=error,
        status=400 if error else 200,
    )


def _with_shipping() -> tuple[Any, Any, dict[str, Any], Any, Any] | Any:
    """(cart, summary, chosen, settings, priced) once a shipping method is chosen and
    still offered; else a redirect to the step that needs doing again."""
    started = _start()
    if not isinstance(started, tuple):
        return started
    cart, summary, chosen = started
    settings = get_settings()
    priced = _price(summary, chosen, settings)
    if priced.shipping is None:
        return redirect(
            url_for("shop.checkout_shipping" if chosen.get("address") else "shop.checkout")
        )
    return cart, summary, chosen, settings, priced


@bp.route("/checkout/payment", methods=["GET", "POST"])
@_step(_with_shipping)
def checkout_payment(
    cart: Any, summary: Any, _chosen: dict[str, Any], settings: Any, priced: Any
) -> Any:
    methods = service.payment_methods(settings)
    error = ""
    if request.method == "POST":
        if _save_choice(cart, "payment", [value for value, _ in methods]):
            return redirect(url_for("shop.checkout_review"))
        error = "Choose how you would like to pay."
    return _page(
        "checkout/payment.html",
        "shop.checkout_payment",
        cart,
        summary,
        priced=priced,
        methods=methods,
        instructions=settings.bank_transfer_instructions,
        error=error,
        status=400 if error else 200,
    )


@bp.post("/checkout/points")
@_step(_with_shipping)
def checkout_points(
    cart: Any, summary: Any, _chosen: dict[str, Any], settings: Any, _priced: Any
) -> Any:
    """A signed-in customer uses some of their points on this order, or stops using them.
    Nothing is spent until the order is placed; every step prices them again."""
    text = "0" if "remove" in request.form else request.form.get("points", "").strip()
    if not text.isdigit() or len(text) > 9:
        flash("Enter the number of points to use, as a whole number.")
        return redirect(url_for("shop.checkout_payment"))
    checkout_state.save(cart, points=int(text))
    used = _price(summary, checkout_state.state(cart), settings).points
    if used.points:
        flash(" ".join(filter(None, (f"{used.points:,} points applied.", used.problem))))
    else:
        flash(used.problem or "Points removed from this order.")
    return redirect(url_for("shop.checkout_payment"))


@bp.route("/checkout/review", methods=["GET", "POST"])
@_step(_with_shipping)
def checkout_review(
    cart: Any, summary: Any, chosen: dict[str, Any], settings: Any, priced: Any
) -> Any:
    methods = dict(service.payment_methods(settings))
    if chosen.get("payment") not in methods:
        return redirect(url_for("shop.checkout_payment"))
    error = ""
    if request.method == "POST":
        expected = request.form.get("total", "")
        if expected != str(priced.total_cents):
            error = "Prices changed while you were checking out. Please review your order again."
        else:
            return _place(cart, priced, chosen)
    return _page(
        "checkout/review.html",
        "shop.checkout_review",
        cart,
        summary,
        priced=priced,
        payment_label=methods[chosen["payment"]],
        error=error,
        status=409 if error else 200,
    )


def _place(cart: Any, priced: Any, chosen: dict[str, Any]) -> Any:
    try:
        with atomic():  # a refused order leaves no guest customer behind either
            placed = _place_order(cart, priced, chosen)
    except OrderError as error:
        flash(str(error))
        return redirect(url_for("shop.cart"))
    checkout_state.finish()
    cart_session.forget()
    session.pop(points_pages.REFERRER_KEY, None)  # a referral brings one first order
    visits.funnel_step("order")
    order = placed.order
    status_url = order_status_url(order.token or "")
    if chosen["payment"] == PaymentMethod.STRIPE and order.payment_status == PaymentStatus.PENDING:
        if placed.created:
            recovery.schedule_release(order)
        # Stripe's page is opened by the next request, once this one has committed the
        # order: the stock it holds is not locked while Stripe answers. 307 re-sends the
        # form (and its CSRF token) as a POST.
        return redirect(url_for("shop.pay_order", token=order.token), code=307)
    flash(f"Thank you! Your order {order.name} is confirmed. We have emailed {order.email}.")
    return redirect(status_url)


def _place_order(cart: Any, priced: Any, chosen: dict[str, Any]) -> Any:
    customer = _customer()
    if customer is None:
        # A guest is still a customer of the shop (the back office lists them; an
        # account made later with this email takes the orders over once proven).
        customer = customers.find_or_create_guest(
            chosen["email"], chosen["address"].get("name", "")
        )
    by_card = chosen["payment"] == PaymentMethod.STRIPE
    data = service.order_input(
        priced,
        chosen,
        chosen["payment"],
        customer_id=customer.id,
        cart=cart,
        reserved_until=datetime.now(UTC) + service.STRIPE_HOLD if by_card else None,
    )
    return service.place(data, cart)


@bp.post("/orders/<token>/pay")
def pay_order(token: str) -> Any:
    """Send the shopper to Stripe's payment page for an order placed to be paid by card."""
    order = service.order_to_pay(token)
    status_url = order_status_url(token)
    if order is None:  # paid, cancelled or not a card order: its page says which
        return redirect(status_url)
    try:
        url = service.stripe_session(
            order,
            get_settings().stripe_account_id or "",
            success_url=request.host_url.rstrip("/") + status_url,
            cancel_url=request.host_url.rstrip("/") + status_url,
        )
    except StripeFailure as error:
        flash(f"Card payments are not available right now ({error}). Your order is saved.")
        return redirect(status_url)
    return redirect(url, code=303)


def order_status_url(token: str) -> str:
    """The order's status page (the customers' module serves it by its random token)."""
    if "shop.order_status" in current_app.view_functions:
        return url_for("shop.order_status", token=token)
    return f"/orders/{token}"
