"""In Chromium: a merchant filters the orders list, exports it, watches the job's
progress page finish by itself, downloads the CSV, and reads an order's address as its
country writes it."""

from __future__ import annotations

import csv
import io
import re

from saas.jobs import make_worker
from tests.chromium import playwright_api
from tests.conftest import STAFF_PASSWORD
from tests.orders.test_order_admin import new_order
from tests.orders.test_order_export import PORTLAND


def test_export_the_filtered_orders_and_download_the_file(
    app, browser, live_server, make_tenant, make_staff
):
    expect = playwright_api.expect
    shop = make_tenant(name="Juniper Goods")
    owner = make_staff(shop, role="owner")
    first, _ = new_order(app, shop, email="ann@wholesale.test", shipping_address=PORTLAND)
    new_order(app, shop, email="cy@wholesale.test", name="Cy Park")
    new_order(app, shop, email="bo@example.com", name="Bo Chen")
    context = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        page.goto(live_server.url(f"{shop.slug}.localhost", "/admin/login"))
        page.get_by_label("Email").fill(owner.email)
        page.get_by_label("Password").fill(STAFF_PASSWORD)
        page.get_by_role("button", name="Log in").click()
        # (The link may carry the count of open orders: "Orders 3 open".)
        page.get_by_role("link", name=re.compile(r"^Orders\b")).first.click()
        page.get_by_label("Search by number, email or name").fill("wholesale")
        page.get_by_role("button", name="Show orders").click()
        page.get_by_role("button", name="Export 2 matching orders as CSV").click()

        expect(page.get_by_role("heading", level=1)).to_have_text("Export orders")
        expect(page.get_by_text("Search: wholesale")).to_be_visible()
        expect(page.get_by_text("Exported 0 of 2 orders.")).to_be_visible()
        make_worker(app).work(burst=True)  # the page's script notices the end
        expect(page.get_by_role("status")).to_have_text("Your file is ready: 2 orders.")
        with page.expect_download() as download_info:
            page.get_by_role("link", name=re.compile(r"^Download orders-")).click()
        download = download_info.value
        assert re.fullmatch(
            rf"orders-{shop.slug}-\d{{4}}-\d{{2}}-\d{{2}}\.csv", download.suggested_filename
        )
        with open(download.path(), encoding="utf-8") as file:
            rows = list(csv.reader(io.StringIO(file.read())))
        assert rows[0][:3] == ["Order", "Placed at", "Email"]
        assert sorted(row[2] for row in rows[1:]) == ["ann@wholesale.test", "cy@wholesale.test"]

        page.get_by_role("link", name="Back to orders").click()
        page.get_by_role("link", name=f"#{first}").click()
        address = page.locator("address").first
        expect(address).to_have_text(
            re.compile(r"Ann Lee\s*1 Pine St\s*Portland, OR 97201\s*United States")
        )
        expect(page.get_by_text("US-OR")).to_have_count(0)
    finally:
        context.close()
