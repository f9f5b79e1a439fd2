"""The review request: N days (the shop's `reviews_request_days`) after an order was
delivered, or shipped when delivery is never marked, the buyer gets one email with a
signed link per line to review.

It is queued as a delayed job when the merchant ships or marks an order delivered
(`schedule`), and `sweep()` (run by `flask tenants sweep`) catches whatever a lost Redis
dropped. `orders.review_requested_at` marks an order asked (or found not worth asking),
and the send checks everything again, so neither the job nor the sweep ever mails twice.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from saas.db import db
from saas.jobs import enqueue
from saas.mail import send_email
from saas.tenancy import current_tenant
from tenants.orders.models import Fulfillment, FulfillmentStatus, Order
from tenants.reviews import links
from tenants.reviews.models import Review
from tenants.settings.services import get_settings

# Orders whose moment came longer ago than this are not asked any more (a shop that
# turns requests on does not mail its whole history).
REQUEST_UNTIL = timedelta(days=60)
SUBJECT = "How do you like your order {name} from {shop}?"


def _moment(order: Order) -> datetime | None:
    """When the wait starts: delivery if marked, else the last shipment."""
    if order.fulfillment_status == FulfillmentStatus.DELIVERED:
        marked = [f.delivered_at for f in order.fulfillments if f.delivered_at]
        if marked:
            return max(marked)
    if order.fulfillment_status in links.REVIEWABLE and order.fulfillments:
        return max(f.created_at for f in order.fulfillments)
    return None


def due_at(order: Order) -> datetime | None:
    days = get_settings().reviews_request_days
    moment = _moment(order)
    if days <= 0 or moment is None:
        return None
    return moment + timedelta(days=days)


def schedule(order: Order) -> None:
    """After a shipment or delivery: the request as a delayed job (queued on commit)."""
    if order.review_requested_at is not None or order.cancelled_at is not None:
        return
    when = due_at(order)
    if when is None:
        return
    delay = max(when - datetime.now(UTC), timedelta(0)) + timedelta(minutes=1)
    enqueue(send_request, order.id, delay=delay, retries=1)


def body(order: Order, lines: list[tuple[str, str]]) -> str:
    shop = current_tenant.name
    items = "\n\n".join(f"{title}\nReview it: {url}" for title, url in lines)
    hello = f"Hello {order.customer_name.split()[0]},\n\n" if order.customer_name.strip() else ""
    return (
        f"{hello}Thank you again for your order {order.name} from {shop}. We hope you are "
        f"enjoying it: a few words and a star rating help other shoppers choose.\n\n"
        f"{items}\n\nEach link is yours alone and needs no account; your review shows "
        f"as a verified buyer's."
    )


def send_request(order_id: int) -> bool:
    """Job: mail the review request if it is due and not sent yet. True if sent."""
    order = db.session.get(Order, order_id, with_for_update=True)
    now = datetime.now(UTC)
    if order is None or order.review_requested_at is not None or order.cancelled_at is not None:
        return False
    when = due_at(order)
    if when is None or when > now:
        return False
    order.review_requested_at = now  # the mark commits with the message: never twice
    if when < now - REQUEST_UNTIL:
        return False
    reviewed = set(
        db.session.scalars(
            select(Review.order_line_id).where(
                Review.order_line_id.in_([line.id for line in order.lines])
            )
        )
    )
    lines = [
        (line.title, links.write_url(line))
        for line in order.lines
        if links.reviewable(order, line) and line.id not in reviewed
    ]
    if not lines:
        return False
    send_email(
        order.email,
        SUBJECT.format(name=order.name, shop=current_tenant.name),
        body(order, lines),
        dedupe_key=f"review-request-{order.id}",
    )
    return True


def sweep() -> int:
    """Send every review request that is due in the current shop; how many were sent."""
    days = get_settings().reviews_request_days
    if days <= 0:
        return 0
    now = datetime.now(UTC)
    latest = func.max(func.coalesce(Fulfillment.delivered_at, Fulfillment.created_at))
    due = db.session.scalars(
        select(Order.id)
        .join(Fulfillment, Fulfillment.order_id == Order.id)
        .where(
            Order.review_requested_at.is_(None),
            Order.cancelled_at.is_(None),
            Order.fulfillment_status.in_(links.REVIEWABLE),
        )
        .group_by(Order.id)
        .having(
            latest <= now - timedelta(days=days),
            latest > now - REQUEST_UNTIL - timedelta(days=days),
        )
        .order_by(Order.id)
        .limit(500)
    ).all()
    return sum(send_request(order_id) for order_id in due)
