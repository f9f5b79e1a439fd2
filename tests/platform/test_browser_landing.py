"""The platform's landing page lists a shop only once it is live and its owner agreed."""

from __future__ import annotations

from saas.db import db
from saas.models import Tenant
from tests.chromium import playwright_api


def agree_to_listing(app, tenant) -> None:
    with app.app_context():
        db.session.get(Tenant, tenant.id).listed_on_platform = True
        db.session.commit()


def test_owner_turns_on_the_listing_and_the_shop_appears_on_the_landing_page(
    app, page, live_server, make_tenant, make_staff
):
    expect = playwright_api.expect
    proud = make_tenant(name="Proud Pots")
    quiet = make_tenant(name="Quiet Corner")  # live, but its owner never agreed
    fresh = make_tenant(name="Fresh Start", launched=False)  # signed up, still coming soon
    agree_to_listing(app, fresh)
    owner = make_staff(proud, role="owner")

    landing = live_server.url("localhost")
    page.goto(landing)
    for name in ("Proud Pots", "Quiet Corner", "Fresh Start"):
        expect(page.get_by_role("link", name=name)).to_have_count(0)

    host = f"{proud.slug}.localhost"
    page.goto(live_server.url(host, "/admin/login"))
    page.get_by_label("Email").fill(owner.email)
    page.get_by_label("Password").fill(owner.password)
    page.get_by_role("button", name="Log in").click()
    page.goto(live_server.url(host, "/admin/settings"))
    listing = page.get_by_label("List my shop on localhost")
    expect(listing).not_to_be_checked()  # off by default
    if not page.get_by_label("Contact email").input_value():
        page.get_by_label("Contact email").fill("hello@proud-pots.example")
    listing.check()
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Settings saved.")).to_be_visible()
    expect(page.get_by_label("List my shop on localhost")).to_be_checked()

    page.goto(landing)
    expect(page.get_by_role("heading", name="Shops on this platform")).to_be_visible()
    expect(page.get_by_role("link", name="Proud Pots")).to_be_visible()
    expect(page.get_by_role("link", name="Quiet Corner")).to_have_count(0)
    expect(page.get_by_role("link", name="Fresh Start")).to_have_count(0)
    assert quiet.slug not in page.content() and fresh.slug not in page.content()
