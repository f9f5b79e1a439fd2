"""The plan's transaction fee on card sales: taken by Stripe as an application fee on
each Checkout payment, at the rate of the shop's own plan."""

from __future__ import annotations

from saas.db import db
from saas.tenancy import tenant_context
from tenants.orders.models import Order
from tests.checkout.test_checkout import add_to_cart, open_shop
from tests.checkout.test_checkout_stripe import to_stripe
from tests.factories import make_plan, subscribe


def fee_of(fake, account, session_id) -> int | None:
    fake.pay(session_id)
    intents = fake.objects("payment_intent", account)
    return next(i["application_fee_amount"] for i in intents if i["metadata"].get("order_id"))


def test_each_shop_pays_its_own_plans_fee_on_card_sales(
    stripe_app, fake_stripe, make_tenant, shop_client, connect_stripe
):
    app = stripe_app
    dear = make_plan(app, None, transaction_fee_bps=250)
    cheap = make_plan(app, None, transaction_fee_bps=50)
    fees = {}
    for plan in (dear, cheap):
        shop = make_tenant()
        subscribe(app, shop, plan)
        variant = open_shop(app, shop, stock=5)
        account = connect_stripe(shop)
        client = shop_client(shop)
        add_to_cart(client, variant, 3)
        session_id = to_stripe(client, fake_stripe)
        with app.app_context(), tenant_context(shop):
            total = db.session.query(Order).one().total_cents
        fees[plan] = (fee_of(fake_stripe, account, session_id), total)
    for plan, bps in ((dear, 250), (cheap, 50)):
        fee, total = fees[plan]
        assert fee == (total * bps + 5000) // 10000 and fee > 0
