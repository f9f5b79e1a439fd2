"""Points at checkout: a signed-in customer applies points as a discount line on the
payment step, every step prices them again, the order records what it spent, and two
tabs cannot spend the same points twice."""

from __future__ import annotations

import re
import secrets

import pytest
from sqlalchemy import select

from saas.db import atomic, db
from saas.passwords import hash_password
from saas.tenancy import tenant_context
from tenants.catalog.models import ProductVariant
from tenants.checkout import services as checkout
from tenants.checkout.models import Cart
from tenants.customers.models import Customer
from tenants.loyalty import points
from tenants.orders.models import Order
from tenants.orders.placement import LineInput, OrderInput
from tests.checkout.test_checkout import add_to_cart, open_shop, through_to_review, total_on
from tests.conftest import log_in_as


def customer_with_points(app, shop, balance: int) -> tuple[int, str]:
    """A signed-up customer holding `balance` spendable points; (id, session principal)."""
    with app.app_context(), tenant_context(shop):
        program = points.program()
        program.enabled = True
        program.points_per_unit_off = 100  # 100 points = 1.00 off
        program.min_redeem = 200
        program.max_share_percent = 50
        ann = Customer(email="ann@example.com", name="Ann Lee", password_hash=hash_password("x"))
        db.session.add(ann)
        db.session.flush()
        points.adjust(ann.id, balance, "opening balance", staff_id=None)
        return ann.id, ann.get_id()


def signed_in(shop_client, shop, principal):
    client = shop_client(shop)
    log_in_as(client, principal)
    return client


def test_points_pay_part_of_the_goods_and_the_order_records_them(app, make_tenant, shop_client):
    shop = make_tenant()
    variant = open_shop(app, shop)  # 12.00 mugs, VAT included, 4.99 shipping
    ann, principal = customer_with_points(app, shop, 5000)
    client = signed_in(shop_client, shop, principal)
    add_to_cart(client, variant, 2)
    through_to_review(client)
    payment = client.get("/checkout/payment").text
    # at most half of 24.00 of goods: 12.00, 1,200 points of the 5,000
    assert "You have 5,000 points" in payment and "up to 1,200" in payment
    assert "£12.00 off its items" in payment
    too_few = client.post("/checkout/points", data={"points": "150"}, follow_redirects=True)
    assert "Use at least 200 points at a time." in too_few.text
    bad = client.post("/checkout/points", data={"points": "-5"}, follow_redirects=True)
    assert "as a whole number" in bad.text
    many = client.post("/checkout/points", data={"points": "9000"}, follow_redirects=True)
    assert "1,200 points applied." in many.text and "at most 1,200 points (50%" in many.text
    applied = client.post("/checkout/points", data={"points": "450"}, follow_redirects=True)
    assert "450 points applied." in applied.text
    review = client.get("/checkout/review").text
    assert "Points (450)" in review and "\N{MINUS SIGN}£4.50" in review
    # 24.00 - 4.50 + 4.99 shipping = 24.49; the VAT included is on 19.50 of goods
    assert total_on(review) == "2449" and "£3.25" in review
    placed = client.post("/checkout/review", data={"total": total_on(review)})
    assert placed.status_code == 302
    with app.app_context(), tenant_context(shop):
        order = db.session.scalars(select(Order)).one()
        assert (order.points_redeemed, order.points_discount_cents) == (450, 450)
        assert (order.discount_cents, order.code_discount_cents, order.total_cents) == (
            450,
            0,
            2449,
        )
        assert sum(line.discount_cents for line in order.lines) == 450
        assert "Loyalty points: 450 spent on this order." in [e.message for e in order.events]
        assert points.balance(ann) == 4550
    status = client.get(placed.location).text
    assert "Points (450)" in status


def test_points_removed_and_prices_redone_when_the_balance_falls(app, make_tenant, shop_client):
    shop = make_tenant()
    variant = open_shop(app, shop)
    ann, principal = customer_with_points(app, shop, 1000)
    client = signed_in(shop_client, shop, principal)
    add_to_cart(client, variant, 2)
    through_to_review(client)
    client.post("/checkout/points", data={"points": "1000"})
    before = client.get("/checkout/review").text
    assert "Points (1,000)" in before
    with app.app_context(), tenant_context(shop):  # spent elsewhere meanwhile
        points.adjust(ann, -700, "spent in the shop", staff_id=None)
    placed = client.post("/checkout/review", data={"total": total_on(before)})
    assert placed.status_code == 409 and "Prices changed" in placed.text
    assert "Points (300)" in placed.text  # what is left is used, and shown before placing
    assert "You have 300 points" in client.get("/checkout/payment").text
    removed = client.post("/checkout/points", data={"remove": "1"}, follow_redirects=True)
    assert "Points removed from this order." in removed.text


def test_two_tabs_cannot_spend_the_same_points(app, make_tenant, shop_client):
    """Both tabs price 1,000 points in; the first order spends them. The second tab's
    order is priced again without them and shown before it can be placed; and had both
    been priced at once, placing the second is refused and nothing of it is kept."""
    shop = make_tenant()
    variant = open_shop(app, shop)
    ann, principal = customer_with_points(app, shop, 1000)
    tabs = []
    for _ in range(2):
        tab = signed_in(shop_client, shop, principal)
        add_to_cart(tab, variant, 2)
        through_to_review(tab)
        tab.post("/checkout/points", data={"points": "1000"})
        tabs.append((tab, total_on(tab.get("/checkout/review").text)))
    first = tabs[0][0].post("/checkout/review", data={"total": tabs[0][1]})
    assert "/orders/" in first.location
    second = tabs[1][0].post("/checkout/review", data={"total": tabs[1][1]})
    assert second.status_code == 409 and "Points (" not in second.text
    with app.app_context(), tenant_context(shop):
        assert len(db.session.scalars(select(Order)).all()) == 1
        assert points.balance(ann) == 0
        # the race itself: an order priced with points that are gone by the time it is placed
        cart = Cart(token=secrets.token_urlsafe(16))
        db.session.add(cart)
        db.session.flush()
        product_id = db.session.get(ProductVariant, variant).product_id
        data = OrderInput(
            idempotency_key="race",
            email="ann@example.com",
            currency="GBP",
            lines=[LineInput(variant, product_id, "Mug", 1, 1200)],
            payment_method="bank_transfer",
            subtotal_cents=1200,
            discount_cents=500,
            total_cents=700,
            customer_id=ann,
            points_redeemed=500,
            points_discount_cents=500,
        )
        with pytest.raises(checkout.PointsUnavailable), atomic():
            checkout.place(data, cart)
        assert len(db.session.scalars(select(Order)).all()) == 1
        assert cart.order_id is None and points.balance(ann) == 0


def test_guests_and_shops_without_a_programme_see_no_points(app, make_tenant, shop_client):
    shop = make_tenant()
    variant = open_shop(app, shop)
    guest = shop_client(shop)
    add_to_cart(guest, variant)
    through_to_review(guest)
    assert "Your points" not in guest.get("/checkout/payment").text
    refused = guest.post("/checkout/points", data={"points": "500"}, follow_redirects=True)
    assert "You have no points to use." in refused.text
    assert "Points (" not in guest.get("/checkout/review").text


def test_points_of_one_shop_are_worth_nothing_in_another(app, make_tenant, shop_client):
    a, b = make_tenant(), make_tenant()
    variant_b = open_shop(app, b)
    _, principal_a = customer_with_points(app, a, 5000)
    with app.app_context(), tenant_context(b):
        points.program().enabled = True
    client = signed_in(shop_client, b, principal_a)  # shop A's session, on shop B's host
    add_to_cart(client, variant_b)
    through_to_review(client)
    page = client.get("/checkout/payment").text
    assert "Your points" not in page
    assert re.search(r"You have [\d,]+ points", page) is None
