"""Storefront speed: a collection page with and without the page cache, and search latency.

* Throughput: a collection page (its product grid, filters and sort) rendered every
  time (page cache off, `PAGE_CACHE_ENABLED=False` on a second app over the same
  database: "cold") and served from the page cache ("cached"), interleaved request by
  request with the bare Flask route, as ratios.
* Visit counting: the cached collection page answered by the front cache with counting
  on and off (`ANALYTICS_ENABLED`), interleaved request by request, as a ratio.
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
from tenants.analytics import buffer

SEARCH_PRODUCTS = 10_000
# The goals.
CACHED_GOAL = 0.70
COUNTING_GOAL = 0.95  # counting visits costs at most 5 % of cached-page throughput
VISITS_PER_VISITOR = 3  # page views per visitor in the counting phase
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


def storefront_app_copy(database_url: str, *, cache: bool, counting: bool = True) -> Flask:
    from bench.environment import storefront_app

    app = storefront_app(database_url)
    app.config["PAGE_CACHE_ENABLED"] = cache
    app.config["ANALYTICS_ENABLED"] = counting
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


BROWSER_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/126.0 Safari/537.36"
)


def counting_throughput(
    counted: Flask, uncounted: Flask, host: str, *, requests: int, budget: float, blocks: int = 5
) -> dict[str, list[Run]]:
    """The cached collection page through each app's WSGI stack (FrontCache first), with
    counting on and off, interleaved request by request in a shuffled order. Requests go
    straight to the WSGI callable (no test client around them), so the ratio is the
    counting's share of the fast path itself. Visitors change every few pages (new
    visitors and sessions cost the most writes); both series see the same visitors."""
    path = f"/collections/{COLLECTION}"
    base = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": host,
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": host,
        "HTTP_USER_AGENT": BROWSER_UA,
        "HTTP_ACCEPT": "text/html",
        "HTTP_REFERER": "https://www.example.org/",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }
    targets = {"counting_on": counted.wsgi_app, "counting_off": uncounted.wsgi_app}
    statuses: list[str] = []
    # The visits' real work happens when the buffer is flushed, in a thread in production.
    # Here the flush runs in line and its CPU time is charged to the request that fills a
    # chunk, so the figure holds all the work counting takes from the web process (a
    # thread's would land on either series). Its wait for Redis is not charged: in
    # production the thread waits with the GIL released while pages are served.
    waiting = buffer.of(counted)
    assert waiting is not None and not len(waiting), "a fresh app: nothing counted, no thread"
    waiting.background = False

    def start_response(status: str, headers: Any, exc_info: Any = None) -> None:
        statuses.append(status)

    def get(name: str, n: int) -> float:
        visitor = n // VISITS_PER_VISITOR
        environ = dict(
            base, REMOTE_ADDR=f"10.{visitor >> 16 & 255}.{visitor >> 8 & 255}.{visitor & 255}"
        )
        statuses.clear()
        started = time.perf_counter()
        body = b"".join(targets[name](environ, start_response))
        elapsed = time.perf_counter() - started
        if len(waiting) >= buffer.CHUNK:
            cpu = time.thread_time()
            waiting.flush()
            elapsed += time.thread_time() - cpu
        if not statuses or not statuses[0].startswith("200") or not body:
            raise BadResponse(f"{host}{path} answered {statuses[:1]} through {name}")
        return elapsed

    n = 0
    for _ in range(50):  # warm-up: both pages stored, scripts loaded
        for name in targets:
            get(name, n)
        n += 1
    runs: dict[str, list[Run]] = {name: [] for name in targets}
    per_block = max(1, requests // blocks)
    for _ in range(blocks):
        latencies: dict[str, list[float]] = {name: [] for name in targets}
        deadline = time.perf_counter() + budget / blocks
        for _ in range(per_block):
            order = list(targets)
            random.shuffle(order)
            for name in order:
                latencies[name].append(get(name, n))
            n += 1
            if time.perf_counter() >= deadline:
                break
        for name, values in latencies.items():
            values.sort()
            runs[name].append(
                Run(
                    requests=len(values),
                    seconds=sum(values),
                    p50_ms=values[len(values) // 2] * 1000,
                    p95_ms=values[min(len(values) - 1, round(0.95 * (len(values) - 1)))] * 1000,
                )
            )
    return runs


def counting_phase(report: Any, database_url: str, uncounted: Flask, host: str, s: Any) -> None:
    progress("storefront: visit counting on and off, cached collection page, interleaved")
    # Its own app, made now: its buffer is flushed in line (`counting_throughput`), and
    # an app more alive during the other phases would slow them (more objects for the
    # garbage collector to walk).
    counted = storefront_app_copy(database_url, cache=True)
    try:
        runs = counting_throughput(counted, uncounted, host, requests=s.requests, budget=s.budget)
    finally:
        close(counted)
    report.series("storefront_collection_cached_counting_on", runs["counting_on"])
    report.series("storefront_collection_cached_counting_off", runs["counting_off"])
    report.ratio(
        "storefront_counting_on_vs_off",
        "Cached collection page (FrontCache), visit counting on / off, in-process WSGI",
        paired_ratios(runs["counting_on"], runs["counting_off"]),
        goal=COUNTING_GOAL,
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
    uncounted = storefront_app_copy(database_url, cache=True, counting=False)
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
        counting_phase(report, database_url, uncounted, host, settings)
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
        close(cached, uncached, uncounted)


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
