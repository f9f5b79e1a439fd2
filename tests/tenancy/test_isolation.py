"""Tenant isolation: every way one shop's data could reach another, tried."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import ProgrammingError

from saas.db import NoTenantSelected, db, tenant_bind
from saas.tenancy import get_current_tenant, tenant_context
from tenants.catalog.models import Product
from tests.conftest import product_titles

pytestmark = pytest.mark.smoke


def test_same_ids_and_handles_stay_apart(app, make_tenant, shop_client):
    a = make_tenant(name="Shop A", products=[("Blue Mug", 1000)])
    b = make_tenant(name="Shop B", products=[("Blue Mug", 2500)])
    with app.app_context():
        with tenant_context(a):
            mug_a = db.session.scalar(select(Product).where(Product.handle == "blue-mug"))
            assert (mug_a.id, mug_a.price_cents) == (1, 1000)
        with tenant_context(b):
            mug_b = db.session.scalar(select(Product).where(Product.handle == "blue-mug"))
            assert (mug_b.id, mug_b.price_cents) == (1, 2500)
    page_a = shop_client(a).get("/products/blue-mug").text
    page_b = shop_client(b).get("/products/blue-mug").text
    assert "$10.00" in page_a and "$25.00" not in page_a
    assert "$25.00" in page_b and "$10.00" not in page_b


def test_a_pooled_connection_never_answers_for_the_previous_tenant(app, make_tenant, server_urls):
    a = make_tenant(products=[("Only In A", 100)])
    b = make_tenant(products=[("Only In B", 200)])
    # One connection in the pool, so B must reuse exactly the connection A used.
    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"], pool_size=1, max_overflow=0)
    try:
        with tenant_bind(engine, a.schema).connect() as conn:
            pid_a = conn.execute(text("SELECT pg_backend_pid()")).scalar()
            assert conn.execute(select(Product.title)).scalars().all() == ["Only In A"]
        with tenant_bind(engine, b.schema).connect() as conn:
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar() == pid_a
            assert conn.execute(select(Product.title)).scalars().all() == ["Only In B"]
        with engine.connect() as conn:  # and nothing was left on the session
            assert conn.execute(text("SHOW search_path")).scalar() == '"$user", public'
            with pytest.raises(
                ProgrammingError,
                match=r'relation "tenant\.products" does not exist',
            ):
                conn.execute(select(Product.title))
    finally:
        engine.dispose()


def test_tenant_tables_without_a_tenant_fail_loudly(app):
    with app.app_context():
        with pytest.raises(NoTenantSelected, match="no shop is selected"):
            db.session.scalars(select(Product)).all()
        db.session.rollback()
        with pytest.raises(NoTenantSelected):
            db.session.add(Product(title="x", handle="x", price_cents=1, description=""))
            db.session.flush()
        db.session.rollback()


def test_tenant_context_nests_and_restores(app, make_tenant):
    a, b = make_tenant(), make_tenant()
    with app.app_context():
        assert get_current_tenant() is None
        with tenant_context(a):
            assert get_current_tenant().slug == a.slug
            with tenant_context(b):
                assert get_current_tenant().slug == b.slug
            assert get_current_tenant().slug == a.slug
        assert get_current_tenant() is None


def test_uncommitted_work_does_not_cross_contexts(app, make_tenant):
    a, b = make_tenant(), make_tenant()
    with app.app_context(), tenant_context(a):
        db.session.add(Product(title="Pending", handle="pending", price_cents=1, description=""))
        db.session.flush()
        with tenant_context(b):
            assert db.session.scalars(select(Product.title)).all() == []
        db.session.rollback()
    assert product_titles(app, a) == []


def test_concurrent_requests_for_different_shops_never_cross(make_tenant, shop_client):
    shops = [
        make_tenant(name=f"Shop {i}", products=[(f"Item of shop {i}", 100 + i)]) for i in range(4)
    ]

    def visit(n: int) -> tuple[int, str]:
        shop = shops[n % len(shops)]
        return n % len(shops), shop_client(shop).get("/").text

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(visit, range(80)))
    for index, body in results:
        assert f"Item of shop {index}" in body
        for other in range(len(shops)):
            if other != index:
                assert f"Item of shop {other}" not in body


def test_live_requests_on_threads_never_cross(make_tenant, live_server):
    import urllib.request

    shops = [make_tenant(products=[(f"Live item {i}", 100)]) for i in range(3)]

    def fetch(n: int) -> tuple[int, str]:
        shop = shops[n % 3]
        request = urllib.request.Request(
            f"http://127.0.0.1:{live_server.port}/", headers={"Host": f"{shop.slug}.localhost"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return n % 3, response.read().decode()

    with ThreadPoolExecutor(max_workers=6) as pool:
        for index, body in pool.map(fetch, range(30)):
            assert f"Live item {index}" in body
            assert sum(f"Live item {i}" in body for i in range(3)) == 1


def test_log_lines_name_their_shop(app, make_tenant, caplog):
    from saas.logs import TenantFilter

    a, b = make_tenant(), make_tenant()
    caplog.handler.addFilter(TenantFilter())
    with caplog.at_level(logging.INFO, logger="tenants.test"), app.app_context():
        with tenant_context(a):
            logging.getLogger("tenants.test").info("line for a")
        with tenant_context(b):
            logging.getLogger("tenants.test").info("line for b")
        logging.getLogger("tenants.test").info("platform line")
    shops = {r.getMessage(): r.tenant for r in caplog.records if r.name == "tenants.test"}
    assert shops == {"line for a": a.slug, "line for b": b.slug, "platform line": "-"}


def test_schema_names_are_never_taken_from_input():
    from saas.db import checked_schema, schema_for

    assert schema_for(42) == "t_42"
    for bad in ("public", "t_1; DROP SCHEMA public", "t_0", "T_1", "t_1 ", "tenant"):
        with pytest.raises(ValueError, match="not a tenant schema"):
            checked_schema(bad)


def test_each_shop_renders_with_its_own_theme(make_tenant, shop_client):
    plain = make_tenant(theme="base", products=[("Plain thing", 100)])
    dark = make_tenant(theme="midnight", products=[("Dark thing", 100)])
    plain_page = shop_client(plain).get("/").text
    dark_page = shop_client(dark).get("/").text
    assert 'class="theme-base"' in plain_page and "midnight" not in plain_page
    assert 'class="theme-midnight"' in dark_page and "/assets/midnight/theme.css" in dark_page
    asset = shop_client(dark).get("/assets/midnight/theme.css")
    assert asset.status_code == 200 and "--accent" in asset.text
    asset.close()
    assert shop_client(dark).get("/assets/../saas/config.py").status_code == 404
    assert shop_client(dark).get("/assets/nope/theme.css").status_code == 404


def _raw(port: int, request: bytes) -> str:
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", "replace")


def test_raw_requests_cannot_borrow_another_shops_host(make_tenant, live_server):
    mine = make_tenant(products=[("Mine only", 100)])
    theirs = make_tenant(products=[("Theirs only", 100)])
    port = live_server.port
    # Absolute-form target naming another shop: per RFC 9112 the target's host wins over
    # the Host header; either way the page is one shop's, never a mix.
    absolute = _raw(
        port,
        (
            f"GET http://{theirs.slug}.localhost/ HTTP/1.1\r\n"
            f"Host: {mine.slug}.localhost\r\nConnection: close\r\n\r\n"
        ).encode(),
    )
    assert ("Mine only" in absolute) != ("Theirs only" in absolute)
    # Two Host headers, or none at all: refused, no shop served.
    doubled = _raw(
        port,
        (
            f"GET / HTTP/1.1\r\nHost: {mine.slug}.localhost\r\n"
            f"Host: {theirs.slug}.localhost\r\nConnection: close\r\n\r\n"
        ).encode(),
    )
    assert "Theirs only" not in doubled
    no_host = _raw(port, b"GET / HTTP/1.0\r\n\r\n")
    assert no_host.startswith("HTTP/1.0 400") or no_host.startswith("HTTP/1.1 400")
    assert "Mine only" not in no_host and "Theirs only" not in no_host
    # Header injection through the Host value is refused before any shop is chosen.
    injected = _raw(
        port,
        (
            f"GET / HTTP/1.1\r\nHost: {mine.slug}.localhost%0d%0aX: y\r\nConnection: close\r\n\r\n"
        ).encode(),
    )
    assert " 400 " in injected.splitlines()[0] and "Mine only" not in injected


def test_a_shops_outbox_shows_only_its_own_mail(app, make_tenant, staff_client, shop_client):
    from saas.mail import send_email

    a, b = make_tenant(), make_tenant()
    with app.app_context(), tenant_context(a):
        send_email("owner@a.test", "Private to A", "secret body of A")
    page_a = staff_client(a, role="owner").get("/admin/outbox").text
    page_b = staff_client(b, role="owner").get("/admin/outbox").text
    assert "Private to A" in page_a and "secret body of A" in page_a
    assert "Private to A" not in page_b and "No email yet." in page_b
    # ... and nobody without a login sees it, on either shop.
    for tenant in (a, b):
        response = shop_client(tenant).get("/admin/outbox")
        assert response.status_code == 302 and "/admin/login" in response.headers["Location"]
