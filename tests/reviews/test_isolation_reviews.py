"""Shop A's review links, ids and pages never reach shop B's reviews, and back."""

from __future__ import annotations

from saas.db import db
from saas.tenancy import tenant_context
from tenants.catalog.models import Product
from tenants.reviews import services
from tenants.reviews.models import Review
from tenants.settings.services import get_settings
from tests.reviews.conftest import buy

GOOD = {"rating": "5", "title": "Mine", "body": "Cross-shop attempt.", "author_name": "Eve"}


def _published(app, tenant, product_id) -> int:
    with app.test_request_context(), tenant_context(tenant):
        product = db.session.get(Product, product_id)
        review = services.write_review(
            product, services.ReviewInput(5, "", "Shop text.", "Ann"), get_settings()
        )
        services.publish(review)
        return review.id


def _count(app, tenant) -> int:
    with app.app_context(), tenant_context(tenant):
        return db.session.query(Review).count()


def test_a_review_link_of_shop_a_reviews_nothing_in_shop_b(app, make_tenant, shop_client):
    a, b = make_tenant(), make_tenant()
    in_a = buy(app, a)
    in_b = buy(app, b)  # shop B has an order line with the same kind of id
    client_b = shop_client(b)
    assert client_b.get(in_a.path).status_code == 404
    assert client_b.post(in_a.path, data=GOOD).status_code == 404
    # B's own link works on B only, never on A.
    assert shop_client(a).get(in_b.path).status_code == 404
    assert _count(app, a) == 0 and _count(app, b) == 0


def test_report_pages_and_product_forms_stay_in_their_shop(app, make_tenant, shop_client):
    a, b = make_tenant(), make_tenant()
    in_a = buy(app, a)
    review_id = _published(app, a, in_a.product_id)
    with app.app_context(), tenant_context(b):
        get_settings().reviews_allow_guests = True
    client_b = shop_client(b)
    assert client_b.get(f"/reviews/{review_id}/report").status_code == 404
    assert client_b.post(f"/reviews/{review_id}/report").status_code == 404
    assert client_b.get(f"/products/{in_a.handle}/reviews/new").status_code == 404
    assert client_b.post(f"/products/{in_a.handle}/reviews/new", data=GOOD).status_code == 404
    with app.app_context(), tenant_context(a):
        assert db.session.get(Review, review_id).report_count == 0
    assert "Shop text." not in client_b.get("/collections/all").get_data(as_text=True)


def test_the_back_office_of_shop_b_cannot_touch_shop_a_reviews(app, make_tenant, staff_client):
    a, b = make_tenant(), make_tenant()
    in_a = buy(app, a)
    review_id = _published(app, a, in_a.product_id)
    owner_b = staff_client(b, role="owner")
    assert owner_b.get(f"/admin/reviews/{review_id}").status_code == 404
    for action in ("publish", "reject", "delete"):
        assert owner_b.get(f"/admin/reviews/{review_id}/{action}").status_code == 404
        assert owner_b.post(f"/admin/reviews/{review_id}/{action}").status_code == 404
    assert owner_b.post(f"/admin/reviews/{review_id}/reply", data={"reply": "x"}).status_code == 404
    bulk = owner_b.post(
        "/admin/reviews/bulk", data={"action": "delete", "review": [review_id], "confirm": "1"}
    )
    assert bulk.status_code == 302
    listed = owner_b.get("/admin/reviews?status=all").get_data(as_text=True)
    assert "Shop text." not in listed
    with app.app_context(), tenant_context(a):
        review = db.session.get(Review, review_id)
        assert (review.status, review.reply) == ("published", "")
