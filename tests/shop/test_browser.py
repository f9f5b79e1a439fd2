"""Journeys in real Chromium (Debian's /usr/bin/chromium, driven by Playwright)."""

from __future__ import annotations

import uuid

from tests.chromium import playwright_api
from tests.conftest import OPERATOR_PASSWORD


def test_shopper_browses_a_shop_by_its_subdomain(page, live_server, make_tenant):
    tenant = make_tenant(
        name="Harbour Books", products=[("Sea Stories", 1850), ("Knots Illustrated", 2400)]
    )
    other = make_tenant(name="Other Shop", products=[("Not Mine", 999)])
    page.goto(live_server.url(f"{tenant.slug}.localhost"))
    expect = playwright_api.expect
    expect(page.get_by_role("heading", level=1)).to_have_text("Harbour Books")
    expect(page.get_by_text("Not Mine")).to_have_count(0)
    page.get_by_role("link", name="Knots Illustrated").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Knots Illustrated")
    expect(page.get_by_text("$24.00")).to_be_visible()
    page.get_by_role("link", name="Home").click()
    expect(page).to_have_url(live_server.url(f"{tenant.slug}.localhost"))
    # The other shop lives on its own host, with its own products only.
    page.goto(live_server.url(f"{other.slug}.localhost"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Other Shop")
    expect(page.get_by_text("Sea Stories")).to_have_count(0)


def test_unknown_shop_shows_a_friendly_page(page, live_server):
    response = page.goto(live_server.url("no-shop-here.localhost"))
    assert response.status == 404
    expect = playwright_api.expect
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    expect(page.get_by_role("link", name="Open your own shop on Storefront")).to_be_visible()


def operator_signs_in(page, live_server, operator) -> None:
    import pyotp

    expect = playwright_api.expect
    page.goto(live_server.url("admin.localhost"))
    expect(page.get_by_role("heading", name="Sign in to the operator console")).to_be_visible()
    page.get_by_label("Email").fill(operator.email)
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("alert")).to_have_text("Email or password is incorrect.")
    page.get_by_label("Password").fill(OPERATOR_PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Verification code").fill(pyotp.TOTP(operator.totp_secret).now())
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Shops")).to_be_visible()


def test_operator_signs_in_and_finds_a_shop(page, live_server, make_operator, make_tenant):
    tenant = make_tenant(name="Console Visible Shop")
    operator_signs_in(page, live_server, make_operator())
    expect = playwright_api.expect
    page.get_by_label("Search shops").fill(tenant.slug)
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("link", name="Console Visible Shop")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to the operator console")).to_be_visible()


def test_merchant_signs_up_invites_staff_and_the_operator_suspends_the_shop(
    page, live_server, make_operator, app
):
    """The issue's journey: sign up on the apex, land in the new back office, invite a
    staff member, log out and in again; then the operator suspends the shop."""
    expect = playwright_api.expect
    suffix = uuid.uuid4().hex[:6]
    email = f"maya-{suffix}@example.com"
    password = "saffron-kettle-meadow-31"

    page.goto(live_server.url("localhost"))
    page.get_by_role("link", name="Start your shop").first.click()
    expect(page.get_by_role("heading", name="Start your shop")).to_be_visible()
    page.get_by_label("Shop name").fill(f"Maya Ceramics {suffix}")
    slug = f"maya-ceramics-{suffix}"
    expect(page.get_by_label("Shop address")).to_have_value(slug)  # suggested from the name
    expect(page.get_by_text(f"{slug} is available")).to_be_visible()  # checked live
    page.get_by_label("Your name").fill("Maya Lind")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Confirm email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Create my shop").click()

    # Logged in on the shop's own host, at its back office, with the first-run checklist.
    expect(page).to_have_url(live_server.url(f"{slug}.localhost", "/admin/"))
    expect(page.get_by_role("heading", name=f"Welcome to Maya Ceramics {suffix}")).to_be_visible()
    expect(page.get_by_text("Add a product").first).to_be_visible()

    page.get_by_text("Menu", exact=True).click()  # a phone: the areas fold into a menu
    page.get_by_role("link", name="Staff").click()
    page.get_by_role("link", name="Invite someone").click()
    page.get_by_label("Email").fill(f"sam-{suffix}@example.com")
    page.get_by_label("Staff — only the areas ticked below").check()
    page.get_by_label("Products").check()
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_role("cell", name=f"sam-{suffix}@example.com", exact=True)).to_be_visible()

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name=f"Log in to Maya Ceramics {suffix}")).to_be_visible()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name=f"Welcome to Maya Ceramics {suffix}")).to_be_visible()

    # The operator suspends the shop; shoppers then get the unavailable page.
    operator_page = page.context.browser.new_context().new_page()
    operator_signs_in(operator_page, live_server, make_operator())
    operator_page.get_by_label("Search shops").fill(slug)
    operator_page.get_by_role("button", name="Search").click()
    operator_page.get_by_role("link", name=f"Maya Ceramics {suffix}").click()
    operator_page.get_by_label("Reason for suspending").fill("Chargeback investigation")
    operator_page.get_by_role("button", name="Suspend shop").click()
    expect(operator_page.get_by_text("suspended").first).to_be_visible()
    operator_page.context.close()

    page.goto(live_server.url(f"{slug}.localhost"))
    expect(page.get_by_role("heading", name="Temporarily unavailable")).to_be_visible()
    page.goto(live_server.url(f"{slug}.localhost", "/admin/"))
    expect(page.get_by_text("Your shop is suspended.")).to_be_visible()
