"""The back office's analytics reports, each one a `Report` the page renders the same
way: figures with their change against the previous period, charts (server-rendered SVG
with their tables, `saas.charts`), tables, an empty state, and the rows its CSV export
writes. The figures come from `sales` (orders, in PostgreSQL) and `traffic` (visits
rolled up by `rollup`); this module only puts them side by side.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import select

from saas.charts import Chart, Series, bar_chart, funnel_chart, line_chart
from saas.db import db
from saas.money import file_amount, format_money
from tenants.analytics import active, sales, traffic
from tenants.analytics.ranges import DateRange, delta_percent
from tenants.catalog.models import Product

REPORTS = (
    ("overview", "Overview"),
    ("traffic", "Traffic"),
    ("funnel", "Funnel"),
    ("products", "Products"),
    ("customers", "Customers"),
    ("discounts", "Discounts"),
)
TITLES = dict(REPORTS)
NOTHING = "\N{EN DASH}"  # a rate or a name there is none of


@dataclass(frozen=True)
class Figure:
    label: str
    value: str
    delta: float | None = None  # % against the previous period; None: nothing to compare


@dataclass(frozen=True)
class Table:
    caption: str
    headers: list[str]
    rows: list[list[str]]


@dataclass
class Report:
    key: str
    title: str
    figures: list[Figure] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    empty: str | None = None  # said instead of the report when there is nothing yet
    # What "Export as CSV" writes; a callable when it costs more than the page's own rows
    # (made only for the file, not for every view of the page).
    export: Table | Callable[[], Table] | None = None

    def export_table(self) -> Table | None:
        return self.export() if callable(self.export) else self.export


def _percent(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else NOTHING


def _rate(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def _count(n: int) -> str:
    return f"{n:,}"


def _compared(
    label: str, field: str, now: object, before: object, show: Callable[[int], str] = _count
) -> Figure:
    """A figure of this period with its change since the previous one: the same field of
    both periods' results."""
    value, previous = getattr(now, field), getattr(before, field)
    return Figure(label, show(value), delta_percent(value, previous))


def _change(current: float, previous: float) -> float | None:
    return delta_percent(round(current * 10_000), round(previous * 10_000))


def build(key: str, r: DateRange, zone: ZoneInfo, currency: str) -> Report:
    """The report `key` (one of REPORTS) for range `r` in the shop's `zone`."""
    return _BUILDERS[key](r, zone, lambda cents: format_money(cents, currency), currency)


Money = Callable[[int], str]


def _day(d: object) -> str:
    return d.strftime("%d %b")  # type: ignore[attr-defined]


def overview(r: DateRange, zone: ZoneInfo, money: Money, currency: str) -> Report:
    now, before = (
        sales.summary(r, zone, buyers=False),
        sales.summary(r.previous(), zone, buyers=False),
    )
    visits, visits_before = traffic.totals(r.start, r.end), traffic.totals(*_span(r.previous()))
    funnel, funnel_before = traffic.funnel(r.start, r.end), traffic.funnel(*_span(r.previous()))
    conversion = _rate(funnel.order_sessions, funnel.sessions)
    conversion_before = _rate(funnel_before.order_sessions, funnel_before.sessions)
    report = Report("overview", "Overview")
    report.figures = [
        _compared("Total sales", "total_cents", now, before, money),
        _compared("Net sales", "net_cents", now, before, money),
        _compared("Orders", "orders", now, before),
        _compared("Average order value", "average_order_cents", now, before, money),
        _compared("Sessions", "sessions", visits, visits_before),
        Figure(
            "Conversion rate",
            _percent(funnel.order_sessions, funnel.sessions),
            _change(conversion, conversion_before),
        ),
    ]
    days, days_before = sales.daily(r, zone), sales.daily(r.previous(), zone)
    visits_days = traffic.daily(r.start, r.end)
    report.charts = [
        line_chart(
            [
                Series(r.label, [(_day(d.day), d.total_cents) for d in days]),
                Series("Previous period", [(_day(d.day), d.total_cents) for d in days_before]),
            ],
            title="Total sales per day",
            description=f"Total sales each day, {r.label.lower()}, against the period before.",
            format_value=money,
        ),
        line_chart(
            [Series("Sessions", [(_day(d.day), d.sessions) for d in visits_days])],
            title="Sessions per day",
            description="Visits to your storefront each day (a visit ends after 30 idle minutes).",
        ),
    ]
    if not now.orders and not visits.sessions:
        report.empty = (
            "Nothing to show for this period yet. Sales appear here as soon as an order is "
            "paid, and visits within the hour after shoppers browse your storefront."
        )
    by_day = {d.day: d for d in visits_days}
    report.export = Table(
        "Per day",
        [
            "Day",
            "Orders",
            "Gross sales",
            "Net sales",
            "Total sales",
            "Sessions",
            "Page views",
            "Visitors",
        ],
        [
            [
                d.day.isoformat(),
                str(d.orders),
                file_amount(d.gross_cents, currency),
                file_amount(d.net_cents, currency),
                file_amount(d.total_cents, currency),
                str(by_day[d.day].sessions if d.day in by_day else 0),
                str(by_day[d.day].pageviews if d.day in by_day else 0),
                str(by_day[d.day].visitors if d.day in by_day else 0),
            ]
            for d in days
        ],
    )
    return report


def _span(r: DateRange) -> tuple[date, date]:
    return r.start, r.end


TRAFFIC_DIMENSIONS = (
    ("referrer", "Sources", "Source"),
    ("landing", "Landing pages", "Page"),
    ("device", "Devices", "Device"),
    ("utm_source", "Campaign sources (utm_source)", "utm_source"),
    ("utm_medium", "Campaign mediums (utm_medium)", "utm_medium"),
    ("utm_campaign", "Campaigns (utm_campaign)", "utm_campaign"),
    ("path", "Top pages", "Page"),
)


def traffic_report(r: DateRange, zone: ZoneInfo, money: Money, currency: str) -> Report:
    now, before = traffic.totals(r.start, r.end), traffic.totals(*_span(r.previous()))
    report = Report("traffic", "Traffic")
    report.figures = [
        _compared("Sessions", "sessions", now, before),
        _compared("Visitors", "visitors", now, before),
        _compared("Page views", "pageviews", now, before),
    ]
    days = traffic.daily(r.start, r.end)
    report.charts = [
        line_chart(
            [Series("Sessions", [(_day(d.day), d.sessions) for d in days])],
            title="Sessions per day",
            description="Visits to your storefront each day.",
        )
    ]
    export_rows: list[list[str]] = []
    for dimension, caption, header in TRAFFIC_DIMENSIONS:
        rows = traffic.top(dimension, r.start, r.end, limit=10)
        counted = "Page views" if dimension == "path" else "Sessions"
        if dimension in ("referrer", "device") and rows:
            report.charts.append(
                bar_chart(
                    [(value or "Direct", count) for value, count in rows],
                    title=caption,
                    description=f"{counted} by {header.lower()}, {r.label.lower()}.",
                )
            )
        else:
            report.tables.append(
                Table(caption, [header, counted], [[v or "Direct", f"{c:,}"] for v, c in rows])
            )
        export_rows += [[dimension, v, str(c)] for v, c in rows]
    if not now.pageviews:
        report.empty = (
            "No visits counted in this period yet. Visits appear within the hour after "
            "shoppers browse your storefront; bots and your own staff are not counted."
        )
    report.export = Table("Traffic", ["Dimension", "Value", "Count"], export_rows)
    return report


def funnel_report(r: DateRange, zone: ZoneInfo, money: Money, currency: str) -> Report:
    funnel = traffic.funnel(r.start, r.end)
    report = Report("funnel", "Funnel")
    steps = funnel.steps
    report.charts = [
        funnel_chart(
            [(label, count) for label, count, _, _ in steps],
            title="From visit to order",
            description="Sessions that reached each step of buying, and how many went on.",
        )
    ]
    rows = [
        [label, f"{count:,}", f"{to_next:.1%}", f"{from_start:.1%}"]
        for label, count, to_next, from_start in steps
    ]
    report.tables = [
        Table(
            "Sessions at each step",
            ["Step", "Sessions", "From the step before", "From all sessions"],
            rows,
        )
    ]
    if not funnel.sessions:
        report.empty = "No sessions in this period yet: the funnel fills as shoppers visit."
    report.export = report.tables[0]
    return report


def products_report(r: DateRange, zone: ZoneInfo, money: Money, currency: str) -> Report:
    report = Report("products", "Products")
    top = sales.by_product(r, zone, order_by="revenue", limit=10)
    by_units = sales.by_product(r, zone, order_by="units", limit=10)
    bottom = sales.by_product(r, zone, order_by="revenue", limit=10, ascending=True)
    views = traffic.product_views(r.start, r.end)
    handles = dict(
        db.session.execute(select(Product.id, Product.handle)).all()
    )  # (a shop's catalog: small beside its orders)
    report.charts = [
        bar_chart(
            [(row.label, row.revenue_cents) for row in top],
            title="Top products by sales",
            description=f"The products that sold most, {r.label.lower()}.",
            format_value=money,
        )
    ]

    def viewed(row: sales.Row) -> int:
        handle = handles.get(int(row.key)) if row.key.isdigit() else None
        return views.get(handle, 0) if handle else 0

    def rows(items: list[sales.Row]) -> list[list[str]]:
        return [
            [
                i.label,
                f"{i.units:,}",
                money(i.revenue_cents),
                f"{viewed(i):,}",
                _percent(i.orders, viewed(i)),
            ]
            for i in items
        ]

    headers = ["Product", "Units", "Sales", "Views", "Views to purchase"]
    report.tables = [
        Table("Top products by units", headers, rows(by_units)),
        Table("Slowest sellers", headers, rows(bottom)),
    ]
    most_viewed = sorted(views.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    report.tables.append(
        Table("Most viewed products", ["Product", "Views"], [[h, f"{n:,}"] for h, n in most_viewed])
    )
    variants = sales.by_variant(r, zone, limit=10)
    report.tables.append(
        Table(
            "Top variants",
            ["Variant", "Units", "Sales"],
            [[v.label, f"{v.units:,}", money(v.revenue_cents)] for v in variants],
        )
    )
    collections = sales.by_collection(r, zone, limit=10)
    report.tables.append(
        Table(
            "Sales by collection",
            ["Collection", "Units", "Sales"],
            [[c.label, f"{c.units:,}", money(c.revenue_cents)] for c in collections],
        )
    )
    if not top and not views:
        report.empty = "No product has sold or been viewed in this period yet."
    report.export = lambda: Table(
        "Products",
        ["Product", "Units", "Sales", "Views"],
        [
            [i.label, str(i.units), file_amount(i.revenue_cents, currency), str(viewed(i))]
            for i in sales.by_product(r, zone, order_by="revenue", limit=None)
        ],
    )
    return report


def customers_report(r: DateRange, zone: ZoneInfo, money: Money, currency: str) -> Report:
    now, before = sales.summary(r, zone), sales.summary(r.previous(), zone)
    business = sales.business(r, zone)
    engaged, engaged_before = (
        active.active_customers(r, zone),
        active.active_customers(r.previous(), zone),
    )
    report = Report("customers", "Customers")
    report.figures = [
        _compared("Customers who bought", "customers", now, before),
        _compared("New customers", "new_customers", now, before),
        _compared("Returning customers", "returning_customers", now, before),
        Figure(
            "Returning customer rate",
            f"{now.returning_rate:.1%}" if now.returning_rate is not None else NOTHING,
        ),
        _compared("Active customers", "customers", engaged, engaged_before),
        Figure(
            "Daily active customers",
            f"{engaged.daily_average:,.1f}",
            _change(engaged.daily_average, engaged_before.daily_average),
        ),
        Figure("Monthly active customers", f"{engaged.monthly:,}"),
        Figure(
            "Paying customers",
            f"{business.paying_ratio:.1%}" if business.paying_ratio is not None else NOTHING,
        ),
    ]
    if business.inventory_value_cents is not None:
        report.figures.append(Figure("Stock value at cost", money(business.inventory_value_cents)))
    report.charts = [
        bar_chart(
            [("New", now.new_customers), ("Returning", now.returning_customers)],
            title="New and returning customers",
            description="Customers who bought in this period: first order, or again.",
        )
    ]
    top = sales.top_customers(r, zone, limit=10)
    report.tables = [
        Table(
            "Top customers",
            ["Customer", "Email", "Orders", "Spent"],
            [[c.name or NOTHING, c.email, f"{c.orders:,}", money(c.total_cents)] for c in top],
        ),
        Table(
            "Products added per week",
            ["Week of", "Products added"],
            [[week.isoformat(), f"{n:,}"] for week, n in business.products_added],
        ),
    ]
    if not now.customers:
        report.empty = "No customer has bought in this period yet."
    report.export = lambda: Table(
        "Top customers",
        ["Customer", "Email", "Orders", "Spent"],
        [
            [c.name, c.email, str(c.orders), file_amount(c.total_cents, currency)]
            for c in sales.top_customers(r, zone, limit=1000)
        ],
    )
    return report


def discounts_report(r: DateRange, zone: ZoneInfo, money: Money, currency: str) -> Report:
    now, before = (
        sales.summary(r, zone, buyers=False),
        sales.summary(r.previous(), zone, buyers=False),
    )
    report = Report("discounts", "Discounts")
    report.figures = [
        _compared("Discounts given", "discounts_cents", now, before, money),
        _compared("Refunds", "refunds_cents", now, before, money),
        _compared("Shipping charged", "shipping_cents", now, before, money),
        _compared("Taxes", "taxes_cents", now, before, money),
    ]
    codes = sales.by_discount_code(r, zone, limit=20)
    report.tables = [
        Table(
            "Sales by discount code",
            ["Code", "Orders", "Sales"],
            [[c.label, f"{c.orders:,}", money(c.revenue_cents)] for c in codes],
        ),
        Table(
            "Sales by payment method",
            ["Payment method", "Orders", "Sales"],
            [
                [p.label, f"{p.orders:,}", money(p.revenue_cents)]
                for p in sales.by_payment_method(r, zone)
            ],
        ),
        Table(
            "Sales by country",
            ["Country", "Orders", "Sales"],
            [
                [c.label, f"{c.orders:,}", money(c.revenue_cents)]
                for c in sales.by_country(r, zone, limit=20)
            ],
        ),
    ]
    if codes:
        report.charts = [
            bar_chart(
                [(c.label, c.orders) for c in codes],
                title="Orders by discount code",
                description="How often each code was used in this period.",
            )
        ]
    elif not now.orders:
        report.empty = "No orders in this period yet, so no discount has been used."
    report.export = Table(
        "Discount codes",
        ["Code", "Orders", "Sales"],
        [[c.label, str(c.orders), file_amount(c.revenue_cents, currency)] for c in codes],
    )
    return report


_BUILDERS: dict[str, Callable[[DateRange, ZoneInfo, Money, str], Report]] = {
    "overview": overview,
    "traffic": traffic_report,
    "funnel": funnel_report,
    "products": products_report,
    "customers": customers_report,
    "discounts": discounts_report,
}
