"""Sales analytics on a big shop: every report function of `tenants.analytics.sales`
over the last 30 and 365 days of a shop with 100,000 orders.

The shop is seeded in PostgreSQL itself (`INSERT ... SELECT generate_series`): 300
products (some with a cost), 20,000 customers buying with a skewed frequency, 100,000
orders over the last 365 days with one to three lines each, discount codes, payment
methods, countries, refunds days after their sale, a few pending and voided orders, and
manual and automatic collections; and a year of daily traffic rows (visits, sessions and
funnel per day; page views per path and product, sources, UTM values, devices and landing
pages; some 300 customers browsing signed in each day). Then the daily sales rollup runs
once, as the sweep would after an import (timed: it rebuilds every day), and an edit of
the latest order leaves today stale, as it normally is: the reports read 364 rolled-up
days and today live.

Each back-office report page is built whole (`reports.build`: every figure, chart,
table and export row the page shows) `RUNS` times per range, each in its own unit of
work (as a request), after `WARMUP` untimed builds: the goal is the issue's, every page
under 150 ms at p95. The functions of `tenants.analytics.sales` are timed alone too, to
show where a page's time goes.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask
from sqlalchemy import func, select, text

from bench.provisioning import make_shop, progress

ORDERS = 100_000
CUSTOMERS = 20_000
PRODUCTS = 300
DAYS = 365
RUNS = 20
WARMUP = 2
GOAL_MS = 150.0
ZONE = ZoneInfo("America/New_York")  # not UTC: local days cost the same as in a real shop

# The seed, in the shop's schema (`search_path`), with the sizes above as parameters.
SEED = [
    # a cost for two thirds of the variants
    "UPDATE product_variants SET cost_cents = price_cents / 3 WHERE id % 3 <> 0",
    "UPDATE products SET created_at = now() - make_interval(days => id % :days)",
    """INSERT INTO customers (email, name, phone, accepts_marketing, note, tags,
        session_version, created_at)
        SELECT 'c' || g || '@example.com', 'Customer ' || g, '', false, '', '{}', 1,
               now() - interval '400 days' + g * interval '15 minutes'
        FROM generate_series(1, :customers) g""",
    """INSERT INTO orders (number, customer_id, email, customer_name, payment_status,
        payment_method, currency, shipping_cents, tax_cents, total_cents,
        taxes_included, discount_code, shipping_address, placed_at)
        SELECT 1000 + g, c, 'c' || c || '@example.com', 'Customer ' || c,
          CASE WHEN r < 0.92 THEN 'paid' WHEN r < 0.95 THEN 'partially_refunded'
               WHEN r < 0.96 THEN 'refunded' WHEN r < 0.98 THEN 'pending'
               ELSE 'voided' END,
          (ARRAY['stripe', 'bank_transfer', 'cash_on_delivery'])[1 + g % 3],
          'USD', 500, 0, 0, false,
          CASE WHEN g % 10 = 0 THEN (ARRAY['SPRING10', 'VIP', 'WELCOME'])[1 + g % 7 % 3] END,
          jsonb_build_object('country',
            (ARRAY['US', 'FR', 'DE', 'GB', 'CA', 'ES', 'IT', 'JP'])[1 + (g * 13) % 8]),
          now() - random() * make_interval(days => :days)
        FROM (SELECT g, random() AS r,
                     1 + floor(power(random(), 2) * :customers)::int AS c
              FROM generate_series(1, :orders) g) picked""",
    """INSERT INTO order_lines (order_id, product_id, variant_id, title,
        variant_title, sku, quantity, unit_price_cents, discount_cents, tax_cents,
        weight_grams, stock_taken, fulfilled_quantity, restocked_quantity)
        SELECT o.id, v.product_id, v.id, 'Analytics item', '', '', 1 + (o.id + n) % 3,
               v.price_cents, 0, 0, 0, false, 0, 0
        FROM orders o
        CROSS JOIN LATERAL generate_series(1, 1 + o.id % 3) n
        JOIN product_variants v ON v.id = 1 + (o.id * 7919 + n * 104729) % :products""",
    """UPDATE orders o SET subtotal_cents = l.subtotal, discount_cents = l.discount,
          total_cents = l.subtotal - l.discount + 500
        FROM (SELECT order_id, sum(quantity * unit_price_cents) AS subtotal,
                     CASE WHEN bool_or(oo.discount_code IS NOT NULL)
                          THEN sum(quantity * unit_price_cents) / 10 ELSE 0 END AS discount
              FROM order_lines JOIN orders oo ON oo.id = order_id GROUP BY order_id) l
        WHERE l.order_id = o.id""",
    """UPDATE orders SET refunded_cents = CASE payment_status
          WHEN 'refunded' THEN total_cents ELSE total_cents / 10 END
        WHERE payment_status IN ('refunded', 'partially_refunded')""",
    """INSERT INTO refunds (order_id, amount_cents, reason, restock, created_at)
        SELECT id, refunded_cents, '', false,
               least(now(), placed_at + random() * interval '20 days')
        FROM orders WHERE refunded_cents > 0""",
    """INSERT INTO collections (handle, title, description, kind, match_all, rules, sort)
        SELECT 'set-' || g, 'Set ' || g, '', 'manual', true, '[]', 'manual'
        FROM generate_series(1, 10) g""",
    """INSERT INTO collections (handle, title, description, kind, match_all, rules, sort)
        VALUES ('cheap', 'Cheap', '', 'automatic', true,
                '[{"field": "price", "min": null, "max": 2000}]', 'manual'),
               ('dear', 'Dear', '', 'automatic', true,
                '[{"field": "price", "min": 8000, "max": null}]', 'manual')""",
    """INSERT INTO collection_products (collection_id, product_id, position)
        SELECT c.id, p.id, p.id FROM collections c
        JOIN products p ON p.id % 10 = c.id % 10 WHERE c.kind = 'manual'""",
    # A year of traffic, as the hourly fold leaves it.
    """INSERT INTO analytics_days (day, pageviews, visitors, sessions, product_sessions,
        cart_sessions, checkout_sessions, order_sessions)
        SELECT (now() AT TIME ZONE :zone)::date - g, 3000 + g % 500, 900 + g % 90,
               1000 + g % 120, 600 + g % 60, 200 + g % 20, 120 + g % 12, 260 + g % 30
        FROM generate_series(0, :days - 1) g""",
    """INSERT INTO analytics_day_counts (day, dimension, value, count)
        SELECT d.day, v.dimension, v.value, 1 + (hashtext(v.value || d.day) & 1023) % v.spread
        FROM (SELECT (now() AT TIME ZONE :zone)::date - g AS day
              FROM generate_series(0, :days - 1) g) d
        CROSS JOIN (
          SELECT 'path' AS dimension, '/products/analytics-item-' || lpad(n::text, 3, '0')
                 AS value, 40 AS spread FROM generate_series(1, :products) n
          UNION ALL SELECT 'product', 'analytics-item-' || lpad(n::text, 3, '0'), 30
                 FROM generate_series(1, :products) n
          UNION ALL SELECT 'path', '/pages/page-' || n, 20 FROM generate_series(1, 20) n
          UNION ALL SELECT 'landing', '/products/analytics-item-' || lpad(n::text, 3, '0'),
                 10 FROM generate_series(1, 100) n
          UNION ALL SELECT 'referrer', 'site' || n || '.example', 50
                 FROM generate_series(1, 40) n
          UNION ALL SELECT 'utm_source', 'source' || n, 30 FROM generate_series(1, 10) n
          UNION ALL SELECT 'utm_medium',
                 (ARRAY['email', 'cpc', 'social', 'affiliate', 'display'])[n], 40
                 FROM generate_series(1, 5) n
          UNION ALL SELECT 'utm_campaign', 'campaign' || n, 20 FROM generate_series(1, 20) n
          UNION ALL SELECT 'device', (ARRAY['desktop', 'mobile', 'tablet'])[n], 500
                 FROM generate_series(1, 3) n
        ) v""",
    """INSERT INTO analytics_month_counts (dimension, month, value, count)
        SELECT dimension, date_trunc('month', day)::date, value, sum(count)
        FROM analytics_day_counts GROUP BY 1, 2, 3""",
    """INSERT INTO analytics_customer_days (day, customer_id)
        SELECT DISTINCT (now() AT TIME ZONE :zone)::date - g,
               1 + floor(power(random(), 2) * :customers)::int
        FROM generate_series(0, :days - 1) g CROSS JOIN generate_series(1, 300) k""",
]


def _seed(app: Flask) -> Any:
    from saas.db import checked_schema, db
    from saas.tenancy import tenant_context
    from tenants.catalog.products import create_product
    from tenants.settings.services import get_settings

    shop = make_shop(app, "bench-analytics", catalog=[])
    with app.app_context(), tenant_context(shop):
        for n in range(1, PRODUCTS + 1):
            create_product(f"Analytics item {n:03d}", 500 + (n * 37) % 9500, inventory_quantity=n)
        get_settings().timezone = ZONE.key  # the zone the reports are read in
        db.session.flush()
        # Plain SQL below names tables without their schema: for this transaction only.
        db.session.execute(text(f'SET LOCAL search_path TO "{checked_schema(shop.schema)}"'))
        sizes = {
            "days": DAYS,
            "customers": CUSTOMERS,
            "orders": ORDERS,
            "products": PRODUCTS,
            "zone": ZONE.key,
        }
        for statement in SEED:
            db.session.execute(text(statement), sizes)
    with app.app_context(), db.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")
        for table in (*SEEDED, "customers"):
            conn.execute(text(f'VACUUM ANALYZE "{shop.schema}".{table}'))
    return shop


SEEDED = (
    "orders",
    "order_lines",
    "refunds",
    "analytics_days",
    "analytics_day_counts",
    "analytics_month_counts",
    "analytics_customer_days",
)
ROLLUP_TABLES = (
    "analytics_sales_days",
    "analytics_sales_day_items",
    "analytics_sales_month_items",
    "analytics_sales_buyer_keys",
    "analytics_sales_day_buyers",
    "analytics_sales_month_buyers",
    "analytics_sales_buyer_sets",
    "analytics_sales_dirty",
)


def roll_up(app: Flask, shop: Any) -> float:
    """The rollup's first run (every day), in seconds; then today made stale again."""
    from saas.db import db
    from saas.tenancy import tenant_context
    from tenants.analytics import sales_rollup
    from tenants.orders.models import Order

    with app.app_context(), tenant_context(shop):
        started = time.perf_counter()
        sales_rollup.roll_up_sales(shop.id)
        db.session.commit()
        spent = time.perf_counter() - started
        latest = db.session.scalar(select(Order).order_by(Order.placed_at.desc()).limit(1))
        latest.customer_name += " Jr"  # a back-office edit: its day (today) is stale
    with app.app_context(), db.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")
        # (as autovacuum would soon: the visibility map lets reads skip the heap)
        for table in ROLLUP_TABLES:
            conn.execute(text(f'VACUUM ANALYZE "{shop.schema}".{table}'))
    return spent


def _functions() -> dict[str, Callable[[Any, ZoneInfo], Any]]:
    from tenants.analytics import active, sales

    return {
        "summary": sales.summary,
        "summary (previous)": lambda r, z: sales.summary(r.previous(), z),
        "daily": sales.daily,
        "daily (previous)": lambda r, z: sales.daily(r.previous(), z),
        "by_product revenue": sales.by_product,
        "by_product units": lambda r, z: sales.by_product(r, z, order_by="units"),
        "by_product slowest": lambda r, z: sales.by_product(r, z, ascending=True),
        "by_variant": sales.by_variant,
        "by_collection": sales.by_collection,
        "by_discount_code": sales.by_discount_code,
        "by_payment_method": sales.by_payment_method,
        "by_country": sales.by_country,
        "top_customers": sales.top_customers,
        "business": sales.business,
        "active_customers": active.active_customers,
        "active_customers (previous)": lambda r, z: active.active_customers(r.previous(), z),
    }


def _pct(ordered: list[float], fraction: float) -> float:
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _ranges() -> dict[str, Any]:
    from tenants.analytics.ranges import DateRange, parse_range, shop_today

    today = shop_today(ZONE)
    return {
        "30d": parse_range({"range": "30d"}, today),
        "365d": DateRange("custom", today - timedelta(days=DAYS - 1), today),
    }


def _timed(app: Flask, shop: Any, call: Callable[[], Any]) -> dict[str, float]:
    """p50 and p95 of `call`, each run its own unit of work, after the warm-up."""
    from saas.tenancy import tenant_context

    timings: list[float] = []
    for n in range(WARMUP + RUNS):
        with app.app_context(), tenant_context(shop):
            started = time.perf_counter()
            call()
            spent = (time.perf_counter() - started) * 1000
        if n >= WARMUP:
            timings.append(spent)
    ordered = sorted(timings)
    return {"p50": round(statistics.median(ordered), 2), "p95": round(_pct(ordered, 0.95), 2)}


def measure(app: Flask, shop: Any) -> dict[str, dict[str, dict[str, float]]]:
    """{range: {function: {"p50": ms, "p95": ms}}}."""
    figures: dict[str, dict[str, dict[str, float]]] = {}
    for name, r in _ranges().items():
        figures[name] = {}
        for label, fn in _functions().items():
            f = figures[name][label] = _timed(app, shop, lambda fn=fn, r=r: fn(r, ZONE))
            progress(f"analytics {name:>4} {label:<20} p50 {f['p50']:7.1f}  p95 {f['p95']:7.1f} ms")
    return figures


def measure_pages(app: Flask, shop: Any) -> dict[str, dict[str, dict[str, float]]]:
    """{range: {report page: {"p50": ms, "p95": ms}}}: each page built whole."""
    from tenants.analytics import reports

    pages: dict[str, dict[str, dict[str, float]]] = {}
    for name, r in _ranges().items():
        pages[name] = {}
        for key, _title in reports.REPORTS:
            f = pages[name][key] = _timed(
                app, shop, lambda key=key, r=r: reports.build(key, r, ZONE, "USD")
            )
            progress(f"analytics {name:>4} {key} page p50 {f['p50']:7.1f}  p95 {f['p95']:7.1f} ms")
    return pages


def run(report: Any, row: Any, app: Flask) -> None:
    """Add the sales-analytics rows to `report` (see bench/__main__.py)."""
    from saas.db import db
    from saas.tenancy import tenant_context
    from tenants.orders.models import Order, OrderLine, Refund

    progress(f"analytics: seeding {ORDERS:,} orders over {DAYS} days")
    started = time.perf_counter()
    shop = _seed(app)
    with app.app_context(), tenant_context(shop):
        counts = [
            db.session.scalar(select(func.count()).select_from(model))
            for model in (Order, OrderLine, Refund)
        ]
    progress(
        f"analytics: {counts[0]:,} orders, {counts[1]:,} lines, {counts[2]:,} refunds "
        f"in {time.perf_counter() - started:.1f} s; {RUNS} runs per function and range"
    )
    seconds = roll_up(app, shop)
    progress(f"analytics: first sales rollup (every day) in {seconds:.1f} s")
    report.add(
        row(
            "analytics_sales_rollup_first_s",
            "Analytics sales rollup, first run (365 days, 100,000 orders)",
            round(seconds, 2),
            f"{seconds:.1f} s",
        )
    )
    figures = measure(app, shop)
    pages = measure_pages(app, shop)
    report.raw["analytics"] = figures
    report.raw["analytics_pages"] = pages
    for name, per_function in figures.items():
        for label, f in per_function.items():
            report.add(
                row(
                    f"analytics_{name}_{label.replace(' ', '_').strip('()')}_p95_ms",
                    f"Analytics {label}, {name}, p50 / p95",
                    f["p95"],
                    f"{f['p50']:.1f} / {f['p95']:.1f} ms",
                )
            )
    for name, per_page in pages.items():
        for page, f in per_page.items():
            report.add(
                row(
                    f"analytics_{name}_{page}_page_p95_ms",
                    f"Analytics {page} page, built whole, {name}, p50 / p95",
                    f["p95"],
                    f"{f['p50']:.1f} / {f['p95']:.1f} ms",
                    f"< {GOAL_MS:.0f} ms",
                    f["p95"] < GOAL_MS,
                )
            )
    worst_name, worst_page, worst = max(
        ((n, page, f["p95"]) for n, fs in pages.items() for page, f in fs.items()),
        key=lambda item: item[2],
    )
    report.add(
        row(
            "analytics_worst_page_p95_ms",
            f"Analytics worst page p95 ({worst_page}, {worst_name})",
            worst,
            f"{worst:.1f} ms",
            f"< {GOAL_MS:.0f} ms",
            worst < GOAL_MS,
        )
    )
