"""The daily sales rollup (`tenants.analytics.sales_rollup`): every report gives the same
figures from the rolled-up days as from the orders, however the orders changed since.

"Live" below is the same report in a zone with another name for the same clock
("Etc/UTC" for "UTC", "US/Pacific" for "America/Los_Angeles"): the rollup only serves
the zone it was computed in, so those read every order. The rollup runs as the sweep
runs it: `rollup.roll_up` in the shop's own unit of work.
"""

from __future__ import annotations

import threading
import time
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text, update

from saas.db import db
from saas.tenancy import tenant_context
from saas.tenancy.migrations import upgrade_tenant_schema
from tenants.analytics import active, buyers, rollup, sales, sales_rollup
from tenants.analytics.models import AnalyticsCustomerDay
from tenants.analytics.ranges import DateRange
from tenants.analytics.sale_orders import sources
from tenants.analytics.sales_models import (
    SalesBuyerSet,
    SalesCollectionMember,
    SalesDay,
    SalesDayBuyer,
    SalesDayItem,
    SalesDirty,
    SalesRollup,
)
from tenants.catalog.models import Product
from tenants.collections.models import Collection, CollectionProduct
from tenants.customers.models import Customer
from tenants.orders.models import Order, OrderLine, PaymentStatus, Refund
from tenants.settings.services import get_settings
from tests.analytics.test_sales import (
    APRIL,
    LA,
    MARCH,
    UTC_ZONE,
    Shop,
    catalog_and_orders,
    march_and_april,
)

SAME_AS_UTC = ZoneInfo("Etc/UTC")
SAME_AS_LA = ZoneInfo("US/Pacific")
SPRING = DateRange("custom", date(2026, 2, 1), date(2026, 4, 30))
TABLES = (SalesDay, SalesDayItem, SalesDayBuyer, SalesBuyerSet, SalesCollectionMember)


@pytest.fixture
def shop(app, make_tenant) -> Shop:
    return Shop(app, make_tenant())


def roll(shop: Shop) -> int:
    """The sweep's rollup for the shop (visits, then sales), committed; days recomputed."""
    with shop.app.app_context(), tenant_context(shop.tenant):
        rollup.roll_up(shop.tenant.id)
        return db.session.scalar(select(func.count()).select_from(SalesDay)) or 0


def stale(shop: Shop) -> list[date]:
    return shop.run(lambda: list(db.session.scalars(select(SalesDirty.day).order_by("day"))))


def stored(shop: Shop) -> dict[str, list[tuple[Any, ...]]]:
    """Every rolled-up row, for comparing two states of the tables."""

    def read() -> dict[str, list[tuple[Any, ...]]]:
        out = {}
        for model in TABLES:
            table = model.__table__
            rows = db.session.execute(select(table).order_by(*table.primary_key.columns))
            out[table.name] = [tuple(row) for row in rows]
        return out

    return shop.run(read)


def everything(shop: Shop, r: DateRange, zone: ZoneInfo) -> list[Any]:
    return [
        shop.run(sales.summary, r, zone),
        shop.run(sales.daily, r, zone),
        shop.run(sales.by_product, r, zone, limit=None),
        shop.run(sales.by_product, r, zone, limit=None, order_by="units"),
        shop.run(sales.by_product, r, zone, limit=None, ascending=True),
        shop.run(sales.by_variant, r, zone, limit=None),
        shop.run(sales.by_collection, r, zone, limit=None),
        shop.run(sales.by_discount_code, r, zone, limit=None),
        shop.run(sales.by_payment_method, r, zone),
        shop.run(sales.by_country, r, zone, limit=None),
        shop.run(sales.top_customers, r, zone, limit=None),
        shop.run(sales.top_customers, r, zone, limit=2),
        shop.run(sales.business, r, zone),
        shop.run(active.active_customers, r, zone),
    ]


def assert_as_live(shop: Shop, zone: ZoneInfo = UTC_ZONE, same: ZoneInfo = SAME_AS_UTC) -> None:
    """Every report of March, April and spring reads the same as from the orders."""
    for r in (MARCH, APRIL, SPRING, MARCH.previous()):
        assert everything(shop, r, zone) == everything(shop, r, same), r


def set_zone(shop: Shop, name: str, *, hook: bool = True) -> None:
    def change() -> None:
        get_settings().timezone = name
        if hook:  # what the settings page does
            sales_rollup.mark_all_dirty()

    shop.run(change)


def test_the_same_figures_before_and_after_the_rollup(shop):
    march_and_april(shop)
    ids = catalog_and_orders(shop)
    before = {r: everything(shop, r, UTC_ZONE) for r in (MARCH, APRIL, SPRING)}
    assert shop.run(lambda: db.session.get(SalesRollup, 1).zone) is None  # nothing rolled up
    assert roll(shop) > 0
    assert stale(shop) == []
    assert {r: everything(shop, r, UTC_ZONE) for r in (MARCH, APRIL, SPRING)} == before
    assert shop.run(sales.summary, MARCH, UTC_ZONE).gross_cents == 17000 + 5000 + 3000 + 1000
    assert shop.run(sales.by_product, MARCH, UTC_ZONE)[0] == sales.Row(
        str(ids["mug"]), "Mug", 3, 4, 4200
    )
    assert_as_live(shop)
    # A second run has nothing to do and changes nothing.
    tables = stored(shop)
    with shop.app.app_context(), tenant_context(shop.tenant):
        assert sales_rollup.roll_up_sales(shop.tenant.id) == 0
    assert stored(shop) == tables


def test_clean_days_are_read_from_the_rollup(shop):
    march_and_april(shop)
    roll(shop)

    def bump(by: int) -> None:
        db.session.execute(
            update(SalesDay)
            .where(SalesDay.day == date(2026, 3, 5))
            .values(orders=SalesDay.orders + by)
        )

    shop.run(bump, 100)
    assert shop.run(sales.summary, MARCH, UTC_ZONE).orders == 103  # the stored row
    assert shop.run(sales.summary, MARCH, SAME_AS_UTC).orders == 3  # another zone: live
    shop.run(bump, -100)


def test_a_refund_in_a_later_period_after_the_rollup(shop):
    march_and_april(shop)
    roll(shop)
    march = shop.run(sales.summary, MARCH, UTC_ZONE)
    sale = shop.order("2026-03-25 10:00", 6000, email="late@example.com")
    shop.refund(sale, 2500, "2026-04-10 10:00")
    assert stale(shop) == [date(2026, 3, 25), date(2026, 4, 10)]
    assert_as_live(shop)
    roll(shop)
    assert stale(shop) == []
    assert_as_live(shop)
    april = shop.run(sales.summary, APRIL, UTC_ZONE)
    assert (april.refunds_cents, april.net_cents) == (2000 + 2500, 4000 - 4500)
    assert shop.run(sales.summary, MARCH, UTC_ZONE).gross_cents == march.gross_cents + 6000


def test_a_status_change_after_the_rollup(shop):
    march_and_april(shop)
    ids = catalog_and_orders(shop)
    roll(shop)

    def pay_and_void() -> None:
        pending = db.session.scalar(select(Order).where(Order.email == "zed@example.com"))
        pending.payment_status = PaymentStatus.PAID  # the Vase order now counts
        paid = db.session.scalar(select(Order).where(Order.email == "a@example.com"))
        paid.payment_status = PaymentStatus.VOIDED

    shop.run(pay_and_void)
    assert stale(shop) == [date(2026, 3, 5), date(2026, 3, 6)]
    assert_as_live(shop)
    rows = shop.run(sales.by_product, MARCH, UTC_ZONE)
    assert rows[0] == sales.Row(str(ids["vase"]), "Vase", 1, 18, 9000)
    roll(shop)
    assert_as_live(shop)
    assert shop.run(sales.by_product, MARCH, UTC_ZONE) == rows
    # Fulfilment is not a figure: shipping an order marks nothing.
    shop.run(lambda: db.session.execute(update(Order).values(fulfillment_status="fulfilled")))
    assert stale(shop) == []


def test_lines_customers_and_products_that_change_or_go(shop):
    march_and_april(shop)
    ids = catalog_and_orders(shop)
    ann = shop.customer("ann@example.com", "Ann")

    def link() -> None:
        db.session.execute(
            update(Order).where(Order.email == "ann@example.com").values(customer_id=ann)
        )

    shop.run(link)
    roll(shop)

    def edit() -> None:
        line = db.session.scalar(select(OrderLine).where(OrderLine.title == "Lamp"))
        line.quantity = 4
        db.session.delete(db.session.get(Product, ids["mug"]))  # its lines keep their titles

    shop.run(edit)
    assert_as_live(shop)
    shop.run(lambda: db.session.delete(db.session.get(Customer, ann)))  # the customer goes
    assert_as_live(shop)
    roll(shop)
    assert stale(shop) == []
    assert_as_live(shop)
    products = shop.run(sales.by_product, MARCH, UTC_ZONE)
    assert sales.Row("Mug", "Mug", 3, 4, 4200) in products


def test_collections_follow_their_members_of_today(shop):
    ids = catalog_and_orders(shop)
    # An order with two products of one collection counts once in it.
    both = [
        (ids["mug"], ids["mug_v"], "Mug", 1, 1000, 0),
        (ids["lamp"], ids["lamp_v"], "Lamp", 1, 3000, 0),
    ]
    shop.order("2026-03-07 10:00", 4000, email="two@example.com", lines=both)
    roll(shop)

    def add_lamp() -> None:
        mugs = db.session.scalar(select(Collection).where(Collection.handle == "mugs"))
        db.session.add(CollectionProduct(collection_id=mugs.id, product_id=ids["lamp"]))

    shop.run(add_lamp)
    assert stale(shop) == []  # membership marks no day: the readers compare it
    assert_as_live(shop)
    mugs = shop.run(sales.by_collection, MARCH, UTC_ZONE)[0]
    assert (mugs.label, mugs.orders, mugs.units, mugs.revenue_cents) == ("Mugs", 4, 7, 11200)
    roll(shop)
    assert_as_live(shop)
    assert shop.run(sales.by_collection, MARCH, UTC_ZONE)[0] == mugs

    def cheaper() -> None:  # the automatic "Pricey" (from 20.00) loses the Lamp
        db.session.get(Product, ids["lamp"]).price_cents = 1000

    shop.run(cheaper)
    assert_as_live(shop)
    roll(shop)
    assert_as_live(shop)
    assert [c.label for c in shop.run(sales.by_collection, MARCH, UTC_ZONE)] == ["Mugs"]


def test_local_days_and_a_change_of_time_zone(shop):
    set_zone(shop, "America/Los_Angeles")
    # 06:00 UTC on 2 March is 22:00 on 1 March in Los Angeles
    order = shop.order("2026-03-02 06:00", 1500)
    shop.order("2026-03-02 08:00", 2500)  # midnight in Los Angeles: 2 March
    shop.refund(order, 500, "2026-03-03 07:30")  # 23:30 on 2 March there
    shop.order("2026-03-09 06:59", 100)  # 23:59 PDT on 8 March (a 23-hour day)
    shop.order("2026-03-09 07:00", 200)  # 00:00 PDT on 9 March
    march_and_april(shop)
    roll(shop)
    assert shop.run(lambda: db.session.get(SalesRollup, 1).zone) == "America/Los_Angeles"
    assert_as_live(shop, LA, SAME_AS_LA)
    two = DateRange("custom", date(2026, 3, 1), date(2026, 3, 3))
    assert [(d.day.day, d.orders, d.net_cents) for d in shop.run(sales.daily, two, LA)] == [
        (1, 1, 1500),
        (2, 1, 1300),  # 2,500 sold, 500 and February's 700 refunded
        (3, 0, 0),
    ]
    around = DateRange("custom", date(2026, 3, 8), date(2026, 3, 9))
    assert [(d.day.day, d.gross_cents) for d in shop.run(sales.daily, around, LA)] == [
        (8, 100),
        (9, 200),
    ]
    # The merchant moves the shop to UTC: every day is stale, the reports read live...
    set_zone(shop, "UTC")
    assert shop.run(lambda: db.session.get(SalesRollup, 1).zone) is None
    assert_as_live(shop)
    utc_days = [(d.day.day, d.orders, d.net_cents) for d in shop.run(sales.daily, two, UTC_ZONE)]
    assert utc_days == [(1, 0, 0), (2, 2, 3300), (3, 0, -500)]
    # ...and the next rollup rebuilds every day in the new zone.
    roll(shop)
    assert shop.run(lambda: db.session.get(SalesRollup, 1).zone) == "UTC"
    assert_as_live(shop)
    assert [(d.day.day, d.orders, d.net_cents) for d in shop.run(sales.daily, two, UTC_ZONE)] == (
        utc_days
    )


def test_a_zone_changed_behind_the_settings_page_s_back_is_caught(shop):
    march_and_april(shop)
    roll(shop)
    set_zone(shop, "Asia/Tokyo", hook=False)  # an import, a script...
    tokyo, same = ZoneInfo("Asia/Tokyo"), ZoneInfo("Japan")
    assert_as_live(shop, tokyo, same)  # the rollup is in UTC: Tokyo's reports read live
    roll(shop)
    assert shop.run(lambda: db.session.get(SalesRollup, 1).zone) == "Asia/Tokyo"
    assert_as_live(shop, tokyo, same)


def test_a_day_marked_again_while_being_rolled_up(shop, app):
    march_and_april(shop)
    roll(shop)
    shop.order("2026-03-05 18:00", 700, email="first@example.com")
    assert stale(shop) == [date(2026, 3, 5)]
    rolled, release, done = threading.Event(), threading.Event(), threading.Event()

    def roll_and_wait() -> None:
        with app.app_context(), tenant_context(shop.tenant):
            sales_rollup.roll_up_sales(shop.tenant.id)  # takes 5 March...
            rolled.set()
            release.wait(10)  # ...and commits only when told

    def order_meanwhile() -> None:
        shop.order("2026-03-05 19:00", 900, email="second@example.com")
        done.set()

    roller = threading.Thread(target=roll_and_wait)
    roller.start()
    assert rolled.wait(10)
    writer = threading.Thread(target=order_meanwhile)
    writer.start()
    time.sleep(0.5)
    assert not done.is_set()  # its trigger waits on the day the rollup took
    release.set()
    roller.join(10)
    writer.join(10)
    assert done.is_set()
    assert stale(shop) == [date(2026, 3, 5)]  # marked again after the rollup committed
    assert_as_live(shop)
    assert shop.run(sales.summary, MARCH, UTC_ZONE).orders == 5
    roll(shop)
    assert stale(shop) == []
    assert shop.run(sales.summary, MARCH, UTC_ZONE).orders == 5


def test_a_shop_s_rollup_holds_only_its_own_sales(app, make_tenant):
    a, b = Shop(app, make_tenant()), Shop(app, make_tenant())
    march_and_april(a)
    catalog_and_orders(a)
    roll(a)
    roll(b)
    assert all(rows == [] for rows in stored(b).values())
    assert stale(b) == []
    mine = stored(a)
    before = {r: everything(a, r, UTC_ZONE) for r in (MARCH, APRIL)}
    assert everything(b, MARCH, UTC_ZONE)[0].orders == 0
    # shop B sells to the same emails, with the same codes, and refunds in March
    march_and_april(b)
    catalog_and_orders(b)
    big = b.order("2026-03-15 10:00", 99999, email="a@example.com", code="SPRING10", country="FR")
    b.refund(big, 5000, "2026-03-16 10:00")
    assert stale(a) == []
    roll(b)
    roll(a)
    assert stored(a) == mine
    assert {r: everything(a, r, UTC_ZONE) for r in (MARCH, APRIL)} == before
    assert everything(b, MARCH, UTC_ZONE)[0].gross_cents == before[MARCH][0].gross_cents + 99999
    assert_as_live(b)


_DEFINITIONS = """
    SELECT 'function', p.proname, pg_get_functiondef(p.oid)
    FROM pg_proc p WHERE p.pronamespace = CAST(:s AS regnamespace)
    UNION ALL
    SELECT 'trigger', t.tgname, pg_get_triggerdef(t.oid)
    FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
    WHERE c.relnamespace = CAST(:s AS regnamespace) AND NOT t.tgisinternal
    ORDER BY 1, 2
"""


def test_a_built_schema_has_the_migration_s_triggers(app, make_tenant):
    built = make_tenant()
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(text('CREATE SCHEMA "t_999997"'))
        try:
            upgrade_tenant_schema("t_999997")
            with db.engine.connect() as conn:
                shapes = []
                for schema in (built.schema, "t_999997"):
                    rows = conn.execute(text(_DEFINITIONS), {"s": schema}).all()
                    shapes.append([(r[0], r[1], r[2].replace(schema, "<s>")) for r in rows])
                    zone = conn.execute(
                        text(f'SELECT zone FROM "{schema}".analytics_sales_rollup')
                    ).all()
                    assert zone == [(None,)]
            assert shapes[0] == shapes[1]
            # orders, lines and refunds (insert, update, delete); browsing (insert, delete)
            assert len([r for r in shapes[0] if r[0] == "trigger"]) == 11
        finally:
            with db.engine.begin() as conn:
                conn.execute(text('DROP SCHEMA "t_999997" CASCADE'))


def test_refunds_of_orders_that_stop_counting(shop):
    march_and_april(shop)
    roll(shop)

    def void_february() -> None:
        february = db.session.scalar(select(Order).where(Order.email == "A@Example.com"))
        february.payment_status = PaymentStatus.VOIDED  # its March refund stops counting

    shop.run(void_february)
    assert stale(shop) == [date(2026, 2, 20), date(2026, 3, 2)]
    assert_as_live(shop)
    roll(shop)
    assert shop.run(sales.summary, MARCH, UTC_ZONE).refunds_cents == 1500
    assert shop.run(lambda: db.session.scalar(select(func.count()).select_from(Refund))) == 3


def browsed(shop: Shop, day: date, customer_id: int) -> None:
    shop.run(lambda: db.session.add(AnalyticsCustomerDay(day=day, customer_id=customer_id)))


def test_active_and_returning_customers_from_the_sets(shop):
    march_and_april(shop)
    catalog_and_orders(shop)
    lee = shop.customer("lee@example.com")
    kim = shop.customer("kim@example.com")
    browsed(shop, date(2026, 3, 4), lee)  # browsed only, never bought
    browsed(shop, date(2026, 2, 10), kim)
    shop.order("2026-02-11 10:00", 2000, customer_id=kim, email="kim@example.com")
    shop.order("2026-04-02 10:00", 2000, customer_id=kim, email="kim@example.com")
    roll(shop)
    assert stale(shop) == []
    assert_as_live(shop)
    spring = shop.run(active.active_customers, SPRING, UTC_ZONE)
    march = shop.run(active.active_customers, MARCH, UTC_ZONE)
    assert spring.customers == march.customers + 1  # Kim: February and April
    april = shop.run(sales.summary, APRIL, UTC_ZONE)
    assert april.returning_customers >= 1  # Kim bought in February
    # Browsing a clean day later, and a customer erased: those days go stale, read live.
    browsed(shop, date(2026, 3, 20), kim)
    assert stale(shop) == [date(2026, 3, 20)]
    assert_as_live(shop)
    shop.run(lambda: db.session.delete(db.session.get(Customer, lee)))
    assert date(2026, 3, 4) in stale(shop)
    assert shop.run(active.active_customers, MARCH, UTC_ZONE).customers == march.customers
    assert_as_live(shop)
    roll(shop)
    assert stale(shop) == []
    assert_as_live(shop)
    assert shop.run(active.active_customers, MARCH, UTC_ZONE).customers == march.customers


def test_top_customers_among_the_biggest_spenders_are_exact(shop, monkeypatch):
    march_and_april(shop)
    catalog_and_orders(shop)
    for n, cents in enumerate((90000, 50000, 700, 600)):
        shop.order(f"2026-03-{10 + n} 10:00", cents, email=f"big{n}@example.com")
    roll(shop)
    shop.order("2026-04-20 10:00", 80000, email="big3@example.com")  # a stale day, live
    every = {
        r: shop.run(lambda r=r: buyers._top(sources(r, UTC_ZONE), 2))
        for r in (MARCH, APRIL, SPRING)
    }
    monkeypatch.setattr(buyers, "POOL_PER_ROW", 1)  # the pool: the two biggest spenders
    for r in (MARCH, APRIL, SPRING):
        assert shop.run(sales.top_customers, r, UTC_ZONE, limit=2) == every[r], r
    assert [c.email for c in every[SPRING]] == ["big0@example.com", "big3@example.com"]
