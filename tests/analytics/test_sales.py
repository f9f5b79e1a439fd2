"""Sales analytics (`tenants.analytics.sales`): every figure from orders and refunds
made here with known amounts and times, in real tenant schemas.

Which orders count: paid, partly and fully refunded (money was taken); pending and
voided never. A sale is in the local day it was placed, a refund in the local day it
was made.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from saas.db import db
from saas.tenancy import tenant_context
from tenants.analytics import sales
from tenants.analytics.ranges import DateRange
from tenants.catalog.models import Product, ProductVariant
from tenants.collections.models import Collection, CollectionProduct
from tenants.customers.models import Customer
from tenants.orders.models import Order, OrderLine, PaymentStatus, Refund

UTC_ZONE = ZoneInfo("UTC")
LA = ZoneInfo("America/Los_Angeles")
MARCH = DateRange("custom", date(2026, 3, 1), date(2026, 3, 31))
APRIL = DateRange("custom", date(2026, 4, 1), date(2026, 4, 30))
_numbers = itertools.count(1001)


def at(text: str) -> datetime:
    """An instant in UTC: "2026-03-05 10:00"."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


class Shop:
    """Makes rows in one tenant's schema, each committed, and reads reports there."""

    def __init__(self, app: Any, tenant: Any) -> None:
        self.app, self.tenant = app, tenant

    def run(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        with self.app.app_context(), tenant_context(self.tenant):
            return fn(*args, **kwargs)

    def order(
        self,
        placed: str,
        subtotal: int = 0,
        *,
        status: str = PaymentStatus.PAID,
        discount: int = 0,
        shipping: int = 0,
        tax: int = 0,
        included: bool = False,
        email: str = "buyer@example.com",
        customer_id: int | None = None,
        name: str = "",
        code: str | None = None,
        method: str | None = "stripe",
        country: str | None = None,
        lines: list[tuple[int | None, int | None, str, int, int, int]] = (),  # type: ignore[assignment]
        refunded: int = 0,
    ) -> int:
        """An order; `lines` are (product_id, variant_id, title, quantity, unit price,
        discount). The total is what checkout would have charged."""

        def make() -> int:
            row = Order(
                number=next(_numbers),
                email=email,
                customer_id=customer_id,
                customer_name=name,
                payment_status=status,
                payment_method=method,
                currency="USD",
                subtotal_cents=subtotal,
                discount_cents=discount,
                shipping_cents=shipping,
                tax_cents=tax,
                taxes_included=included,
                total_cents=subtotal - discount + shipping + (0 if included else tax),
                refunded_cents=refunded,
                discount_code=code,
                shipping_address={"country": country} if country else None,
                placed_at=at(placed),
            )
            for product_id, variant_id, title, quantity, price, off in lines:
                row.lines.append(
                    OrderLine(
                        product_id=product_id,
                        variant_id=variant_id,
                        title=title,
                        quantity=quantity,
                        unit_price_cents=price,
                        discount_cents=off,
                    )
                )
            db.session.add(row)
            db.session.flush()
            return row.id

        return self.run(make)

    def refund(self, order_id: int, amount: int, made: str) -> None:
        def make() -> None:
            db.session.add(Refund(order_id=order_id, amount_cents=amount, created_at=at(made)))

        self.run(make)

    def product(
        self, title: str, price: int, created: str = "2026-01-05 12:00", **variant: Any
    ) -> tuple[int, int]:
        """A product with one variant: (product id, variant id)."""

        def make() -> tuple[int, int]:
            product = Product(
                title=title,
                handle=title.lower().replace(" ", "-"),
                price_cents=price,
                created_at=at(created),
            )
            product.variants.append(ProductVariant(price_cents=price, **variant))
            db.session.add(product)
            db.session.flush()
            return product.id, product.variants[0].id

        return self.run(make)

    def customer(self, email: str, name: str = "", created: str = "2026-01-01 00:00") -> int:
        def make() -> int:
            row = Customer(email=email, name=name, created_at=at(created))
            db.session.add(row)
            db.session.flush()
            return row.id

        return self.run(make)


@pytest.fixture
def shop(app, make_tenant) -> Shop:
    return Shop(app, make_tenant())


def march_and_april(shop: Shop) -> None:
    """The orders and refunds most tests read (all in UTC)."""
    a = shop.order(
        "2026-03-05 10:00", 10000, discount=1000, shipping=500, tax=1800, email="a@example.com"
    )
    b = shop.order(
        "2026-03-10 12:00", 5000, tax=1000, included=True, email="b@example.com",
        status=PaymentStatus.PARTIALLY_REFUNDED, refunded=1500,
    )  # fmt: skip
    c = shop.order(
        "2026-03-20 09:00",
        2000,
        email="c@example.com",
        status=PaymentStatus.REFUNDED,
        refunded=2000,
    )
    shop.order("2026-03-12 08:00", 9999, email="d@example.com", status=PaymentStatus.PENDING)
    shop.order("2026-03-13 08:00", 8888, email="e@example.com", status=PaymentStatus.VOIDED)
    february = shop.order(
        "2026-02-20 15:00",
        3000,
        email="A@Example.com",
        status=PaymentStatus.PARTIALLY_REFUNDED,
        refunded=700,
    )
    shop.order("2026-04-02 10:00", 4000, email="c@example.com")
    shop.refund(b, 1500, "2026-03-15 10:00")
    shop.refund(c, 2000, "2026-04-01 10:00")  # March's sale, refunded in April
    shop.refund(february, 700, "2026-03-02 10:00")  # February's sale, refunded in March
    assert a


def test_summary_figures(shop):
    march_and_april(shop)
    s = shop.run(sales.summary, MARCH, UTC_ZONE)
    assert s == sales.SalesSummary(
        orders=3,
        gross_cents=17000,
        discounts_cents=1000,
        refunds_cents=2200,
        net_cents=13800,
        shipping_cents=500,
        taxes_cents=2800,  # 1,800 added + 1,000 included in prices
        total_cents=16100,  # net + shipping + the 1,800 added on top
        average_order_cents=6100,  # 18,300 of orders / 3
        customers=3,
        new_customers=2,
        returning_customers=1,  # a@ bought in February (as A@Example.com)
        returning_rate=1 / 3,
    )


def test_a_refund_lowers_the_period_it_was_made_in_not_the_sale_s(shop):
    march_and_april(shop)
    april = shop.run(sales.summary, APRIL, UTC_ZONE)
    assert (april.orders, april.gross_cents, april.refunds_cents) == (1, 4000, 2000)
    assert (april.net_cents, april.total_cents, april.average_order_cents) == (2000, 2000, 4000)
    assert (april.customers, april.new_customers, april.returning_customers) == (1, 0, 1)
    # March keeps the refunded order's sale, whatever happened to it in April
    assert shop.run(sales.summary, MARCH, UTC_ZONE).gross_cents == 17000
    days = shop.run(sales.daily, DateRange("custom", date(2026, 3, 31), date(2026, 4, 2)), UTC_ZONE)
    assert [(d.day.day, d.orders, d.gross_cents, d.net_cents, d.total_cents) for d in days] == [
        (31, 0, 0, 0, 0),
        (1, 0, 0, -2000, -2000),
        (2, 1, 4000, 4000, 4000),
    ]


def test_only_orders_that_took_money_count(shop):
    for n, status in enumerate(PaymentStatus):
        refunded = {"partially_refunded": 100, "refunded": 1000 + n}.get(status, 0)
        shop.order(
            "2026-03-03 10:00",
            1000 + n,
            status=status,
            email=f"{status}@example.com",
            refunded=refunded,
        )
    s = shop.run(sales.summary, MARCH, UTC_ZONE)
    # paid (1001), partially_refunded (1002), refunded (1003); not pending (1000), voided (1004)
    assert [str(s) for s in PaymentStatus] == [
        "pending",
        "paid",
        "partially_refunded",
        "refunded",
        "voided",
    ]
    assert (s.orders, s.gross_cents, s.customers) == (3, 1001 + 1002 + 1003, 3)
    assert shop.run(sales.by_payment_method, MARCH, UTC_ZONE)[0].orders == 3
    assert [
        d.orders
        for d in shop.run(
            sales.daily, DateRange("custom", date(2026, 3, 3), date(2026, 3, 3)), UTC_ZONE
        )
    ] == [3]


def test_daily_series_is_zero_filled_and_in_order(shop):
    first = shop.order("2026-03-02 09:00", 1000, shipping=300)
    shop.order("2026-03-02 23:59", 2000, discount=500)
    shop.order("2026-03-05 00:00", 700)
    shop.order("2026-03-08 00:00", 900)  # the day after the range
    shop.refund(first, 400, "2026-03-05 18:00")
    week = DateRange("custom", date(2026, 3, 1), date(2026, 3, 7))
    days = shop.run(sales.daily, week, UTC_ZONE)
    assert [d.day for d in days] == [date(2026, 3, n) for n in range(1, 8)]
    assert [(d.orders, d.gross_cents, d.net_cents, d.total_cents) for d in days] == [
        (0, 0, 0, 0),
        (2, 3000, 2500, 2800),
        (0, 0, 0, 0),
        (0, 0, 0, 0),
        (1, 700, 300, 300),  # 700 sold, 400 refunded that day
        (0, 0, 0, 0),
        (0, 0, 0, 0),
    ]


def test_days_are_the_shop_s_local_days(shop):
    # 06:00 UTC on 2 March is 22:00 on 1 March in Los Angeles
    order = shop.order("2026-03-02 06:00", 1500)
    shop.order("2026-03-02 08:00", 2500)  # midnight in Los Angeles: 2 March
    shop.refund(order, 500, "2026-03-03 07:30")  # 23:30 on 2 March there
    first = DateRange("custom", date(2026, 3, 1), date(2026, 3, 1))
    assert shop.run(sales.summary, first, LA).gross_cents == 1500
    assert shop.run(sales.summary, first, UTC_ZONE).orders == 0
    two = DateRange("custom", date(2026, 3, 1), date(2026, 3, 3))
    la_days = shop.run(sales.daily, two, LA)
    assert [(d.day.day, d.orders, d.net_cents) for d in la_days] == [
        (1, 1, 1500),
        (2, 1, 2000),
        (3, 0, 0),
    ]
    utc_days = shop.run(sales.daily, two, UTC_ZONE)
    assert [(d.day.day, d.orders, d.net_cents) for d in utc_days] == [
        (1, 0, 0),
        (2, 2, 4000),
        (3, 0, -500),
    ]
    # 8 March has 23 hours in Los Angeles: an order at 07:30 UTC on 9 March is 9 March
    shop.order("2026-03-09 06:59", 100)  # 23:59 PDT on 8 March
    shop.order("2026-03-09 07:00", 200)  # 00:00 PDT on 9 March
    around = shop.run(sales.daily, DateRange("custom", date(2026, 3, 8), date(2026, 3, 9)), LA)
    assert [(d.day.day, d.gross_cents) for d in around] == [(8, 100), (9, 200)]


def test_new_and_returning_customers(shop):
    ann = shop.customer("ann@example.com", "Ann")
    shop.order("2026-02-01 10:00", 1000, customer_id=ann, email="ann@example.com")
    shop.order(
        "2026-03-03 10:00", 1000, customer_id=ann, email="ann.new@example.com"
    )  # returning (by account)
    shop.order("2026-03-04 10:00", 1000, email="Bob@Example.com")
    shop.order("2026-03-09 10:00", 1000, email="bob@example.com")  # twice in March, new
    shop.order("2026-01-15 10:00", 1000, email="cy@example.com")
    shop.order("2026-03-20 10:00", 1000, email="CY@example.com")  # returning (by email)
    shop.order("2026-02-10 10:00", 1000, email="dee@example.com", status=PaymentStatus.VOIDED)
    shop.order("2026-03-21 10:00", 1000, email="dee@example.com")  # new: February never paid
    s = shop.run(sales.summary, MARCH, UTC_ZONE)
    assert (s.orders, s.customers, s.new_customers, s.returning_customers) == (5, 4, 2, 2)
    assert s.returning_rate == 0.5
    empty = shop.run(
        sales.summary, DateRange("custom", date(2025, 6, 1), date(2025, 6, 30)), UTC_ZONE
    )
    assert (empty.orders, empty.customers, empty.returning_rate, empty.average_order_cents) == (
        0,
        0,
        None,
        0,
    )


def catalog_and_orders(shop: Shop) -> dict[str, int]:
    mug, mug_v = shop.product("Mug", 1000)
    lamp, lamp_v = shop.product("Lamp", 3000)
    vase, _ = shop.product("Vase", 500)  # never sold
    with shop.app.app_context(), tenant_context(shop.tenant):
        big = ProductVariant(product_id=mug, price_cents=1500, option1="Big", position=2)
        db.session.add(big)
        db.session.flush()
        big_v = big.id
        manual = Collection(handle="mugs", title="Mugs", kind="manual")
        auto = Collection(
            handle="pricey",
            title="Pricey",
            kind="automatic",
            rules=[{"field": "price", "min": 2000, "max": None}],
        )
        db.session.add_all([manual, auto])
        db.session.flush()
        db.session.add(CollectionProduct(collection_id=manual.id, product_id=mug))
    shop.order(
        "2026-03-03 10:00", 5000, discount=200, code="SPRING10", method="stripe", country="FR",
        email="ann@example.com", name="Ann",
        lines=[(mug, mug_v, "Mug", 2, 1000, 200), (lamp, lamp_v, "Lamp", 1, 3000, 0)],
    )  # fmt: skip
    shop.order(
        "2026-03-04 10:00", 3000, discount=100, code="spring10", method="cash_on_delivery",
        country="us", email="bob@example.com", name="Bob",
        lines=[(mug, big_v, "Mug", 1, 1500, 100), (None, None, "Old poster", 5, 300, 0)],
    )  # fmt: skip
    shop.order(
        "2026-03-05 10:00", 1000, method="cash_on_delivery", email="ann@example.com", name="Ann B.",
        lines=[(mug, mug_v, "Mug", 1, 1000, 0)],
    )  # fmt: skip
    shop.order(
        "2026-03-06 10:00", 9000, status=PaymentStatus.PENDING, email="zed@example.com",
        lines=[(vase, None, "Vase", 18, 500, 0)],
    )  # fmt: skip
    return {
        "mug": mug,
        "lamp": lamp,
        "vase": vase,
        "mug_v": mug_v,
        "lamp_v": lamp_v,
        "big_v": big_v,
    }


def test_sales_by_product(shop):
    ids = catalog_and_orders(shop)
    rows = shop.run(sales.by_product, MARCH, UTC_ZONE)
    # Mug: 1,800 + 1,400 + 1,000; Old poster 1,500 (its product is gone); Lamp 3,000
    assert rows == [
        sales.Row(str(ids["mug"]), "Mug", 3, 4, 4200),
        sales.Row(str(ids["lamp"]), "Lamp", 1, 1, 3000),
        sales.Row("Old poster", "Old poster", 1, 5, 1500),
    ]
    by_units = shop.run(sales.by_product, MARCH, UTC_ZONE, order_by="units", limit=1)
    assert by_units == [sales.Row("Old poster", "Old poster", 1, 5, 1500)]
    slowest = shop.run(sales.by_product, MARCH, UTC_ZONE, limit=2, ascending=True)
    assert slowest == [
        sales.Row(str(ids["vase"]), "Vase", 0, 0, 0),  # the pending order does not count
        sales.Row("Old poster", "Old poster", 1, 5, 1500),
    ]
    assert len(shop.run(sales.by_product, MARCH, UTC_ZONE, limit=None, ascending=True)) == 4


def test_sales_by_variant_and_collection(shop):
    ids = catalog_and_orders(shop)
    variants = shop.run(sales.by_variant, MARCH, UTC_ZONE)
    assert variants == [
        sales.Row(str(ids["lamp_v"]), "Lamp", 1, 1, 3000),
        sales.Row(str(ids["mug_v"]), "Mug", 2, 3, 2800),
        sales.Row("Old poster", "Old poster", 1, 5, 1500),  # no variant any more: its titles
        sales.Row(str(ids["big_v"]), "Mug / Big", 1, 1, 1400),
    ]
    collections = shop.run(sales.by_collection, MARCH, UTC_ZONE)
    assert [(c.label, c.orders, c.units, c.revenue_cents) for c in collections] == [
        ("Mugs", 3, 4, 4200),  # manual: the Mug
        ("Pricey", 1, 1, 3000),  # automatic, price from 20.00: the Lamp
    ]


def test_sales_by_discount_code_payment_method_and_country(shop):
    catalog_and_orders(shop)
    codes = shop.run(sales.by_discount_code, MARCH, UTC_ZONE)
    assert len(codes) == 1
    code = codes[0]
    assert (code.key, code.orders, code.units, code.revenue_cents, code.discount_cents) == (
        "spring10", 2, 9, 4800 + 2900, 300,
    )  # fmt: skip
    assert code.label in ("SPRING10", "spring10")
    methods = shop.run(sales.by_payment_method, MARCH, UTC_ZONE)
    assert methods == [
        sales.Row("stripe", "Card", 1, 3, 4800),
        sales.Row("cash_on_delivery", "Cash on delivery", 2, 7, 2900 + 1000),
    ]
    countries = shop.run(sales.by_country, MARCH, UTC_ZONE)
    assert countries == [
        sales.Row("FR", "France", 1, 3, 4800),
        sales.Row("US", "United States", 1, 6, 2900),
        sales.Row("", "No shipping address", 1, 1, 1000),
    ]


def test_top_customers(shop):
    ann = shop.customer("ann@example.com", "")
    shop.order("2026-03-03 10:00", 1000, customer_id=ann, email="ann@example.com", name="Ann Old")
    shop.order("2026-03-09 10:00", 2500, customer_id=ann, email="ann@example.com", name="Ann Lee")
    shop.order("2026-03-04 10:00", 4000, email="Bo@Example.com", name="Bo")
    shop.order("2026-03-05 10:00", 100, email="bo@example.com", name="Bo")
    shop.order("2026-03-06 10:00", 9000, email="cy@example.com", status=PaymentStatus.PENDING)
    top = shop.run(sales.top_customers, MARCH, UTC_ZONE)
    assert top == [
        sales.CustomerRow(None, "Bo", "bo@example.com", 2, 4100),
        sales.CustomerRow(ann, "Ann Lee", "ann@example.com", 2, 3500),  # latest order's name
    ]
    assert len(shop.run(sales.top_customers, MARCH, UTC_ZONE, limit=1)) == 1


def test_business_figures(shop):
    for n, created in enumerate(
        ("2026-01-01 00:00", "2026-02-10 00:00", "2026-03-10 00:00", "2026-04-10 00:00")
    ):
        shop.customer(f"c{n}@example.com", created=created)
    shop.order("2026-03-03 10:00", 1000, email="c0@example.com")
    shop.order("2026-03-04 10:00", 1000, email="c1@example.com")
    shop.order("2026-03-05 10:00", 1000, email="c1@example.com")
    # products: ISO weeks of March 2026 start on 23 Feb, 2, 9, 16, 23 and 30 March
    shop.product("Before", 100, created="2026-02-28 12:00")
    shop.product(
        "First",
        100,
        created="2026-03-01 12:00",
        inventory_tracked=True,
        inventory_quantity=4,
        cost_cents=250,
    )
    shop.product(
        "Second",
        100,
        created="2026-03-10 12:00",
        inventory_tracked=True,
        inventory_quantity=-2,
        cost_cents=999,
    )
    shop.product(
        "Third",
        100,
        created="2026-03-11 12:00",
        inventory_tracked=False,
        inventory_quantity=50,
        cost_cents=10,
    )
    shop.product(
        "Fourth", 100, created="2026-03-31 23:00", inventory_tracked=True, inventory_quantity=3
    )
    b = shop.run(sales.business, MARCH, UTC_ZONE)
    assert b.active_customers == 2
    assert b.paying_ratio == 2 / 3  # 3 customers existed on 31 March
    assert b.products_added == [
        (date(2026, 2, 23), 1),
        (date(2026, 3, 2), 0),
        (date(2026, 3, 9), 2),
        (date(2026, 3, 16), 0),
        (date(2026, 3, 23), 0),
        (date(2026, 3, 30), 1),
    ]
    assert b.inventory_value_cents == 4 * 250  # tracked with a cost, negative stock as none
    empty = Shop(shop.app, shop.tenant)
    early = empty.run(
        sales.business, DateRange("custom", date(2025, 1, 1), date(2025, 1, 1)), UTC_ZONE
    )
    assert (early.active_customers, early.paying_ratio, early.products_added) == (
        0,
        None,
        [(date(2024, 12, 30), 0)],
    )


def test_no_cost_known_gives_no_inventory_value(shop):
    shop.product("Plain", 100, inventory_tracked=True, inventory_quantity=10)
    assert shop.run(sales.business, MARCH, UTC_ZONE).inventory_value_cents is None


def test_a_shop_never_sees_another_shop_s_sales(app, make_tenant):
    a, b = Shop(app, make_tenant()), Shop(app, make_tenant())
    march_and_april(a)
    catalog_and_orders(a)

    def everything(shop: Shop) -> list[Any]:
        return [
            shop.run(sales.summary, MARCH, UTC_ZONE),
            shop.run(sales.daily, MARCH, UTC_ZONE),
            shop.run(sales.by_product, MARCH, UTC_ZONE, limit=None, ascending=True),
            shop.run(sales.by_variant, MARCH, UTC_ZONE),
            shop.run(sales.by_collection, MARCH, UTC_ZONE),
            shop.run(sales.by_discount_code, MARCH, UTC_ZONE),
            shop.run(sales.by_payment_method, MARCH, UTC_ZONE),
            shop.run(sales.by_country, MARCH, UTC_ZONE),
            shop.run(sales.top_customers, MARCH, UTC_ZONE),
            shop.run(sales.business, MARCH, UTC_ZONE),
        ]

    before = everything(a)
    assert everything(b)[0].orders == 0
    # shop B sells a lot, to the same emails, with the same codes, and refunds in March
    march_and_april(b)
    catalog_and_orders(b)
    big = b.order("2026-03-15 10:00", 99999, email="a@example.com", code="SPRING10", country="FR")
    b.refund(big, 5000, "2026-03-16 10:00")
    b.customer("a@example.com")
    assert everything(a) == before
    assert everything(b)[0].gross_cents == before[0].gross_cents + 99999
