"""Order placement: orders per second with stock checks, and that none was oversold.

`THREADS` buyers place one-line orders through `tenants.orders.placement.place_order`
(the checkout's own unit of work: conditional stock update, order number, order and
lines, history) in `ROUNDS` rounds of `SECONDS`, on a handful of products in one shop,
so every order contends for the same few rows, as in a flash sale; stock is sized to
run out near the end. The figure is the median round's placed orders per second
(sold-out attempts included in the time). Afterwards the figures are checked: every order's
quantity came out of stock, no stock is negative, and order numbers have no gaps.
"""

from __future__ import annotations

import random
import statistics
import threading
import time
import uuid
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from bench.provisioning import make_shop, progress

THREADS = 4
SECONDS = 4.0
ROUNDS = 3
PRODUCTS = 5
STOCK = 500  # per product: runs out near the end of the last round
ORDERS_GOAL = 100.0  # per second (the goal)


def _seed(app: Flask) -> tuple[Any, list[tuple[int, int]]]:
    from saas.db import db
    from saas.tenancy import tenant_context
    from tenants.catalog.products import create_product

    shop = make_shop(app, "bench-orders", catalog=[])
    with app.app_context(), tenant_context(shop):
        items = [
            create_product(f"Flash Item {n}", 1000 + n, inventory_quantity=STOCK)
            for n in range(PRODUCTS)
        ]
        db.session.commit()
        variants = [(item.variants[0].id, item.id) for item in items]
    return shop, variants


def _buyer(
    app: Flask, shop: Any, variants: list[tuple[int, int]], stop: float, tally: dict[str, int]
) -> None:
    from saas.tenancy import tenant_context
    from tenants.orders.placement import LineInput, OrderInput, SoldOut, place_order

    rng = random.Random()
    placed = sold_out = 0
    with app.app_context():
        while time.perf_counter() < stop:
            variant_id, product_id = rng.choice(variants)
            quantity = rng.randint(1, 3)
            line = LineInput(variant_id, product_id, "Flash Item", quantity, 1000)
            try:
                with tenant_context(shop):  # one unit of work per order, as a request
                    place_order(
                        OrderInput(
                            idempotency_key=uuid.uuid4().hex,
                            email="buyer@example.com",
                            currency="USD",
                            lines=[line],
                            payment_method="cash_on_delivery",
                            subtotal_cents=1000 * quantity,
                            total_cents=1000 * quantity,
                        )
                    )
                placed += 1
            except SoldOut:
                sold_out += 1
    with threading.Lock():
        tally["placed"] += placed
        tally["sold_out"] += sold_out


CHECKOUT_ROUNDS = 200


def checkout_latency(app: Flask, shop: Any, variants: list[tuple[int, int]]) -> dict[str, float]:
    """GET /checkout/review for a cart of three lines, shipping and payment chosen: the
    page that prices everything afresh (cart, discount, shipping, taxes)."""
    from bench.provisioning import summary_ms
    from saas.db import db
    from saas.tenancy import tenant_context
    from tenants.checkout.models import Cart, CartLine
    from tenants.settings.models import ShopSettings
    from tenants.shipping.models import ShippingRate, ShippingZone, TaxRate

    with app.app_context(), tenant_context(shop):
        settings = db.session.get(ShopSettings, 1)
        settings.bank_transfer = True
        zone = ShippingZone(name="Home", countries=["US"], regions=[])
        zone.rates = [ShippingRate(name="Standard", kind="flat", price_cents=500)]
        db.session.add_all([zone, TaxRate(country="US", region="US-NY", name="NY", rate_bp=400)])
        cart = Cart(token=uuid.uuid4().hex, email="buyer@example.com")
        cart.lines = [CartLine(variant_id=v, quantity=1) for v, _ in variants[:3]]
        db.session.add(cart)
        db.session.commit()
        token, rate = cart.token, f"rate-{zone.rates[0].id}"
    address = {
        "name": "Bo Buyer",
        "company": "",
        "line1": "1 Main St",
        "line2": "",
        "city": "Albany",
        "region": "US-NY",
        "postal_code": "12207",
        "country": "US",
        "phone": "",
    }
    client = app.test_client()
    base = f"http://{shop.slug}.localhost"
    with client.session_transaction(base_url=base) as session:
        session["cart_token"] = token
        session["checkout"] = {
            "cart": token,
            "key": "bench",
            "email": "buyer@example.com",
            "address": address,
            "shipping": rate,
            "payment": "bank_transfer",
        }
    for _ in range(20):
        client.get("/checkout/review", base_url=base)
    timings = []
    for _ in range(CHECKOUT_ROUNDS):
        started = time.perf_counter()
        response = client.get("/checkout/review", base_url=base)
        timings.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise RuntimeError(f"/checkout/review answered {response.status}")
    return summary_ms(timings)


def run(report: Any, row: Any, app: Flask) -> None:
    """Add the order-placement rows to `report` (see bench/__main__.py)."""
    from saas.db import db
    from saas.tenancy import tenant_context
    from tenants.catalog.models import ProductVariant
    from tenants.orders.models import Order, OrderLine

    progress(f"orders: {THREADS} buyers, {SECONDS:.0f} s, {PRODUCTS} products x {STOCK} units")
    shop, variants = _seed(app)
    progress(f"orders: checkout review page latency, {CHECKOUT_ROUNDS} requests")
    latency = checkout_latency(app, shop, variants)
    report.raw["checkout_review"] = latency
    report.add(
        row(
            "checkout_review_p50_ms",
            "Checkout review page p50 / p95 (in-process, 3 lines, shipping and tax)",
            latency["median_ms"],
            f"{latency['median_ms']:.1f} / {latency['p95_ms']:.1f} ms",
        )
    )
    tally = {"placed": 0, "sold_out": 0}
    rates: list[float] = []
    elapsed = 0.0
    for _ in range(ROUNDS):  # the median of a few rounds: commit latency here is noisy
        before = tally["placed"]
        started = time.perf_counter()
        stop = started + SECONDS
        threads = [
            threading.Thread(target=_buyer, args=(app, shop, variants, stop, tally))
            for _ in range(THREADS)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        spent = time.perf_counter() - started
        elapsed += spent
        rates.append((tally["placed"] - before) / spent)
    with app.app_context(), tenant_context(shop):
        sold = db.session.scalar(select(func.coalesce(func.sum(OrderLine.quantity), 0)))
        left = db.session.scalar(select(func.sum(ProductVariant.inventory_quantity)))
        lowest = db.session.scalar(select(func.min(ProductVariant.inventory_quantity)))
        numbers = db.session.execute(
            select(func.count(), func.min(Order.number), func.max(Order.number))
        ).one()
    oversold = sold + left != PRODUCTS * STOCK or lowest < 0
    gaps = numbers[0] and numbers[2] - numbers[1] + 1 != numbers[0]
    rate = statistics.median(rates)
    report.raw["orders"] = tally | {
        "rates": [round(r, 1) for r in rates],
        "seconds": round(elapsed, 2),
        "units_sold": sold,
        "units_left": left,
        "lowest_stock": lowest,
    }
    report.add(
        row(
            "orders_per_second",
            f"Orders placed per second ({THREADS} threads, stock checked, median of {ROUNDS})",
            round(rate, 1),
            f"{rate:,.0f}/s ({min(rates):.0f}-{max(rates):.0f}; {tally['placed']:,} orders, "
            f"{tally['sold_out']:,} sold out)",
            f">= {ORDERS_GOAL:.0f}/s",
            rate >= ORDERS_GOAL,
        )
    )
    report.add(
        row(
            "orders_oversold",
            "Units oversold / order-number gaps",
            0 if not (oversold or gaps) else 1,
            "none" if not (oversold or gaps) else f"sold {sold}, left {left}, lowest {lowest}",
            "none",
            not (oversold or gaps),
        )
    )
