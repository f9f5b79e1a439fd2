"""A new shop's first launch and first order in real Chromium (issue 12): the owner
sees the checklist, cannot launch before reviewing the suggested shipping rate (and is
told what is missing), confirms it, launches; a shopper's unpaid bank-transfer order
then shows on the dashboard and as a badge on the Orders link."""

from __future__ import annotations

import re

from saas.db import db
from saas.tenancy import tenant_context
from tenants.catalog.products import create_product
from tests.chromium import playwright_api


def test_owner_launches_after_confirming_shipping_and_sees_the_first_order(
    app, browser, live_server, make_tenant, make_staff
):
    expect = playwright_api.expect
    shop = make_tenant(name="Fern Studio", launched=False)
    with app.app_context(), tenant_context(shop):
        create_product("Clay Cup", 1800, inventory_quantity=4)
        db.session.commit()
    owner = make_staff(shop, role="owner")
    host = f"{shop.slug}.localhost"

    merchant = browser.new_context().new_page()
    merchant.goto(live_server.url(host, "/admin/login"))
    merchant.get_by_label("Email").fill(owner.email)
    merchant.get_by_label("Password").fill(owner.password)
    merchant.get_by_role("button", name="Log in").click()
    expect(merchant.get_by_role("heading", name="Set up your shop")).to_be_visible()
    expect(merchant.get_by_text("1 of 5 steps done.")).to_be_visible()
    expect(merchant.get_by_role("link", name="Review your shipping rate")).to_be_visible()

    # Payments first, through the page the checklist links to.
    merchant.get_by_role("link", name="Set up payments").click()
    merchant.get_by_label("Offer bank transfer").check()
    merchant.get_by_label("Bank transfer instructions").fill("Pay to IBAN FR76 1234, ref: order.")
    merchant.get_by_role("button", name="Save payment settings").click()
    merchant.get_by_role("link", name="Home", exact=True).click()

    # Launching before the shipping rate is reviewed is refused, saying why.
    merchant.get_by_role("button", name="Launch your shop").click()
    refusal = merchant.get_by_role("alert").filter(has_text="Your shop can't launch yet")
    expect(refusal).to_be_visible()
    expect(refusal).to_contain_text("Your shipping rate is our suggestion")
    expect(refusal).to_contain_text("Standard, $5.00, to United States")
    expect(refusal.get_by_role("link", name="Review your shipping rate")).to_be_visible()
    expect(merchant.get_by_text("Coming soon").first).to_be_visible()

    # The merchant looks at the rate, keeps it, and launches.
    refusal.get_by_role("link", name="Review your shipping rate").click()
    expect(merchant.get_by_role("heading", name="Review your shipping rate")).to_be_visible()
    merchant.get_by_role("button", name="Confirm shipping rate").click()
    expect(merchant.get_by_text("Shipping confirmed: shoppers can choose it")).to_be_visible()
    merchant.get_by_role("link", name="Home", exact=True).click()
    expect(merchant.get_by_text("3 of 5 steps done.")).to_be_visible()  # theme: optional
    merchant.get_by_role("button", name="Launch your shop").click()
    expect(merchant.get_by_text("Your shop is live")).to_be_visible()
    expect(merchant.get_by_text("Nothing waiting: every order is paid and sent.")).to_be_visible()

    # A shopper buys by bank transfer: nothing is paid yet.
    shopper = browser.new_context().new_page()
    shopper.goto(live_server.url(host, "/products/clay-cup"))
    shopper.get_by_role("button", name="Add to cart").click()
    shopper.get_by_role("link", name="Check out").click()
    shopper.get_by_label("Email").fill("ann@example.com")
    shopper.get_by_label("Full name").fill("Ann Lee")
    shopper.get_by_label("Address", exact=True).fill("1 Oak Street")
    shopper.get_by_label("City").fill("Portland")
    shopper.get_by_label("Country").select_option("US")
    shopper.get_by_label("Postal code").fill("97201")
    shopper.get_by_role("button", name="Continue to shipping").click()
    region = shopper.get_by_label("State, province or region")
    if region.count():  # the states appear once the country is known (no script)
        region.select_option("US-OR")
        shopper.get_by_role("button", name="Continue to shipping").click()
    shopper.get_by_label(re.compile(r"^Standard")).check()
    shopper.get_by_role("button", name="Continue to payment").click()
    shopper.get_by_label("Bank transfer").check()
    shopper.get_by_role("button", name="Review your order").click()
    shopper.get_by_role("button", name=re.compile(r"Place order")).click()
    expect(shopper.get_by_role("heading", name="Order #1001")).to_be_visible()

    # The merchant notices it at once: a badge on Orders, and the order on the dashboard.
    merchant.reload()
    nav = merchant.get_by_role("navigation", name="Back office")
    expect(nav.get_by_role("link", name="Orders 1 open")).to_be_visible()
    waiting = merchant.locator(
        "section", has=merchant.get_by_role("heading", name="Orders to handle")
    )
    expect(waiting.locator(".stat", has_text="New orders today")).to_contain_text("1")
    expect(waiting.locator(".stat", has_text="To pay")).to_contain_text("1")
    expect(waiting.get_by_role("link", name="#1001")).to_be_visible()
    expect(waiting).to_contain_text("Ann Lee")
    nav.get_by_role("link", name="Orders 1 open").click()
    expect(merchant.get_by_role("link", name="#1001")).to_be_visible()
