"""The storefront's collection pages and the old addresses of renamed products."""

from __future__ import annotations

from saas.db import db
from saas.tenancy import tenant_context
from tenants.models import Product
from tenants.services import collections as collection_service
from tenants.services.catalog import create_product, update_product


def make_collection(app, tenant, **form):
    with app.app_context(), tenant_context(tenant):
        collection = collection_service.save_collection(None, form, "USD")
        db.session.commit()
        return collection.handle


def tag(app, tenant, title, *tags):
    with app.app_context(), tenant_context(tenant):
        product = db.session.query(Product).filter_by(title=title).one()
        product.tags = list(tags)
        db.session.commit()


def test_an_automatic_collection_lists_sorts_and_filters(app, make_tenant, shop_client):
    tenant = make_tenant(
        products=[("Oak Chair", 12000), ("Pine Chair", 8000), ("Oak Table", 30000)]
    )
    for title in ("Oak Chair", "Pine Chair"):
        tag(app, tenant, title, "chairs")
    tag(app, tenant, "Oak Table", "tables")
    handle = make_collection(
        app,
        tenant,
        title="Chairs",
        kind="automatic",
        match="all",
        sort="title",
        rule1_field="tag",
        rule1_value="chairs",
    )
    client = shop_client(tenant)
    page = client.get(f"/collections/{handle}").text
    assert "Oak Chair" in page and "Pine Chair" in page and "Oak Table" not in page
    assert page.index("Oak Chair") < page.index("Pine Chair")  # the collection's own order
    cheap_first = client.get(f"/collections/{handle}?sort=price-asc").text
    assert cheap_first.index("Pine Chair") < cheap_first.index("Oak Chair")
    under_100 = client.get(f"/collections/{handle}?max=100").text
    assert "Pine Chair" in under_100 and "Oak Chair" not in under_100
    # Junk in the controls is ignored, not an error.
    junk = client.get(f"/collections/{handle}?sort=%27;drop&min=abc&max=-5&tag=%3Cscript%3E")
    assert junk.status_code == 200 and "<script>" not in junk.text


def test_collections_belong_to_their_shop(app, make_tenant, shop_client):
    a = make_tenant(products=[("A Secret Lamp", 5000)])
    b = make_tenant(products=[("B Lamp", 5000)])
    tag(app, a, "A Secret Lamp", "lamps")
    handle = make_collection(
        app, a, title="Lamps", kind="automatic", match="all", sort="title",
        rule1_field="tag", rule1_value="lamps",
    )  # fmt: skip
    assert "A Secret Lamp" in shop_client(a).get(f"/collections/{handle}").text
    missing = shop_client(b).get(f"/collections/{handle}")
    assert missing.status_code == 404 and "A Secret Lamp" not in missing.text


def test_a_renamed_product_answers_at_its_old_address(app, make_tenant, shop_client):
    tenant = make_tenant()
    with app.app_context(), tenant_context(tenant):
        product = create_product("Blue Mug", 1500)
        db.session.commit()
        form = {"title": "Blue Mug", "handle": "sky-mug", "status": "active"}
        update_product(product, form)
        db.session.commit()
    client = shop_client(tenant)
    moved = client.get("/products/blue-mug")
    assert moved.status_code == 301
    assert moved.headers["Location"].endswith("/products/sky-mug")
    assert "Blue Mug" in client.get("/products/sky-mug").text
    # Another shop knows nothing of this shop's old addresses.
    assert shop_client(make_tenant()).get("/products/blue-mug").status_code == 404


def test_every_storefront_page_has_a_search_box(make_tenant, shop_client):
    tenant = make_tenant(products=[("Walnut Bowl", 4200)])
    for path in ("/", "/products/walnut-bowl", "/no-such-page"):
        page = shop_client(tenant).get(path).text
        assert 'action="/search"' in page and 'role="search"' in page, path


def test_canonical_and_sitemap_urls_name_the_host_once(app, make_tenant, monkeypatch):
    """In development the platform runs on a port: it must appear once, not twice."""
    from tests.conftest import client_for

    monkeypatch.setitem(app.config, "PUBLIC_PORT", "5000")
    tenant = make_tenant(products=[("Port Mug", 900)])
    client = client_for(app, f"{tenant.slug}.localhost:5000")
    page = client.get("/products/port-mug").text
    assert f'rel="canonical" href="http://{tenant.slug}.localhost:5000/products/port-mug"' in page
    robots = client.get("/robots.txt").text
    assert f"Sitemap: http://{tenant.slug}.localhost:5000/sitemap.xml" in robots
    assert ":5000:5000" not in page + robots + client.get("/sitemap.xml").text
