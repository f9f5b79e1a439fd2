"""The storefront's product page: variant picker without JavaScript, stock states,
gallery markup, structured data, and that one shop's page never shows another's."""

from __future__ import annotations

import io
import json
import re
from typing import Any

from PIL import Image

from saas.db import db
from saas.tenancy import tenant_context
from tenants.catalog.images import add_image, resize_image
from tenants.catalog.models import Product
from tenants.catalog.products import create_product, sync_summary
from tenants.catalog.variants import save_options
from tenants.settings.models import ShopSettings


def make_shirt(app: Any, tenant: Any, title: str = "Linen Shirt", **product: Any) -> dict:
    """A product with Size (S, M) by Colour (Red, Blue); returns variant ids by title."""
    with app.app_context(), tenant_context(tenant):
        item = create_product(title, 3000, description="<p>Soft <strong>linen</strong>.</p>")
        save_options(
            item,
            {
                "option1_name": "Size",
                "option1_values": "S, M",
                "option2_name": "Colour",
                "option2_values": "Red, Blue",
            },
        )
        for variant in item.variants:
            variant.sku = f"{item.handle}-{variant.option1}-{variant.option2}".lower()
            variant.price_cents = 3000 if variant.option1 == "S" else 3500
            variant.inventory_tracked = True
            variant.inventory_quantity = 10
        for key, value in product.items():
            setattr(item, key, value)
        sync_summary(item)
        db.session.commit()
        return {"handle": item.handle, **{v.title: v.id for v in item.variants}}


def set_variant(app: Any, tenant: Any, variant_id: int, **values: Any) -> None:
    from tenants.catalog.models import ProductVariant

    with app.app_context(), tenant_context(tenant):
        variant = db.session.get(ProductVariant, variant_id)
        for key, value in values.items():
            setattr(variant, key, value)
        db.session.commit()


def png(width: int = 1600, height: int = 1000, colour: str = "red") -> io.BytesIO:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, format="PNG")
    out.seek(0)
    return out


def status(client: Any, url: str) -> int:
    response = client.get(url)
    response.close()  # a file response holds its file open until closed
    return response.status_code


def json_lds(html: str) -> list[dict]:
    blocks = re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    return [json.loads(block) for block in blocks]


def product_ld(html: str) -> dict:
    return next(d for d in json_lds(html) if d.get("@type") == "Product")


def test_the_picker_chooses_a_variant_without_javascript(app, make_tenant, shop_client):
    tenant = make_tenant()
    shirt = make_shirt(app, tenant)
    client = shop_client(tenant)
    page = client.get(f"/products/{shirt['handle']}").text
    # A plain GET form: one labelled select per option and a button.
    assert re.search(r'<form class="variant-picker" method="get"', page)
    assert '<label for="option1">Size</label>' in page
    assert '<label for="option2">Colour</label>' in page
    assert ">Choose</button>" in page
    assert "$30.00" in page and "Selected: S / Red" in page  # the first variant
    chosen = client.get(f"/products/{shirt['handle']}?option1=M&option2=Blue")
    assert chosen.status_code == 200
    assert "$35.00" in chosen.text and "Selected: M / Blue" in chosen.text
    assert '<option value="M" selected>' in chosen.text
    by_id = client.get(f"/products/{shirt['handle']}?variant={shirt['M / Red']}").text
    assert "Selected: M / Red" in by_id
    missing = client.get(f"/products/{shirt['handle']}?option1=XL&option2=Blue")
    assert missing.status_code == 200
    assert "This combination is not available" in missing.text
    for bad in ("abc", "%C2%B2", "9" * 40, "-1"):
        assert client.get(f"/products/{shirt['handle']}?variant={bad}").status_code == 200
    junk = client.get(f"/products/{shirt['handle']}?variant=abc&option1=%3Cscript%3E")
    assert junk.status_code == 200 and "<script>alert" not in junk.text


def test_another_products_variant_id_is_ignored(app, make_tenant, shop_client):
    tenant = make_tenant()
    shirt = make_shirt(app, tenant)
    other = make_shirt(app, tenant, title="Wool Shirt")
    set_variant(app, tenant, other["M / Blue"], price_cents=9900)
    page = shop_client(tenant).get(f"/products/{shirt['handle']}?variant={other['M / Blue']}")
    assert page.status_code == 200
    assert "Selected: S / Red" in page.text and "$99.00" not in page.text


def test_stock_states(app, make_tenant, shop_client):
    tenant = make_tenant()
    shirt = make_shirt(app, tenant)
    with app.app_context(), tenant_context(tenant):
        db.session.get(ShopSettings, 1).low_stock_threshold = 3
        db.session.commit()
    set_variant(app, tenant, shirt["S / Red"], inventory_quantity=0)
    set_variant(app, tenant, shirt["S / Blue"], inventory_quantity=2)
    set_variant(app, tenant, shirt["M / Red"], inventory_tracked=False, inventory_quantity=0)
    client = shop_client(tenant)
    url = f"/products/{shirt['handle']}"
    # The default skips the sold-out first variant.
    assert "Selected: S / Blue" in client.get(url).text
    assert "Sold out" in client.get(f"{url}?variant={shirt['S / Red']}").text
    assert "Only 2 left" in client.get(f"{url}?variant={shirt['S / Blue']}").text
    assert "In stock" in client.get(f"{url}?variant={shirt['M / Blue']}").text  # 10 > 3
    assert "In stock" in client.get(f"{url}?variant={shirt['M / Red']}").text  # untracked
    offers = {o["sku"]: o["availability"] for o in product_ld(client.get(url).text)["offers"]}
    assert offers[f"{shirt['handle']}-s-red"] == "https://schema.org/OutOfStock"
    assert offers[f"{shirt['handle']}-s-blue"] == "https://schema.org/InStock"
    with app.app_context(), tenant_context(tenant):
        db.session.query(Product).filter_by(handle=shirt["handle"]).one().continue_selling = True
        db.session.commit()
    backorder = client.get(f"{url}?variant={shirt['S / Red']}").text
    assert "Available to order" in backorder and "Sold out" not in backorder
    offers = {o["sku"]: o["availability"] for o in product_ld(backorder)["offers"]}
    assert offers[f"{shirt['handle']}-s-red"] == "https://schema.org/BackOrder"


def test_compare_at_price_shows_a_sale(app, make_tenant, shop_client):
    tenant = make_tenant()
    shirt = make_shirt(app, tenant)
    set_variant(app, tenant, shirt["S / Red"], compare_at_cents=4500)
    client = shop_client(tenant)
    page = client.get(f"/products/{shirt['handle']}").text
    assert "Sale" in page
    assert re.search(r'<s class="compare-at">.*\$45\.00</s>', page)
    plain = client.get(f"/products/{shirt['handle']}?variant={shirt['M / Red']}").text
    assert 'class="compare-at"' not in plain and "sale-badge" not in plain


def test_json_ld_describes_the_product_and_cannot_be_broken_out_of(app, make_tenant, shop_client):
    tenant = make_tenant()
    shirt = make_shirt(app, tenant, title="Shirt </script><script>alert(1)</script>")
    page = shop_client(tenant).get(f"/products/{shirt['handle']}").text
    assert "<script>alert(1)" not in page
    blocks = json_lds(page)
    assert {b["@type"] for b in blocks} >= {"Product", "BreadcrumbList"}
    data = product_ld(page)
    assert data["name"] == "Shirt </script><script>alert(1)</script>"
    assert data["description"] == "Soft linen."  # plain text
    assert data["sku"]
    assert len(data["offers"]) == 4
    offer = data["offers"][0]
    assert offer["price"] == "30.00" and offer["priceCurrency"] == "USD"
    assert offer["availability"] == "https://schema.org/InStock"
    assert offer["url"].startswith("http") and "?variant=" in offer["url"]
    # The rich description is printed as stored (it was sanitised when saved).
    assert "<p>Soft <strong>linen</strong>.</p>" in page


def add_images(app: Any, tenant: Any, handle: str, resize: bool = True) -> list[str]:
    with app.app_context(), tenant_context(tenant):
        item = db.session.query(Product).filter_by(handle=handle).one()
        first = add_image(item, png(colour="red"), alt="Front view")
        second = add_image(item, png(800, 600, "blue"), alt="")
        db.session.commit()
        ids, files = [first.id, second.id], [first.file, second.file]
    if resize:
        with app.app_context(), tenant_context(tenant):
            for image_id in ids:
                resize_image(image_id)
    return files


def test_gallery_markup(app, make_tenant, shop_client):
    tenant = make_tenant()
    shirt = make_shirt(app, tenant)
    files = add_images(app, tenant, shirt["handle"])
    client = shop_client(tenant)
    page = client.get(f"/products/{shirt['handle']}").text
    imgs = re.findall(r"<img [^>]*>", page, re.S)
    gallery = [tag for tag in imgs if "/media/p" in tag]
    assert len(gallery) == 2
    first, second = gallery
    assert f"/media/{files[0]}" in first and 'width="1600"' in first and 'height="1000"' in first
    assert 'alt="Front view"' in first and 'loading="lazy"' not in first
    stem = files[0].rsplit(".", 1)[0]
    for width in (320, 640, 1200):
        assert f"/media/{stem}-{width}w.jpg {width}w" in first
    assert f"/media/{files[0]} 1600w" in first
    assert 'loading="lazy"' in second and 'alt="Linen Shirt"' in second  # title fallback
    assert status(client, f"/media/{stem}-640w.jpg") == 200
    data = product_ld(page)
    assert [u.rsplit("/", 1)[1] for u in data["image"]] == files
    assert all(u.startswith("http") for u in data["image"])
    # The chosen variant's own image comes first.
    with app.app_context(), tenant_context(tenant):
        item = db.session.query(Product).filter_by(handle=shirt["handle"]).one()
        blue = item.images[1].id
    set_variant(app, tenant, shirt["M / Blue"], image_id=blue)
    chosen = client.get(f"/products/{shirt['handle']}?option1=M&option2=Blue").text
    assert chosen.index(f"/media/{files[1]}") < chosen.index(f"/media/{files[0]}")


def test_srcset_lists_only_copies_that_exist(app, make_tenant, shop_client):
    tenant = make_tenant()
    shirt = make_shirt(app, tenant)
    files = add_images(app, tenant, shirt["handle"], resize=False)
    page = shop_client(tenant).get(f"/products/{shirt['handle']}").text
    assert f'srcset="/media/{files[0]} 1600w"' in page
    assert "-320w" not in page


def test_a_shops_product_page_never_shows_another_shops_images(app, make_tenant, shop_client):
    a = make_tenant()
    b = make_tenant()
    shirt_a = make_shirt(app, a)
    shirt_b = make_shirt(app, b)  # the same handle in both shops
    assert shirt_a["handle"] == shirt_b["handle"]
    files = add_images(app, a, shirt_a["handle"])
    stem = files[0].rsplit(".", 1)[0]
    client_b = shop_client(b)
    page = client_b.get(f"/products/{shirt_b['handle']}").text
    assert files[0] not in page and stem not in page and "/media/p" not in page
    assert status(client_b, f"/media/{files[0]}") == 404
    assert status(client_b, f"/media/{stem}-320w.jpg") == 404
    # A's variant ids mean nothing on B.
    with app.app_context(), tenant_context(a):
        item = db.session.query(Product).filter_by(handle=shirt_a["handle"]).one()
        a_variant = item.variants[-1].id
    crossed = client_b.get(f"/products/{shirt_b['handle']}?variant={a_variant + 1000}")
    assert crossed.status_code == 200 and files[0] not in crossed.text
    assert status(shop_client(a), f"/media/{files[0]}") == 200


def test_a_product_without_variant_rows_still_shows(app, make_tenant, shop_client):
    tenant = make_tenant()
    with app.app_context(), tenant_context(tenant):
        db.session.add(Product(title="Old Lamp", handle="old-lamp", price_cents=1250))
        db.session.commit()
    page = shop_client(tenant).get("/products/old-lamp")
    assert page.status_code == 200
    assert "$12.50" in page.text and "In stock" in page.text
    assert "not available" not in page.text and 'class="variant-picker"' not in page.text
    assert product_ld(page.text)["offers"][0]["price"] == "12.50"
    with app.app_context(), tenant_context(tenant):
        # Showing it wrote nothing.
        assert db.session.query(Product).filter_by(handle="old-lamp").one().variants == []


def test_descriptions_in_meta_and_structured_data_keep_words_apart(app, make_tenant, shop_client):
    tenant = make_tenant()
    with app.app_context(), tenant_context(tenant):
        item = create_product(
            "Field Jacket",
            9000,
            description=(
                "<p>Long days outside.</p><ul><li>Taped seams</li><li>Two pockets</li></ul>"
            ),
        )
        db.session.commit()
        handle = item.handle
    page = shop_client(tenant).get(f"/products/{handle}").text
    assert product_ld(page)["description"] == "Long days outside. Taped seams Two pockets"
    assert 'content="Long days outside. Taped seams Two pockets"' in page
