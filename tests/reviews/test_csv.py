"""Review CSV import (dry run, then confirm) and export."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from saas.db import db
from saas.tenancy import tenant_context
from tenants.catalog.models import Product
from tenants.reviews.models import Review, ReviewImport
from tests.reviews.conftest import buy


def _upload(client, text: str, name: str = "reviews.csv"):
    return client.post(
        "/admin/reviews/import",
        data={"file": (io.BytesIO(text.encode()), name)},
        content_type="multipart/form-data",
    )


def test_a_clean_file_is_checked_then_imported_on_confirmation(app, make_tenant, staff_client):
    tenant = make_tenant()
    item = buy(app, tenant)
    client = staff_client(tenant, permissions=["reviews"])
    text = (
        "Title,Body,Rating,Author,Date,Product Handle,Verified\n"
        f"Great,Lovely <b>mug</b>,5,Ann,2024-05-31,{item.handle},yes\n"
        f",Fine,3,Bo,,{item.handle},no\n"
    )
    checked = _upload(client, text)
    assert checked.status_code == 302
    run_page = client.get(checked.headers["Location"]).get_data(as_text=True)
    assert "Dry run: ready to import" in run_page and "2 reviews of 1 product" in run_page
    with app.app_context(), tenant_context(tenant):
        assert db.session.query(Review).count() == 0
    done = client.post(checked.headers["Location"])
    assert done.status_code == 302
    with app.app_context(), tenant_context(tenant):
        rows = db.session.query(Review).order_by(Review.id).all()
        assert [(r.rating, r.body, r.verified, r.status) for r in rows] == [
            (5, "Lovely mug", True, "published"),
            (3, "Fine", False, "published"),
        ]
        assert rows[0].created_at.date().isoformat() == "2024-05-31"
        product = db.session.get(Product, item.product_id)
        assert (product.rating_average, product.rating_count) == (Decimal("4.00"), 2)
    again = client.post(checked.headers["Location"])  # a second confirm adds nothing
    assert again.status_code == 302
    with app.app_context(), tenant_context(tenant):
        assert db.session.query(Review).count() == 2


def test_problems_are_listed_by_row_and_nothing_is_imported(app, make_tenant, staff_client):
    tenant = make_tenant()
    item = buy(app, tenant)
    client = staff_client(tenant, permissions=["reviews"])
    text = (
        "title,body,rating,author,date,product handle,verified\n"
        f"A,Text,6,Ann,,{item.handle},yes\n"
        "B,Text,4,Bo,yesterday,no-such-product,maybe\n"
    )
    page = client.get(_upload(client, text).headers["Location"]).get_data(as_text=True)
    assert "Row 2, Rating" in page
    assert "Row 3, Product Handle" in page and "Row 3, Date" in page and "Row 3, Verified" in page
    with app.app_context(), tenant_context(tenant):
        run = db.session.query(ReviewImport).one()
        assert run.csv_text == ""
    assert client.post(f"/admin/reviews/import/{run.id}").status_code == 302
    with app.app_context(), tenant_context(tenant):
        assert db.session.query(Review).count() == 0


def test_a_file_without_the_needed_columns_is_refused_on_the_form(app, make_tenant, staff_client):
    client = staff_client(make_tenant(), permissions=["reviews"])
    page = _upload(client, "Name,Stars\nAnn,5\n")
    assert page.status_code == 400
    assert "This file has no Body, Rating, Product Handle column." in page.get_data(as_text=True)


def test_the_export_imports_back_and_is_safe_in_a_spreadsheet(app, make_tenant, staff_client):
    tenant = make_tenant()
    item = buy(app, tenant)
    client = staff_client(tenant, permissions=["reviews"])
    text = (
        "Title,Body,Rating,Author,Date,Product Handle,Verified\n"
        f"=HYPERLINK(1),Nice,4,@Ann,2024-01-02,{item.handle},yes\n"
    )
    client.post(_upload(client, text).headers["Location"])
    exported = client.get("/admin/reviews/export.csv")
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True))))
    assert rows[0] == [
        "Title", "Body", "Rating", "Author", "Date", "Product Handle", "Verified", "Status"
    ]  # fmt: skip
    assert rows[1] == [
        "'=HYPERLINK(1)", "Nice", "4", "'@Ann", "2024-01-02", item.handle, "yes", "published"
    ]  # fmt: skip
    other = make_tenant()
    other_client = staff_client(other, role="owner")
    assert "Nice" not in other_client.get("/admin/reviews/export.csv").get_data(as_text=True)
    with app.app_context(), tenant_context(tenant):
        run_id = db.session.query(ReviewImport).one().id
    assert other_client.get(f"/admin/reviews/import/{run_id}").status_code == 404
    assert other_client.post(f"/admin/reviews/import/{run_id}").status_code == 404
