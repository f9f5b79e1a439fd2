"""Orders exported as CSV from the back office: filtered as the list is, written by a
job on a real RQ worker with a progress page, safe to open in a spreadsheet, and only
downloadable by this shop's staff with the orders area."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

from saas.db import db
from saas.jobs import make_worker
from saas.tenancy import tenant_context
from tenants.exports import runs
from tenants.exports.models import ExportRun
from tenants.orders.export import HEADER
from tests.conftest import client_for, log_in_as
from tests.orders.test_order_admin import new_order

PORTLAND = {
    "name": "Ann Lee",
    "line1": "1 Pine St",
    "city": "Portland",
    "region": "US-OR",
    "postal_code": "97201",
    "country": "US",
}


def work(app) -> None:
    make_worker(app).work(burst=True)


def start_export(client, **filters) -> tuple[int, str]:
    """Press the list's export button with these filters; the run's id and its page."""
    response = client.post("/admin/orders/export", data=filters)
    assert response.status_code == 303, response.text
    match = re.search(r"/admin/orders/exports/(\d+)$", response.headers["Location"])
    assert match is not None
    run_id = int(match.group(1))
    return run_id, client.get(f"/admin/orders/exports/{run_id}").text


def rows_of(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_filtered_orders_export_as_a_job_with_progress(app, make_tenant, staff_client):
    shop = make_tenant()
    ann, _ = new_order(app, shop, email="ann@wholesale.test", shipping_address=PORTLAND)
    evil, _ = new_order(
        app, shop, email="eve@wholesale.test", name='=HYPERLINK("http://evil.test","x")'
    )
    other, _ = new_order(app, shop, email="bo@example.com", name="Bo Chen")
    client = staff_client(shop, permissions=["orders"])

    listed = client.get("/admin/orders", query_string={"q": "wholesale"}).text
    assert "Export 2 matching orders as CSV" in listed
    assert "Export all 3 orders as CSV" in client.get("/admin/orders").text

    run_id, page = start_export(client, q="wholesale")
    # Before the worker runs: the progress page, which refreshes itself.
    assert "<h1>Export orders</h1>" in page
    assert "Search: wholesale" in page
    assert "Exported <span data-count>0</span> of 2 orders." in page
    assert 'http-equiv="refresh"' in page
    status = client.get(f"/admin/orders/exports/{run_id}/status").get_json()
    assert status == {"status": "queued", "processed": 0, "total": 2, "done": False}
    waiting = client.get(f"/admin/orders/exports/{run_id}/download")
    assert waiting.status_code == 302  # nothing to download yet: back to the run's page

    work(app)
    page = client.get(f"/admin/orders/exports/{run_id}").text
    assert "Your file is ready: 2 orders." in page
    assert 'http-equiv="refresh"' not in page
    assert client.get(f"/admin/orders/exports/{run_id}/status").get_json()["done"] is True

    download = client.get(f"/admin/orders/exports/{run_id}/download")
    assert download.status_code == 200
    assert download.mimetype == "text/csv"
    assert download.headers["Cache-Control"] == "no-store"
    assert re.fullmatch(
        rf'attachment; filename="orders-{shop.slug}-\d{{4}}-\d{{2}}-\d{{2}}\.csv"',
        download.headers["Content-Disposition"],
    )
    header, *rows = rows_of(download)
    assert header == list(HEADER)
    by_order = {row[0]: dict(zip(header, row, strict=True)) for row in rows}
    assert set(by_order) == {f"#{evil}", f"#{ann}"}  # newest first, as the list
    assert [row[0] for row in rows] == [f"#{evil}", f"#{ann}"]
    assert f"#{other}" not in by_order
    first = by_order[f"#{ann}"]
    assert first["Email"] == "ann@wholesale.test"
    assert first["Total"] == "24.00" and first["Currency"] == "USD"
    assert first["Payment status"] == "pending" and first["Payment method"] == "Bank transfer"
    assert first["Item count"] == "2" and first["Items"].startswith("2 x Mug ")
    assert (first["Shipping City"], first["Shipping Region"], first["Shipping Postal code"]) == (
        "Portland",
        "Oregon",
        "97201",
    )
    assert first["Shipping Country code"] == "US"
    # A formula typed as a name opens as text in a spreadsheet.
    assert by_order[f"#{evil}"]["Customer"] == '\'=HYPERLINK("http://evil.test","x")'


def test_an_export_of_a_date_range_keeps_the_list_s_days(app, make_tenant, staff_client):
    shop = make_tenant()
    new_order(app, shop)
    client = staff_client(shop, permissions=["orders"])
    run_id, page = start_export(client, **{"from": "2001-01-01", "to": "2001-01-31"})
    assert "Placed from: 2001-01-01" in page and "Placed until: 2001-01-31" in page
    work(app)
    page = client.get(f"/admin/orders/exports/{run_id}").text
    assert "Your file is ready: 0 orders." in page
    header, *rows = rows_of(client.get(f"/admin/orders/exports/{run_id}/download"))
    assert header == list(HEADER) and rows == []


def test_only_this_shop_s_staff_with_orders_download_it(app, make_tenant, staff_client, make_staff):
    shop, other_shop = make_tenant(), make_tenant()
    new_order(app, shop, email="ann@example.com")
    run_id, _ = start_export(staff_client(shop, permissions=["orders"]))
    work(app)
    download = f"/admin/orders/exports/{run_id}/download"
    assert staff_client(shop, permissions=["orders"]).get(download).status_code == 200

    # This shop's staff without the orders area: refused, the page too.
    products_only = staff_client(shop, permissions=["products", "customers"])
    assert products_only.get(download).status_code == 403
    assert products_only.get(f"/admin/orders/exports/{run_id}").status_code == 403
    # ... and the customers' routes do not serve an orders file.
    assert products_only.get(f"/admin/customers/exports/{run_id}/download").status_code == 404

    # Another shop's staff, on their own shop: no such export there.
    theirs = staff_client(other_shop, permissions=["orders"])
    assert theirs.get(download).status_code == 404
    assert theirs.get(f"/admin/orders/exports/{run_id}").status_code == 404
    # ... and with their session presented on this shop's host: not logged in here.
    intruder = client_for(app, f"{shop.slug}.localhost")
    log_in_as(intruder, make_staff(other_shop, role="owner").user_id)
    refused = intruder.get(download)
    assert refused.status_code == 302 and "/admin/login" in refused.headers["Location"]
    anonymous = client_for(app, f"{shop.slug}.localhost").get(download)
    assert anonymous.status_code == 302 and "/admin/login" in anonymous.headers["Location"]


def test_a_failed_export_says_so_and_offers_to_try_again(
    app, make_tenant, staff_client, monkeypatch
):
    shop = make_tenant()
    new_order(app, shop)
    client = staff_client(shop, permissions=["orders"])
    run_id, _ = start_export(client, payment="pending")

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(runs, "_write", broken)
    with app.app_context(), tenant_context(shop):  # the job's code, in this process
        assert runs.run_export(run_id) == "failed"
        assert runs.run_export(run_id) is None  # a second copy does nothing
    page = client.get(f"/admin/orders/exports/{run_id}").text
    assert "The export failed." in page and "Export again" in page
    assert '<input type="hidden" name="payment" value="pending">' in page
    with app.app_context(), tenant_context(shop):
        run = db.session.get(ExportRun, run_id)
        assert (run.status, run.content) == ("failed", "")


def test_a_file_is_kept_for_a_week_then_asked_for_again(app, make_tenant, staff_client):
    shop = make_tenant()
    new_order(app, shop)
    client = staff_client(shop, permissions=["orders"])
    run_id, _ = start_export(client)
    work(app)
    with app.app_context(), tenant_context(shop):
        db.session.get(ExportRun, run_id).finished_at = datetime.now(UTC) - timedelta(days=8)
        db.session.commit()
    page = client.get(f"/admin/orders/exports/{run_id}").text
    assert "This file is no longer kept." in page and "Export again" in page
    assert client.get(f"/admin/orders/exports/{run_id}/download").status_code == 302
    start_export(client)  # a new export removes the old file
    with app.app_context(), tenant_context(shop):
        old = db.session.get(ExportRun, run_id)
        assert (old.status, old.content) == ("expired", "")
