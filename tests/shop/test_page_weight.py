"""The heaviest product page a merchant is likely to build stays light, in every theme.

A product with three options (48 variants) and eight images (`bench.showcase`), loaded
in real Chromium from the live server: its HTML must stay under 100 KB and its DOM
under 800 elements, so it stays quick on a phone however the merchant fills it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from bench.showcase import BIG_IMAGES, BIG_OPTIONS, THEMES, Showcase, seed_showcase
from tests.chromium import playwright_api  # noqa: F401  (skips without Chromium)

pytestmark = pytest.mark.browser

MAX_HTML_BYTES = 100 * 1024
MAX_ELEMENTS = 800


@pytest.fixture(scope="module")
def showcases(app: Any) -> dict[str, Showcase]:
    return {
        theme: seed_showcase(app, f"weight-{theme}-{uuid.uuid4().hex[:6]}", theme)
        for theme in THEMES
    }


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 390, "height": 844})  # a phone
    yield context.new_page()
    context.close()


@pytest.mark.parametrize("theme", THEMES)
def test_a_big_product_page_stays_light(
    theme: str, showcases: dict[str, Showcase], live_server: Any, page: Any
) -> None:
    shop = showcases[theme]
    response = page.goto(live_server.url(shop.host, shop.paths()["product"]))
    assert response is not None and response.status == 200
    html_bytes = len(response.body())
    elements = page.evaluate("document.getElementsByTagName('*').length")
    figures = page.evaluate(
        """() => ({
            images: document.querySelectorAll('.gallery img').length,
            options: document.querySelectorAll('.variant-picker select').length,
            offers: JSON.parse([...document.querySelectorAll('script[type="application/ld+json"]')]
                .map(s => s.textContent).find(t => t.includes('"Product"'))).offers.length,
        })"""
    )
    print(f"{theme} product page: {html_bytes / 1024:.1f} KB of HTML, {elements} elements")
    # The page measured is the heavy one it is meant to be.
    assert figures == {
        "images": BIG_IMAGES,
        "options": len(BIG_OPTIONS),
        "offers": 4 * 4 * 3,
    }
    assert html_bytes < MAX_HTML_BYTES, f"{html_bytes:,} bytes of HTML"
    assert elements < MAX_ELEMENTS, f"{elements} DOM elements"
