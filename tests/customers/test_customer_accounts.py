"""Customer accounts as people meet them: every account page is valid HTML, and a
shopper's journey in real Chromium with CSRF protection on."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from saas.db import db
from saas.jobs import make_worker
from saas.tenancy import tenant_context
from tenants.catalog.models import Product
from tenants.customers.models import CustomerToken
from tests.conftest import client_for, log_in_as
from tests.customers.test_customers import (
    ADDRESS,
    PASSWORD,
    make_customer,
    make_order,
    outbox,
    principal,
)


def _get(client: Any, path: str, status: int = 200, **kwargs: Any) -> str:
    response = client.get(path, **kwargs)
    assert response.status_code == status, f"{path}: {response.status}"
    return response.get_data(as_text=True)


def _post(client: Any, path: str, data: dict[str, str], status: int) -> str:
    response = client.post(path, data=data)
    assert response.status_code == status, f"{path}: {response.status}"
    return response.get_data(as_text=True)


def test_account_pages_are_valid_html(app, make_tenant, staff_client, tmp_path):
    from tests.shop.test_html_valid import assert_valid, check_html, checker_command

    command = checker_command()
    tenant = make_tenant(name="Fig Tree", products=[("Linen Shirt", 4500)])
    customer = make_customer(app, tenant, "valid@example.com", name="Val Id", tags=["VIP"])
    order = make_order(
        app,
        tenant,
        number=1001,
        email=customer.email,
        customer_id=customer.id,
        payment_status="paid",
        fulfillment_status="fulfilled",
        fulfillments=[
            {"carrier": "Royal Mail", "tracking_number": "RM1", "tracking_url": "https://t.example"}
        ],
    )
    with app.app_context(), tenant_context(tenant):
        product_id = db.session.scalars(select(Product.id)).one()

    anonymous = client_for(app, f"{tenant.slug}.localhost")
    pages: dict[str, str] = {
        "login": _get(anonymous, "/account/login"),
        "login failed": _post(
            anonymous, "/account/login", {"email": "x@example.com", "password": "nope"}, 401
        ),
        "register": _get(anonymous, "/account/register"),
        "register errors": _post(
            anonymous, "/account/register", {"email": "bad", "password": "x", "confirm": "y"}, 400
        ),
        "reset request": _get(anonymous, "/account/reset"),
        "reset sent": _post(anonymous, "/account/reset", {"email": "x@example.com"}, 200),
        "link problem": _get(anonymous, "/account/reset/not-a-token", 400),
        "lookup": _get(anonymous, "/orders/lookup"),
        "lookup failed": _post(
            anonymous, "/orders/lookup", {"number": "1", "email": "x@example.com"}, 404
        ),
        "guest order": _get(anonymous, f"/orders/{order.token}"),
    }
    guest_shop = client_for(app, f"{tenant.slug}.localhost")
    make_order(app, tenant, number=1002, email="guest@example.com")
    pages["check email"] = _post(
        guest_shop,
        "/account/register",
        {"email": "guest@example.com", "password": PASSWORD, "confirm": PASSWORD},
        200,
    )
    make_worker(app).work(burst=True)
    link = re.search(r"/account/reset/\S+", outbox(app, tenant)[-1].body)
    assert link
    pages["finish account"] = _get(guest_shop, link.group(0))

    client = client_for(app, f"{tenant.slug}.localhost")
    log_in_as(client, principal(tenant, customer))
    pages["orders"] = _get(client, "/account")
    pages["order"] = _get(client, "/account/orders/1001")
    pages["addresses empty"] = _get(client, "/account/addresses")
    pages["address errors"] = _post(client, "/account/addresses/new", {"country": "US"}, 400)
    _post(client, "/account/addresses/new", ADDRESS, 302)
    _post(client, "/account/addresses/new", {**ADDRESS, "line1": "2 Quai"}, 302)
    pages["addresses"] = _get(client, "/account/addresses")
    pages["address form"] = _get(client, "/account/addresses/new")
    with app.app_context(), tenant_context(tenant):
        from tenants.customers.models import CustomerAddress

        address_id = db.session.scalars(select(CustomerAddress.id)).first()
    pages["address edit"] = _get(client, f"/account/addresses/{address_id}")
    pages["address delete"] = _get(client, f"/account/addresses/{address_id}/delete")
    pages["wishlist empty"] = _get(client, "/account/wishlist")
    pages["product with wishlist button"] = _get(client, "/products/linen-shirt")
    _post(client, "/account/wishlist", {"product_id": str(product_id)}, 302)
    pages["product in wishlist"] = _get(client, "/products/linen-shirt")
    pages["wishlist"] = _get(client, "/account/wishlist")
    pages["settings"] = _get(client, "/account/settings")
    pages["settings errors"] = _post(
        client,
        "/account/settings",
        {"form": "password", "current_password": "x", "new_password": "y", "confirm": "z"},
        400,
    )

    staff = staff_client(tenant, role="owner")
    other = make_tenant()
    pages["back office empty list"] = _get(staff_client(other, role="owner"), "/admin/customers")
    pages["back office list"] = _get(staff, "/admin/customers")
    pages["back office no match"] = _get(staff, "/admin/customers?q=zzz")
    pages["back office customer"] = _get(staff, f"/admin/customers/{customer.id}")
    pages["back office customer errors"] = _post(
        staff,
        f"/admin/customers/{customer.id}",
        {"form": "notes", "note": "", "tags": "x" * 101},
        400,
    )
    assert_valid(check_html(command, pages, tmp_path / "pages"), list(pages))


def test_shopper_journey_in_chromium(browser, live_server, make_tenant, app):
    from tests.chromium import playwright_api

    expect = playwright_api.expect
    tenant = make_tenant(name="Fig Tree", products=[("Linen Shirt", 4500)])
    host = f"{tenant.slug}.localhost"
    context = browser.new_context(viewport={"width": 390, "height": 844})  # a phone
    page = context.new_page()
    try:
        page.goto(live_server.url(host, "/products/linen-shirt"))
        expect(page.get_by_role("button", name="Add to wishlist")).to_have_count(0)
        page.get_by_role("link", name="Log in").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Log in")
        page.get_by_role("link", name="Create an account").click()
        page.get_by_label("Name").fill("Robin Shopper")
        page.get_by_label("Email", exact=True).fill("robin@example.com")
        page.get_by_label("Password", exact=True).fill("weak")
        page.get_by_label("Password again").fill("weak")
        page.get_by_role("button", name="Create account").click()
        expect(page.get_by_text("Use at least 10 characters.")).to_be_visible()
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_label("Password again").fill(PASSWORD)
        page.get_by_role("button", name="Create account").click()
        expect(page.get_by_text("Welcome! Your account is ready.")).to_be_visible()
        expect(page.get_by_text("You haven't placed any orders yet.")).to_be_visible()

        page.goto(live_server.url(host, "/products/linen-shirt"))
        page.get_by_role("button", name="Add to wishlist").click()
        expect(page.get_by_text("Saved in your wishlist.")).to_be_visible()

        page.get_by_role("link", name="Account").click()
        page.get_by_role("navigation", name="Your account").get_by_role(
            "link", name="Addresses"
        ).click()
        page.get_by_role("link", name="Add an address").first.click()
        page.get_by_label("Street address").fill("12 Rue des Lilas")
        page.get_by_label("City").fill("Lyon")
        page.get_by_label("Postal code").fill("69001")
        page.get_by_label("Country").select_option("FR")
        page.get_by_role("button", name="Add address").click()
        expect(page.get_by_text("Address added.")).to_be_visible()
        expect(page.get_by_text("Default address")).to_be_visible()

        page.get_by_role("link", name="Wishlist").click()
        expect(page.get_by_role("link", name="Linen Shirt")).to_be_visible()

        page.get_by_role("button", name="Log out").click()
        expect(page.get_by_text("You're logged out.")).to_be_visible()
        page.get_by_label("Email").fill("robin@example.com")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    finally:
        context.close()
    with app.app_context(), tenant_context(tenant):
        assert db.session.scalars(select(CustomerToken)).all() == []
