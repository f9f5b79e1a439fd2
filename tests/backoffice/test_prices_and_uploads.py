"""Issue 12 in the back office: prices typed as the shop's country writes them, files over
the upload limit answered with the form again and their size, and a shop name that is too
long refused in the settings with a message."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from saas.db import db
from saas.tenancy import tenant_context
from tenants.catalog.models import ProductImage, ProductImport, ProductVariant
from tenants.catalog.products import create_product
from tenants.settings.models import ShopSettings
from tests.forms import form_fields

LIMIT = 16 * 1024  # small, so the test client does not spool bodies to temporary files


def png(size: int) -> bytes:
    """A valid PNG of about `size` bytes (noise does not compress)."""
    import random

    side = int((size / 3) ** 0.5) + 1
    noise = random.Random(7).randbytes(side * side * 3)
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), noise).save(out, format="PNG", compress_level=0)
    return out.getvalue()


def set_shop(app, tenant, **values) -> None:
    with app.app_context(), tenant_context(tenant):
        row = db.session.get(ShopSettings, 1)
        for key, value in values.items():
            setattr(row, key, value)
        db.session.commit()


def one_product(app, tenant) -> int:
    with app.app_context(), tenant_context(tenant):
        product = create_product("Clay Cup", 1800)
        db.session.commit()
        return product.id


def variant_prices(app, tenant) -> list[int]:
    with app.app_context(), tenant_context(tenant):
        return sorted(db.session.scalars(select(ProductVariant.price_cents)))


def media_files(app, tenant) -> list[str]:
    folder = Path(app.config["MEDIA_PATH"]) / tenant.schema
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def count(app, tenant, model) -> int:
    with app.app_context(), tenant_context(tenant):
        return db.session.scalar(select(func.count()).select_from(model)) or 0


# --- prices -----------------------------------------------------------------------


def test_a_german_shop_types_prices_the_german_way(app, make_tenant, staff_client):
    tenant = make_tenant()
    set_shop(app, tenant, country="DE", currency="EUR")
    client = staff_client(tenant, permissions=["products"])
    form = client.get("/admin/products/new").text
    assert "For example 12,50." in form  # the hint in the shop's locale

    def add(price: str):
        return client.post(
            "/admin/products/new", data={"title": "Krug", "price": price, "status": "active"}
        )

    assert add("1.234,50 €").status_code == 302
    assert variant_prices(app, tenant) == [123450]
    # "12.50" is not how Germany writes 12,50: Babel says so rather than reading 1.250.
    ambiguous = add("12.50")
    assert ambiguous.status_code == 400
    assert "“12.50” cannot be read as a price. Did you mean “1.250” or “12,5”?" in ambiguous.text
    assert 'value="12.50"' in ambiguous.text  # kept for the merchant to correct
    too_large = add("2.000.000")
    assert too_large.status_code == 400
    assert "“2.000.000” is too large: a price can be at most 1.000.000,00." in too_large.text
    unreadable = add("zwölf")
    assert "“zwölf” cannot be read as a price. Write it like 12,50." in unreadable.text
    assert variant_prices(app, tenant) == [123450]

    # The product page shows the price back as Germany writes it, and saving it as shown
    # keeps it.
    with app.app_context(), tenant_context(tenant):
        product_id = db.session.scalar(select(ProductVariant.product_id))
    page = client.get(f"/admin/products/{product_id}").text
    match = re.search(r'name="price"[^>]*value="([^"]*)"', page) or re.search(
        r'value="([^"]*)"[^>]*name="price"', page
    )
    assert match is not None and "1.234,50" in match.group(0)


def test_an_american_shop_reads_dollars_and_refuses_a_european_comma(
    app, make_tenant, staff_client
):
    tenant = make_tenant()
    set_shop(app, tenant, country="US", currency="USD")
    client = staff_client(tenant, permissions=["products"])
    ok = client.post(
        "/admin/products/new", data={"title": "Mug", "price": "$1,234.50", "status": "active"}
    )
    assert ok.status_code == 302 and variant_prices(app, tenant) == [123450]
    comma = client.post(
        "/admin/products/new", data={"title": "Cup", "price": "12,50", "status": "active"}
    )
    assert comma.status_code == 400
    assert "Did you mean “1,250” or “12.5”?" in comma.text


# --- uploads over the limit -----------------------------------------------------------


@pytest.fixture
def small_limit(app, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_UPLOAD_BYTES", LIMIT)


def test_an_image_over_the_limit_gets_the_product_form_back(
    app, make_tenant, staff_client, small_limit
):
    tenant = make_tenant()
    product_id = one_product(app, tenant)
    client = staff_client(tenant, permissions=["products"])
    assert "up to 16 KB and 40 megapixels" in client.get(f"/admin/products/{product_id}").text
    data = png(20 * 1024)
    url = f"/admin/products/{product_id}"
    form = form_fields(client.get(url).text, url) | {"vendor": "Clay & Co"}
    response = client.post(
        url,
        data=form | {"images": (io.BytesIO(data), "big.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert f"big.png: This file is {round(len(data) / 1024)} KB; the limit is 16 KB." in (
        response.text
    )
    assert 'id="images-error"' in response.text and 'value="Clay &amp; Co"' in response.text
    assert count(app, tenant, ProductImage) == 0 and media_files(app, tenant) == []


def test_a_csv_over_the_limit_gets_the_import_form_back(
    app, make_tenant, staff_client, small_limit
):
    tenant = make_tenant()
    client = staff_client(tenant, permissions=["products"])
    assert "at most 16 KB" in client.get("/admin/products/import").text
    body = b"Handle,Title\n" + b"mug,Mug\n" * 2600  # about 20 KB
    response = client.post(
        "/admin/products/import",
        data={"file": (io.BytesIO(body), "big.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert "This file is 20 KB; the limit is 16 KB. Split it into smaller files." in response.text
    assert 'id="file-error"' in response.text
    assert count(app, tenant, ProductImport) == 0


def test_a_logo_over_the_limit_gets_the_settings_form_back(
    app, make_tenant, staff_client, small_limit
):
    tenant = make_tenant()
    client = staff_client(tenant, role="owner")
    page = client.get("/admin/settings").text
    assert "up to 16 KB. Large images" in page
    data = png(24 * 1024)
    form = {
        "name": "Plum Shop",
        "contact_email": "hello@plum.test",
        "currency": "EUR",
        "timezone": "Europe/Paris",
        "country": "FR",
        "city": "Paris",
        "low_stock_threshold": "3",
        "logo": (io.BytesIO(data), "logo.png"),
    }
    response = client.post("/admin/settings", data=form, content_type="multipart/form-data")
    assert response.status_code == 400
    assert f"This file is {round(len(data) / 1024)} KB; the limit is 16 KB." in response.text
    assert 'value="Plum Shop"' in response.text  # what was typed is kept
    with app.app_context(), tenant_context(tenant):
        row = db.session.get(ShopSettings, 1)
        assert row.logo_file is None and row.city != "Paris"  # nothing saved
    assert media_files(app, tenant) == []


def test_a_body_far_over_the_limit_goes_back_to_its_form_with_the_message(
    app, make_tenant, staff_client, small_limit, monkeypatch
):
    # Werkzeug cuts off a body over MAX_CONTENT_LENGTH before any view reads it (413).
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 4 * LIMIT)
    tenant = make_tenant()
    product_id = one_product(app, tenant)
    client = staff_client(tenant, permissions=["products"])
    form_url = f"http://{tenant.slug}.localhost/admin/products/{product_id}"
    response = client.post(
        f"/admin/products/{product_id}",
        data={"images": (io.BytesIO(b"\0" * (5 * LIMIT)), "huge.png")},
        content_type="multipart/form-data",
        headers={"Referer": form_url},
    )
    assert response.status_code == 303 and response.headers["Location"] == form_url
    page = client.get(f"/admin/products/{product_id}").text
    assert "This file is 80 KB; the limit is 16 KB." in page
    assert "Add images" in page  # the form itself, ready for another file
    assert count(app, tenant, ProductImage) == 0 and media_files(app, tenant) == []
    # A Referer of another site is not followed: the page says why instead.
    elsewhere = client.post(
        f"/admin/products/{product_id}",
        data={"images": (io.BytesIO(b"\0" * (5 * LIMIT)), "huge.png")},
        content_type="multipart/form-data",
        headers={"Referer": "https://evil.example/"},
    )
    assert elsewhere.status_code == 413
    assert "This file is 80 KB; the limit is 16 KB." in elsewhere.text


@pytest.mark.browser
def test_in_chromium_an_image_over_the_limit_is_explained_on_the_form(
    app, browser, live_server, make_tenant, make_staff, monkeypatch, tmp_path
):
    from tests.chromium import playwright_api

    expect = playwright_api.expect
    monkeypatch.setitem(live_server.server.app.config, "MAX_UPLOAD_BYTES", LIMIT)
    tenant = make_tenant()
    one_product(app, tenant)
    owner = make_staff(tenant, role="owner")
    big = tmp_path / "photo.png"
    big.write_bytes(png(20 * 1024))
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.set_default_timeout(10_000)
    try:
        page.goto(live_server.url(f"{tenant.slug}.localhost", "/admin/login"))
        page.get_by_label("Email").fill(owner.email)
        page.get_by_label("Password").fill(owner.password)
        page.get_by_role("button", name="Log in").click()
        page.get_by_role("link", name="Products", exact=True).first.click()
        page.get_by_role("link", name="Clay Cup").first.click()
        image = page.get_by_label("Add images")
        expect(page.get_by_text(re.compile("up to 16 KB and 40 megapixels"))).to_be_visible()
        image.set_input_files(str(big))
        page.get_by_label("Vendor").fill("Clay & Co")
        page.get_by_role("button", name="Save product").click()
        expect(
            page.get_by_text(re.compile(r"This file is \d+ KB; the limit is 16 KB\."))
        ).to_be_visible()
        expect(page.get_by_label("Add images")).to_have_attribute("aria-invalid", "true")
        expect(page.get_by_label("Vendor")).to_have_value("Clay & Co")  # what was typed stays
        assert count(app, tenant, ProductImage) == 0 and media_files(app, tenant) == []
    finally:
        page.context.close()


# --- the shop's name in the settings ----------------------------------------------------


def test_a_long_shop_name_is_refused_in_the_settings(app, make_tenant, staff_client):
    tenant = make_tenant(name="Plum")
    client = staff_client(tenant, role="owner")
    form = {
        "name": "P" * 300,
        "contact_email": "hello@plum.test",
        "currency": "USD",
        "timezone": "UTC",
        "country": "US",
        "low_stock_threshold": "5",
    }
    response = client.post("/admin/settings", data=form)
    assert response.status_code == 400
    assert "Shop name can have at most 200 characters." in response.text
    assert 'id="name-error"' in response.text
    with app.app_context():
        from saas.models import Tenant

        assert db.session.get(Tenant, tenant.id).name == "Plum"


def test_a_german_shops_csv_reads_exported_and_spreadsheet_prices(app, make_tenant, staff_client):
    tenant = make_tenant()
    set_shop(app, tenant, country="DE", currency="EUR")
    client = staff_client(tenant, permissions=["products"])
    body = (
        "Handle,Title,Variant Price\n"
        "krug,Krug,1234.50\n"  # as exports (ours, Shopify's) write it
        'tasse,Tasse,"12,50"\n'  # as a German spreadsheet saves it
        "teller,Teller,zwölf\n"
    )
    response = client.post(
        "/admin/products/import",
        data={"file": (io.BytesIO(body.encode()), "produkte.csv")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    page = response.text
    assert "1 problem to fix" in page
    assert "Row 4, Variant Price: “zwölf” cannot be read as a price." in page
    assert "Row 2" not in page and "Row 3" not in page


def test_nginx_lets_through_every_body_the_app_answers_with_a_form():
    from saas.config import from_env

    config = from_env(
        {"DATABASE_URL": "postgresql://x/y", "REDIS_URL": "redis://x", "SECRET_KEY": "k"}
    )
    conf = (Path(__file__).parents[2] / "deploy/nginx/storefront-proxy.conf").read_text()
    match = re.search(r"^client_max_body_size (\d+)m;", conf, re.M)
    assert match is not None
    assert int(match.group(1)) * 1024 * 1024 >= config["MAX_CONTENT_LENGTH"]
    assert config["MAX_CONTENT_LENGTH"] > config["MAX_UPLOAD_BYTES"] == 10 * 1024 * 1024
