"""The back office's pages besides accounts: dashboard, settings, products, areas.

Each test signs in through `staff_client` (a session written directly) and checks what
the merchant sees and what the database holds afterwards.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from sqlalchemy import func, select

from saas.db import db
from saas.handoff import issue
from saas.models import AuditEvent, HandoffPurpose, Tenant
from saas.tenancy import tenant_context
from tenants.analytics import dashboard
from tenants.catalog.models import Product
from tenants.catalog.products import ProductError, create_product, parse_price
from tenants.orders.models import Order
from tenants.settings.models import ShopSettings
from tests.conftest import log_in_as, product_titles
from tests.factories import make_plan, subscribe
from tests.forms import form_fields

NOW = datetime.now(UTC)


# --- helpers ------------------------------------------------------------------------


def add_orders(app, tenant, *orders):
    """Insert orders: (status, total_cents, placed_at); status is paid, fulfilled,
    cancelled or pending."""
    with app.app_context(), tenant_context(tenant):
        start = db.session.scalar(select(func.max(Order.number))) or 1000
        for n, (status, total, placed_at) in enumerate(orders, 1):
            # "fulfilled" is paid and shipped; "cancelled" was voided before payment.
            payment = {"fulfilled": "paid", "cancelled": "voided"}.get(status, status)
            db.session.add(
                Order(
                    number=start + n,
                    email=f"buyer{n}@example.com",
                    customer_name=f"Buyer {start + n}",
                    payment_status=payment,
                    fulfillment_status="fulfilled" if status == "fulfilled" else "unfulfilled",
                    cancelled_at=placed_at if status == "cancelled" else None,
                    currency="USD",
                    total_cents=total,
                    placed_at=placed_at,
                )
            )
        db.session.commit()


def shop_settings(app, tenant) -> dict:
    with app.app_context(), tenant_context(tenant):
        row = db.session.get(ShopSettings, 1)
        return {c.name: getattr(row, c.name) for c in ShopSettings.__table__.columns}


def update_settings(app, tenant, **values):
    with app.app_context(), tenant_context(tenant):
        row = db.session.get(ShopSettings, 1)
        for key, value in values.items():
            setattr(row, key, value)
        db.session.commit()


def tenant_fields(app, tenant) -> Tenant:
    with app.app_context():
        row = db.session.get(Tenant, tenant.id)
        db.session.expunge(row)
        return row


def audit_actions(app, tenant) -> list[AuditEvent]:
    with app.app_context():
        rows = db.session.scalars(
            select(AuditEvent).where(AuditEvent.tenant_id == tenant.id).order_by(AuditEvent.id)
        ).all()
        for row in rows:
            db.session.expunge(row)
        return list(rows)


def stat(html: str, label: str) -> str:
    match = re.search(
        rf'<span class="stat-label">{re.escape(label)}</span><span class="stat-value">([^<]*)<',
        html,
    )
    assert match, f"no stat card {label!r}"
    return match.group(1)


def image_bytes(fmt: str = "JPEG", size=(2000, 1000), mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, (200, 30, 60) if mode == "RGB" else (200, 30, 60, 128)).save(
        out, format=fmt
    )
    return out.getvalue()


def settings_form(**overrides) -> dict:
    data = {
        "name": "Plum Shop",
        "contact_email": "hello@plum.test",
        "currency": "EUR",
        "timezone": "Europe/Paris",
        "address_line1": "1 Rue des Prunes",
        "address_line2": "",
        "city": "Paris",
        "region": "",
        "postal_code": "75001",
        "country": "FR",
        "low_stock_threshold": "3",
    }
    data.update(overrides)
    return data


def media_files(app, tenant) -> list[str]:
    folder = Path(app.config["MEDIA_PATH"]) / tenant.schema
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# --- dashboard ----------------------------------------------------------------------


def test_dashboard_counts_only_this_shops_sales(app, make_tenant, staff_client):
    a, b = make_tenant(name="Shop A"), make_tenant(name="Shop B")
    add_orders(
        app,
        a,
        ("paid", 1000, NOW - timedelta(minutes=5)),
        ("fulfilled", 500, NOW - timedelta(minutes=1)),
        ("paid", 2000, NOW - timedelta(days=1)),  # yesterday: 30 days only
        ("paid", 9999, NOW - timedelta(days=40)),  # too old for either
        ("cancelled", 7777, NOW - timedelta(minutes=2)),  # not a sale
        ("pending", 3333, NOW - timedelta(minutes=3)),  # not a sale
    )
    add_orders(app, b, ("paid", 123456, NOW - timedelta(minutes=1)))

    page = staff_client(a, role="owner").get("/admin/")
    assert page.status_code == 200
    html = page.text
    assert stat(html, "Paid orders today") == "2"
    assert stat(html, "Revenue today") == "$15.00"
    assert stat(html, "Paid orders, last 30 days") == "3"
    assert stat(html, "Revenue, last 30 days") == "$35.00"
    assert "$1,234.56" not in html
    # Recent orders: the last five, newest first, whatever their status.
    recent = html.split('id="recent-heading"')[1].split("</section>")[0]
    assert recent.count("<tr>") == 6  # header + 5
    assert "#1002" in recent and "#1003" in recent and "#1004" not in recent
    assert recent.index("#1002") < recent.index("#1005") < recent.index("#1001")

    html_b = staff_client(b, role="owner").get("/admin/").text
    assert stat(html_b, "Paid orders today") == "1"
    assert stat(html_b, "Revenue today") == "$1,234.56"
    assert "Buyer 1001" in html_b and "$15.00" not in html_b


def test_dashboard_days_follow_the_shops_time_zone(app, make_tenant):
    tenant = make_tenant()
    now = datetime(2024, 5, 10, 1, 0, tzinfo=UTC)  # 10:00 on 10 May in Tokyo
    add_orders(
        app,
        tenant,
        ("paid", 100, datetime(2024, 5, 9, 16, 0, tzinfo=UTC)),  # 01:00 on 10 May, Tokyo
        ("paid", 200, datetime(2024, 5, 9, 14, 0, tzinfo=UTC)),  # 23:00 on 9 May, Tokyo
        # The 30 days run from 11 April (Tokyo) to today, 10 May.
        ("paid", 400, datetime(2024, 4, 10, 14, 59, tzinfo=UTC)),  # 23:59 on 10 April, Tokyo
        ("paid", 800, datetime(2024, 4, 10, 15, 0, tzinfo=UTC)),  # 00:00 on 11 April, Tokyo
    )
    with app.app_context(), tenant_context(tenant):
        tokyo = dashboard.sales(ZoneInfo("Asia/Tokyo"), now=now)
        assert (tokyo.today.orders, tokyo.today.revenue_cents) == (1, 100)
        assert (tokyo.period.orders, tokyo.period.revenue_cents) == (3, 1100)
        assert tokyo.since.isoformat() == "2024-04-11"
        utc = dashboard.sales(ZoneInfo("UTC"), now=now)
        assert (utc.today.orders, utc.today.revenue_cents) == (0, 0)
        days = dashboard.daily_sales(ZoneInfo("Asia/Tokyo"), now=now)
        assert len(days) == 30 and days[-1].revenue_cents == 100 and days[-2].revenue_cents == 200


def test_dashboard_empty_states(make_tenant, staff_client):
    html = staff_client(make_tenant(), role="owner").get("/admin/").text
    assert "No orders yet" in html
    assert "No products are running low." in html
    assert stat(html, "Paid orders today") == "0"


def test_low_stock_lists_tracked_products_at_five_or_fewer(app, make_tenant, staff_client):
    tenant = make_tenant()
    with app.app_context(), tenant_context(tenant):
        create_product("Sold Out Mug", 1000, inventory_quantity=0)
        create_product("Five Left Mug", 1000, inventory_quantity=5)
        create_product("Plenty Mug", 1000, inventory_quantity=6)
        create_product("Untracked Mug", 1000)
        db.session.commit()
    html = staff_client(tenant, role="owner").get("/admin/").text
    stock = html.split('id="stock-heading"')[1].split("</section>")[0]
    assert "Sold Out Mug" in stock and "sold out" in stock and "Five Left Mug" in stock
    assert "Plenty Mug" not in stock and "Untracked Mug" not in stock
    assert stock.index("Sold Out Mug") < stock.index("Five Left Mug")


def test_figures_only_for_people_who_may_see_them(make_tenant, staff_client):
    tenant = make_tenant()
    html = staff_client(tenant, permissions=["content"]).get("/admin/").text
    assert "Set up your shop" in html
    assert "Paid orders today" not in html and "Recent orders" not in html
    assert "Low stock" not in html
    # Steps link only where the person may go; no launch button without settings.
    assert 'href="/admin/themes"' in html and 'href="/admin/products"' not in html
    assert "Launch your shop</button>" not in html

    html = staff_client(tenant, permissions=["orders"]).get("/admin/").text
    assert "Paid orders today" in html and "Low stock" not in html


def test_checklist_follows_the_shop(app, make_tenant, staff_client):
    tenant = make_tenant(launched=False)
    owner = staff_client(tenant, role="owner")
    html = owner.get("/admin/").text
    # Five steps since shipping became one (issue 12); a new shop's suggested rate is
    # there but waits for the merchant's review.
    assert "0 of 5 steps done." in html
    assert 'href="/admin/products">Add a product' in html
    assert 'href="/admin/settings/shipping">Review your shipping rate' in html
    assert "Launch your shop</button>" in html

    owner.post("/admin/products/new", data={"title": "Mug", "price": "12", "status": "active"})
    owner.post("/admin/themes", data={"theme": "boutique"})
    html = owner.get("/admin/").text
    assert "2 of 5 steps done." in html
    assert 'href="/admin/products">Add a product' not in html

    # Payments count when a shopper can really pay, not by a flag.
    update_settings(app, tenant, bank_transfer=True)
    refused = owner.post("/admin/launch")
    assert refused.status_code == 400
    assert "Your shop can't launch yet" in refused.text
    assert "Your shipping rate is our suggestion" in refused.text
    assert tenant_fields(app, tenant).launched_at is None
    owner.post("/admin/settings/shipping/confirm")
    response = owner.post("/admin/launch", follow_redirects=True)
    assert "Your shop is live" in response.text
    assert "Set up your shop" not in response.text
    assert tenant_fields(app, tenant).launched_at is not None
    assert "shop.launched" in [e.action for e in audit_actions(app, tenant)]
    # Launching twice changes nothing and says so.
    assert "already live" in owner.post("/admin/launch", follow_redirects=True).text


# --- settings -----------------------------------------------------------------------


def test_settings_save_every_field(app, make_tenant, staff_client, shop_client):
    tenant = make_tenant(name="Old Name")
    owner = staff_client(tenant, role="owner")
    page = owner.get("/admin/settings")
    assert page.status_code == 200
    assert 'value="Old Name"' in page.text and '<option value="Europe/Paris"' in page.text

    response = owner.post("/admin/settings", data=settings_form(), follow_redirects=True)
    assert response.status_code == 200 and "Settings saved." in response.text
    saved = shop_settings(app, tenant)
    assert saved["contact_email"] == "hello@plum.test"
    assert (saved["currency"], saved["timezone"], saved["country"]) == ("EUR", "Europe/Paris", "FR")
    assert (saved["city"], saved["postal_code"]) == ("Paris", "75001")
    assert saved["low_stock_threshold"] == 3
    # The name lives on the platform row; the host cache lets go of the old one at once.
    assert tenant_fields(app, tenant).name == "Plum Shop"
    assert "Plum Shop" in shop_client(tenant).get("/").text
    event = [e for e in audit_actions(app, tenant) if e.action == "settings.updated"][-1]
    assert set(event.detail["fields"]) >= {"name", "contact_email", "currency", "timezone"}
    assert event.actor_type == "staff"

    again = owner.post("/admin/settings", data=settings_form(), follow_redirects=True)
    assert "Nothing to save" in again.text


def test_invalid_settings_keep_values_and_save_nothing(app, make_tenant, staff_client):
    tenant = make_tenant(name="Keep Me")
    before = shop_settings(app, tenant)
    owner = staff_client(tenant, role="owner")
    response = owner.post(
        "/admin/settings",
        data={
            **settings_form(
                name="Renamed",
                contact_email="not-an-email",
                timezone="Mars/Olympus_Mons",
                currency="XXX",
                country="ZZ",
                city="Lyon",
                low_stock_threshold="-2",
            ),
            "logo": (io.BytesIO(image_bytes()), "logo.jpg"),
            "storefront_password": "open-sesame",
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    html = response.text
    assert "Nothing was saved." in html
    assert "Enter an email address like name@example.com." in html
    assert "Choose a time zone from the list." in html
    assert "Choose a currency from the list." in html
    assert "Choose a country from the list." in html
    assert "Enter a whole number from 0 to 100,000, like 5." in html and 'value="-2"' in html
    assert 'value="not-an-email"' in html and 'value="Lyon"' in html and 'value="Renamed"' in html
    assert 'aria-describedby="contact_email-hint contact_email-error"' in html
    assert shop_settings(app, tenant) == before
    assert tenant_fields(app, tenant).name == "Keep Me"
    assert media_files(app, tenant) == []
    assert "settings.updated" not in [e.action for e in audit_actions(app, tenant)]

    blank = owner.post("/admin/settings", data=settings_form(name="  ", contact_email=""))
    assert blank.status_code == 400
    assert "Shop name is required." in blank.text and "Contact email is required." in blank.text


def test_logo_is_reencoded_stored_per_shop_and_served_only_there(
    app, make_tenant, staff_client, shop_client
):
    a, b = make_tenant(), make_tenant()
    owner = staff_client(a, role="owner")
    response = owner.post(
        "/admin/settings",
        data={**settings_form(), "logo": (io.BytesIO(image_bytes()), "photo.jpg")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    logo = shop_settings(app, a)["logo_file"]
    assert re.fullmatch(r"logo-[0-9a-f]{16}\.png", logo)
    assert media_files(app, a) == [logo]
    with Image.open(Path(app.config["MEDIA_PATH"]) / a.schema / logo) as stored:
        assert stored.format == "PNG" and stored.size == (1024, 512)

    with shop_client(a).get(f"/media/{logo}") as served:
        assert served.status_code == 200 and served.mimetype == "image/png"
        assert served.data.startswith(b"\x89PNG")
        assert "immutable" in served.headers["Cache-Control"]
        assert "max-age=31536000" in served.headers["Cache-Control"]
    assert f"/media/{logo}" in owner.get("/admin/settings").text

    # Another shop cannot reach it, by name or by climbing out of its own folder.
    assert shop_client(b).get(f"/media/{logo}").status_code == 404
    assert shop_client(b).get(f"/media/../{a.schema}/{logo}").status_code == 404
    assert shop_client(b).get(f"/media/%2e%2e/{a.schema}/{logo}").status_code == 404

    # A new logo replaces the old file; removing it deletes the file.
    owner.post(
        "/admin/settings",
        data={
            **settings_form(),
            "logo": (io.BytesIO(image_bytes("PNG", (64, 64), "RGBA")), "x.png"),
        },
        content_type="multipart/form-data",
    )
    second = shop_settings(app, a)["logo_file"]
    assert second != logo and media_files(app, a) == [second]
    with Image.open(Path(app.config["MEDIA_PATH"]) / a.schema / second) as replaced:
        assert replaced.mode == "RGBA" and replaced.size == (64, 64)
    assert shop_client(a).get(f"/media/{logo}").status_code == 404

    owner.post("/admin/settings", data={**settings_form(), "remove_logo": "1"})
    assert shop_settings(app, a)["logo_file"] is None and media_files(app, a) == []
    fields = [e.detail["fields"] for e in audit_actions(app, a) if e.action == "settings.updated"]
    assert ["logo"] in fields


@pytest.mark.parametrize(
    ("payload", "filename", "message"),
    [
        (b"<script>alert(1)</script>", "logo.png", "Upload a PNG, JPEG, WebP or GIF image."),
        (b"%PDF-1.4 not an image", "logo.pdf", "Upload a PNG, JPEG, WebP or GIF image."),
        (image_bytes("BMP", (10, 10)), "logo.bmp", "Upload a PNG, JPEG, WebP or GIF image."),
        (image_bytes("PNG", (50, 50))[:60], "cut.png", "could not be read"),
        (b"\x89PNG" + b"\0" * 20_000, "huge.png", "This file is 20 KB; the limit is 16 KB."),
    ],
)
def test_non_images_are_refused(
    app, make_tenant, staff_client, monkeypatch, payload, filename, message
):
    # A small limit, so the test client does not spool a 10 MB body to a temporary file.
    monkeypatch.setitem(app.config, "MAX_UPLOAD_BYTES", 16 * 1024)
    tenant = make_tenant()
    response = staff_client(tenant, role="owner").post(
        "/admin/settings",
        data={**settings_form(), "logo": (io.BytesIO(payload), filename)},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert message in response.text and 'id="logo-error"' in response.text
    assert shop_settings(app, tenant)["logo_file"] is None
    assert media_files(app, tenant) == []


def test_storefront_password_is_hashed_and_can_be_removed(app, make_tenant, staff_client):
    tenant = make_tenant(launched=False)
    owner = staff_client(tenant, role="owner")
    short = owner.post("/admin/settings", data={**settings_form(), "storefront_password": "abc"})
    assert short.status_code == 400 and "Use between 6 and 128 characters." in short.text
    assert shop_settings(app, tenant)["storefront_password_hash"] is None

    owner.post("/admin/settings", data={**settings_form(), "storefront_password": "preview-2024"})
    stored = shop_settings(app, tenant)["storefront_password_hash"]
    assert stored.startswith("$argon2id$") and "preview-2024" not in stored
    assert "A storefront password is set." in owner.get("/admin/settings").text

    # Saving without a new password keeps it.
    owner.post("/admin/settings", data=settings_form(city="Nice"))
    assert shop_settings(app, tenant)["storefront_password_hash"] == stored

    owner.post("/admin/settings", data={**settings_form(), "clear_storefront_password": "1"})
    assert shop_settings(app, tenant)["storefront_password_hash"] is None


def test_read_only_impersonation_cannot_change_settings(
    app, make_tenant, make_operator, shop_client
):
    tenant = make_tenant(name="Watched Shop", launched=False)
    operator = make_operator()
    sessions = {}
    for read_only in (True, False):
        with app.app_context():
            _, row = issue(
                HandoffPurpose.IMPERSONATE,
                tenant.id,
                operator_id=operator.id,
                read_only=read_only,
                reason="customer asked for help",
                session_ttl=timedelta(minutes=30),
            )
            row.used_at = datetime.now(UTC)
            db.session.commit()
            client = shop_client(tenant)
            log_in_as(client, f"imp:{tenant.id}:{row.id}")
            sessions[read_only] = client

    viewer = sessions[True]
    page = viewer.get("/admin/settings")
    assert page.status_code == 200 and "(read-only)" in page.text
    assert viewer.post("/admin/settings", data=settings_form(name="Hijacked")).status_code == 403
    assert viewer.post("/admin/launch").status_code == 403
    assert viewer.post("/admin/themes", data={"theme": "midnight"}).status_code == 403
    row = tenant_fields(app, tenant)
    assert (row.name, row.launched_at, row.theme) == ("Watched Shop", None, "base")

    helper = sessions[False]
    assert helper.post("/admin/settings", data=settings_form(name="Helped")).status_code == 302
    assert tenant_fields(app, tenant).name == "Helped"
    event = [e for e in audit_actions(app, tenant) if e.action == "settings.updated"][-1]
    assert event.actor_type == "operator" and event.detail.get("impersonating") is True


# --- products -----------------------------------------------------------------------


def test_products_empty_state_and_add(app, make_tenant, staff_client):
    tenant = make_tenant()
    client = staff_client(tenant, permissions=["products"])
    html = client.get("/admin/products").text
    assert "You have no products yet." in html and 'href="/admin/products/new"' in html

    response = client.post(
        "/admin/products/new",
        data={
            "title": "Blue Mug",
            "description": "Holds tea.",
            "price": "12.50",
            "quantity": "3",
            "status": "draft",
        },
        follow_redirects=True,
    )
    assert response.status_code == 200 and "“Blue Mug” was added." in response.text
    assert "$12.50" in response.text and "Draft" in response.text
    with app.app_context(), tenant_context(tenant):
        mug = db.session.scalar(select(Product))
        assert (mug.title, mug.price_cents, mug.inventory_quantity, mug.status) == (
            "Blue Mug",
            1250,
            3,
            "draft",
        )
        assert mug.description == "Holds tea." and mug.handle == "blue-mug"
    assert "product.created" in [e.action for e in audit_actions(app, tenant)]

    # The same title again gets its own handle; untracked stock reads so.
    client.post("/admin/products/new", data={"title": "Blue Mug", "price": "7", "status": "active"})
    with app.app_context(), tenant_context(tenant):
        handles = sorted(db.session.scalars(select(Product.handle)))
    assert handles == ["blue-mug", "blue-mug-2"]
    assert "Not tracked" in client.get("/admin/products").text


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("price", "abc", "“abc” cannot be read as a price. Write it like 12.50."),
        ("price", "-3", "The price cannot be negative."),
        ("price", "1.234", "“1.234” has too many decimals: a price in USD has at most 2"),
        ("price", "", "Enter a price, like 12.50."),
        ("price", "1e3", "“1e3” cannot be read as a price. Write it like 12.50."),
        ("price", "12,50", "“12,50” cannot be read as a price. Did you mean “1,250” or “12.5”?"),
        ("price", "2000000", "“2000000” is too large: a price can be at most 1,000,000.00."),
        ("quantity", "-1", "Stock cannot be negative."),
        ("quantity", "2.5", "Enter stock as a whole number"),
        ("title", "   ", "A product needs a title."),
        ("status", "archived", "Choose active or draft."),
    ],
)
def test_product_form_refuses_bad_input(app, make_tenant, staff_client, field, value, message):
    tenant = make_tenant()
    data = {"title": "Kettle", "price": "20", "quantity": "", "status": "active", field: value}
    response = staff_client(tenant, role="admin").post("/admin/products/new", data=data)
    assert response.status_code == 400
    assert message in response.text and f'id="{field}-error"' in response.text
    if field != "status" and value.strip():
        assert f'value="{value}"' in response.text
    assert product_titles(app, tenant) == []


def test_prices_are_parsed_exactly():
    assert parse_price("12.5", "USD", "en_US") == 1250
    assert parse_price("0.07", "USD", "en_US") == 7
    assert parse_price("1200", "JPY", "ja_JP") == 1200
    with pytest.raises(ProductError):
        parse_price("12.50", "JPY", "ja_JP")
    with pytest.raises(ProductError):
        parse_price("99999999999", "USD", "en_US")


def test_plan_product_limit_is_enforced(app, make_tenant, staff_client):
    tenant = make_tenant(products=[("Only One", 500)])
    subscribe(app, tenant, make_plan(app, max_products=1))
    client = staff_client(tenant, role="owner")
    assert "Your Tiny plan allows 1 product" in client.get("/admin/products/new").text
    response = client.post(
        "/admin/products/new", data={"title": "Second", "price": "5", "status": "active"}
    )
    assert response.status_code == 400
    assert "Your Tiny plan allows 1 product, and your catalog has 1." in response.text
    assert product_titles(app, tenant) == ["Only One"]


def test_products_paginate(app, make_tenant, staff_client):
    tenant = make_tenant(products=[(f"Item {n:02d}", 100 + n) for n in range(30)])
    client = staff_client(tenant, permissions=["products"])
    first = client.get("/admin/products").text
    assert "30 products" in first and "Page 1 of 2" in first and first.count("<tr>") == 26
    second = client.get("/admin/products?page=2").text
    assert second.count("<tr>") == 6 and 'rel="prev"' in second
    assert client.get("/admin/products?page=3").status_code == 404


# --- areas --------------------------------------------------------------------------


AREA_PAGES = {
    "/admin/products": "products",
    "/admin/products/new": "products",
    "/admin/orders": "orders",
    "/admin/analytics": "orders",
    "/admin/customers": "customers",
    "/admin/themes": "content",
    "/admin/settings": "settings",
    "/admin/billing": "billing",
}


def test_each_area_refuses_staff_without_it(make_tenant, staff_client):
    tenant = make_tenant()
    nobody = staff_client(tenant)
    assert nobody.get("/admin/").status_code == 200  # the dashboard is for every signed-in person
    for path in AREA_PAGES:
        assert nobody.get(path).status_code == 403, path
    for path, area in AREA_PAGES.items():
        client = staff_client(tenant, permissions=[area])
        assert client.get(path).status_code == 200, path
        others = [p for p, a in AREA_PAGES.items() if a != area]
        assert all(client.get(p).status_code == 403 for p in others), area
    products_only = staff_client(tenant, permissions=["products"])
    assert products_only.post("/admin/launch").status_code == 403
    assert products_only.post("/admin/themes", data={"theme": "midnight"}).status_code == 403
    assert products_only.post("/admin/settings", data=settings_form(name="Nope")).status_code == 403


def test_nav_shows_only_open_areas(make_tenant, staff_client):
    html = staff_client(make_tenant(), permissions=["products"]).get("/admin/products").text
    nav = html.split('aria-label="Back office"')[1].split("</nav>")[0]
    assert ">Products</a>" in nav and 'aria-current="page"' in nav
    assert ">Orders</a>" not in nav and ">Settings</a>" not in nav


def test_every_nav_link_names_a_real_view(app, make_tenant, staff_client):
    """A mistyped endpoint would be hidden silently (nobody may open an unknown view)."""
    from tenants.backoffice import NAV

    assert all(endpoint in app.view_functions for endpoint, _ in NAV), [
        e for e, _ in NAV if e not in app.view_functions
    ]
    nav = staff_client(make_tenant(), role="owner").get("/admin/").text
    nav = nav.split('aria-label="Back office"')[1].split("</nav>")[0]
    assert all(f">{label}</a>" in nav for _, label in NAV)


def test_another_shops_session_opens_nothing(make_tenant, staff_client, shop_client):
    a, b = make_tenant(), make_tenant()
    owner_a = staff_client(a, role="owner")
    assert owner_a.get("/admin/").status_code == 200
    intruder = shop_client(b)
    log_in_as(intruder, owner_a.staff.user_id)
    for path in ("/admin/", "/admin/settings", "/admin/orders"):
        response = intruder.get(path)
        assert response.status_code == 302 and "/admin/login" in response.location


def test_orders_list_paginates_and_stays_in_its_shop(app, make_tenant, staff_client):
    a, b = make_tenant(), make_tenant()
    client_a = staff_client(a, permissions=["orders"])
    assert "No orders yet" in client_a.get("/admin/orders").text
    add_orders(app, a, *[("paid", 100 * n, NOW - timedelta(hours=n)) for n in range(1, 28)])
    add_orders(app, b, ("paid", 424242, NOW))
    first = client_a.get("/admin/orders").text
    assert "27 orders" in first and "Page 1 of 2" in first and "#1001" in first
    assert "$4,242.42" not in first
    second = client_a.get("/admin/orders?page=2").text
    assert "#1027" in second and "#1026" in second and "#1001" not in second
    page_b = staff_client(b, permissions=["orders"]).get("/admin/orders").text
    assert "1 order," in page_b and "$4,242.42" in page_b and "#1002" not in page_b


def test_analytics_figures_and_empty_state(app, make_tenant, staff_client):
    tenant = make_tenant()
    client = staff_client(tenant, permissions=["orders"])
    assert "Nothing to show for this period yet." in client.get("/admin/analytics").text
    add_orders(
        app, tenant, ("paid", 1000, NOW), ("paid", 3000, NOW - timedelta(days=2)),
        ("pending", 999, NOW),
    )  # fmt: skip
    html = client.get("/admin/analytics?range=30d").text
    assert stat(html, "Orders") == "2"
    assert stat(html, "Total sales") == "$40.00"
    assert stat(html, "Average order value") == "$20.00"
    assert "Total sales per day" in html and "<svg" in html  # the chart, with its table
    assert "Show the figures as a table" in html
    for report in ("traffic", "funnel", "products", "customers", "discounts"):
        page = client.get(f"/admin/analytics/{report}?range=7d")
        assert page.status_code == 200 and "Last 7 days" in page.text, report
    export = client.get("/admin/analytics/overview.csv?range=30d")
    assert export.status_code == 200 and export.mimetype == "text/csv"
    assert export.text.splitlines()[0].startswith("Day,Orders,Gross sales")
    assert sum(int(line.split(",")[1]) for line in export.text.splitlines()[1:]) == 2
    bad = client.get("/admin/analytics?range=custom&start=2026-05-09&end=2026-05-01")
    assert bad.status_code == 400 and bad.text.count('aria-invalid="true"') == 1
    fields = form_fields(bad.text, "/admin/analytics")
    assert (fields["range"], fields["start"], fields["end"]) == (
        "custom",
        "2026-05-09",
        "2026-05-01",
    )
    assert "The end date must be on or after the start date." in bad.text
    assert client.get("/admin/analytics/nothing").status_code == 404
    # Another shop's analytics never show this shop's orders.
    other = staff_client(make_tenant(), permissions=["orders"]).get("/admin/analytics").text
    assert "Nothing to show for this period yet." in other


def test_customers_page_has_an_empty_state(make_tenant, staff_client):
    html = staff_client(make_tenant(), permissions=["customers"]).get("/admin/customers").text
    assert "No customers yet." in html


def test_theme_change(app, make_tenant, staff_client, shop_client):
    tenant = make_tenant()
    client = staff_client(tenant, permissions=["content"])
    html = client.get("/admin/themes").text
    assert "Your current theme" in html and "Midnight" in html and "Boutique" in html
    response = client.post("/admin/themes", data={"theme": "midnight"}, follow_redirects=True)
    assert "now uses the Midnight theme" in response.text
    row = tenant_fields(app, tenant)
    assert row.theme == "midnight" and shop_settings(app, tenant)["theme_chosen"] is True
    event = [e for e in audit_actions(app, tenant) if e.action == "theme.changed"][-1]
    assert event.detail == {"old": "base", "new": "midnight"}
    assert "/assets/midnight/theme.css" in shop_client(tenant).get("/").text
    assert client.post("/admin/themes", data={"theme": "../base"}).status_code == 400
    assert tenant_fields(app, tenant).theme == "midnight"


def test_billing_shows_plan_trial_and_usage(app, make_tenant, staff_client):
    tenant = make_tenant(products=[("A", 1), ("B", 2)])
    client = staff_client(tenant, permissions=["billing"])
    assert "This shop has no plan yet." in client.get("/admin/billing").text
    subscribe(app, tenant, make_plan(app, max_products=2))
    html = client.get("/admin/billing").text
    assert "Your plan: Tiny" in html and "Free trial" in html and "Trial ends" in html
    products_row = html.split("<td>Products</td>")[1].split("</tr>")[0]
    assert "<td>2</td>" in products_row and "limit reached" in products_row
    assert "Shoppers cannot pay yet." in html and 'href="/admin/settings/payments"' in html


def test_outbox_uses_the_admin_layout(app, make_tenant, staff_client):
    from saas.mail import send_email

    tenant = make_tenant()
    with app.app_context(), tenant_context(tenant):
        send_email("owner@example.com", "Hello there", "body")
    html = staff_client(tenant, role="owner").get("/admin/outbox").text
    assert "Hello there" in html and 'aria-label="Back office"' in html
