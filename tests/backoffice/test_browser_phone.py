"""The back office on a 360 x 740 phone, in real Chromium (issue 12): no page scrolls
sideways, even with the longest shop name and 300-character words, and every area is
one tap away from the "Menu" (a <details>: no script)."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from bench.showcase import seed_showcase
from saas.db import db
from saas.tenancy import tenant_context
from tenants.backoffice import NAV
from tests.chromium import playwright_api
from tests.conftest import client_for
from tests.shop.test_browser_phone import LONG_NAME, LONG_TITLE, LONG_WORD, PHONE, assert_fits

AREAS = [label for _, label in NAV]


def shop_with_an_order(app: Any) -> tuple[Any, int]:
    """A dressed shop with the longest name, a long product and an order #1001 from a
    customer with long names; returns it and the long product's id."""
    from tenants.catalog.products import create_product
    from tenants.settings.services import get_settings
    from tenants.shipping.models import ShippingRate, ShippingZone

    shop = seed_showcase(app, f"bo-phone-{uuid.uuid4().hex[:6]}", "base", name=LONG_NAME)
    with app.app_context(), tenant_context(shop.tenant):
        product = create_product(
            LONG_TITLE, 2500, description=f"<p>{LONG_WORD}</p>", inventory_quantity=10
        )
        settings = get_settings()
        settings.country = "GB"
        settings.bank_transfer = True
        zone = ShippingZone(name=LONG_WORD[:100], countries=["GB"], regions=[])
        zone.rates = [ShippingRate(name=LONG_WORD[:100], kind="flat", price_cents=399)]
        db.session.add(zone)
        db.session.commit()
        product_id, variant_id = product.id, product.variants[0].id
    client = client_for(app, shop.host)
    assert client.post("/cart/add", data={"variant": variant_id, "quantity": 1}).status_code == 302
    shopper = {
        "email": f"{'w' * 60}@example.com",
        "name": LONG_WORD[:100],
        "line1": LONG_WORD[:200],
        "city": "Leeds",
        "postal_code": "LS1 1AA",
        "country": "GB",
    }
    assert client.post("/checkout", data=shopper).status_code == 302
    shipping = client.get("/checkout/shipping").get_data(as_text=True)
    rate = shipping.split('name="shipping" value="')[1].split('"')[0]
    client.post("/checkout/shipping", data={"shipping": rate})
    client.post("/checkout/payment", data={"payment": "bank_transfer"})
    review = client.get("/checkout/review").get_data(as_text=True)
    total = review.split('name="total" value="')[1].split('"')[0]
    assert client.post("/checkout/review", data={"total": total}).status_code == 302
    return shop, product_id


def log_in(page: Any, live_server: Any, host: str, owner: Any) -> None:
    page.goto(live_server.url(host, "/admin/login"))
    page.get_by_label("Email").fill(owner.email)
    page.get_by_label("Password").fill(owner.password)
    page.get_by_role("button", name="Log in").click()
    playwright_api.expect(page.get_by_role("navigation", name="Back office")).to_be_visible()


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport=PHONE)
    yield context.new_page()
    context.close()


def test_no_back_office_page_scrolls_sideways_on_a_phone(app, live_server, phone, make_staff):
    shop, product_id = shop_with_an_order(app)
    log_in(phone, live_server, shop.host, make_staff(shop.tenant, role="owner"))
    with app.app_context(), tenant_context(shop.tenant):
        from tenants.customers.models import Customer

        customer_id = db.session.scalar(select(Customer.id).limit(1))
    pages = {
        "dashboard": "/admin/",
        "products": "/admin/products",
        "product edit": f"/admin/products/{product_id}",
        "new product": "/admin/products/new",
        "collections": "/admin/collections",
        "orders": "/admin/orders",
        "order": "/admin/orders/1001",
        "customers": "/admin/customers",
        "settings": "/admin/settings",
        "payments": "/admin/settings/payments",
        "shipping": "/admin/settings/shipping",
        "taxes": "/admin/settings/taxes",
        "discounts": "/admin/discounts",
        "new discount": "/admin/discounts/new",
        "online store": "/admin/themes",
        "theme editor": "/admin/themes/customize",
        "menus": "/admin/themes/menus",
        "pages": "/admin/themes/pages",
        "analytics": "/admin/analytics",
        "staff": "/admin/staff",
        "billing": "/admin/billing",
        "account": "/admin/account",
    }
    if customer_id is not None:
        pages["customer"] = f"/admin/customers/{customer_id}"
    for name, path in pages.items():
        response = phone.goto(live_server.url(shop.host, path))
        assert response is not None and response.status == 200, (name, response)
        assert_fits(phone, f"back office {name}")
    phone.get_by_text("Menu", exact=True).click()
    assert_fits(phone, "back office, menu open")


def test_every_back_office_area_is_one_tap_from_the_phone_menu(
    app, live_server, phone, make_tenant, make_staff
):
    expect = playwright_api.expect
    shop = make_tenant(name="Fern & Flint")
    log_in(phone, live_server, f"{shop.slug}.localhost", make_staff(shop, role="owner"))
    nav = phone.get_by_role("navigation", name="Back office")
    menu = nav.get_by_text("Menu", exact=True)
    expect(menu).to_be_visible()
    assert menu.bounding_box()["y"] < PHONE["height"] / 3, menu.bounding_box()
    expect(nav.get_by_role("link", name="Orders", exact=True)).to_be_hidden()  # folded
    menu.click()
    for area in AREAS:
        link = nav.get_by_role("link", name=area, exact=True)
        expect(link).to_be_visible()
        assert link.bounding_box()["y"] + link.bounding_box()["height"] <= PHONE["height"], area
    nav.get_by_role("link", name="Billing", exact=True).click()
    expect(phone).to_have_url(re.compile(r"/admin/billing$"))
    expect(nav.get_by_role("link", name="Billing", exact=True)).to_be_hidden()  # folded again
    menu.click()
    expect(nav.get_by_role("link", name="Billing", exact=True)).to_have_attribute(
        "aria-current", "page"
    )


def test_the_back_office_menu_is_a_sidebar_on_a_desktop(
    app, browser, live_server, make_tenant, make_staff
):
    expect = playwright_api.expect
    shop = make_tenant(name="Fern & Flint")
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    try:
        log_in(page, live_server, f"{shop.slug}.localhost", make_staff(shop, role="owner"))
        nav = page.get_by_role("navigation", name="Back office")
        expect(nav.get_by_text("Menu", exact=True)).to_be_hidden()
        for area in AREAS:
            expect(nav.get_by_role("link", name=area, exact=True)).to_be_visible()
    finally:
        context.close()
