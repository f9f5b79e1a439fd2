"""Product CSV import and export (Shopify's layout): dry run, the import job, the export."""

from __future__ import annotations

import csv
import io
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select, text

from saas import job_progress
from saas.db import db
from saas.jobs import make_worker
from saas.models import AuditEvent
from saas.tenancy import tenant_context
from tenants.catalog import inventory
from tenants.catalog import products as catalog
from tenants.catalog.csv import plan, runs
from tenants.catalog.csv.layout import HEADER
from tenants.catalog.models import InventoryAdjustment, Product, ProductImport, ProductVariant
from tenants.catalog.products import create_product
from tenants.catalog.variants import save_options
from tests.catalog.test_catalog import png_bytes
from tests.factories import make_plan, subscribe

# --- helpers ------------------------------------------------------------------------


def csv_of(*rows: dict, columns=HEADER) -> str:
    """A CSV with `columns` as its header and one line per dict (missing cells empty)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(c, "") for c in columns])
    return out.getvalue()


def upload(client, body: str | bytes, name: str = "products.csv"):
    data = body.encode() if isinstance(body, str) else body
    return client.post(
        "/admin/products/import",
        data={"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def run_id_of(response) -> int:
    assert response.status_code == 302, response.text
    match = re.search(r"/admin/products/import/(\d+)$", response.headers["Location"])
    assert match is not None
    return int(match.group(1))


def preview(client, body: str) -> tuple[int, str]:
    """Upload `body`; the run's id and its dry-run page."""
    run_id = run_id_of(upload(client, body))
    page = client.get(f"/admin/products/import/{run_id}")
    assert page.status_code == 200
    return run_id, page.text


def import_now(app, client, body: str) -> tuple[int, str]:
    """Upload, confirm and run the job on a real RQ worker; the run's id and final page."""
    run_id, page = preview(client, body)
    assert "Import " in page and '<button type="submit">Import' in page, page
    response = client.post(f"/admin/products/import/{run_id}")
    assert response.status_code == 302
    work(app)
    return run_id, client.get(f"/admin/products/import/{run_id}").text


def work(app) -> None:
    make_worker(app).work(burst=True)


def catalog_state(app, tenant) -> list[dict]:
    """Everything the import may touch, without ids and timestamps."""
    with app.app_context(), tenant_context(tenant):
        products = db.session.scalars(select(Product).order_by(Product.handle)).all()
        return [
            {
                "handle": p.handle,
                "title": p.title,
                "description": p.description,
                "status": p.status,
                "vendor": p.vendor,
                "product_type": p.product_type,
                "tags": list(p.tags),
                "seo": (p.seo_title, p.seo_description),
                "continue_selling": p.continue_selling,
                "price_cents": p.price_cents,
                "inventory_quantity": p.inventory_quantity,
                "options": [(o.position, o.name, list(o.values)) for o in p.options],
                "variants": [
                    (
                        v.position,
                        v.option1,
                        v.option2,
                        v.option3,
                        v.sku,
                        v.price_cents,
                        v.compare_at_cents,
                        v.weight_grams,
                        v.barcode,
                        v.inventory_tracked,
                        v.inventory_quantity,
                    )
                    for v in p.variants
                ],
                "images": [(i.file, i.alt) for i in p.images],
            }
            for p in products
        ]


def history(app, tenant) -> list[tuple]:
    with app.app_context(), tenant_context(tenant):
        rows = db.session.execute(
            select(
                ProductVariant.sku,
                InventoryAdjustment.delta,
                InventoryAdjustment.quantity_after,
                InventoryAdjustment.reason,
                InventoryAdjustment.note,
                InventoryAdjustment.staff_id,
            )
            .join(ProductVariant, ProductVariant.id == InventoryAdjustment.variant_id)
            .order_by(InventoryAdjustment.id)
        )
        return [tuple(r) for r in rows]


def run_row(app, tenant, run_id) -> ProductImport:
    with app.app_context(), tenant_context(tenant):
        run = db.session.get(ProductImport, run_id)
        assert run is not None
        db.session.expunge(run)
        return run


def audit_actions(app, tenant) -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.tenant_id == tenant.id)
                .order_by(AuditEvent.id)
            )
        )


def make_plan_for(app, tenant, max_products: int) -> None:
    subscribe(app, tenant, make_plan(app, max_products))


def seed_catalog(app, tenant) -> None:
    """A shop with what the CSV layout must carry: options, variants, stock, details."""
    with app.app_context(), tenant_context(tenant):
        tee = create_product("Linen Tee", 2500, description="<p>Soft <strong>linen</strong>.</p>")
        catalog.update_product(
            tee,
            {
                "title": "Linen Tee",
                "handle": "linen-tee",
                "description": tee.description,
                "status": "active",
                "vendor": "Acme, Inc.",
                "product_type": "Shirts",
                "tags": "summer, linen",
                "seo_title": "Linen tee",
                "seo_description": "A soft linen tee.",
                "continue_selling": "1",
            },
        )
        save_options(
            tee,
            {
                "option1_name": "Size",
                "option1_values": "S, M",
                "option2_name": "Colour",
                "option2_values": "Sand, Navy",
            },
        )
        for n, variant in enumerate(tee.variants, 1):
            variant.sku = f"TEE-{n}"
            variant.price_cents = 2500 + n * 100
            variant.compare_at_cents = 4000 if n == 1 else None
            variant.weight_grams = 180
            variant.barcode = f"00012345{n}" if n < 3 else None
        db.session.flush()
        inventory.set_quantity(tee.variants[0], 7)
        inventory.set_quantity(tee.variants[3], 2)
        catalog.sync_summary(tee)
        mug = create_product('=HYPERLINK("http://evil.example","Click")', 1200, status="draft")
        mug.handle = "evil-mug"
        mug.tags = ["@risky", "-minus"]
        mug.vendor = "+1 555 0100"
        mug.variants[0].sku = "-12"
        create_product("Gift Card", 0, inventory_quantity=None)
        db.session.commit()


def exported(client, query: str = "") -> str:
    response = client.get("/admin/products/export.csv" + query)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.is_streamed
    assert "attachment" in response.headers["Content-Disposition"]
    return response.get_data(as_text=True)


def rows_of(body: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(body)))


# --- export and round trip ----------------------------------------------------------


def test_export_writes_shopify_layout_and_guards_formulas(app, make_tenant, staff_client):
    tenant = make_tenant()
    seed_catalog(app, tenant)
    client = staff_client(tenant, permissions=["products"])
    body = exported(client)
    assert body.splitlines()[0] == ",".join(f'"{c}"' if "," in c else c for c in HEADER)
    rows = rows_of(body)
    tee = [r for r in rows if r["Handle"] == "linen-tee"]
    assert len(tee) == 4  # one row per variant
    first = tee[0]
    assert (first["Title"], first["Vendor"], first["Type"], first["Tags"]) == (
        "Linen Tee",
        "Acme, Inc.",
        "Shirts",
        "summer, linen",
    )
    assert (first["Option1 Name"], first["Option2 Name"], first["Status"], first["Published"]) == (
        "Size",
        "Colour",
        "active",
        "TRUE",
    )
    assert [(r["Option1 Value"], r["Option2 Value"], r["Variant SKU"]) for r in tee] == [
        ("S", "Sand", "TEE-1"),
        ("S", "Navy", "TEE-2"),
        ("M", "Sand", "TEE-3"),
        ("M", "Navy", "TEE-4"),
    ]
    assert [r["Title"] for r in tee[1:]] == ["", "", ""]  # product fields on the first row only
    assert (first["Variant Price"], first["Variant Compare At Price"]) == ("26.00", "40.00")
    # Stock only where it is tracked (the two middle variants do not track it).
    assert [r["Variant Inventory Qty"] for r in tee] == ["7", "", "", "2"]
    assert [r["Variant Inventory Tracker"] for r in tee] == ["shopify", "", "", "shopify"]
    assert {r["Variant Inventory Policy"] for r in tee} == {"continue"}
    assert first["Variant Grams"] == "180"

    evil = next(r for r in rows if r["Handle"] == "evil-mug")
    assert evil["Title"] == '\'=HYPERLINK("http://evil.example","Click")'
    assert evil["Vendor"] == "'+1 555 0100"
    assert evil["Tags"] == "'@risky, -minus"
    assert evil["Variant SKU"] == "-12"  # a plain number stays as it is
    assert (evil["Status"], evil["Published"]) == ("draft", "FALSE")
    gift = next(r for r in rows if r["Handle"] == "gift-card")
    assert (gift["Option1 Name"], gift["Option1 Value"], gift["Variant Inventory Tracker"]) == (
        "Title",
        "Default Title",
        "",
    )

    drafts = rows_of(exported(client, "?status=draft"))  # the list's filters apply
    assert {r["Handle"] for r in drafts} == {"evil-mug"}


def test_export_then_import_round_trips(app, make_tenant, staff_client):
    source = make_tenant()
    seed_catalog(app, source)
    body = exported(staff_client(source, permissions=["products"]))
    before = catalog_state(app, source)

    # Into the same shop: every product is matched, nothing changes.
    client = staff_client(source, permissions=["products"])
    run_id, page = preview(client, body)
    assert 'Products to create</span><span class="stat-value">0' in page
    assert 'Products to update</span><span class="stat-value">3' in page
    assert "Problems" not in page
    client.post(f"/admin/products/import/{run_id}")
    work(app)
    assert run_row(app, source, run_id).status == "done"
    assert catalog_state(app, source) == before

    # Into an empty shop: the same catalog.
    target = make_tenant()
    import_now(app, staff_client(target, permissions=["products"]), body)
    assert catalog_state(app, target) == before


# --- the dry run --------------------------------------------------------------------


def test_dry_run_names_row_and_column_of_each_problem_and_changes_nothing(
    app, make_tenant, staff_client
):
    tenant = make_tenant()
    with app.app_context(), tenant_context(tenant):
        other = create_product("Other", 500)
        other.variants[0].sku = "TAKEN"
        db.session.commit()
    before = catalog_state(app, tenant)
    columns = (*HEADER, "Option4 Name", "Option4 Value", "Gift Card")
    body = csv_of(
        {"Handle": "mug", "Title": "Mug", "Variant Price": "12", "Variant SKU": "M-1"},  # row 2
        {"Handle": "no-title", "Variant Price": "3"},  # row 3
        {"Handle": "neg", "Title": "Neg", "Variant Price": "-3"},  # row 4
        {"Handle": "qty", "Title": "Qty", "Variant Price": "1", "Variant Inventory Qty": "-2"},
        {"Handle": "dup", "Title": "Dup", "Variant Price": "1", "Variant SKU": "M-1"},  # row 6
        {"Handle": "clash", "Title": "Clash", "Variant Price": "1", "Variant SKU": "TAKEN"},
        {"Handle": "mug", "Title": "Mug", "Variant Price": "2"},  # row 8: mug again, apart
        {
            "Handle": "four",
            "Title": "Four",
            "Option1 Name": "Size",
            "Option1 Value": "S",
            "Option4 Name": "Fit",
            "Option4 Value": "Slim",
            "Variant Price": "1",
        },
        {"Handle": "st", "Title": "St", "Variant Price": "1", "Status": "published"},  # row 10
        {"Handle": "long", "Title": "x" * 300, "Variant Price": "1"},  # row 11
        {
            "Handle": "cmp",
            "Title": "Cmp",
            "Variant Price": "10",
            "Variant Compare At Price": "5",
        },
        {"Handle": "cur", "Title": "Cur", "Variant Price": "12,50"},  # row 13
        {
            "Handle": "pol",
            "Title": "Pol",
            "Variant Price": "1",
            "Variant Inventory Policy": "maybe",
        },
        {"Handle": "ok", "Title": "Fine", "Variant Price": "1"},  # row 15
        columns=columns,
    )
    client = staff_client(tenant, permissions=["products"])
    run_id, page = preview(client, body)
    expected = [
        "Row 3, Title: a new product needs a title (no product has the handle “no-title”).",
        "Row 4, Variant Price: “-3” is not a valid price (must be 0 or more).",
        "Row 5, Variant Inventory Qty: “-2” is not a valid quantity (must be 0 or more).",
        "Row 6, Variant SKU: “M-1” is also in row 2; each variant needs its own SKU.",
        "Row 7, Variant SKU: “TAKEN” is already used by another product in your shop (“other”).",
        "Row 8, Handle: “mug” is the handle of the product starting in row 2.",
        "Row 9, Option4 Name: a product can have at most 3 options.",
        "Row 10, Status: “published” is not a status; use active, draft or archived.",
        "Row 11, Title: is too long: 300 characters, at most 255.",
        "Row 12, Variant Compare At Price: must be at least the price",
        "Row 13, Variant Price: “12,50” cannot be read as a price. Did you mean “1,250” or "
        "“12.5”? Write it like 12.50.",
        "Row 14, Variant Inventory Policy: “maybe” must be deny or continue.",
    ]
    for message in expected:
        assert message in page, message
    assert "Gift Card" in page  # listed as a column not used
    assert "to fix before this file can be imported" in page
    assert '<button type="submit">Import' not in page  # no way to import a broken file
    run = run_row(app, tenant, run_id)
    assert run.status == "previewed" and run.csv_text == ""
    price_problem = "“-3” is not a valid price (must be 0 or more)."
    assert {"row": 4, "column": "Variant Price", "message": price_problem} in run.problems

    # Posting the confirmation anyway is refused; nothing was queued or changed.
    refused = client.post(f"/admin/products/import/{run_id}", follow_redirects=True)
    assert "This file has problems to fix first." in refused.text
    work(app)
    assert run_row(app, tenant, run_id).status == "previewed"
    assert catalog_state(app, tenant) == before


def test_dry_run_counts_what_would_change_and_notes_cleaned_descriptions(
    app, make_tenant, staff_client
):
    tenant = make_tenant(products=[("Blue Mug", 1000)])
    before = catalog_state(app, tenant)
    body = csv_of(
        {
            "Handle": "blue-mug",
            "Title": "Blue Mug",
            "Variant Price": "11",
            "Body (HTML)": "<p>Hi</p><script>alert(1)</script>",
        },
        {
            "Handle": "tee",
            "Title": "Tee",
            "Option1 Name": "Size",
            "Option1 Value": "S",
            "Variant Price": "20",
            "Image Src": "https://cdn.example/tee.jpg",
        },
        {"Handle": "tee", "Option1 Value": "M", "Variant Price": "20"},
        {"Handle": "tee", "Image Src": "https://cdn.example/tee-back.jpg"},  # an image row
    )
    client = staff_client(tenant, permissions=["products"])
    run_id, page = preview(client, body)
    assert "This is a dry run: nothing has changed yet." in page
    assert 'Products to create</span><span class="stat-value">1' in page
    assert 'Products to update</span><span class="stat-value">1' in page
    assert 'New variants</span><span class="stat-value">2' in page
    assert "Row 2, Body (HTML): the description was cleaned" in page
    assert "Row 3, Image Src: not imported: images are never downloaded" in page
    assert "Row 5, Image Src: not imported" in page
    assert '<button type="submit">Import 2 products</button>' in page
    assert catalog_state(app, tenant) == before  # a dry run changes nothing
    assert run_row(app, tenant, run_id).status == "previewed"
    assert "product.import_started" not in audit_actions(app, tenant)


def test_plan_limit_is_checked_at_preview(app, make_tenant, staff_client):
    tenant = make_tenant(products=[("One", 100)])
    make_plan_for(app, tenant, max_products=2)
    body = csv_of(
        {"Handle": "two", "Title": "Two", "Variant Price": "1"},
        {"Handle": "three", "Title": "Three", "Variant Price": "1"},
    )
    _, page = preview(staff_client(tenant, permissions=["products"]), body)
    assert (
        "This file would add 2 products to your catalog, but your Tiny plan allows 2 and your "
        "catalog has 1: 1 too many (the first over the limit is “three”, row 3)."
    ) in page
    assert "Import at most 1 new product, or archive products you no longer sell." in page
    assert '<a href="/admin/billing">Upgrade your plan</a> to add more products.' in page
    assert '<button type="submit">Import' not in page


# --- the import job -----------------------------------------------------------------


def test_confirmed_import_creates_and_updates_products_variants_and_stock(
    app, make_tenant, staff_client
):
    tenant = make_tenant()
    with app.app_context(), tenant_context(tenant):
        mug = create_product("Blue Mug", 1000, inventory_quantity=3)
        mug.variants[0].sku = "MUG-1"
        mug.vendor = "Old vendor"
        db.session.commit()
    client = staff_client(tenant, permissions=["products"])
    body = csv_of(
        {
            "Handle": "blue-mug",
            "Title": "Blue Mug",
            "Vendor": "Potter",
            "Variant SKU": "MUG-1",
            "Variant Price": "12.50",
            "Variant Inventory Tracker": "shopify",
            "Variant Inventory Qty": "10",
            "Option1 Name": "Title",
            "Option1 Value": "Default Title",
        },
        {
            "Handle": "tee",
            "Title": "Tee",
            "Body (HTML)": "<p>Soft</p>",
            "Tags": "Summer, Linen",
            "Option1 Name": "Size",
            "Option1 Value": "S",
            "Option2 Name": "Colour",
            "Option2 Value": "Sand",
            "Variant SKU": "TEE-S-SAND",
            "Variant Price": "20",
            "Variant Inventory Tracker": "shopify",
            "Variant Inventory Qty": "4",
            "Variant Inventory Policy": "continue",
            "Status": "draft",
        },
        {
            "Handle": "tee",
            "Option1 Value": "M",
            "Option2 Value": "Sand",
            "Variant SKU": "TEE-M-SAND",
            "Variant Price": "22",
            "Variant Compare At Price": "30",
            "Variant Grams": "210",
            "Variant Barcode": "4006381333931",
        },
    )
    run_id, page = preview(client, body)
    assert '<button type="submit">Import 2 products</button>' in page
    response = client.post(f"/admin/products/import/{run_id}", follow_redirects=True)
    # Queued, not yet run: the progress page, refreshing itself (also without scripts).
    assert "Imported <span data-count>0</span> of 2 products." in response.text
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in response.text
    status = client.get(f"/admin/products/import/{run_id}/status").get_json()
    assert status == {"status": "queued", "processed": 0, "total": 2, "done": False}

    work(app)
    page = client.get(f"/admin/products/import/{run_id}").text
    assert "Imported 2 products:" in page and "1 created and 1 updated" in page
    assert 'http-equiv="refresh"' not in page
    assert client.get(f"/admin/products/import/{run_id}/status").get_json() == {
        "status": "done",
        "processed": 2,
        "total": 2,
        "done": True,
    }

    state = {p["handle"]: p for p in catalog_state(app, tenant)}
    mug_state, tee = state["blue-mug"], state["tee"]
    assert (mug_state["vendor"], mug_state["price_cents"], mug_state["inventory_quantity"]) == (
        "Potter",
        1250,
        10,
    )
    assert (tee["title"], tee["status"], tee["tags"], tee["continue_selling"]) == (
        "Tee",
        "draft",
        ["summer", "linen"],
        True,
    )
    assert tee["options"] == [(1, "Size", ["S", "M"]), (2, "Colour", ["Sand"])]
    assert tee["variants"] == [
        (1, "S", "Sand", None, "TEE-S-SAND", 2000, None, None, None, True, 4),
        (2, "M", "Sand", None, "TEE-M-SAND", 2200, 3000, 210, "4006381333931", False, 0),
    ]
    staff_id = client.staff.id
    assert history(app, tenant) == [
        ("MUG-1", 7, 10, "imported", "CSV import", staff_id),
        ("TEE-S-SAND", 4, 4, "imported", "CSV import", staff_id),
    ]
    actions = audit_actions(app, tenant)
    assert actions[-2:] == ["product.import_started", "product.import_finished"]
    with app.app_context():
        event = db.session.scalar(
            select(AuditEvent).where(
                AuditEvent.tenant_id == tenant.id, AuditEvent.action == "product.import_finished"
            )
        )
        assert event is not None
        assert (event.actor_type, event.actor_id) == ("staff", staff_id)
        assert event.detail["counts"]["create"] == 1
    # The file is not kept once imported; a second confirmation does nothing.
    assert run_row(app, tenant, run_id).csv_text == ""
    again = client.post(f"/admin/products/import/{run_id}", follow_redirects=True)
    assert "This import has already been started." in again.text


def test_progress_shows_while_the_import_runs(app, make_tenant, staff_client, monkeypatch):
    tenant = make_tenant()
    client = staff_client(tenant, permissions=["products"])
    body = csv_of(*({"Handle": f"p{n}", "Title": f"P{n}", "Variant Price": "1"} for n in range(3)))
    run_id, _ = preview(client, body)
    client.post(f"/admin/products/import/{run_id}")
    monkeypatch.setattr(job_progress, "PROGRESS_EVERY", 0)
    seen = []
    real_apply = runs.apply_product

    def look_first(planned, **kwargs):
        # The merchant's browser asks meanwhile: another thread, so its own session and
        # connection, seeing only what is committed while the job's transaction is open.
        def ask():
            page = client.get(f"/admin/products/import/{run_id}").text
            status = client.get(f"/admin/products/import/{run_id}/status").get_json()
            shown = re.search(r"Imported .*? of 3", page)
            return status["status"], status["processed"], shown[0] if shown else page

        with ThreadPoolExecutor(1) as pool:
            seen.append(pool.submit(ask).result())
        return real_apply(planned, **kwargs)

    monkeypatch.setattr(runs, "apply_product", look_first)
    with app.app_context(), tenant_context(tenant):  # the job's code, in this process
        assert runs.run_import(run_id) == "done"
    assert seen == [
        ("running", 0, "Imported <span data-count>0</span> of 3"),
        ("running", 1, "Imported <span data-count>1</span> of 3"),
        ("running", 2, "Imported <span data-count>2</span> of 3"),
    ]
    work(app)  # the queued copy of the job finds the run done and does nothing
    assert len(catalog_state(app, tenant)) == 3


def test_empty_cells_that_clear_fields_are_pointed_out(app, make_tenant, staff_client):
    tenant = make_tenant()
    with app.app_context(), tenant_context(tenant):
        mug = create_product("Blue Mug", 1000, description="<p>Lovely</p>", inventory_quantity=4)
        mug.vendor = "Potter"
        db.session.commit()
    body = csv_of({"Handle": "blue-mug", "Variant Price": "10"})
    _, page = preview(staff_client(tenant, permissions=["products"]), body)
    assert "Row 2, Body (HTML): empty, so the product&#39;s description will be cleared." in page
    assert "Row 2, Vendor: empty, so the product&#39;s vendor will be cleared." in page
    assert (
        "Row 2, Variant Inventory Tracker: empty, so this variant&#39;s stock (4) will no " in page
    )
    assert "Row 2, Tags:" not in page  # it had none


def test_a_stock_only_file_changes_only_stock(app, make_tenant, staff_client):
    tenant = make_tenant()
    with app.app_context(), tenant_context(tenant):
        mug = create_product("Blue Mug", 1000, description="<p>Keep me</p>")
        mug.variants[0].sku = "MUG-1"
        mug.vendor = "Potter"
        db.session.commit()
    before = catalog_state(app, tenant)[0]
    body = csv_of(
        {"Handle": "blue-mug", "Variant SKU": "MUG-1", "Variant Inventory Qty": "5"},
        columns=("Handle", "Variant SKU", "Variant Inventory Qty"),
    )
    import_now(app, staff_client(tenant, permissions=["products"]), body)
    after = catalog_state(app, tenant)[0]
    assert after["variants"][0][-2:] == (True, 5) and after["inventory_quantity"] == 5
    for name in ("title", "description", "vendor", "status", "price_cents", "tags"):
        assert after[name] == before[name], name


def test_new_options_replace_variants_that_no_longer_fit(app, make_tenant, staff_client):
    tenant = make_tenant()
    with app.app_context(), tenant_context(tenant):
        tee = create_product("Tee", 1000)
        save_options(tee, {"option1_name": "Size", "option1_values": "S, M, L"})
        for variant in tee.variants:
            variant.sku = f"TEE-{variant.option1}"
        db.session.commit()
    body = csv_of(
        {
            "Handle": "tee",
            "Option1 Name": "Size",
            "Option1 Value": "S",
            "Option2 Name": "Colour",
            "Option2 Value": "Red",
            "Variant SKU": "TEE-S",
            "Variant Price": "10",
        },
        {
            "Handle": "tee",
            "Option1 Value": "S",
            "Option2 Value": "Blue",
            "Variant SKU": "TEE-M",
            "Variant Price": "11",
        },
    )
    client = staff_client(tenant, permissions=["products"])
    _, page = preview(client, body)
    assert 'Variants removed (options changed)</span><span class="stat-value">1' in page
    import_now(app, client, body)
    [tee_state] = catalog_state(app, tenant)
    assert tee_state["options"] == [(1, "Size", ["S"]), (2, "Colour", ["Red", "Blue"])]
    assert [v[1:5] for v in tee_state["variants"]] == [
        ("S", "Red", None, "TEE-S"),
        ("S", "Blue", None, "TEE-M"),
    ]


def test_a_failure_mid_import_changes_nothing(app, make_tenant, staff_client, monkeypatch):
    tenant = make_tenant(products=[("Blue Mug", 1000)])
    before = catalog_state(app, tenant)
    body = csv_of(
        {"Handle": "blue-mug", "Title": "Renamed Mug", "Variant Price": "9"},
        {
            "Handle": "first-new",
            "Title": "First New",
            "Variant Price": "1",
            "Variant Inventory Qty": "5",
        },
        {"Handle": "second-new", "Title": "Second New", "Variant Price": "1"},
    )
    client = staff_client(tenant, permissions=["products"])
    run_id, _ = preview(client, body)
    client.post(f"/admin/products/import/{run_id}")

    real_apply = runs.apply_product

    def fail_on_the_third(planned, **kwargs):
        if planned.handle == "second-new":
            db.session.execute(text("SELECT 1 / 0"))  # a real database error, mid-way
        return real_apply(planned, **kwargs)

    monkeypatch.setattr(runs, "apply_product", fail_on_the_third)
    work(app)  # the forked work horse inherits the patch
    run = run_row(app, tenant, run_id)
    assert run.status == "failed" and run.processed == 0
    assert "The import stopped at row 4 because of an unexpected error." in run.failure
    page = client.get(f"/admin/products/import/{run_id}").text
    assert "The import failed, and nothing was changed." in page
    assert "The import stopped at row 4" in page and "division" not in page
    assert catalog_state(app, tenant) == before
    assert history(app, tenant) == []
    assert audit_actions(app, tenant)[-1] == "product.import_failed"


def test_a_plan_limit_reached_after_the_preview_fails_the_import(app, make_tenant, staff_client):
    tenant = make_tenant(products=[("One", 100)])
    make_plan_for(app, tenant, max_products=3)
    body = csv_of(
        {"Handle": "two", "Title": "Two", "Variant Price": "1"},
        {"Handle": "three", "Title": "Three", "Variant Price": "1"},
    )
    client = staff_client(tenant, permissions=["products"])
    run_id, page = preview(client, body)
    assert '<button type="submit">Import 2 products</button>' in page
    client.post(f"/admin/products/import/{run_id}")
    with app.app_context(), tenant_context(tenant):  # meanwhile, a product is added
        create_product("Meanwhile", 100)
        db.session.commit()
    before = catalog_state(app, tenant)
    work(app)
    run = run_row(app, tenant, run_id)
    assert run.status == "failed"
    assert "would now take the catalog over your plan's product limit" in run.failure
    [problem] = run.problems
    assert "your Tiny plan allows 3 and your catalog has 2: 1 too many" in problem["message"]
    assert problem["upgrade"] == "add more products"
    assert catalog_state(app, tenant) == before


def test_a_catalog_changed_since_the_preview_is_checked_again(app, make_tenant, staff_client):
    tenant = make_tenant()
    body = csv_of({"Handle": "tee", "Title": "Tee", "Variant Price": "5", "Variant SKU": "T-1"})
    client = staff_client(tenant, permissions=["products"])
    run_id, _ = preview(client, body)
    client.post(f"/admin/products/import/{run_id}")
    with app.app_context(), tenant_context(tenant):  # meanwhile, the SKU is taken
        mug = create_product("Mug", 100)
        mug.variants[0].sku = "T-1"
        db.session.commit()
    before = catalog_state(app, tenant)
    work(app)
    page = client.get(f"/admin/products/import/{run_id}").text
    assert "The file no longer passes its checks, because the catalog changed" in page
    assert "Row 2, Variant SKU: “T-1” is already used by another product in your shop" in page
    assert catalog_state(app, tenant) == before


def test_the_job_runs_once_and_only_in_its_own_shop(app, make_tenant, staff_client):
    a = make_tenant(products=[("Blue Mug", 1000)])
    b = make_tenant(products=[("Blue Mug", 2500)])
    b_before = catalog_state(app, b)
    body = csv_of(
        {"Handle": "blue-mug", "Title": "A's Mug", "Variant Price": "5"},
        {"Handle": "only-a", "Title": "Only A", "Variant Price": "5"},
    )
    client = staff_client(a, permissions=["products"])
    run_id, _ = import_now(app, client, body)
    assert [p["title"] for p in catalog_state(app, a)] == ["A's Mug", "Only A"]
    assert catalog_state(app, b) == b_before
    # Running the job again (as a retry would) does nothing.
    with app.app_context(), tenant_context(a):
        assert runs.run_import(run_id) is None
    assert [p["title"] for p in catalog_state(app, a)] == ["A's Mug", "Only A"]


# --- the uploaded file --------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "The file is empty."),
        (
            b"Handle,Title\n" + b"a" * 3000,
            "This file is 3 KB; the limit is 2 KB. Split it into smaller files.",
        ),
        ("Handle,Title\nmug,Caf\xe9\n".encode("latin-1"), "The file is not UTF-8 text"),
        (b"PK\x03\x04rest-of-a-workbook", "This is a spreadsheet workbook, not a CSV file."),
        (b"Name,Price\nMug,12\n", "one of them must be Handle or Title"),
        (
            b"Handle,Title,handle\nmug,Mug,mug\n",
            "The column “Handle” appears twice (columns A and C)",
        ),
        (b"Handle,Title\x00\n", "The file holds binary data"),
    ],
)
def test_a_wrong_file_gets_a_clear_form_error(
    app, make_tenant, staff_client, monkeypatch, body, message
):
    assert app.config["MAX_UPLOAD_BYTES"] == 10 * 1024 * 1024
    monkeypatch.setitem(app.config, "MAX_UPLOAD_BYTES", 2048)  # (no 10 MB bodies in tests)
    tenant = make_tenant()
    client = staff_client(tenant, permissions=["products"])
    response = upload(client, body)
    assert response.status_code == 400
    assert "The file cannot be imported: see the message under the file field." in response.text
    assert message in response.text
    assert 'aria-invalid="true"' in response.text
    with app.app_context(), tenant_context(tenant):
        assert db.session.scalar(select(ProductImport.id)) is None


def test_no_file_chosen_and_header_only_files(app, make_tenant, staff_client):
    tenant = make_tenant()
    client = staff_client(tenant, permissions=["products"])
    response = client.post("/admin/products/import", data={}, content_type="multipart/form-data")
    assert response.status_code == 400 and "Choose a CSV file to upload." in response.text
    _, page = preview(client, "Handle,Title\n")
    assert "The file has column names but no products." in page


def test_a_file_with_too_many_rows_is_refused(app, make_tenant, staff_client, monkeypatch):
    monkeypatch.setattr(plan, "MAX_ROWS", 2)
    tenant = make_tenant()
    body = csv_of(*({"Title": f"P{n}", "Variant Price": "1"} for n in range(3)))
    _, page = preview(staff_client(tenant, permissions=["products"]), body)
    assert "This file has 3 rows; an import takes at most 2. Split it into smaller files" in page
    assert '<button type="submit">Import' not in page


def test_a_bom_and_title_only_files_are_read(app, make_tenant, staff_client):
    tenant = make_tenant()
    body = (
        "\ufeffTitle,Product Category,Published,Variant Price\r\n"
        "Blue Mug,Home & Garden > Kitchen > Mugs,TRUE,12\r\n"
        "Red Mug,,FALSE,13\r\n\r\n"
    )
    import_now(app, staff_client(tenant, permissions=["products"]), body)
    state = catalog_state(app, tenant)
    assert [
        (p["handle"], p["title"], p["product_type"], p["price_cents"], p["status"]) for p in state
    ] == [
        ("blue-mug", "Blue Mug", "Mugs", 1200, "active"),
        ("red-mug", "Red Mug", "", 1300, "draft"),
    ]


# --- hostile input ------------------------------------------------------------------


def test_script_tags_in_descriptions_are_cleaned(app, make_tenant, staff_client):
    tenant = make_tenant()
    body = csv_of(
        {
            "Handle": "mug",
            "Title": "<b>Mug</b>",
            "Variant Price": "1",
            "Body (HTML)": '<p onclick="steal()">Nice</p><script>alert(1)</script>'
            '<a href="javascript:alert(1)">x</a>',
        },
    )
    client = staff_client(tenant, permissions=["products"])
    _, page = preview(client, body)
    assert "<script>alert(1)</script>" not in page
    assert "Row 2, Body (HTML): the description was cleaned" in page
    import_now(app, client, body)
    [mug] = catalog_state(app, tenant)
    assert mug["description"] == '<p>Nice</p><a rel="noopener noreferrer nofollow">x</a>'
    assert mug["title"] == "<b>Mug</b>"  # plain text, escaped wherever it is shown
    listing = client.get("/admin/products").text
    assert "&lt;b&gt;Mug&lt;/b&gt;" in listing and "<b>Mug</b>" not in listing


def test_broken_rows_and_huge_fields_are_reported_by_row(app, make_tenant, staff_client):
    tenant = make_tenant()
    client = staff_client(tenant, permissions=["products"])
    extra_cells = "Handle,Title,Variant Price\nmug,Mug,1\ncup,Cup,1,surprise,more\n"
    _, page = preview(client, extra_cells)
    assert "Row 3: this row has 5 cells but the first row names 3 columns." in page

    bad_quote = 'Handle,Title,Variant Price\nmug,Mug,1\ncup,"Cup"x,1\n'
    _, page = preview(client, bad_quote)
    assert "Row 3: this row is not valid CSV" in page and "Nothing after it was read." in page

    huge = "Handle,Title,Body (HTML),Variant Price\nmug,Mug," + "A" * 200_000 + ",1\n"
    _, page = preview(client, huge)
    assert "Row 2: a cell is longer than 131,072 characters" in page
    assert "A" * 1000 not in page  # the value itself is never echoed back

    long_body = csv_of(
        {
            "Handle": "mug",
            "Title": "Mug",
            "Variant Price": "1",
            "Body (HTML)": "<p>" + "b" * 25_000 + "</p>",
        }
    )
    _, page = preview(client, long_body)
    assert "Row 2, Body (HTML): is too long: 25,007 characters, at most 20,000." in page
    with app.app_context(), tenant_context(tenant):
        assert db.session.scalar(select(Product.id)) is None


def test_duplicate_handles_and_variants_are_refused(app, make_tenant, staff_client):
    tenant = make_tenant()
    body = csv_of(
        {"Handle": "mug", "Title": "Mug", "Variant Price": "1"},
        {"Handle": "mug", "Title": "Another Mug", "Variant Price": "2"},
        {"Title": "Blue Cup", "Variant Price": "1"},
        {"Title": "Blue  cup!", "Variant Price": "1"},
        {
            "Handle": "tee",
            "Title": "Tee",
            "Option1 Name": "Size",
            "Option1 Value": "S",
            "Variant Price": "1",
        },
        {"Handle": "tee", "Option1 Value": "S", "Variant Price": "1"},
        {"Handle": "tee", "Option2 Value": "Red", "Variant Price": "1"},
    )
    _, page = preview(staff_client(tenant, permissions=["products"]), body)
    assert (
        "Row 3, Title: “Another Mug” has the same handle (“mug”) as “Mug” in row 2. "
        "Give each product its own handle."
    ) in page
    assert "Row 5, Title: “Blue cup!” has the same handle (“blue-cup”)" in page
    assert "Row 7, Option1 Value: row 6 has the variant “S”" in page
    assert "Row 8, Option1 Value: give this variant&#39;s Size." in page
    assert "Row 8, Option2 Value: the product has no Option2 Name" in page


def test_images_are_never_fetched_but_own_images_are_recognised(app, make_tenant, staff_client):
    from tenants.catalog import images

    tenant = make_tenant()
    with app.app_context(), tenant_context(tenant):
        mug = create_product("Mug", 1000)
        image = images.add_image(mug, io.BytesIO(png_bytes(40, 40)), "Old alt")
        db.session.commit()
        file = image.file
    client = staff_client(tenant, permissions=["products"])
    exported_rows = rows_of(exported(client))
    own = exported_rows[0]["Image Src"]
    assert own == f"http://{tenant.slug}.localhost/media/{file}"
    body = csv_of(
        {
            "Handle": "mug",
            "Title": "Mug",
            "Variant Price": "10",
            "Image Src": own,
            "Image Alt Text": "A mug",
        },
        {"Handle": "mug", "Image Src": "http://169.254.169.254/latest/meta-data/"},
    )
    _, page = preview(client, body)
    assert "Row 3, Image Src: not imported: images are never downloaded" in page
    assert "Row 2, Image Src" not in page
    import_now(app, client, body)
    [state] = catalog_state(app, tenant)
    assert state["images"] == [(file, "A mug")]


# --- access and isolation -----------------------------------------------------------


def test_import_and_export_belong_to_the_products_area(app, make_tenant, staff_client):
    tenant = make_tenant(products=[("Blue Mug", 1000)])
    outsider = staff_client(tenant, permissions=["orders"])
    for url in ("/admin/products/import", "/admin/products/export.csv"):
        assert outsider.get(url).status_code == 403
    assert upload(outsider, csv_of({"Handle": "x", "Title": "X"})).status_code == 403
    page = staff_client(tenant, permissions=["products"]).get("/admin/products").text
    assert 'href="/admin/products/import">Import</a>' in page
    assert 'href="/admin/products/export.csv" download>Export</a>' in page


def test_another_shop_cannot_see_runs_or_exports(app, make_tenant, staff_client):
    a = make_tenant(products=[("Secret A", 1000)])
    b = make_tenant(products=[("Visible B", 1000)])
    client_a = staff_client(a, permissions=["products"])
    run_id, _ = preview(
        client_a, csv_of({"Handle": "new-a", "Title": "New A", "Variant Price": "1"})
    )
    client_b = staff_client(b, permissions=["products"])
    assert client_b.get(f"/admin/products/import/{run_id}").status_code == 404
    assert client_b.get(f"/admin/products/import/{run_id}/status").status_code == 404
    assert client_b.post(f"/admin/products/import/{run_id}").status_code == 404
    assert "New A" not in client_b.get("/admin/products/import").text
    export_b = exported(client_b)
    assert "Visible B" in export_b and "Secret A" not in export_b
    assert run_row(app, a, run_id).status == "previewed"  # B's attempt left A's run alone


# --- in a real browser --------------------------------------------------------------


@pytest.mark.browser
def test_in_chromium_upload_check_import_and_watch_it_finish(
    app, browser, live_server, make_tenant, make_staff, tmp_path
):
    from tests.chromium import playwright_api
    from tests.conftest import STAFF_PASSWORD

    expect = playwright_api.expect
    tenant = make_tenant(products=[("Blue Mug", 1000)])
    owner = make_staff(tenant, role="owner")
    context = browser.new_context(viewport={"width": 390, "height": 844})  # a phone
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        page.goto(live_server.url(f"{tenant.slug}.localhost", "/admin/login"))
        page.get_by_label("Email").fill(owner.email)
        page.get_by_label("Password").fill(STAFF_PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.get_by_text("Menu", exact=True).click()  # a phone: the areas fold into a menu
        page.get_by_role("link", name="Products", exact=True).first.click()
        page.get_by_role("link", name="Import", exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Import products")

        broken = tmp_path / "broken.csv"
        broken.write_text(csv_of({"Handle": "tee", "Title": "Tee", "Variant Price": "-3"}))
        page.get_by_label("CSV file").set_input_files(str(broken))
        page.get_by_role("button", name="Upload and check").click()
        expect(page.get_by_role("alert").first).to_contain_text("1 problem to fix")
        expect(page.get_by_text("Row 2, Variant Price: “-3” is not a valid price")).to_be_visible()
        expect(page.get_by_role("button", name=re.compile("^Import"))).to_have_count(0)

        page.get_by_role("link", name="upload the file again").click()
        good = tmp_path / "products.csv"
        good.write_text(
            csv_of(
                {"Handle": "blue-mug", "Title": "Blue Mug", "Variant Price": "11"},
                {"Handle": "tee", "Title": "Tee", "Variant Price": "20"},
            )
        )
        page.get_by_label("CSV file").set_input_files(str(good))
        page.get_by_role("button", name="Upload and check").click()
        page.get_by_role("button", name="Import 2 products").click()
        expect(page.get_by_text("Imported 0 of 2 products.")).to_be_visible()
        work(app)  # the page's script notices the end and shows the summary
        expect(page.get_by_role("status")).to_contain_text("1 created and 1 updated")
        page.get_by_role("link", name="Go to products").click()
        expect(page.get_by_role("link", name="Tee", exact=True)).to_be_visible()
    finally:
        context.close()


def test_an_upload_over_the_request_limit_gets_a_clear_page(
    app, make_tenant, staff_client, monkeypatch
):
    # Small: the test client spools bodies over 500 KB to a file it never closes.
    monkeypatch.setitem(app.config, "MAX_UPLOAD_BYTES", 1024)
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 4 * 1024)
    client = staff_client(make_tenant(), permissions=["products"])
    response = client.post(
        "/admin/products/import",
        data={"file": (io.BytesIO(b"Handle,Title\n" + b"x" * 5000), "big.csv")},
        content_type="multipart/form-data",
    )
    # With no form to go back to (no Referer), a page that says why and what to do.
    assert response.status_code == 413
    assert "File too large" in response.text and "the limit is 1 KB" in response.text
