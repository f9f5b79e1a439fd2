"""The reviews journey in real Chromium, CSRF on, as issue 14 asks: a shopper buys, the
order is delivered, the review-request email's link leads to the form, the merchant
approves the review in the back office, and it shows on the product page with its
badge and stars, and the stars on the collection's card."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from saas.db import db
from saas.outbox import OutboxMessage
from saas.tenancy import tenant_context
from tenants.orders.models import Order
from tenants.reviews import emails
from tests.checkout.test_browser_checkout import add_both_colours, fill_checkout, ready_shop
from tests.chromium import playwright_api


def _request_link(live_server, shop) -> str:
    """Eight days later: the review request goes out (as the sweep sends it)."""
    live_app = live_server.server.app  # its links carry the live server's port
    with live_app.app_context(), tenant_context(shop):
        order = db.session.scalar(select(Order))
        for fulfillment in order.fulfillments:
            fulfillment.delivered_at = datetime.now(UTC) - timedelta(days=8)
        db.session.flush()
        assert emails.send_request(order.id)
    with live_app.app_context(), tenant_context(shop):
        body = db.session.scalar(
            select(OutboxMessage.body).where(OutboxMessage.subject.like("How do you like%"))
        )
    links = re.findall(r"Review it: (\S+)", body or "")
    assert len(links) == 2  # one per line: both colours
    return links[0]


def test_a_delivered_order_is_reviewed_approved_and_shown(
    app, browser, live_server, make_tenant, make_staff
):
    expect = playwright_api.expect
    shop, host = ready_shop(app, make_tenant)
    owner = make_staff(shop, role="owner")
    shopper = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    add_both_colours(shopper, expect, live_server, host)
    fill_checkout(shopper, expect, pay="Bank transfer")
    expect(shopper.get_by_role("heading", name="Order #1001")).to_be_visible()

    merchant = browser.new_context().new_page()
    merchant.goto(live_server.url(host, "/admin/login"))
    merchant.get_by_label("Email").fill(owner.email)
    merchant.get_by_label("Password").fill(owner.password)
    merchant.get_by_role("button", name="Log in").click()
    merchant.goto(live_server.url(host, "/admin/orders/1001"))
    merchant.get_by_role("button", name="Mark as paid").click()
    merchant.get_by_label("Carrier").select_option("Royal Mail")
    merchant.get_by_label("Tracking number").fill("AB123456789GB")
    merchant.get_by_role("button", name="Mark as shipped").click()
    merchant.get_by_role("button", name="Mark as delivered").click()
    expect(merchant.get_by_text("Order marked as delivered.")).to_be_visible()

    shopper.goto(_request_link(live_server, shop))
    expect(shopper.get_by_role("heading", name="Write a review")).to_be_visible()
    expect(shopper.get_by_text("Verified buyer")).to_be_visible()
    shopper.get_by_role("button", name="Send review").click()
    expect(shopper.get_by_text("Choose a rating from 1 to 5 stars.")).to_be_visible()
    shopper.get_by_label("5 stars").check()
    shopper.get_by_label("Title").fill("Soft and well cut")
    shopper.get_by_label("Your review").fill("The linen gets softer with every wash.")
    expect(shopper.get_by_label("Display name")).to_have_value("Ann L.")
    shopper.get_by_role("button", name="Send review").click()
    expect(shopper.get_by_role("heading", name="Thank you for your review")).to_be_visible()

    # Waiting for approval: not on the product page yet.
    shopper.goto(live_server.url(host, "/products/linen-shirt"))
    expect(shopper.get_by_text("No reviews yet.")).to_be_visible()

    merchant.get_by_role("link", name=re.compile(r"^Reviews\b")).first.click()
    expect(merchant.get_by_role("heading", name="Reviews", exact=True)).to_be_visible()
    merchant.get_by_label(re.compile(r"Select the review by Ann L\.")).check()
    merchant.get_by_label("Action").select_option("publish")
    merchant.get_by_role("button", name="Apply to selected reviews").click()
    expect(merchant.get_by_role("heading", name="Publish 1 review?")).to_be_visible()
    merchant.get_by_role("button", name="Publish 1 review").click()
    expect(merchant.get_by_text("1 review published.")).to_be_visible()

    shopper.goto(live_server.url(host, "/products/linen-shirt"))
    reviews = shopper.get_by_role("region", name="Customer reviews")
    expect(reviews.get_by_role("heading", name="Soft and well cut")).to_be_visible()
    expect(reviews.get_by_text("Verified buyer")).to_be_visible()
    expect(reviews.get_by_text("Based on 1 review")).to_be_visible()
    expect(reviews.get_by_role("img", name="Rated 5.0 out of 5").first).to_be_visible()
    expect(shopper.get_by_role("link", name="1 review")).to_be_visible()

    shopper.goto(live_server.url(host, "/collections/all?sort=rating"))
    card = shopper.get_by_role("listitem").filter(has_text="Linen Shirt")
    expect(card.get_by_role("img", name="Rated 5.0 out of 5")).to_be_visible()
    expect(card.get_by_text("(1")).to_be_visible()
