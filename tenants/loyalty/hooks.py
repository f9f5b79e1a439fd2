"""What the points programme does when something happens elsewhere in the shop
(`tenants.signals`), connected by `create_app`."""

from __future__ import annotations

from typing import Any

from tenants import signals
from tenants.loyalty import points, tiers


def _paid(order: Any, **_: Any) -> None:
    points.earn_for_order(order)
    if order.customer_id is not None:
        tiers.recompute(order.customer_id)


def _settled(order: Any, **_: Any) -> None:
    points.settle_order(order)
    if order.customer_id is not None:
        tiers.recompute(order.customer_id)


def _signed_up(customer: Any, **_: Any) -> None:
    points.award_signup(customer.id)


def _review(review: Any, **_: Any) -> None:
    if review.customer_id is not None:
        points.award_review(review.customer_id, review.id)


def connect() -> None:
    """Connect the programme's receivers (once per process: blinker keeps one of each)."""
    signals.order_paid.connect(_paid)
    signals.order_refunded.connect(_settled)
    signals.order_cancelled.connect(_settled)
    signals.customer_signed_up.connect(_signed_up)
    signals.review_published.connect(_review)
