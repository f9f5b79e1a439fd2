"""Customers exported as CSV from the back office: filtered and sorted as the list is,
written by a job on a real RQ worker, safe in a spreadsheet, this shop's staff only."""

from __future__ import annotations

import csv
import io
import re

from saas.db import db
from saas.jobs import make_worker
from saas.tenancy import tenant_context
from tenants.customers.export import HEADER
from tenants.customers.models import CustomerAddress
from tests.customers.test_customers import make_customer, make_order


def test_filtered_customers_export_with_progress_and_safe_cells(app, make_tenant, staff_client):
    shop = make_tenant()
    big = make_customer(app, shop, "big@example.com", name="Bea Big", accepts_marketing=True)
    small = make_customer(
        app, shop, "small@example.com", name="@SUM(1+1)", accepts_marketing=True, tags=["vip"]
    )
    make_customer(app, shop, "quiet@example.com", name="Quinn Quiet", password=None)
    make_order(app, shop, number=1001, customer_id=big.id, payment_status="paid", total_cents=9000)
    make_order(app, shop, number=1002, customer_id=small.id, payment_status="paid")
    with app.app_context(), tenant_context(shop):
        db.session.add(
            CustomerAddress(
                customer_id=big.id,
                name="Bea Big",
                line1="3 Elm Rd",
                city="Toronto",
                region="CA-ON",
                postal_code="M5V 2T6",
                country="CA",
                is_default=True,
            )
        )
        db.session.commit()
    client = staff_client(shop, permissions=["customers"])

    query = {"marketing": "yes", "sort": "spent"}
    assert (
        "Export 2 matching customers as CSV"
        in client.get("/admin/customers", query_string=query).text
    )
    response = client.post("/admin/customers/export", data=query)
    assert response.status_code == 303
    run_id = int(re.search(r"/exports/(\d+)$", response.headers["Location"])[1])
    page = client.get(f"/admin/customers/exports/{run_id}").text
    assert "Marketing email: Subscribed" in page and "Sorted by: Most spent" in page
    assert "Exported <span data-count>0</span> of 2 customers." in page

    make_worker(app).work(burst=True)
    page = client.get(f"/admin/customers/exports/{run_id}").text
    assert "Your file is ready: 2 customers." in page
    download = client.get(f"/admin/customers/exports/{run_id}/download")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert f'filename="customers-{shop.slug}-' in download.headers["Content-Disposition"]
    header, *rows = list(csv.reader(io.StringIO(download.get_data(as_text=True))))
    assert header == list(HEADER)
    found = [dict(zip(header, row, strict=True)) for row in rows]
    assert [c["Email"] for c in found] == ["big@example.com", "small@example.com"]  # most spent
    bea, formula = found
    assert (bea["Orders"], bea["Total spent"], bea["Accepts marketing"]) == ("1", "90.00", "yes")
    assert bea["Default address City"] == "Toronto"
    assert bea["Default address Region"] == "Ontario"
    assert bea["Default address Country code"] == "CA"
    assert formula["Name"] == "'@SUM(1+1)" and formula["Tags"] == "vip"
    assert formula["Default address Address 1"] == ""

    # Staff without the customers area, and another shop's staff, cannot have it.
    download_url = f"/admin/customers/exports/{run_id}/download"
    assert staff_client(shop, permissions=["orders"]).get(download_url).status_code == 403
    other = staff_client(make_tenant(), permissions=["customers"])
    assert other.get(download_url).status_code == 404
