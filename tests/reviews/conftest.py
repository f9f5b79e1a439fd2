"""Shops with delivered orders to review."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from saas.db import db
from saas.tenancy import TenantRecord, tenant_context
from tenants.catalog.products import create_product
from tenants.orders.models import FulfillmentStatus, Order, OrderLine
from tenants.reviews import links

_numbers = itertools.count(5001)


@dataclass
class Bought:
    tenant: TenantRecord
    product_id: int
    handle: str
    order_id: int
    line_id: int
    token: str

    @property
    def path(self) -> str:
        return f"/reviews/write/{self.token}"


def buy(
    app: Any,
    tenant: TenantRecord,
    title: str = "Clay Mug",
    *,
    status: str = FulfillmentStatus.DELIVERED,
    product_id: int | None = None,
    customer_id: int | None = None,
) -> Bought:
    """A product (or `product_id`) and an order of it in `status`, with its line's link."""
    with app.test_request_context(), tenant_context(tenant):
        if product_id is None:
            product = create_product(f"{title} {uuid.uuid4().hex[:4]}", 1500)
            db.session.flush()
        else:
            from tenants.catalog.models import Product

            product = db.session.get(Product, product_id)
        order = Order(
            number=next(_numbers),
            token=uuid.uuid4().hex,
            email="buyer@example.com",
            customer_name="Robin Buyer",
            customer_id=customer_id,
            total_cents=1500,
            subtotal_cents=1500,
            fulfillment_status=status,
        )
        order.lines.append(
            OrderLine(product_id=product.id, title=product.title, quantity=1, unit_price_cents=1500)
        )
        db.session.add(order)
        db.session.flush()
        line = order.lines[0]
        token = links.line_token(line)
        return Bought(tenant, product.id, product.handle, order.id, line.id, token)


@pytest.fixture
def bought(app: Any, make_tenant: Any) -> Bought:
    return buy(app, make_tenant())
