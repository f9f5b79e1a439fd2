"""In real Chromium: a shopper who types `sam@example` at checkout is told, next to the
Email field, what an address looks like, and goes on once it is one."""

from __future__ import annotations

import re

from saas.email_address import INVALID_EMAIL
from tests.checkout.test_checkout import open_shop
from tests.chromium import playwright_api


def test_a_mistyped_address_is_explained_by_the_field(app, browser, live_server, make_tenant):
    expect = playwright_api.expect
    shop = make_tenant()
    open_shop(app, shop)
    host = f"{shop.slug}.localhost"
    page = browser.new_context(viewport={"width": 360, "height": 740}).new_page()
    page.goto(live_server.url(host, "/products/clay-mug"))
    page.get_by_role("button", name="Add to cart").click()
    page.get_by_role("link", name="Check out").click()
    expect(page.get_by_role("heading", name="Contact and shipping address")).to_be_visible()
    email = page.get_by_label("Email")
    page.get_by_label("Full name").fill("Sam Lee")
    page.get_by_label("Address", exact=True).fill("1 Quay Street")
    page.get_by_label("City").fill("Leeds")
    page.get_by_label("Country").select_option("GB")
    page.get_by_label("Postal code").fill("LS1 1AA")
    for typo in ("sam@example", "sam@"):
        email.fill(typo)
        page.get_by_role("button", name="Continue to shipping").click()
        expect(page.get_by_role("alert")).to_contain_text("Please correct the fields")
        expect(email).to_have_accessible_description(INVALID_EMAIL)
        expect(email).to_have_attribute("aria-invalid", "true")
        expect(email).to_have_value(typo)  # kept, to be corrected rather than retyped
    email.fill("Sam@Example.com")
    page.get_by_role("button", name="Continue to shipping").click()
    expect(page.get_by_label(re.compile(r"^Royal Mail"))).to_be_visible()
