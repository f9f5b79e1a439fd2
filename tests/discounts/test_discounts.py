"""Discounts: what they take off, why a code is refused, limits that hold under races, and
the back office that manages them."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any

import pytest
from sqlalchemy import func, select

from saas.db import db
from saas.models import AuditEvent
from saas.tenancy import tenant_context
from tenants.catalog.products import create_product
from tenants.checkout import cart as carts
from tenants.checkout.models import Cart
from tenants.collections.models import Collection, CollectionProduct
from tenants.discounts import services as discounts
from tenants.discounts.models import Discount, DiscountUsage
from tenants.discounts.services import evaluate, redeem
from tenants.orders.models import Order

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def discount(**fields: Any) -> Discount:
    fields.setdefault("kind", "percentage")
    fields.setdefault("value", 1000)
    row = Discount(**fields)
    db.session.add(row)
    db.session.flush()
    return row


def summary_of(*items: tuple[str, int, int]) -> carts.Summary:
    """A cart of (title, unit price, quantity) products, summarised."""
    cart = Cart(token=f"t-{datetime.now().timestamp()}-{len(items)}")
    db.session.add(cart)
    db.session.flush()
    for title, price, quantity in items:
        product = create_product(title, price)
        carts.add(cart, product.variants[0].id, quantity)
    return carts.summary(cart)


def order(number: int, email: str = "ann@example.com") -> int:
    row = Order(number=number, email=email, total_cents=0)
    db.session.add(row)
    db.session.flush()
    return row.id


@pytest.fixture
def shop(app, make_tenant):
    tenant = make_tenant()
    with app.app_context(), tenant_context(tenant):
        yield tenant
        db.session.rollback()


# --- what a code takes off -------------------------------------------------------------------


def test_percentage_rounds_half_up_on_the_whole_eligible_subtotal(shop):
    discount(code="FIFTEEN", value=1500)
    cart = summary_of(("Pin", 111, 1), ("Pen", 111, 2))  # 333 cents in 2 lines
    result = evaluate("fifteen", cart, now=NOW)
    assert result.discount is not None and result.message == ""
    assert result.amount_cents == 50  # 49.95 rounds up, once for the cart
    assert sum(result.lines.values()) == 50 and len(result.lines) == 2
    assert discounts.percentage_of(1, 5000) == 1 and discounts.percentage_of(3, 3333) == 1


def test_fixed_amount_never_exceeds_the_subtotal_and_free_shipping(shop):
    discount(code="TENOFF", kind="fixed_amount", value=1000)
    discount(code="SHIPFREE", kind="free_shipping", value=0)
    small = summary_of(("Sticker", 350, 2))
    assert evaluate("TENOFF", small, now=NOW).amount_cents == 700
    big = summary_of(("Lamp", 4000, 1))
    assert evaluate("TENOFF", big, now=NOW).amount_cents == 1000
    free = evaluate("shipfree", big, now=NOW)
    assert free.discount is not None and free.free_shipping and free.amount_cents == 0


def test_every_refusal_has_its_message(shop):
    discount(code="OLD", ends_at=NOW - timedelta(days=1))
    discount(code="SOON", starts_at=NOW + timedelta(days=1))
    discount(code="GONE", usage_limit=3, times_used=3)
    discount(code="ONCE", per_customer_limit=1)
    discount(code="BIG", min_subtotal_cents=5000)
    discount(code="OFF", active=False)
    collection = Collection(title="Mugs", handle="mugs", kind="manual")
    db.session.add(collection)
    db.session.flush()
    discount(code="MUGS", scope="collections", collection_ids=[collection.id])
    once = db.session.scalar(select(Discount).where(Discount.code == "ONCE"))
    db.session.add(
        DiscountUsage(discount_id=once.id, order_id=order(1001), email="ann@example.com")
    )
    db.session.flush()
    cart = summary_of(("Lamp", 4000, 1))

    def message(code: str, email: str | None = None) -> str:
        result = evaluate(code, cart, email=email, now=NOW)
        assert result.discount is None and result.amount_cents == 0
        return result.message

    assert message("OLD") == "This code has expired."
    assert message("SOON") == "This code is not active yet."
    assert message("GONE") == "This code has been used up."
    assert message("ONCE", "ANN@example.com ") == "You have already used this code."
    assert evaluate("ONCE", cart, email="bob@example.com", now=NOW).discount is not None
    assert message("BIG") == "Spend $50.00 or more to use this code."
    assert message("MUGS") == "This code does not apply to the items in your cart."
    assert message("NOPE") == "We don't know this code."
    assert message("OFF") == "We don't know this code."
    assert message("x" * 500) == "We don't know this code."
    # Exactly at the edges: the end is exclusive, the start inclusive.
    discount(code="EDGE", starts_at=NOW, ends_at=NOW + timedelta(seconds=1))
    assert evaluate("EDGE", cart, now=NOW).discount is not None
    assert (
        evaluate("EDGE", cart, now=NOW + timedelta(seconds=1)).message == "This code has expired."
    )


def test_collection_scope_counts_only_products_in_the_collections(shop):
    cart = summary_of(("Mug", 1000, 2), ("Lamp", 4000, 1))
    mug_id = next(line.product_id for line in cart.lines if line.title == "Mug")
    manual = Collection(title="Mugs", handle="mugs", kind="manual")
    rules = Collection(
        title="Lamps", handle="lamps", kind="automatic", rules=[{"field": "price", "min": 3000}]
    )
    db.session.add_all([manual, rules])
    db.session.flush()
    db.session.add(CollectionProduct(collection_id=manual.id, product_id=mug_id, position=1))
    db.session.flush()
    mugs = discount(code="MUGS", value=5000, scope="collections", collection_ids=[manual.id])
    result = evaluate("MUGS", cart, now=NOW)
    assert result.discount is not None and result.amount_cents == 1000  # half of 2 mugs only
    mug_line = next(line.id for line in cart.lines if line.title == "Mug")
    assert result.lines == {mug_line: 1000}
    mugs.min_subtotal_cents = 2500  # the mugs come to 20.00: the lamp does not count
    assert (
        evaluate("MUGS", cart, now=NOW).message
        == "Spend $25.00 or more on eligible items to use this code."
    )
    both = discount(
        code="BOTH", kind="fixed_amount", value=100000, scope="collections",
        collection_ids=[manual.id, rules.id],
    )  # fmt: skip
    assert evaluate(both.code, cart, now=NOW).amount_cents == 6000


def test_automatic_discounts_apply_without_a_code_the_best_one(shop):
    discount(code=None, title="Five off", kind="fixed_amount", value=500)
    discount(code=None, title="Ten percent", value=1000)
    discount(code=None, title="Huge but over", value=9000, ends_at=NOW - timedelta(hours=1))
    discount(code=None, title="Huge but off", value=9000, active=False)
    discount(code=None, title="Huge but far", value=9000, min_subtotal_cents=1_000_000)
    discount(code="CODE20", value=2000)
    cart = summary_of(("Lamp", 4000, 2))  # 80.00: 10 % is 8.00, more than 5.00
    best = evaluate(None, cart, now=NOW)
    assert best.discount is not None and best.discount.title == "Ten percent"
    assert best.amount_cents == 800 and best.message == ""
    assert evaluate("CODE20", cart, now=NOW).amount_cents == 1600  # a code replaces it
    small = summary_of(("Pin", 2000, 1))  # 20.00: 5.00 beats 2.00
    assert evaluate("", small, now=NOW).discount.title == "Five off"
    # No automatic discount at all: nothing, and nothing to say.
    for row in db.session.scalars(select(Discount).where(Discount.code.is_(None))):
        row.active = False
    assert evaluate(None, cart, now=NOW) == discounts.Result(None)


# --- counting uses -------------------------------------------------------------------------------


def test_redeem_counts_uses_and_respects_both_limits(shop):
    limited = discount(code="TWO", usage_limit=2)
    assert redeem(limited, order(2001), "a@example.com")
    assert redeem(limited, order(2002), "b@example.com")
    assert not redeem(limited, order(2003), "c@example.com")
    db.session.refresh(limited)
    assert limited.times_used == 2
    once = discount(code="ONCE", per_customer_limit=1)
    assert redeem(once, order(2004), "Ann@Example.com")
    assert not redeem(once, order(2005), "ann@example.com ")
    assert redeem(once, order(2006), "bob@example.com")
    db.session.refresh(once)
    assert once.times_used == 2  # the refused one was not counted
    emails = db.session.scalars(
        select(DiscountUsage.email).where(DiscountUsage.discount_id == once.id)
    ).all()
    assert sorted(emails) == ["ann@example.com", "bob@example.com"]


def _race(app, tenant, discount_id: int, buyers: list[tuple[int, str]]) -> list[bool]:
    barrier = threading.Barrier(len(buyers))
    results: list[bool] = []
    errors: list[BaseException] = []

    def buy(order_id: int, email: str) -> None:
        try:
            barrier.wait(timeout=30)
            with app.app_context(), tenant_context(tenant):
                row = db.session.get(Discount, discount_id)
                ok = redeem(row, order_id, email)
                db.session.commit()
                results.append(ok)
        except BaseException as error:  # reported below, in the test's own thread
            errors.append(error)

    threads = [threading.Thread(target=buy, args=buyer) for buyer in buyers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return results


def test_twenty_concurrent_redeems_of_a_code_limited_to_five(app, make_tenant):
    tenant = make_tenant()
    with app.app_context(), tenant_context(tenant):
        row = discount(code="FIVE", usage_limit=5, per_customer_limit=1)
        buyers = [(order(3000 + n, f"b{n}@example.com"), f"b{n}@example.com") for n in range(20)]
        db.session.commit()
        discount_id = row.id
    results = _race(app, tenant, discount_id, buyers)
    assert len(results) == 20 and results.count(True) == 5
    with app.app_context(), tenant_context(tenant):
        assert db.session.get(Discount, discount_id).times_used == 5
        usages = db.session.scalar(select(func.count()).select_from(DiscountUsage))
        assert usages == 5


def test_one_customer_racing_a_once_per_customer_code(app, make_tenant):
    tenant = make_tenant()
    with app.app_context(), tenant_context(tenant):
        row = discount(code="ONCE", per_customer_limit=1)
        buyers = [(order(4000 + n), "ann@example.com") for n in range(8)]
        db.session.commit()
        discount_id = row.id
    results = _race(app, tenant, discount_id, buyers)
    assert results.count(True) == 1
    with app.app_context(), tenant_context(tenant):
        assert db.session.get(Discount, discount_id).times_used == 1


def test_codes_of_one_shop_mean_nothing_in_another(app, make_tenant):
    shop_a, shop_b = make_tenant(), make_tenant()
    with app.app_context(), tenant_context(shop_a):
        discount(code="ALPHA")
        db.session.commit()
    with app.app_context(), tenant_context(shop_b):
        cart = summary_of(("Lamp", 4000, 1))
        assert evaluate("ALPHA", cart, now=NOW).message == "We don't know this code."


# --- the back office -----------------------------------------------------------------------------


VALID = {
    "method": "code",
    "code": "SUMMER15",
    "title": "",
    "kind": "percentage",
    "value": "15",
    "scope": "all",
    "min_subtotal": "",
    "starts_at": "",
    "ends_at": "",
    "usage_limit": "",
    "per_customer_limit": "",
    "active": "1",
}


def audit_actions(app, tenant) -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.tenant_id == tenant.id, AuditEvent.action.like("discount.%"))
                .order_by(AuditEvent.id)
            )
        )


def test_back_office_create_list_edit_deactivate_delete(app, make_tenant, staff_client):
    tenant = make_tenant()
    client = staff_client(tenant, permissions=["products"])
    empty = client.get("/admin/discounts")
    assert empty.status_code == 200 and "You have no discounts yet." in empty.text
    created = client.post(
        "/admin/discounts/new",
        data={**VALID, "usage_limit": "100", "starts_at": "2025-06-01T09:00"},
    )
    assert created.status_code == 302
    edit_url = created.headers["Location"]
    page = client.get(edit_url).text
    assert "Discount SUMMER15 was created." in page
    assert 'value="SUMMER15"' in page and 'value="15"' in page and 'value="100"' in page
    assert 'value="2025-06-01T09:00"' in page  # shown in the shop's time zone as typed
    with app.app_context(), tenant_context(tenant):
        row = db.session.scalar(select(Discount))
        assert (row.code, row.kind, row.value, row.usage_limit) == (
            "SUMMER15",
            "percentage",
            1500,
            100,
        )
        assert row.starts_at == datetime(2025, 6, 1, 9, 0, tzinfo=UTC)  # the shop is on UTC
        discount_id = row.id

    listing = client.get("/admin/discounts").text
    assert "SUMMER15" in listing and "15% off" in listing and "0 of 100" in listing
    assert "SUMMER15" in client.get("/admin/discounts?q=summer").text
    assert "No discounts match" in client.get("/admin/discounts?q=winter").text
    assert "SUMMER15" in client.get("/admin/discounts?status=active").text
    assert "No discounts match" in client.get("/admin/discounts?status=expired").text

    saved = client.post(
        edit_url,
        data={**VALID, "kind": "fixed_amount", "value": "5.50", "ends_at": "2030-01-01T00:00"},
    )
    assert saved.status_code == 302
    with app.app_context(), tenant_context(tenant):
        row = db.session.get(Discount, discount_id)
        assert (row.kind, row.value, row.ends_at.year) == ("fixed_amount", 550, 2030)
    assert "$5.50 off" in client.get("/admin/discounts").text

    assert client.post(f"/admin/discounts/{discount_id}/deactivate").status_code == 302
    page = client.get(edit_url).text
    assert "was deactivated" in page and "Deactivated" in page
    assert "SUMMER15" in client.get("/admin/discounts?status=inactive").text
    client.post(f"/admin/discounts/{discount_id}/activate")
    assert "is active again" in client.get(edit_url).text

    confirm = client.get(f"/admin/discounts/{discount_id}/delete")
    assert confirm.status_code == 200 and "Delete the discount SUMMER15?" in confirm.text
    with app.app_context(), tenant_context(tenant):
        assert db.session.get(Discount, discount_id) is not None  # asking deletes nothing
    done = client.post(f"/admin/discounts/{discount_id}/delete")
    assert done.status_code == 302 and done.headers["Location"] == "/admin/discounts"
    with app.app_context(), tenant_context(tenant):
        assert db.session.get(Discount, discount_id) is None
    assert audit_actions(app, tenant) == [
        "discount.created",
        "discount.updated",
        "discount.deactivated",
        "discount.activated",
        "discount.deleted",
    ]


def test_back_office_automatic_discount_on_collections(app, make_tenant, staff_client):
    tenant = make_tenant()
    with app.app_context(), tenant_context(tenant):
        collection = Collection(title="Mugs", handle="mugs", kind="manual")
        db.session.add(collection)
        db.session.commit()
        collection_id = collection.id
    client = staff_client(tenant, permissions=["products"])
    response = client.post(
        "/admin/discounts/new",
        data={
            **VALID,
            "method": "automatic",
            "code": "",
            "title": "Mug week",
            "kind": "free_shipping",
            "value": "",
            "scope": "collections",
            "collections": [str(collection_id)],
            "min_subtotal": "30",
        },
    )
    assert response.status_code == 302
    with app.app_context(), tenant_context(tenant):
        row = db.session.scalar(select(Discount))
        assert row.code is None and row.title == "Mug week"
        assert (row.kind, row.collection_ids, row.min_subtotal_cents) == (
            "free_shipping",
            [collection_id],
            3000,
        )
    page = client.get(response.headers["Location"]).text
    assert f'value="{collection_id}" checked' in page
    listing = client.get("/admin/discounts").text
    assert "Automatic" in listing and "Mug week" in listing and "Free shipping" in listing


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"code": "ab"}, "code", "Use 3 to 100 letters, digits, - or _ (no spaces)."),
        ({"code": "summer sale!"}, "code", "Use 3 to 100 letters, digits, - or _ (no spaces)."),
        ({"code": ""}, "code", "Enter the code shoppers will type, like SUMMER15."),
        ({"code": "taken"}, "code", "Another discount already uses the code “taken”."),
        ({"value": "0"}, "value", "Enter a percentage from 1 to 100, like 15 or 12.5."),
        ({"value": "101"}, "value", "Enter a percentage from 1 to 100, like 15 or 12.5."),
        ({"value": "ten"}, "value", "Enter a percentage from 1 to 100, like 15 or 12.5."),
        ({"kind": "fixed_amount", "value": "-5"}, "value", "The amount cannot be negative."),
        ({"kind": "fixed_amount", "value": "0"}, "value", "Enter an amount above zero."),
        ({"kind": "bogus"}, "kind", "Choose what the discount gives."),
        ({"scope": "collections"}, "collections", "Choose at least one collection."),
        (
            {"starts_at": "2025-06-02T10:00", "ends_at": "2025-06-01T10:00"},
            "ends_at",
            "The end must be after the start.",
        ),
        ({"starts_at": "tomorrow"}, "starts_at", "Enter a date and time, like 2025-06-01 09:00."),
        ({"usage_limit": "0"}, "usage_limit", "Enter a whole number from 1 to 1,000,000"),
        ({"per_customer_limit": "-1"}, "per_customer_limit", "Enter a whole number from 1"),
        ({"usage_limit": "lots"}, "usage_limit", "Enter a whole number from 1"),
        ({"min_subtotal": "abc"}, "min_subtotal", "“abc” cannot be read as an amount."),
        (
            {"method": "automatic", "code": "", "title": ""},
            "title",
            "Name the discount: shoppers see it in their cart",
        ),
    ],
)
def test_back_office_validation_keeps_the_values(
    app, make_tenant, staff_client, changes, field, message
):
    tenant = make_tenant()
    with app.app_context(), tenant_context(tenant):
        discount(code="TAKEN")
        db.session.commit()
    client = staff_client(tenant, permissions=["products"])
    data = {**VALID, "title": "Kept title", **changes}
    response = client.post("/admin/discounts/new", data=data)
    assert response.status_code == 400
    html = unescape(response.text)
    assert message in html
    assert f'id="{field}-error"' in response.text
    assert "Nothing was saved." in html
    assert 'value="Kept title"' in html or field == "title"
    for name in ("code", "value", "starts_at", "usage_limit"):
        if data.get(name):
            assert f'value="{data[name]}"' in html, name
    with app.app_context(), tenant_context(tenant):
        assert db.session.scalar(select(func.count()).select_from(Discount)) == 1


def test_back_office_access_and_isolation(app, make_tenant, staff_client):
    shop_a, shop_b = make_tenant(), make_tenant()
    with app.app_context(), tenant_context(shop_a):
        discount(code="FIRST")
        discount(code="SECOND")
        row = discount(code="ALPHA")  # id 3: shop B has no discount 3
        db.session.commit()
        alpha_id = row.id
    with app.app_context(), tenant_context(shop_b):
        discount(code="BRAVO")
        db.session.commit()
    orders_only = staff_client(shop_a, permissions=["orders"])
    assert orders_only.get("/admin/discounts").status_code == 403
    assert orders_only.post(f"/admin/discounts/{alpha_id}/delete").status_code == 403
    client_b = staff_client(shop_b, permissions=["products"])
    assert "ALPHA" not in client_b.get("/admin/discounts").text
    for method, path in (
        ("get", f"/admin/discounts/{alpha_id}"),
        ("post", f"/admin/discounts/{alpha_id}"),
        ("post", f"/admin/discounts/{alpha_id}/deactivate"),
        ("get", f"/admin/discounts/{alpha_id}/delete"),
        ("post", f"/admin/discounts/{alpha_id}/delete"),
    ):
        response = getattr(client_b, method)(path, data=VALID if method == "post" else None)
        assert response.status_code == 404, path
    with app.app_context(), tenant_context(shop_a):
        assert db.session.get(Discount, alpha_id).code == "ALPHA"
        assert db.session.get(Discount, alpha_id).active


def test_back_office_lists_paginate(app, make_tenant, staff_client):
    tenant = make_tenant()
    with app.app_context(), tenant_context(tenant):
        for n in range(30):
            discount(code=f"CODE{n:02d}")
        db.session.commit()
    client = staff_client(tenant, permissions=["products"])
    first = client.get("/admin/discounts").text
    assert "30 discounts" in first and "Page 1 of 2" in first
    second = client.get("/admin/discounts?page=2").text
    assert "CODE00" in second and "CODE29" not in second
    assert client.get("/admin/discounts?page=3").status_code == 404


def test_back_office_discount_pages_are_valid_html(app, make_tenant, staff_client, tmp_path):
    from tests.shop.test_html_valid import assert_valid, check_html, checker_command

    command = checker_command()  # skips without the Nu Html Checker
    tenant = make_tenant()
    with app.app_context(), tenant_context(tenant):
        db.session.add(Collection(title="Mugs", handle="mugs", kind="manual"))
        db.session.commit()
    client = staff_client(tenant, permissions=["products"])
    pages = {"empty list": client.get("/admin/discounts").text}
    pages["new form"] = client.get("/admin/discounts/new").text
    pages["form with errors"] = client.post(
        "/admin/discounts/new", data={**VALID, "code": "x", "scope": "collections"}
    ).text
    created = client.post(
        "/admin/discounts/new", data={**VALID, "usage_limit": "5", "ends_at": "2030-01-01T00:00"}
    )
    edit_url = created.headers["Location"]
    pages["edit form"] = client.get(edit_url).text
    pages["list"] = client.get("/admin/discounts").text
    pages["filtered, nothing"] = client.get("/admin/discounts?status=expired").text
    pages["delete"] = client.get(edit_url + "/delete").text
    assert_valid(check_html(command, pages, tmp_path / "pages"), list(pages))


def test_guessing_codes_is_rate_limited(app, make_tenant, shop_client):
    from tests.checkout.test_cart import make_product

    tenant = make_tenant()
    ids = make_product(app, tenant, stock=5)
    client = shop_client(tenant)
    client.post("/cart/add", data={"variant": ids["variant"], "quantity": 1})
    for n in range(30):
        assert client.post("/cart/discount", data={"code": f"GUESS{n}"}).status_code == 400
    limited = client.post("/cart/discount", data={"code": "GUESS99"})
    assert limited.status_code == 429 and "Too many attempts" in limited.text
