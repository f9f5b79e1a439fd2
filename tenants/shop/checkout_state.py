"""What the shopper has chosen so far at checkout, kept in their Flask session.

The session is signed and bound to its host (`saas.sessions`); the state is a plain
dict tied to the cart's token (`tenants.checkout.services.checkout_state`), so a state
kept for another cart reads as a fresh checkout.
"""

from __future__ import annotations

from typing import Any

from flask import session

from tenants.checkout import services as checkout
from tenants.checkout.models import Cart

SESSION_KEY = "checkout"


def state(cart: Cart) -> dict[str, Any]:
    """This cart's checkout so far (a fresh one if the session holds another cart's)."""
    kept = session.get(SESSION_KEY)
    current = checkout.checkout_state(cart, kept)
    if current is not kept:
        session[SESSION_KEY] = current
    return current


def save(cart: Cart, **values: Any) -> None:
    current = dict(state(cart))
    current.update(values)
    session[SESSION_KEY] = current  # a new dict: the session notices the change


def finish() -> None:
    session.pop(SESSION_KEY, None)
