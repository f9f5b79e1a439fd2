"""Loose ends of checkouts, tied up later by jobs.

* Abandoned checkouts: a shopper who gave their email at checkout and left without
  ordering gets one reminder (`ABANDONED_AFTER` later) with a link that restores their
  cart in any browser.
* Card payments never finished: an order placed for Stripe holds its stock until
  `reserved_until`; Stripe's `checkout.session.expired` webhook normally cancels it,
  and `release_hold` does the same if that webhook never comes.

Each is scheduled as a delayed job when it becomes due (`saas.jobs.enqueue(delay=)`),
and `sweep()` (run by `flask tenants sweep` from cron) catches whatever a lost Redis
dropped. Every step checks the current state first, so running twice does nothing more.

Reminders are a plan feature (`Feature.ABANDONED_CHECKOUT_EMAILS`): on a plan without
it none is scheduled, swept or sent (the job checks again: the plan may change while a
reminder waits). A cart left meanwhile is not marked, so after an upgrade the sweep
reminds those still within `ABANDONED_UNTIL`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import exists, select

from saas import jobs
from saas.billing import limits
from saas.db import db
from saas.mail import send_email
from saas.models import Feature
from saas.money import format_money
from saas.payments import stripe_api
from saas.tenancy import current_tenant
from saas.tenancy.sites import absolute_url, shop_host
from tenants.checkout.cart import summary as cart_summary
from tenants.checkout.models import Cart, CartLine
from tenants.orders import admin as order_admin
from tenants.orders import card_payments
from tenants.orders.models import Order, PaymentMethod, PaymentStatus
from tenants.settings.services import get_settings

log = logging.getLogger(__name__)

ABANDONED_AFTER = timedelta(hours=1)
# Carts older than this are not worth a reminder any more.
ABANDONED_UNTIL = timedelta(days=7)
HOLD_GRACE = timedelta(minutes=5)  # let Stripe's own expiry webhook arrive first


def recovery_url(cart: Cart) -> str:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    return absolute_url(app, shop_host(app, current_tenant.slug), f"/cart/recover/{cart.token}")


def reminders_included() -> bool:
    """Whether the shop's plan includes abandoned-checkout emails."""
    return limits.has_feature(current_tenant.id, Feature.ABANDONED_CHECKOUT_EMAILS)


def remind(cart_id: int) -> bool:
    """Job: mail the abandoned-checkout reminder if it is still due. True if sent."""
    if not reminders_included():
        return False
    cart = db.session.get(Cart, cart_id)
    now = datetime.now(UTC)
    if (
        cart is None
        or cart.order_id is not None
        or cart.recovery_sent_at is not None
        or not cart.email
        or cart.checkout_started_at is None
        or now - cart.updated_at < ABANDONED_AFTER
    ):
        return False
    summary = cart_summary(cart, media_url=lambda name: name)
    if summary.empty:  # what the summary corrected in the cart is kept by the job's commit
        return False
    lines = "\n".join(
        f"  {line.quantity} x {line.name}: {format_money(line.total_cents, summary.currency)}"
        for line in summary.lines
    )
    cart.recovery_sent_at = now  # mail goes out once this commits: never twice
    send_email(
        cart.email,
        f"You left something in your cart at {current_tenant.name}",
        f"Your cart is waiting for you:\n\n{lines}\n\nPick up where you left off: "
        f"{recovery_url(cart)}",
        dedupe_key=f"cart-recovery-{cart.id}",
    )
    return True


def schedule_reminder(cart: Cart) -> None:
    """Remind later if the checkout is still abandoned (queued once it commits)."""
    if not reminders_included():
        return
    jobs.enqueue(remind, cart.id, delay=ABANDONED_AFTER + timedelta(minutes=1), retries=1)


def release_hold(order_id: int) -> bool:
    """Job: cancel an unpaid card order whose hold ran out, giving its stock back."""
    order = order_admin.locked(order_id)
    now = datetime.now(UTC)
    if (
        order is None
        or order.payment_status != PaymentStatus.PENDING
        or order.payment_method != PaymentMethod.STRIPE
        or order.cancelled_at is not None
        or order.reserved_until is None
        or order.reserved_until > now
    ):
        return False
    _expire_on_stripe(order)
    card_payments.cancel_unpaid(order)
    return True


def _expire_on_stripe(order: Order) -> None:
    """Close the Stripe page too, so nobody pays for a cancelled order (best effort:
    a payment that still arrives is recorded as late, see stripe_orders)."""
    if not order.stripe_checkout_session_id:
        return
    account = get_settings().stripe_account_id
    if not account or not stripe_api.configured():
        return
    try:
        stripe_api.expire_checkout_session(account, order.stripe_checkout_session_id)
    except stripe_api.StripeFailure:
        log.warning("could not expire the Stripe session of order %s", order.number)


def schedule_release(order: Order) -> None:
    if order.reserved_until is not None:
        delay = order.reserved_until - datetime.now(UTC) + HOLD_GRACE
        jobs.enqueue(release_hold, order.id, delay=max(delay, HOLD_GRACE), retries=1)


@dataclass(frozen=True)
class Swept:
    reminded: int
    released: int


def sweep() -> Swept:
    """Everything due in the current shop (cron's guarantee behind the delayed jobs)."""
    now = datetime.now(UTC)
    carts: list[int] = []
    if reminders_included():
        carts = list(
            db.session.scalars(
                select(Cart.id).where(
                    Cart.order_id.is_(None),
                    Cart.recovery_sent_at.is_(None),
                    Cart.email != "",
                    Cart.checkout_started_at.is_not(None),
                    Cart.updated_at < now - ABANDONED_AFTER,
                    Cart.updated_at > now - ABANDONED_UNTIL,
                    exists().where(CartLine.cart_id == Cart.id),
                )
            )
        )
    orders = db.session.scalars(
        select(Order.id).where(
            Order.payment_status == PaymentStatus.PENDING,
            Order.payment_method == PaymentMethod.STRIPE,
            Order.cancelled_at.is_(None),
            Order.reserved_until < now - HOLD_GRACE,
        )
    ).all()
    reminded = sum(remind(cart_id) for cart_id in carts)
    released = sum(release_hold(order_id) for order_id in orders)
    return Swept(reminded, released)
