"""The review request: N days (the shop's `reviews_request_days`) after an order was
delivered, or shipped when delivery is never marked, the buyer gets one email with a
signed link per line to review.

It is queued as a delayed job when the merchant ships or marks an order delivered
(`schedule`), and `sweep()` (run by `flask tenants sweep`) catches whatever a lost Redis
dropped. `orders.review_requested_at` marks an order asked (or found not worth asking),
and the send checks everything again, so neither the job nor the sweep ever mails twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from saas.db import db
from saas.jobs import enqueue
from saas.mail import send_email
from saas.tenancy import current_tenant
from tenants.catalog.models import ProductImage
from tenants.content import emails as themed
from tenants.orders.models import Fulfillment, FulfillmentStatus, Order, OrderLine
from tenants.reviews import links
from tenants.reviews.models import Review
from tenants.settings.services import get_settings

# Orders whose moment came longer ago than this are not asked any more (a shop that
# turns requests on does not mail its whole history).
REQUEST_UNTIL = timedelta(days=60)
SUBJECT = "How do you like your order {name} from {shop}?"
# The picture beside each line: the smallest sized copy (shown 96px wide, sharp on a
# phone's screen), or the original until the resize job has made it.
PICTURE_WIDTH = 320


@dataclass(frozen=True)
class Line:
    """One line to review, as the HTML part shows it."""

    title: str
    url: str  # the line's signed link
    image_url: str | None = None
    image_alt: str = ""


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


def _first_name(order: Order) -> str:
    return order.customer_name.split()[0] if order.customer_name.strip() else ""


def body(order: Order, lines: list[tuple[str, str]]) -> str:
    """The text part."""
    shop = current_tenant.name
    items = "\n\n".join(f"{title}\nReview it: {url}" for title, url in lines)
    first_name = _first_name(order)
    hello = f"Hello {first_name},\n\n" if first_name else ""
    return (
        f"{hello}Thank you again for your order {order.name} from {shop}. We hope you are "
        f"enjoying it: a few words and a star rating help other shoppers choose.\n\n"
        f"{items}\n\nEach link is yours alone and needs no account; your review shows "
        f"as a verified buyer's."
    )


def html(order: Order, lines: list[Line], subject: str) -> str:
    """The HTML part, in the shop's theme (`themes/*/templates/emails/`)."""
    return themed.render(
        "review_request",
        subject=subject,
        first_name=_first_name(order),
        order_name=order.name,
        lines=lines,
    )


def _pictures(lines: list[OrderLine]) -> dict[int, ProductImage]:
    """Each line's product's first picture, by product id (one query)."""
    ids = {line.product_id for line in lines if line.product_id is not None}
    first: dict[int, ProductImage] = {}
    for image in db.session.scalars(
        select(ProductImage)
        .where(ProductImage.product_id.in_(ids))
        .order_by(ProductImage.product_id, ProductImage.position, ProductImage.id)
    ):
        first.setdefault(image.product_id, image)
    return first


def _line(line: OrderLine, pictures: dict[int, ProductImage]) -> Line:
    url = links.write_url(line)
    picture = pictures.get(line.product_id) if line.product_id is not None else None
    if picture is None:
        return Line(line.title, url)
    return Line(
        line.title, url, themed.media_url(picture.sized(PICTURE_WIDTH)), picture.alt or line.title
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
    asked = [
        line for line in order.lines if links.reviewable(order, line) and line.id not in reviewed
    ]
    if not asked:
        return False
    pictures = _pictures(asked)
    lines = [_line(line, pictures) for line in asked]
    subject = SUBJECT.format(name=order.name, shop=current_tenant.name)
    send_email(
        order.email,
        subject,
        body(order, [(line.title, line.url) for line in lines]),
        dedupe_key=f"review-request-{order.id}",
        html=html(order, lines, subject),
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
