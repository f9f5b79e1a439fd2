"""The back office's Reviews area: queue, bulk moderation, reply, settings."""

from __future__ import annotations

from decimal import Decimal

from saas.db import db
from saas.tenancy import tenant_context
from tenants.catalog.models import Product
from tenants.reviews import services
from tenants.reviews.models import Review
from tenants.settings.services import get_settings
from tests.reviews.conftest import buy


def _pending(app, tenant, *texts):
    first = buy(app, tenant)
    ids = []
    with app.test_request_context(), tenant_context(tenant):
        product = db.session.get(Product, first.product_id)
        for n, text in enumerate(texts):
            entry = services.ReviewInput(5 - n, f"Title {n}", text, f"Author {n}")
            ids.append(services.write_review(product, entry, get_settings()).id)
    return first, ids


def _status(app, tenant, review_id):
    with app.app_context(), tenant_context(tenant):
        review = db.session.get(Review, review_id)
        return review.status if review is not None else None


def test_the_queue_lists_pending_reviews_and_bulk_approves_after_asking(
    app, make_tenant, staff_client, shop_client
):
    tenant = make_tenant()
    first, ids = _pending(app, tenant, "Waiting one.", "Waiting two.")
    client = staff_client(tenant, permissions=["reviews"])
    page = client.get("/admin/reviews")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Waiting one." in text or "Title 0" in text
    assert "2 reviews waiting for approval" in text
    assert '<span class="nav-badge">2' in text
    ask = client.post("/admin/reviews/bulk", data={"action": "publish", "review": ids})
    assert ask.status_code == 200 and "Publish 2 reviews?" in ask.get_data(as_text=True)
    assert _status(app, tenant, ids[0]) == "pending"
    done = client.post(
        "/admin/reviews/bulk", data={"action": "publish", "review": ids, "confirm": "1"}
    )
    assert done.status_code == 302
    assert [_status(app, tenant, i) for i in ids] == ["published", "published"]
    with app.app_context(), tenant_context(tenant):
        product = db.session.get(Product, first.product_id)
        assert (product.rating_average, product.rating_count) == (Decimal("4.50"), 2)
    assert "Waiting two." in shop_client(tenant).get(f"/products/{first.handle}").get_data(
        as_text=True
    )


def test_a_reply_shows_under_the_published_review(app, make_tenant, staff_client, shop_client):
    tenant = make_tenant()
    first, (review_id,) = _pending(app, tenant, "Nice.")
    client = staff_client(tenant, permissions=["reviews"])
    assert client.get(f"/admin/reviews/{review_id}/publish").status_code == 200
    assert client.post(f"/admin/reviews/{review_id}/publish").status_code == 302
    assert (
        client.post(f"/admin/reviews/{review_id}/reply", data={"reply": "Thanks!"}).status_code
        == 302
    )
    text = shop_client(tenant).get(f"/products/{first.handle}").get_data(as_text=True)
    assert "Reply from" in text and "Thanks!" in text
    too_long = client.post(f"/admin/reviews/{review_id}/reply", data={"reply": "x" * 5001})
    assert too_long.status_code == 400 and "at most 5000" in too_long.get_data(as_text=True)


def test_deleting_asks_first(app, make_tenant, staff_client):
    tenant = make_tenant()
    _, (review_id,) = _pending(app, tenant, "Spam.")
    client = staff_client(tenant, permissions=["reviews"])
    ask = client.get(f"/admin/reviews/{review_id}/delete")
    assert "cannot be undone" in ask.get_data(as_text=True)
    assert _status(app, tenant, review_id) == "pending"
    assert client.post(f"/admin/reviews/{review_id}/delete").status_code == 302
    assert _status(app, tenant, review_id) is None


def test_settings_are_validated_and_saved(app, make_tenant, staff_client):
    tenant = make_tenant()
    client = staff_client(tenant, permissions=["reviews"])
    bad = client.post(
        "/admin/reviews/settings",
        data={"moderation": "auto", "hold_rating": "9", "request_days": "999"},
    )
    assert bad.status_code == 400
    assert "Enter a number of days from 0 to 90." in bad.get_data(as_text=True)
    ok = client.post(
        "/admin/reviews/settings",
        data={
            "moderation": "auto",
            "hold_links": "1",
            "blocked_words": "scam\n  free   money ",
            "hold_rating": "2",
            "allow_guests": "1",
            "request_days": "10",
        },
    )
    assert ok.status_code == 302
    with app.app_context(), tenant_context(tenant):
        settings = get_settings()
        assert settings.reviews_moderation == "auto"
        assert settings.reviews_blocked_words == "scam\nfree money"
        assert (settings.reviews_hold_rating, settings.reviews_request_days) == (2, 10)
        assert settings.reviews_allow_guests


def test_staff_without_the_reviews_area_cannot_open_it(app, make_tenant, staff_client):
    tenant = make_tenant()
    _, (review_id,) = _pending(app, tenant, "Hidden.")
    client = staff_client(tenant, permissions=["orders"])
    for url in ("/admin/reviews", f"/admin/reviews/{review_id}", "/admin/reviews/settings"):
        assert client.get(url).status_code == 403
    assert client.post("/admin/reviews/bulk", data={"action": "publish"}).status_code == 403
    assert "/admin/reviews" not in client.get("/admin/orders").get_data(as_text=True)
