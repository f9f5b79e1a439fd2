"""One address formatter everywhere: the checkout review, the order status page, the
order emails, and the back office's order and customer pages all print an address as
its country writes it (a US state as "OR", never the stored code "US-OR")."""

from __future__ import annotations

import re

from sqlalchemy import select

from saas.db import db
from saas.jobs import make_worker
from saas.outbox import OutboxMessage
from saas.tenancy import tenant_context
from tenants.customers.models import CustomerAddress
from tenants.orders.models import Order
from tenants.shipping.models import ShippingRate, ShippingZone
from tests.checkout.test_checkout import add_to_cart, open_shop, total_on
from tests.customers.test_customers import make_customer, make_order

PORTLAND = {
    "name": "Ann Lee",
    "line1": "1 Pine St",
    "line2": "Apt 4",
    "city": "Portland",
    "region": "US-OR",
    "postal_code": "97201",
    "country": "US",
}
PORTLAND_LINES = ["Ann Lee", "1 Pine St", "Apt 4", "Portland, OR 97201", "United States"]


def address_html(page: str) -> list[str]:
    """The lines of each <address> on the page."""
    return [
        [line.strip() for line in block.split("<br>") if line.strip()]
        for block in re.findall(r"<address>(.*?)</address>", page, re.S)
    ]


def test_the_storefront_checkout_and_emails_print_a_us_address_the_us_way(
    app, make_tenant, shop_client, staff_client
):
    shop = make_tenant()
    staff_client(shop, role="owner")
    variant = open_shop(app, shop, vat=False)
    with app.app_context(), tenant_context(shop):
        zone = ShippingZone(name="USA", countries=["US"], regions=[])
        zone.rates = [ShippingRate(name="USPS", kind="flat", price_cents=900)]
        db.session.add(zone)
        db.session.commit()
    client = shop_client(shop)
    add_to_cart(client, variant)
    typed = {k: v for k, v in PORTLAND.items() if k != "region"} | {"region": "Oregon"}
    assert client.post("/checkout", data={"email": "ann@example.com", **typed}).status_code == 302
    shipping = client.get("/checkout/shipping").text
    assert "Shipping to Ann Lee, 1 Pine St, Apt 4, Portland, OR 97201, United States." in shipping
    key = re.search(r'name="shipping" value="([^"]+)"', shipping).group(1)
    client.post("/checkout/shipping", data={"shipping": key})
    client.post("/checkout/payment", data={"payment": "bank_transfer"})
    review = client.get("/checkout/review").text
    assert address_html(review) == [PORTLAND_LINES]
    assert "US-OR" not in review

    placed = client.post("/checkout/review", data={"total": total_on(review)})
    assert placed.status_code in (302, 303)
    status_page = client.get(placed.headers["Location"], follow_redirects=True).text
    assert PORTLAND_LINES in address_html(status_page)
    assert "US-OR" not in status_page

    make_worker(app).work(burst=True)
    with app.app_context(), tenant_context(shop):
        bodies = list(db.session.scalars(select(OutboxMessage.body)))
        order = db.session.scalars(select(Order)).one()
        assert order.shipping_address["region"] == "US-OR"  # stored as the code
    confirmation = next(b for b in bodies if b.startswith("Thank you for your order"))
    assert (
        "Shipping to:\n  Ann Lee\n  1 Pine St\n  Apt 4\n  Portland, OR 97201\n  United States"
        in (confirmation)
    )
    assert all("US-OR" not in body for body in bodies)


def test_the_back_office_order_and_customer_pages_use_the_same_formatter(
    app, make_tenant, staff_client
):
    shop = make_tenant()
    customer = make_customer(app, shop, "ann@example.com", name="Ann Lee")
    order = make_order(app, shop, customer_id=customer.id, shipping_address=PORTLAND)
    with app.app_context(), tenant_context(shop):
        db.session.add(
            CustomerAddress(
                customer_id=customer.id,
                **{k: v for k, v in PORTLAND.items()},
                phone="+1 503 555 0100",
                is_default=True,
            )
        )
        db.session.add(
            CustomerAddress(
                customer_id=customer.id,
                name="Ann Lee",
                line1="Friedrichstraße 10",
                city="Berlin",
                postal_code="10117",
                country="DE",
            )
        )
        db.session.commit()
    client = staff_client(shop, permissions=["orders", "customers"])

    order_page = client.get(f"/admin/orders/{order.number}").text
    assert address_html(order_page) == [PORTLAND_LINES]
    assert "US-OR" not in order_page

    customer_page = client.get(f"/admin/customers/{customer.id}").text
    assert address_html(customer_page) == [
        [*PORTLAND_LINES, "+1 503 555 0100"],
        ["Ann Lee", "Friedrichstraße 10", "10117 Berlin", "Germany"],
    ]
    assert "US-OR" not in customer_page


def test_each_country_s_address_as_it_writes_it(app):
    lines = app.jinja_env.filters["address_lines"]  # what every template uses
    assert lines(PORTLAND) == PORTLAND_LINES
    # A region that is not a code (typed before regions were lists) prints as typed.
    assert lines(PORTLAND | {"region": "Oregon"})[3] == "Portland, Oregon 97201"
    assert lines(
        {
            "name": "Tom Fox",
            "line1": "10 Downing St",
            "city": "London",
            "region": "",
            "postal_code": "SW1A 2AA",
            "country": "GB",
        }
    ) == ["Tom Fox", "10 Downing St", "London", "SW1A 2AA", "United Kingdom"]
    assert lines(
        {
            "name": "Eva Roth",
            "company": "Roth GmbH",
            "line1": "Friedrichstraße 10",
            "city": "Berlin",
            "postal_code": "10117",
            "country": "DE",
            "phone": "+49 30 1234567",
        },
        include_phone=True,
    ) == [
        "Eva Roth",
        "Roth GmbH",
        "Friedrichstraße 10",
        "10117 Berlin",
        "Germany",
        "+49 30 1234567",
    ]
    assert lines(
        {
            "name": "Aiko Sato",
            "line1": "1-1 Chiyoda",
            "city": "Chiyoda-ku",
            "region": "JP-13",
            "postal_code": "100-0001",
            "country": "JP",
        }
    )[-2:] == ["Chiyoda-ku, Tokyo 100-0001", "Japan"]
    assert (
        lines(
            {
                "name": "Sam Roy",
                "line1": "1 Main St",
                "city": "Toronto",
                "region": "CA-ON",
                "postal_code": "M5V 2T6",
                "country": "CA",
            },
            include_country=False,
        )[-1]
        == "Toronto ON M5V 2T6"
    )
    assert lines(None) == [] and lines({}) == []
