"""Referrals: every customer's link (`/r/<code>`), the friend's welcome discount on a
first order, and the referrer's points once that order is paid.

The rules against abuse:
* not the same person: the friend is not the referrer's account, email, or one of the
  addresses the referrer saved or shipped to;
* a first order only: an email or account with any order (not cancelled) gets nothing;
* one reward per referred customer (`Referral.referred_id` is unique), and at most the
  programme's monthly cap of rewards per referrer;
* the reward is held like any order's points, and a refund of the friend's order takes
  it back (`points.settle_order` settles every customer an order earned for).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from saas.db import db
from tenants.customers.models import Customer, CustomerAddress
from tenants.loyalty import points
from tenants.loyalty.models import EntryKind, Referral
from tenants.orders.models import Order


def code_for(customer_id: int) -> str:
    """The customer's referral code, made the first time it is asked for."""
    points.open_account(customer_id)
    found = points.account(customer_id)
    assert found is not None
    if found.referral_code is None:
        found.referral_code = secrets.token_urlsafe(9)  # 12 characters, 72 random bits
        db.session.flush()
    return found.referral_code


def referrer_of(code: str) -> int | None:
    """Whose link `code` is, while the programme runs referrals; None otherwise."""
    rules = points.active_program()
    if rules is None or not rules.referrals_on or not code or len(code) > 24:
        return None
    return db.session.scalar(
        select(points.PointsAccount.customer_id).where(points.PointsAccount.referral_code == code)
    )


def _place(address: Any) -> tuple[str, str, str]:
    def get(key: str) -> str:
        value = address.get(key) if isinstance(address, dict) else getattr(address, key, "")
        return " ".join(str(value or "").lower().split())

    return get("line1"), get("postal_code").replace(" ", ""), get("country")


def same_person(
    referrer: Customer, *, customer_id: int | None, email: str, address: Any | None
) -> bool:
    if customer_id == referrer.id or (email or "").strip().lower() == referrer.email:
        return True
    if not address:
        return False
    here = _place(address)
    if not here[0]:
        return False
    saved = db.session.scalars(
        select(CustomerAddress).where(CustomerAddress.customer_id == referrer.id)
    ).all()
    shipped = db.session.scalars(
        select(Order.shipping_address).where(
            Order.customer_id == referrer.id, Order.shipping_address.is_not(None)
        )
    ).all()
    return any(_place(a) == here for a in [*saved, *shipped])


def _has_ordered(customer_id: int | None, email: str, *, besides: int | None = None) -> bool:
    """Any order of the account or the email, not cancelled (other than `besides`)."""
    who = Order.email == (email or "").strip().lower()
    if customer_id is not None:
        who = who | (Order.customer_id == customer_id)
    query = select(func.count()).select_from(Order).where(who, Order.cancelled_at.is_(None))
    if besides is not None:
        query = query.where(Order.id != besides)
    return bool(db.session.scalar(query))


@dataclass(frozen=True)
class Welcome:
    """The friend's welcome discount at checkout: who referred them and the amount off
    the items (after the discount code and any tier; 0: none)."""

    referrer_id: int | None = None
    cents: int = 0
    percent: int = 0


def welcome(
    referrer_id: int | None,
    *,
    customer_id: int | None,
    email: str,
    address: Any | None,
    goods_cents: int,
) -> Welcome:
    if referrer_id is None:
        return Welcome()
    rules = points.active_program()
    if rules is None or not rules.referral_percent:
        return Welcome()
    referrer = db.session.get(Customer, referrer_id)
    if referrer is None or same_person(
        referrer, customer_id=customer_id, email=email, address=address
    ):
        return Welcome()
    if _has_ordered(customer_id, email):
        return Welcome()
    cents = goods_cents * rules.referral_percent // 100
    return Welcome(referrer_id, cents, rules.referral_percent)


def reward(order: Order, *, now: datetime | None = None) -> Referral | None:
    """The friend's order is paid: reward who referred them, once per friend and within
    the monthly cap (the Referral says why not, when not). None: nothing to record."""
    rules = points.active_program()
    if rules is None or order.referrer_id is None or order.customer_id is None:
        return None
    if db.session.scalar(select(Referral.id).where(Referral.referred_id == order.customer_id)):
        return None
    referrer = db.session.get(Customer, order.referrer_id)
    if referrer is None:
        return None
    now = now or datetime.now(UTC)
    referral = Referral(referrer_id=referrer.id, referred_id=order.customer_id, order_id=order.id)
    db.session.add(referral)
    month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    rewarded_this_month = db.session.scalar(
        select(func.count())
        .select_from(Referral)
        .where(
            Referral.referrer_id == referrer.id,
            Referral.rewarded,
            Referral.created_at >= month,
        )
    )
    if same_person(
        referrer,
        customer_id=order.customer_id,
        email=order.email,
        address=order.shipping_address,
    ) or _has_ordered(order.customer_id, order.email, besides=order.id):
        referral.refused = "not a new customer of someone else"
    elif (rewarded_this_month or 0) >= rules.referral_monthly_cap:
        referral.refused = "the referrer's monthly limit was reached"
    elif rules.referral_points:
        referral.rewarded = True
        points._add(
            referrer.id,
            EntryKind.EARN,
            rules.referral_points,
            f"A friend's first order ({order.name})",
            now=now,
            held_until=now + timedelta(days=rules.holding_days),
            order_id=order.id,
            key=f"referral:{order.customer_id}",
        )
    db.session.flush()
    return referral
