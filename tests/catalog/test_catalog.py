"""The catalog in the back office: product details, options and variants, the list."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import select

from saas.db import db
from saas.models import AuditEvent
from saas.tenancy import tenant_context
from tenants.catalog import published
from tenants.catalog.models import Product, ProductRedirect, ProductVariant
from tenants.catalog.products import create_product


def make_product(app, tenant, title="Blue Mug", price=1000, **kwargs) -> int:
    with app.app_context(), tenant_context(tenant):
        product = create_product(title, price, **kwargs)
        db.session.commit()
        return product.id


def product_row(app, tenant, product_id) -> dict:
    with app.app_context(), tenant_context(tenant):
        p = db.session.get(Product, product_id)
        data = {c.name: getattr(p, c.name) for c in Product.__table__.columns}
        data["variants"] = [
            {c.name: getattr(v, c.name) for c in ProductVariant.__table__.columns}
            for v in p.variants
        ]
        data["options"] = [(o.name, list(o.values)) for o in p.options]
        return data


def details(**overrides) -> dict:
    form = {
        "title": "Blue Mug",
        "description": "<p>Holds tea.</p>",
        "status": "active",
        "vendor": "Acme",
        "product_type": "Mugs",
        "tags": "kitchen",
        "handle": "blue-mug",
        "seo_title": "",
        "seo_description": "",
    }
    form.update(overrides)
    return form


def audit_actions(app, tenant) -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(select(AuditEvent.action).where(AuditEvent.tenant_id == tenant.id))
        )


# --- details ----------------------------------------------------------------------


def test_existing_callers_get_a_default_variant(app, make_tenant):
    tenant = make_tenant(products=[("Mug", 1200)])
    with app.app_context(), tenant_context(tenant):
        product = db.session.scalar(select(Product))
        assert [(v.price_cents, v.option1, v.inventory_tracked) for v in product.variants] == [
            (1200, None, False)
        ]
        assert product.inventory_quantity is None
        stocked = create_product("Stocked", 500, inventory_quantity=4)
        assert (stocked.variants[0].inventory_quantity, stocked.variants[0].inventory_tracked) == (
            4,
            True,
        )
        assert published.product_by_handle("mug").id == product.id
        db.session.rollback()


def test_edit_details_sanitises_description_and_keeps_old_handle(app, make_tenant, staff_client):
    tenant = make_tenant()
    product_id = make_product(app, tenant)
    client = staff_client(tenant, permissions=["products"])
    page = client.get(f"/admin/products/{product_id}")
    assert page.status_code == 200 and '<label for="vendor">Vendor' in page.text
    hostile = (
        '<p onclick="steal()">Holds <strong>tea</strong>.<script>alert(1)</script></p>'
        '<style>p{}</style><a href="javascript:alert(1)">x</a><a href="https://ex.com">ok</a>'
        "<img src=x onerror=alert(1)><h2>Care</h2>"
    )
    response = client.post(
        f"/admin/products/{product_id}",
        data=details(
            description=hostile,
            tags="Summer, SALE ,summer",
            handle="Big Blue Mug",
            continue_selling="1",
            status="draft",
            seo_title="Blue mug | Acme",
        ),
        follow_redirects=True,
    )
    assert response.status_code == 200 and "Product saved." in response.text
    row = product_row(app, tenant, product_id)
    assert "script" not in row["description"] and "onclick" not in row["description"]
    assert "javascript" not in row["description"] and "<img" not in row["description"]
    assert "<style" not in row["description"] and "<strong>tea</strong>" in row["description"]
    assert (
        '<a href="https://ex.com"' in row["description"] and "<h2>Care</h2>" in row["description"]
    )
    assert row["tags"] == ["summer", "sale"] and row["handle"] == "big-blue-mug"
    assert (row["vendor"], row["product_type"], row["status"]) == ("Acme", "Mugs", "draft")
    assert row["continue_selling"] is True and row["seo_title"] == "Blue mug | Acme"
    with app.app_context(), tenant_context(tenant):
        redirect = db.session.scalar(select(ProductRedirect))
        assert (redirect.old_handle, redirect.product_id) == ("blue-mug", product_id)
    assert "product.updated" in audit_actions(app, tenant)

    # Going back to the old handle makes it live again: no redirect loop is left.
    client.post(f"/admin/products/{product_id}", data=details(handle="blue-mug"))
    with app.app_context(), tenant_context(tenant):
        olds = db.session.scalars(select(ProductRedirect.old_handle)).all()
        assert olds == ["big-blue-mug"]


def test_edit_errors_are_per_field_and_save_nothing(app, make_tenant, staff_client):
    tenant = make_tenant()
    product_id = make_product(app, tenant)
    make_product(app, tenant, "Red Mug")
    before = product_row(app, tenant, product_id)
    client = staff_client(tenant, permissions=["products"])
    response = client.post(
        f"/admin/products/{product_id}",
        data=details(title="  ", handle="red-mug", vendor="Changed", status="gone"),
    )
    assert response.status_code == 400
    assert "A product needs a title." in response.text
    assert "Another product already uses the handle “red-mug”." in response.text
    assert "Choose active, draft or archived." in response.text
    assert 'value="Changed"' in response.text  # the merchant's input is kept
    assert 'aria-invalid="true"' in response.text and 'role="alert"' in response.text
    after = product_row(app, tenant, product_id)
    assert {k: v for k, v in after.items() if k != "updated_at"} == {
        k: v for k, v in before.items() if k != "updated_at"
    }


def test_products_need_the_products_area(app, make_tenant, staff_client):
    tenant = make_tenant()
    product_id = make_product(app, tenant)
    client = staff_client(tenant, permissions=["orders"])
    assert client.get(f"/admin/products/{product_id}").status_code == 403
    assert client.post(f"/admin/products/{product_id}", data=details()).status_code == 403


def test_another_shop_cannot_open_or_edit_a_product(app, make_tenant, staff_client):
    shop_a, shop_b = make_tenant(), make_tenant()
    product_id = make_product(app, shop_a, "Secret Mug")
    variant_id = product_row(app, shop_a, product_id)["variants"][0]["id"]
    before = product_row(app, shop_a, product_id)
    intruder = staff_client(shop_b, role="owner")
    assert intruder.get(f"/admin/products/{product_id}").status_code == 404
    assert intruder.post(f"/admin/products/{product_id}", data=details()).status_code == 404
    assert (
        intruder.post(
            f"/admin/products/{product_id}",
            data=options_form(option1_name="Size", option1_values="S"),
        ).status_code
        == 404
    )
    assert intruder.post(f"/admin/products/{product_id}", data={"price": "1"}).status_code == 404
    assert intruder.get(f"/admin/variants/{variant_id}/inventory").status_code == 404
    assert (
        intruder.post(
            f"/admin/variants/{variant_id}/inventory", data={"delta": "5", "reason": "received"}
        ).status_code
        == 404
    )
    intruder.post("/admin/products/bulk", data={"action": "publish", "product": [product_id]})
    assert "Secret Mug" not in intruder.get("/admin/products").text
    after = product_row(app, shop_a, product_id)
    assert after == before


# --- options and variants ---------------------------------------------------------


def test_options_make_variants_and_keep_existing_ones(app, make_tenant, staff_client):
    tenant = make_tenant()
    product_id = make_product(app, tenant, price=1500)
    default_id = product_row(app, tenant, product_id)["variants"][0]["id"]
    client = staff_client(tenant, permissions=["products"])
    response = client.post(
        f"/admin/products/{product_id}",
        data=options_form(
            option1_name="Size",
            option1_values="S, M, M",
            option2_name="Colour",
            option2_values="Red,Blue",
        ),
        follow_redirects=True,
    )
    assert response.status_code == 200 and "Product saved: 4 variants." in response.text
    assert "<legend>M / Blue</legend>" in response.text
    row = product_row(app, tenant, product_id)
    assert row["options"] == [("Size", ["S", "M"]), ("Colour", ["Red", "Blue"])]
    assert [(v["option1"], v["option2"]) for v in row["variants"]] == [
        ("S", "Red"),
        ("S", "Blue"),
        ("M", "Red"),
        ("M", "Blue"),
    ]
    assert {v["price_cents"] for v in row["variants"]} == {1500}
    assert row["variants"][0]["id"] == default_id  # the default variant became S / Red
    kept = row["variants"][1]["id"]

    client.post(
        f"/admin/products/{product_id}",
        data=options_form(
            option1_name="Size",
            option1_values="S, L",
            option2_name="Colour",
            option2_values="Blue",
        ),
    )
    row = product_row(app, tenant, product_id)
    assert [(v["option1"], v["option2"]) for v in row["variants"]] == [("S", "Blue"), ("L", "Blue")]
    assert row["variants"][0]["id"] == kept

    # Removing every option leaves one default variant.
    client.post(f"/admin/products/{product_id}", data=options_form())
    row = product_row(app, tenant, product_id)
    assert row["options"] == [] and len(row["variants"]) == 1
    assert row["variants"][0]["option1"] is None


def test_bad_options_save_nothing(app, make_tenant, staff_client):
    tenant = make_tenant()
    product_id = make_product(app, tenant)
    client = staff_client(tenant, permissions=["products"])
    response = client.post(
        f"/admin/products/{product_id}",
        data=options_form(option1_name="Size", option1_values="", option2_values="Red"),
    )
    assert response.status_code == 400
    assert "List its values" in response.text and "Name this option" in response.text
    row = product_row(app, tenant, product_id)
    assert row["options"] == [] and len(row["variants"]) == 1


def variant_prefix(row, variant) -> str:
    """The form's names for a variant: plain for a product's only variant."""
    single = len(row["variants"]) == 1 and not row["options"]
    return "" if single else f"v{variant['id']}_"


def options_form(**options) -> dict:
    """The options part of the product form: every option field, empty unless given."""
    form = {f"option{n}_{part}": "" for n in (1, 2, 3) for part in ("name", "values")}
    form.update(options)
    return form


def variant_form(row, **changes) -> dict:
    form = {}
    for v in row["variants"]:
        p = variant_prefix(row, v)
        form.update(
            {
                p + "price": "10.00",
                p + "compare_at": "",
                p + "sku": "",
                p + "weight": "",
                p + "barcode": "",
                p + "quantity": "0",
            }
        )
    form.update(changes)
    return form


def test_variants_save_money_as_minor_units_and_record_stock(app, make_tenant, staff_client):
    tenant = make_tenant()
    product_id = make_product(app, tenant)
    client = staff_client(tenant, permissions=["products"])
    client.post(
        f"/admin/products/{product_id}",
        data=options_form(option1_name="Size", option1_values="S, M"),
    )
    row = product_row(app, tenant, product_id)
    s, m = (f"v{v['id']}_" for v in row["variants"])
    response = client.post(
        f"/admin/products/{product_id}",
        data=variant_form(
            row,
            **{
                s + "price": "19.99",
                s + "compare_at": "25",
                s + "sku": "MUG-S",
                s + "weight": "350",
                s + "tracked": "1",
                s + "quantity": "7",
                s + "barcode": "0123456789012",
                m + "price": "18.5",
                m + "sku": "MUG-M",
            },
        ),
        follow_redirects=True,
    )
    assert response.status_code == 200 and "Product saved." in response.text
    row = product_row(app, tenant, product_id)
    small, medium = row["variants"]
    assert (small["price_cents"], small["compare_at_cents"], small["sku"]) == (1999, 2500, "MUG-S")
    assert (small["weight_grams"], small["inventory_tracked"], small["inventory_quantity"]) == (
        350,
        True,
        7,
    )
    assert (medium["price_cents"], medium["inventory_tracked"]) == (1850, False)
    # The product's summary follows its variants.
    assert (row["price_cents"], row["inventory_quantity"]) == (1850, 7)
    history = client.get(f"/admin/variants/{small['id']}/inventory").text
    assert "Correction" in history and "+7" in history

    # SKUs may swap between a product's own rows.
    response = client.post(
        f"/admin/products/{product_id}",
        data=variant_form(
            row, **{s + "sku": "MUG-M", m + "sku": "MUG-S", s + "tracked": "1", s + "quantity": "7"}
        ),
    )
    assert response.status_code == 302
    assert [v["sku"] for v in product_row(app, tenant, product_id)["variants"]] == [
        "MUG-M",
        "MUG-S",
    ]


def test_a_cost_per_item_is_kept_for_the_stock_value_and_never_shown_to_shoppers(
    app, make_tenant, staff_client, shop_client
):
    from tests.forms import submit_form

    tenant = make_tenant()
    product_id = make_product(app, tenant, handle="blue-mug", status="active")
    client = staff_client(tenant, permissions=["products"])
    url = f"/admin/products/{product_id}"
    page = client.get(url).text
    assert "Cost per item (USD)" in page and 'name="cost"' in page
    refused = submit_form(client, url, {"cost": "a lot"})
    assert refused.status_code == 400 and "cannot be read as a cost" in refused.text
    assert product_row(app, tenant, product_id)["variants"][0]["cost_cents"] is None
    assert submit_form(client, url, {"cost": "3.40"}).status_code == 302
    assert product_row(app, tenant, product_id)["variants"][0]["cost_cents"] == 340
    assert 'value="3.40"' in client.get(url).text
    # With options, each variant has its own cost; new variants start from the first's.
    submit_form(client, url, {"option1_name": "Size", "option1_values": "S, M"})
    row = product_row(app, tenant, product_id)
    assert [v["cost_cents"] for v in row["variants"]] == [340, 340]
    m = f"v{row['variants'][1]['id']}_"
    assert submit_form(client, url, {m + "cost": "4"}).status_code == 302
    row = product_row(app, tenant, product_id)
    assert [v["cost_cents"] for v in row["variants"]] == [340, 400]
    assert "3.40" not in shop_client(tenant).get("/products/blue-mug").text


def test_bad_variants_save_nothing(app, make_tenant, staff_client):
    tenant = make_tenant()
    other_id = make_product(app, tenant, "Taken")
    with app.app_context(), tenant_context(tenant):
        db.session.get(Product, other_id).variants[0].sku = "TAKEN"
        db.session.commit()
    product_id = make_product(app, tenant)
    client = staff_client(tenant, permissions=["products"])
    client.post(
        f"/admin/products/{product_id}",
        data=options_form(option1_name="Size", option1_values="S, M, L"),
    )
    before = product_row(app, tenant, product_id)
    s, m, big = (f"v{v['id']}_" for v in before["variants"])
    response = client.post(
        f"/admin/products/{product_id}",
        data=variant_form(
            before,
            **{
                s + "price": "-1",
                m + "price": "10.00",
                m + "compare_at": "9.99",
                s + "sku": "DUP",
                m + "sku": "DUP",
                big + "sku": "TAKEN",
                big + "price": "1.234",
                big + "weight": "-5",
                big + "tracked": "1",
                big + "quantity": "-3",
            },
        ),
    )
    assert response.status_code == 400
    text = response.text
    assert "The price cannot be negative." in text
    assert "The compare-at price must be at least the price." in text
    assert "Two variants cannot share the SKU “DUP”." in text
    assert "Another product already uses the SKU “TAKEN”." in text
    assert "“1.234” has too many decimals: a price in USD has at most 2, like 12.50." in text
    assert "Weight cannot be negative." in text and "Stock cannot be negative." in text
    assert "Nothing was saved." in text and 'value="1.234"' in text
    after = product_row(app, tenant, product_id)
    assert after["variants"] == before["variants"]


def test_two_shops_may_use_the_same_sku(app, make_tenant, staff_client):
    shop_a, shop_b = make_tenant(), make_tenant()
    for shop in (shop_a, shop_b):
        product_id = make_product(app, shop)
        client = staff_client(shop, permissions=["products"])
        row = product_row(app, shop, product_id)
        p = variant_prefix(row, row["variants"][0])
        response = client.post(
            f"/admin/products/{product_id}",
            data=variant_form(row, **{p + "sku": "SAME-1"}),
        )
        assert response.status_code == 302
        assert product_row(app, shop, product_id)["variants"][0]["sku"] == "SAME-1"


# --- the list ---------------------------------------------------------------------


def test_list_search_filter_sort_and_bulk(app, make_tenant, staff_client):
    tenant = make_tenant()
    ids = {}
    with app.app_context(), tenant_context(tenant):
        for title, price, vendor, kind, tags in [
            ("Blue Mug", 1000, "Acme", "Mugs", ["kitchen"]),
            ("Red Mug", 2000, "Acme", "Mugs", ["kitchen", "sale"]),
            ("Green Shirt", 3000, "Cotton Co", "Shirts", []),
        ]:
            p = create_product(title, price)
            p.vendor, p.product_type, p.tags = vendor, kind, tags
            ids[title] = p.id
        db.session.get(Product, ids["Green Shirt"]).variants[0].sku = "SHIRT-GRN"
        db.session.commit()
    client = staff_client(tenant, permissions=["products"])

    def titles(**params):
        html = client.get("/admin/products", query_string=params).text
        return [t for t in ("Blue Mug", "Red Mug", "Green Shirt") if f">{t}</a>" in html]

    assert titles(q="mug") == ["Blue Mug", "Red Mug"]
    assert titles(q="shirt-grn") == ["Green Shirt"]
    assert titles(vendor="Cotton Co") == ["Green Shirt"]
    assert titles(type="Mugs", tag="sale") == ["Red Mug"]
    html = client.get("/admin/products", query_string={"sort": "price-desc"}).text
    assert html.index("Green Shirt") < html.index("Red Mug") < html.index("Blue Mug")
    assert (
        "No products match these filters."
        in client.get("/admin/products", query_string={"q": "zebra"}).text
    )

    # Archiving asks first; nothing changes until confirmed.
    confirm = client.post(
        "/admin/products/bulk", data={"action": "archive", "product": [ids["Blue Mug"]]}
    )
    assert confirm.status_code == 200 and "Archive 1 product?" in confirm.text
    assert product_row(app, tenant, ids["Blue Mug"])["status"] == "active"
    done = client.post(
        "/admin/products/bulk",
        data={"action": "archive", "confirm": "1", "product": [ids["Blue Mug"]]},
        follow_redirects=True,
    )
    assert "1 product archived." in done.text
    assert product_row(app, tenant, ids["Blue Mug"])["status"] == "archived"
    assert titles(status="archived") == ["Blue Mug"]

    client.post(
        "/admin/products/bulk",
        data={
            "action": "add-tag",
            "tag": "New In",
            "product": [ids["Red Mug"], ids["Green Shirt"]],
        },
    )
    assert product_row(app, tenant, ids["Red Mug"])["tags"] == ["kitchen", "sale", "new in"]
    assert product_row(app, tenant, ids["Green Shirt"])["tags"] == ["new in"]
    client.post("/admin/products/bulk", data={"action": "publish", "product": [ids["Blue Mug"]]})
    assert product_row(app, tenant, ids["Blue Mug"])["status"] == "active"
    assert "product.bulk_archive" in audit_actions(app, tenant)


def test_list_paginates(app, make_tenant, staff_client):
    tenant = make_tenant(products=[(f"Item {n:02d}", 100) for n in range(30)])
    client = staff_client(tenant, permissions=["products"])
    first = client.get("/admin/products").text
    assert "Page 1 of 2" in first and "30 products" in first
    assert "Page 2 of 2" in client.get("/admin/products?page=2").text


# --- images -----------------------------------------------------------------------


def png_bytes(width, height, mode="RGB") -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new(mode, (width, height), (200, 30, 30) if mode == "RGB" else (0, 0, 0, 0)).save(
        out, format="PNG"
    )
    return out.getvalue()


def upload(client, product_id, data, alt="A blue mug", name="mug.png"):
    """Add an image on the product form, then give it its alt text there."""
    import io

    url = f"/admin/products/{product_id}"
    response = client.post(
        url,
        data={"images": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    if alt and response.status_code == 200:
        image_id = _last_image_id(client, product_id)
        response = client.post(url, data={f"image{image_id}_alt": alt}, follow_redirects=True)
    return response


def _last_image_id(client, product_id) -> int:
    import re

    page = client.get(f"/admin/products/{product_id}").text
    return int(re.findall(r'name="image(\d+)_alt"', page)[-1])


def image_rows(app, tenant, product_id):
    from tenants.catalog.models import ProductImage

    with app.app_context(), tenant_context(tenant):
        return [
            {
                "id": i.id,
                "file": i.file,
                "alt": i.alt,
                "position": i.position,
                "width": i.width,
                "height": i.height,
                "sizes": list(i.sizes),
            }
            for i in db.session.scalars(
                select(ProductImage)
                .where(ProductImage.product_id == product_id)
                .order_by(ProductImage.position)
            )
        ]


def test_image_upload_and_resize_job(app, make_tenant, staff_client):
    from PIL import Image

    from saas.jobs import make_worker
    from tenants.media import media_dir

    tenant = make_tenant()
    product_id = make_product(app, tenant)
    client = staff_client(tenant, permissions=["products"])
    response = upload(client, product_id, png_bytes(1500, 1000), alt="", name="mug.exe")
    assert response.status_code == 200 and "1 image added" in response.text
    upload_id = _last_image_id(client, product_id)
    client.post(f"/admin/products/{product_id}", data={f"image{upload_id}_alt": "A blue mug"})
    [image] = image_rows(app, tenant, product_id)
    assert (image["width"], image["height"], image["alt"], image["sizes"]) == (
        1500,
        1000,
        "A blue mug",
        [],
    )
    with app.app_context(), tenant_context(tenant):
        folder = media_dir()
    assert (folder / image["file"]).exists() and image["file"].endswith(".jpg")

    make_worker(app).work(burst=True)
    [image] = image_rows(app, tenant, product_id)
    assert image["sizes"] == [320, 640, 1200]
    stem = image["file"].rsplit(".", 1)[0]
    for width in (320, 640, 1200):
        with Image.open(folder / f"{stem}-{width}w.jpg") as copy:
            assert copy.size == (width, round(1000 * width / 1500))
    # Served through the shop's media route.
    shop = client.get(f"/media/{stem}-320w.jpg")
    assert shop.status_code == 200 and shop.headers["Content-Type"] == "image/jpeg"
    shop.close()

    # A small image gets only the copies narrower than itself; transparency stays PNG.
    upload(client, product_id, png_bytes(500, 500, "RGBA"), alt="")
    make_worker(app).work(burst=True)
    small = image_rows(app, tenant, product_id)[1]
    assert small["sizes"] == [320] and small["file"].endswith(".png")


def test_bad_images_are_refused_and_nothing_is_saved(app, make_tenant, staff_client, monkeypatch):
    from tenants import media

    tenant = make_tenant()
    product_id = make_product(app, tenant)
    client = staff_client(tenant, permissions=["products"])
    fake = upload(client, product_id, b"<?php echo 'hi'; ?>" + b"\x89PNG" * 20, name="hi.php")
    assert fake.status_code == 400 and "hi.php: Upload a PNG, JPEG, WebP or GIF image." in fake.text
    monkeypatch.setitem(app.config, "MAX_UPLOAD_BYTES", 1000)
    big = upload(client, product_id, png_bytes(400, 400) + b"\0" * 2000)
    assert big.status_code == 400 and "; the limit is 1 KB." in big.text
    monkeypatch.setitem(app.config, "MAX_UPLOAD_BYTES", 10 * 1024 * 1024)
    monkeypatch.setattr(media, "MAX_SOURCE_PIXELS", 100)
    huge = upload(client, product_id, png_bytes(20, 20))
    assert huge.status_code == 400 and "40 megapixels" in huge.text
    monkeypatch.setattr(media, "MAX_SOURCE_PIXELS", 40_000_000)
    assert image_rows(app, tenant, product_id) == []

    # A wrong field elsewhere in the form keeps no image either, and says to choose it again.
    import io

    mixed = client.post(
        f"/admin/products/{product_id}",
        data=details(title="", images=(io.BytesIO(png_bytes(20, 20)), "ok.png")),
        content_type="multipart/form-data",
    )
    assert mixed.status_code == 400 and "choose the new images again" in mixed.text
    assert image_rows(app, tenant, product_id) == []
    with app.app_context(), tenant_context(tenant):
        assert not any(media.media_dir().glob(f"p{product_id}*"))

    upload(client, product_id, png_bytes(20, 20), alt="fine")
    [image] = image_rows(app, tenant, product_id)
    long_alt = client.post(
        f"/admin/products/{product_id}", data={f"image{image['id']}_alt": "x" * 600}
    )
    assert long_alt.status_code == 400 and "Use at most 512 characters." in long_alt.text
    assert image_rows(app, tenant, product_id) == [image]


def test_images_reorder_alt_and_delete_on_the_one_form(app, make_tenant, staff_client):
    from tenants.media import media_dir
    from tests.forms import submit_form

    tenant = make_tenant()
    product_id = make_product(app, tenant)
    client = staff_client(tenant, permissions=["products"])
    for alt in ("first", "second", "third"):
        upload(client, product_id, png_bytes(30, 30), alt=alt)
    rows = image_rows(app, tenant, product_id)
    url = f"/admin/products/{product_id}"

    def alts() -> list[str]:
        return [r["alt"] for r in image_rows(app, tenant, product_id)]

    # Without script: each image's Move buttons, which save the rest of the form too.
    moved = submit_form(client, url, {"move": f"{rows[2]['id']}:up"}, follow_redirects=True)
    assert "Image moved." in moved.text and alts() == ["first", "third", "second"]
    submit_form(client, url, {"move": f"{rows[0]['id']}:down", "vendor": "Acme"})
    assert alts() == ["third", "first", "second"]
    assert product_row(app, tenant, product_id)["vendor"] == "Acme"
    # With script: the order dragged into place arrives as image_order.
    order = f"{rows[1]['id']},{rows[0]['id']},{rows[2]['id']}"
    submit_form(client, url, {"image_order": order})
    assert alts() == ["second", "first", "third"]
    submit_form(client, url, {"image_order": f"{rows[1]['id']},999"})  # stale: order kept
    assert alts() == ["second", "first", "third"]

    submit_form(client, url, {f"image{rows[0]['id']}_alt": "Front view"})
    assert alts() == ["second", "Front view", "third"]
    deleted = submit_form(client, url, {f"image{rows[1]['id']}_delete": "1"}, follow_redirects=True)
    assert "Product saved." in deleted.text
    assert alts() == ["Front view", "third"]
    assert [r["position"] for r in image_rows(app, tenant, product_id)] == [1, 2]
    with app.app_context(), tenant_context(tenant):
        assert not (media_dir() / rows[1]["file"]).exists()


def test_another_shop_cannot_touch_an_image(app, make_tenant, staff_client):
    shop_a, shop_b = make_tenant(), make_tenant()
    product_a = make_product(app, shop_a)
    owner_a = staff_client(shop_a, permissions=["products"])
    upload(owner_a, product_a, png_bytes(30, 30), alt="mine")
    [image] = image_rows(app, shop_a, product_a)
    product_b = make_product(app, shop_b)
    intruder = staff_client(shop_b, role="owner")
    tampering = {
        f"image{image['id']}_delete": "1",
        f"image{image['id']}_alt": "taken",
        "move": f"{image['id']}:down",
        "image_order": str(image["id"]),
    }
    # (Ids are per shop: product_b may share product_a's number.) Its own product's form
    # names the other shop's image: nothing happens to it.
    assert intruder.post(f"/admin/products/{product_b}", data=tampering).status_code == 302
    assert intruder.get(f"/media/{image['file']}").status_code == 404
    assert image_rows(app, shop_a, product_a) == [image]


def test_a_variant_shows_one_of_its_products_images(app, make_tenant, staff_client):
    tenant = make_tenant()
    product_id = make_product(app, tenant)
    other_id = make_product(app, tenant, "Other")
    client = staff_client(tenant, permissions=["products"])
    client.post(
        f"/admin/products/{product_id}",
        data=options_form(option1_name="Size", option1_values="S, M"),
    )
    upload(client, product_id, png_bytes(30, 30), alt="front")
    upload(client, other_id, png_bytes(30, 30), alt="elsewhere")
    [mine] = image_rows(app, tenant, product_id)
    [theirs] = image_rows(app, tenant, other_id)
    row = product_row(app, tenant, product_id)
    p = variant_prefix(row, row["variants"][0])
    refused = client.post(
        f"/admin/products/{product_id}",
        data=variant_form(row, **{p + "image": str(theirs["id"])}),
    )
    assert refused.status_code == 400 and "Choose an image of this product." in refused.text
    assert product_row(app, tenant, product_id)["variants"][0]["image_id"] is None
    page = client.get(f"/admin/products/{product_id}").text
    assert f'<option value="{mine["id"]}">Image 1: front</option>' in page
    client.post(
        f"/admin/products/{product_id}",
        data=variant_form(row, **{p + "image": str(mine["id"])}),
    )
    assert product_row(app, tenant, product_id)["variants"][0]["image_id"] == mine["id"]
    # Deleting the image leaves the variant without one, even if the form still names it.
    client.post(
        f"/admin/products/{product_id}",
        data=variant_form(row, **{p + "image": str(mine["id"]), f"image{mine['id']}_delete": "1"}),
    )
    assert product_row(app, tenant, product_id)["variants"][0]["image_id"] is None


def test_every_post_form_carries_a_csrf_token(app, make_tenant, staff_client):
    tenant = make_tenant()
    product_id = make_product(app, tenant)
    client = staff_client(tenant, permissions=["products"])
    upload(client, product_id, png_bytes(30, 30))
    client.post(
        "/admin/collections/new", data={"title": "Picks", "kind": "manual", "sort": "manual"}
    )
    variant_id = product_row(app, tenant, product_id)["variants"][0]["id"]
    for path in (
        "/admin/products",
        f"/admin/products/{product_id}",
        f"/admin/variants/{variant_id}/inventory",
        "/admin/collections/new",
        "/admin/collections/1",
        "/admin/collections/1/delete",
    ):
        html = client.get(path).text
        forms = html.count('method="post"')
        assert forms and forms == html.count('name="csrf_token"'), path


@pytest.mark.browser
def test_merchant_edits_a_product_in_a_real_browser(live_server, make_tenant, make_staff):
    """With CSRF on, no JavaScript needed: details, options, variants on one form, by labels."""
    chromium = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
    if not chromium.exists():
        pytest.skip(f"no Chromium at {chromium}")
    sync_api = pytest.importorskip("playwright.sync_api")
    tenant = make_tenant(products=[("Blue Mug", 1000)])
    staff = make_staff(tenant, role="owner")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(chromium),
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        context = browser.new_context(
            viewport={"width": 390, "height": 844}, java_script_enabled=False
        )
        page = context.new_page()
        expect = sync_api.expect
        page.goto(live_server.url(f"{tenant.slug}.localhost", "/admin/login"))
        page.get_by_label("Email").fill(staff.email)
        page.get_by_label("Password").fill(staff.password)
        page.get_by_role("button", name="Log in").click()
        page.goto(live_server.url(f"{tenant.slug}.localhost", "/admin/products"))
        page.get_by_role("link", name="Blue Mug").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Blue Mug")
        page.get_by_label("Vendor").fill("Acme")
        page.get_by_label("Tags").fill("Kitchen, Gifts")
        page.get_by_label("Option 1 name").fill("Size")
        page.get_by_label("Option 1 values").fill("Small, Large")
        page.get_by_role("button", name="Save product").click()
        expect(page.get_by_text("Product saved: 2 variants.")).to_be_visible()
        expect(page.get_by_label("Tags")).to_have_value("kitchen, gifts")
        large = page.get_by_role("group", name="Large")
        large.get_by_label("Price (USD)", exact=True).fill("14.50")
        large.get_by_label("SKU").fill("MUG-L")
        page.get_by_role("button", name="Save product").click()
        expect(page.get_by_text("Product saved.")).to_be_visible()
        expect(page.get_by_role("group", name="Large").get_by_label("SKU")).to_have_value("MUG-L")
        context.close()
        browser.close()


def test_a_product_written_without_variants_gets_its_default_one(app, make_tenant, staff_client):
    tenant = make_tenant()
    with app.app_context(), tenant_context(tenant):
        legacy = Product(
            title="Old", handle="old", price_cents=700, description="", inventory_quantity=2
        )
        db.session.add(legacy)
        db.session.commit()
        product_id = legacy.id
    client = staff_client(tenant, permissions=["products"])
    assert client.get(f"/admin/products/{product_id}").status_code == 200
    row = product_row(app, tenant, product_id)
    [variant] = row["variants"]
    assert (
        variant["price_cents"],
        variant["inventory_tracked"],
        variant["inventory_quantity"],
    ) == (700, True, 2)
    p = variant_prefix(row, variant)
    response = client.post(
        f"/admin/products/{product_id}",
        data=variant_form(row, **{p + "price": "8", p + "tracked": "1", p + "quantity": "2"}),
    )
    assert response.status_code == 302
    assert product_row(app, tenant, product_id)["price_cents"] == 800
