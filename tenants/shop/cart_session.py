"""Which cart is this browser's: its token and item count, kept in the Flask session.

The browser holds only the cart's random token, in its session under `TOKEN_KEY`.
Sessions are signed, and signed per host (`saas.sessions`), so a cookie that was
tampered with, or copied from another shop, reads as an empty session: no cart. The
cart itself, and everything done to it, is `tenants.checkout.cart`.

Next to the token the session keeps `COUNT_KEY`, the number of items, so every page's
mini-cart shows it without a query. It is rewritten whenever this browser changes the
cart or its summary is computed (`sync_count`, `summary`). A visitor without a cart
has neither key: their pages stay shareable and come from the page cache.
"""

from __future__ import annotations

from flask import session, url_for

from tenants.checkout import cart as carts
from tenants.checkout.models import Cart

TOKEN_KEY = "cart_token"  # noqa: S105 (a session key, not a secret)
COUNT_KEY = "cart_count"


def current_cart(create: bool = False) -> Cart | None:
    """This browser's open cart in the current shop; a new one if `create` and none.

    Call inside a shop request. With `create`, the new cart's token goes into the
    session (which makes the visitor's pages personal, as a cart should). A token
    naming no open cart (checked out, deleted) is dropped from the session.
    """
    token = session.get(TOKEN_KEY)
    cart = carts.open_cart(token)
    if cart is None and token is not None:
        forget()
    if cart is None and create:
        cart = carts.new_cart()
        session[TOKEN_KEY] = cart.token
        session[COUNT_KEY] = 0
    return cart


def remember(cart: Cart) -> None:
    """Make `cart` this browser's cart (its token and item count into the session)."""
    session[TOKEN_KEY] = cart.token
    session[COUNT_KEY] = carts.count(cart)


def forget() -> None:
    """This browser has no cart any more (e.g. once its order is placed)."""
    for key in (TOKEN_KEY, COUNT_KEY):
        if key in session:  # popping a missing key would still rewrite the cookie
            session.pop(key)


def session_count() -> int:
    """The mini-cart's number, from the session alone (no query; 0 without a cart)."""
    value = session.get(COUNT_KEY)
    return value if isinstance(value, int) and value > 0 else 0


def _holds(cart: Cart) -> bool:
    """Whether `cart` is this browser's cart."""
    return session.get(TOKEN_KEY) == cart.token


def sync_count(cart: Cart, value: int | None = None) -> None:
    """Keep the session's item count right after `cart` changed, when it is this
    browser's cart (`value`: the count if known, else it is counted)."""
    if not _holds(cart):
        return
    value = carts.count(cart) if value is None else value
    if session.get(COUNT_KEY) != value:  # an unchanged session is not rewritten
        session[COUNT_KEY] = value


def _media_url(name: str) -> str:
    return url_for("shop.media", filename=name)


def summary(cart: Cart | None) -> carts.Summary:
    """`carts.summary` of a cart for this browser's pages: image URLs on this shop's
    media route, and the count the browser was last shown (to tell it when items
    vanished); the session's count follows the summary."""
    remembered = session.get(COUNT_KEY) if cart is not None and _holds(cart) else None
    result = carts.summary(cart, media_url=_media_url, remembered_count=remembered)
    if cart is not None:
        sync_count(cart, result.item_count)
    return result


def claim_for_customer(anonymous: Cart | None, customer_id: int) -> tuple[Cart | None, list[str]]:
    """At login: give the customer one cart (`carts.claim_for_customer`), and make it
    this browser's.

    `anonymous` is what `current_cart()` returned *before* the session was cleared
    for the login (`saas.auth.start_session` clears it). Call this after the customer
    is logged in, in the same request:

        cart_before = cart_session.current_cart()
        start_session(customer)
        _, messages = cart_session.claim_for_customer(cart_before, customer.id)

    Returns the cart (None if there is none at all) and the merge's messages.
    """
    cart, messages = carts.claim_for_customer(anonymous, customer_id)
    if cart is not None:
        remember(cart)
    return cart, messages
