"""Checkout from cart to order: information, shipping, payment, review; prices redone at
every step; one order per checkout however often it is submitted."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from saas.db import db
from saas.jobs import make_worker
from saas.outbox import OutboxMessage
from saas.tenancy import tenant_context
from tenants.catalog.models import Product, ProductVariant
from tenants.catalog.products import create_product
from tenants.checkout.models import Cart
from tenants.discounts.models import Discount
from tenants.orders.models import Order
from tenants.settings.models import ShopSettings
from tenants.shipping.models import ShippingRate, ShippingZone, TaxRate

ADDRESS = {
    "email": "Ann@Example.com",
    "name": "Ann Lee",
    "line1": "1 Quay Street",
    "city": "Leeds",
    "postal_code": "ls1 1aa",
    "country": "GB",
}


def open_shop(app, tenant, *, stock: int = 5, vat: bool = True) -> int:
    """A shop shipping to the UK (4.99, free over 100.00), 20 % VAT included in prices,
    bank transfer on; one mug at 12.00. Returns the mug's variant id."""
    with app.app_context(), tenant_context(tenant):
        settings = db.session.get(ShopSettings, 1)
        settings.currency = "GBP"
        settings.bank_transfer = True
        settings.bank_transfer_instructions = "Pay to 12-34-56 12345678."
        settings.prices_include_tax = True
        zone = ShippingZone(name="UK", countries=["GB"], regions=[])
        zone.rates = [
            ShippingRate(name="Royal Mail", kind="flat", price_cents=499, free_over_cents=10000)
        ]
        db.session.add(zone)
        if vat:
            db.session.add(TaxRate(country="GB", region="", name="VAT", rate_bp=2000))
        mug = create_product("Clay Mug", 1200, inventory_quantity=stock)
        db.session.commit()
        return mug.variants[0].id


def add_to_cart(client, variant_id: int, quantity: int = 1):
    return client.post("/cart/add", data={"variant": variant_id, "quantity": quantity})


def through_to_review(client) -> str:
    """Fill every step; the review page's HTML."""
    assert client.post("/checkout", data=ADDRESS).status_code == 302
    page = client.get("/checkout/shipping").text
    key = re.search(r'name="shipping" value="([^"]+)"', page).group(1)
    assert client.post("/checkout/shipping", data={"shipping": key}).status_code == 302
    assert client.post("/checkout/payment", data={"payment": "bank_transfer"}).status_code == 302
    return client.get("/checkout/review").text


def total_on(review: str) -> str:
    return re.search(r'name="total" value="(\d+)"', review).group(1)


def orders(app, tenant) -> list[Order]:
    with app.app_context(), tenant_context(tenant):
        found = list(db.session.scalars(select(Order).order_by(Order.number)))
        for order in found:
            _ = [line.quantity for line in order.lines]
        db.session.expunge_all()
        return found


def test_a_shopper_checks_out_and_pays_by_bank_transfer(
    app, make_tenant, shop_client, staff_client
):
    shop = make_tenant()
    staff_client(shop, role="owner")  # the merchant, who gets the new-order notice
    variant = open_shop(app, shop)
    client = shop_client(shop)
    add_to_cart(client, variant, 2)
    assert "Check out" in client.get("/cart").text

    info = client.get("/checkout")
    assert info.status_code == 200 and "Contact and shipping address" in info.text
    review = through_to_review(client)
    assert "Royal Mail" in review and "Bank transfer" in review
    # 2 x 12.00 + 4.99 shipping; VAT included: 24.00 * 20/120 = 4.00, shipping untaxed.
    assert "£28.99" in review and "VAT 20% (included)" in review and "£4.00" in review
    placed = client.post("/checkout/review", data={"total": total_on(review)})
    assert placed.status_code == 302 and "/orders/" in placed.location

    [order] = orders(app, shop)
    assert (order.number, order.email, order.total_cents) == (1001, "ann@example.com", 2899)
    assert (order.subtotal_cents, order.shipping_cents, order.tax_cents) == (2400, 499, 400)
    assert order.taxes_included and order.tax_lines[0]["amount_cents"] == 400
    assert order.payment_method == "bank_transfer" and order.payment_status == "pending"
    assert order.shipping_address["postal_code"] == "LS1 1AA"
    assert [(line.title, line.quantity) for line in order.lines] == [("Clay Mug", 2)]
    with app.app_context(), tenant_context(shop):
        assert db.session.get(ProductVariant, variant).inventory_quantity == 3
        cart = db.session.scalars(select(Cart)).one()
        assert cart.order_id == order.id  # closed: a new visit starts a new cart
    assert "Your cart is empty" in client.get("/cart").text

    make_worker(app).work(burst=True)
    with app.app_context(), tenant_context(shop):
        subjects = list(db.session.scalars(select(OutboxMessage.subject)))
    assert "Order #1001 confirmed" in subjects and any("New order #1001" in s for s in subjects)
    with app.app_context(), tenant_context(shop):
        confirmation = db.session.scalars(
            select(OutboxMessage.body).where(OutboxMessage.subject == "Order #1001 confirmed")
        ).one()
    assert "Please pay £28.99 by bank transfer, with #1001 as the reference." in confirmation
    assert "Pay to 12-34-56 12345678." in confirmation and "/orders/" in confirmation


def test_the_information_step_keeps_what_was_typed_and_names_the_fields(
    app, make_tenant, shop_client
):
    shop = make_tenant()
    add_to_cart(client := shop_client(shop), open_shop(app, shop))
    bad = client.post(
        "/checkout", data={**ADDRESS, "email": "not-an-email", "postal_code": "12", "line1": ""}
    )
    assert bad.status_code == 400
    assert "Enter an email address like name@example.com." in bad.text
    assert 'value="not-an-email"' in bad.text and 'value="Leeds"' in bad.text
    assert 'aria-invalid="true"' in bad.text
    # The later steps send the shopper back to what is missing.
    assert client.get("/checkout/shipping").location.endswith("/checkout")
    assert client.get("/checkout/review").status_code == 302


def test_an_address_outside_every_zone_is_told_so(app, make_tenant, shop_client):
    shop = make_tenant()
    add_to_cart(client := shop_client(shop), open_shop(app, shop))
    client.post("/checkout", data={**ADDRESS, "country": "FR", "postal_code": "75001"})
    page = client.get("/checkout/shipping").text
    assert "we don't ship to this address yet" in page
    forged = client.post("/checkout/shipping", data={"shipping": "rate-999999"})
    assert forged.status_code == 400 and "Choose how your order gets to you." in forged.text


def test_prices_changed_before_placing_are_shown_again(app, make_tenant, shop_client):
    shop = make_tenant()
    add_to_cart(client := shop_client(shop), variant := open_shop(app, shop))
    review = through_to_review(client)
    with app.app_context(), tenant_context(shop):
        db.session.get(ProductVariant, variant).price_cents = 1500
        db.session.commit()
    again = client.post("/checkout/review", data={"total": total_on(review)})
    assert again.status_code == 409 and "Prices changed" in again.text and "£19.99" in again.text
    assert orders(app, shop) == []


def test_submitting_twice_places_one_order(app, make_tenant, shop_client):
    shop = make_tenant()
    add_to_cart(client := shop_client(shop), open_shop(app, shop))
    review = through_to_review(client)
    with client.session_transaction(base_url=f"http://{shop.slug}.localhost") as saved:
        session_copy = dict(saved)
    first = client.post("/checkout/review", data={"total": total_on(review)})
    # The same browser state again (a second tab, a replayed request).
    with client.session_transaction(base_url=f"http://{shop.slug}.localhost") as saved:
        saved.update(session_copy)
    second = client.post("/checkout/review", data={"total": total_on(review)})
    assert first.status_code == 302
    assert second.status_code == 302 and "/cart" in second.location  # the cart is closed
    assert len(orders(app, shop)) == 1


def test_a_discount_code_carries_into_the_order(app, make_tenant, shop_client):
    shop = make_tenant()
    variant = open_shop(app, shop, vat=False)
    with app.app_context(), tenant_context(shop):
        db.session.add(Discount(code="SPRING10", kind="percentage", value=1000, usage_limit=1))
        db.session.commit()
    client = shop_client(shop)
    add_to_cart(client, variant, 2)
    client.post("/cart/discount", data={"code": "spring10"})
    review = through_to_review(client)
    assert "SPRING10" in review and "\N{MINUS SIGN}£2.40" in review
    client.post("/checkout/review", data={"total": total_on(review)})
    [order] = orders(app, shop)
    assert (order.discount_code, order.discount_cents, order.total_cents) == ("SPRING10", 240, 2659)
    with app.app_context(), tenant_context(shop):
        assert db.session.scalars(select(Discount)).one().times_used == 1


def test_stock_gone_before_placing_sends_the_shopper_back_to_the_cart(
    app, make_tenant, shop_client
):
    shop = make_tenant()
    add_to_cart(client := shop_client(shop), variant := open_shop(app, shop, stock=2), 2)
    review = through_to_review(client)
    with app.app_context(), tenant_context(shop):
        db.session.get(ProductVariant, variant).inventory_quantity = 1
        db.session.commit()
    placed = client.post("/checkout/review", data={"total": total_on(review)})
    assert placed.status_code == 302 and placed.location.endswith("/cart")
    assert orders(app, shop) == []
    assert "1 left" in client.get("/cart").text or "Only 1" in client.get("/cart").text


def test_checkout_never_reaches_another_shops_cart(app, make_tenant, shop_client):
    a, b = make_tenant(), make_tenant()
    add_to_cart(client := shop_client(a), open_shop(app, a))
    open_shop(app, b)
    with client.session_transaction(base_url=f"http://{a.slug}.localhost") as saved:
        token = saved.get("cart_token")
    intruder = shop_client(b)
    with intruder.session_transaction(base_url=f"http://{b.slug}.localhost") as saved:
        saved["cart_token"] = token
    response = intruder.get("/checkout")
    assert response.status_code == 302 and response.location.endswith("/cart")
    assert orders(app, b) == []


@pytest.mark.parametrize("step", ["/checkout", "/checkout/shipping", "/checkout/payment"])
def test_checkout_without_a_cart_goes_to_the_cart(make_tenant, shop_client, step):
    response = shop_client(make_tenant()).get(step)
    assert response.status_code == 302 and response.location.endswith("/cart")


def test_product_totals_in_orders_match_their_lines(app, make_tenant, shop_client):
    shop = make_tenant()
    add_to_cart(client := shop_client(shop), open_shop(app, shop), 3)
    client.post("/checkout/review", data={"total": total_on(through_to_review(client))})
    [order] = orders(app, shop)
    assert sum(line.total_cents for line in order.lines) == order.subtotal_cents
    with app.app_context(), tenant_context(shop):
        assert db.session.scalars(select(Product)).one().units_sold == 3


def test_a_guest_buyer_becomes_a_customer_of_the_shop(app, make_tenant, shop_client):
    from tenants.customers.models import Customer

    shop = make_tenant()
    add_to_cart(client := shop_client(shop), open_shop(app, shop))
    client.post("/checkout/review", data={"total": total_on(through_to_review(client))})
    [order] = orders(app, shop)
    with app.app_context(), tenant_context(shop):
        guest = db.session.scalars(select(Customer)).one()
        assert (guest.email, guest.name, guest.has_account) == ("ann@example.com", "Ann Lee", False)
    assert order.customer_id == guest.id


def test_twenty_concurrent_submits_of_one_checkout_make_one_order(app, make_tenant, shop_client):
    """Twenty tabs (or retries) posting the same review page at once, through the app."""
    import threading

    shop = make_tenant()
    add_to_cart(client := shop_client(shop), variant := open_shop(app, shop, stock=5))
    review = through_to_review(client)
    host = f"{shop.slug}.localhost"
    cookie = client.get_cookie("session", domain=host)
    assert cookie is not None
    start = threading.Barrier(20)
    answers: list[int] = []

    def submit() -> None:
        tab = shop_client(shop)
        tab.set_cookie("session", cookie.value, domain=host)
        start.wait()
        answers.append(tab.post("/checkout/review", data={"total": total_on(review)}).status_code)

    threads = [threading.Thread(target=submit) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(answers) == 20 and set(answers) == {302}
    assert len(orders(app, shop)) == 1
    with app.app_context(), tenant_context(shop):
        assert db.session.get(ProductVariant, variant).inventory_quantity == 4


def test_a_logged_in_customer_starts_from_their_default_address(app, make_tenant, shop_client):
    from saas.passwords import hash_password
    from tenants.customers.models import Customer, CustomerAddress
    from tests.conftest import log_in_as

    shop = make_tenant()
    variant = open_shop(app, shop)
    with app.app_context(), tenant_context(shop):
        ann = Customer(email="ann@example.com", name="Ann Lee", password_hash=hash_password("x"))
        ann.addresses = [
            CustomerAddress(
                name="Ann Lee",
                line1="9 Dock Road",
                city="Hull",
                postal_code="HU1 1AA",
                country="GB",
                is_default=True,
            )
        ]
        db.session.add(ann)
        db.session.commit()
        principal = ann.get_id()
    client = shop_client(shop)
    log_in_as(client, principal)
    add_to_cart(client, variant)
    page = client.get("/checkout").text
    assert 'value="9 Dock Road"' in page and 'value="ann@example.com"' in page
    review = client.get("/checkout/review")
    assert review.status_code == 302  # nothing chosen yet: back to the first step
