"""The points journey in real Chromium, CSRF on: the merchant turns the programme on,
a shopper opens an account (the signup bonus), uses points on the payment step and sees
them on the order and in their history; the merchant adjusts them with a reason."""

from __future__ import annotations

import re

from tests.checkout.test_browser_checkout import ready_shop
from tests.chromium import playwright_api

PASSWORD = "correct horse battery staple"


def test_merchant_runs_points_and_a_shopper_spends_them(
    app, browser, live_server, make_tenant, make_staff
):
    expect = playwright_api.expect
    shop, host = ready_shop(app, make_tenant)  # a 45.00 shirt, UK shipping 3.99
    owner = make_staff(shop, role="owner")
    merchant = browser.new_context().new_page()
    merchant.goto(live_server.url(host, "/admin/login"))
    merchant.get_by_label("Email").fill(owner.email)
    merchant.get_by_label("Password").fill(owner.password)
    merchant.get_by_role("button", name="Log in").click()
    merchant.get_by_role("link", name=re.compile(r"^Customers\b")).first.click()
    merchant.get_by_role("link", name="Loyalty points").click()
    expect(merchant.get_by_role("heading", name="Loyalty points", level=1)).to_be_visible()
    merchant.get_by_label("Turn the points programme on").check()
    merchant.get_by_label("Points for opening an account").fill("1,000")
    merchant.get_by_label("Fewest points used at a time").fill("100")
    merchant.get_by_role("button", name="Save programme").click()
    expect(merchant.get_by_text("Points programme saved.")).to_be_visible()

    shopper = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    shopper.goto(live_server.url(host, "/account/register"))
    shopper.get_by_label("Name").fill("Ann Lee")
    shopper.get_by_label("Email", exact=True).fill("ann@example.com")
    shopper.get_by_label("Password", exact=True).fill(PASSWORD)
    shopper.get_by_label("Password again").fill(PASSWORD)
    shopper.get_by_role("button", name="Create account").click()
    expect(shopper.get_by_text("Welcome! Your account is ready.")).to_be_visible()
    shopper.get_by_role("navigation", name="Your account").get_by_role(
        "link", name="Points"
    ).click()
    expect(shopper.get_by_text("Signing up")).to_be_visible()
    expect(shopper.get_by_text("worth £10.00")).to_be_visible()

    shopper.goto(live_server.url(host, "/products/linen-shirt"))
    shopper.get_by_role("button", name="Add to cart").click()
    shopper.get_by_role("link", name="Check out").click()
    shopper.get_by_label("Full name").fill("Ann Lee")
    shopper.get_by_label("Address", exact=True).fill("1 Quay Street")
    shopper.get_by_label("City").fill("Leeds")
    shopper.get_by_label("Country").select_option("GB")
    shopper.get_by_label("Postal code").fill("LS1 1AA")
    shopper.get_by_role("button", name="Continue to shipping").click()
    shopper.get_by_label(re.compile(r"^Royal Mail 48")).check()
    shopper.get_by_role("button", name="Continue to payment").click()
    expect(shopper.get_by_text("You have 1,000 points.")).to_be_visible()
    shopper.get_by_label("Points to use").fill("600")
    shopper.get_by_role("button", name="Use points").click()
    expect(shopper.get_by_text("600 points applied.")).to_be_visible()
    shopper.get_by_label("Bank transfer").check()
    shopper.get_by_role("button", name="Review your order").click()
    expect(shopper.get_by_text("Points (600)")).to_be_visible()
    # 45.00 - 6.00 of points + 3.99 shipping
    place = shopper.get_by_role("button", name=re.compile(r"Place order"))
    expect(place).to_contain_text("£42.99")
    place.click()
    expect(shopper.get_by_role("heading", name="Order #1001")).to_be_visible()
    expect(shopper.get_by_text("Points (600)")).to_be_visible()
    shopper.goto(live_server.url(host, "/account/points"))
    expect(shopper.get_by_role("cell", name="-600")).to_be_visible()

    merchant.goto(live_server.url(host, "/admin/customers"))
    merchant.get_by_role("link", name=re.compile("Ann Lee")).first.click()
    merchant.get_by_label("Points to add").fill("50")
    merchant.get_by_role("button", name="Adjust points").click()
    expect(merchant.get_by_text("Say why")).to_be_visible()
    merchant.get_by_label("Reason").fill("Sorry for the slow parcel")
    merchant.get_by_role("button", name="Adjust points").click()
    expect(merchant.get_by_text("now has 450 to spend")).to_be_visible()
    shopper.reload()
    expect(shopper.get_by_text("Sorry for the slow parcel")).to_be_visible()
