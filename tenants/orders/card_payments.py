"""Shopper card payments: what Stripe's webhooks do to orders.

An order paid by card is placed "payment pending" with its stock held until
`reserved_until`, then the shopper pays on Stripe's hosted page. Only a verified
webhook marks it paid (`checkout.session.completed`); `checkout.session.expired`
cancels it and gives the stock back. The webhook layer (saas.payments.webhooks) runs
each event once, inside the shop that owns the Stripe account; here each handler also
locks the order and checks its state, so events in any order leave it right.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select

from saas.db import db
from tenants.orders import admin as order_admin
from tenants.orders import emails as order_emails
from tenants.orders.models import Order, PaymentStatus

log = logging.getLogger(__name__)


def _order_of(session_: dict[str, Any]) -> Order | None:
    order_id = db.session.scalar(
        select(Order.id).where(Order.stripe_checkout_session_id == session_.get("id"))
    )
    return order_admin.locked(order_id) if order_id is not None else None


def session_completed(event: Any) -> None:
    session_ = event.object
    if session_.get("mode", "payment") != "payment":
        return  # a subscription: the platform's billing, not a shop order
    order = _order_of(session_)
    if order is None:
        log.warning("checkout session %s completed for no known order", session_.get("id"))
        return
    if session_.get("payment_status") != "paid":
        return  # a delayed method: Stripe sends another event when the money arrives
    if order.payment_status != PaymentStatus.PENDING:
        return  # already paid (a repeat), or voided
    taken = session_.get("amount_total")
    if taken is not None and taken != order.total_cents:
        log.error(
            "order %s: Stripe took %s, the order is %s", order.number, taken, order.total_cents
        )
    order.stripe_payment_intent_id = session_.get("payment_intent")
    if order.cancelled_at is not None:
        # Paid after the hold ran out and the order was cancelled: keep the money
        # visible to the merchant rather than losing it.
        order_admin.late_payment(order)
        return
    order_admin.mark_paid(order, staff_id=None, via="stripe")
    order_emails.queue(order, ["order_confirmation", "new_order_notice"])


def session_expired(event: Any) -> None:
    order = _order_of(event.object)
    if order is None or order.payment_status != PaymentStatus.PENDING:
        return
    if order.cancelled_at is not None:
        return
    cancel_unpaid(order)


def cancel_unpaid(order: Order) -> None:
    """A card payment not completed in time: cancel the order, give its stock back, and
    tell the shopper and the merchant (Stripe's expiry event and the hold's own job)."""
    kinds = order_admin.cancel(
        order,
        reason="The card payment was not completed in time",
        restock=True,
        refund_payment=False,
        staff_id=None,
    )
    order_emails.queue(order, kinds)


# Events on the shop's connected Stripe account, registered by `create_app`.
HANDLERS = (
    ("checkout.session.completed", session_completed),
    ("checkout.session.expired", session_expired),
)
