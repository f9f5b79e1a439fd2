"""Checkout: contact and shipping address, shipping method, payment, review, order.

What the shopper has chosen so far (`checkout_state`: a plain dict tied to their cart's
token) is kept by the storefront in their signed, host-bound session
(`tenants.shop.checkout_state`) and handed to these functions; everything money
depends on is priced again from the database at every step (`price`), never taken from
the form or the kept state. The idempotency key of an attempt is made when the
checkout starts and kept until its order exists, so a double click, a reload of the
review page or a retry after a timeout places one order.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from saas.billing.fees import transaction_fee
from saas.email_address import InvalidEmail, validate_email_address
from saas.payments import stripe_api
from saas.tenancy import current_tenant
from tenants.checkout.cart import Summary
from tenants.checkout.models import Cart
from tenants.customers.services import order_by_token
from tenants.discounts import services as discounts
from tenants.geo.addresses import validate_address
from tenants.loyalty import checkout as points_checkout
from tenants.loyalty import points, referrals, tiers
from tenants.orders import emails as order_emails
from tenants.orders.models import (
    PAYMENT_METHOD_LABELS,
    Order,
    OrderEvent,
    PaymentMethod,
    PaymentStatus,
)
from tenants.orders.placement import LineInput, OrderError, OrderInput, Placed, place_order
from tenants.payments import services as payment_settings
from tenants.settings.models import ShopSettings
from tenants.shipping import services as shipping
from tenants.shipping import taxes

PAYMENT_LABELS = {
    **PAYMENT_METHOD_LABELS,
    PaymentMethod.STRIPE: "Card (secure payment page by Stripe)",
}


class CheckoutError(ValueError):
    """Something the shopper must fix; `field` names the form field ("" for the page)."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


# --- what the shopper chose so far ------------------------------------------------------


def checkout_state(cart: Cart, kept: object) -> dict[str, Any]:
    """This cart's checkout so far: `kept` (what the storefront kept of a checkout) if it
    is this cart's, else a fresh one (the cart's token and a new idempotency key)."""
    if isinstance(kept, dict) and kept.get("cart") == cart.token:
        return kept
    return {"cart": cart.token, "key": secrets.token_urlsafe(18)}


# --- steps ---------------------------------------------------------------------------


def save_contact(cart: Cart, form: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
    """Step 1: email and shipping address, onto the cart.

    Returns (errors by field, what to add to the checkout's state): with errors,
    nothing is saved and there is nothing to add.
    """
    address, errors = validate_address(form)
    try:
        email = validate_email_address(form.get("email"))
    except InvalidEmail as invalid:
        errors = {"email": invalid.message, **errors}
    if errors:
        return errors, {}
    cart.email = email
    cart.checkout_started_at = cart.checkout_started_at or datetime.now(UTC)
    return {}, {"email": email, "address": address, "marketing": form.get("marketing") == "1"}


def payment_methods(settings: ShopSettings) -> list[tuple[str, str]]:
    """The methods this shop takes, as (value, label), card first."""
    return [(str(m), PAYMENT_LABELS[m]) for m in payment_settings.offered_methods(settings)]


# --- pricing -------------------------------------------------------------------------


@dataclass
class Priced:
    """The checkout at today's prices: what the review page shows and the order gets."""

    summary: Summary
    discount: discounts.Result
    shipping_options: list[shipping.ShippingOption] = field(default_factory=list)
    shipping: shipping.ShippingOption | None = None
    tax: taxes.TaxResult | None = None
    line_discounts: list[int] = field(default_factory=list)  # the code's and the points'
    shipping_cents: int = 0
    total_cents: int = 0
    tier: tiers.Benefit = field(default_factory=tiers.Benefit)  # a member's tier
    welcome: referrals.Welcome = field(default_factory=referrals.Welcome)  # a friend's link
    points_offer: points_checkout.Offer | None = None  # a signed-in customer's points
    points: points_checkout.Use = field(default_factory=points_checkout.Use)

    @property
    def discount_cents(self) -> int:
        """The discount code's (or automatic discount's) amount; points come apart."""
        return self.discount.amount_cents if self.discount.applied else 0

    @property
    def tax_cents(self) -> int:
        return self.tax.total_cents if self.tax else 0


def price(
    summary: Summary,
    chosen: Mapping[str, Any],
    settings: ShopSettings,
    *,
    codes_allowed: Callable[[], bool] = discounts.plan_allows_codes,
    customer_id: int | None = None,
    referrer_id: int | None = None,
) -> Priced:
    """Discount, shipping options and the chosen one, points, taxes and total, from
    scratch.

    `codes_allowed` says whether the shop's plan takes discount codes (as for
    `discounts.evaluate`: the plan by default, or the page's remembered answer).
    `customer_id`: the signed-in customer. Their member tier's discount comes after the
    discount code, as a percentage of what is left of the items (the rule the shop's
    pages state), and its free shipping joins the code's; their points may then pay
    part of the items (`chosen["points"]`, before taxes; shipping is worked out on the
    items before points, so using points never changes what shipping costs).
    `referrer_id`: whose referral link brought the shopper: a first order gets the
    programme's welcome discount, after the code and the tier.
    """
    email = chosen.get("email")
    code = summary.discount_code or None
    result = discounts.evaluate(code, summary, email, codes_allowed=codes_allowed)
    if summary.discount_code and not result.applied:
        # the code failed: automatic only
        result = discounts.evaluate(None, summary, email, codes_allowed=codes_allowed)
    priced = Priced(summary=summary, discount=result)
    priced.line_discounts = [result.lines.get(line.id, 0) for line in summary.lines]
    after_discount = summary.subtotal_cents - priced.discount_cents
    priced.tier = tiers.benefit(customer_id, after_discount)
    after_discount -= _spread(priced, priced.tier.cents)
    priced.welcome = referrals.welcome(
        referrer_id,
        customer_id=customer_id,
        email=email or "",
        address=chosen.get("address"),
        goods_cents=after_discount,
    )
    after_discount -= _spread(priced, priced.welcome.cents)
    address = chosen.get("address")
    if address:
        priced.shipping_options = shipping.options(
            address, after_discount, summary.weight_grams, settings
        )
        if result.free_shipping or priced.tier.free_shipping:
            priced.shipping_options = [
                shipping.ShippingOption(**{**o.__dict__, "price_cents": 0})
                for o in priced.shipping_options
            ]
        key = chosen.get("shipping")
        priced.shipping = next((o for o in priced.shipping_options if o.key == key), None)
    priced.shipping_cents = priced.shipping.price_cents if priced.shipping else 0
    priced.points_offer = points_checkout.offer(customer_id, after_discount, summary.currency)
    priced.points = points_checkout.use(
        priced.points_offer, int(chosen.get("points") or 0), summary.currency
    )
    after_discount -= _spread(priced, priced.points.cents)
    if address:
        tax_address = (
            shipping.pickup_address(settings)
            if priced.shipping is not None and priced.shipping.is_pickup
            else address
        )
        amounts = [
            line.total_cents - share
            for line, share in zip(summary.lines, priced.line_discounts, strict=True)
        ]
        priced.tax = taxes.compute(amounts, priced.shipping_cents, tax_address, settings)
    added_tax = 0 if (priced.tax is None or priced.tax.included) else priced.tax.total_cents
    priced.total_cents = after_discount + priced.shipping_cents + added_tax
    return priced


def _spread(priced: Priced, cents: int) -> int:
    """Share `cents` more off among the lines, in proportion to what is left of each
    (for taxes and refunds line by line); returns `cents`."""
    if cents:
        lines = zip(priced.summary.lines, priced.line_discounts, strict=True)
        left = {i: line.total_cents - share for i, (line, share) in enumerate(lines)}
        spread = discounts.share(cents, left)
        priced.line_discounts = [share + spread[i] for i, share in enumerate(priced.line_discounts)]
    return cents


# --- placing the order -----------------------------------------------------------------


def order_input(
    priced: Priced,
    chosen: Mapping[str, Any],
    payment_method: str,
    *,
    customer_id: int | None,
    cart: Cart,
    reserved_until: datetime | None = None,
) -> OrderInput:
    summary = priced.summary
    if summary.empty:
        raise CheckoutError("Your cart is empty.")
    if priced.shipping is None:
        raise CheckoutError("Choose a shipping method.", "shipping")
    address = chosen["address"]
    tax_lines = priced.tax.line_cents if priced.tax else [0] * len(summary.lines)
    lines = [
        LineInput(
            variant_id=line.variant_id,
            product_id=line.product_id,
            title=line.title,
            variant_title=line.variant_title,
            sku=line.sku,
            quantity=line.quantity,
            unit_price_cents=line.unit_price_cents,
            discount_cents=share,
            tax_cents=tax,
            weight_grams=line.weight_grams,
        )
        for line, share, tax in zip(summary.lines, priced.line_discounts, tax_lines, strict=True)
    ]
    discount = priced.discount.discount if priced.discount.applied else None

    return OrderInput(
        idempotency_key=f"{cart.token}:{chosen['key']}",
        email=chosen["email"],
        currency=summary.currency,
        lines=lines,
        payment_method=payment_method,
        subtotal_cents=summary.subtotal_cents,
        discount_cents=(
            priced.discount_cents + priced.tier.cents + priced.welcome.cents + priced.points.cents
        ),
        referrer_id=priced.welcome.referrer_id if priced.welcome.cents else None,
        referral_discount_cents=priced.welcome.cents,
        tier_name=priced.tier.name if priced.tier.cents else "",
        tier_discount_cents=priced.tier.cents,
        points_redeemed=priced.points.points,
        points_discount_cents=priced.points.cents,
        shipping_cents=priced.shipping_cents,
        tax_cents=priced.tax_cents,
        taxes_included=bool(priced.tax and priced.tax.included),
        tax_lines=priced.tax.lines if priced.tax else [],
        total_cents=priced.total_cents,
        customer_id=customer_id,
        customer_name=address.get("name", ""),
        phone=address.get("phone", ""),
        discount_id=discount.id if discount is not None else None,
        discount_code=discount.code if discount is not None else None,
        shipping_method=priced.shipping.name,
        shipping_address=dict(address),
        billing_address=dict(address),
        reserved_until=reserved_until,
    )


class PointsUnavailable(OrderError):
    def __init__(self) -> None:
        super().__init__(
            "Your points were just used on another order. Your order was not placed: "
            "check your points and try again."
        )


def place(data: OrderInput, cart: Cart) -> Placed:
    """Place the order and close the cart it came from, in one unit of work; its
    confirmation and the merchant's notice are mailed by jobs (for a card payment, once
    Stripe confirms it: `tenants.orders.card_payments`)."""
    placed = place_order(data)
    spent = placed.created and data.points_redeemed and data.customer_id is not None
    if spent and not points.redeem(data.customer_id or 0, data.points_redeemed, placed.order):
        raise PointsUnavailable()  # the caller's savepoint undoes the order
    if spent:
        placed.order.events.append(
            OrderEvent(
                kind="points",
                message=f"Loyalty points: {data.points_redeemed:,} spent on this order.",
                actor="customer",
            )
        )
    if placed.created:
        cart.order_id = placed.order.id
    if placed.created and data.payment_method != PaymentMethod.STRIPE:
        order_emails.queue(placed.order, PLACED_EMAILS)  # queued once the order commits
    return placed


PLACED_EMAILS = ("order_confirmation", "new_order_notice")


# --- paying on Stripe's hosted Checkout ---------------------------------------------------

# How long stock is held for a shopper on Stripe's page (Stripe's minimum session life).
STRIPE_HOLD = timedelta(minutes=30)


def order_to_pay(token: str) -> Order | None:
    """The order a status link names, if it waits for a card payment on Stripe."""
    order = order_by_token(token)
    if (
        order is None
        or order.payment_method != PaymentMethod.STRIPE
        or order.payment_status != PaymentStatus.PENDING
    ):
        return None
    return order


def stripe_session(order: Order, account_id: str, success_url: str, cancel_url: str) -> str:
    """Open a Stripe Checkout Session for an order placed as "payment pending" (its stock
    held until `reserved_until`); the URL of Stripe's page. One line for the order's
    total: discounts and included taxes are already in it, and Stripe takes no
    negative lines. The order's id rides in the metadata for the webhook."""
    opened = stripe_api.create_checkout_session(
        account_id,
        [stripe_api.LineItem(f"Order {order.name}", order.total_cents, 1, order.currency.lower())],
        success_url=success_url,
        cancel_url=cancel_url,
        metadata={"order_id": str(order.id), "order_number": str(order.number)},
        idempotency_key=f"order-{order.id}-checkout",
        expires_at=order.reserved_until,
        customer_email=order.email,
        client_reference_id=str(order.id),
        application_fee_amount=transaction_fee(current_tenant.id, order.total_cents),
    )
    order.stripe_checkout_session_id = opened.id
    if not opened.url:  # a fresh session always has one; be explicit if Stripe disagrees
        raise stripe_api.StripeFailure("Stripe did not return a payment page.")
    return opened.url
