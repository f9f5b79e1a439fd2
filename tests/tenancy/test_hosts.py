"""Host resolution: which site a request is for, and what a bad host gets."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select
from werkzeug.exceptions import BadRequest

from saas.cache import redis_client
from saas.db import db
from saas.models import Domain, Tenant, TenantStatus
from saas.tenancy.sites import classify_host


@pytest.mark.parametrize(
    ("host", "kind", "slug"),
    [
        ("localhost", "platform", None),
        ("localhost:5000", "platform", None),
        ("LOCALHOST:5000", "platform", None),
        ("admin.localhost:5000", "console", None),
        ("acme.localhost:5000", "shop", "acme"),
        ("acme.localhost.", "shop", "acme"),
        ("shop.example.com", "shop", None),
    ],
)
def test_classify_host(host, kind, slug):
    site = classify_host(host, "localhost", "admin")
    assert (site.kind, site.slug) == (kind, slug)


@pytest.mark.parametrize(
    "host",
    [
        "",
        "a.b.localhost",
        "acme.localhost@evil.com",
        "acme .localhost",
        "acme_x.localhost",
        "ácme.localhost",
        "[::1]:5000",
        "acme.localhost:port",
        "-acme.localhost",
        "x" * 300,
        "acme..localhost",
    ],
)
def test_malformed_hosts_are_refused(host):
    with pytest.raises(BadRequest):
        classify_host(host, "localhost", "admin")


def test_apex_serves_the_platform(platform_client):
    response = platform_client.get("/")
    assert response.status_code == 200
    assert "Your own online shop" in response.text


def test_www_redirects_to_apex(shop_client):
    response = shop_client("www.localhost").get("/pricing?x=1")
    assert response.status_code == 301
    assert response.headers["Location"] == "http://localhost/pricing?x=1"


def test_operator_host_serves_the_console(console_client):
    response = console_client.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert "Sign in to the operator console" in console_client.get("/login").text


def test_shop_subdomain_serves_that_shop(make_tenant, shop_client):
    tenant = make_tenant(name="Corner Store", products=[("Tea", 450)])
    response = shop_client(tenant).get("/")
    assert response.status_code == 200
    assert "<h1>Corner Store</h1>" in response.text and "Tea" in response.text


def test_unknown_shop_gets_a_friendly_404(shop_client):
    response = shop_client("no-such-shop.localhost").get("/")
    assert response.status_code == 404
    assert "There is no shop at this address." in response.text
    assert "Open your own shop" in response.text


@pytest.mark.parametrize("slug", ["api", "mail", "support", "static"])
def test_reserved_names_are_never_shops(app, shop_client, slug):
    with app.app_context():  # even a row that slipped past validation is not served
        db.session.add(Tenant(slug=slug, name="Impostor", status=TenantStatus.ACTIVE))
        db.session.commit()
    response = shop_client(f"{slug}.localhost").get("/")
    assert response.status_code == 404 and "Impostor" not in response.text
    with app.app_context():
        db.session.execute(db.delete(Tenant).where(Tenant.slug == slug))
        db.session.commit()


def test_foreign_host_gets_400_and_runs_nothing(app, shop_client, make_tenant):
    make_tenant(products=[("Secret", 100)])
    statements = []

    def count(*args):
        statements.append(args[2])

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            for host in ("evil.example.com", "a.b.localhost", "localhost.evil.com"):
                response = shop_client(host).get("/")
                assert response.status_code == 400
                assert "Secret" not in response.text
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
    # Only the custom-domain lookups may touch the database; no tenant table is read.
    assert all('"t_' not in s and "products" not in s for s in statements)


def test_forwarded_host_is_ignored_by_default(make_tenant, platform_client):
    tenant = make_tenant(products=[("Hidden", 100)])
    response = platform_client.get("/", headers={"X-Forwarded-Host": f"{tenant.slug}.localhost"})
    assert "Hidden" not in response.text and "Your own online shop" in response.text


def test_custom_domain_serves_its_shop(make_tenant, shop_client):
    tenant = make_tenant(
        name="Custom Co", domains=["shop.custom-co.test"], products=[("Widget", 999)]
    )
    response = shop_client("shop.custom-co.test").get("/")
    assert response.status_code == 200 and "Widget" in response.text
    assert "Custom Co" in shop_client(tenant).get("/").text


def test_domain_change_invalidates_the_cache(app, make_tenant, shop_client):
    tenant = make_tenant(products=[("Lamp", 1200)])
    client = shop_client("lamps.example.test")
    assert client.get("/").status_code == 400  # cached as unknown
    with app.app_context():
        db.session.add(Domain(host="lamps.example.test", tenant_id=tenant.id))
        db.session.commit()
    assert client.get("/").status_code == 200
    with app.app_context():
        domain = db.session.scalar(select(Domain).where(Domain.host == "lamps.example.test"))
        db.session.delete(domain)
        db.session.commit()
    assert client.get("/").status_code == 400


def test_resolution_is_cached_and_invalidated_on_change(app, make_tenant, shop_client):
    tenant = make_tenant(products=[("Kettle", 3000)])
    client = shop_client(tenant)
    assert client.get("/").status_code == 200
    with app.app_context():
        key = f"platform:tenant-host:slug:{tenant.slug}"
        assert redis_client().get(key) is not None
        row = db.session.get(Tenant, tenant.id)
        row.status = TenantStatus.SUSPENDED
        db.session.commit()
        assert redis_client().get(key) is None
    response = client.get("/")
    assert response.status_code == 503
    assert "temporarily unavailable" in response.text
    with app.app_context():
        db.session.get(Tenant, tenant.id).status = TenantStatus.ACTIVE
        db.session.commit()
    assert client.get("/").status_code == 200


def test_cache_outage_falls_back_to_the_database(app, make_tenant, shop_client, monkeypatch):
    tenant = make_tenant(products=[("Rope", 700)])

    def broken(*args, **kwargs):
        raise ConnectionError("redis is down")

    with app.app_context():
        monkeypatch.setattr(type(redis_client()), "get", broken)
    response = shop_client(tenant).get("/")
    assert response.status_code == 200 and "Rope" in response.text


def test_renamed_shop_frees_its_old_address(app, make_tenant, shop_client):
    tenant = make_tenant(products=[("Soap", 500)])
    old = tenant.slug
    assert shop_client(tenant).get("/").status_code == 200
    with app.app_context():
        db.session.get(Tenant, tenant.id).slug = f"{old}-new"
        db.session.commit()
    assert shop_client(f"{old}.localhost").get("/").status_code == 404
    assert "Soap" in shop_client(f"{old}-new.localhost").get("/").text


def test_missing_page_on_a_shop_uses_the_theme(make_tenant, shop_client):
    tenant = make_tenant(name="Theme Shop")
    response = shop_client(tenant).get("/products/nope")
    assert response.status_code == 404
    assert "Theme Shop" in response.text and "Page not found" in response.text


def test_unknown_path_on_a_shop_uses_the_theme(make_tenant, shop_client):
    tenant = make_tenant(name="Pathy Shop")
    response = shop_client(tenant).get("/no/such/page")
    assert response.status_code == 404
    assert "Pathy Shop" in response.text and "Back to the shop" in response.text
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_deleted_shop_is_gone_by_address_and_by_domain(app, make_tenant, shop_client):
    tenant = make_tenant(domains=["gone.example.test"], products=[("Relic", 100)])
    with app.app_context():
        db.session.get(Tenant, tenant.id).status = TenantStatus.DELETED
        db.session.commit()
    assert shop_client(tenant).get("/").status_code == 404
    assert shop_client("gone.example.test").get("/").status_code == 400


def test_trailing_slash_redirects_stay_on_the_real_host(make_tenant, shop_client, app):
    """Werkzeug's own redirects (a missing trailing slash) name the real host, never the
    site kind the routing uses internally."""
    tenant = make_tenant()
    response = shop_client(tenant).get("/admin")
    assert response.status_code == 308
    assert response.headers["Location"] == f"http://{tenant.slug}.localhost/admin/"
    custom = make_tenant(domains=[f"shop-{tenant.slug}.example.test"])
    response = shop_client(f"shop-{tenant.slug}.example.test").get("/admin")
    assert response.headers["Location"] == f"http://shop-{tenant.slug}.example.test/admin/"
    assert custom.slug  # its own host, not the shop kind or another shop's
    with app.test_request_context("/", base_url="http://admin.localhost"):
        from flask import url_for

        assert url_for("console.tenants", _external=True) == "http://admin.localhost/"
        assert url_for("platform.signup", _external=True) == "http://localhost/signup"
        assert url_for("console.tenants") == "/"
