"""Names too long for the shop are refused with a message at signup, never cut (issue 12)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from saas.db import db
from saas.models import Tenant
from tests.platform.test_signup import PASSWORD, form, tenant_count


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("shop_name", "A shop name can have at most 200 characters; this one has 300."),
        ("owner_name", "Your name can have at most 200 characters; this one has 300."),
    ],
)
def test_a_300_character_name_is_refused_not_cut(app, platform_client, field, message):
    before = tenant_count(app)
    long_name = "Fern " * 59 + "Figs!"
    assert len(long_name) == 300
    response = platform_client.post("/signup", data=form(**{field: long_name}))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in page and f'id="{field}-error"' in page
    assert f'value="{long_name}"' in page  # all of it kept for the merchant to shorten
    assert tenant_count(app) == before


def test_a_200_character_name_is_kept_whole(app, platform_client):
    name = "N" * 200
    data = form(shop_name=name)
    assert platform_client.post("/signup", data=data).status_code == 303
    with app.app_context():
        assert db.session.scalar(select(Tenant.name).where(Tenant.slug == data["slug"])) == name


@pytest.mark.browser
def test_in_chromium_a_long_shop_name_is_explained_on_the_form(app, browser, live_server):
    from tests.chromium import playwright_api

    expect = playwright_api.expect
    before = tenant_count(app)
    slug = f"long{uuid.uuid4().hex[:8]}"
    page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    page.set_default_timeout(10_000)
    page.goto(live_server.url("localhost", "/signup"))
    long_name = "Fern and Fig " * 22 + "Fern & Figs"  # 297 characters
    page.get_by_label("Shop name").fill(long_name)
    page.get_by_label("Shop address").fill(slug)
    page.get_by_label("Your name").fill("Fern Figueroa")
    page.get_by_label("Email", exact=True).fill(f"{slug}@example.com")
    page.get_by_label("Confirm email").fill(f"{slug}@example.com")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Create my shop").click()
    expect(page.get_by_text("Please correct the 1 problem below.")).to_be_visible()
    shop_name = page.get_by_label("Shop name")
    expect(shop_name).to_have_attribute("aria-invalid", "true")
    message = "A shop name can have at most 200 characters; this one has 297."
    expect(page.get_by_text(message)).to_be_visible()
    expect(shop_name).to_have_value(long_name)  # all of it, to shorten
    assert tenant_count(app) == before
    page.context.close()
