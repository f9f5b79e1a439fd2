"""The shopper's cart: add, change, remove, stock, the mini-cart, and what it never leaks."""

from __future__ import annotations

import re
from contextlib import contextmanager
from html import unescape
from typing import Any

import pytest
from sqlalchemy import func, select

from saas.db import db
from saas.tenancy import tenant_context
from tenants.catalog.models import Product, ProductImage, ProductOption, ProductVariant
from tenants.catalog.products import create_product
from tenants.checkout import cart as carts
from tenants.checkout.models import Cart, CartLine
from tenants.customers.models import Customer
from tenants.discounts.models import Discount
from tenants.shop import cart_session
from tests.shop.test_page_cache import counted_sql, page_keys

MINUS = "\u2212"  # the cart shows a discount as a real minus sign


def make_product(
    app: Any,
    tenant: Any,
    title: str = "Teapot",
    price: int = 1500,
    *,
    stock: int | None = None,
    continue_selling: bool = False,
    colours: list[str] | None = None,
    image: bool = False,
) -> dict[str, Any]:
    """A committed product; its ids (`variants` by colour when it has colours)."""
    with app.app_context(), tenant_context(tenant):
        product = create_product(title, price, inventory_quantity=stock)
        product.continue_selling = continue_selling
        variants = {"": product.variants[0]}
        if colours:
            product.options.append(ProductOption(position=1, name="Colour", values=colours))
            first = product.variants[0]
            first.option1 = colours[0]
            variants = {colours[0]: first}
            for n, colour in enumerate(colours[1:], 2):
                variant = ProductVariant(
                    position=n,
                    option1=colour,
                    price_cents=price + 100 * (n - 1),
                    inventory_tracked=stock is not None,
                    inventory_quantity=stock or 0,
                )
                product.variants.append(variant)
                variants[colour] = variant
        if image:
            product.images.append(
                ProductImage(file="pic.jpg", alt="A teapot", width=800, height=600, sizes=[320])
            )
        db.session.commit()
        return {
            "id": product.id,
            "handle": product.handle,
            "variant": product.variants[0].id,
            "variants": {k: v.id for k, v in variants.items()},
        }


def add(client: Any, item: dict[str, Any], quantity: Any = 1, variant: int | None = None) -> Any:
    return client.post(
        "/cart/add",
        data={
            "product": item["id"],
            "variant": variant or item["variant"],
            "quantity": quantity,
        },
    )


def header_cart(html: str) -> str:
    """The mini-cart link's accessible name (its label, else its text)."""
    match = re.search(r'<a class="header-cart"([^>]*)>(.*?)</a>', html, re.S)
    assert match, "no mini-cart in the header"
    label = re.search(r'aria-label="([^"]*)"', match.group(1))
    text = re.sub(r"<[^>]+>", "", match.group(2)).strip()
    if label:
        assert label.group(1).startswith(text.rstrip(")")), "the name must include the text"
        return label.group(1)
    return text


def cart_lines(app: Any, tenant: Any) -> list[tuple[int, int]]:
    with app.app_context(), tenant_context(tenant):
        return [
            (line.variant_id, line.quantity)
            for line in db.session.scalars(select(CartLine).order_by(CartLine.id))
        ]


def cart_count(app: Any, tenant: Any) -> int:
    with app.app_context(), tenant_context(tenant):
        return db.session.scalar(select(func.count()).select_from(Cart)) or 0


def set_stock(app: Any, tenant: Any, variant_id: int, quantity: int) -> None:
    with app.app_context(), tenant_context(tenant):
        variant = db.session.get(ProductVariant, variant_id)
        variant.inventory_tracked = True
        variant.inventory_quantity = quantity
        db.session.commit()


@contextmanager
def csrf_on(app: Any):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        yield
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


# --- add, change, remove -------------------------------------------------------------------


def test_add_update_and_remove(app, make_tenant, shop_client):
    shop = make_tenant()
    mug = make_product(app, shop, "Blue Mug", 1250, image=True)
    client = shop_client(shop)
    response = add(client, mug, 2)
    assert response.status_code == 302 and response.headers["Location"] == "/cart"
    page = client.get("/cart")
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "private, no-store"
    html = page.text
    assert "Blue Mug (quantity 2) added to your cart." in html
    assert "Blue Mug" in html and "$12.50 each" in html and "$25.00" in html
    assert "Subtotal (2 items)" in html
    assert header_cart(html) == "Cart (2 items)"
    assert 'src="/media/pic-320w.jpg"' in html  # the product's first image, small copy
    [(variant_id, quantity)] = cart_lines(app, shop)
    assert (variant_id, quantity) == (mug["variant"], 2)
    with app.app_context(), tenant_context(shop):
        line_id = db.session.scalar(select(CartLine.id))
    assert (
        f'<label for="quantity-{line_id}">Quantity<span class="visually-hidden"> of Blue Mug'
        in html
    )

    # Adding the same item again adds up; changing the quantity replaces it.
    add(client, mug, 1)
    assert cart_lines(app, shop) == [(mug["variant"], 3)]
    response = client.post(f"/cart/lines/{line_id}", data={"quantity": "5"})
    assert response.status_code == 302
    html = client.get("/cart").text
    assert "Blue Mug: quantity updated to 5." in html and "$62.50" in html
    assert header_cart(html) == "Cart (5 items)"

    client.post(f"/cart/lines/{line_id}/remove")
    html = client.get("/cart").text
    assert "Blue Mug was removed from your cart." in html
    assert "Your cart is empty." in html and "Continue shopping" in html
    assert header_cart(html) == "Cart"
    assert cart_lines(app, shop) == []


def test_quantity_zero_removes_and_bad_quantities_are_refused(app, make_tenant, shop_client):
    shop = make_tenant()
    mug = make_product(app, shop, "Mug", 900)
    client = shop_client(shop)
    for quantity, message in (
        ("0", "Choose a quantity of 1 or more."),
        ("-2", "Choose a quantity of 1 or more."),
        ("abc", "Enter the quantity as a whole number, like 1 or 2."),
        ("1000", "You can buy at most 999 of an item."),
        ("99999999999999999999", "You can buy at most 999 of an item."),
    ):
        response = add(client, mug, quantity)
        assert response.status_code == 302
        assert response.headers["Location"].startswith(f"/products/{mug['handle']}")
        page = client.get(response.headers["Location"]).text
        assert message in page, quantity
    assert cart_count(app, shop) == 0  # a refused add makes no cart

    add(client, mug, 2)
    with app.app_context(), tenant_context(shop):
        line_id = db.session.scalar(select(CartLine.id))
    for quantity, message in (("-1", "Choose a quantity of 1 or more."), ("1000", "at most 999")):
        client.post(f"/cart/lines/{line_id}", data={"quantity": quantity})
        assert message in client.get("/cart").text
    assert cart_lines(app, shop) == [(mug["variant"], 2)]
    client.post(f"/cart/lines/{line_id}", data={"quantity": "0"})
    assert cart_lines(app, shop) == []
    assert "Mug was removed from your cart." in client.get("/cart").text


def test_variants_are_separate_lines(app, make_tenant, shop_client):
    shop = make_tenant()
    shirt = make_product(app, shop, "Shirt", 2000, colours=["Blue", "Red"])
    client = shop_client(shop)
    add(client, shirt, 1, shirt["variants"]["Blue"])
    add(client, shirt, 2, shirt["variants"]["Red"])
    html = client.get("/cart").text
    assert "Blue" in html and "Red" in html
    assert "of Shirt (Red)" in html  # each quantity is labelled with the item
    assert "$20.00 each" in html and "$21.00 each" in html
    assert "Subtotal (3 items)" in html and "$62.00" in html


# --- stock ---------------------------------------------------------------------------------


def test_quantities_are_capped_by_stock(app, make_tenant, shop_client):
    shop = make_tenant()
    lamp = make_product(app, shop, "Lamp", 4000, stock=3)
    client = shop_client(shop)
    response = add(client, lamp, 5)
    # A stock problem sends the shopper back to the product, with the message.
    assert response.headers["Location"] == f"/products/lamp?variant={lamp['variant']}"
    page = client.get(response.headers["Location"]).text
    assert "Only 3 left: your cart has 3." in page
    assert cart_lines(app, shop) == [(lamp["variant"], 3)]
    again = add(client, lamp, 1)
    assert "Only 3 left: your cart has 3." in client.get(again.headers["Location"]).text
    assert cart_lines(app, shop) == [(lamp["variant"], 3)]

    with app.app_context(), tenant_context(shop):
        line_id = db.session.scalar(select(CartLine.id))
    client.post(f"/cart/lines/{line_id}", data={"quantity": "7"})
    assert "Only 3 left: your cart has 3." in client.get("/cart").text

    # Stock sold elsewhere meanwhile: adding more brings the line down to what is left.
    set_stock(app, shop, lamp["variant"], 2)
    again = add(client, lamp, 1)
    assert "Only 2 left: your cart has 2." in client.get(again.headers["Location"]).text
    assert cart_lines(app, shop) == [(lamp["variant"], 2)]
    set_stock(app, shop, lamp["variant"], 3)
    client.post(f"/cart/lines/{line_id}", data={"quantity": "3"})

    # And the cart page lowers the quantity and says so, once.
    set_stock(app, shop, lamp["variant"], 1)
    html = client.get("/cart").text
    assert "Only 1 left: your cart has 1." in html
    assert cart_lines(app, shop) == [(lamp["variant"], 1)]
    assert header_cart(html) == "Cart (1 item)"
    assert "Only 1 left" not in client.get("/cart").text
    set_stock(app, shop, lamp["variant"], 0)
    html = client.get("/cart").text
    assert "Lamp is sold out and was removed from your cart." in html
    assert "Your cart is empty." in html and cart_lines(app, shop) == []


def test_sold_out_and_backorder(app, make_tenant, shop_client):
    shop = make_tenant()
    gone = make_product(app, shop, "Gone", 1000, stock=0)
    backorder = make_product(app, shop, "Later", 1000, stock=0, continue_selling=True)
    untracked = make_product(app, shop, "Plenty", 1000)
    client = shop_client(shop)
    product_page = client.get("/products/gone").text
    assert re.search(r"<button[^>]*disabled[^>]*>Sold out</button>", product_page)
    response = add(client, gone, 1)
    assert "Sorry, Gone is sold out." in client.get(response.headers["Location"]).text
    assert cart_count(app, shop) == 0
    assert add(client, backorder, 40).headers["Location"] == "/cart"
    assert add(client, untracked, 999).headers["Location"] == "/cart"
    response = add(client, untracked, 1)
    message = "You can buy at most 999 of an item: your cart has 999."
    assert message in client.get(response.headers["Location"]).text
    assert sorted(q for _, q in cart_lines(app, shop)) == [40, 999]


def test_products_no_longer_for_sale_drop_out(app, make_tenant, shop_client):
    shop = make_tenant()
    kept = make_product(app, shop, "Kept", 500)
    archived = make_product(app, shop, "Archived", 700)
    deleted = make_product(app, shop, "Deleted", 900)
    client = shop_client(shop)
    for item in (kept, archived, deleted):
        add(client, item, 1)
    with app.app_context(), tenant_context(shop):
        db.session.get(Product, archived["id"]).status = "archived"
        db.session.commit()
    html = client.get("/cart").text
    assert "Archived is no longer available and was removed from your cart." in html
    assert header_cart(html) == "Cart (2 items)"
    with app.app_context(), tenant_context(shop):
        db.session.delete(db.session.get(Product, deleted["id"]))  # its lines go with it
        db.session.commit()
    html = client.get("/cart").text
    assert "Some items in your cart are no longer available and were removed." in html
    assert "Subtotal (1 item)" in html and "$5.00" in html
    assert header_cart(html) == "Cart (1 item)"
    # Adding something not for sale is refused.
    response = add(client, archived, 1)
    assert (
        "Sorry, this product is no longer available."
        in client.get(response.headers["Location"]).text
    )
    assert add(client, {"id": 0, "variant": 987654}, 1).status_code == 302
    assert cart_lines(app, shop) == [(kept["variant"], 1)]


def test_a_product_saved_without_variants_can_be_bought(app, make_tenant, shop_client):
    shop = make_tenant()
    old = make_product(app, shop, "Old Stock", 800, stock=4)
    with app.app_context(), tenant_context(shop):
        db.session.delete(db.session.get(ProductVariant, old["variant"]))
        db.session.commit()
    client = shop_client(shop)
    page = client.get("/products/old-stock").text
    assert ">Add to cart</button>" in page and 'name="variant"' not in page
    response = client.post("/cart/add", data={"product": old["id"], "quantity": "6"})
    assert "Only 4 left: your cart has 4." in client.get(response.headers["Location"]).text
    [(variant_id, quantity)] = cart_lines(app, shop)
    assert variant_id != old["variant"] and quantity == 4  # its one variant, made now


def test_a_cart_holds_at_most_100_lines(app, make_tenant):
    shop = make_tenant()
    with app.app_context(), tenant_context(shop):
        cart = Cart(token="t" * 40)
        db.session.add(cart)
        variants = [create_product(f"Item {n}", 100).variants[0].id for n in range(101)]
        for variant_id in variants[:100]:
            carts.add(cart, variant_id, 1)
        try:
            carts.add(cart, variants[100], 1)
        except carts.CartError as error:
            assert "at most 100 different items" in str(error)
        else:
            raise AssertionError("the 101st line was accepted")
        carts.add(cart, variants[0], 1)  # more of an item already there is fine
        assert carts.count(cart) == 101


# --- the token, the session, the header ----------------------------------------------------


def test_tampered_or_foreign_cart_cookie_is_ignored(app, make_tenant, shop_client):
    shop_a = make_tenant()
    shop_b = make_tenant()
    teapot = make_product(app, shop_a, "Teapot", 1500)
    make_product(app, shop_b, "Kettle", 2000)
    client_a = shop_client(shop_a)
    add(client_a, teapot, 2)
    name = app.config["SESSION_COOKIE_NAME"]
    cookie = client_a.get_cookie(name, domain=f"{shop_a.slug}.localhost")
    assert cookie is not None

    # Tampered: one character of the signed value changed.
    tampered = shop_client(shop_a)
    value = cookie.value
    flipped = value[:-3] + ("A" if value[-3] != "A" else "B") + value[-2:]
    tampered.set_cookie(name, flipped, domain=f"{shop_a.slug}.localhost")
    html = tampered.get("/cart").text
    assert "Your cart is empty." in html and header_cart(html) == "Cart"

    # Foreign: shop A's genuine cookie presented to shop B.
    foreign = shop_client(shop_b)
    foreign.set_cookie(name, value, domain=f"{shop_b.slug}.localhost")
    html = foreign.get("/cart").text
    assert "Your cart is empty." in html and "Teapot" not in html
    assert header_cart(html) == "Cart"
    assert cart_count(app, shop_b) == 0
    assert cart_lines(app, shop_a) == [(teapot["variant"], 2)]  # A's cart untouched


def test_a_cart_token_copied_to_another_shop_finds_nothing(app, make_tenant, shop_client):
    shop_a = make_tenant()
    shop_b = make_tenant()
    teapot = make_product(app, shop_a, "Teapot", 1500)
    kettle = make_product(app, shop_b, "Kettle", 2000)
    client_a = shop_client(shop_a)
    add(client_a, teapot, 1)
    with app.app_context(), tenant_context(shop_a):
        token = db.session.scalar(select(Cart.token))
    client_b = shop_client(shop_b)
    with client_b.session_transaction(base_url=f"http://{shop_b.slug}.localhost") as session:
        session[cart_session.TOKEN_KEY] = token
        session[cart_session.COUNT_KEY] = 1
    html = client_b.get("/cart").text
    assert "Your cart is empty." in html and "Teapot" not in html
    # Shop B's own cart, made on the next add, is a different one.
    add(client_b, kettle, 1)
    html = client_b.get("/cart").text
    assert "Kettle" in html and "Teapot" not in html
    with app.app_context(), tenant_context(shop_b):
        assert db.session.scalar(select(Cart.token)) != token
    assert cart_lines(app, shop_a) == [(teapot["variant"], 1)]


def test_header_count_and_the_page_cache(app, make_tenant, shop_client):
    shop = make_tenant()
    mug = make_product(app, shop, "Mug", 900)
    shopper = shop_client(shop)
    add(shopper, mug, 2)
    page = shopper.get("/")
    assert header_cart(page.text) == "Cart (2 items)"
    assert "public" not in page.headers.get("Cache-Control", "")  # personal: never shared

    visitor = shop_client(shop)  # no cart, no session
    first = visitor.get("/")
    assert header_cart(first.text) == "Cart"
    assert "Set-Cookie" not in first.headers  # looking does not start a session
    assert first.headers["Cache-Control"].startswith("public")
    assert page_keys(app, shop)
    add(shopper, mug, 1)  # someone's cart changing leaves the shared pages alone
    with counted_sql(app) as statements:
        second = visitor.get("/")
    assert second.text == first.text and statements == []  # from the cache
    # The cart page itself makes no session or cart for a visitor without one.
    empty = visitor.get("/cart")
    assert "Your cart is empty." in empty.text and "Set-Cookie" not in empty.headers
    assert cart_count(app, shop) == 1


def test_product_page_with_the_buy_form_stays_cacheable(app, make_tenant, shop_client):
    shop = make_tenant()
    make_product(app, shop, "Teapot", 1500, stock=5)
    client = shop_client(shop)
    first = client.get("/products/teapot")
    html = first.text
    assert 'action="/cart/add"' in html and "csrf_token" not in html
    assert '<label for="buy-quantity">Quantity</label>' in html
    assert re.search(r'<input id="buy-quantity"[^>]*max="5"', html)
    assert ">Add to cart</button>" in html
    assert first.headers["Cache-Control"].startswith("public") and "Set-Cookie" not in first.headers
    with counted_sql(app) as statements:
        again = client.get("/products/teapot")
    assert again.text == html and statements == []


def test_cross_site_add_to_cart_is_refused(app, make_tenant, shop_client):
    shop = make_tenant()
    mug = make_product(app, shop, "Mug", 900)
    client = shop_client(shop)
    data = {"product": mug["id"], "variant": mug["variant"], "quantity": "1"}
    for origin in ("https://evil.example", "null", f"http://other{shop.slug}.localhost"):
        response = client.post("/cart/add", data=data, headers={"Origin": origin})
        assert response.status_code == 403, origin
    response = client.post("/cart/add", data=data, headers={"Referer": "https://evil.example/page"})
    assert response.status_code == 403
    assert cart_count(app, shop) == 0
    ok = client.post("/cart/add", data=data, headers={"Origin": f"http://{shop.slug}.localhost"})
    assert ok.status_code == 302 and cart_lines(app, shop) == [(mug["variant"], 1)]


def test_cart_page_forms_need_their_csrf_token(app, make_tenant, shop_client):
    shop = make_tenant()
    mug = make_product(app, shop, "Mug", 900)
    client = shop_client(shop)
    with csrf_on(app):
        # Add to cart works without a token (checked by origin instead).
        assert add(client, mug, 2).status_code == 302
        page = client.get("/cart").text
        with app.app_context(), tenant_context(shop):
            line_id = db.session.scalar(select(CartLine.id))
        posts = len(re.findall(r'<form[^>]*method="post"', page))
        assert posts == 3 and page.count('name="csrf_token" value="') == posts
        refused = client.post(f"/cart/lines/{line_id}", data={"quantity": "5"})
        assert refused.status_code == 400
        assert client.post(f"/cart/lines/{line_id}/remove").status_code == 400
        assert client.post("/cart/discount", data={"code": "X"}).status_code == 400
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        done = client.post(f"/cart/lines/{line_id}", data={"quantity": "5", "csrf_token": token})
        assert done.status_code == 302
    assert cart_lines(app, shop) == [(mug["variant"], 5)]


def test_discount_code_on_the_cart_page(app, make_tenant, shop_client):
    shop = make_tenant()
    mug = make_product(app, shop, "Mug", 4000)
    with app.app_context(), tenant_context(shop):
        db.session.add(Discount(code="Save10", kind="percentage", value=1000))
        db.session.add(
            Discount(code="BIG", kind="fixed_amount", value=500, min_subtotal_cents=10000)
        )
        db.session.commit()
    client = shop_client(shop)
    add(client, mug, 2)
    wrong = client.post("/cart/discount", data={"code": "NOPE"})
    assert wrong.status_code == 400
    assert "We don't know this code." in unescape(wrong.text) and 'value="NOPE"' in wrong.text
    assert 'aria-invalid="true"' in wrong.text
    short = client.post("/cart/discount", data={"code": "big"})
    assert short.status_code == 400 and "Spend $100.00 or more to use this code." in short.text
    done = client.post("/cart/discount", data={"code": " save10 "})
    assert done.status_code == 302
    html = client.get("/cart").text
    assert "Discount code Save10 applied." in html
    assert "Save10 (10% off)" in html and MINUS + "$8.00" in html and "$72.00" in html
    # The code stays on the cart; when it stops applying, the page says why.
    with app.app_context(), tenant_context(shop):
        db.session.scalar(select(Discount).where(Discount.code == "Save10")).usage_limit = 0
        db.session.commit()
    html = client.get("/cart").text
    assert "This code has been used up." in html and MINUS + "$8.00" not in html
    # An automatic discount still applies meanwhile, as at checkout.
    with app.app_context(), tenant_context(shop):
        db.session.add(Discount(code=None, title="Spring", kind="fixed_amount", value=300))
        db.session.commit()
    html = client.get("/cart").text
    assert "This code has been used up." in html
    assert "Discount: Spring ($3.00 off)" in html and MINUS + "$3.00" in html
    client.post("/cart/discount/remove")
    html = client.get("/cart").text
    assert "Discount code removed." in html and "used up" not in html
    with app.app_context(), tenant_context(shop):
        assert db.session.scalar(select(Cart.discount_code)) == ""


def test_checkout_button_only_when_checkout_exists(app, make_tenant, shop_client):
    shop = make_tenant()
    mug = make_product(app, shop, "Mug", 900)
    client = shop_client(shop)
    assert "Check out" not in client.get("/cart").text  # an empty cart never offers it
    add(client, mug, 1)
    html = client.get("/cart").text
    if "shop.checkout" in app.view_functions:
        assert ">Check out</a>" in html
    else:
        assert ">Check out</a>" not in html


# --- at login: merging carts ---------------------------------------------------------------


def test_merge_and_claim_at_login(app, make_tenant):
    shop = make_tenant()
    lamp = make_product(app, shop, "Lamp", 4000, stock=3)
    mug = make_product(app, shop, "Mug", 900)
    host = f"{shop.slug}.localhost"
    with app.app_context(), tenant_context(shop):
        customer = Customer(email="ann@example.com", name="Ann")
        db.session.add(customer)
        saved = Cart(token="saved-" + "x" * 30, customer_id=None, discount_code="")
        db.session.add(saved)
        db.session.flush()
        saved.customer_id = customer.id
        carts.add(saved, lamp["variant"], 2)
        db.session.commit()
        customer_id, saved_id = customer.id, saved.id

    with app.test_request_context("/", base_url=f"http://{host}"), tenant_context(shop):
        from flask import session

        anonymous = cart_session.current_cart(create=True)
        carts.add(anonymous, lamp["variant"], 2)  # 2 + 2 > 3 in stock
        carts.add(anonymous, mug["variant"], 1)
        anonymous.discount_code = "WELCOME"
        before = cart_session.current_cart()
        session.clear()  # what logging in does
        cart, messages = cart_session.claim_for_customer(before, customer_id)
        assert cart is not None and cart.id == saved_id
        assert messages == ["Lamp: Only 3 left: your cart has 3."]
        assert (
            session[cart_session.TOKEN_KEY] == cart.token and session[cart_session.COUNT_KEY] == 4
        )
        assert cart.discount_code == "WELCOME"
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(Cart)) == 1

    # A customer coming back on another browser gets their cart.
    with app.test_request_context("/", base_url=f"http://{host}"), tenant_context(shop):
        from flask import session

        cart, messages = cart_session.claim_for_customer(cart_session.current_cart(), customer_id)
        assert cart is not None and cart.id == saved_id and messages == []
        assert session[cart_session.COUNT_KEY] == 4
        summary = carts.summary(cart)
        assert [(line.title, line.quantity) for line in summary.lines] == [("Lamp", 3), ("Mug", 1)]
        assert summary.subtotal_cents == 3 * 4000 + 900


# --- valid HTML ----------------------------------------------------------------------------


def test_cart_pages_are_valid_html(app, make_tenant, shop_client, tmp_path):
    from tests.shop.test_html_valid import assert_valid, check_html, checker_command

    command = checker_command()  # skips without the Nu Html Checker
    pages: dict[str, str] = {}
    for theme in ("base", "boutique", "midnight"):
        shop = make_tenant(theme=theme)
        shirt = make_product(app, shop, "Shirt", 2000, stock=2, colours=["Blue", "Red"], image=True)
        make_product(app, shop, "Gone", 1000, stock=0)
        with app.app_context(), tenant_context(shop):
            db.session.add(Discount(code="SAVE", kind="percentage", value=1000))
            db.session.commit()
        client = shop_client(shop)
        pages[f"{theme}: empty cart"] = client.get("/cart").text
        pages[f"{theme}: sold-out product"] = client.get("/products/gone").text
        pages[f"{theme}: product, unavailable combination"] = client.get(
            "/products/shirt?option1=Green"
        ).text
        response = add(client, shirt, 5, shirt["variants"]["Blue"])
        pages[f"{theme}: product after a stock problem"] = client.get(
            response.headers["Location"]
        ).text
        add(client, shirt, 1, shirt["variants"]["Red"])
        pages[f"{theme}: discount refused"] = client.post(
            "/cart/discount", data={"code": "NOPE"}
        ).text
        client.post("/cart/discount", data={"code": "SAVE"})
        pages[f"{theme}: cart with a discount"] = client.get("/cart").text
        assert "Only 2 left" in pages[f"{theme}: product after a stock problem"]
        assert "SAVE (10% off)" in pages[f"{theme}: cart with a discount"]
    assert_valid(check_html(command, pages, tmp_path / "pages"), list(pages))


@pytest.mark.parametrize("theme", ["base", "boutique", "midnight"])
def test_every_theme_shows_the_cart_link(app, make_tenant, shop_client, theme):
    tenant = make_tenant(theme=theme)
    page = shop_client(tenant).get("/").text
    assert 'href="/cart"' in page
