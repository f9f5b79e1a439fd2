"""Stock adjustments, their history, and the low-stock email."""

from __future__ import annotations

from sqlalchemy import select

from saas.db import db
from saas.jobs import make_worker
from saas.outbox import OutboxMessage
from saas.tenancy import tenant_context
from tenants.catalog import inventory
from tenants.catalog.models import InventoryAdjustment, Product
from tenants.catalog.products import create_product
from tenants.settings.models import ShopSettings


def make_variant(app, tenant, stock=10, threshold=5) -> int:
    with app.app_context(), tenant_context(tenant):
        db.session.get(ShopSettings, 1).low_stock_threshold = threshold
        product = create_product("Blue Mug", 1000, inventory_quantity=stock)
        db.session.commit()
        return product.variants[0].id


def state(app, tenant, variant_id):
    with app.app_context(), tenant_context(tenant):
        rows = db.session.scalars(
            select(InventoryAdjustment)
            .where(InventoryAdjustment.variant_id == variant_id)
            .order_by(InventoryAdjustment.id)
        ).all()
        product = db.session.scalar(select(Product))
        return (
            product.variants[0].inventory_quantity,
            product.inventory_quantity,
            [(r.delta, r.quantity_after, r.reason, r.note, r.staff_id) for r in rows],
        )


def outbox(app, tenant):
    with app.app_context(), tenant_context(tenant):
        return [(m.to_address, m.subject) for m in db.session.scalars(select(OutboxMessage))]


def test_adjustments_are_recorded_with_reason_and_staff(app, make_tenant, staff_client):
    tenant = make_tenant()
    variant_id = make_variant(app, tenant)
    client = staff_client(tenant, permissions=["products"], name="Robin Stock")
    page = client.get(f"/admin/variants/{variant_id}/inventory")
    assert page.status_code == 200 and "No stock changes recorded yet." in page.text
    assert '<label for="delta">Change' in page.text
    response = client.post(
        f"/admin/variants/{variant_id}/inventory",
        data={"delta": "+4", "reason": "received", "note": "Delivery 17"},
        follow_redirects=True,
    )
    assert response.status_code == 200 and "Stock is now 14." in response.text
    client.post(
        f"/admin/variants/{variant_id}/inventory", data={"delta": "-1", "reason": "damaged"}
    )
    quantity, summary, rows = state(app, tenant, variant_id)
    assert (quantity, summary) == (13, 13)
    staff_id = client.staff.id
    assert rows == [
        (4, 14, "received", "Delivery 17", staff_id),
        (-1, 13, "damaged", "", staff_id),
    ]
    history = client.get(f"/admin/variants/{variant_id}/inventory").text
    assert "Robin Stock" in history and "Delivery 17" in history and "-1" in history
    assert history.index("<td>Damaged</td>") < history.index("<td>Received</td>")  # newest first


def test_bad_adjustments_change_nothing(app, make_tenant, staff_client):
    tenant = make_tenant()
    variant_id = make_variant(app, tenant, stock=3)
    client = staff_client(tenant, permissions=["products"])
    for data, message in [
        ({"delta": "-4", "reason": "sold"}, "Stock cannot go below zero (there are 3)."),
        ({"delta": "abc", "reason": "sold"}, "Enter a whole number"),
        ({"delta": "0", "reason": "sold"}, "Enter a change other than zero"),
        ({"delta": "2", "reason": "stolen"}, "Choose a reason."),
        ({"delta": "2", "reason": "received", "note": "x" * 501}, "Use at most 500 characters."),
    ]:
        response = client.post(f"/admin/variants/{variant_id}/inventory", data=data)
        assert response.status_code == 400 and message in response.text, data
        assert 'role="alert"' in response.text
    assert state(app, tenant, variant_id) == (3, 3, [])


def test_crossing_the_threshold_emails_the_owner_once_a_day(
    app, make_tenant, make_staff, staff_client
):
    tenant = make_tenant()
    owner = make_staff(tenant, role="owner", email="owner@example.com")
    variant_id = make_variant(app, tenant, stock=7, threshold=5)
    client = staff_client(tenant, permissions=["products"])
    url = f"/admin/variants/{variant_id}/inventory"
    client.post(url, data={"delta": "-1", "reason": "sold"})  # 6: still above
    make_worker(app).work(burst=True)
    assert outbox(app, tenant) == []
    client.post(url, data={"delta": "-2", "reason": "sold"})  # 4: crosses
    make_worker(app).work(burst=True)
    assert outbox(app, tenant) == [(owner.email, "Low stock: Blue Mug")]
    client.post(url, data={"delta": "5", "reason": "received"})  # 9: back above
    client.post(url, data={"delta": "-6", "reason": "sold"})  # 3: crosses again, same day
    make_worker(app).work(burst=True)
    assert len(outbox(app, tenant)) == 1
    with app.app_context(), tenant_context(tenant):
        [message] = db.session.scalars(select(OutboxMessage)).all()
        assert "has 4 left" in message.body and "threshold of 5" in message.body
        assert message.dedupe_key.startswith(f"low-stock:{variant_id}:")


def test_no_email_when_restocked_before_the_job_runs(app, make_tenant, make_staff):
    tenant = make_tenant()
    make_staff(tenant, role="owner")
    variant_id = make_variant(app, tenant, stock=6, threshold=5)
    with app.app_context(), tenant_context(tenant):
        from tenants.catalog.models import ProductVariant

        variant = db.session.get(ProductVariant, variant_id)
        _, low = inventory.adjust(variant, -2, "sold")
        assert low is True
        inventory.adjust(variant, 10, "received")
        db.session.commit()
        inventory.notify_low_stock(variant_id)
    assert outbox(app, tenant) == []


def test_another_shop_cannot_see_or_adjust_stock(app, make_tenant, staff_client):
    shop_a, shop_b = make_tenant(), make_tenant()
    variant_id = make_variant(app, shop_a, stock=8)
    make_variant(app, shop_b, stock=1)
    intruder = staff_client(shop_b, role="owner")
    # Shop B has a variant with the same id: it sees its own, never A's.
    page = intruder.get(f"/admin/variants/{variant_id}/inventory")
    assert "<strong>1</strong> in stock" in page.text
    intruder.post(
        f"/admin/variants/{variant_id}/inventory", data={"delta": "1", "reason": "received"}
    )
    assert state(app, shop_a, variant_id) == (8, 8, [])
    assert intruder.get(f"/admin/variants/{variant_id + 1}/inventory").status_code == 404
