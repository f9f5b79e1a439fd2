"""The collections' "most popular" sort: product page views of the last 30 days, copied
onto products by the rollup once a day."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from saas.db import db
from saas.tenancy import tenant_context
from tenants.analytics import popularity, rollup, visits
from tenants.analytics.models import AnalyticsDayCount
from tenants.catalog.models import Product
from tests.analytics.test_visits import browse

NOW = datetime(2026, 3, 10, 15, 20, tzinfo=UTC).timestamp()
PRODUCTS = [("Teapot", 1500), ("Kettle", 3000), ("Cup", 500)]


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    now = [NOW]
    monkeypatch.setattr(visits, "clock", lambda: now[0])
    return now


def views(app, tenant) -> dict[str, int]:
    with app.app_context(), tenant_context(tenant):
        return dict(db.session.execute(select(Product.handle, Product.recent_views)).all())


def roll_up(app, tenant) -> None:
    with app.app_context(), tenant_context(tenant):
        rollup.roll_up(tenant.id)
        db.session.commit()


def test_most_popular_sort_follows_last_months_product_views(app, make_tenant, shop_client, clock):
    shop, other = make_tenant(products=PRODUCTS), make_tenant(products=PRODUCTS)
    client = shop_client(shop)
    for handle, times in (("kettle", 3), ("cup", 1)):
        for n in range(times):
            browse(client, f"/products/{handle}", ip=f"198.51.100.{n}")
    clock[0] = NOW + 3600
    roll_up(app, shop)
    roll_up(app, other)
    assert views(app, shop) == {"teapot": 0, "kettle": 3, "cup": 1}
    assert views(app, other) == {"teapot": 0, "kettle": 0, "cup": 0}  # B's own views only
    page = shop_client(shop).get("/collections/all?sort=most-popular").text
    assert sorted(("Kettle", "Cup", "Teapot"), key=lambda t: page.index(f">{t}</a>")) == [
        "Kettle",
        "Cup",
        "Teapot",
    ]
    assert '<option value="most-popular" selected>Most popular</option>' in page


def test_popularity_is_copied_once_a_day_and_forgets_after_thirty_days(app, make_tenant):
    shop = make_tenant(products=PRODUCTS)
    with app.app_context(), tenant_context(shop):
        db.session.add_all(
            [
                AnalyticsDayCount(day=date(2026, 3, 1), dimension="product", value="cup", count=4),
                AnalyticsDayCount(day=date(2026, 2, 7), dimension="product", value="cup", count=9),
                AnalyticsDayCount(day=date(2026, 3, 2), dimension="path", value="cup", count=7),
            ]
        )
        assert popularity.refresh_recent_views(shop.id, date(2026, 3, 9)) is True
        db.session.commit()
        assert db.session.scalar(select(Product.recent_views).filter_by(handle="cup")) == 4
        db.session.add(
            AnalyticsDayCount(day=date(2026, 3, 9), dimension="product", value="cup", count=1)
        )
        assert popularity.refresh_recent_views(shop.id, date(2026, 3, 9)) is False  # done today
        assert popularity.refresh_recent_views(shop.id, date(2026, 3, 31)) is True
        db.session.commit()
        assert db.session.scalar(select(Product.recent_views).filter_by(handle="cup")) == 1
