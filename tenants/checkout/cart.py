"""The shopper's cart: kept on the server, one per browser (and per customer), per shop.

The browser holds only the cart's random token (and its item count, for the mini-cart):
keeping them in the browser's session is the storefront's job
(`tenants.shop.cart_session`), which hands the token to `open_cart` and recounts after
each change made here. Even a token copied by hand into another shop's session finds
nothing there, since each shop's carts live in its own schema.

Quantities are checked against stock whenever they change and again in every
`summary()`; prices are never stored in the cart, they are read from the catalog on
each `summary()`. Functions here flush; the caller commits (or rolls back on
`CartError`).
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Select, bindparam, delete, func, select, true
from sqlalchemy.orm import aliased

from saas.db import db
from tenants.catalog.cards import first_image_lateral
from tenants.catalog.models import Product, ProductImage, ProductStatus, ProductVariant
from tenants.checkout.models import Cart, CartLine
from tenants.settings.services import get_settings

MAX_TOKEN = 64  # longer is not a token of ours
MAX_QUANTITY = 999  # of one item; more is a typo or a script, not a shopper
MAX_LINES = 100  # different items in one cart
THUMB_WIDTH = 320  # the resize job's smallest copy; shown at about 80 px, sharp on 4x screens


class CartError(ValueError):
    """A change that was refused; the message is for the shopper, and nothing changed."""


@dataclass(frozen=True)
class Change:
    """What `add` / `set_quantity` / `remove` did."""

    line: CartLine | None  # None: the line is gone
    quantity: int  # what the cart now holds of that item
    message: str  # tell the shopper
    limited: bool = False  # less than asked for (stock, or the per-item maximum)


@dataclass(frozen=True)
class Problem:
    """Something `summary()` had to change in the cart, to tell the shopper."""

    title: str  # the item ("Mug (Blue)"), or "" for the cart as a whole
    message: str
    variant_id: int | None = None


@dataclass(frozen=True)
class Line:
    """One line of a summary, at today's price."""

    id: int  # the CartLine id (set_quantity / remove take it)
    variant_id: int
    product_id: int
    handle: str
    title: str  # the product's
    variant_title: str  # "Blue / M"; "" for a product without options
    sku: str
    unit_price_cents: int
    compare_at_cents: int | None
    quantity: int
    total_cents: int
    weight_grams: int  # of the whole line
    max_quantity: int  # most the shopper may have (stock, or MAX_QUANTITY)
    image: ProductImage | None
    image_src: str = ""

    @property
    def name(self) -> str:
        return f"{self.title} ({self.variant_title})" if self.variant_title else self.title


@dataclass
class Summary:
    """A cart as the shopper should see it now. Money in the shop's minor units."""

    cart: Cart | None
    currency: str
    lines: list[Line] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    subtotal_cents: int = 0
    weight_grams: int = 0
    item_count: int = 0

    @property
    def empty(self) -> bool:
        return not self.lines

    @property
    def discount_code(self) -> str:
        return self.cart.discount_code if self.cart is not None else ""


# --- finding and opening carts ---------------------------------------------------------


def open_cart(token: object) -> Cart | None:
    """The open cart (not checked out) this token names in the current shop, if any.

    `token` is whatever the browser sent: anything but a plausible token finds nothing.
    """
    if not (isinstance(token, str) and 0 < len(token) <= MAX_TOKEN):
        return None
    return db.session.scalar(select(Cart).where(Cart.token == token, Cart.order_id.is_(None)))


def new_cart() -> Cart:
    """A new empty cart with a fresh random token (flushed)."""
    cart = Cart(token=secrets.token_urlsafe(32))
    db.session.add(cart)
    db.session.flush()
    return cart


def count(cart: Cart) -> int:
    """How many items the cart holds (the sum of its quantities)."""
    total = db.session.scalar(
        select(func.coalesce(func.sum(CartLine.quantity), 0)).where(CartLine.cart_id == cart.id)
    )
    return int(total or 0)


def customer_cart(customer_id: int) -> Cart | None:
    """The customer's most recent open cart, if any."""
    return db.session.scalar(
        select(Cart)
        .where(Cart.customer_id == customer_id, Cart.order_id.is_(None))
        .order_by(Cart.updated_at.desc(), Cart.id.desc())
        .limit(1)
    )


# --- quantities and stock --------------------------------------------------------------


def parse_quantity(text: str | None, *, allow_zero: bool = False) -> int:
    """A quantity typed by a shopper; CartError with a message if it is not one."""
    text = (text or "").strip()
    if text.startswith("-") and text[1:].isdigit():
        raise CartError("Choose a quantity of 1 or more.")
    if not (text.isascii() and text.isdigit()):
        raise CartError("Enter the quantity as a whole number, like 1 or 2.")
    if len(text) > 6:  # absurd, and no need to turn a huge number into an int
        raise CartError(f"You can buy at most {MAX_QUANTITY} of an item.")
    quantity = int(text)
    check_quantity(quantity, allow_zero=allow_zero)
    return quantity


def check_quantity(quantity: int, *, allow_zero: bool = False) -> None:
    if quantity < 0 or (quantity == 0 and not allow_zero):
        raise CartError("Choose a quantity of 1 or more.")
    if quantity > MAX_QUANTITY:
        raise CartError(f"You can buy at most {MAX_QUANTITY} of an item.")


def limit_of(variant: ProductVariant, product: Product) -> int:
    """Most of this variant one cart may hold: its stock when stock is tracked and the
    product does not keep selling when out of stock, else MAX_QUANTITY."""
    if variant.inventory_tracked and not product.continue_selling:
        return max(0, min(variant.inventory_quantity, MAX_QUANTITY))
    return MAX_QUANTITY


def limit_message(limit: int, have: int) -> str:
    if limit >= MAX_QUANTITY:
        return f"You can buy at most {MAX_QUANTITY} of an item: your cart has {have}."
    return f"Only {limit} left: your cart has {have}."


def _has_options(variant: ProductVariant) -> bool:
    return bool(variant.option1 or variant.option2 or variant.option3)


def _name(product: Product, variant: ProductVariant) -> str:
    return f"{product.title} ({variant.title})" if _has_options(variant) else product.title


def _lock(cart: Cart) -> None:
    """Changes to one cart take turns (two tabs, a double click): the quantity read is
    the quantity changed."""
    db.session.execute(select(Cart.id).where(Cart.id == cart.id).with_for_update())


def _sellable_variant(variant_id: int) -> tuple[ProductVariant, Product]:
    variant = db.session.get(ProductVariant, variant_id) if 0 < variant_id < 2**31 else None
    if variant is None or variant.product.status != ProductStatus.ACTIVE:
        raise CartError("Sorry, this product is no longer available.")
    return variant, variant.product


def add(cart: Cart, variant_id: int, quantity: int) -> Change:
    """Put `quantity` more of a variant in the cart, as much as stock allows.

    Returns what the cart now holds; `limited` (with the message saying how many are
    left) when less than asked could be added. Raises CartError, changing nothing, for a
    quantity below 1 or above MAX_QUANTITY, a product that is not for sale, one sold
    out, a full cart (MAX_LINES items), or when the cart already holds all there is.
    """
    check_quantity(quantity)
    variant, product = _sellable_variant(variant_id)
    name = _name(product, variant)
    _lock(cart)
    line = db.session.scalar(
        select(CartLine).where(CartLine.cart_id == cart.id, CartLine.variant_id == variant.id)
    )
    have = line.quantity if line is not None else 0
    limit = limit_of(variant, product)
    if limit == 0:
        raise CartError(f"Sorry, {name} is sold out.")
    if line is None:
        lines = db.session.scalar(
            select(func.count()).select_from(CartLine).where(CartLine.cart_id == cart.id)
        )
        if (lines or 0) >= MAX_LINES:
            raise CartError(
                f"Your cart can hold at most {MAX_LINES} different items. "
                "Remove something before adding more."
            )
    wanted = have + quantity
    new = min(wanted, limit)
    if new == have:
        raise CartError(limit_message(limit, have))
    # new < have too: stock fell since the line was filled, and the line comes down to it.
    if line is None:
        line = CartLine(cart_id=cart.id, variant_id=variant.id, quantity=new)
        db.session.add(line)
    else:
        line.quantity = new
    cart.updated_at = datetime.now(UTC)
    db.session.flush()
    if new < wanted:
        return Change(line, new, limit_message(limit, new), limited=True)
    added = f"{name} (quantity {quantity})" if quantity > 1 else name
    return Change(line, new, f"{added} added to your cart.")


def _own_line(cart: Cart, line_id: int) -> CartLine:
    line = None
    if 0 < line_id < 2**31:
        line = db.session.scalar(
            select(CartLine).where(CartLine.id == line_id, CartLine.cart_id == cart.id)
        )
    if line is None:
        raise CartError("That item is no longer in your cart.")
    return line


def set_quantity(cart: Cart, line_id: int, quantity: int) -> Change:
    """Change a line's quantity (0 removes it), capped by stock.

    A line whose product is no longer for sale, or is sold out, is removed instead
    (`limited`, and the message says why). Raises CartError, changing nothing, for a
    negative or absurd quantity or a line not in this cart.
    """
    check_quantity(quantity, allow_zero=True)
    _lock(cart)
    line = _own_line(cart, line_id)
    variant = db.session.get(ProductVariant, line.variant_id)
    if variant is None:  # deleted meanwhile: its line goes with it
        return _drop(cart, line, "That item is no longer available and was removed.")
    product = variant.product
    name = _name(product, variant)
    if quantity == 0:
        return _drop(cart, line, f"{name} was removed from your cart.", limited=False)
    if product.status != ProductStatus.ACTIVE:
        return _drop(cart, line, f"{name} is no longer available and was removed from your cart.")
    limit = limit_of(variant, product)
    if limit == 0:
        return _drop(cart, line, f"{name} is sold out and was removed from your cart.")
    new = min(quantity, limit)
    line.quantity = new
    cart.updated_at = datetime.now(UTC)
    db.session.flush()
    if new < quantity:
        return Change(line, new, limit_message(limit, new), limited=True)
    return Change(line, new, f"{name}: quantity updated to {new}.")


def remove(cart: Cart, line_id: int) -> Change:
    """Take a line out of the cart. CartError if it is not (or no longer) there."""
    _lock(cart)
    line = _own_line(cart, line_id)
    variant = db.session.get(ProductVariant, line.variant_id)
    name = _name(variant.product, variant) if variant is not None else "The item"
    return _drop(cart, line, f"{name} was removed from your cart.", limited=False)


def _drop(cart: Cart, line: CartLine, message: str, *, limited: bool = True) -> Change:
    db.session.delete(line)
    cart.updated_at = datetime.now(UTC)
    db.session.flush()
    return Change(None, 0, message, limited=limited)


def merge(from_cart: Cart, into_cart: Cart) -> list[str]:
    """Move everything in `from_cart` into `into_cart`, then delete `from_cart`.

    For the login view: the cart the visitor filled before logging in (`from_cart`)
    joins the customer's own cart (`into_cart`); see `claim_for_customer`, which does
    the whole dance. Quantities of the same item add up, capped by stock and
    MAX_QUANTITY; items no longer for sale, and items beyond MAX_LINES, are left out.
    `into_cart` keeps its discount code and email, or takes `from_cart`'s if it has
    none. A browser that held `from_cart` should be given `into_cart` (the caller's
    job). Flushes; the caller commits.

    Returns messages about what could not be merged (for flashing; usually none).
    """
    if from_cart.id == into_cart.id:
        return []
    for cart in sorted((from_cart, into_cart), key=lambda c: c.id):  # a fixed lock order
        _lock(cart)
    messages: list[str] = []
    existing = {
        line.variant_id: line
        for line in db.session.scalars(select(CartLine).where(CartLine.cart_id == into_cart.id))
    }
    incoming = db.session.scalars(
        select(CartLine).where(CartLine.cart_id == from_cart.id).order_by(CartLine.id)
    ).all()
    for line in incoming:
        variant = db.session.get(ProductVariant, line.variant_id)
        if variant is None or variant.product.status != ProductStatus.ACTIVE:
            continue  # the summary of a cart never shows such an item either
        name = _name(variant.product, variant)
        limit = limit_of(variant, variant.product)
        target = existing.get(variant.id)
        wanted = line.quantity + (target.quantity if target is not None else 0)
        new = min(wanted, limit)
        if new < wanted:
            messages.append(f"{name}: {limit_message(limit, new)}")
        if new == 0:
            continue
        if target is not None:
            target.quantity = new
        elif len(existing) >= MAX_LINES:
            messages.append(f"{name} did not fit: a cart holds at most {MAX_LINES} items.")
        else:
            existing[variant.id] = target = CartLine(
                cart_id=into_cart.id, variant_id=variant.id, quantity=new
            )
            db.session.add(target)
    into_cart.discount_code = into_cart.discount_code or from_cart.discount_code
    into_cart.email = into_cart.email or from_cart.email
    into_cart.updated_at = datetime.now(UTC)
    db.session.delete(from_cart)
    db.session.flush()
    return messages


def claim_for_customer(anonymous: Cart | None, customer_id: int) -> tuple[Cart | None, list[str]]:
    """At login: give the customer one cart, the one their browser should hold now.

    `anonymous` is the browser's cart from *before* the session was cleared for the
    login (`saas.auth.start_session` clears it); the storefront then makes the cart
    returned here the browser's (`tenants.shop.cart_session.claim_for_customer` does
    both).

    The anonymous cart is merged into the customer's saved cart (or becomes theirs if
    they had none); a customer with a saved cart and an empty browser gets it back.
    Returns the cart (None if there is none at all) and `merge`'s messages.
    """
    saved = customer_cart(customer_id)
    if anonymous is not None and anonymous.order_id is None:
        if saved is not None and saved.id != anonymous.id:
            return saved, merge(anonymous, saved)
        anonymous.customer_id = customer_id
        db.session.flush()
        return anonymous, []
    return saved, []


# --- what the cart holds now -----------------------------------------------------------


@functools.cache
def _lines_statement() -> Select[CartLine, ProductVariant, Product, ProductImage, ProductImage]:
    """Lines with their variant, product and pictures (the variant's own image and the
    product's first one, by a lateral join as product cards do), in one query. Built
    once: composing it costs more than running it."""
    first = first_image_lateral()
    first_image = aliased(ProductImage, first)
    own_image = aliased(ProductImage, name="own_image")
    return (
        select(CartLine, ProductVariant, Product, own_image, first_image)
        .join(ProductVariant, ProductVariant.id == CartLine.variant_id)
        .join(Product, Product.id == ProductVariant.product_id)
        .outerjoin(first, true())
        .outerjoin(own_image, own_image.id == ProductVariant.image_id)
        .where(CartLine.cart_id == bindparam("cart_id"))
        .order_by(CartLine.id)
    )


def summary(
    cart: Cart | None,
    *,
    media_url: Callable[[str], str] | None = None,
    remembered_count: int | None = None,
) -> Summary:
    """The cart at today's prices and stock, with totals and what had to change.

    Lines whose product is no longer for sale, or sold out, are removed; quantities
    above the stock left are lowered to it: each such change is a `Problem` to show
    the shopper (once: the cart is fixed, flushed, and the caller commits). Lines
    whose variant was deleted vanish with it (the database cascades); when that
    leaves fewer items than `remembered_count` (the count the browser was last shown,
    for the browser's own cart), a general problem says so.

    `media_url` turns an image file name into its URL (without it, lines have no
    `image_src`).
    """
    currency = get_settings().currency
    result = Summary(cart=cart, currency=currency)
    if cart is None:
        return result
    rows = db.session.execute(_lines_statement(), {"cart_id": cart.id}).all()
    stored_items = 0
    changed = False
    for line, variant, product, own_image, first_image in rows:
        stored_items += line.quantity
        name = _name(product, variant)
        if product.status != ProductStatus.ACTIVE:
            result.problems.append(
                Problem(
                    name,
                    f"{name} is no longer available and was removed from your cart.",
                    variant.id,
                )
            )
            db.session.delete(line)
            changed = True
            continue
        limit = limit_of(variant, product)
        if limit == 0:
            result.problems.append(
                Problem(name, f"{name} is sold out and was removed from your cart.", variant.id)
            )
            db.session.delete(line)
            changed = True
            continue
        if line.quantity > limit:
            line.quantity = limit
            changed = True
            result.problems.append(Problem(name, limit_message(limit, limit), variant.id))
        image = own_image or first_image
        result.lines.append(
            Line(
                id=line.id,
                variant_id=variant.id,
                product_id=product.id,
                handle=product.handle,
                title=product.title,
                variant_title=variant.title if _has_options(variant) else "",
                sku=variant.sku or "",
                unit_price_cents=variant.price_cents,
                compare_at_cents=variant.compare_at_cents,
                quantity=line.quantity,
                total_cents=variant.price_cents * line.quantity,
                weight_grams=(variant.weight_grams or 0) * line.quantity,
                max_quantity=limit,
                image=image,
                image_src=(
                    media_url(image.sized(THUMB_WIDTH))
                    if media_url is not None and image is not None
                    else ""
                ),
            )
        )
    result.subtotal_cents = sum(line.total_cents for line in result.lines)
    result.weight_grams = sum(line.weight_grams for line in result.lines)
    result.item_count = sum(line.quantity for line in result.lines)
    if (
        isinstance(remembered_count, int)
        and remembered_count > stored_items
        and not result.problems
    ):
        result.problems.append(
            Problem("", "Some items in your cart are no longer available and were removed.")
        )
    if changed:
        cart.updated_at = datetime.now(UTC)
        db.session.flush()
    return result


def clear(cart: Cart) -> None:
    """Empty the cart (its lines), keeping the cart itself (a browser holding it now
    counts 0 items)."""
    db.session.execute(delete(CartLine).where(CartLine.cart_id == cart.id))
