"""Paying by card on Stripe's hosted Checkout (the fake Stripe server), and what the
webhooks do to the order: paid exactly once, or cancelled and restocked on expiry."""

from __future__ import annotations

from sqlalchemy import select

from saas.db import db
from saas.jobs import make_worker
from saas.outbox import OutboxMessage
from saas.tenancy import tenant_context
from tenants.catalog.models import ProductVariant
from tenants.orders.models import Order
from tests.checkout.test_checkout import ADDRESS, add_to_cart, open_shop, total_on


def to_stripe(client, fake_stripe) -> str:
    """Check out choosing card payment; the Checkout Session's id."""
    assert client.post("/checkout", data=ADDRESS).status_code == 302
    page = client.get("/checkout/shipping").text
    key = page.split('name="shipping" value="')[1].split('"')[0]
    client.post("/checkout/shipping", data={"shipping": key})
    payment = client.get("/checkout/payment").text
    assert "Card (secure payment page by Stripe)" in payment
    client.post("/checkout/payment", data={"payment": "stripe"})
    review = client.get("/checkout/review").text
    placed = client.post("/checkout/review", data={"total": total_on(review)})
    # The order is committed first; the next request (the same form, re-sent) opens Stripe.
    assert placed.status_code == 307 and "/pay" in placed.location
    redirect = client.post(placed.location, data={"total": total_on(review)})
    assert redirect.status_code == 303 and redirect.location.startswith(fake_stripe.url("/"))
    return redirect.location.rstrip("/").rsplit("/", 1)[-1]


def connect_account_of(app, tenant) -> str:
    from tenants.settings.models import ShopSettings

    with app.app_context(), tenant_context(tenant):
        return db.session.get(ShopSettings, 1).stripe_account_id


def order_state(app, tenant) -> tuple[str, str | None, bool]:
    with app.app_context(), tenant_context(tenant):
        order = db.session.scalars(select(Order)).one()
        return (
            order.payment_status,
            order.stripe_checkout_session_id,
            order.cancelled_at is not None,
        )


def stock(app, tenant, variant) -> int:
    with app.app_context(), tenant_context(tenant):
        return db.session.get(ProductVariant, variant).inventory_quantity


def subjects(app, tenant) -> list[str]:
    make_worker(app).work(burst=True)
    with app.app_context(), tenant_context(tenant):
        return list(db.session.scalars(select(OutboxMessage.subject)))


def test_a_card_payment_marks_the_order_paid_once(
    stripe_app, fake_stripe, make_tenant, shop_client, connect_stripe
):
    app = stripe_app
    shop = make_tenant()
    variant = open_shop(app, shop, stock=5)
    connect_stripe(shop)
    client = shop_client(shop)
    add_to_cart(client, variant, 2)
    session_id = to_stripe(client, fake_stripe)
    assert order_state(app, shop) == ("pending", session_id, False)
    assert stock(app, shop, variant) == 3  # held while the shopper is on Stripe's page
    assert subjects(app, shop) == []  # nothing confirmed before Stripe says so

    fake_stripe.pay(session_id)  # "Pay" on Stripe's page; the signed webhook follows
    assert order_state(app, shop)[0] == "paid"
    # The same completion again, five times at once (one event id), and once more as a
    # new event: nothing more happens.
    account = connect_account_of(app, shop)
    again = fake_stripe.make_event(
        "checkout.session.completed", fake_stripe.session(session_id), account=account
    )
    deliveries = fake_stripe.deliver_concurrently(again, 5)
    assert len(deliveries) == 5 and all(d.status == 200 for d in deliveries)
    fake_stripe.send_event(
        "checkout.session.completed", fake_stripe.session(session_id), account=account
    )
    assert order_state(app, shop)[0] == "paid"
    sent = subjects(app, shop)
    assert sent.count("Order #1001 confirmed") == 1
    with app.app_context(), tenant_context(shop):
        order = db.session.scalars(select(Order)).one()
        assert [e.kind for e in order.events].count("paid") == 1
        assert order.stripe_payment_intent_id


def test_an_expired_card_payment_cancels_the_order_and_restocks(
    stripe_app, fake_stripe, make_tenant, shop_client, connect_stripe
):
    app = stripe_app
    shop = make_tenant()
    variant = open_shop(app, shop, stock=5)
    connect_stripe(shop)
    client = shop_client(shop)
    add_to_cart(client, variant, 2)
    session_id = to_stripe(client, fake_stripe)
    assert stock(app, shop, variant) == 3
    fake_stripe.expire_session(session_id)
    fake_stripe.wait_for_webhooks()
    status, _, cancelled = order_state(app, shop)
    assert (status, cancelled) == ("voided", True)
    assert stock(app, shop, variant) == 5


def test_a_webhook_for_another_shops_account_changes_nothing_here(
    stripe_app, fake_stripe, make_tenant, shop_client, connect_stripe
):
    app = stripe_app
    a, b = make_tenant(), make_tenant()
    variant = open_shop(app, a)
    connect_stripe(a)
    account_b = connect_stripe(b)
    client = shop_client(a)
    add_to_cart(client, variant)
    session_id = to_stripe(client, fake_stripe)
    forged = fake_stripe.make_event(
        "checkout.session.completed",
        {
            "id": session_id,
            "object": "checkout.session",
            "mode": "payment",
            "payment_status": "paid",
            "amount_total": 1699,
        },
        account=account_b,
    )
    fake_stripe.deliver(forged)
    assert order_state(app, a)[0] == "pending"  # B's account cannot pay A's order


def test_refunds_of_card_payments_go_through_stripe(
    stripe_app, fake_stripe, make_tenant, shop_client, staff_client, connect_stripe
):
    app = stripe_app
    shop = make_tenant()
    variant = open_shop(app, shop, stock=5)
    account = connect_stripe(shop)
    client = shop_client(shop)
    add_to_cart(client, variant, 2)
    fake_stripe.pay(to_stripe(client, fake_stripe))
    merchant = staff_client(shop, permissions=["orders"])
    too_much = merchant.post("/admin/orders/1001/refund", data={"amount": "500"})
    assert too_much.status_code == 400
    done = merchant.post("/admin/orders/1001/refund", data={"amount": "5", "reason": "Late"})
    assert done.status_code == 302
    refunds = fake_stripe.objects("refund", account)
    assert [r["amount"] for r in refunds] == [500]
    with app.app_context(), tenant_context(shop):
        order = db.session.scalars(select(Order)).one()
        assert (order.payment_status, order.refunded_cents) == ("partially_refunded", 500)
    assert fake_stripe.objects("refund", connect_stripe(make_tenant())) == []


def test_paying_opens_stripe_only_for_this_shops_pending_card_order(
    stripe_app, fake_stripe, make_tenant, shop_client, connect_stripe
):
    app = stripe_app
    a, b = make_tenant(), make_tenant()
    variant = open_shop(app, a)
    connect_stripe(a)
    connect_stripe(b)
    client = shop_client(a)
    add_to_cart(client, variant)
    session_id = to_stripe(client, fake_stripe)
    with app.app_context(), tenant_context(a):
        token = db.session.scalars(select(Order.token)).one()
    # Another shop's host does not know the order: its status page, no Stripe session.
    elsewhere = shop_client(b).post(f"/orders/{token}/pay")
    assert elsewhere.status_code == 302 and elsewhere.location == f"/orders/{token}"
    assert shop_client(b).get(elsewhere.location).status_code == 404
    # A token that names nothing, or an overlong one, is refused the same way.
    for bad in ("not-a-token", "x" * 500):
        assert client.post(f"/orders/{bad}/pay").status_code == 302
    # Paying twice opens the same Stripe session (its idempotency key), nothing new.
    again = client.post(f"/orders/{token}/pay")
    assert again.status_code == 303 and again.location.rstrip("/").endswith(session_id)
    assert order_state(app, a)[1] == session_id
