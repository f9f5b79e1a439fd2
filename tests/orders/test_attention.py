"""Orders waiting on the merchant: the dashboard leads with them and the navigation's
Orders link counts them (issue 12)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from saas.db import db
from saas.tenancy import tenant_context
from tenants.orders import attention
from tenants.orders.models import Order

NOW = datetime.now(UTC)


def add(app, tenant, *orders) -> None:
    """(number, payment method, payment status, fulfilment status, cancelled, placed_at)"""
    with app.app_context(), tenant_context(tenant):
        for number, method, paid, sent, cancelled, placed_at in orders:
            db.session.add(
                Order(
                    number=number,
                    email=f"buyer{number}@example.com",
                    customer_name=f"Buyer {number}",
                    payment_method=method,
                    payment_status=paid,
                    fulfillment_status=sent,
                    cancelled_at=placed_at if cancelled else None,
                    currency="USD",
                    total_cents=1000,
                    placed_at=placed_at,
                )
            )


ORDERS = [
    (1001, "bank_transfer", "pending", "unfulfilled", False, NOW),  # to pay
    (1002, "cash_on_delivery", "pending", "unfulfilled", False, NOW),  # to pay and ship
    (1003, "stripe", "paid", "partially_fulfilled", False, NOW - timedelta(days=2)),  # ship
    (1004, "stripe", "pending", "unfulfilled", False, NOW),  # shopper still on Stripe
    (1005, "bank_transfer", "pending", "unfulfilled", True, NOW),  # cancelled
    (1006, "stripe", "paid", "fulfilled", False, NOW),  # done
    (1007, "bank_transfer", "refunded", "unfulfilled", False, NOW),  # refunded: done
]


def test_what_waits_on_the_merchant(app, make_tenant):
    tenant = make_tenant()
    add(app, tenant, *ORDERS)
    with app.app_context(), tenant_context(tenant):
        since = NOW - timedelta(hours=1)
        assert attention.waiting(since) == attention.Waiting(
            new_today=5, to_pay=2, to_ship=2, open=3
        )
        assert attention.open_count() == 3
        assert [o.number for o in attention.open_orders()] == [1003, 1001, 1002]


def test_dashboard_lists_open_orders_and_the_nav_counts_them(app, make_tenant, staff_client):
    tenant = make_tenant()
    owner = staff_client(tenant, role="owner")
    html = owner.get("/admin/").text
    assert "Nothing waiting: every order is paid and sent." in html
    assert 'class="nav-badge"' not in html

    add(app, tenant, *ORDERS)
    html = owner.get("/admin/").text
    waiting = html.split('id="waiting-heading"')[1].split("</section>")[0]
    numbers = re.findall(r'<span class="stat-value">(\d+)</span>', waiting)
    assert numbers == ["5", "2", "2"]  # new today, to pay, to ship
    assert "3 open orders, oldest first" in waiting
    assert waiting.index("#1003") < waiting.index("#1001") < waiting.index("#1002")
    assert "#1004" not in waiting and "#1006" not in waiting
    # The badge follows the merchant onto every back-office page.
    assert re.search(
        r'>Orders <span class="nav-badge">3<span class="visually-hidden"> open</span>',
        owner.get("/admin/products").text,
    )
    # Staff who may not open orders see neither the list nor the badge.
    other = staff_client(tenant, permissions=["products"]).get("/admin/").text
    assert "Orders to handle" not in other and "nav-badge" not in other


def test_to_pay_and_to_ship_filters_on_the_orders_list(app, make_tenant, staff_client):
    tenant = make_tenant()
    add(app, tenant, *ORDERS)
    client = staff_client(tenant, permissions=["orders"])
    to_pay = client.get("/admin/orders?payment=to_pay").text
    assert "2 orders matching these filters" in to_pay
    assert "#1001" in to_pay and "#1002" in to_pay and "#1004" not in to_pay
    to_ship = client.get("/admin/orders?fulfillment=to_ship").text
    assert "#1002" in to_ship and "#1003" in to_ship and "#1001" not in to_ship
