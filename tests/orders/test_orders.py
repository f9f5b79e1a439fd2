"""Placing orders: stock, numbers, idempotency and races (tenants/services/orders.py)."""

from __future__ import annotations

import threading
import uuid
from collections import Counter as Tally
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from saas import page_cache
from saas.cache import redis_client
from saas.db import db
from saas.tenancy import tenant_context
from tenants.catalog.models import InventoryAdjustment, Product, ProductVariant
from tenants.catalog.products import create_product
from tenants.discounts.models import Discount
from tenants.orders.models import Order
from tenants.orders.placement import (
    DiscountUnavailable,
    LineInput,
    OrderInput,
    Placed,
    SoldOut,
    place_order,
)


def stocked(app, tenant, title: str = "Clay Mug", stock: int | None = 10, **product: Any) -> int:
    """A product whose default variant has `stock` (None: not tracked); its variant id."""
    with app.app_context(), tenant_context(tenant):
        item = create_product(title, 1500, inventory_quantity=stock)
        for key, value in product.items():
            setattr(item, key, value)
        db.session.commit()
        return item.variants[0].id


def checkout(
    variant_id: int, quantity: int = 1, key: str | None = None, **extra: Any
) -> OrderInput:
    line = LineInput(
        variant_id=variant_id,
        product_id=0,
        title="Clay Mug",
        quantity=quantity,
        unit_price_cents=1500,
    )
    with_product = LineInput(**{**line.__dict__, "product_id": _product_of(variant_id)})
    return OrderInput(
        idempotency_key=key or uuid.uuid4().hex,
        email="Buyer@Example.com",
        currency="USD",
        lines=[with_product],
        payment_method="cash_on_delivery",
        subtotal_cents=1500 * quantity,
        total_cents=1500 * quantity,
        **extra,
    )


def _product_of(variant_id: int) -> int:
    return db.session.get(ProductVariant, variant_id).product_id


@dataclass
class Result:
    created: bool
    id: int
    number: int


def summary(placed: Placed) -> Result:
    """What a test needs of a placed order, read while its session is open."""
    return Result(placed.created, placed.order.id, placed.order.number)


def place(
    app, tenant, variant_id: int, quantity: int = 1, key: str | None = None, **extra
) -> Result:
    with app.app_context(), tenant_context(tenant):
        return summary(place_order(checkout(variant_id, quantity, key, **extra)))


def stock_of(app, tenant, variant_id: int) -> int:
    with app.app_context(), tenant_context(tenant):
        return db.session.get(ProductVariant, variant_id).inventory_quantity


def orders_of(app, tenant) -> list[tuple[int, int]]:
    with app.app_context(), tenant_context(tenant):
        rows = db.session.execute(select(Order.number, Order.total_cents).order_by(Order.number))
        return [tuple(r) for r in rows]


def test_an_order_takes_stock_and_numbers_follow_on(app, make_tenant):
    shop = make_tenant()
    variant = stocked(app, shop, stock=10)
    first = place(app, shop, variant, 3)
    second = place(app, shop, variant, 2)
    assert first.created and second.created
    assert orders_of(app, shop) == [(1001, 4500), (1002, 3000)]
    assert stock_of(app, shop, variant) == 5
    with app.app_context(), tenant_context(shop):
        order = db.session.scalars(select(Order).where(Order.number == 1001)).one()
        assert order.email == "buyer@example.com" and order.payment_status == "pending"
        assert [(line.quantity, line.stock_taken) for line in order.lines] == [(3, True)]
        assert [e.kind for e in order.events] == ["placed"] and len(order.token) >= 30
        history = db.session.execute(
            select(
                InventoryAdjustment.delta,
                InventoryAdjustment.quantity_after,
                InventoryAdjustment.reason,
                InventoryAdjustment.note,
            ).order_by(InventoryAdjustment.id)
        ).all()
        assert [tuple(h) for h in history][-2:] == [
            (-3, 7, "sold", "Order #1001"),
            (-2, 5, "sold", "Order #1002"),
        ]
        product = db.session.get(Product, order.lines[0].product_id)
        assert (product.units_sold, product.inventory_quantity) == (5, 5)


def test_the_same_checkout_submitted_again_makes_no_second_order(app, make_tenant):
    shop = make_tenant()
    variant = stocked(app, shop, stock=10)
    first = place(app, shop, variant, 1, key="checkout-1")
    again = place(app, shop, variant, 1, key="checkout-1")
    assert first.created and not again.created and again.id == first.id
    assert orders_of(app, shop) == [(1001, 1500)] and stock_of(app, shop, variant) == 9


def test_what_is_not_there_is_not_sold(app, make_tenant):
    shop = make_tenant()
    variant = stocked(app, shop, stock=2)
    with pytest.raises(SoldOut, match="Clay Mug sold out"):
        place(app, shop, variant, 3)
    archived = stocked(app, shop, "Old Mug", stock=5, status="archived")
    with pytest.raises(SoldOut):
        place(app, shop, archived, 1)
    assert orders_of(app, shop) == [] and stock_of(app, shop, variant) == 2
    untracked = stocked(app, shop, "Print", stock=None)
    assert place(app, shop, untracked, 50).created  # not tracked: nothing to run out of
    backorder = stocked(app, shop, "Made to order", stock=0, continue_selling=True)
    assert place(app, shop, backorder, 2).created
    assert stock_of(app, shop, backorder) == -2  # owed to the buyer, visible to the merchant


def test_a_used_up_discount_places_nothing(app, make_tenant):
    shop = make_tenant()
    variant = stocked(app, shop, stock=5)
    with app.app_context(), tenant_context(shop):
        spring = Discount(code="SPRING", kind="percentage", value=1000, usage_limit=0)
        db.session.add(spring)
        db.session.flush()
        spring_id = spring.id
    with pytest.raises(DiscountUnavailable, match="SPRING"):
        place(app, shop, variant, 2, discount_id=spring_id, discount_code="SPRING")
    assert orders_of(app, shop) == [] and stock_of(app, shop, variant) == 5
    with app.app_context(), tenant_context(shop):
        assert db.session.scalar(select(func.count()).select_from(InventoryAdjustment)) == 0


def test_totals_that_do_not_add_up_are_refused(app, make_tenant):
    shop = make_tenant()
    variant = stocked(app, shop)
    with app.app_context(), tenant_context(shop):
        data = checkout(variant, 2)
        with pytest.raises(ValueError, match="do not add up"):
            place_order(OrderInput(**{**data.__dict__, "total_cents": 1}))


def race(app, tenant, jobs: list[Any]) -> list[Any]:
    """Run each job(app) in its own thread, all released at once; their results."""
    results: list[Any] = [None] * len(jobs)
    start = threading.Barrier(len(jobs))

    def run(n: int) -> None:
        try:
            with app.app_context(), tenant_context(tenant):  # each a unit of work
                start.wait()
                results[n] = jobs[n]()
        except Exception as error:
            results[n] = error

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_fifty_buyers_racing_for_the_last_ten_units_make_ten_orders(app, make_tenant):
    shop = make_tenant()
    variant = stocked(app, shop, stock=10)
    with app.app_context(), tenant_context(shop):
        buys = [checkout(variant, 1) for _ in range(50)]
    results = race(app, shop, [lambda data=data: summary(place_order(data)) for data in buys])
    outcomes = Tally(type(r).__name__ for r in results)
    assert outcomes == {"Result": 10, "SoldOut": 40}, results
    assert all("sold out" in str(r) for r in results if isinstance(r, SoldOut))
    assert stock_of(app, shop, variant) == 0
    assert [n for n, _ in orders_of(app, shop)] == list(range(1001, 1011))  # no gaps


def test_twenty_concurrent_submits_of_one_checkout_make_one_order(app, make_tenant):
    shop = make_tenant()
    variant = stocked(app, shop, stock=10)
    with app.app_context(), tenant_context(shop):
        data = checkout(variant, 2, key="double-click")
    results = race(app, shop, [lambda: summary(place_order(data)) for _ in range(20)])
    assert all(isinstance(r, Result) for r in results), results
    assert sum(r.created for r in results) == 1
    assert len({r.id for r in results}) == 1
    assert orders_of(app, shop) == [(1001, 3000)] and stock_of(app, shop, variant) == 8


def test_each_shop_numbers_its_own_orders(app, make_tenant):
    a, b = make_tenant(), make_tenant()
    va, vb = stocked(app, a), stocked(app, b)
    place(app, a, va)
    place(app, a, va)
    place(app, b, vb)
    assert [n for n, _ in orders_of(app, a)] == [1001, 1002]
    assert [n for n, _ in orders_of(app, b)] == [1001]
    assert stock_of(app, b, vb) == 9 and stock_of(app, a, va) == 8


def page_version(app, tenant) -> int:
    with app.app_context():
        return int(redis_client().get(page_cache.version_key(tenant.id)) or 0)


def test_orders_leave_the_page_cache_alone_until_stock_runs_low(app, make_tenant):
    shop = make_tenant()
    variant = stocked(app, shop, stock=20)  # the shop's low-stock threshold is 5
    before = page_version(app, shop)
    place(app, shop, variant, 2)
    assert page_version(app, shop) == before  # an order is private; stock still plenty
    place(app, shop, variant, 14)  # 4 left: the product page now says "Only 4 left"
    assert page_version(app, shop) > before
