"""Journeys in real Chromium (Debian's /usr/bin/chromium, driven by Playwright)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from saas.db import db
from saas.models import Operator
from saas.passwords import hash_password

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))

pytestmark = pytest.mark.browser

if not CHROMIUM.exists():
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} is missing: CI must install Debian's chromium")
    pytest.skip(f"no Chromium at {CHROMIUM}", allow_module_level=True)

playwright_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 390, "height": 844})  # a phone
    page = context.new_page()
    yield page
    context.close()


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


def test_operator_signs_in_and_finds_a_shop(page, live_server, app, make_tenant):
    tenant = make_tenant(name="Console Visible Shop")
    email = f"browser-{uuid.uuid4().hex[:6]}@example.com"
    with app.app_context():
        db.session.add(
            Operator(email=email, name="Bea", password_hash=hash_password("pw-for-bea-123"))
        )
        db.session.commit()
    expect = playwright_api.expect
    page.goto(live_server.url("admin.localhost"))
    expect(page.get_by_role("heading", name="Sign in to the operator console")).to_be_visible()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Email or password is incorrect.")
    page.get_by_label("Password").fill("pw-for-bea-123")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Shops")).to_be_visible()
    page.get_by_label("Search shops").fill(tenant.slug)
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("cell", name="Console Visible Shop")).to_be_visible()
    page.get_by_role("button", name="Sign out Bea").click()
    expect(page.get_by_role("heading", name="Sign in to the operator console")).to_be_visible()
