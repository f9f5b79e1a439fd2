"""A merchant on a free trial chooses a paid plan in real Chromium: the back office
sends them to (fake) Stripe Checkout, they pay, come back and see the plan active."""

from __future__ import annotations

import re

from saas.db import db
from saas.models import Plan
from tests.chromium import playwright_api
from tests.factories import make_plan, subscribe


def test_a_trial_merchant_subscribes_to_a_paid_plan(
    app, browser, stripe_live, fake_stripe, make_tenant, make_staff
):
    expect = playwright_api.expect
    live_server = stripe_live
    seedling = make_plan(app, None, name="Seedling", price_cents=900, sort_order=1)
    orchard = make_plan(
        app, None, name="Orchard", price_cents=2900, yearly_price_cents=29000, sort_order=2
    )
    shop = make_tenant(owner_email="merchant@example.com")
    subscribe(app, shop, seedling)
    owner = make_staff(shop, role="owner")
    host = f"{shop.slug}.localhost"

    page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    page.goto(live_server.url(host, "/admin/login"))
    page.get_by_label("Email").fill(owner.email)
    page.get_by_label("Password").fill(owner.password)
    page.get_by_role("button", name="Log in").click()
    page.get_by_text("Menu", exact=True).click()  # a phone: the areas fold into a menu
    page.get_by_role("link", name="Billing").click()
    expect(page.get_by_role("heading", name="Your plan: Seedling")).to_be_visible()
    expect(page.get_by_text("Free trial", exact=True)).to_be_visible()

    page.get_by_role("link", name="Choose Orchard monthly").click()
    expect(page.get_by_role("heading", name=re.compile("Switch to Orchard"))).to_be_visible()
    page.get_by_role("button", name="Continue to payment").click()

    expect(page).to_have_url(re.compile(re.escape(fake_stripe.url("/pay/"))))
    page.get_by_role("button", name="Pay", exact=True).click()

    expect(page.get_by_text("Thank you! Your Orchard plan is active.")).to_be_visible()
    expect(page.get_by_role("heading", name="Your plan: Orchard")).to_be_visible()
    expect(page.get_by_text("Active, in its free trial")).to_be_visible()
    expect(page.get_by_text("Visa •••• 4242")).to_be_visible()
    with app.app_context():
        from saas.plans import subscription_of

        sub = subscription_of(shop.id)
        assert sub.plan_id == orchard and sub.stripe_subscription_id
        assert db.session.get(Plan, orchard).stripe_price_month
