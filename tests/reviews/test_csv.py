"""Review CSV import (dry run, then confirm) and export."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from sqlalchemy import select

from saas import job_progress
from saas.db import db
from saas.jobs import make_worker
from saas.models import AuditEvent
from saas.tenancy import tenant_context
from tenants.catalog.models import Product
from tenants.reviews import csv as review_csv
from tenants.reviews.models import Review, ReviewImport
from tests.reviews.conftest import buy


def _upload(client, text: str, name: str = "reviews.csv"):
    return client.post(
        "/admin/reviews/import",
        data={"file": (io.BytesIO(text.encode()), name)},
        content_type="multipart/form-data",
    )


def work(app) -> None:
    """Run the queued jobs on a real RQ worker (a forked work horse per job)."""
    make_worker(app).work(burst=True)


def _run(app, tenant) -> ReviewImport:
    with app.app_context(), tenant_context(tenant):
        run = db.session.scalars(select(ReviewImport).order_by(ReviewImport.id.desc())).first()
        db.session.expunge_all()
    assert run is not None
    return run


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
    queued = client.get(checked.headers["Location"]).text
    assert (
        "Waiting to start" in queued and "Imported <span data-count>0</span> of 2 reviews" in queued
    )
    assert '<meta http-equiv="refresh" content="2">' in queued  # refreshes itself meanwhile
    with app.app_context(), tenant_context(tenant):
        assert db.session.query(Review).count() == 0  # the job adds them, not the request
    work(app)
    page = client.get(checked.headers["Location"]).text
    assert "Imported: 2 reviews of 1 product, published." in page and "refresh" not in page
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
    work(app)
    with app.app_context(), tenant_context(tenant):
        assert db.session.query(Review).count() == 2
        actions = db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.tenant_id == tenant.id)
        ).all()
        assert {"review.import_started", "review.import_finished"} <= set(actions)


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
    work(app)
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


def _file(handle: str, count: int) -> str:
    rows = "".join(f"R{n},Review {n},{1 + n % 5},Ann {n},,{handle},no\n" for n in range(count))
    return "Title,Body,Rating,Author,Date,Product Handle,Verified\n" + rows


def test_two_confirms_queue_one_import_shown_in_progress(
    app, make_tenant, staff_client, monkeypatch
):
    tenant = make_tenant()
    item = buy(app, tenant)
    client = staff_client(tenant, permissions=["reviews"])
    location = _upload(client, _file(item.handle, 1200)).headers["Location"]
    assert client.post(location).status_code == 302
    second = client.post(location, follow_redirects=True).text  # another tab, a double click
    assert "This import has already been started." in second
    status = client.get(location + "/status").get_json()
    assert status == {"status": "queued", "processed": 0, "total": 1200, "done": False}
    steps = []
    real_step = job_progress.Progress.step

    def recording_step(self, done, **values):
        steps.append(done)
        real_step(self, done, **values)

    monkeypatch.setattr(job_progress, "PROGRESS_EVERY", 0)
    monkeypatch.setattr(job_progress.Progress, "step", recording_step)
    with app.app_context(), tenant_context(tenant):  # the job itself, here, to see its steps
        assert review_csv.run_import(_run(app, tenant).id) == "done"
        assert review_csv.run_import(_run(app, tenant).id) is None  # a second copy: nothing
    assert steps == [500, 1000, 1200]
    work(app)  # the queued copy finds the run done
    with app.app_context(), tenant_context(tenant):
        assert db.session.query(Review).count() == 1200
        product = db.session.get(Product, item.product_id)
        assert product.rating_count == 1200 and product.rating_average == Decimal("3.00")
    assert client.get(location + "/status").get_json()["done"] is True
    run = _run(app, tenant)
    assert (run.status, run.processed, run.total, run.csv_text) == ("done", 1200, 1200, "")


def test_a_failed_import_leaves_no_review_and_says_why(app, make_tenant, staff_client, monkeypatch):
    tenant = make_tenant()
    item = buy(app, tenant)
    with app.app_context(), tenant_context(tenant):
        before = db.session.get(Product, item.product_id).rating_count
    client = staff_client(tenant, permissions=["reviews"])
    location = _upload(client, _file(item.handle, 700)).headers["Location"]
    client.post(location)

    def broken(product_id):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(review_csv.services, "refresh_rating", broken)
    work(app)  # the forked work horse inherits the patch
    page = client.get(location).text
    assert "The import failed, and nothing was imported." in page
    assert "unexpected error" in page and "refresh" not in page
    with app.app_context(), tenant_context(tenant):
        assert db.session.query(Review).count() == 0  # the first batches were undone too
        assert db.session.get(Product, item.product_id).rating_count == before
    run = _run(app, tenant)
    assert (run.status, run.processed, run.csv_text) == ("failed", 0, "")


def test_a_product_gone_since_the_dry_run_fails_the_import_with_its_rows(
    app, make_tenant, staff_client
):
    tenant = make_tenant()
    kept = buy(app, tenant, "Kept")
    gone = buy(app, tenant, "Gone")
    client = staff_client(tenant, permissions=["reviews"])
    text = _file(kept.handle, 2) + f"X,Body,4,Bo,,{gone.handle},no\n"
    location = _upload(client, text).headers["Location"]
    client.post(location)
    with app.app_context(), tenant_context(tenant):
        db.session.delete(db.session.get(Product, gone.product_id))
    work(app)
    page = client.get(location).text
    assert "The catalog changed since the dry run" in page and "Row 4, Product Handle" in page
    with app.app_context(), tenant_context(tenant):
        assert db.session.query(Review).count() == 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "The file is not UTF-8 text"),
        (b"Body,Rating\x00\x01\x02", "The file holds binary data, not CSV text."),
        (b"", "The file is empty."),
        (b'Body,Rating,Author,Product Handle\n"unclosed,5', "Product Handle"),
    ],
)
def test_hostile_files_are_refused_with_a_clear_message(
    app, make_tenant, staff_client, body, message
):
    tenant = make_tenant()
    client = staff_client(tenant, permissions=["reviews"])
    response = client.post(
        "/admin/reviews/import",
        data={"file": (io.BytesIO(body), "reviews.csv")},
        content_type="multipart/form-data",
    )
    if response.status_code == 302:  # readable, but its rows are refused by the dry run
        page = client.get(response.headers["Location"]).text
        assert "Problems to fix first" in page and message in page
        assert client.post(response.headers["Location"]).status_code == 302
        work(app)
        with app.app_context(), tenant_context(tenant):
            assert db.session.query(Review).count() == 0
    else:
        assert response.status_code == 400 and message in response.text
