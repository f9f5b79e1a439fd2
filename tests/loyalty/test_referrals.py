"""Referrals: a customer's link gives a friend's first order its welcome discount, and
the referrer earns points once that order is paid; no self-referral, one reward per
friend, a monthly cap, a refund takes the reward back; a link works in its own shop only."""

from __future__ import annotations

import re

from sqlalchemy import select

from saas.db import db
from saas.passwords import hash_password
from saas.tenancy import tenant_context
from tenants.customers.models import Customer, CustomerAddress
from tenants.loyalty import points, referrals
from tenants.loyalty.models import Referral
from tenants.orders import admin
from tenants.orders.models import Order
from tests.checkout.test_checkout import (
    ADDRESS,
    add_to_cart,
    open_shop,
    total_on,
)
from tests.conftest import log_in_as


def referral_shop(app, make_tenant, **rules):
    shop = make_tenant()
    variant = open_shop(app, shop)  # 12.00 mugs, 4.99 shipping, VAT included
    with app.app_context(), tenant_context(shop):
        program = points.program()
        program.enabled = True
        program.referral_percent = 20
        program.referral_points = 500
        for name, value in rules.items():
            setattr(program, name, value)
        bo = Customer(email="bo@example.com", name="Bo Chen", password_hash=hash_password("x"))
        bo.addresses = [
            CustomerAddress(name="Bo", line1="9 Dock Road", city="Hull", postal_code="HU1 1AA",
                            country="GB")
        ]  # fmt: skip
        db.session.add(bo)
        db.session.flush()
        code = referrals.code_for(bo.id)
        return shop, variant, bo.id, bo.get_id(), code


def buy(client, variant, address=None) -> str:
    """Cart to placed order, with `address` (the checkout's default one if None); the
    review page's HTML before placing."""
    add_to_cart(client, variant, 2)
    assert client.post("/checkout", data=address or ADDRESS).status_code == 302
    page = client.get("/checkout/shipping").text
    key = re.search(r'name="shipping" value="([^"]+)"', page).group(1)
    client.post("/checkout/shipping", data={"shipping": key})
    client.post("/checkout/payment", data={"payment": "bank_transfer"})
    review = client.get("/checkout/review").text
    assert client.post("/checkout/review", data={"total": total_on(review)}).status_code == 302
    return review


def orders(app, shop) -> list[Order]:
    with app.app_context(), tenant_context(shop):
        found = list(db.session.scalars(select(Order).order_by(Order.id)))
        db.session.expunge_all()
        return found


def pay(app, shop, order_id) -> None:
    with app.app_context(), tenant_context(shop):
        admin.mark_paid(db.session.get(Order, order_id), staff_id=None)


def test_a_friend_s_first_order_is_welcomed_and_the_referrer_rewarded(
    app, make_tenant, shop_client
):
    shop, variant, bo, _, code = referral_shop(app, make_tenant)
    friend = shop_client(shop)
    landed = friend.get(f"/r/{code}")
    assert "Your friend's link takes 20% off your first order." in landed.text
    assert landed.headers["Cache-Control"] == "private, no-store"
    review = buy(friend, variant)
    # 24.00 of mugs, 20 % off: 4.80
    assert "Welcome discount (a friend's link, 20%)" in review and "\N{MINUS SIGN}£4.80" in review
    [order] = orders(app, shop)
    assert (order.referrer_id, order.referral_discount_cents, order.discount_cents) == (
        bo,
        480,
        480,
    )
    pay(app, shop, order.id)
    with app.app_context(), tenant_context(shop):
        assert points.account(bo).pending == 500
        referral = db.session.scalars(select(Referral)).one()
        assert referral.rewarded and referral.referred_id == order.customer_id
        timeline = [e.message for e in db.session.get(Order, order.id).events]
        assert "Referral by a customer: rewarded." in timeline
    # the friend's second order: no discount, and no second reward
    again = buy(friend, variant)
    assert "Welcome discount" not in again
    friend.get(f"/r/{code}")
    third = buy(friend, variant)
    assert "Welcome discount" not in third
    # a refund of the first order takes the held reward back
    with app.app_context(), tenant_context(shop):
        first = db.session.get(Order, order.id)
        admin.refund(first, first.total_cents, "returned", staff_id=None)
        assert points.account(bo).pending == 0


def test_no_self_referral_by_account_email_or_address(app, make_tenant, shop_client):
    shop, variant, _, principal, code = referral_shop(app, make_tenant)
    own = shop_client(shop)
    log_in_as(own, principal)
    own.get(f"/r/{code}")
    assert "Welcome discount" not in buy(own, variant, {**ADDRESS, "email": "bo@example.com"})
    same_place = shop_client(shop)
    same_place.get(f"/r/{code}")
    elsewhere = {**ADDRESS, "email": "new@example.com", "line1": "9  dock road",
                 "city": "Hull", "postal_code": "hu11aa"}  # fmt: skip
    assert "Welcome discount" not in buy(same_place, variant, elsewhere)


def test_the_monthly_cap_and_unknown_codes(app, make_tenant, shop_client):
    shop, variant, bo, _, code = referral_shop(app, make_tenant, referral_monthly_cap=1)
    for email in ("one@example.com", "two@example.com"):
        friend = shop_client(shop)
        friend.get(f"/r/{code}")
        buy(friend, variant, {**ADDRESS, "email": email})
    for order in orders(app, shop):
        pay(app, shop, order.id)
    with app.app_context(), tenant_context(shop):
        made = db.session.scalars(select(Referral).order_by(Referral.id)).all()
        assert [(r.rewarded, r.refused) for r in made] == [
            (True, ""),
            (False, "the referrer's monthly limit was reached"),
        ]
        assert points.account(bo).pending == 500
    nobody = shop_client(shop)
    unknown = nobody.get("/r/not-a-code")
    assert unknown.status_code == 302 and unknown.headers["Cache-Control"] == "private, no-store"
    assert "Welcome discount" not in buy(nobody, variant, {**ADDRESS, "email": "x@example.com"})


def test_a_link_of_one_shop_is_nothing_in_another(app, make_tenant, shop_client):
    _, _, _, _, code = referral_shop(app, make_tenant)
    other, variant, _, _, _ = referral_shop(app, make_tenant)
    friend = shop_client(other)
    landed = friend.get(f"/r/{code}", follow_redirects=True)
    assert "Your friend's link" not in landed.text
    assert "Welcome discount" not in buy(friend, variant, {**ADDRESS, "email": "z@example.com"})
