"""A shopper on /collections/all in real Chromium: every product, sorted on request."""

from __future__ import annotations

import re

from tests.chromium import playwright_api


def test_shopper_sees_every_product_and_sorts_them_by_price(page, live_server, make_tenant):
    tenant = make_tenant(
        name="Corner Shop", products=[("Tea Towel", 900), ("Big Kettle", 4500), ("Mug", 1200)]
    )
    expect = playwright_api.expect
    response = page.goto(live_server.url(f"{tenant.slug}.localhost", "/collections/all"))
    assert response is not None and response.status == 200
    expect(page.get_by_role("heading", level=1)).to_have_text("All products")
    expect(page.get_by_role("status")).to_have_text("3 products")
    page.get_by_label("Sort by").select_option(label="Price, low to high")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"/collections/all\?sort=price-asc"))
    expect(page.get_by_label("Sort by")).to_have_value("price-asc")
    text = page.locator("main").inner_text()
    assert text.index("Tea Towel") < text.index("Mug") < text.index("Big Kettle")
