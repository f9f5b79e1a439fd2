"""The shopper's cart: add, change, remove, discount code.

"Add to cart" sits on product pages, which are cached and shared by every anonymous
visitor, so it carries no CSRF token: it is exempt and checks instead that the browser
says the form came from this very host (`saas.security.same_origin`). The cart page is
personal (never cached) and its forms carry CSRF tokens as usual.

Every page's mini-cart count comes from the session (`cart_session`), never from a
query: a visitor without a cart has no session at all, and their pages stay shareable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, current_app, flash, g, make_response, redirect, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from saas.db import atomic, db
from saas.extensions import csrf
from saas.ratelimit import limiter
from saas.security import same_origin
from saas.tenancy import current_tenant
from tenants.analytics import visits
from tenants.catalog.models import Product, ProductStatus, ProductVariant
from tenants.catalog.variants import ensure_default_variant
from tenants.checkout import cart as carts
from tenants.checkout.models import Cart
from tenants.discounts import services as discounts
from tenants.shop import bp, cart_session, render

# Flashed messages about the cart; product pages show only these, beside their button.
FLASH_CATEGORY = "cart"


@bp.context_processor
def _mini_cart() -> dict[str, Any]:
    return {"cart_count": cart_session.session_count()}


def codes_allowed() -> bool:
    """Whether the shop's plan takes discount codes: the plan is asked once per request
    (a cart page evaluates several times), and only when a code is in play."""
    tenant_id = current_tenant.id
    cached = g.get("discount_codes_allowed")
    if cached is None or cached[0] != tenant_id:
        cached = (tenant_id, discounts.plan_allows_codes())
        g.discount_codes_allowed = cached
    return cached[1]


def _id(value: str | None) -> int | None:
    value = (value or "").strip()
    if value.isascii() and value.isdigit() and len(value) < 10:
        return int(value)
    return None


def _product_page(product: Product | None, variant_id: int | None) -> str:
    if product is None or product.status != ProductStatus.ACTIVE:
        return url_for("shop.cart")
    return url_for("shop.product", handle=product.handle, variant=variant_id)


@bp.post("/cart/add")
@csrf.exempt  # the form sits on cached product pages shared by every visitor
def cart_add() -> Any:
    if not same_origin(request):
        abort(403)
    if limited := limiter().hit("cart-add"):
        abort(429, limited.message)
    variant_id = _id(request.form.get("variant"))
    variant = db.session.get(ProductVariant, variant_id) if variant_id else None
    product_id = _id(request.form.get("product"))
    product = variant.product if variant is not None else None
    if product is None and product_id:
        product = db.session.get(Product, product_id)
    back = _product_page(product, variant_id)
    existing = cart_session.current_cart()
    try:
        quantity = carts.parse_quantity(request.form.get("quantity") or "1")
        # A refusal undoes the default variant and the new cart made on the way.
        with atomic():
            if variant is None and variant_id is None and product is not None:
                # A product from before variants existed: it gets its one variant now.
                if product.status == ProductStatus.ACTIVE:
                    ensure_default_variant(product)
                if len(product.variants) == 1:
                    variant_id = product.variants[0].id
            if variant_id is None:
                raise carts.CartError(
                    "This product is not available in that combination. Choose other options."
                    if product is not None
                    else "Sorry, this product is no longer available."
                )
            cart = existing or cart_session.current_cart(create=True)
            assert cart is not None
            change = carts.add(cart, variant_id, quantity)
            cart_session.sync_count(cart)
    except carts.CartError as error:
        if existing is None:
            cart_session.forget()  # no cart was made after all
        flash(str(error), FLASH_CATEGORY)
        return redirect(back)
    visits.funnel_step("cart")
    flash(change.message, FLASH_CATEGORY)
    return redirect(back if change.limited else url_for("shop.cart"))


def _render_cart(
    cart: Cart | None,
    summary: carts.Summary | None = None,
    *,
    code_value: str = "",
    code_error: str = "",
    status: int = 200,
) -> Response:
    summary = summary if summary is not None else cart_session.summary(cart)
    result = discounts.Result(None)
    stored_error = ""
    if cart is not None and summary.lines:
        email = cart.email or None
        result = discounts.evaluate(
            summary.discount_code or None, summary, email=email, codes_allowed=codes_allowed
        )
        if summary.discount_code and not result.applied:
            # As at checkout: the code says why it fails, an automatic discount still applies.
            stored_error = result.message
            result = discounts.evaluate(None, summary, email=email, codes_allowed=codes_allowed)
    label = ""
    if result.discount is not None:
        label = result.discount.code or result.discount.title
        label = f"{label} ({discounts.describe(result.discount, summary.currency)})"
    # The request's commit keeps what the summary fixed (quantities above stock, items gone).
    checkout_url = (
        url_for("shop.checkout")
        if "shop.checkout" in current_app.view_functions and summary.lines
        else None
    )
    body, status = render(
        "cart.html",
        status=status,
        summary=summary,
        discount=result,
        discount_label=label,
        stored_code=summary.discount_code,
        code_value=code_value or (summary.discount_code if stored_error else ""),
        code_error=code_error or stored_error,
        total_cents=summary.subtotal_cents - result.amount_cents,
        checkout_url=checkout_url,
        max_quantity=carts.MAX_QUANTITY,
    )
    response = make_response(body, status)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/cart")
def cart() -> Any:
    return _render_cart(cart_session.current_cart())


def _no_cart() -> Response:
    flash("Your cart is empty: it may have expired. Add the items again.", FLASH_CATEGORY)
    return redirect(url_for("shop.cart"))


def _change_line(change: Callable[[Cart], carts.Change]) -> Response:
    """Apply `change` to this browser's cart (in a savepoint: a refused one leaves it as
    it was), say what came of it, and go back to the cart page."""
    current = cart_session.current_cart()
    if current is None:
        return _no_cart()
    try:
        with atomic():
            done = change(current)
            cart_session.sync_count(current)
    except carts.CartError as error:
        flash(str(error), FLASH_CATEGORY)
    else:
        flash(done.message, FLASH_CATEGORY)
    return redirect(url_for("shop.cart"))


@bp.post("/cart/lines/<int:line_id>")
def cart_update(line_id: int) -> Any:
    def set_quantity(cart: Cart) -> carts.Change:
        quantity = carts.parse_quantity(request.form.get("quantity"), allow_zero=True)
        return carts.set_quantity(cart, line_id, quantity)

    return _change_line(set_quantity)


@bp.post("/cart/lines/<int:line_id>/remove")
def cart_remove(line_id: int) -> Any:
    return _change_line(lambda cart: carts.remove(cart, line_id))


@bp.post("/cart/discount")
def cart_discount() -> Any:
    current = cart_session.current_cart()
    if current is None:
        return _no_cart()
    code = discounts.normalize_code(request.form.get("code"))
    if not code:
        return _render_cart(current, code_error="Enter a discount code.", status=400)
    if limited := limiter().hit("discount-code"):
        return _render_cart(current, code_value=code[:100], code_error=limited.message, status=429)
    if len(code) > discounts.MAX_CODE:
        return _render_cart(
            current, code_value=code[:100], code_error=discounts.UNKNOWN, status=400
        )
    summary = cart_session.summary(current)
    result = discounts.evaluate(
        code, summary, email=current.email or None, codes_allowed=codes_allowed
    )
    if result.discount is None:
        return _render_cart(
            current, summary, code_value=code, code_error=result.message, status=400
        )
    current.discount_code = result.discount.code or ""
    flash(f"Discount code {current.discount_code} applied.", FLASH_CATEGORY)
    return redirect(url_for("shop.cart"))


@bp.post("/cart/discount/remove")
def cart_discount_remove() -> Any:
    current = cart_session.current_cart()
    if current is None:
        return _no_cart()
    if current.discount_code:
        current.discount_code = ""
        flash("Discount code removed.", FLASH_CATEGORY)
    return redirect(url_for("shop.cart"))


@bp.get("/cart/recover/<token>")
def cart_recover(token: str) -> Any:
    """The abandoned-checkout email's link: this cart becomes this browser's cart."""
    found = db.session.scalar(select(Cart).where(Cart.token == token[:64], Cart.order_id.is_(None)))
    if found is None:
        flash(
            "That cart is no longer available: it was checked out or has expired.", FLASH_CATEGORY
        )
        return redirect(url_for("shop.cart"))
    cart_session.remember(found)
    flash("Your cart is back. Check out whenever you are ready.", FLASH_CATEGORY)
    return redirect(url_for("shop.cart"))
