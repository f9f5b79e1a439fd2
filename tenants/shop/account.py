"""Customer accounts on the storefront: register, log in, orders, addresses, wishlist;
and the order status page guests reach by link or by order number and email.

The back office shares this host and its session: one login per browser per shop.
Logging in here as a customer ends a staff session (`saas.auth.start_session`), and the
pages say so first. A staff session is not a customer: account pages treat it as nobody.

Every page here is personal: answered `private, no-store`, so neither the storefront's
page cache nor any other cache keeps one, and kept out of search engines. Pages for
everybody (the product page's wishlist button, the header's account link) show
customer-only parts only to logged-in customers, whose pages are never cached anyway
(they have a session).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import Response, abort, flash, make_response, redirect, request, url_for
from flask_login import current_user

from saas.auth import (
    current_customer,
    end_session,
    is_shop_staff,
    revoke_sessions,
    safe_next,
    start_session,
)
from saas.db import atomic
from saas.paging import paginate
from saas.ratelimit import limiter
from tenants.accounts.emails import normalise_email
from tenants.accounts.forms import email_form, new_password_form, password_change_form
from tenants.accounts.problems import LinkProblem
from tenants.accounts.reset import RESET_DONE, RESET_SENT
from tenants.customers import address_book, wishlist
from tenants.customers import services as customers
from tenants.customers.models import Customer, CustomerAddress
from tenants.customers.problems import CustomerProblem
from tenants.geo.addresses import regions
from tenants.loyalty import points as loyalty
from tenants.orders.models import PAYMENT_METHOD_LABELS, Order
from tenants.settings.services import COUNTRIES, get_settings, shop_zone
from tenants.shop import ACCESS_KEY, bp, cart_session, product_cards, render

LOOKUP_FAILED = (
    "We couldn't find an order with that number and email address. Check both, "
    "and use the email the order confirmation was sent to."
)
ORDERS_PER_PAGE = 20
# Session keys a customer login keeps: the storefront password (before launch) says
# nothing about who the visitor is.
KEPT_AT_LOGIN = (ACCESS_KEY,)


@bp.app_context_processor
def _account_context() -> dict[str, Any]:
    # Functions, not values: only templates that ask (the header, the product page)
    # pay for loading the visitor.
    return {
        "current_customer": current_customer,
        "wishlisted": _wishlisted,
        "points_programme": loyalty.active_program,
    }


def _wishlisted(product_id: int) -> bool:
    customer = current_customer()
    return customer is not None and wishlist.in_wishlist(customer, product_id)


def page(template: str, status: int = 200, **context: Any) -> Response:
    """A themed account page: personal, so never cached or indexed."""
    context.setdefault("customer", current_customer())
    body, status = render(template, status, **context)
    response = make_response(body, status)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def not_found() -> Response:
    return page("404.html", 404)


def customer_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """The view needs a logged-in customer (passed as its first argument)."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        customer = current_customer()
        if customer is None:
            target = request.full_path.rstrip("?") if request.method == "GET" else None
            return redirect(url_for("shop.account_login", next=target))
        return view(customer, *args, **kwargs)

    return wrapper


def _staff_session() -> Any:
    """The staff member (or operator) logged in on this host, whom a customer login ends."""
    user = current_user._get_current_object()
    return user if is_shop_staff(user) else None


def _log_in(customer: Customer, *, renewal: bool = False) -> None:
    """Start the customer's session; the cart filled before logging in comes along.

    `renewal`: the customer was logged in already (a new session after a password
    change), so it is not recorded as a login.
    """
    cart_before = cart_session.current_cart()  # read before the session is cleared
    start_session(customer, keep=KEPT_AT_LOGIN)
    if not renewal:
        customers.record_login(customer)
    _, messages = cart_session.claim_for_customer(cart_before, customer.id)
    for message in messages:
        flash(message, "info")


# --- logging in and out --------------------------------------------------------------------


def _after_login() -> str:
    """Where the login and registration pages go on to: the `next` they were given (if
    it is this shop's), else the account."""
    return safe_next(request.values.get("next"), url_for("shop.account"))


def _login_page(template: str, status: int, **context: Any) -> Response:
    """The login or registration page: its form carries `next` on, and it says who is
    logged in as staff (a customer login ends that session)."""
    next_field = safe_next(request.values.get("next"), "")
    return page(template, status, next=next_field, staff=_staff_session(), **context)


@bp.route("/account/login", methods=["GET", "POST"])
def account_login() -> Any:
    target = _after_login()
    if current_customer() is not None:
        return redirect(target)
    form = email_form(lambda email: customers.log_in(email, request.form.get("password", "")))
    if form.result is not None:
        _log_in(form.result)
        return redirect(target)
    return _login_page(
        "account/login.html",
        form.status,
        email=form.email,
        error=form.error,
        offer_reset=form.offer_reset,
    )


@bp.route("/account/register", methods=["GET", "POST"])
def account_register() -> Any:
    target = _after_login()
    if current_customer() is not None:
        return redirect(target)
    values: dict[str, Any] = {"name": "", "email": "", "accepts_marketing": False}
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        values = {
            "name": request.form.get("name", ""),
            "email": request.form.get("email", ""),
            "accepts_marketing": bool(request.form.get("accepts_marketing")),
        }
        try:
            with atomic():
                done = customers.register(
                    values["email"],
                    request.form.get("password", ""),
                    request.form.get("confirm", ""),
                    name=values["name"],
                    accepts_marketing=values["accepts_marketing"],
                )
        except CustomerProblem as problem:
            errors, status = problem.errors, problem.status
        else:
            if done.customer is None:  # the email's link goes out once this request commits
                return page("account/check_email.html", email=done.email)
            _log_in(done.customer)
            flash("Welcome! Your account is ready.", "success")
            return redirect(target)
    return _login_page("account/register.html", status, values=values, errors=errors)


@bp.post("/account/logout")
def account_logout() -> Any:
    customer = current_customer()
    if customer is None:  # nobody, or staff: a customer's logout button ends no staff session
        return redirect(url_for("shop.home"))
    # Logging out ends this account's other sessions too: a copied cookie dies with it.
    revoke_sessions(customer)
    end_session()
    flash("You're logged out.", "info")
    return redirect(url_for("shop.account_login"))


# --- password reset ------------------------------------------------------------------------


@bp.route("/account/reset", methods=["GET", "POST"])
def account_reset_request() -> Any:
    # The same answer and work for every address: the job decides who gets mail.
    form = email_form(customers.ask_for_password_reset)
    return page(
        "account/reset_request.html",
        form.status,
        email=form.email,
        error=form.error,
        sent=form.done,
        sent_message=RESET_SENT,
    )


def _link_problem(problem: LinkProblem) -> Response:
    return page("account/link_problem.html", problem.status, message=problem.message)


@bp.route("/account/reset/<token>", methods=["GET", "POST"])
def account_reset(token: str) -> Any:
    try:
        row, owner = customers.RESET_LINKS.open(token)
        finishing = not owner.has_account  # a guest's first password: read before it is set
        customer, errors = new_password_form(functools.partial(customers.reset_password, row))
    except LinkProblem as problem:
        return _link_problem(problem)
    if customer is not None:
        _log_in(customer)
        done = "Your account is ready, and you are logged in." if finishing else RESET_DONE
        flash(done, "success")
        return redirect(url_for("shop.account"))
    return page(
        "account/reset.html",
        400 if errors else 200,
        email=owner.email,
        finishing=finishing,
        errors=errors,
        staff=_staff_session(),
    )


# --- the account: orders ---------------------------------------------------------------------


@bp.get("/account")
@customer_required
def account(customer: Customer) -> Any:
    orders = paginate(customers.orders_query(customer), ORDERS_PER_PAGE)
    if orders.page > orders.pages:
        return not_found()
    zone = shop_zone(get_settings())
    return page("account/orders.html", orders=orders, zone=zone, section="orders")


def _order_page(order: Order, *, guest: bool) -> Response:
    settings = get_settings()
    return page(
        "account/order.html",
        order=order,
        guest=guest,
        section=None if guest else "orders",
        zone=shop_zone(settings),
        payment_methods={str(k): v for k, v in PAYMENT_METHOD_LABELS.items()},
        bank_instructions=settings.bank_transfer_instructions if settings.bank_transfer else "",
        tracking=[(f, customers.tracking_link(f)) for f in order.fulfillments],
    )


@bp.get("/account/orders/<int:number>")
@customer_required
def account_order(customer: Customer, number: int) -> Any:
    order = customers.customer_order(customer, number)
    if order is None:
        return not_found()
    return _order_page(order, guest=False)


@bp.get("/orders/<token>")
def order_status(token: str) -> Any:
    """The order status page of the link in the shopper's emails (and of the lookup)."""
    order = customers.order_by_token(token)
    if order is None:
        return not_found()
    response = _order_page(order, guest=True)
    # The token is the key to this page: never sent on to another site.
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.route("/orders/lookup", methods=["GET", "POST"])
def order_lookup() -> Any:
    number = ""
    email = ""
    error = None
    status = 200
    if request.method == "POST":
        number = request.form.get("number", "").strip()[:20]
        email = normalise_email(request.form.get("email"))
        if limited := limiter().hit("order-lookup", number.lstrip("#").strip() or "-"):
            error, status = limited.message, 429
        elif (order := customers.lookup_order(number, email)) is not None:
            # The request's commit keeps the status link's token, if the order had none yet.
            return redirect(url_for("shop.order_status", token=order.token))
        else:
            error, status = LOOKUP_FAILED, 404
    return page("account/lookup.html", status, number=number, email=email, error=error)


# --- addresses -----------------------------------------------------------------------------


def _address_form(
    customer: Customer,
    *,
    address: CustomerAddress | None,
    values: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    return page(
        "account/address_form.html",
        status,
        address=address,
        values=values,
        errors=errors,
        countries=COUNTRIES,
        regions=regions(str(values.get("country") or "")),
        section="addresses",
    )


@bp.get("/account/addresses")
@customer_required
def account_addresses(customer: Customer) -> Any:
    return page(
        "account/addresses.html", addresses=address_book.addresses(customer), section="addresses"
    )


def _submitted_address() -> dict[str, Any]:
    values: dict[str, Any] = {
        name: request.form.get(name, "") for name in address_book.ADDRESS_FIELDS
    }
    values["default"] = bool(request.form.get("default"))
    return values


def with_address(view: Callable[..., Any]) -> Callable[..., Any]:
    """The view acts on one of the customer's own addresses, passed instead of its id
    (another customer's is not found); a route without an id passes None (a new one).
    Goes under `customer_required`."""

    @functools.wraps(view)
    def wrapper(customer: Customer, address_id: int | None = None) -> Any:
        address = address_book.address_of(customer, address_id) if address_id else None
        if address_id and address is None:
            return not_found()
        return view(customer, address)

    return wrapper


def _saved_address(customer: Customer, address: CustomerAddress | None) -> dict[str, Any]:
    """The address form's first values: the address as saved, or a new one's."""
    if address is not None:
        return address_book.address_dict(address) | {"default": address.is_default}
    values: dict[str, Any] = dict.fromkeys(address_book.ADDRESS_FIELDS, "")
    return values | {
        "name": customer.name,
        "country": get_settings().country or "",
        "default": False,
    }


@bp.route("/account/addresses/new", methods=["GET", "POST"], endpoint="account_address_new")
@bp.route("/account/addresses/<int:address_id>", methods=["GET", "POST"])
@customer_required
@with_address
def account_address_edit(customer: Customer, address: CustomerAddress | None) -> Any:
    """Add an address (none given) or edit one: the same form and checks."""
    if request.method == "GET":
        values = _saved_address(customer, address)
        return _address_form(customer, address=address, values=values, errors={})
    address_id = address.id if address else None  # read before a refused save expires it
    values = _submitted_address()
    try:
        with atomic():
            if address is None:
                address_book.add_address(customer, request.form, default=values["default"])
            else:
                address_book.update_address(
                    customer, address, request.form, default=values["default"]
                )
    except CustomerProblem as problem:
        # The savepoint's rollback expired the address: read it again for the page.
        again = address_book.address_of(customer, address_id) if address_id else None
        return _address_form(
            customer, address=again, values=values, errors=problem.errors, status=400
        )
    flash("Address added." if address is None else "Address saved.", "success")
    return redirect(url_for("shop.account_addresses"))


@bp.route("/account/addresses/<int:address_id>/delete", methods=["GET", "POST"])
@customer_required
@with_address
def account_address_delete(customer: Customer, address: CustomerAddress) -> Any:
    if request.method == "GET":
        return page("account/address_delete.html", address=address, section="addresses")
    address_book.delete_address(customer, address)
    flash("Address deleted.", "success")
    return redirect(url_for("shop.account_addresses"))


@bp.post("/account/addresses/<int:address_id>/default")
@customer_required
@with_address
def account_address_default(customer: Customer, address: CustomerAddress) -> Any:
    address_book.set_default_address(customer, address)
    flash("Default address changed.", "success")
    return redirect(url_for("shop.account_addresses"))


# --- wishlist ------------------------------------------------------------------------------


@bp.get("/account/wishlist")
@customer_required
def account_wishlist(customer: Customer) -> Any:
    products = wishlist.wishlist_products(customer)
    return page("account/wishlist.html", products=product_cards(products), section="wishlist")


def _product_id() -> int | None:
    raw = request.form.get("product_id", "")
    return int(raw) if raw.isdigit() and len(raw) < 10 else None


@bp.post("/account/wishlist")
@customer_required
def account_wishlist_add(customer: Customer) -> Any:
    back = safe_next(request.form.get("next"), url_for("shop.account_wishlist"))
    product_id = _product_id()
    try:
        with atomic():
            added = product_id is not None and wishlist.add_to_wishlist(customer, product_id)
    except CustomerProblem as problem:
        flash(problem.errors[""], "error")
        return redirect(url_for("shop.account_wishlist"))
    if not added:
        return not_found()
    return redirect(back)


@bp.post("/account/wishlist/<int:product_id>/remove")
@customer_required
def account_wishlist_remove(customer: Customer, product_id: int) -> Any:
    back = safe_next(request.form.get("next"), url_for("shop.account_wishlist"))
    removed = wishlist.remove_from_wishlist(customer, product_id)
    if removed and back == url_for("shop.account_wishlist"):
        flash("Removed from your wishlist.", "success")
    return redirect(back)


# --- the customer's own details ------------------------------------------------------------


@bp.route("/account/settings", methods=["GET", "POST"])
@customer_required
def account_settings(customer: Customer) -> Any:
    details: dict[str, Any] = {
        "name": customer.name,
        "accepts_marketing": customer.accepts_marketing,
        "birthday": customer.birthday.isoformat() if customer.birthday else "",
    }
    details_errors: dict[str, str] = {}
    password_errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        which = request.form.get("form")
        if which == "details":
            details = {
                "name": request.form.get("name", ""),
                "accepts_marketing": bool(request.form.get("accepts_marketing")),
                # asked for only while the points programme gives a birthday bonus
                "birthday": request.form.get("birthday"),
            }
            try:
                with atomic():
                    changed = customers.update_details(
                        customer, details["name"], details["accepts_marketing"], details["birthday"]
                    )
            except CustomerProblem as problem:
                details_errors, status = problem.errors, 400
            else:
                flash("Your details were saved." if changed else "Nothing changed.", "success")
                return redirect(url_for("shop.account_settings"))
        elif which == "password":
            # A fresh session for this browser, not recorded as a new login.
            renew = functools.partial(_log_in, renewal=True)
            refused = password_change_form(customers.change_password, customer, renew)
            if refused is None:
                return redirect(url_for("shop.account_settings"))
            password_errors, status = refused.errors, refused.status
        else:
            abort(400)
    return page(
        "account/settings.html",
        status,
        details=details,
        details_errors=details_errors,
        password_errors=password_errors,
        section="settings",
    )
