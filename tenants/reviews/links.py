"""The signed link that lets a buyer review one order line without logging in.

The token carries only the line's id, signed with the platform's secret and a salt
naming the shop: a link made for one shop is refused by every other (and a line id of
another shop's schema is not there anyway). It is sent in the review-request email and
shown on the order pages of the buyer's account and order status link.
"""

from __future__ import annotations

from typing import cast

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select

from saas.db import db
from saas.tenancy import current_tenant
from saas.tenancy.sites import absolute_url, shop_host
from tenants.catalog.models import Product, ProductStatus
from tenants.orders.models import FulfillmentStatus, Order, OrderLine

MAX_AGE = 400 * 24 * 3600  # a year and a bit: reviews come late
MAX_TOKEN = 300
# Orders whose lines may be reviewed: the goods have left the shop.
REVIEWABLE = (FulfillmentStatus.FULFILLED, FulfillmentStatus.DELIVERED)


def _signer() -> URLSafeTimedSerializer:
    secret = cast(str, current_app.secret_key)
    return URLSafeTimedSerializer(secret, salt=f"review-line:{current_tenant.id}")


def line_token(line: OrderLine) -> str:
    return cast(str, _signer().dumps(line.id))


def write_path(line: OrderLine) -> str:
    return f"/reviews/write/{line_token(line)}"


def write_url(line: OrderLine) -> str:
    """The absolute link for emails (works from a job too)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    return absolute_url(app, shop_host(app, current_tenant.slug), write_path(line))


def reviewable(order: Order, line: OrderLine) -> bool:
    return (
        line.product_id is not None
        and order.cancelled_at is None
        and order.fulfillment_status in REVIEWABLE
    )


def line_for_token(token: str) -> tuple[OrderLine, Order, Product] | None:
    """The line a token was made for in this shop, its order and its (active) product;
    None for a forged, expired or other shop's token, or a line that cannot be reviewed."""
    try:
        line_id = _signer().loads(token[:MAX_TOKEN], max_age=MAX_AGE)
    except BadSignature:
        return None
    if not isinstance(line_id, int):
        return None
    row = db.session.execute(
        select(OrderLine, Order, Product)
        .join(Order, Order.id == OrderLine.order_id)
        .join(Product, Product.id == OrderLine.product_id)
        .where(OrderLine.id == line_id, Product.status == ProductStatus.ACTIVE)
    ).first()
    if row is None:
        return None
    line, order, product = row
    return (line, order, product) if reviewable(order, line) else None
