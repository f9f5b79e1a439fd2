"""The console's platform-wide figures: GMV and orders per UTC day against the previous
period, active shops, top shops, per currency, from every counted shop's orders."""

from __future__ import annotations

import csv
import io
import itertools
import re
from datetime import UTC, date, datetime, timedelta, timezone
from functools import partial

import pytest
from sqlalchemy import update

from saas.console import figures, figures_page
from saas.console.figures import platform_figures
from saas.db import db
from saas.models import Tenant, TenantStatus
from saas.tenancy import tenant_context
from tenants.orders.models import SALE_STATUSES, Order
from tests.conftest import log_in_as
from tests.console.test_console import as_operator

TODAY = date(2025, 3, 31)  # the period: 2025-03-02 to 03-31; the one before: 01-31 to 03-01
_numbers = itertools.count(1001)


def at(day: str, clock: str = "12:00", zone: timezone = UTC) -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=zone)


def add_orders(app, tenant, *orders: tuple[str, int, str, datetime]) -> None:
    """(payment status, total in minor units, currency, placed at)"""
    with app.app_context(), tenant_context(tenant):
        for status, total, currency, placed_at in orders:
            number = next(_numbers)
            db.session.add(
                Order(
                    number=number,
                    email=f"buyer{number}@example.com",
                    payment_status=status,
                    currency=currency,
                    total_cents=total,
                    placed_at=placed_at,
                )
            )


def set_status(app, tenant, status: str) -> None:
    with app.app_context():
        db.session.execute(update(Tenant).where(Tenant.id == tenant.id).values(status=status))
        db.session.commit()


@pytest.fixture
def shops(app, make_tenant):
    """Shops with known orders; the figures of `only=ids` are exactly these."""
    a = make_tenant(name="Alder Mugs")
    b = make_tenant(name="Birch & <Teapots>")
    deleted = make_tenant(name="Gone Shop")
    suspended = make_tenant(name="Paused Shop")
    unlaunched = make_tenant(name="Quiet Shop", launched=False)
    add_orders(
        app, a,
        ("paid", 10_000, "USD", at("2025-03-31", "10:00")),
        ("partially_refunded", 5_000, "USD", at("2025-03-30", "23:59:59")),
        # 00:30 in UTC+2 is still 03-30 in UTC: days are UTC days.
        ("paid", 1_500, "USD", at("2025-03-31", "00:30", timezone(timedelta(hours=2)))),
        ("pending", 7_000, "USD", at("2025-03-31")),  # no money taken
        ("refunded", 3_000, "USD", at("2025-03-31")),
        ("voided", 4_000, "USD", at("2025-03-31")),
        ("paid", 2_000, "USD", at("2025-03-01", "23:00")),  # the previous period's last day
        ("paid", 2_500, "USD", at("2025-03-02", "00:00")),  # this period's first moment
        ("paid", 9_000, "USD", at("2025-01-30", "23:59")),  # before both periods
        ("paid", 9_000, "USD", at("2025-04-01", "00:00")),  # after today
    )  # fmt: skip
    add_orders(
        app, b,
        ("paid", 30_000, "USD", at("2025-03-30")),
        ("paid", 4_000, "EUR", at("2025-03-31")),
        ("paid", 1_000, "EUR", at("2025-03-31")),
        ("paid", 6_000, "USD", at("2025-02-15")),
    )  # fmt: skip
    add_orders(app, deleted, ("paid", 99_999, "USD", at("2025-03-31")))
    add_orders(app, suspended, ("paid", 700, "USD", at("2025-03-31")))
    add_orders(app, unlaunched, ("paid", 100, "USD", at("2025-03-15")))
    set_status(app, deleted, TenantStatus.DELETED)
    set_status(app, suspended, TenantStatus.SUSPENDED)
    return {"a": a, "b": b, "deleted": deleted, "suspended": suspended, "unlaunched": unlaunched}


def ids(shops) -> list[int]:
    return [t.id for t in shops.values()]


def read(app, shops, today: date = TODAY):
    with app.app_context():
        return platform_figures(today, only=ids(shops))


def test_sale_statuses_are_the_orders_own():
    """The console's copy of `SALE_STATUSES` (it may not import `tenants`)."""
    assert tuple(str(s) for s in SALE_STATUSES) == figures.SALE_STATUSES


def test_exact_figures_of_known_shops(app, shops):
    f = read(app, shops)
    assert f.days[0] == date(2025, 3, 2) and f.days[-1] == TODAY and len(f.days) == 30
    assert f.previous_days[0] == date(2025, 1, 31) and f.previous_days[-1] == date(2025, 3, 1)
    assert f.shops_counted == 4  # the deleted shop is not read
    assert f.main_currency == "USD"
    usd, eur = f.currencies
    # A 10,000 + 5,000 + 1,500 + 2,500; B 30,000; suspended 700; unlaunched 100.
    assert (usd.currency, usd.gmv_cents, usd.orders, usd.shops) == ("USD", 49_800, 7, 4)
    assert (eur.currency, eur.gmv_cents, eur.orders, eur.shops) == ("EUR", 5_000, 2, 1)
    [previous_usd] = f.previous_currencies
    assert (previous_usd.gmv_cents, previous_usd.orders, previous_usd.shops) == (8_000, 2, 2)
    assert f.total_orders == 9 and f.previous_total_orders == 2

    assert f.gmv(TODAY, "USD") == 10_700  # A 10,000 and the suspended shop's 700
    assert f.gmv(date(2025, 3, 30), "USD") == 36_500  # 5,000 + 1,500 (UTC day) + 30,000
    assert f.gmv(date(2025, 3, 2), "USD") == 2_500
    assert f.gmv(date(2025, 3, 1), "USD") == 2_000
    assert f.gmv(TODAY, "EUR") == 5_000
    assert f.orders(TODAY) == 4 and f.orders(TODAY, "USD") == 2 and f.orders(TODAY, "EUR") == 2
    assert f.orders(date(2025, 3, 30)) == 3
    assert sum(f.orders(d) for d in f.days) == 9

    assert f.launched_active == 2  # A and B; not the suspended, deleted or unlaunched shop
    assert f.shops_with_orders == 4  # A, B, the suspended and the unlaunched shop
    assert [(s.name, s.gmv_cents, s.orders) for s in f.top_shops] == [
        ("Birch & <Teapots>", 30_000, 1),
        ("Alder Mugs", 19_000, 4),
        ("Paused Shop", 700, 1),
        ("Quiet Shop", 100, 1),
    ]  # in USD, the main currency: B's euros are not mixed in


def test_the_most_common_currency_leads(app, make_tenant):
    shop = make_tenant()
    add_orders(
        app, shop,
        ("paid", 100_000, "USD", at("2025-03-31")),
        *[("paid", 100, "EUR", at("2025-03-31"))] * 3,
    )  # fmt: skip
    with app.app_context():
        f = platform_figures(TODAY, only=[shop.id])
    assert f.main_currency == "EUR"  # most orders, whatever the amounts
    assert [c.currency for c in f.currencies] == ["EUR", "USD"]
    assert [(s.currency, s.gmv_cents) for s in f.top_shops] == [("EUR", 300)]


def test_another_shops_orders_move_only_their_own_figures(app, shops, make_tenant):
    """Isolation: a new order in shop A changes A's figures, never B's."""
    before = read(app, shops)
    add_orders(app, shops["a"], ("paid", 1_234, "USD", at("2025-03-31")))
    other = make_tenant()
    add_orders(app, other, ("paid", 50_000, "USD", at("2025-03-31")))  # not among `only`
    after = read(app, shops)
    totals = {s.tenant_id: s.gmv_cents for s in after.top_shops}
    assert totals[shops["a"].id] == 19_000 + 1_234
    assert (
        totals[shops["b"].id] == {s.tenant_id: s.gmv_cents for s in before.top_shops}[shops["b"].id]
    )
    assert after.gmv(TODAY, "USD") == before.gmv(TODAY, "USD") + 1_234
    assert after.gmv(TODAY, "EUR") == before.gmv(TODAY, "EUR")


def test_no_orders_no_shops(app):
    with app.app_context():
        f = platform_figures(TODAY, only=[])
    assert f.main_currency is None and f.currencies == [] and f.top_shops == []
    assert f.shops_counted == 0 and f.launched_active == 0 and f.shops_with_orders == 0
    assert all(f.orders(d) == 0 for d in f.days)


def test_schema_names_are_quoted_identifiers(app):
    statement = figures.orders_by_shop_day([7, 12], at("2025-03-01"), at("2025-03-31"))
    with app.app_context():
        sql = str(statement.compile(db.engine))
    assert sql.count("UNION ALL") == 1
    assert "t_7.orders" in sql and "t_12.orders" in sql
    with pytest.raises(ValueError):
        figures.orders_by_shop_day([0], at("2025-03-01"), at("2025-03-31"))


# --- the page -----------------------------------------------------------------------


@pytest.fixture
def console(app, console_client, make_operator, shops, monkeypatch):
    """A signed-in operator whose page reads only the known shops, on TODAY."""
    monkeypatch.setattr(
        figures_page, "read_figures", partial(platform_figures, TODAY, only=ids(shops))
    )
    return as_operator(console_client, make_operator())


def test_the_page_shows_the_figures_charts_and_tables(console):
    response = console.get("/figures")
    assert response.status_code == 200
    html = response.text
    assert '<a href="/figures" aria-current="page">Figures</a>' in html
    assert '<dd class="launched-active">2</dd>' in html
    assert '<dd class="shops-with-orders">4</dd>' in html
    assert "9 <span" in html  # orders
    row = re.search(r'<th scope="row">USD</th>(.*?)</tr>', html, re.S)
    assert row is not None
    cells = re.findall(r"<td>(.*?)</td>", row.group(1))
    assert cells == ["$498.00", "7", "4", "$80.00", "+522.5%"]
    assert "the charts show USD, the currency with the most orders" in html
    # The GMV chart and its table: the period's day, its figure, the comparison's.
    assert "<figcaption>GMV per day in USD</figcaption>" in html
    assert (
        '<th scope="row">2025-03-31</th><td>$107.00</td><td>2025-03-01</td><td>$20.00</td>' in html
    )
    assert '<th scope="row">2025-03-30</th><td>3</td><td>2025-02-28</td><td>0</td>' in html
    assert "<figcaption>Top 10 shops by GMV in USD, last 30 days</figcaption>" in html
    assert '<th scope="row">Birch &amp; &lt;Teapots&gt;</th><td>$300.00</td>' in html
    assert "<Teapots>" not in html
    assert html.count("<svg") == 3 and html.count("Show the figures as a table") == 3
    assert not re.search(r"\sstyle\s*=", html)
    assert "sha256-" not in response.headers["Content-Security-Policy"]


def test_the_csv_has_every_day(console):
    response = console.get("/figures.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert 'filename="platform-figures-2025-03-31.csv"' in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == [
        "date",
        "orders",
        "orders_USD",
        "gmv_cents_USD",
        "orders_EUR",
        "gmv_cents_EUR",
    ]
    assert len(rows) == 31
    assert rows[1] == ["2025-03-02", "1", "1", "2500", "0", "0"]
    assert rows[14] == ["2025-03-15", "1", "1", "100", "0", "0"]
    assert rows[-2] == ["2025-03-30", "3", "3", "36500", "0", "0"]
    assert rows[-1] == ["2025-03-31", "4", "2", "10700", "2", "5000"]


def test_the_pages_are_valid_html(console, tmp_path, monkeypatch):
    from tests.shop.test_html_valid import assert_valid, check_html, checker_command

    command = checker_command()  # skips without the Nu Html Checker
    pages = {"figures": console.get("/figures").text}
    monkeypatch.setattr(figures_page, "read_figures", partial(platform_figures, TODAY, only=[]))
    pages["no figures"] = console.get("/figures").text
    assert "No orders took money in the last 30 days" in pages["no figures"]
    assert_valid(check_html(command, pages, tmp_path / "pages"), list(pages))


def test_the_real_page_reads_every_shop(app, console_client, make_operator, shops):
    """Unpatched: every shop of the test database, whatever other tests left there."""
    client = as_operator(console_client, make_operator())
    response = client.get("/figures")
    assert (
        response.status_code == 200 and "<figcaption>Orders per day</figcaption>" in response.text
    )
    assert client.get("/figures.csv").status_code == 200


def test_only_operators_see_the_figures(app, console_client, staff_client, make_tenant):
    for path in ("/figures", "/figures.csv"):
        response = console_client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    # A shop's staff session means nothing on the console's host.
    staff = staff_client(make_tenant())
    log_in_as(console_client, staff.staff.user_id)
    assert console_client.get("/figures").status_code == 302
