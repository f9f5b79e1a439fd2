"""Storefront search: words, misspellings, ranking, paging, hostile input, isolation."""

from __future__ import annotations

from sqlalchemy import func, insert, select, text

from saas.db import db
from saas.tenancy import tenant_context
from tenants.catalog.models import Product, ProductStatus
from tenants.catalog.search import MAX_QUERY, clean_query, search_products

CATALOG = [
    ("Canvas Backpack", 5900),
    ("Leather Wallet", 3500),
    ("Ceramic Teapot", 2400),
    ("Wool Scarf", 2900),
]


def test_search_finds_products_by_word_and_shows_the_count(make_tenant, shop_client):
    shop = make_tenant(products=CATALOG)
    page = shop_client(shop).get("/search?q=wallet")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Leather Wallet" in body and "Canvas Backpack" not in body
    assert "1 product found." in body
    assert 'value="wallet"' in body  # the query is kept in the search box


def test_a_misspelling_still_finds_the_product(make_tenant, shop_client):
    shop = make_tenant(products=CATALOG)
    body = shop_client(shop).get("/search?q=bakpack").get_data(as_text=True)
    assert "Canvas Backpack" in body
    assert "Teapot" not in body


def test_words_in_the_description_match_and_titles_rank_first(app, make_tenant):
    shop = make_tenant(products=CATALOG)
    with app.app_context(), tenant_context(shop):
        wallet = db.session.scalar(select(Product).where(Product.title == "Leather Wallet"))
        wallet.description = "<p>Fits in any backpack.</p>"
        db.session.commit()
        results = search_products("backpack")
        assert [p.title for p in results.items] == ["Canvas Backpack", "Leather Wallet"]
        assert results.total == 2


def test_only_active_products_are_found(app, make_tenant, shop_client):
    shop = make_tenant(products=CATALOG)
    with app.app_context(), tenant_context(shop):
        scarf = db.session.scalar(select(Product).where(Product.title == "Wool Scarf"))
        scarf.status = ProductStatus.DRAFT
        db.session.commit()
    body = shop_client(shop).get("/search?q=scarf").get_data(as_text=True)
    assert "Wool Scarf" not in body
    assert "No products match" in body


def test_one_shop_never_finds_another_shops_products(make_tenant, shop_client):
    shop_a = make_tenant(products=[("Alpine Backpack", 100)])
    shop_b = make_tenant(products=[("Garden Hose", 100)])
    for q in ("backpack", "alpine", "bakpack"):
        body = shop_client(shop_b).get(f"/search?q={q}").get_data(as_text=True)
        assert "Alpine" not in body, q
    assert "Alpine Backpack" in shop_client(shop_a).get("/search?q=backpack").get_data(as_text=True)


def test_empty_and_blank_queries_show_the_form(make_tenant, shop_client):
    shop = make_tenant(products=CATALOG)
    for url in ("/search", "/search?q=", "/search?q=%20%20"):
        page = shop_client(shop).get(url)
        assert page.status_code == 200
        body = page.get_data(as_text=True)
        assert '<label for="search-q">Search products</label>' in body
        assert "found." not in body


def test_hostile_input_is_only_ever_text(app, make_tenant, shop_client):
    shop = make_tenant(products=CATALOG)
    client = shop_client(shop)
    for q in (
        "'; drop table products; --",
        "%",
        "_",
        "\\",
        "a & b | !c",
        '"unclosed',
        "x\x07y",
        "<script>alert(1)</script>",
        "-",
        "or",
    ):
        page = client.get("/search", query_string={"q": q})
        assert page.status_code == 200, q
        assert "<script>alert(1)</script>" not in page.get_data(as_text=True)
    # A NUL byte is refused before the search runs (saas.security.refuse_nul_bytes).
    assert client.get("/search", query_string={"q": "x\x00y"}).status_code == 400
    assert "&lt;script&gt;" in client.get("/search", query_string={"q": "<script>"}).get_data(
        as_text=True
    )
    with app.app_context(), tenant_context(shop):
        assert db.session.scalar(select(func.count()).select_from(Product)) == len(CATALOG)


def test_a_very_long_query_is_cut_to_200_characters(make_tenant, shop_client):
    shop = make_tenant(products=CATALOG)
    long_q = "wallet " + "z" * 5000
    assert len(clean_query(long_q)) == MAX_QUERY
    page = shop_client(shop).get("/search", query_string={"q": long_q})
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "z" * (MAX_QUERY - 7) in body and "z" * (MAX_QUERY - 6) not in body


def test_results_are_paginated(app, make_tenant, shop_client):
    shop = make_tenant()
    with app.app_context(), tenant_context(shop):
        db.session.execute(
            insert(Product),
            [
                {
                    "handle": f"mug-{i}",
                    "title": f"Mug {i:02d}",
                    "description": "",
                    "price_cents": 100,
                    "status": "active",
                }
                for i in range(30)
            ],
        )
        db.session.commit()
    client = shop_client(shop)
    first = client.get("/search?q=mug").get_data(as_text=True)
    assert "30 products found." in first and "Page 1 of 2" in first
    assert 'href="/search?q=mug&amp;page=2"' in first
    second = client.get("/search?q=mug&page=2").get_data(as_text=True)
    assert second.count('class="tile"') == 6


INDEXES = "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = :s AND indexname LIKE :n"


def test_models_and_migrations_build_the_same_search_indexes(app, make_tenant):
    from saas.tenancy.migrations import upgrade_tenant_schema

    built = make_tenant()
    replayed = "t_999998"
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{replayed}"'))
        try:
            upgrade_tenant_schema(replayed)
            with db.engine.connect() as conn:
                shapes = [
                    {
                        name: definition.replace(f"{schema}.", "<schema>.")
                        for name, definition in conn.execute(
                            text(INDEXES), {"s": schema, "n": "ix_products_%"}
                        )
                    }
                    for schema in (built.schema, replayed)
                ]
        finally:
            with db.engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{replayed}" CASCADE'))
    assert {"ix_products_search_fts", "ix_products_title_trgm"} <= set(shapes[0])
    assert shapes[0] == shapes[1]
