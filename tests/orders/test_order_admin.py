"""Orders in the back office: list and filters, order page, paid, shipped, delivered,
refunded, cancelled with restock; every change in the timeline and mailed by a job."""

from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import select

from saas.db import db
from saas.jobs import make_worker
from saas.outbox import OutboxMessage
from saas.tenancy import tenant_context
from tenants.catalog.models import ProductVariant
from tenants.catalog.products import create_product
from tenants.orders.placement import LineInput, OrderInput, place_order


def new_order(app, tenant, *, quantity: int = 2, stock: int = 10, email="ann@example.com", **kw):
    """An order placed through the real placement service; (number, variant id)."""
    with app.app_context(), tenant_context(tenant):
        product = create_product(f"Mug {uuid.uuid4().hex[:4]}", 1200, inventory_quantity=stock)
        db.session.commit()
        variant = product.variants[0]
        placed = place_order(
            OrderInput(
                idempotency_key=uuid.uuid4().hex,
                email=email,
                customer_name=kw.pop("name", "Ann Lee"),
                currency="USD",
                lines=[LineInput(variant.id, product.id, product.title, quantity, 1200)],
                payment_method=kw.pop("payment_method", "bank_transfer"),
                subtotal_cents=1200 * quantity,
                total_cents=1200 * quantity,
                shipping_address=kw.pop(
                    "shipping_address",
                    {
                        "name": "Ann Lee",
                        "line1": "1 Quay St",
                        "city": "Leeds",
                        "postal_code": "LS1 1AA",
                        "country": "GB",
                    },
                ),
                **kw,
            )
        )
        return placed.order.number, variant.id


@pytest.fixture
def run_jobs(app):
    """Run every queued job in a real RQ worker (burst mode)."""
    return lambda: make_worker(app).work(burst=True)


def stock(app, tenant, variant_id: int) -> int:
    with app.app_context(), tenant_context(tenant):
        return db.session.get(ProductVariant, variant_id).inventory_quantity


def mails(app, tenant) -> list[tuple[str, str]]:
    with app.app_context(), tenant_context(tenant):
        rows = db.session.execute(
            select(OutboxMessage.to_address, OutboxMessage.subject).order_by(OutboxMessage.id)
        )
        return [tuple(r) for r in rows]


def test_orders_list_filters_and_finds(app, make_tenant, staff_client):
    shop = make_tenant()
    first, _ = new_order(app, shop, email="ann@example.com", name="Ann Lee")
    second, _ = new_order(app, shop, email="bo@example.com", name="Bo Chen")
    client = staff_client(shop, permissions=["orders"])
    page = client.get("/admin/orders").text
    assert f">#{first}</a>" in page and f">#{second}</a>" in page
    assert "Pending" in page and "Unfulfilled" in page
    found = client.get("/admin/orders", query_string={"q": f"#{second}"}).text
    assert f">#{second}</a>" in found and f">#{first}</a>" not in found
    assert f">#{first}</a>" in client.get("/admin/orders?q=ann%40").text
    assert f">#{second}</a>" in client.get("/admin/orders?q=chen").text
    none = client.get("/admin/orders?payment=paid").text
    assert "No orders match these filters." in none and "Show all orders" in none
    assert client.get("/admin/orders?from=not-a-date&to=2099-01-01").status_code == 200
    old = client.get("/admin/orders?to=2000-01-01").text
    assert "No orders match these filters." in old


def test_a_bank_transfer_order_is_paid_shipped_and_delivered(
    app, make_tenant, staff_client, run_jobs
):
    shop = make_tenant()
    number, _ = new_order(app, shop)
    client = staff_client(shop, permissions=["orders"])
    page = client.get(f"/admin/orders/{number}").text
    assert f"Order #{number}" in page and "Leeds" in page and "Bank transfer" in page

    done = client.post(f"/admin/orders/{number}/paid", follow_redirects=True)
    assert "Order marked as paid" in done.text and "Paid" in done.text
    again = client.post(f"/admin/orders/{number}/paid")
    assert again.status_code == 404 or "already paid" in again.text  # no form, no second payment

    bad = client.post(
        f"/admin/orders/{number}/fulfil",
        data={"carrier": "UPS", "tracking_number": "<script>", "tracking_url": "javascript:x"},
    )
    assert bad.status_code == 400 and "A tracking number has 4 to 60" in bad.text
    shipped = client.post(
        f"/admin/orders/{number}/fulfil",
        data={"carrier": "UPS", "tracking_number": "1Z 999 AA1"},
        follow_redirects=True,
    )
    assert "Items marked as shipped" in shipped.text
    assert 'href="https://www.ups.com/track?tracknum=1Z999AA1"' in shipped.text
    assert "Fulfilled" in shipped.text
    delivered = client.post(f"/admin/orders/{number}/delivered", follow_redirects=True)
    assert "Delivered" in delivered.text
    timeline = delivered.text.split('id="timeline-heading"')[1]
    assert timeline.index("Marked as delivered") < timeline.index("shipped with UPS")
    assert "(staff)" in timeline

    run_jobs()
    subjects = [s for _, s in mails(app, shop)]
    assert f"Payment received for order #{number}" in subjects
    assert f"Order #{number} is on its way" in subjects


def test_partial_shipment_then_the_rest(app, make_tenant, staff_client):
    shop = make_tenant()
    number, _ = new_order(app, shop, quantity=3)
    client = staff_client(shop, permissions=["orders"])
    page = client.get(f"/admin/orders/{number}").text
    line_id = re.search(r'name="quantity-(\d+)"', page).group(1)
    too_many = client.post(f"/admin/orders/{number}/fulfil", data={f"quantity-{line_id}": "9"})
    assert too_many.status_code == 400 and "Ship between 0 and 3" in too_many.text
    client.post(f"/admin/orders/{number}/fulfil", data={f"quantity-{line_id}": "1"})
    assert "Partially fulfilled" in client.get(f"/admin/orders/{number}").text
    client.post(f"/admin/orders/{number}/fulfil", data={f"quantity-{line_id}": "2"})
    assert "Fulfilled" in client.get(f"/admin/orders/{number}").text


def test_cancel_asks_first_then_restocks_and_voids(app, make_tenant, staff_client, run_jobs):
    shop = make_tenant()
    number, variant = new_order(app, shop, quantity=2, stock=5)
    assert stock(app, shop, variant) == 3
    client = staff_client(shop, permissions=["orders"])
    confirm = client.get(f"/admin/orders/{number}/cancel").text
    assert f"Cancel order #{number}?" in confirm and "Put the items back in stock" in confirm
    assert stock(app, shop, variant) == 3  # asking changes nothing
    done = client.post(
        f"/admin/orders/{number}/cancel",
        data={"confirm": "1", "restock": "1", "reason": "Customer changed their mind"},
        follow_redirects=True,
    )
    assert f"Order #{number} cancelled" in done.text and "Voided" in done.text
    assert "2 items restocked" in done.text
    assert stock(app, shop, variant) == 5
    twice = client.post(f"/admin/orders/{number}/cancel", data={"confirm": "1", "restock": "1"})
    assert twice.status_code == 400 and "This order is cancelled." in twice.text
    assert stock(app, shop, variant) == 5  # never restocked twice
    run_jobs()
    assert ("ann@example.com", f"Order #{number} was cancelled") in mails(app, shop)


def test_refunds_are_checked_and_recorded(app, make_tenant, staff_client):
    shop = make_tenant()
    number, _ = new_order(app, shop, quantity=2)  # 24.00
    client = staff_client(shop, permissions=["orders"])
    assert "<legend>Refund</legend>" not in client.get(f"/admin/orders/{number}").text
    unpaid = client.post(f"/admin/orders/{number}/refund", data={"amount": "5"})
    assert unpaid.status_code == 400 and "Only a paid order can be refunded." in unpaid.text
    client.post(f"/admin/orders/{number}/paid")
    for amount, message in (("-1", ""), ("abc", ""), ("30", "at most what is left")):
        bad = client.post(f"/admin/orders/{number}/refund", data={"amount": amount})
        assert bad.status_code == 400 and message in bad.text
    client.post(f"/admin/orders/{number}/refund", data={"amount": "4.50", "reason": "Chipped"})
    page = client.get(f"/admin/orders/{number}").text
    assert "Partially refunded" in page and "Refunded $4.50: Chipped" in page
    client.post(f"/admin/orders/{number}/refund", data={"amount": "19.50"})
    assert "Refunded</span>" in client.get(f"/admin/orders/{number}").text


def test_orders_need_the_orders_permission_and_stay_in_their_shop(app, make_tenant, staff_client):
    a, b = make_tenant(), make_tenant()
    number, _ = new_order(app, a)
    products_only = staff_client(a, permissions=["products"])
    assert products_only.get(f"/admin/orders/{number}").status_code == 403
    assert products_only.post(f"/admin/orders/{number}/paid").status_code == 403
    other = staff_client(b, role="owner")
    assert other.get(f"/admin/orders/{number}").status_code == 404  # B has no such order
    assert other.post(f"/admin/orders/{number}/paid").status_code == 404
    assert "No orders yet" in other.get("/admin/orders").text
