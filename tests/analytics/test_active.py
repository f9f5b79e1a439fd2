"""Active customers: signed-in visits (counted by customer id, with the shop's own
session cookie -- the visit counting adds none) and purchases, by shop-local day."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from saas.cache import redis_client
from saas.db import db
from saas.tenancy import tenant_context
from tenants.analytics import active, reports, rollup, visits
from tenants.analytics.models import AnalyticsCustomerDay
from tenants.analytics.ranges import DateRange
from tenants.customers.models import Customer
from tests.analytics.test_sales import Shop
from tests.analytics.test_visits import browse
from tests.customers.test_customers import customer_client, make_customer

NOW = datetime(2026, 3, 10, 15, 20, tzinfo=UTC).timestamp()
UTC_ZONE = ZoneInfo("UTC")


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    now = [NOW]
    monkeypatch.setattr(visits, "clock", lambda: now[0])
    return now


def roll_up(app, tenant) -> None:
    with app.app_context(), tenant_context(tenant):
        rollup.roll_up(tenant.id)
        db.session.commit()


def customer_days(app, tenant) -> list[tuple[date, int]]:
    with app.app_context(), tenant_context(tenant):
        rows = db.session.execute(
            select(AnalyticsCustomerDay.day, AnalyticsCustomerDay.customer_id).order_by(
                AnalyticsCustomerDay.day, AnalyticsCustomerDay.customer_id
            )
        )
        return [tuple(row) for row in rows]


def test_signed_in_visits_are_kept_by_day_and_follow_the_customer(
    app, make_tenant, shop_client, clock
):
    shop, other = make_tenant(products=[("Teapot", 1500)]), make_tenant()
    casey, robin = make_customer(app, shop), make_customer(app, shop)
    browse(customer_client(app, shop, casey), "/products/teapot")
    browse(customer_client(app, shop, casey), "/")
    browse(customer_client(app, shop, robin), "/")
    browse(shop_client(shop), "/", ip="198.51.100.3")  # nobody signed in
    clock[0] = NOW + 3600
    with app.app_context(), tenant_context(shop):  # Robin is erased before the rollup
        db.session.delete(db.session.get(Customer, robin.id))
        db.session.commit()
    roll_up(app, shop)
    roll_up(app, other)
    assert customer_days(app, shop) == [(date(2026, 3, 10), casey.id)]
    assert customer_days(app, other) == []  # the other shop saw nothing of it
    with app.app_context():
        assert not list(redis_client().scan_iter(f"t:{shop.id}:a:c:*"))  # folded, forgotten
    roll_up(app, shop)  # twice: the same rows
    assert customer_days(app, shop) == [(date(2026, 3, 10), casey.id)]


def test_active_customers_join_visits_and_purchases(app, make_tenant):
    tenant = make_tenant()
    shop = Shop(app, tenant)
    alex = shop.customer("alex@example.com")
    sam = shop.customer("sam@example.com")

    def visited(day: date, customer_id: int) -> None:
        def add() -> None:
            db.session.add(AnalyticsCustomerDay(day=day, customer_id=customer_id))

        shop.run(add)

    visited(date(2026, 3, 1), alex)
    visited(date(2026, 3, 2), alex)
    shop.order("2026-03-02 10:00", 1000, customer_id=alex, email="alex@example.com")
    shop.order("2026-03-03 10:00", 1000, email="Guest@Example.com")  # a guest, by email
    shop.order("2026-03-03 11:00", 1000, email="guest@example.com")
    shop.order("2026-03-03 12:00", 1000, email="void@example.com", status="voided")
    visited(date(2026, 2, 20), sam)  # before the range, in its month
    r = DateRange("custom", date(2026, 3, 1), date(2026, 3, 3))
    figures = shop.run(active.active_customers, r, UTC_ZONE)
    assert figures == active.Active(customers=2, daily_average=1.0, monthly=3)
    before = shop.run(active.active_customers, r.previous(), UTC_ZONE)
    assert (before.customers, before.monthly) == (0, 1)  # 26-28 Feb; Sam on the 20th
    shown = {
        f.label: f.value for f in shop.run(reports.build, "customers", r, UTC_ZONE, "USD").figures
    }
    assert (
        shown["Active customers"],
        shown["Daily active customers"],
        shown["Monthly active customers"],
    ) == ("2", "1.0", "3")
