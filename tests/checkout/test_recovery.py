"""Abandoned checkouts get one reminder with a link that restores the cart; card holds
that Stripe never settled are released (tenants/services/recovery.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from saas.db import db
from saas.outbox import OutboxMessage
from saas.tenancy import tenant_context
from tenants.catalog.models import ProductVariant
from tenants.checkout import recovery
from tenants.checkout.models import Cart
from tenants.orders.models import Order
from tenants.orders.placement import LineInput, OrderInput, place_order
from tests.checkout.test_checkout import ADDRESS, add_to_cart, open_shop


def abandon(app, tenant, client, variant) -> int:
    """A checkout left after the information step, two hours ago; the cart's id."""
    add_to_cart(client, variant, 2)
    assert client.post("/checkout", data=ADDRESS).status_code == 302
    with app.app_context(), tenant_context(tenant):
        cart = db.session.scalars(select(Cart)).one()
        past = datetime.now(UTC) - timedelta(hours=2)
        db.session.execute(
            update(Cart)
            .where(Cart.id == cart.id)
            .values(updated_at=past, checkout_started_at=past)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        return cart.id


def reminders(app, tenant) -> list[str]:
    with app.app_context(), tenant_context(tenant):
        return list(
            db.session.scalars(
                select(OutboxMessage.body).where(OutboxMessage.subject.like("You left%"))
            )
        )


def test_an_abandoned_checkout_gets_one_reminder_that_restores_the_cart(
    app, make_tenant, shop_client
):
    shop = make_tenant()
    variant = open_shop(app, shop)
    cart_id = abandon(app, shop, shop_client(shop), variant)
    with app.app_context(), tenant_context(shop):
        assert recovery.remind(cart_id) is True
        assert recovery.remind(cart_id) is False  # once
    [body] = reminders(app, shop)
    assert "2 x Clay Mug" in body
    link = body.rsplit(": ", 1)[1].strip()
    path = link.split("localhost", 1)[1].split("/", 1)[1]
    elsewhere = shop_client(shop)  # another browser, from the email
    restored = elsewhere.get(f"/{path}", follow_redirects=True)
    assert "Your cart is back." in restored.text and "Clay Mug" in restored.text


def test_no_reminder_for_a_recent_or_finished_checkout(app, make_tenant, shop_client):
    shop = make_tenant()
    variant = open_shop(app, shop)
    client = shop_client(shop)
    add_to_cart(client, variant)
    client.post("/checkout", data=ADDRESS)
    with app.app_context(), tenant_context(shop):
        cart = db.session.scalars(select(Cart)).one()
        assert recovery.remind(cart.id) is False  # too recent
    assert reminders(app, shop) == []


def test_a_recovery_link_opens_nothing_in_another_shop(app, make_tenant, shop_client):
    a, b = make_tenant(), make_tenant()
    cart_id = abandon(app, a, shop_client(a), open_shop(app, a))
    with app.app_context(), tenant_context(a):
        token = db.session.get(Cart, cart_id).token
    page = shop_client(b).get(f"/cart/recover/{token}", follow_redirects=True)
    assert "That cart is no longer available" in page.text and "Clay Mug" not in page.text


def held_card_order(app, tenant, variant: int, *, minutes_left: int) -> int:
    with app.app_context(), tenant_context(tenant):
        product_id = db.session.get(ProductVariant, variant).product_id
        placed = place_order(
            OrderInput(
                idempotency_key=uuid.uuid4().hex,
                email="ann@example.com",
                currency="GBP",
                lines=[LineInput(variant, product_id, "Clay Mug", 2, 1200)],
                payment_method="stripe",
                subtotal_cents=2400,
                total_cents=2400,
                reserved_until=datetime.now(UTC) + timedelta(minutes=minutes_left),
            )
        )
        return placed.order.id


def run_cli(app, *args: str):
    return app.test_cli_runner().invoke(args=list(args), catch_exceptions=False)


def test_an_unsettled_card_hold_is_released_by_the_sweep(app, make_tenant):
    shop = make_tenant()
    variant = open_shop(app, shop, stock=5)
    expired = held_card_order(app, shop, variant, minutes_left=-10)
    current = held_card_order(app, shop, variant, minutes_left=20)
    with app.app_context(), tenant_context(shop):
        assert db.session.get(ProductVariant, variant).inventory_quantity == 1
    result = run_cli(app, "tenants", "sweep")
    assert result.exit_code == 0 and "1 card hold(s) released" in result.output
    with app.app_context(), tenant_context(shop):
        assert db.session.get(Order, expired).payment_status == "voided"
        assert db.session.get(Order, current).payment_status == "pending"
        assert db.session.get(ProductVariant, variant).inventory_quantity == 3
    again = run_cli(app, "tenants", "sweep")
    assert "0 card hold(s) released" in again.output
