"""The `flask` commands: tenants, operator, demo."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select, text

from saas.db import db
from saas.models import Operator, Tenant
from tests.conftest import product_titles, tenant_row


def run(app, *args, input=None):
    return app.test_cli_runner().invoke(args=list(args), input=input, catch_exceptions=False)


def test_tenants_create_and_list(app, shop_client):
    result = run(app, "tenants", "create", "cli-shop", "--name", "CLI Shop")
    assert result.exit_code == 0, result.output
    assert (
        "Created shop 'cli-shop'" in result.output and "http://cli-shop.localhost" in result.output
    )
    listing = run(app, "tenants", "list")
    assert "cli-shop" in listing.output and "active" in listing.output
    assert "CLI Shop" in shop_client("cli-shop.localhost").get("/").text


def test_tenants_create_rejects_bad_slugs_with_the_reason(app):
    result = run(app, "tenants", "create", "Bad Slug!")
    assert result.exit_code == 2
    assert "Invalid value for SLUG" in result.output and "lowercase" in result.output
    result = run(app, "tenants", "create", "www")
    assert result.exit_code == 2 and "reserved" in result.output
    result = run(app, "tenants", "create", "okname", "--theme", "nope")
    assert result.exit_code == 2 and "unknown theme" in result.output
    assert tenant_row(app, "okname") is None


def test_tenants_drop_asks_first(app, make_tenant):
    tenant = make_tenant()
    result = run(app, "tenants", "drop", tenant.slug, input="n\n")
    assert result.exit_code == 1 and "Aborted" in result.output
    assert tenant_row(app, tenant.slug) is not None
    result = run(app, "tenants", "drop", tenant.slug, input="y\n")
    assert result.exit_code == 0 and "Dropped" in result.output
    assert tenant_row(app, tenant.slug) is None
    with app.app_context():
        exists = db.session.scalar(
            text("SELECT 1 FROM pg_namespace WHERE nspname = :s"), {"s": tenant.schema}
        )
        assert exists is None
    assert run(app, "tenants", "drop", "never-existed", "--yes").exit_code == 2


def test_tenants_migrate_reports_failures_and_can_be_rerun(app, make_tenant):
    healthy = make_tenant()
    empty = make_tenant()
    broken = make_tenant()
    with app.app_context(), db.engine.begin() as conn:
        # An "old" tenant: the schema exists but none of its tables do yet.
        conn.execute(text(f'DROP SCHEMA "{empty.schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{empty.schema}"'))
        conn.execute(text(f'DROP SCHEMA "{broken.schema}" CASCADE'))
    shops = ("--shop", healthy.slug, "--shop", empty.slug, "--shop", broken.slug)
    result = run(app, "tenants", "migrate", "--workers", "2", *shops)
    assert result.exit_code == 1
    assert "1 upgraded, 1 already current, 1 failed" in result.output
    assert f"FAILED {broken.slug}: schema {broken.schema} does not exist" in result.output
    assert "Migrating shops" in result.output  # the progress bar
    assert product_titles(app, empty) == []  # the upgraded schema now has its tables

    with app.app_context(), db.engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{broken.schema}"'))
    result = run(app, "tenants", "migrate", *shops)
    assert result.exit_code == 0, result.output
    assert "1 upgraded, 2 already current, 0 failed" in result.output


def test_tenants_migrate_all(app, make_tenant):
    make_tenant()
    result = run(app, "tenants", "migrate")
    assert result.exit_code == 0 and "0 failed" in result.output


def test_operator_create(app):
    result = run(
        app,
        "operator",
        "create",
        "Ops@Example.com",
        "--name",
        "Ops",
        input="a-long-password\na-long-password\n",
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        op = db.session.scalar(select(Operator).where(Operator.email == "ops@example.com"))
        assert op is not None and op.password_hash.startswith("$argon2id$")
    result = run(app, "operator", "create", "x@example.com", input="short\nshort\n")
    assert result.exit_code == 2 and "at least 10" in result.output


def test_demo_seeds_three_shops_and_is_idempotent(app, shop_client):
    first = run(app, "demo")
    assert first.exit_code == 0, first.output
    assert "operator@example.com / demo-operator-pass" in first.output
    for slug in ("acme", "bloom", "pixel"):
        assert re.search(rf"http://{slug}\.localhost(:\d+)?/\n", first.output)
        assert re.search(rf"http://{slug}\.localhost(:\d+)?/admin  login owner@", first.output)
    second = run(app, "demo")
    assert second.exit_code == 0 and "already there" in second.output
    with app.app_context():
        slugs = set(db.session.scalars(select(Tenant.slug)))
    assert {"acme", "bloom", "pixel"} <= slugs
    assert "Trail Backpack 30L" in shop_client("acme.localhost").get("/").text
    assert "Trail Backpack 30L" not in shop_client("bloom.localhost").get("/").text


def test_every_demo_shop_has_a_manual_and_an_automatic_collection(app, shop_client):
    assert run(app, "demo").exit_code == 0
    acme = shop_client("acme.localhost")
    home = acme.get("/").text
    # Linked from the shop's main menu, as a shopper finds them.
    assert 'href="/collections/trail-essentials"' in home
    assert 'href="/collections/gifts-under-30"' in home
    picked = acme.get("/collections/trail-essentials").text
    assert picked.index("Trail Backpack 30L") < picked.index("Headlamp")
    assert picked.index("Headlamp") < picked.index("Down Sleeping Bag")
    assert "Camping Mug" not in picked
    cheap = acme.get("/collections/gifts-under-30").text  # by rule: up to $30, cheapest first
    assert cheap.index("Camping Mug") < cheap.index("Headlamp")
    assert "Trail Backpack 30L" not in cheap
    for slug in ("bloom", "pixel"):
        page = shop_client(f"{slug}.localhost").get("/").text
        assert page.count('href="/collections/') >= 2


def test_custom_domains_from_the_cli(app, make_tenant, shop_client):
    tenant = make_tenant(products=[("Domain thing", 100)])
    result = run(app, "tenants", "add-domain", tenant.slug, "Shop.Brand-Example.test")
    assert result.exit_code == 0 and "shop.brand-example.test now serves" in result.output
    assert "Domain thing" in shop_client("shop.brand-example.test").get("/").text
    assert "shop.brand-example.test" in run(app, "tenants", "list").output
    for host, reason in [
        ("other.localhost", "belong to the platform"),
        ("shop.brand-example.test", "already attached"),
        ("bad host!", "not a valid host"),
        ("intranet", "full host name"),
        ("x.test:8080", "Leave out the port"),
    ]:
        result = run(app, "tenants", "add-domain", tenant.slug, host)
        assert result.exit_code == 2 and reason in result.output, (host, result.output)
    assert run(app, "tenants", "remove-domain", "shop.brand-example.test").exit_code == 0
    assert shop_client("shop.brand-example.test").get("/").status_code == 400
    assert run(app, "tenants", "remove-domain", "nowhere.test").exit_code == 2


def test_healthz(platform_client):
    response = platform_client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok", "redis": "ok"}


def test_one_port_setting_serves_and_links_on_that_port(tmp_path):
    """`PORT=5100 make demo`: the port `flask serve` listens on is the one links name;
    PUBLIC_PORT only for a proxy in front, and production links name no port."""
    from saas.config import from_env

    base = {
        "DATABASE_URL": "postgresql://u@db/x",
        "REDIS_URL": "redis://r/0",
        "INSTANCE_PATH": str(tmp_path),
    }
    assert from_env(base)["PORT"] == 5000 and from_env(base)["PUBLIC_PORT"] == "5000"
    config = from_env({**base, "PORT": "5100"})
    assert config["PORT"] == 5100 and config["PUBLIC_PORT"] == "5100"
    assert from_env({**base, "PORT": "5100", "PUBLIC_PORT": "8080"})["PUBLIC_PORT"] == "8080"
    production = {**base, "SAAS_ENV": "production", "SECRET_KEY": "k" * 40, "PORT": "8000"}
    assert from_env(production)["PUBLIC_PORT"] == ""
    for wrong in ("http", "0", "70000"):
        with pytest.raises(RuntimeError, match="PORT must be a port number"):
            from_env({**base, "PORT": wrong})
