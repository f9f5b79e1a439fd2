"""The storefront's collection pages and the old addresses of renamed products."""

from __future__ import annotations

import io
import re

from saas.db import db
from saas.tenancy import tenant_context
from tenants.catalog.models import Product
from tenants.catalog.products import create_product, update_product
from tenants.collections import services as collection_service


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


def test_the_search_engine_fields_are_the_product_pages_title_and_description(
    app, make_tenant, shop_client
):
    tenant = make_tenant(name="Kiln")
    with app.app_context(), tenant_context(tenant):
        product_id = create_product("Blue Mug", 1500, description="<p>Holds tea.</p>").id
        db.session.commit()
    page = shop_client(tenant).get("/products/blue-mug").text
    assert "<title>Blue Mug — Kiln</title>" in page
    assert '<meta name="description" content="Holds tea.">' in page
    with app.app_context(), tenant_context(tenant):
        form = {"title": "Blue Mug", "handle": "blue-mug", "status": "active"}
        product = db.session.get(Product, product_id)
        update_product(product, form | {"seo_title": "Stoneware mug", "seo_description": "Big."})
        db.session.commit()
    page = shop_client(tenant).get("/products/blue-mug").text
    assert "<title>Stoneware mug — Kiln</title>" in page
    assert '<meta name="description" content="Big.">' in page


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


# --- filters by availability and options; product cards -----------------------------


def stock_catalog(app, tenant):
    """Three tagged products: a shirt (S, M) in stock, a coat (L) sold out, a hat kept on
    sale when out of stock; all in one automatic collection."""
    from tenants.catalog.products import sync_summary
    from tenants.catalog.variants import save_options

    with app.app_context(), tenant_context(tenant):
        for title, size, quantity, keeps_selling in (
            ("Linen Shirt", "S, M", 5, False),
            ("Wool Coat", "L", 0, False),
            ("Straw Hat", "M", 0, True),
        ):
            item = create_product(title, 2000)
            item.tags = ["wear"]
            item.continue_selling = keeps_selling
            save_options(item, {"option1_name": "Size", "option1_values": size})
            for variant in item.variants:
                variant.inventory_tracked = True
                variant.inventory_quantity = quantity
            sync_summary(item)
        db.session.commit()
    return make_collection(
        app,
        tenant,
        title="Wear",
        kind="automatic",
        match="all",
        sort="title",
        rule1_field="tag",
        rule1_value="wear",
    )


def listed(page: str) -> list[str]:
    return [t for t in ("Linen Shirt", "Straw Hat", "Wool Coat") if f">{t}</a>" in page]


def test_collections_filter_by_availability(app, make_tenant, shop_client):
    tenant = make_tenant()
    handle = stock_catalog(app, tenant)
    client = shop_client(tenant)
    page = client.get(f"/collections/{handle}").text
    assert listed(page) == ["Linen Shirt", "Straw Hat", "Wool Coat"]
    assert page.count(">Sold out</span>") == 1  # the coat; the hat can still be ordered
    assert '<label for="available">Availability</label>' in page
    assert listed(client.get(f"/collections/{handle}?available=in").text) == [
        "Linen Shirt",
        "Straw Hat",
    ]
    out = client.get(f"/collections/{handle}?available=out").text
    assert listed(out) == ["Wool Coat"] and "Clear filters" in out
    assert listed(client.get(f"/collections/{handle}?available=maybe").text) == listed(page)


def test_collections_filter_by_option_values_the_collection_offers(app, make_tenant, shop_client):
    tenant = make_tenant()
    handle = stock_catalog(app, tenant)
    client = shop_client(tenant)
    page = client.get(f"/collections/{handle}").text
    assert '<label for="option-1">Size</label>' in page and 'name="option.size"' in page
    for size in ("S", "M", "L"):
        assert f'<option value="{size}">{size}</option>' in page
    assert listed(client.get(f"/collections/{handle}?option.size=M").text) == [
        "Linen Shirt",
        "Straw Hat",
    ]
    both = client.get(f"/collections/{handle}?option.size=M&available=in&sort=price-asc").text
    assert sorted(listed(both)) == ["Linen Shirt", "Straw Hat"]
    assert 'value="M" selected' in both
    # A value or option the collection does not offer is ignored, not an error.
    for junk in ("option.size=XXL", "option.colour=Red", "option.size=%3Cscript%3E"):
        answer = client.get(f"/collections/{handle}?{junk}")
        assert answer.status_code == 200 and len(listed(answer.text)) == 3
    nothing = client.get(f"/collections/{handle}?option.size=L&available=in").text
    assert "No products match these filters" in nothing and "Show all products" in nothing


def test_tags_are_offered_as_a_choice(app, make_tenant, shop_client):
    tenant = make_tenant()
    handle = stock_catalog(app, tenant)
    page = shop_client(tenant).get(f"/collections/{handle}").text
    assert '<select id="tag" name="tag">' in page and '<option value="wear">wear</option>' in page


def test_filter_choices_never_come_from_another_shop(app, make_tenant, shop_client):
    a, b = make_tenant(), make_tenant()
    stock_catalog(app, a)
    with app.app_context(), tenant_context(b):
        create_product("Plain Mug", 900).tags = ["wear"]
        db.session.commit()
    handle = make_collection(
        app,
        b,
        title="Wear",
        kind="automatic",
        match="all",
        sort="title",
        rule1_field="tag",
        rule1_value="wear",
    )
    page = shop_client(b).get(f"/collections/{handle}").text
    assert "Plain Mug" in page
    assert 'name="option.size"' not in page and "Linen Shirt" not in page


def test_cards_show_the_first_image_and_the_shops_currency(app, make_tenant, shop_client):
    from PIL import Image

    from tenants.catalog.images import add_image
    from tenants.settings.models import ShopSettings

    tenant = make_tenant()
    handle = stock_catalog(app, tenant)
    picture = io.BytesIO()
    Image.new("RGB", (800, 600), "red").save(picture, format="PNG")
    with app.app_context(), tenant_context(tenant):
        shirt = db.session.query(Product).filter_by(title="Linen Shirt").one()
        picture.seek(0)
        add_image(shirt, picture, alt="A red linen shirt")
        db.session.get(ShopSettings, 1).currency = "EUR"
        db.session.commit()
    page = shop_client(tenant).get(f"/collections/{handle}").text
    tile = re.search(r'<img class="tile-image"[^>]*>', page)
    assert tile is not None
    assert all(
        part in tile.group(0)
        for part in ('alt="A red linen shirt"', 'width="800"', 'height="600"', 'loading="lazy"')
    )
    assert page.count('class="tile-image"') == 1  # the others have no image
    assert "€20.00" in page and "$20.00" not in page


def test_best_selling_sort_follows_units_sold(app, make_tenant, shop_client):
    tenant = make_tenant()
    handle = stock_catalog(app, tenant)
    with app.app_context(), tenant_context(tenant):
        for title, sold in (("Linen Shirt", 2), ("Straw Hat", 9), ("Wool Coat", 0)):
            db.session.query(Product).filter_by(title=title).one().units_sold = sold
        db.session.commit()
    page = shop_client(tenant).get(f"/collections/{handle}?sort=best-selling").text
    assert listed_in_order(page) == ["Straw Hat", "Linen Shirt", "Wool Coat"]
    assert '<option value="best-selling" selected>Best selling</option>' in page


def listed_in_order(page: str) -> list[str]:
    return sorted(listed(page), key=lambda t: page.index(f">{t}</a>"))
