"""Newsletter subscribers: the back-office list (search, pages), its CSV export, and
leaving the list from a marketing email's signed link, with no login."""

from __future__ import annotations

import csv
import io
from urllib.parse import urlsplit

from sqlalchemy import select

from saas.db import db
from saas.tenancy import tenant_context
from tenants.content import newsletter
from tenants.content.models import NewsletterSubscriber
from tenants.customers.models import Customer
from tests.chromium import playwright_api


def subscribe(app, tenant, *emails: str) -> None:
    with app.app_context(), tenant_context(tenant):
        db.session.add_all(NewsletterSubscriber(email=e) for e in emails)


def subscribers(app, tenant) -> set[str]:
    with app.app_context(), tenant_context(tenant):
        return set(db.session.scalars(select(NewsletterSubscriber.email)))


def link_for(app, tenant, email: str) -> str:
    with app.app_context(), tenant_context(tenant):
        return newsletter.unsubscribe_url(email)


def test_the_list_is_searchable_paged_and_exported_as_csv(app, make_tenant, staff_client):
    tenant = make_tenant()
    subscribe(app, tenant, *(f"fan{n:02d}@example.com" for n in range(55)))
    subscribe(app, tenant, "alpha@example.com", "=cmd@example.com")
    client = staff_client(tenant, permissions=["customers"])
    assert (
        'href="/admin/customers/newsletter">Newsletter subscribers</a>'
        in client.get("/admin/customers").text
    )
    first = client.get("/admin/customers/newsletter").text
    assert "57 subscribers" in first and "Page 1 of 2" in first and "Next page" in first
    assert "fan00@example.com" in client.get("/admin/customers/newsletter?page=2").text
    found = client.get("/admin/customers/newsletter?q=ALPHA").text
    assert "1 subscriber matching “ALPHA”" in found and "fan01@" not in found
    assert (
        "No subscribers match these filters."
        in client.get("/admin/customers/newsletter?q=nobody").text
    )
    assert client.get("/admin/customers/newsletter?q=a%_b").status_code == 200  # LIKE-safe

    export = client.get("/admin/customers/newsletter.csv")
    assert export.status_code == 200 and export.mimetype == "text/csv"
    assert "attachment" in export.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(export.get_data(as_text=True))))
    assert rows[0] == ["Email", "Subscribed at (UTC)"] and len(rows) == 58
    assert [r[0] for r in rows if "cmd" in r[0]] == ["'=cmd@example.com"]  # no formula
    only = list(csv.reader(io.StringIO(client.get("/admin/customers/newsletter.csv?q=alpha").text)))
    assert [r[0] for r in only[1:]] == ["alpha@example.com"]


def test_the_list_needs_the_customers_area_and_shows_one_shop_only(app, make_tenant, staff_client):
    mine, other = make_tenant(), make_tenant()
    subscribe(app, other, "theirs@example.com")
    assert (
        staff_client(mine, permissions=["products"]).get("/admin/customers/newsletter").status_code
        == 403
    )
    client = staff_client(mine, permissions=["customers"])
    page = client.get("/admin/customers/newsletter").text
    assert "No subscribers yet." in page and "theirs@" not in page
    assert "theirs@" not in client.get("/admin/customers/newsletter.csv").text


def test_the_signed_link_unsubscribes_with_no_login(app, make_tenant, shop_client):
    tenant, other = make_tenant(), make_tenant()
    subscribe(app, tenant, "sam@example.com", "kim@example.com")
    subscribe(app, other, "sam@example.com")
    with app.app_context(), tenant_context(tenant):
        db.session.add(Customer(email="sam@example.com", accepts_marketing=True))
    url = urlsplit(link_for(app, tenant, "Sam@Example.com"))
    assert url.netloc.startswith(f"{tenant.slug}.localhost")
    client = shop_client(tenant)
    confirm = client.get(url.path)
    assert confirm.status_code == 200 and "private" in confirm.headers["Cache-Control"]
    assert "Unsubscribe from our newsletter?" in confirm.text and "sam@example.com" in confirm.text
    assert subscribers(app, tenant) == {"sam@example.com", "kim@example.com"}  # GET: no change
    done = client.post(url.path)
    assert done.status_code == 200 and "You are unsubscribed" in done.text
    assert subscribers(app, tenant) == {"kim@example.com"}
    with app.app_context(), tenant_context(tenant):
        assert db.session.scalar(select(Customer.accepts_marketing)) is False
    assert client.post(url.path).status_code == 200  # a second click: the same answer
    # Neither another shop's link nor a forged one works.
    assert shop_client(other).post(url.path).status_code == 404
    assert subscribers(app, other) == {"sam@example.com"}
    forged = client.get(url.path[:-3] + "abc")
    assert forged.status_code == 404 and "does not work" in forged.text


def test_a_marketing_footer_carries_the_link(app, make_tenant):
    tenant = make_tenant()
    with app.app_context(), tenant_context(tenant):
        footer = newsletter.unsubscribe_footer("sam@example.com")
        assert newsletter.unsubscribe_url("sam@example.com") in footer


def test_merchant_finds_and_exports_subscribers_and_a_shopper_leaves(
    app, page, live_server, make_tenant, make_staff
):
    expect = playwright_api.expect
    tenant = make_tenant(name="Paper Birds")
    owner = make_staff(tenant, role="owner")
    subscribe(app, tenant, "wren@example.com", "robin@example.com")
    host = f"{tenant.slug}.localhost"
    page.goto(live_server.url(host, "/admin/login"))
    page.get_by_label("Email").fill(owner.email)
    page.get_by_label("Password").fill(owner.password)
    page.get_by_role("button", name="Log in").click()
    page.goto(live_server.url(host, "/admin/customers"))
    page.get_by_role("link", name="Newsletter subscribers").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Newsletter subscribers")
    page.get_by_label("Search by email").fill("wren")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("cell", name="wren@example.com")).to_be_visible()
    expect(page.get_by_role("cell", name="robin@example.com")).to_have_count(0)
    with page.expect_download() as download:
        page.get_by_role("link", name="Export these subscribers as CSV").click()
    assert "wren@example.com" in download.value.path().read_text()

    shopper = page.context.browser.new_context().new_page()
    shopper.goto(
        link_for(app, tenant, "robin@example.com").replace(host, f"{host}:{live_server.port}")
    )
    expect(shopper.get_by_role("heading", level=1)).to_have_text("Unsubscribe from our newsletter?")
    shopper.get_by_role("button", name="Unsubscribe").click()
    expect(shopper.get_by_role("heading", level=1)).to_have_text("You are unsubscribed")
    assert subscribers(app, tenant) == {"wren@example.com"}
