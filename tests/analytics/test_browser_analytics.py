"""The Analytics area in real Chromium, found by its visible names: every report opens,
the range changes, and a figure is read from a chart's own table."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from tests.analytics.test_sales import Shop
from tests.chromium import playwright_api

pytestmark = pytest.mark.browser
expect = playwright_api.expect

REPORTS = ("Overview", "Traffic", "Funnel", "Products", "Customers", "Discounts")


def test_a_merchant_reads_every_report_and_a_charts_figure(
    app, live_server, make_tenant, make_staff, page
):
    tenant = make_tenant()
    staff = make_staff(tenant, role="owner")
    shop = Shop(app, tenant)
    teapot, variant = shop.product("Teapot", 1500)
    now = datetime.now(UTC) - timedelta(minutes=5)  # (the shop's zone is UTC)
    recent, older = now.strftime("%Y-%m-%d %H:%M"), (now - timedelta(days=20)).isoformat()
    shop.order(recent, 3000, code="SPRING", lines=[(teapot, variant, "Teapot", 2, 1500, 0)])
    shop.order(older[:16].replace("T", " "), 5000, email="early@example.com")

    page.goto(live_server.url(f"{tenant.slug}.localhost", "/admin/login"))
    page.get_by_label("Email").fill(staff.email)
    page.get_by_label("Password").fill(staff.password)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Analytics").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Analytics: Overview")

    def figure(label: str) -> str:
        stat = page.get_by_role("listitem").filter(has_text=label).first
        return stat.inner_text()

    assert re.search(r"Orders\s*2\b", figure("Orders"))  # the last 30 days, the default
    page.get_by_label("Date range").select_option(label="Last 7 days")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_text(re.compile(r"^Last 7 days \("))).to_be_visible()
    assert re.search(r"Orders\s*1\b", figure("Orders"))

    chart = page.get_by_role("figure", name="Total sales per day")
    chart.get_by_text("Show the figures as a table").click()
    table = chart.get_by_role("table", name="Total sales per day")
    expect(table.get_by_role("row", name=re.compile(now.strftime("%d %b")))).to_contain_text(
        "$30.00"
    )

    for title in REPORTS:
        page.get_by_role("navigation", name="Reports").get_by_role("link", name=title).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(f"Analytics: {title}")
        expect(page.get_by_text(re.compile(r"^Last 7 days \("))).to_be_visible()  # kept
        if title == "Products":
            top = page.get_by_role("figure", name="Top products by sales")
            top.get_by_text("Show the figures as a table").click()
            row = top.get_by_role("table").get_by_role("row", name=re.compile("Teapot"))
            expect(row).to_contain_text("$30.00")
        if title == "Discounts":
            codes = page.get_by_role("table", name="Sales by discount code")
            expect(codes.get_by_role("row", name=re.compile("SPRING"))).to_contain_text("$30.00")
