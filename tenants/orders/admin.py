"""What merchants do to orders: mark paid, fulfil with tracking, mark delivered, cancel
(with restock), refund, add notes. Every change lands in the order's timeline with who
made it; the shopper is emailed by a job after the commit (`order_emails`).

Functions flush and return the email kinds to send; the caller commits, then calls
`order_emails.queue(order, kinds)`. They lock the order row first (`locked`), so two
members of staff pressing buttons at once apply one after the other, each against the
state the other left.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from urllib.parse import quote, urlsplit

from sqlalchemy import ColumnElement, Select, func, or_, select, update

from saas.db import db
from saas.money import format_money
from saas.payments import stripe_api
from tenants import signals
from tenants.catalog.models import AdjustmentReason, InventoryAdjustment, Product, ProductVariant
from tenants.orders import attention
from tenants.orders.models import (
    Fulfillment,
    FulfillmentStatus,
    Order,
    OrderEvent,
    PaymentMethod,
    PaymentStatus,
    Refund,
)
from tenants.settings.services import get_settings

MAX_NOTE = 1000
# Tracking pages of common carriers, so a tracking number alone gives shoppers a link.
CARRIERS = {
    "UPS": "https://www.ups.com/track?tracknum={}",
    "USPS": "https://tools.usps.com/go/TrackConfirmAction?tLabels={}",
    "FedEx": "https://www.fedex.com/fedextrack/?trknbr={}",
    "DHL": "https://www.dhl.com/global-en/home/tracking.html?tracking-id={}",
    "Royal Mail": "https://www.royalmail.com/track-your-item#/tracking-results/{}",
    "La Poste": "https://www.laposte.fr/outils/suivre-vos-envois?code={}",
    "Canada Post": "https://www.canadapost-postescanada.ca/track-reperage/en#/details/{}",
    "Australia Post": "https://auspost.com.au/mypost/track/details/{}",
}
_TRACKING = re.compile(r"^[A-Za-z0-9 -]{4,60}$")


class OrderActionError(ValueError):
    """An action that cannot be done to this order; `field` names the form field."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


def locked(order_id: int) -> Order | None:
    """The order, its row locked until the transaction ends."""
    return db.session.scalar(
        select(Order)
        .where(Order.id == order_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def _event(order: Order, kind: str, message: str, staff_id: int | None, **detail: object) -> None:
    order.events.append(
        OrderEvent(
            kind=kind,
            message=message,
            detail=dict(detail),
            staff_id=staff_id,
            actor="staff" if staff_id else "system",
        )
    )


def _refuse_if_cancelled(order: Order) -> None:
    if order.cancelled_at is not None:
        raise OrderActionError("This order is cancelled.")


def mark_paid(order: Order, *, staff_id: int | None, via: str = "") -> list[str]:
    """An offline payment received (or Stripe's confirmation, with `via="stripe"`)."""
    _refuse_if_cancelled(order)
    if order.payment_status != PaymentStatus.PENDING:
        raise OrderActionError(f"This order is already {order.payment_status.replace('_', ' ')}.")
    order.payment_status = PaymentStatus.PAID
    order.paid_at = datetime.now(UTC)
    order.reserved_until = None
    how = "through Stripe" if via == "stripe" else "marked as paid"
    _event(order, "paid", f"Payment of the order total received ({how}).", staff_id)
    db.session.flush()
    signals.order_paid.send(order)
    return ["payment_received"]


def late_payment(order: Order) -> None:
    """Money arrived for an order already cancelled (its card payment came after the
    hold ran out): recorded as paid, and said so, for the merchant to refund or ship."""
    order.payment_status = PaymentStatus.PAID
    order.paid_at = datetime.now(UTC)
    _event(
        order,
        "paid",
        "Payment received through Stripe after the order was cancelled: refund it, or "
        "contact the customer.",
        None,
    )
    db.session.flush()


def tracking_link(carrier: str, number: str, url: str) -> str:
    """The link shoppers get: the one typed, else the carrier's page for the number."""
    if url:
        return url
    pattern = CARRIERS.get(carrier)
    return pattern.format(quote(number.replace(" ", ""))) if pattern and number else ""


def _clean_tracking(form: Mapping[str, str]) -> tuple[str, str, str]:
    carrier = " ".join((form.get("carrier") or "").split())[:100]
    number = " ".join((form.get("tracking_number") or "").split())
    url = (form.get("tracking_url") or "").strip()
    if number and not _TRACKING.match(number):
        raise OrderActionError(
            "A tracking number has 4 to 60 letters, digits, spaces or dashes.", "tracking_number"
        )
    if url:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > 500:
            raise OrderActionError(
                "Enter the tracking page's full address, starting with https://.", "tracking_url"
            )
    return carrier, number, tracking_link(carrier, number, url)


def fulfil(
    order: Order, quantities: Mapping[int, int], form: Mapping[str, str], *, staff_id: int | None
) -> list[str]:
    """Ship `quantities` ({line id: quantity}; empty: everything left) with tracking."""
    _refuse_if_cancelled(order)
    carrier, number, url = _clean_tracking(form)
    remaining = {line.id: line.quantity - line.fulfilled_quantity for line in order.lines}
    wanted = dict(quantities) or {k: v for k, v in remaining.items() if v > 0}
    for line_id, quantity in wanted.items():
        if line_id not in remaining:
            raise OrderActionError("That item is not part of this order.", "quantity")
        if quantity < 0 or quantity > remaining[line_id]:
            raise OrderActionError(
                f"Ship between 0 and {remaining[line_id]} of that item.", f"quantity-{line_id}"
            )
    shipped = {k: v for k, v in wanted.items() if v > 0}
    if not shipped:
        raise OrderActionError("Everything in this order has already been shipped.", "quantity")
    for line in order.lines:
        line.fulfilled_quantity += shipped.get(line.id, 0)
    order.fulfillments.append(
        Fulfillment(
            carrier=carrier,
            tracking_number=number,
            tracking_url=url,
            lines=[{"line_id": k, "quantity": v} for k, v in shipped.items()],
        )
    )
    done = all(line.fulfilled_quantity == line.quantity for line in order.lines)
    order.fulfillment_status = (
        FulfillmentStatus.FULFILLED if done else FulfillmentStatus.PARTIALLY_FULFILLED
    )
    units = sum(shipped.values())
    via = f" with {carrier}" if carrier else ""
    _event(
        order,
        "fulfilled",
        f"{units} item{'s' if units != 1 else ''} shipped{via}"
        + (f", tracking {number}." if number else "."),
        staff_id,
        tracking_number=number,
        tracking_url=url,
    )
    db.session.flush()
    return ["shipping_confirmation"]


def mark_delivered(order: Order, *, staff_id: int | None) -> list[str]:
    _refuse_if_cancelled(order)
    if order.fulfillment_status != FulfillmentStatus.FULFILLED:
        raise OrderActionError("Only an order shipped in full can be marked as delivered.")
    now = datetime.now(UTC)
    for fulfillment in order.fulfillments:
        fulfillment.delivered_at = fulfillment.delivered_at or now
    order.fulfillment_status = FulfillmentStatus.DELIVERED
    _event(order, "delivered", "Marked as delivered.", staff_id)
    db.session.flush()
    return []


def _restock(order: Order, staff_id: int | None) -> int:
    """Give back the stock this order took and has not shipped; units returned."""
    returned = 0
    for line in order.lines:
        quantity = line.quantity - line.fulfilled_quantity - line.restocked_quantity
        if not line.stock_taken or quantity <= 0 or line.variant_id is None:
            continue
        left = db.session.execute(
            update(ProductVariant)
            .where(ProductVariant.id == line.variant_id)
            .values(inventory_quantity=ProductVariant.inventory_quantity + quantity)
            .returning(ProductVariant.inventory_quantity, ProductVariant.product_id)
            .execution_options(synchronize_session=False)
        ).first()
        if left is None:  # the variant was deleted since
            continue
        db.session.execute(
            update(Product)
            .where(Product.id == left[1], Product.inventory_quantity.is_not(None))
            .values(inventory_quantity=Product.inventory_quantity + quantity)
            .execution_options(synchronize_session=False)
        )
        db.session.add(
            InventoryAdjustment(
                variant_id=line.variant_id,
                delta=quantity,
                quantity_after=left[0],
                reason=AdjustmentReason.RETURNED,
                note=f"Order #{order.number} cancelled",
                staff_id=staff_id,
            )
        )
        line.restocked_quantity += quantity
        returned += quantity
    return returned


def _stripe_refund(order: Order, amount: int) -> str | None:
    """Give a card payment back through Stripe first; the refund's id (None: offline).

    The idempotency key names the order's refund state, so a retried request (a double
    click, a commit that failed after Stripe said yes) makes one refund, not two.
    """
    if order.payment_method != PaymentMethod.STRIPE or not order.stripe_payment_intent_id:
        return None
    account = get_settings().stripe_account_id
    if not account:
        raise OrderActionError("Connect your Stripe account again to refund a card payment.")
    try:
        done = stripe_api.refund(
            account,
            order.stripe_payment_intent_id,
            amount,
            f"order-{order.id}-refund-{order.refunded_cents}-{amount}",
            metadata={"order_id": str(order.id)},
        )
    except stripe_api.StripeFailure as error:
        raise OrderActionError(
            f"Stripe could not refund this payment: {error}", "amount"
        ) from error
    return done.id


def _add_refund(order: Order, amount: int, reason: str, staff_id: int | None) -> None:
    stripe_refund_id = _stripe_refund(order, amount)
    order.refunded_cents += amount
    order.payment_status = (
        PaymentStatus.REFUNDED
        if order.refunded_cents >= order.total_cents
        else PaymentStatus.PARTIALLY_REFUNDED
    )
    db.session.add(
        Refund(
            order_id=order.id,
            amount_cents=amount,
            reason=reason,
            staff_id=staff_id,
            stripe_refund_id=stripe_refund_id,
        )
    )


def refundable(order: Order) -> int:
    if order.payment_status not in (PaymentStatus.PAID, PaymentStatus.PARTIALLY_REFUNDED):
        return 0
    return order.total_cents - order.refunded_cents


def refund(order: Order, amount_cents: int, reason: str, *, staff_id: int | None) -> list[str]:
    """Give money back: card payments through Stripe (the shop's connected account),
    offline ones recorded as done by the merchant."""
    most = refundable(order)
    if most == 0:
        raise OrderActionError("Only a paid order can be refunded.", "amount")
    if amount_cents <= 0 or amount_cents > most:
        raise OrderActionError("Refund more than nothing and at most what is left.", "amount")
    reason = " ".join((reason or "").split())[:200]
    _add_refund(order, amount_cents, reason, staff_id)
    _event(
        order,
        "refunded",
        f"Refunded {format_money(amount_cents, order.currency)}"
        + (f": {reason}" if reason else "."),
        staff_id,
        amount_cents=amount_cents,
    )
    db.session.flush()
    signals.order_refunded.send(order)
    return ["refund"]


def cancel(
    order: Order, *, reason: str, restock: bool, refund_payment: bool, staff_id: int | None
) -> list[str]:
    """Cancel: stock back if asked, money back if asked and paid, unpaid payments voided."""
    _refuse_if_cancelled(order)
    if order.fulfillment_status in (FulfillmentStatus.FULFILLED, FulfillmentStatus.DELIVERED):
        raise OrderActionError("A shipped order cannot be cancelled; refund it instead.")
    kinds = ["cancellation"]
    order.cancelled_at = datetime.now(UTC)
    order.cancel_reason = " ".join((reason or "").split())[:200]
    order.reserved_until = None
    returned = _restock(order, staff_id) if restock else 0
    if order.payment_status == PaymentStatus.PENDING:
        order.payment_status = PaymentStatus.VOIDED
    elif refund_payment and refundable(order):
        amount = refundable(order)
        _add_refund(order, amount, "Order cancelled", staff_id)
        kinds.append("refund")
    _event(
        order,
        "cancelled",
        "Order cancelled"
        + (f" ({order.cancel_reason})" if order.cancel_reason else "")
        + (f"; {returned} item{'s' if returned != 1 else ''} restocked." if returned else "."),
        staff_id,
        restocked=returned,
    )
    db.session.flush()
    signals.order_cancelled.send(order)
    return kinds


def add_note(order: Order, text: str, *, staff_id: int | None) -> None:
    text = " ".join((text or "").split())
    if not text:
        raise OrderActionError("Write the note first.", "note")
    if len(text) > MAX_NOTE:
        raise OrderActionError(f"Keep notes under {MAX_NOTE} characters.", "note")
    _event(order, "note", text, staff_id)
    db.session.flush()


def is_offline(order: Order) -> bool:
    return order.payment_method in (PaymentMethod.CASH_ON_DELIVERY, PaymentMethod.BANK_TRANSFER)


# --- the orders list -----------------------------------------------------------------


def orders_query(
    *,
    q: str = "",
    payment: str = "",
    fulfillment: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
) -> Select[Order]:
    """Orders newest first, narrowed by the list's filters. `q` finds an order number
    ("1001" or "#1001"), or part of an email or a name."""
    query = select(Order)
    text = (q or "").strip()
    if text:
        digits = text.lstrip("#")
        like = f"%{text.replace('%', '').replace('_', '')}%"
        matches: list[ColumnElement[bool]] = [
            Order.email.ilike(like),
            Order.customer_name.ilike(like),
        ]
        if digits.isdigit() and len(digits) < 10:
            matches.append(Order.number == int(digits))
        query = query.where(or_(*matches))
    if payment == "cancelled":
        query = query.where(Order.cancelled_at.is_not(None))
    elif payment == "to_pay":
        query = query.where(attention.to_pay())
    elif payment in tuple(PaymentStatus):
        query = query.where(Order.payment_status == payment)
    if fulfillment == "to_ship":
        query = query.where(attention.to_ship())
    elif fulfillment in tuple(FulfillmentStatus):
        query = query.where(Order.fulfillment_status == fulfillment)
    if since is not None:
        query = query.where(Order.placed_at >= since)
    if until is not None:
        query = query.where(Order.placed_at < until)
    return query.order_by(Order.placed_at.desc(), Order.id.desc())


LIST_FILTERS = ("q", "payment", "fulfillment", "from", "to")


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat((text or "").strip()[:10])
    except ValueError:
        return None


def list_filters(args: Mapping[str, str]) -> dict[str, str]:
    """The orders list's filters from a query string, cleaned (dates as YYYY-MM-DD, ""
    when unreadable): what the list shows in its form and an export keeps."""
    values = {name: (args.get(name) or "").strip() for name in LIST_FILTERS}
    values["q"] = values["q"][:200]
    for name in ("from", "to"):
        day = _day(values[name])
        values[name] = day.isoformat() if day else ""
    return values


def list_query(filters: Mapping[str, str], zone: tzinfo) -> Select[Order]:
    """`orders_query` for the list's filters (`list_filters`); dates are whole days in
    the shop's time `zone`, "to" included."""
    since, until = _day(filters.get("from", "")), _day(filters.get("to", ""))
    return orders_query(
        q=filters.get("q", ""),
        payment=filters.get("payment", ""),
        fulfillment=filters.get("fulfillment", ""),
        since=datetime.combine(since, time(), zone) if since else None,
        until=datetime.combine(until + timedelta(days=1), time(), zone) if until else None,
    )


def order_by_number(number: int) -> Order | None:
    return db.session.scalar(select(Order).where(Order.number == number))


def count_orders() -> int:
    return db.session.scalar(select(func.count()).select_from(Order)) or 0
