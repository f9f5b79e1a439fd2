"""Collections: manual and automatic, their back-office pages, and the storefront query."""

from __future__ import annotations

from sqlalchemy import select

from saas.db import db
from saas.tenancy import tenant_context
from tenants.catalog.models import Product
from tenants.catalog.products import create_product
from tenants.collections import services as collections
from tenants.collections.models import Collection, CollectionProduct

CATALOG = [
    # title, price, vendor, type, tags, status
    ("Blue Mug", 1000, "Acme", "Mugs", ["kitchen"], "active"),
    ("Red Mug", 2500, "Acme", "Mugs", ["kitchen", "sale"], "active"),
    ("Green Shirt", 3000, "Cotton Co", "Shirts", ["sale"], "active"),
    ("Hidden Mug", 500, "Acme", "Mugs", ["sale"], "draft"),
]


def stock_catalog(app, tenant) -> dict[str, int]:
    ids = {}
    with app.app_context(), tenant_context(tenant):
        for title, price, vendor, kind, tags, status in CATALOG:
            p = create_product(title, price, status=status)
            p.vendor, p.product_type, p.tags = vendor, kind, tags
            ids[title] = p.id
        db.session.commit()
    return ids


def collection_form(**overrides) -> dict:
    form = {
        "title": "Sale",
        "handle": "",
        "description": "",
        "kind": "automatic",
        "sort": "title",
        "match": "all",
        "rule1_field": "tag",
        "rule1_value": "SALE",
    }
    form.update(overrides)
    return form


def titles(app, tenant, handle, **kwargs) -> list[str]:
    with app.app_context(), tenant_context(tenant):
        collection = collections.collection_by_handle(handle)
        rows, total = collections.collection_products(collection, **kwargs)
        assert total == len(rows) or kwargs.get("per_page")
        return [p.title for p in rows]


def test_automatic_collection_rules_and_sorts(app, make_tenant, staff_client):
    tenant = make_tenant()
    stock_catalog(app, tenant)
    client = staff_client(tenant, permissions=["products"])
    response = client.post("/admin/collections/new", data=collection_form(), follow_redirects=True)
    assert response.status_code == 200 and "Collection “Sale” was created." in response.text
    assert "2 active products match the rules." in response.text
    assert titles(app, tenant, "sale") == ["Green Shirt", "Red Mug"]  # drafts never show
    assert titles(app, tenant, "sale", sort="price-asc") == ["Red Mug", "Green Shirt"]
    assert titles(app, tenant, "sale", filters={"vendor": "Acme"}) == ["Red Mug"]
    assert titles(app, tenant, "sale", filters={"max_price": 2600}) == ["Red Mug"]

    with app.app_context(), tenant_context(tenant):
        collection_id = db.session.scalar(select(Collection.id))
    # Any of: product type Mugs, or price between 29.00 and 35.00.
    client.post(
        f"/admin/collections/{collection_id}",
        data=collection_form(
            handle="sale",
            match="any",
            sort="price-desc",
            rule1_field="product_type",
            rule1_value="mugs",
            rule2_field="price",
            rule2_min="29",
            rule2_max="35.00",
        ),
    )
    assert titles(app, tenant, "sale") == ["Green Shirt", "Red Mug", "Blue Mug"]
    client.post(
        f"/admin/collections/{collection_id}",
        data=collection_form(
            handle="sale",
            match="all",
            rule1_field="vendor",
            rule1_value="Acme",
            rule2_field="price",
            rule2_min="20",
        ),
    )
    assert titles(app, tenant, "sale") == ["Red Mug"]
    # Paging.
    client.post(
        f"/admin/collections/{collection_id}",
        data=collection_form(
            handle="sale", rule1_field="price", rule1_value="", rule1_min="0", sort="title"
        ),
    )
    assert titles(app, tenant, "sale", page=2, per_page=2) == ["Red Mug"]


def test_manual_collection_keeps_the_order_set(app, make_tenant, staff_client):
    tenant = make_tenant()
    ids = stock_catalog(app, tenant)
    client = staff_client(tenant, permissions=["products"])
    client.post(
        "/admin/collections/new",
        data=collection_form(title="Picks", kind="manual", sort="manual", rule1_field=""),
    )
    with app.app_context(), tenant_context(tenant):
        collection_id = db.session.scalar(select(Collection.id))
    url = f"/admin/collections/{collection_id}/products"
    for title in ("Red Mug", "Blue Mug", "Hidden Mug", "Green Shirt"):
        client.post(url, data={"action": "add", "product": ids[title]})
    again = client.post(
        url, data={"action": "add", "product": ids["Red Mug"]}, follow_redirects=True
    )
    assert "“Red Mug” is already in this collection." in again.text
    assert titles(app, tenant, "picks") == ["Red Mug", "Blue Mug", "Green Shirt"]
    client.post(url, data={"action": "up", "product": ids["Green Shirt"]})
    client.post(url, data={"action": "down", "product": ids["Red Mug"]})
    assert titles(app, tenant, "picks") == ["Blue Mug", "Red Mug", "Green Shirt"]
    client.post(url, data={"action": "remove", "product": ids["Red Mug"]})
    assert titles(app, tenant, "picks") == ["Blue Mug", "Green Shirt"]
    assert titles(app, tenant, "picks", sort="price-desc") == ["Green Shirt", "Blue Mug"]
    page = client.get(f"/admin/collections/{collection_id}").text
    assert "Move Green Shirt up" in page and "Hidden Mug" in page


def test_bad_collection_input_saves_nothing(app, make_tenant, staff_client):
    tenant = make_tenant()
    client = staff_client(tenant, permissions=["products"])
    client.post("/admin/collections/new", data=collection_form(title="Sale"))
    response = client.post(
        "/admin/collections/new",
        data=collection_form(
            title="Sale again",
            handle="sale",
            rule1_field="price",
            rule1_min="-1",
            rule2_field="price",
            rule2_min="10",
            rule2_max="5",
            rule3_field="tag",
            rule3_value="",
            sort="random",
        ),
    )
    assert response.status_code == 400
    for message in (
        "Another collection already uses the handle “sale”.",
        "The price cannot be negative.",
        "The highest price must be at least the lowest.",
        "Enter the value to match.",
        "Choose an order.",
    ):
        assert message in response.text, message
    assert 'value="Sale again"' in response.text
    empty = client.post("/admin/collections/new", data=collection_form(title="X", rule1_field=""))
    assert empty.status_code == 400 and "needs at least one rule" in empty.text
    with app.app_context(), tenant_context(tenant):
        assert db.session.scalars(select(Collection.title)).all() == ["Sale"]


def test_delete_needs_the_title_typed(app, make_tenant, staff_client):
    tenant = make_tenant()
    stock_catalog(app, tenant)
    client = staff_client(tenant, permissions=["products"])
    client.post("/admin/collections/new", data=collection_form())
    with app.app_context(), tenant_context(tenant):
        collection_id = db.session.scalar(select(Collection.id))
    url = f"/admin/collections/{collection_id}/delete"
    assert "Type the title, Sale, to confirm" in client.get(url).text
    assert client.post(url, data={"confirm_title": "nope"}).status_code == 400
    done = client.post(url, data={"confirm_title": "Sale"}, follow_redirects=True)
    assert "was deleted" in done.text and "You have no collections yet." in done.text
    with app.app_context(), tenant_context(tenant):
        assert db.session.scalar(select(Collection)) is None
        assert len(db.session.scalars(select(Product)).all()) == 4


def test_another_shop_cannot_open_or_change_a_collection(app, make_tenant, staff_client):
    shop_a, shop_b = make_tenant(), make_tenant()
    ids = stock_catalog(app, shop_a)
    owner_a = staff_client(shop_a, permissions=["products"])
    owner_a.post(
        "/admin/collections/new",
        data=collection_form(title="Picks", kind="manual", sort="manual", rule1_field=""),
    )
    with app.app_context(), tenant_context(shop_a):
        collection_id = db.session.scalar(select(Collection.id))
    owner_a.post(
        f"/admin/collections/{collection_id}/products",
        data={"action": "add", "product": ids["Blue Mug"]},
    )
    intruder = staff_client(shop_b, role="owner")
    base = f"/admin/collections/{collection_id}"
    assert intruder.get(base).status_code == 404
    assert intruder.post(base, data=collection_form(title="Pwned")).status_code == 404
    assert (
        intruder.post(
            f"{base}/products", data={"action": "remove", "product": ids["Blue Mug"]}
        ).status_code
        == 404
    )
    assert intruder.post(f"{base}/delete", data={"confirm_title": "Picks"}).status_code == 404
    assert "Picks" not in intruder.get("/admin/collections").text
    with app.app_context(), tenant_context(shop_a):
        assert db.session.get(Collection, collection_id).title == "Picks"
        assert db.session.scalars(select(CollectionProduct.product_id)).all() == [ids["Blue Mug"]]
    # Shop B cannot put shop A's product into its own collection either.
    intruder.post(
        "/admin/collections/new",
        data=collection_form(title="Mine", kind="manual", sort="manual", rule1_field=""),
    )
    with app.app_context(), tenant_context(shop_b):
        own_id = db.session.scalar(select(Collection.id))
    response = intruder.post(
        f"/admin/collections/{own_id}/products",
        data={"action": "add", "product": ids["Red Mug"]},
        follow_redirects=True,
    )
    assert "Choose a product to add." in response.text


def test_collections_all_lists_every_active_product_sortable_and_paged(
    app, make_tenant, shop_client
):
    tenant = make_tenant()
    stock_catalog(app, tenant)
    client = shop_client(tenant)
    page = client.get("/collections/all")
    assert page.status_code == 200
    assert '<h1 id="collection-heading">All products</h1>' in page.text
    assert "3 products" in page.text and "Hidden Mug" not in page.text  # drafts never show
    cheapest = client.get("/collections/all?sort=price-asc").text
    assert cheapest.index("Blue Mug") < cheapest.index("Red Mug") < cheapest.index("Green Shirt")
    assert "Green Shirt" not in client.get("/collections/all?tag=kitchen").text
    assert titles(app, tenant, "all", per_page=2, page=2, sort="title") == ["Red Mug"]
    # A merchant's own collection called "all" is theirs to show instead.
    with app.app_context(), tenant_context(tenant):
        db.session.add(Collection(handle="all", title="Everything we love", kind="manual"))
        db.session.commit()
    mine = client.get("/collections/all").text
    assert "Everything we love" in mine and "0 products" in mine
    assert client.get("/collections/nope").status_code == 404
