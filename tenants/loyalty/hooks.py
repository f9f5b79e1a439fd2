"""What the points programme does when something happens elsewhere in the shop
(`tenants.signals`), connected by `create_app`: points earned, taken back and given
back (each said on the order's timeline), member tiers recomputed, bonuses given."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from saas.db import db
from tenants import signals
from tenants.loyalty import points, referrals, tiers
from tenants.loyalty.models import EntryKind, PointsEntry
from tenants.orders.models import Order, OrderEvent


def _order_points(order_id: int) -> dict[str, int]:
    rows = db.session.execute(
        select(PointsEntry.kind, func.sum(PointsEntry.points))
        .where(PointsEntry.order_id == order_id)
        .group_by(PointsEntry.kind)
    ).all()
    return {kind: int(total) for kind, total in rows}


def _said(order: Order, before: dict[str, int]) -> None:
    """The order's timeline says what its points did just now."""
    after = _order_points(order.id)
    change = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    said = []
    if change.get(EntryKind.EARN, 0) > 0:
        said.append(f"{change[EntryKind.EARN]:,} points earned (held for the holding period)")
    reversed_ = change.get(EntryKind.REVERSE, 0)
    if reversed_ < 0:
        said.append(f"{-reversed_:,} points taken back")
    elif reversed_ > 0:
        said.append(f"{reversed_:,} spent points given back")
    if said:
        message = "Loyalty points: " + "; ".join(said) + "."
        order.events.append(OrderEvent(kind="points", message=message, actor="system"))
        db.session.flush()


def _paid(order: Any, **_: Any) -> None:
    before = _order_points(order.id)
    points.earn_for_order(order)
    referral = referrals.reward(order)
    _said(order, before)
    if referral is not None:
        said = "rewarded" if referral.rewarded else f"not rewarded: {referral.refused}"
        order.events.append(
            OrderEvent(kind="points", message=f"Referral by a customer: {said}.", actor="system")
        )
    if order.customer_id is not None:
        tiers.recompute(order.customer_id)


def _settled(order: Any, **_: Any) -> None:
    before = _order_points(order.id)
    points.settle_order(order)
    _said(order, before)
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
