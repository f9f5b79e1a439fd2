"""The product page stays cheap with reviews: one query for the summary, one for the
page of reviews; cards read the product's own columns. And logged-in customers review
from their order history."""

from __future__ import annotations

import re
from contextlib import contextmanager

from sqlalchemy import event

from saas.db import db
from saas.tenancy import tenant_context
from tenants.catalog.models import Product
from tenants.reviews import services
from tenants.reviews.models import Review
from tenants.settings.services import get_settings
from tests.customers.test_customers import customer_client, make_customer
from tests.reviews.conftest import buy


@contextmanager
def counted(app):
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        if "review" in statement.lower() or "FROM" in statement:
            statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _reviewed(app, tenant, product_id: int, count: int) -> None:
    with app.test_request_context(), tenant_context(tenant):
        product = db.session.get(Product, product_id)
        settings = get_settings()
        for n in range(count):
            review = services.write_review(
                product, services.ReviewInput(1 + n % 5, f"T{n}", f"Body {n}", "Sam"), settings
            )
            services.publish(review)


def test_reviews_cost_the_product_page_two_queries_and_cards_none(app, make_tenant, shop_client):
    tenant = make_tenant()
    plain, rated = buy(app, tenant, "Plain"), buy(app, tenant, "Rated")
    _reviewed(app, tenant, rated.product_id, 200)
    client = shop_client(tenant)
    client.get(f"/products/{plain.handle}")  # warm the shop's snapshot
    with counted(app) as without:
        assert client.get(f"/products/{plain.handle}?x=1").status_code == 200
    with counted(app) as with_reviews:
        page = client.get(f"/products/{rated.handle}?x=1")
    assert "Based on 200 reviews" in page.get_data(as_text=True)
    review_queries = [s for s in with_reviews if "reviews" in s]
    assert len(review_queries) == 2
    assert len(with_reviews) == len(without) + 2
    with counted(app) as listing:
        text = client.get("/collections/all?x=1").get_data(as_text=True)
    assert "Rated 3.0 out of 5" in text
    assert not [s for s in listing if "reviews" in s]


def test_a_logged_in_customer_reviews_from_the_order_history(app, make_tenant):
    tenant = make_tenant()
    customer = make_customer(app, tenant)
    item = buy(app, tenant, customer_id=customer.id)
    client = customer_client(app, tenant, customer)
    with app.app_context(), tenant_context(tenant):
        from tenants.orders.models import Order

        number = db.session.get(Order, item.order_id).number
    text = client.get(f"/account/orders/{number}").get_data(as_text=True)
    link = re.search(r'href="(/reviews/write/[^"]+)"', text)
    assert link is not None
    client.post(link.group(1), data={"rating": "5", "body": "Mine.", "author_name": "Casey"})
    with app.app_context(), tenant_context(tenant):
        review = services.review_of_line(item.line_id)
        assert (review.customer_id, review.verified) == (customer.id, True)


def test_the_cached_product_page_follows_publish_and_reject(app, make_tenant, shop_client):
    tenant = make_tenant()
    item = buy(app, tenant)
    client = shop_client(tenant)
    first = client.get(f"/products/{item.handle}")
    assert "No reviews yet." in first.get_data(as_text=True)
    etag = first.headers.get("ETag")
    assert (
        client.get(f"/products/{item.handle}", headers={"If-None-Match": etag}).status_code == 304
    )
    with app.test_request_context(), tenant_context(tenant):
        product = db.session.get(Product, item.product_id)
        review = services.write_review(
            product, services.ReviewInput(5, "", "Now shown.", "Sam"), get_settings()
        )
        review_id = review.id
    assert "Now shown." not in client.get(f"/products/{item.handle}").get_data(as_text=True)
    with app.app_context(), tenant_context(tenant):
        services.publish(db.session.get(Review, review_id))
    assert "Now shown." in client.get(f"/products/{item.handle}").get_data(as_text=True)
    with app.app_context(), tenant_context(tenant):
        services.reject(db.session.get(Review, review_id))
    assert "Now shown." not in client.get(f"/products/{item.handle}").get_data(as_text=True)
