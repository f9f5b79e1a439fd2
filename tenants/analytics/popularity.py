"""Product popularity: each product's page views over the last `WINDOW_DAYS` shop days,
copied onto the product once a day for the collections' "most popular" sort.

Once a day, not at every rollup: the copy is a bulk UPDATE of products, which (rightly)
moves the shop's page cache on (`saas.page_cache`); doing it every few minutes would
empty the cache of a busy shop all day for an order that hardly changes. The day the copy
was last made is kept in Redis; if Redis forgets it, the copy is made again (harmless).
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import partial

from sqlalchemy import func, select, update

from saas.cache import redis_client
from saas.db import after_commit, db
from tenants.analytics import visits
from tenants.analytics.models import AnalyticsDayCount
from tenants.catalog.models import Product

WINDOW_DAYS = 30


def _marker(tenant_id: int) -> str:
    return f"{visits.prefix(tenant_id)}popular"


def refresh_recent_views(tenant_id: int, today: date, *, force: bool = False) -> bool:
    """Set every product's `recent_views` from the daily counts of the `WINDOW_DAYS` days
    up to `today`, unless done today already. Flushes; the caller commits. Returns
    whether it ran."""
    marker = _marker(tenant_id)
    if not force and redis_client().get(marker) == today.isoformat().encode():
        return False
    views = (
        select(func.coalesce(func.sum(AnalyticsDayCount.count), 0))
        .where(
            AnalyticsDayCount.dimension == "product",
            AnalyticsDayCount.value == Product.handle,
            AnalyticsDayCount.day > today - timedelta(days=WINDOW_DAYS),
            AnalyticsDayCount.day <= today,
        )
        .scalar_subquery()
    )
    db.session.execute(
        update(Product)
        .where(Product.recent_views != views)
        # Popularity is not an edit of the product: its "updated" time stays.
        .values(recent_views=views, updated_at=Product.updated_at)
        .execution_options(synchronize_session=False)
    )
    after_commit(partial(redis_client().set, marker, today.isoformat(), ex=2 * 24 * 3600))
    return True
