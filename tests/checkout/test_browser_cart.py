"""The cart in real Chromium, on a phone-sized screen: add, change, discount, remove.

The live server runs as in production (CSRF on), so this also shows the cart page's
forms carry their tokens and "Add to cart" passes the same-origin check.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from saas.db import db
from saas.tenancy import tenant_context
from tenants.discounts.models import Discount
from tests.checkout.test_cart import make_product
from tests.chromium import playwright_api

SHOTS = os.environ.get("CART_SCREENSHOTS")  # a folder to keep the screenshots in


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport={"width": 360, "height": 740})
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def shot(page, tmp_path: Path, name: str) -> None:
    folder = Path(SHOTS) if SHOTS else tmp_path
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_shopper_fills_a_cart_on_a_phone(app, phone, live_server, make_tenant, tmp_path):
    expect = playwright_api.expect
    shop = make_tenant(theme="base")
    make_product(app, shop, "Linen Shirt", 4500, stock=3, colours=["Sand", "Navy"])
    with app.app_context(), tenant_context(shop):
        db.session.add(Discount(code="SAVE10", kind="percentage", value=1000))
        db.session.commit()
    host = f"{shop.slug}.localhost"
    page = phone
    page.goto(live_server.url(host, "/products/linen-shirt"))
    expect(page.get_by_role("link", name="Cart", exact=True)).to_be_visible()
    assert fits(page)
    shot(page, tmp_path, "product-phone")
    page.get_by_label("Quantity").fill("2")
    page.get_by_role("button", name="Add to cart").click()
    expect(page).to_have_url(re.compile(r"/cart$"))
    expect(page.get_by_role("status")).to_contain_text("Linen Shirt (Sand) (quantity 2)")
    expect(page.get_by_role("link", name="Cart (2 items)")).to_be_visible()
    assert fits(page)

    # The other colour, then more than there is of it.
    page.goto(live_server.url(host, "/products/linen-shirt?option1=Navy"))
    page.get_by_role("button", name="Add to cart").click()
    quantity = page.get_by_label("Quantity of Linen Shirt (Navy)")
    quantity.fill("3")
    page.get_by_role("button", name="Update Linen Shirt (Navy)").click()
    expect(page.get_by_label("Quantity of Linen Shirt (Navy)")).to_have_value("3")
    expect(page.get_by_role("link", name="Cart (5 items)")).to_be_visible()
    # More than the stock: the browser itself refuses (the field's max is the stock).
    sand = page.get_by_label("Quantity of Linen Shirt (Sand)")
    sand.fill("5")
    page.get_by_role("button", name="Update Linen Shirt (Sand)").click()
    assert sand.evaluate("input => input.validity.rangeOverflow")
    sand.fill("3")
    page.get_by_role("button", name="Update Linen Shirt (Sand)").click()
    expect(page.get_by_role("status")).to_contain_text("Linen Shirt (Sand): quantity updated to 3.")
    expect(page.get_by_role("link", name="Cart (6 items)")).to_be_visible()

    page.get_by_label("Discount code").fill("nope")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("alert")).to_contain_text("We don't know this code.")
    page.get_by_label("Discount code").fill("save10")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_text("SAVE10 (10% off)")).to_be_visible()
    expect(page.locator(".cart-total")).to_contain_text("$245.70")  # 135.00 + 138.00, less 10 %
    assert fits(page)
    shot(page, tmp_path, "cart-phone")
    page.set_viewport_size({"width": 1280, "height": 900})
    shot(page, tmp_path, "cart-desktop")

    page.get_by_role("button", name="Remove Linen Shirt (Sand)").click()
    page.get_by_role("button", name="Remove Linen Shirt (Navy)").click()
    expect(page.get_by_text("Your cart is empty.")).to_be_visible()
    expect(page.get_by_role("link", name="Cart", exact=True)).to_be_visible()
