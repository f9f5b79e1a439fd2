"""The storefront page cache: anonymous pages come from Redis until the shop changes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event, select

from saas.cache import redis_client
from saas.db import db
from saas.models import Tenant
from saas.tenancy import tenant_context
from tenants.catalog.models import Product
from tenants.shop import cache


@contextmanager
def counted_sql(app) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def page_keys(app, tenant) -> list[bytes]:
    with app.app_context():
        return list(redis_client().scan_iter(f"t:{tenant.id}:page:*"))


def rename_product(app, tenant, title: str) -> None:
    with app.app_context(), tenant_context(tenant):
        product = db.session.scalars(select(Product)).first()
        product.title = title
        db.session.commit()


def test_second_anonymous_request_is_served_from_the_cache(app, make_tenant, shop_client):
    shop = make_tenant(products=[("Teapot", 1500)])
    client = shop_client(shop)
    first = client.get("/")
    assert first.status_code == 200 and "Teapot" in first.get_data(as_text=True)
    assert first.headers["Cache-Control"] == cache.CACHE_CONTROL
    assert "Cookie" in first.headers["Vary"]
    assert first.headers["ETag"]
    with counted_sql(app) as statements:
        second = client.get("/")
    assert second.status_code == 200
    assert second.get_data() == first.get_data()
    assert second.headers["ETag"] == first.headers["ETag"]
    assert statements == []  # not one query: the page, the shop and its host came from Redis


def test_a_change_to_the_shop_is_seen_on_the_next_request(app, make_tenant, shop_client):
    shop = make_tenant(products=[("Teapot", 1500)])
    client = shop_client(shop)
    assert "Teapot" in client.get("/").get_data(as_text=True)
    rename_product(app, shop, "Kettle")
    with counted_sql(app) as statements:
        page = client.get("/").get_data(as_text=True)
    assert "Kettle" in page and "Teapot" not in page
    assert statements


def test_renaming_the_shop_refreshes_its_pages(app, make_tenant, shop_client):
    shop = make_tenant(name="Old Name")
    client = shop_client(shop)
    assert "Old Name" in client.get("/").get_data(as_text=True)
    with app.app_context():
        db.session.get(Tenant, shop.id).name = "New Name"
        db.session.commit()
    assert "New Name" in client.get("/").get_data(as_text=True)


def test_etag_answers_304_for_cached_and_uncached_pages(app, make_tenant, shop_client):
    shop = make_tenant(products=[("Teapot", 1500)])
    client = shop_client(shop)
    first = client.get("/")  # rendered
    etag = first.headers["ETag"]
    again = client.get("/", headers={"If-None-Match": etag})  # from the cache
    assert again.status_code == 304 and again.get_data() == b""
    product = client.get("/products/teapot")
    assert product.status_code == 200
    assert client.get("/products/teapot", headers={"If-None-Match": '"nope"'}).status_code == 200
    rename_product(app, shop, "Kettle")
    changed = client.get("/", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def test_one_shop_never_gets_another_shops_cached_page(app, make_tenant, shop_client):
    shop_a = make_tenant(name="Alpha Goods", products=[("Alpha Lamp", 100)])
    shop_b = make_tenant(name="Beta Goods", products=[("Beta Chair", 200)])
    a_page = shop_client(shop_a).get("/").get_data(as_text=True)
    shop_client(shop_a).get("/")
    b_page = shop_client(shop_b).get("/").get_data(as_text=True)
    assert "Alpha Lamp" in a_page
    assert "Beta Chair" in b_page and "Alpha" not in b_page
    assert page_keys(app, shop_a) and page_keys(app, shop_b)
    # A change in shop A leaves shop B's cache alone, and B's page stays B's.
    rename_product(app, shop_a, "Alpha Desk")
    with counted_sql(app) as statements:
        again = shop_client(shop_b).get("/").get_data(as_text=True)
    assert again == b_page and statements == []


def test_signed_in_staff_never_read_or_fill_the_cache(app, make_tenant, shop_client, staff_client):
    shop = make_tenant(products=[("Teapot", 1500)])
    staff = staff_client(shop)
    page = staff.get("/")
    assert page.status_code == 200
    assert "public" not in page.headers.get("Cache-Control", "")
    assert page_keys(app, shop) == []  # staff did not fill it
    shop_client(shop).get("/")  # an anonymous visitor does
    assert page_keys(app, shop)
    with counted_sql(app) as statements:
        assert staff.get("/").status_code == 200
    assert statements  # staff are rendered afresh, not served the shared copy


def test_coming_soon_pages_are_not_cached(app, make_tenant, shop_client):
    shop = make_tenant(launched=False)
    client = shop_client(shop)
    page = client.get("/")
    assert "no-store" in page.headers["Cache-Control"]
    assert page_keys(app, shop) == []


def test_pages_that_embed_a_csrf_token_or_fail_are_not_cached(app, make_tenant, shop_client):
    shop = make_tenant()
    client = shop_client(shop)
    assert client.get("/products/nothing-here").status_code == 404
    assert page_keys(app, shop) == []


def test_without_redis_pages_are_served_uncached(app, make_tenant, shop_client, monkeypatch):
    shop = make_tenant(products=[("Teapot", 1500)])
    client = shop_client(shop)
    client.get("/")  # the host is now in the host cache; break only the page cache

    class Down:
        def __getattr__(self, name):
            raise ConnectionError("redis is down")

    monkeypatch.setattr(cache, "redis_client", lambda: Down())
    page = client.get("/")
    assert page.status_code == 200 and "Teapot" in page.get_data(as_text=True)


def test_the_cache_can_be_switched_off(app, make_tenant, shop_client, monkeypatch):
    shop = make_tenant(products=[("Teapot", 1500)])
    monkeypatch.setitem(app.config, "PAGE_CACHE_ENABLED", False)
    shop_client(shop).get("/")
    assert page_keys(app, shop) == []


def test_bulk_statements_refresh_the_pages_too(app, make_tenant, shop_client):
    from sqlalchemy import update

    shop = make_tenant(products=[("Teapot", 1500)])
    client = shop_client(shop)
    assert "Teapot" in client.get("/").get_data(as_text=True)
    with app.app_context(), tenant_context(shop):
        db.session.execute(update(Product).values(title="Samovar"))
        db.session.commit()
    assert "Samovar" in client.get("/").get_data(as_text=True)


def test_visitors_with_something_in_their_session_are_not_served_shared_pages(
    app, make_tenant, shop_client
):
    shop = make_tenant(products=[("Teapot", 1500)])
    shop_client(shop).get("/")  # an anonymous visitor fills the cache
    shopper = shop_client(shop)
    with shopper.session_transaction(base_url=f"http://{shop.slug}.localhost") as session:
        session["cart"] = {"1": 2}
    with counted_sql(app) as statements:
        page = shopper.get("/")
    assert page.status_code == 200 and statements
    assert "public" not in page.headers.get("Cache-Control", "")


# --- hits answered before Flask (FrontCache) ------------------------------------------------


@contextmanager
def flask_calls(app) -> Iterator[list[str]]:
    """Count requests that get past the front cache into Flask."""
    front = app.wsgi_app
    assert isinstance(front, cache.FrontCache)
    inner = front.wsgi_app
    calls: list[str] = []

    def counting(environ, start_response):
        calls.append(environ["PATH_INFO"])
        return inner(environ, start_response)

    front.wsgi_app = counting
    try:
        yield calls
    finally:
        front.wsgi_app = inner


def test_a_hit_never_enters_flask_and_keeps_the_security_headers(app, make_tenant, shop_client):
    shop = make_tenant(products=[("Teapot", 1500)])
    client = shop_client(shop)
    first = client.get("/")
    with flask_calls(app) as calls:
        second = client.get("/")
        not_modified = client.get("/", headers={"If-None-Match": first.headers["ETag"]})
        head = client.head("/")
    assert calls == []
    assert second.get_data() == first.get_data() and second.headers["ETag"] == first.headers["ETag"]
    assert second.headers["X-Content-Type-Options"] == "nosniff"
    assert second.headers["Content-Type"] == first.headers["Content-Type"]
    assert not_modified.status_code == 304 and head.status_code == 200 and head.get_data() == b""


def test_requests_with_a_session_or_remember_cookie_go_through_flask(app, make_tenant, shop_client):
    shop = make_tenant(products=[("Teapot", 1500)])
    shop_client(shop).get("/")
    for name in ("session", "remember_token"):
        client = shop_client(shop)
        client.set_cookie(name, "anything", domain=f"{shop.slug}.localhost")
        with flask_calls(app) as calls:
            assert client.get("/").status_code == 200
        assert calls == ["/"]


def test_a_suspended_shop_is_not_served_from_the_front_cache(app, make_tenant, shop_client):
    from saas.models import TenantStatus

    shop = make_tenant(products=[("Teapot", 1500)])
    shop_client(shop).get("/")
    with app.app_context():
        db.session.get(Tenant, shop.id).status = TenantStatus.SUSPENDED
        db.session.commit()
    assert shop_client(shop).get("/").status_code == 503


def test_a_custom_domain_moved_to_another_shop_serves_the_new_shop(app, make_tenant, shop_client):
    from saas.models import Domain

    shop_a = make_tenant(name="Alpha Goods", products=[("Alpha Lamp", 100)])
    shop_b = make_tenant(name="Beta Goods", products=[("Beta Chair", 200)])
    host = f"shop-{shop_a.slug}.example"
    with app.app_context():
        db.session.add(Domain(host=host, tenant_id=shop_a.id))
        db.session.commit()
    visitor = shop_client(host)
    assert "Alpha Lamp" in visitor.get("/").get_data(as_text=True)
    assert "Alpha Lamp" in visitor.get("/").get_data(as_text=True)  # a front-cache hit
    with app.app_context():
        db.session.scalars(select(Domain).where(Domain.host == host)).one().tenant_id = shop_b.id
        db.session.commit()
    page = shop_client(host).get("/").get_data(as_text=True)
    assert "Beta Chair" in page and "Alpha" not in page


# --- shop data kept per page version (tenants.shop.snapshot) ---------------------------------


def test_layout_data_is_read_once_per_change_even_without_the_page_cache(
    app, make_tenant, shop_client, monkeypatch
):
    from tenants.content.models import Menu
    from tenants.settings.models import ShopSettings

    monkeypatch.setitem(app.config, "PAGE_CACHE_ENABLED", False)
    shop = make_tenant(products=[("Teapot", 1500)])
    client = shop_client(shop)
    client.get("/")
    with counted_sql(app) as statements:
        assert "Teapot" in client.get("/").text
    layout_tables = ("shop_settings", "menus", "theme_settings")
    assert not [s for s in statements if any(t in s for t in layout_tables)]
    with app.app_context(), tenant_context(shop):
        db.session.get(ShopSettings, 1).currency = "EUR"
        menu = db.session.scalars(select(Menu).where(Menu.handle == "main")).first()
        items = [{"title": "Our story", "url": "/pages/our-story"}]
        if menu is None:
            db.session.add(Menu(handle="main", items=items))
        else:
            menu.items = items
        db.session.commit()
    page = client.get("/").text
    assert "Our story" in page and "€15.00" in page


def test_one_shops_layout_data_never_reaches_another(app, make_tenant, shop_client):
    from tenants.settings.models import ShopSettings

    a = make_tenant(products=[("Teapot", 1500)])
    b = make_tenant(products=[("Kettle", 1500)])
    with app.app_context(), tenant_context(a):
        db.session.get(ShopSettings, 1).currency = "JPY"
        db.session.commit()
    from saas.money import format_money

    assert format_money(1500, "JPY") in shop_client(a).get("/").text
    page_b = shop_client(b).get("/").text
    assert "$15.00" in page_b and format_money(1500, "JPY") not in page_b
