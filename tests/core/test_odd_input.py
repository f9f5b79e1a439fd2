"""Odd and hostile requests get a clear 400 or 404, never a server error: every route of
every site is walked with them (a NUL byte in its path and in its query, `//` in its
query), as a visitor and as the shop's owner, plus hosts with ports out of range."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from saas.db import db
from saas.tenancy import tenant_context
from tenants.catalog.models import Product
from tests.conftest import client_for, log_in_as

NUL = "%00"


def sample_path(rule, value: str) -> str:
    """`rule` with every argument `value` (1 for numeric ones, which a NUL cannot match)."""
    return re.sub(
        r"<(?:(\w+)(?:\([^)]*\))?:)?\w+>",
        lambda m: "1" if m.group(1) in ("int", "float") else value,
        rule.rule,
    )


def get_rules(app, host_kind: str) -> list:
    return [
        rule
        for rule in app.url_map.iter_rules()
        if rule.host == host_kind and "GET" in rule.methods and not rule.endpoint.endswith("static")
    ]


@pytest.fixture
def owned_shop(app, make_tenant, make_staff):
    tenant = make_tenant(products=[("Mug", 1200)])
    owner = make_staff(tenant, role="owner")
    client = client_for(app, f"{tenant.slug}.localhost")
    log_in_as(client, owner.user_id)
    return tenant, client


@pytest.mark.parametrize("site", ["platform", "console", "shop"])
def test_a_nul_byte_in_any_path_or_query_is_refused_with_400(app, owned_shop, site):
    tenant, owner = owned_shop
    clients = {
        "platform": [client_for(app, "localhost")],
        "console": [client_for(app, "admin.localhost")],
        "shop": [client_for(app, f"{tenant.slug}.localhost"), owner],
    }[site]
    walked = 0
    for client in clients:
        for rule in get_rules(app, site):
            for url in (sample_path(rule, f"a{NUL}b"), sample_path(rule, "x") + f"?q=a{NUL}b"):
                if NUL not in url:
                    continue  # only numeric arguments, tried with the query
                response = client.get(url)
                assert response.status_code == 400, (url, response.status_code)
                walked += 1
    assert walked >= len(get_rules(app, site)) * len(clients) > 0


def test_a_nul_byte_in_a_posted_form_is_refused_and_writes_nothing(app, owned_shop):
    tenant, owner = owned_shop
    for field in ("title", "description"):
        data = {"title": "Tea", "price": "5", "status": "active", field: "Bad\x00text"}
        response = owner.post("/admin/products/new", data=data)
        assert response.status_code == 400
        assert "NUL character" in response.get_data(as_text=True)
    with app.app_context(), tenant_context(tenant):
        titles = db.session.scalars(select(Product.title)).all()
    assert titles == ["Mug"]


def test_double_slashes_in_a_query_do_not_break_links(app, owned_shop, make_tenant):
    _, owner = owned_shop
    # Every back-office list with a search, as its owner.
    walked = 0
    for rule in get_rules(app, "shop"):
        if not rule.endpoint.startswith("backoffice.") or rule.arguments:
            continue
        response = owner.get(rule.rule + "?q=a//b&page=1")
        assert response.status_code < 500, (rule.rule, response.status_code)
        walked += 1
    assert walked > 10
    response = owner.get("/admin/products?q=a//b")
    assert response.status_code == 200
    # Storefront search with more than one page of results: its page links carry the query.
    many = make_tenant(products=[(f"Blue x//y mug {n}", 1000 + n) for n in range(30)])
    shopper = client_for(app, f"{many.slug}.localhost")
    response = shopper.get("/search?q=x//y")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert re.search(r'href="[^"]*page=2[^"]*"', page) and "x//y" in page


@pytest.mark.parametrize("port", ["99999", "65536", "0", "123456789"])
def test_a_host_with_a_port_out_of_range_is_a_bad_host(app, make_tenant, port):
    tenant = make_tenant()
    for host in (f"{tenant.slug}.localhost:{port}", f"localhost:{port}"):
        response = client_for(app, "localhost").get("/admin", environ_overrides={"HTTP_HOST": host})
        assert response.status_code == 400, host
