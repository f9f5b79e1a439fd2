"""Emails about an order, sent by jobs after the commit that changed it.

`queue(order, kinds)` enqueues one job per kind; each job renders its message from the
order as it is then and sends it through `saas.mail` with a dedupe key made when it
was queued, so a retried job never mails twice and two changes mail twice.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import current_app

from saas.db import db
from saas.jobs import enqueue
from saas.mail import send_email
from saas.money import format_money
from saas.tenancy import current_tenant
from saas.tenancy.sites import absolute_url, shop_host
from tenants.catalog.inventory import owner_email
from tenants.geo.addresses import format_lines
from tenants.orders.models import Order
from tenants.settings.services import get_settings

SUBJECTS = {
    "order_confirmation": "Order {name} confirmed",
    "payment_received": "Payment received for order {name}",
    "shipping_confirmation": "Order {name} is on its way",
    "cancellation": "Order {name} was cancelled",
    "refund": "A refund for order {name}",
    "new_order_notice": "New order {name}: {total}",
}


def queue(order: Order, kinds: Iterable[str]) -> None:
    """After the commit: one job per kind (the new-order notice goes to the owner)."""
    for kind in kinds:
        if kind not in SUBJECTS:
            raise ValueError(f"unknown order email {kind!r}")
        key = f"order-{order.id}-{kind}-{len(order.events)}"
        enqueue(send, order.id, kind, key)


def status_url(order: Order) -> str:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    return absolute_url(app, shop_host(app, current_tenant.slug), f"/orders/{order.token}")


def _lines(order: Order) -> str:
    rows = []
    for line in order.lines:
        name = f"{line.title} ({line.variant_title})" if line.variant_title else line.title
        rows.append(f"  {line.quantity} x {name}: {format_money(line.total_cents, order.currency)}")
    return "\n".join(rows)


def _totals(order: Order) -> str:
    money = lambda cents: format_money(cents, order.currency)  # noqa: E731
    parts = [f"Subtotal: {money(order.subtotal_cents)}"]
    if order.code_discount_cents:
        parts.append(
            f"Discount{f' ({order.discount_code})' if order.discount_code else ''}: "
            f"-{money(order.code_discount_cents)}"
        )
    if order.tier_discount_cents:
        parts.append(f"Member discount ({order.tier_name}): -{money(order.tier_discount_cents)}")
    if order.referral_discount_cents:
        parts.append(f"Welcome discount (a friend's link): -{money(order.referral_discount_cents)}")
    if order.points_discount_cents:
        parts.append(f"Points ({order.points_redeemed:,}): -{money(order.points_discount_cents)}")
    if order.shipping_method:
        parts.append(f"Shipping ({order.shipping_method}): {money(order.shipping_cents)}")
    for tax in order.tax_lines or []:
        included = " (included)" if order.taxes_included else ""
        parts.append(f"{tax['name']}{included}: {money(int(tax['amount_cents']))}")
    parts.append(f"Total: {money(order.total_cents)}")
    return "\n".join(parts)


def _ship_to(order: Order) -> str:
    """The shipping address, as its country writes it, if the order has one."""
    if not order.shipping_address:
        return ""
    lines = format_lines(order.shipping_address)
    return "\n\nShipping to:\n" + "\n".join(f"  {line}" for line in lines) if lines else ""


def body(order: Order, kind: str) -> str:
    shop = current_tenant.name
    link = status_url(order)
    if kind == "new_order_notice":
        return (
            f"{order.customer_name or order.email} placed order {order.name} "
            f"({format_money(order.total_cents, order.currency)}).\n\n{_lines(order)}"
            f"{_ship_to(order)}\n\nOpen it in your back office under Orders."
        )
    if kind == "shipping_confirmation":
        latest = order.fulfillments[-1] if order.fulfillments else None
        tracking = ""
        if latest is not None and latest.tracking_number:
            carrier = f"{latest.carrier} " if latest.carrier else ""
            tracking = f"\nTracking: {carrier}{latest.tracking_number}"
            if latest.tracking_url:
                tracking += f"\n{latest.tracking_url}"
        return (
            f"Good news: your order {order.name} from {shop} has shipped.{tracking}"
            f"{_ship_to(order)}\n\n{link}"
        )
    if kind == "payment_received":
        return f"We received your payment for order {order.name}. Thank you!\n\n{link}"
    if kind == "cancellation":
        why = f" ({order.cancel_reason})" if order.cancel_reason else ""
        return f"Your order {order.name} from {shop} was cancelled{why}.\n\n{link}"
    if kind == "refund":
        return (
            f"{shop} refunded {format_money(order.refunded_cents, order.currency)} in all for "
            f"order {order.name}. It can take a few days to reach your account.\n\n{link}"
        )
    return (
        f"Thank you for your order from {shop}!\n\nOrder {order.name}\n{_lines(order)}\n\n"
        f"{_totals(order)}{_ship_to(order)}{_how_to_pay(order)}\n\nFollow your order: {link}"
    )


def _how_to_pay(order: Order) -> str:
    """What an offline payment needs from the shopper, as the merchant wrote it."""
    if order.payment_status != "pending":
        return ""
    if order.payment_method == "bank_transfer":
        instructions = get_settings().bank_transfer_instructions.strip()
        total = format_money(order.total_cents, order.currency)
        return (
            f"\n\nPlease pay {total} by bank transfer, with {order.name} as the reference."
            f"\n{instructions}"
        )
    if order.payment_method == "cash_on_delivery":
        return "\n\nYou pay in cash when your order is delivered."
    return ""


def send(order_id: int, kind: str, key: str) -> None:
    """Job: render and send one email about the order."""
    order = db.session.get(Order, order_id)
    if order is None:
        return
    to = owner_email() if kind == "new_order_notice" else order.email
    if not to:
        return
    subject = SUBJECTS[kind].format(
        name=order.name, total=format_money(order.total_cents, order.currency)
    )
    send_email(to, subject, body(order, kind), dedupe_key=key)
