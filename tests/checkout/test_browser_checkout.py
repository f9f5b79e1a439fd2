"""The buying journey in real Chromium, CSRF on, as issue 5 asks:

1. a shopper adds two variants, applies a code, picks shipping, pays by bank transfer and
   sees the confirmation; the merchant finds the email in the outbox, marks the order
   paid and ships it with tracking; the shopper sees the tracking on the order page;
2. a second run pays by card on (fake) Stripe Checkout, and the webhook marks it paid.
"""

from __future__ import annotations

import re

from saas.db import db
from saas.jobs import make_worker
from saas.tenancy import tenant_context
from tenants.discounts.models import Discount
from tenants.settings.models import ShopSettings
from tenants.shipping.models import ShippingRate, ShippingZone
from tests.checkout.test_cart import make_product
from tests.chromium import playwright_api


def ready_shop(app, make_tenant) -> tuple:
    shop = make_tenant(theme="boutique")
    make_product(app, shop, "Linen Shirt", 4500, stock=5, colours=["Sand", "Navy"])
    with app.app_context(), tenant_context(shop):
        settings = db.session.get(ShopSettings, 1)
        settings.country = "GB"
        settings.currency = "GBP"
        settings.bank_transfer = True
        settings.bank_transfer_instructions = "Pay to 12-34-56 12345678."
        zone = ShippingZone(name="UK", countries=["GB"], regions=[])
        zone.rates = [ShippingRate(name="Royal Mail 48", kind="flat", price_cents=399)]
        db.session.add(zone)
        db.session.add(Discount(code="SAVE10", kind="percentage", value=1000))
        db.session.commit()
    return shop, f"{shop.slug}.localhost"


def fill_checkout(page, expect, *, pay: str) -> None:
    page.get_by_role("link", name=re.compile(r"^Cart")).first.click()
    page.get_by_label("Discount code").fill("save10")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_text("Discount code SAVE10 applied.")).to_be_visible()
    page.get_by_role("link", name="Check out").click()
    expect(page.get_by_role("heading", name="Contact and shipping address")).to_be_visible()
    page.get_by_label("Email").fill("ann@example.com")
    page.get_by_label("Full name").fill("Ann Lee")
    page.get_by_label("Address", exact=True).fill("1 Quay Street")
    page.get_by_label("City").fill("Leeds")
    page.get_by_label("Country").select_option("GB")
    page.get_by_label("Postal code").fill("LS1 1AA")
    page.get_by_role("button", name="Continue to shipping").click()
    page.get_by_label(re.compile(r"^Royal Mail 48")).check()
    page.get_by_role("button", name="Continue to payment").click()
    page.get_by_label(pay).check()
    page.get_by_role("button", name="Review your order").click()
    expect(page.get_by_role("heading", name="Review your order")).to_be_visible()
    # 45.00 + 46.00 = 91.00, -10 % = 81.90, + 3.99 shipping.
    expect(page.get_by_role("button", name=re.compile(r"Place order"))).to_contain_text("£85.89")
    page.get_by_role("button", name=re.compile(r"Place order")).click()


def add_both_colours(page, expect, live_server, host) -> None:
    page.goto(live_server.url(host, "/products/linen-shirt"))
    page.get_by_role("button", name="Add to cart").click()
    expect(page).to_have_url(re.compile(r"/cart$"))
    page.goto(live_server.url(host, "/products/linen-shirt?option1=Navy"))
    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_role("link", name=re.compile(r"Cart \(2"))).to_be_visible()


def test_shopper_buys_by_bank_transfer_and_follows_the_shipment(
    app, browser, live_server, make_tenant, make_staff
):
    expect = playwright_api.expect
    shop, host = ready_shop(app, make_tenant)
    owner = make_staff(shop, role="owner")
    shopper = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    add_both_colours(shopper, expect, live_server, host)
    fill_checkout(shopper, expect, pay="Bank transfer")
    expect(shopper.get_by_role("heading", name="Order #1001")).to_be_visible()
    expect(shopper.get_by_text("Thank you! Your order #1001 is confirmed.")).to_be_visible()
    expect(shopper.get_by_text("Pay to 12-34-56 12345678.")).to_be_visible()
    status_page = shopper.url

    make_worker(app).work(burst=True)  # the confirmation email's job
    merchant = browser.new_context().new_page()
    merchant.goto(live_server.url(host, "/admin/login"))
    merchant.get_by_label("Email").fill(owner.email)
    merchant.get_by_label("Password").fill(owner.password)
    merchant.get_by_role("button", name="Log in").click()
    merchant.goto(live_server.url(host, "/admin/outbox"))
    expect(merchant.get_by_text("Order #1001 confirmed").first).to_be_visible()
    # The Orders link counts open orders too ("Orders 1 open"), since issue 12.
    merchant.get_by_role("link", name=re.compile(r"^Orders\b")).first.click()
    merchant.get_by_role("link", name="#1001").click()
    merchant.get_by_role("button", name="Mark as paid").click()
    expect(merchant.get_by_text("Order marked as paid")).to_be_visible()
    merchant.get_by_label("Carrier").select_option("Royal Mail")
    merchant.get_by_label("Tracking number").fill("AB123456789GB")
    merchant.get_by_role("button", name="Mark as shipped").click()
    expect(merchant.get_by_text("Items marked as shipped")).to_be_visible()

    shopper.goto(status_page)
    expect(shopper.get_by_text("Tracking number: AB123456789GB")).to_be_visible()
    link = shopper.get_by_role("link", name=re.compile("Track this shipment"))
    assert "royalmail.com" in (link.get_attribute("href") or "")


def test_shopper_pays_by_card_on_stripe_checkout(
    app, browser, stripe_live, fake_stripe, make_tenant, connect_stripe
):
    expect = playwright_api.expect
    live_server = stripe_live
    shop, host = ready_shop(app, make_tenant)
    connect_stripe(shop)
    shopper = browser.new_context().new_page()
    add_both_colours(shopper, expect, live_server, host)
    fill_checkout(shopper, expect, pay="Card (secure payment page by Stripe)")
    expect(shopper).to_have_url(re.compile(re.escape(fake_stripe.url("/")) + ".*pay"))
    shopper.get_by_role("button", name="Pay", exact=True).click()
    expect(shopper.get_by_role("heading", name="Order #1001")).to_be_visible()
    expect(shopper.get_by_text("Paid").first).to_be_visible()
