"""Each theme as a shopper sees it in Chromium: the hero's call to action leads to the
products, cards say "Sale" and "Sold out", the footer holds the shop's contact, pages
and social links; and `make screenshots` (bench/screenshots.py) writes its pictures."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image

from bench.screenshots import capture_theme, file_name
from bench.showcase import THEMES, Showcase, seed_showcase
from tests.chromium import playwright_api

pytestmark = pytest.mark.browser
expect = playwright_api.expect


@pytest.fixture(scope="module")
def showcases(app: Any) -> dict[str, Showcase]:
    return {
        theme: seed_showcase(app, f"look-{theme}-{uuid.uuid4().hex[:6]}", theme) for theme in THEMES
    }


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 360, "height": 740})
    yield context.new_page()
    context.close()


@pytest.mark.parametrize("theme", THEMES)
def test_a_shopper_sees_hero_cards_and_footer(
    theme: str, showcases: dict[str, Showcase], live_server: Any, page: Any
) -> None:
    shop = showcases[theme]
    page.goto(live_server.url(shop.host, "/"))
    expect(page.get_by_role("heading", level=1, name="Made for the trail")).to_be_visible()
    expect(
        page.get_by_role("img", name="A walker in the Trail Jacket on a misty ridge")
    ).to_be_visible()

    footer = page.get_by_role("contentinfo")
    expect(
        footer.get_by_role("link", name=f"hello@{shop.host.split('.')[0]}.example")
    ).to_be_visible()
    expect(footer.get_by_role("link", name="+1 503 555 0142")).to_have_attribute(
        "href", "tel:+15035550142"
    )
    expect(footer.get_by_text("12 Harbour Street")).to_be_visible()
    expect(footer.get_by_role("link", name="Refund policy")).to_be_visible()
    expect(footer.get_by_role("link", name="Instagram (opens in a new tab)")).to_be_visible()

    page.get_by_role("link", name="Shop outdoor gear").click()
    expect(page.get_by_role("heading", level=1, name="Outdoor gear")).to_be_visible()
    on_sale = page.get_by_role("listitem").filter(has_text="Canvas Tote 2")
    expect(on_sale.get_by_text("Sale", exact=True)).to_be_visible()
    expect(on_sale.get_by_text("Regular price $27.50")).to_be_attached()
    sold_out = page.get_by_role("listitem").filter(has_text="Leather Wallet 4")
    expect(sold_out.get_by_text("Sold out", exact=True)).to_be_visible()
    # The whole card leads to the product.
    sold_out.get_by_role("link", name="Leather Wallet 4").click()
    expect(page.get_by_role("heading", level=1, name="Leather Wallet 4")).to_be_visible()
    expect(page.get_by_role("button", name="Sold out")).to_be_disabled()


def test_screenshots_script_writes_a_page_of_a_theme(
    showcases: dict[str, Showcase], live_server: Any, browser: Any, tmp_path: Any
) -> None:
    shop = showcases["boutique"]
    written = capture_theme(
        browser,
        "boutique",
        shop,
        lambda path: live_server.url(shop.host, path),
        tmp_path,
        pages=("home", "checkout"),
        widths=(360,),
    )
    assert written == [tmp_path / file_name("boutique", p, 360) for p in ("home", "checkout")]
    for path in written:
        with Image.open(path) as shot:
            assert shot.format == "JPEG" and shot.size == (360, 740)
