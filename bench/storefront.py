"""Storefront speed: a collection page with and without the page cache, and search latency.

* Throughput: a collection page (its product grid, filters and sort) rendered every
  time (page cache off, `PAGE_CACHE_ENABLED=False` on a second app over the same
  database: "cold") and served from the page cache ("cached"), interleaved request by
  request with the bare Flask route, as ratios.
* Search: `/search?q=` latency (p50/p95, in-process, cache bypassed as search always
  is) over one shop holding `SEARCH_PRODUCTS` products, inserted in bulk with Core
  INSERTs; queries mix exact words, misspellings, several words and misses.
"""

from __future__ import annotations

import io
import random
import time
from collections.abc import Sequence
from html.parser import HTMLParser
from typing import Any

from flask import Flask
from sqlalchemy import insert, text

from bench.provisioning import CATALOG, make_shop, progress, summary_ms
from bench.throughput import (
    BadResponse,
    Run,
    in_process_interleaved,
    interleaved,
    median_rps,
    over_http,
    paired_ratios,
    served,
)

SEARCH_PRODUCTS = 10_000
# The goals.
CACHED_GOAL = 0.70
COLD_GOAL = 0.15
SEARCH_P95_GOAL_MS = 50.0
PRODUCT_PAGE_MAX_BYTES = 100_000
PRODUCT_PAGE_MAX_ELEMENTS = 800
ADJECTIVES = [
    "Canvas",
    "Leather",
    "Wool",
    "Linen",
    "Cotton",
    "Ceramic",
    "Walnut",
    "Oak",
    "Copper",
    "Brass",
    "Glass",
    "Velvet",
    "Denim",
    "Bamboo",
    "Marble",
    "Suede",
    "Cashmere",
    "Silk",
    "Stone",
    "Steel",
]
NOUNS = [
    "Backpack",
    "Wallet",
    "Teapot",
    "Scarf",
    "Blanket",
    "Lamp",
    "Chair",
    "Mug",
    "Bowl",
    "Vase",
    "Jacket",
    "Apron",
    "Notebook",
    "Candle",
    "Basket",
    "Tote",
    "Pillow",
    "Kettle",
    "Planter",
    "Clock",
]
QUERIES = [
    "backpack",
    "teapot",
    "walnut chair",
    "bakpack",  # misspellings: found by trigram similarity
    "tepot",
    "cashmre scarf",
    "linen",
    '"copper kettle"',
    "blue whale",  # nothing
    "candle -glass",
]


def storefront_app_copy(database_url: str, *, cache: bool) -> Flask:
    from bench.environment import storefront_app

    app = storefront_app(database_url)
    app.config["PAGE_CACHE_ENABLED"] = cache
    return app


COLLECTION = "all-goods"


def collection_throughput(
    cached: Flask, uncached: Flask, bare: Flask, host: str, *, requests: int, budget: float
) -> dict[str, list[Run]]:
    path = f"/collections/{COLLECTION}"
    return in_process_interleaved(
        {
            "bare": (bare, ["localhost"]),
            "uncached": (uncached, [host]),
            "cached": (cached, [host]),
        },
        requests=requests,
        budget=budget,
        paths={"uncached": path, "cached": path},
    )


def http_collection(report: Any, apps: tuple[Flask, Flask, Flask], host: str, s: Any) -> None:
    """The same three series over real HTTP (threaded werkzeug server, a client process),
    in alternating rounds: what a visitor's request costs end to end."""
    cached, uncached, bare = apps
    path = f"/collections/{COLLECTION}"
    progress(f"storefront: collection page over HTTP, {s.http_rounds} alternating rounds")
    with served(bare) as bare_port, served(cached) as cached_port, served(uncached) as cold_port:

        def run(port: int, hosts: list[str], page: str) -> Run:
            return over_http(
                port, hosts, threads=s.http_threads, duration=s.http_duration, path=page
            )

        runs = interleaved(
            {
                "bare": lambda: run(bare_port, ["localhost"], "/"),
                "cached": lambda: run(cached_port, [host], path),
                "cold": lambda: run(cold_port, [host], path),
            },
            s.http_rounds,
        )
    report.series("http_storefront_bare", runs["bare"])
    report.series("http_collection_cached", runs["cached"])
    report.series("http_collection_cold", runs["cold"])
    report.ratio(
        "http_collection_cold_vs_bare",
        "Collection page, cold / bare Flask, HTTP",
        paired_ratios(runs["cold"], runs["bare"]),
        goal=COLD_GOAL,
    )
    report.ratio(
        "http_collection_cached_vs_bare",
        "Collection page, from the page cache / bare Flask, HTTP",
        paired_ratios(runs["cached"], runs["bare"]),
        goal=CACHED_GOAL,
    )


def add_collection(app: Flask, record: Any) -> None:
    """A manual collection holding every product of the shop, as a merchant makes one."""
    from saas.db import db
    from saas.tenancy import tenant_context
    from tenants.catalog.models import Product
    from tenants.collections import services as collections
    from tenants.collections.models import Collection

    with app.app_context(), tenant_context(record):
        collection = Collection(handle=COLLECTION, title="All goods")
        db.session.add(collection)
        db.session.flush()
        for product_id in db.session.scalars(db.select(Product.id).order_by(Product.id)):
            collections.add_product(collection, product_id)
        db.session.commit()


def bulk_products(app: Flask, record: Any, count: int, *, batch: int = 2_000) -> float:
    """Insert `count` active products into one shop with Core INSERTs; seconds taken."""
    from saas import page_cache
    from saas.db import db
    from saas.tenancy import tenant_context
    from tenants.catalog.models import Product

    rng = random.Random(4)
    started = time.perf_counter()
    with app.app_context(), tenant_context(record):
        for first in range(0, count, batch):
            rows = []
            for i in range(first, min(count, first + batch)):
                adjective, noun = rng.choice(ADJECTIVES), rng.choice(NOUNS)
                rows.append(
                    {
                        "handle": f"{adjective}-{noun}-{i}".lower(),
                        "title": f"{adjective} {noun} {i}",
                        "description": f"<p>A {adjective.lower()} {noun.lower()}, "
                        f"made by hand in batch {i % 97}.</p>",
                        "price_cents": 500 + (i % 400) * 25,
                        "status": "active",
                    }
                )
            db.session.execute(insert(Product), rows)
        db.session.commit()
        with db.engine.begin() as conn:
            conn.execute(text(f'ANALYZE "{record.schema}".products'))
        page_cache.bump(record.id)  # Core INSERTs bypass the session events
    return time.perf_counter() - started


def search_latencies(
    app: Flask, host: str, queries: Sequence[str], *, rounds: int
) -> dict[str, float]:
    client = app.test_client()
    timings: list[float] = []
    base_url = f"http://{host}"
    for q in queries:  # warm-up
        client.get("/search", query_string={"q": q}, base_url=base_url)
    for _ in range(rounds):
        for q in queries:
            started = time.perf_counter()
            response = client.get("/search", query_string={"q": q}, base_url=base_url)
            timings.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise BadResponse(f"/search?q={q} answered {response.status}")
    return summary_ms(timings)


def run(report: Any, row: Any, database_url: str, bare: Flask, settings: Any) -> None:
    """The storefront phase: rows are added to `report` (see bench/__main__.py)."""
    cached = storefront_app_copy(database_url, cache=True)
    uncached = storefront_app_copy(database_url, cache=False)
    try:
        progress("storefront: one shop (12 products), a collection page cold and cached")
        shop = make_shop(cached, "bench-storefront")
        add_collection(cached, shop)
        host = f"{shop.slug}.localhost"
        for app in (uncached, cached):
            page = app.test_client().get(f"/collections/{COLLECTION}", base_url=f"http://{host}")
            if page.status_code != 200 or not all(
                t in page.get_data(as_text=True) for t, _ in CATALOG
            ):
                raise BadResponse(f"{host} collection answered {page.status} without its products")
        runs = collection_throughput(
            cached, uncached, bare, host, requests=settings.requests, budget=settings.budget
        )
        report.series("storefront_bare", runs["bare"])
        report.series("storefront_collection_cold", runs["uncached"])
        report.series("storefront_collection_cached", runs["cached"])
        report.ratio(
            "storefront_uncached_vs_bare",
            "Collection page, cold (page cache off) / bare Flask, in-process",
            paired_ratios(runs["uncached"], runs["bare"]),
            goal=COLD_GOAL,
        )
        report.ratio(
            "storefront_cached_vs_bare",
            "Collection page, from the page cache / bare Flask, in-process",
            paired_ratios(runs["cached"], runs["bare"]),
            goal=CACHED_GOAL,
        )
        if settings.http:
            http_collection(report, (cached, uncached, bare), host, settings)
        speedup = [
            c.rps / u.rps if u.rps else 0.0
            for c, u in zip(runs["cached"], runs["uncached"], strict=True)
        ]
        report.raw.setdefault("ratios", {})["storefront_cache_speedup"] = speedup
        median_speedup = median_rps(runs["cached"]) / (median_rps(runs["uncached"]) or 1)
        report.add(
            row(
                "storefront_cache_speedup",
                "Collection page, cached / cold throughput",
                round(median_speedup, 2),
                f"{median_speedup:.1f}x",
            )
        )

        progress(f"storefront: {settings.search_products:,} products in one shop for search")
        big = make_shop(cached, "bench-search", catalog=[])
        seconds = bulk_products(cached, big, settings.search_products)
        report.raw["search_bulk_insert_seconds"] = round(seconds, 2)
        big_host = f"{big.slug}.localhost"
        figures = search_latencies(uncached, big_host, QUERIES, rounds=settings.search_rounds)
        report.raw["search"] = figures | {"products": settings.search_products}
        report.add(
            row(
                "search_p50_ms",
                f"Search /search?q= p50 ({settings.search_products:,} products, "
                f"n={figures['count']})",
                figures["median_ms"],
                f"{figures['median_ms']:.1f} ms",
            )
        )
        report.add(
            row(
                "search_p95_ms",
                f"Search /search?q= p95 ({settings.search_products:,} products)",
                figures["p95_ms"],
                f"{figures['p95_ms']:.1f} ms",
                f"< {SEARCH_P95_GOAL_MS:.0f} ms",
                figures["p95_ms"] < SEARCH_P95_GOAL_MS,
            )
        )
        product_page_weight(report, row, cached)
    finally:
        close(cached, uncached)


class _ElementCounter(HTMLParser):
    """Counts elements as a browser's DOM would hold them (start tags, void ones too)."""

    def __init__(self) -> None:
        super().__init__()
        self.elements = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self.elements += 1


def product_page_weight(report: Any, row: Any, app: Flask) -> None:
    """HTML size and element count of a heavy product page: 3 options, 48 variants, 8
    images (the browser-measured check is tests/test_page_weight.py)."""
    from PIL import Image

    from saas.db import db
    from saas.tenancy import tenant_context
    from tenants.catalog.images import add_image
    from tenants.catalog.products import create_product, sync_summary
    from tenants.catalog.variants import save_options

    progress("storefront: product page weight (48 variants, 8 images)")
    shop = make_shop(app, "bench-product-page", catalog=[])
    with app.app_context(), tenant_context(shop):
        item = create_product("Field Jacket", 12_000, description="<p>Waxed cotton.</p>" * 20)
        save_options(
            item,
            {
                "option1_name": "Size",
                "option1_values": "XS, S, M, L",
                "option2_name": "Colour",
                "option2_values": "Olive, Navy, Sand, Black",
                "option3_name": "Fit",
                "option3_values": "Regular, Long, Short",
            },
        )
        for n in range(8):
            picture = io.BytesIO()
            Image.new("RGB", (1200, 1200), (30 * n, 90, 120)).save(picture, format="PNG")
            picture.seek(0)
            add_image(item, picture, alt=f"Field jacket, view {n + 1}")
        sync_summary(item)
        db.session.commit()
        handle = item.handle
    page = app.test_client().get(f"/products/{handle}", base_url=f"http://{shop.slug}.localhost")
    if page.status_code != 200:
        raise BadResponse(f"product page answered {page.status}")
    body = page.get_data()
    counter = _ElementCounter()
    counter.feed(body.decode())
    report.raw["product_page"] = {"bytes": len(body), "elements": counter.elements}
    report.add(
        row(
            "product_page_kb",
            "Product page HTML (48 variants, 8 images)",
            round(len(body) / 1000, 1),
            f"{len(body) / 1000:.1f} KB",
            f"< {PRODUCT_PAGE_MAX_BYTES // 1000} KB",
            len(body) < PRODUCT_PAGE_MAX_BYTES,
        )
    )
    report.add(
        row(
            "product_page_elements",
            "Product page elements (same page)",
            counter.elements,
            f"{counter.elements:,}",
            f"< {PRODUCT_PAGE_MAX_ELEMENTS}",
            counter.elements < PRODUCT_PAGE_MAX_ELEMENTS,
        )
    )


def close(*apps: Flask) -> None:
    from saas.db import db

    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        app.extensions["redis"].close()
