"""sitemap.xml and robots.txt: per shop, on the shop's own host, quiet before launch."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from sqlalchemy import select

from saas.db import db
from saas.tenancy import tenant_context
from tenants.catalog.models import Product, ProductStatus
from tenants.collections.models import Collection
from tenants.content.models import Page

NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}


def locations(response) -> dict[str, str | None]:
    assert response.status_code == 200
    assert response.mimetype == "application/xml"
    root = ET.fromstring(response.get_data())  # noqa: S314 (our own output)
    return {
        url.findtext("s:loc", namespaces=NS): url.findtext("s:lastmod", namespaces=NS)
        for url in root.findall("s:url", NS)
    }


def test_sitemap_lists_home_collections_active_products_and_published_pages(
    app, make_tenant, shop_client
):
    shop = make_tenant(products=[("Teapot", 1500), ("Kettle", 2500), ("Old Mug", 500)])
    with app.app_context(), tenant_context(shop):
        mug = db.session.scalar(select(Product).where(Product.title == "Old Mug"))
        mug.status = ProductStatus.ARCHIVED
        db.session.add(Page(handle="about", title="About us", body_html="", published=True))
        db.session.add(Page(handle="draft", title="Draft", body_html="", published=False))
        db.session.add(Collection(handle="tea-time", title="Tea time", kind="manual"))
        db.session.commit()
    host = f"http://{shop.slug}.localhost"
    urls = locations(shop_client(shop).get("/sitemap.xml"))
    assert set(urls) == {
        f"{host}/",
        f"{host}/collections/all",  # every product, as shoppers expect
        f"{host}/collections/tea-time",  # its first page only: no ?page=, no ?sort=
        f"{host}/products/teapot",
        f"{host}/products/kettle",
        f"{host}/pages/about",
    }
    assert urls[f"{host}/products/teapot"].startswith("20")  # a W3C date-time


def test_a_shops_sitemap_never_names_another_shop(make_tenant, shop_client):
    shop_a = make_tenant(products=[("Alpha Lamp", 100)])
    shop_b = make_tenant(products=[("Beta Chair", 100)])
    urls = locations(shop_client(shop_b).get("/sitemap.xml"))
    assert all(url.startswith(f"http://{shop_b.slug}.localhost/") for url in urls)
    assert not any("alpha" in url for url in urls)
    assert shop_a.slug not in shop_client(shop_b).get("/robots.txt").get_data(as_text=True)


def test_a_custom_domain_gets_its_own_urls(make_tenant, shop_client):
    shop = make_tenant(products=[("Teapot", 1500)], domains=["teapots.example"])
    urls = locations(shop_client("teapots.example").get("/sitemap.xml"))
    assert "http://teapots.example/products/teapot" in urls
    assert all(url.startswith("http://teapots.example/") for url in urls)
    robots = shop_client("teapots.example").get("/robots.txt").get_data(as_text=True)
    assert "Sitemap: http://teapots.example/sitemap.xml" in robots
    assert shop.slug not in robots


def test_robots_allows_the_shop_but_not_admin_search_or_password(make_tenant, shop_client):
    shop = make_tenant()
    page = shop_client(shop).get("/robots.txt")
    assert page.status_code == 200 and page.mimetype == "text/plain"
    lines = page.get_data(as_text=True).splitlines()
    assert "Allow: /" in lines
    for path in ("/admin", "/search", "/password"):
        assert f"Disallow: {path}" in lines
    assert f"Sitemap: http://{shop.slug}.localhost/sitemap.xml" in lines


def test_before_launch_robots_keeps_crawlers_out_and_there_is_no_sitemap(make_tenant, shop_client):
    shop = make_tenant(launched=False, products=[("Secret Teapot", 1500)])
    client = shop_client(shop)
    robots = client.get("/robots.txt")
    assert robots.status_code == 200
    assert robots.get_data(as_text=True).splitlines() == ["User-agent: *", "Disallow: /"]
    sitemap = client.get("/sitemap.xml").get_data(as_text=True)
    assert "Secret Teapot" not in sitemap and "secret-teapot" not in sitemap
