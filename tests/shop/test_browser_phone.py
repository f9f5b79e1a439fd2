"""Every storefront page of every theme on a 360 x 740 phone, in real Chromium (issue 12):

* no page scrolls sideways (`scrollWidth <= 360`), even with the longest shop name, a
  255-character product title and 300-character words in a description and a page;
* the header is one row (name, menu button, cart) and the first product shows above the
  fold on the home page; the menu opens without JavaScript and holds the navigation
  ("Shop all" first) and search.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from bench.showcase import THEMES, Showcase, seed_showcase
from saas.db import db
from saas.passwords import hash_password
from saas.tenancy import TenantRecord, tenant_context
from saas.tenancy.provisioning import create_tenant
from tests.chromium import playwright_api

PHONE = {"width": 360, "height": 740}
# The longest a shop name can be (200), and words no one would break by hand.
LONG_NAME = "Z" * 200
LONG_TITLE = "Q" * 255
LONG_WORD = "W" * 300

# Which elements stick out past the viewport's right edge (for the failure message).
OVERFLOW_REPORT = """() => {
  const clipped = (el) => {
    for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
      if (getComputedStyle(up).overflowX !== 'visible') return true;
    }
    return false;
  };
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    const box = el.getBoundingClientRect();
    if (box.right > innerWidth + 0.5 && box.width > 0 && !clipped(el)) {
      const name = `${el.tagName.toLowerCase()}.${el.className}`.slice(0, 60);
      out.push(`${name} right=${Math.round(box.right)}`);
    }
  }
  return {width: document.documentElement.scrollWidth, culprits: out.slice(-8)};
}"""


def assert_fits(page: Any, what: str) -> None:
    report = page.evaluate(OVERFLOW_REPORT)
    assert report["width"] <= PHONE["width"], f"{what} is {report['width']} px wide: {report}"


def long_shop(app: Any, theme: str) -> tuple[Showcase, str]:
    """A dressed shop (bench.showcase) with the longest names and words, ready to sell."""
    from tenants.catalog.products import create_product
    from tenants.content import services as content
    from tenants.settings.services import get_settings
    from tenants.shipping.models import ShippingRate, ShippingZone

    shop = seed_showcase(app, f"phone-{theme}-{uuid.uuid4().hex[:6]}", theme, name=LONG_NAME)
    with app.app_context(), tenant_context(shop.tenant):
        product = create_product(
            LONG_TITLE, 2500, description=f"<p>{LONG_WORD}</p>", inventory_quantity=10
        )
        _, errors = content.save_page(
            None,
            {
                "title": LONG_WORD[:200],
                "handle": "long",
                "body": f"<p>{LONG_WORD}</p>",
                "published": "1",
            },
        )
        assert not errors, errors
        settings = get_settings()
        settings.country = "GB"
        settings.bank_transfer = True
        settings.bank_transfer_instructions = f"Pay to {LONG_WORD}."
        zone = ShippingZone(name="UK", countries=["GB"], regions=[])
        zone.rates = [ShippingRate(name="Royal Mail 48", kind="flat", price_cents=399)]
        db.session.add(zone)
        db.session.commit()
        handle = product.handle
    return shop, handle


def coming_soon_host(app: Any, theme: str) -> str:
    slug = f"phone-soon-{uuid.uuid4().hex[:8]}"
    with app.app_context():
        tenant = create_tenant(slug, LONG_NAME, theme=theme, launched=False)
        db.session.commit()
        record = TenantRecord.of(tenant)
    with app.app_context(), tenant_context(record):
        from tenants.settings.services import get_settings

        get_settings().storefront_password_hash = hash_password("open-sesame-42")
        db.session.commit()
    return f"{slug}.localhost"


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport=PHONE)
    yield context.new_page()
    context.close()


@pytest.mark.parametrize("theme", THEMES)
def test_no_storefront_page_scrolls_sideways_on_a_phone(app, live_server, phone, theme):
    expect = playwright_api.expect
    shop, handle = long_shop(app, theme)

    def visit(name: str, path: str, status: int = 200) -> None:
        response = phone.goto(live_server.url(shop.host, path))
        assert response is not None and response.status == status, (name, response)
        assert_fits(phone, f"{theme} {name}")

    for name, path in shop.paths().items():
        visit(name, path)
    visit("long product", f"/products/{handle}")
    visit("long page", "/pages/long")
    visit("search, no results", "/search?q=zzzzqqq")
    visit("empty cart", "/cart")
    visit("log in", "/account/login")
    visit("register", "/account/register")
    visit("404", "/products/no-such-thing", 404)

    # The open menu fits too.
    phone.get_by_text("Menu", exact=True).click()
    expect(phone.get_by_role("navigation", name="Main")).to_be_visible()
    assert_fits(phone, f"{theme} open menu")

    # The buying journey, a step at a time, with the long product in the cart.
    visit("long product", f"/products/{handle}")
    phone.get_by_role("button", name="Add to cart").click()
    expect(phone).to_have_url(re.compile(r"/cart$"))
    assert_fits(phone, f"{theme} cart")
    phone.get_by_role("link", name="Check out").click()
    assert_fits(phone, f"{theme} checkout, information")
    phone.get_by_role("button", name="Continue to shipping").click()  # empty: errors
    assert_fits(phone, f"{theme} checkout, information with errors")
    phone.get_by_label("Email").fill("ann@example.com")
    phone.get_by_label("Full name").fill(LONG_WORD[:100])
    phone.get_by_label("Address", exact=True).fill(LONG_WORD[:200])
    phone.get_by_label("City").fill("Leeds")
    phone.get_by_label("Country").select_option("GB")
    phone.get_by_label("Postal code").fill("LS1 1AA")
    phone.get_by_role("button", name="Continue to shipping").click()
    expect(phone.get_by_label(re.compile(r"^Royal Mail 48"))).to_be_visible()
    assert_fits(phone, f"{theme} checkout, shipping")
    phone.get_by_label(re.compile(r"^Royal Mail 48")).check()
    phone.get_by_role("button", name="Continue to payment").click()
    assert_fits(phone, f"{theme} checkout, payment")
    phone.get_by_label("Bank transfer").check()
    phone.get_by_role("button", name="Review your order").click()
    expect(phone.get_by_role("heading", name="Review your order")).to_be_visible()
    assert_fits(phone, f"{theme} checkout, review")
    phone.get_by_role("button", name=re.compile(r"Place order")).click()
    expect(phone.get_by_role("heading", name="Order #1001")).to_be_visible()
    assert_fits(phone, f"{theme} order status")

    phone.goto(live_server.url(coming_soon_host(app, theme)))
    assert_fits(phone, f"{theme} coming soon")


@pytest.mark.parametrize("theme", THEMES)
def test_the_phone_header_is_one_row_and_products_show_above_the_fold(
    app, live_server, phone, theme
):
    expect = playwright_api.expect
    shop = seed_showcase(app, f"fold-{theme}-{uuid.uuid4().hex[:6]}", theme, name="Fern & Flint")
    with app.app_context(), tenant_context(shop.tenant):
        from tenants.settings.services import get_settings

        get_settings().logo_file = None  # the name, not the logo: it must show once
        db.session.commit()
    phone.goto(live_server.url(shop.host))
    header = phone.get_by_role("banner")
    name = header.get_by_role("link", name="Fern & Flint")
    menu = header.get_by_text("Menu", exact=True)
    cart = header.get_by_role("link", name=re.compile(r"^Cart"))
    for part in (name, menu, cart):
        expect(part).to_be_visible()
    expect(header.get_by_text("Fern & Flint", exact=True)).to_have_count(1)  # once
    # One row: the three share a line, and the header is a small part of the screen.
    tops = {
        round(part.bounding_box()["y"] + part.bounding_box()["height"] / 2)
        for part in (name, menu, cart)
    }
    assert max(tops) - min(tops) <= 4, tops
    assert header.bounding_box()["height"] <= 80, header.bounding_box()
    first = phone.locator(".products > li").first
    assert first.bounding_box()["y"] < PHONE["height"], first.bounding_box()

    # Folded until asked: the menu opens (no script) onto Shop all, the links and search.
    nav = phone.get_by_role("navigation", name="Main")
    expect(nav).to_be_hidden()
    menu.click()
    expect(nav.get_by_role("link", name="Shop all")).to_be_visible()
    expect(nav.get_by_role("link", name="Outdoor gear")).to_be_visible()
    shop_all = nav.get_by_role("link", name="Shop all").get_attribute("href") or ""
    assert shop_all.endswith("/collections/all"), shop_all
    phone.get_by_role("search").get_by_label("Search products").fill("wool")
    phone.get_by_role("search").get_by_role("button", name="Search").click()
    expect(phone.get_by_role("heading", level=1)).to_contain_text("wool")


@pytest.mark.parametrize("theme", THEMES)
def test_the_desktop_header_shows_the_menu_in_one_row(app, browser, live_server, theme):
    expect = playwright_api.expect
    shop = seed_showcase(app, f"wide-{theme}-{uuid.uuid4().hex[:6]}", theme)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    try:
        page.goto(live_server.url(shop.host))
        expect(page.get_by_text("Menu", exact=True)).to_be_hidden()
        nav = page.get_by_role("navigation", name="Main")
        links = [nav.get_by_role("link", name="Shop all"), nav.get_by_role("link", name="About us")]
        search = page.get_by_role("search").get_by_label("Search products")
        cart = page.get_by_role("banner").get_by_role("link", name=re.compile(r"^Cart"))
        for part in (*links, search, cart):
            expect(part).to_be_visible()
        header = page.get_by_role("banner").bounding_box()
        assert header["height"] <= 100, header
    finally:
        context.close()


@pytest.mark.parametrize("theme", THEMES)
def test_the_home_page_links_the_shops_collections(app, live_server, phone, theme):
    from tenants.content import services as content

    expect = playwright_api.expect
    shop = seed_showcase(app, f"lists-{theme}-{uuid.uuid4().hex[:6]}", theme)
    with app.app_context(), tenant_context(shop.tenant):
        section = content.add_section(theme, "collection_list")
        errors = content.update_section(
            theme, section["id"], {"heading": "Shop by collection", "count": "6"}
        )
        assert not errors, errors
        content.publish(theme)
        db.session.commit()
    phone.goto(live_server.url(shop.host))
    listed = phone.get_by_role("region", name="Shop by collection")
    expect(listed.get_by_role("link", name="Shop all products")).to_be_visible()
    assert_fits(phone, f"{theme} home with its collections")
    listed.get_by_role("link", name="Outdoor gear").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Outdoor gear")
    # Under the featured products, and first in the menu: every product.
    phone.goto(live_server.url(shop.host))
    phone.get_by_role("link", name="Shop all products").first.click()
    expect(phone).to_have_url(re.compile(r"/collections/all$"))
    expect(phone.get_by_role("heading", level=1)).to_have_text("All products")
