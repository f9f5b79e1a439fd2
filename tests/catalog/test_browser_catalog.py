"""Issue 4 in real Chromium: a merchant builds a catalog, a shopper finds and picks a variant."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.chromium import playwright_api
from tests.conftest import STAFF_PASSWORD


@pytest.fixture
def new_page(browser):
    """Factory: a page in a fresh context (its own cookies), closed after the test."""
    contexts = []

    def make(width: int = 1280, height: int = 900):
        context = browser.new_context(viewport={"width": width, "height": height})
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def _png(path: Path) -> Path:
    from PIL import Image

    Image.new("RGB", (64, 48), (180, 160, 120)).save(path, "PNG")
    return path


def _variant(page, title: str):
    """The variants form's fieldset of one variant (its legend is the variant's title)."""
    return page.get_by_role("group", name=title, exact=True)


def test_merchant_builds_a_catalog_and_a_shopper_picks_a_variant(
    new_page, live_server, make_tenant, make_staff, tmp_path
):
    expect = playwright_api.expect
    tenant = make_tenant(name="Coast Linen", launched=True)
    other = make_tenant(name="Other Shop", products=[("Linen Towel", 900)], launched=True)
    owner = make_staff(tenant, role="owner")
    host = f"{tenant.slug}.localhost"

    # --- the merchant ------------------------------------------------------------
    admin = new_page()
    admin.goto(live_server.url(host, "/admin/login"))
    admin.get_by_label("Email").fill(owner.email)
    admin.get_by_label("Password").fill(STAFF_PASSWORD)
    admin.get_by_role("button", name="Log in").click()
    admin.get_by_role("link", name="Products", exact=True).first.click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("Products")
    admin.get_by_role("link", name="Add product").first.click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("Add product")
    # One form: details, an image, price, stock and options, one save.
    admin.get_by_label("Title").fill("Linen Shirt")
    admin.get_by_label("Description").fill("A breezy shirt of washed linen.")
    admin.get_by_label("Add images").set_input_files(str(_png(tmp_path / "shirt.png")))
    admin.get_by_label(re.compile(r"^Price")).fill("30.00")
    admin.get_by_label(re.compile(r"^Stock")).fill("5")
    admin.get_by_label("Option 1 name").fill("Size")
    admin.get_by_label("Option 1 values").fill("S, M")
    admin.get_by_role("button", name="Add product").click()
    expect(admin.get_by_text("“Linen Shirt” was added.")).to_be_visible()
    row = admin.get_by_role("row", name=re.compile("Linen Shirt"))
    expect(row.locator("img.thumb")).to_have_count(1)  # the list shows its thumbnail

    admin.get_by_role("link", name="Linen Shirt").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("Linen Shirt")
    expect(admin.get_by_text("64 \u00d7 48 pixels")).to_be_visible()
    small, medium = _variant(admin, "S"), _variant(admin, "M")
    expect(medium.get_by_label(re.compile(r"^Price"))).to_have_value("30.00")
    small.get_by_label(re.compile(r"^Stock")).fill("4")
    medium.get_by_label(re.compile(r"^Price")).fill("34.50")
    medium.get_by_label(re.compile(r"^Stock")).fill("2")
    admin.get_by_label("Alt text of image 1").fill("A folded linen shirt")
    admin.get_by_role("button", name="Save product").click()
    expect(admin.get_by_text("Product saved.")).to_be_visible()
    expect(_variant(admin, "M").get_by_label(re.compile(r"^Price"))).to_have_value("34.50")
    expect(admin.get_by_label("Alt text of image 1")).to_have_value("A folded linen shirt")

    # A manual collection holding the shirt.
    admin.get_by_role("link", name="Back to products").click()
    admin.get_by_role("navigation", name="Back office").get_by_role(
        "link", name="Collections"
    ).click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("Collections")
    admin.get_by_role("link", name="Add collection").click()
    admin.get_by_label("Title").fill("Shirts")
    admin.get_by_label("Kind").select_option(label="Manual — you choose the products")
    admin.get_by_role("button", name="Create collection").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("Shirts")
    admin.get_by_label("Product to add").select_option(label="Linen Shirt")
    admin.get_by_role("button", name="Add to collection").click()
    products = admin.get_by_role("region", name="Products")
    expect(products.get_by_role("link", name="Linen Shirt")).to_be_visible()
    expect(admin.get_by_text("No products in this collection yet.")).to_have_count(0)

    # Another theme, then the homepage's sections reordered and published.
    admin.get_by_role("link", name="Themes", exact=True).first.click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("Themes")
    admin.get_by_role("button", name=re.compile(r"^Use this theme\W+Boutique")).click()
    expect(admin.get_by_text("Your storefront now uses the Boutique theme.")).to_be_visible()
    admin.get_by_role("link", name="Customise the theme and homepage").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("Customise Boutique")
    sections = admin.get_by_role("list").filter(has_text="Featured collection").last
    expect(sections.get_by_role("listitem").first).to_contain_text("Hero banner")
    admin.get_by_role("button", name="Move up Featured collection 2").click()
    expect(admin.get_by_text("Section moved up.")).to_be_visible()
    expect(sections.get_by_role("listitem").first).to_contain_text("Featured collection")
    expect(admin.get_by_text("You have unpublished changes.")).to_be_visible()
    admin.get_by_role("button", name="Publish", exact=True).click()
    expect(admin.get_by_text("Published: shoppers now see your changes.")).to_be_visible()

    # --- the shopper (no back-office session) ------------------------------------
    shop = new_page(390, 844)  # a phone
    shop.goto(live_server.url(host))
    # Boutique's warm paper background, not Base's white.
    background = shop.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(251, 246, 239)", background
    headings = shop.get_by_role("heading").all_inner_texts()
    assert headings.index("Featured products") < headings.index("Coast Linen"), headings
    expect(shop.get_by_role("link", name="Linen Shirt").first).to_be_visible()

    shop.get_by_text("Menu", exact=True).click()  # a phone: search folds into the menu
    shop.get_by_role("search").get_by_label("Search products").fill("lnen shirt")
    shop.get_by_role("search").get_by_role("button", name="Search").click()
    expect(shop.get_by_role("heading", level=1)).to_have_text("Results for “lnen shirt”")
    expect(shop.get_by_text("1 product found.")).to_be_visible()
    expect(shop.get_by_role("link", name="Linen Shirt").first).to_be_visible()
    expect(shop.get_by_text("Linen Towel")).to_have_count(0)  # another shop's product

    shop.goto(live_server.url(host, "/collections/shirts"))
    expect(shop.get_by_role("heading", level=1)).to_have_text("Shirts")
    expect(shop.get_by_text("1 product", exact=True)).to_be_visible()
    shop.get_by_label("Sort by").select_option(label="Price, high to low")
    shop.get_by_label("Price from").fill("20")
    shop.get_by_role("button", name="Apply").click()
    expect(shop).to_have_url(re.compile(r"sort=price-desc"))
    expect(shop.get_by_label("Sort by")).to_have_value("price-desc")
    expect(shop.get_by_text("1 product", exact=True)).to_be_visible()
    shop.get_by_label("Price from").fill("100")
    shop.get_by_role("button", name="Apply").click()
    expect(shop.get_by_text("No products match these filters.")).to_be_visible()
    shop.get_by_label("Price from").fill("")
    shop.get_by_label("Availability").select_option(label="In stock")
    shop.get_by_label("Size").select_option("M")
    shop.get_by_role("button", name="Apply").click()
    expect(shop).to_have_url(re.compile(r"available=in.*option\.size=M"))
    expect(shop.get_by_label("Size")).to_have_value("M")
    expect(shop.get_by_text("1 product", exact=True)).to_be_visible()

    shop.get_by_role("link", name="Linen Shirt").first.click()
    expect(shop.get_by_role("heading", level=1)).to_have_text("Linen Shirt")
    expect(shop.get_by_text("$30.00")).to_be_visible()
    shop.get_by_label("Size").select_option("M")
    shop.get_by_role("button", name="Choose").click()
    expect(shop.get_by_text("Selected: M")).to_be_visible()
    expect(shop.get_by_text("$34.50")).to_be_visible()
    expect(shop.get_by_text("$30.00")).to_have_count(0)

    # The other shop knows nothing of this collection.
    shop.goto(live_server.url(f"{other.slug}.localhost", "/collections/shirts"))
    expect(shop.get_by_role("heading", level=1)).not_to_have_text("Shirts")


def test_merchant_orders_images_by_dragging_or_with_the_move_buttons(
    new_page, live_server, make_tenant, make_staff, tmp_path
):
    expect = playwright_api.expect
    tenant = make_tenant(name="Kiln", products=[("Clay Cup", 900)])
    owner = make_staff(tenant, role="owner")
    admin = new_page()
    admin.goto(live_server.url(f"{tenant.slug}.localhost", "/admin/login"))
    admin.get_by_label("Email").fill(owner.email)
    admin.get_by_label("Password").fill(STAFF_PASSWORD)
    admin.get_by_role("button", name="Log in").click()
    admin.get_by_role("link", name="Products", exact=True).first.click()
    admin.get_by_role("link", name="Clay Cup").click()
    files = [_png(tmp_path / f"{name}.png") for name in ("side", "top")]
    admin.get_by_label("Add images").set_input_files([str(f) for f in files])
    admin.get_by_role("button", name="Save product").click()
    expect(admin.get_by_text(re.compile("2 images added"))).to_be_visible()
    admin.get_by_label("Alt text of image 1").fill("The cup from the side")
    admin.get_by_label("Alt text of image 2").fill("The cup from above")
    admin.keyboard.press("Enter")  # Enter saves: the first button is Save, not a Move
    expect(admin.get_by_text("Product saved.")).to_be_visible()
    expect(admin.get_by_label("Alt text of image 1")).to_have_value("The cup from the side")

    # Dragged into a new order, kept by the one Save.
    images = admin.locator("ol.image-list > li")
    images.nth(1).drag_to(images.nth(0), target_position={"x": 10, "y": 5})
    admin.get_by_role("button", name="Save product").click()
    expect(admin.get_by_label("Alt text of image 1")).to_have_value("The cup from above")

    # The Move buttons, which need no script, put it back.
    admin.get_by_role("button", name="Move image 2 up").click()
    expect(admin.get_by_text("Image moved.")).to_be_visible()
    expect(admin.get_by_label("Alt text of image 1")).to_have_value("The cup from the side")

    admin.get_by_label("Delete image 2 when saving").check()
    admin.get_by_role("button", name="Save product").click()
    expect(admin.get_by_label("Alt text of image 2")).to_have_count(0)
    expect(admin.get_by_label("Alt text of image 1")).to_have_value("The cup from the side")
