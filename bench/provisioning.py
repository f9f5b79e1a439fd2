"""Making shops for the benchmark: timed one by one, or many in batches."""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Sequence
from typing import Any

from saas.db import db
from saas.tenancy import TenantRecord, tenant_context
from saas.tenancy.provisioning import create_tenant
from tenants.catalog.products import create_product

# Every benchmark shop has the same catalog, so every shop's home page costs the same.
CATALOG: list[tuple[str, int]] = [(f"Bench product {i:02d}", 500 + 125 * i) for i in range(1, 13)]


def progress(message: str) -> None:
    print(f"  .. {message}", file=sys.stderr, flush=True)


def add_catalog(app: Any, record: TenantRecord, catalog: Sequence[tuple[str, int]]) -> None:
    with app.app_context(), tenant_context(record):
        for title, price in catalog:
            create_product(title, price)
        db.session.commit()


def make_shop(app: Any, slug: str, catalog: Sequence[tuple[str, int]] = CATALOG) -> TenantRecord:
    with app.app_context():
        tenant = create_tenant(slug, slug.replace("-", " ").title())
        db.session.commit()
        record = TenantRecord.of(tenant)
    add_catalog(app, record, catalog)
    return record


def timed_creations(app: Any, slugs: Sequence[str]) -> tuple[list[float], list[TenantRecord]]:
    """Create each shop as a request would (own app context, `create_tenant` + commit).

    Only that is timed (seconds per shop); the catalog is added afterwards, untimed.
    """
    timings: list[float] = []
    records: list[TenantRecord] = []
    clock = time.perf_counter
    for slug in slugs:
        with app.app_context():
            started = clock()
            tenant = create_tenant(slug, slug.title())
            db.session.commit()
            timings.append(clock() - started)
            records.append(TenantRecord.of(tenant))
    for record in records:
        add_catalog(app, record, CATALOG)
    return timings, records


def bulk_create(
    app: Any, slugs: Sequence[str], *, batch: int = 25, report_every: int = 100
) -> list[TenantRecord]:
    """Create many shops quickly: `batch` tenants per commit, then their catalogs."""
    records: list[TenantRecord] = []
    started = time.perf_counter()
    for first in range(0, len(slugs), batch):
        chunk = slugs[first : first + batch]
        with app.app_context():
            tenants = [create_tenant(slug, slug.title()) for slug in chunk]
            db.session.commit()
            made = [TenantRecord.of(tenant) for tenant in tenants]
        for record in made:
            add_catalog(app, record, CATALOG)
        records.extend(made)
        done = len(records)
        if done % report_every < batch or done == len(slugs):
            elapsed = time.perf_counter() - started
            progress(
                f"provisioned {done}/{len(slugs)} extra shops "
                f"({elapsed:.1f} s, {elapsed / done * 1000:.0f} ms per shop with its catalog)"
            )
    return records


def summary_ms(timings: Sequence[float]) -> dict[str, float]:
    ordered = sorted(timings)

    def pct(fraction: float) -> float:
        return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))] * 1000

    return {
        "count": len(ordered),
        "median_ms": round(statistics.median(ordered) * 1000, 2),
        "p95_ms": round(pct(0.95), 2),
        "min_ms": round(ordered[0] * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
    }
