"""The heaviest product page (`bench.showcase`: 48 variants, 8 images) with 200
published reviews stays under the same limits as without (tests/shop/test_page_weight.py):
the page shows one page of reviews, whatever their number."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from bench.showcase import THEMES, Showcase, seed_showcase
from tests.chromium import playwright_api  # noqa: F401  (skips without Chromium)
from tests.shop.test_page_weight import MAX_ELEMENTS, MAX_HTML_BYTES

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def showcases(app: Any) -> dict[str, Showcase]:
    return {
        theme: seed_showcase(app, f"rated-{theme}-{uuid.uuid4().hex[:6]}", theme, reviews=200)
        for theme in THEMES
    }


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 390, "height": 844})  # a phone
    yield context.new_page()
    context.close()


@pytest.mark.parametrize("theme", THEMES)
def test_a_product_page_with_200_reviews_stays_light(
    theme: str, showcases: dict[str, Showcase], live_server: Any, page: Any
) -> None:
    shop = showcases[theme]
    response = page.goto(live_server.url(shop.host, shop.paths()["product"]))
    assert response is not None and response.status == 200
    html_bytes = len(response.body())
    elements = page.evaluate("document.getElementsByTagName('*').length")
    shown = page.evaluate("document.querySelectorAll('.review').length")
    print(f"{theme} product page, 200 reviews: {html_bytes / 1024:.1f} KB, {elements} elements")
    assert shown == 10
    assert page.get_by_text("Based on 200 reviews").is_visible()
    assert html_bytes < MAX_HTML_BYTES, f"{html_bytes:,} bytes of HTML"
    assert elements < MAX_ELEMENTS, f"{elements} DOM elements"
