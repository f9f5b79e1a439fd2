"""Writing, moderating and showing reviews (tenants/reviews, tenants/shop/reviews.py)."""

from __future__ import annotations

import json
import re
from decimal import Decimal

from sqlalchemy import select

from saas.db import db
from saas.tenancy import tenant_context
from tenants.catalog.models import Product
from tenants.reviews import services
from tenants.reviews.models import Review, ReviewStatus
from tenants.settings.services import get_settings
from tests.reviews.conftest import buy

GOOD = {"rating": "5", "title": "Lovely mug", "body": "Keeps tea warm.", "author_name": "Robin B."}


def _product(app, tenant, product_id):
    with app.app_context(), tenant_context(tenant):
        p = db.session.get(Product, product_id)
        return p.rating_average, p.rating_count


def _reviews(app, tenant):
    with app.app_context(), tenant_context(tenant):
        return [
            (r.rating, r.status, r.verified, r.title, r.body)
            for r in db.session.scalars(select(Review).order_by(Review.id))
        ]


def _settings(app, tenant, **values):
    with app.app_context(), tenant_context(tenant):
        settings = get_settings()
        for key, value in values.items():
            setattr(settings, key, value)


def test_the_link_opens_a_form_and_the_review_waits_for_approval(app, bought, shop_client):
    client = shop_client(bought.tenant)
    page = client.get(bought.path)
    assert page.status_code == 200
    assert "private" in page.headers["Cache-Control"]
    text = page.get_data(as_text=True)
    assert "Write a review" in text and "Verified buyer" in text
    assert 'value="Robin B."' in text  # the buyer's first name and initial to start from
    done = client.post(bought.path, data=GOOD)
    assert done.status_code == 200
    assert "once the shop has read it" in done.get_data(as_text=True)
    assert _reviews(app, bought.tenant) == [(5, "pending", True, "Lovely mug", "Keeps tea warm.")]
    assert _product(app, bought.tenant, bought.product_id) == (Decimal("0.00"), 0)


def test_mistakes_come_back_with_field_messages_and_nothing_is_saved(app, bought, shop_client):
    page = shop_client(bought.tenant).post(bought.path, data={"rating": "9", "body": " "})
    assert page.status_code == 400
    text = page.get_data(as_text=True)
    assert "Choose a rating from 1 to 5 stars." in text
    assert "Tell other shoppers what you thought." in text
    assert "Enter the name to show with your review." in text
    assert _reviews(app, bought.tenant) == []


def test_text_is_stored_without_markup_and_shown_escaped(app, bought, shop_client):
    _settings(app, bought.tenant, reviews_moderation="auto", reviews_hold_links=False)
    client = shop_client(bought.tenant)
    client.post(
        bought.path,
        data={**GOOD, "title": "<b>Great</b>", "body": "<script>x()</script>5 < 6 & <i>ok</i>"},
    )
    assert _reviews(app, bought.tenant)[0][3:] == ("Great", "5 < 6 & ok")
    text = client.get(f"/products/{bought.handle}").get_data(as_text=True)
    assert "5 &lt; 6 &amp; ok" in text and "<script>x()" not in text


def test_one_review_per_line_and_an_edit_replaces_it(app, bought, shop_client):
    _settings(app, bought.tenant, reviews_moderation="auto")
    client = shop_client(bought.tenant)
    client.post(bought.path, data=GOOD)
    assert _product(app, bought.tenant, bought.product_id) == (Decimal("5.00"), 1)
    again = client.get(bought.path).get_data(as_text=True)
    assert "Edit your review" in again and "Keeps tea warm." in again
    client.post(bought.path, data={**GOOD, "rating": "2", "body": "Chipped."})
    assert _reviews(app, bought.tenant) == [(2, "published", True, "Lovely mug", "Chipped.")]
    assert _product(app, bought.tenant, bought.product_id) == (Decimal("2.00"), 1)


def test_auto_publish_holds_links_blocked_words_and_low_ratings(app, make_tenant, shop_client):
    tenant = make_tenant()
    _settings(
        app,
        tenant,
        reviews_moderation="auto",
        reviews_blocked_words="rubbish\nscam",
        reviews_hold_rating=2,
    )
    product = buy(app, tenant)
    cases = [
        ({**GOOD, "body": "See www.cheap.example"}, "pending", "Contains a link"),
        ({**GOOD, "body": "Total SCAM"}, "pending", "Contains a blocked word (scam)"),
        ({**GOOD, "rating": "2"}, "pending", "Rated 2 of 5"),
        (GOOD, "published", ""),
    ]
    client = shop_client(tenant)
    for form, status, reason in cases:
        line = buy(app, tenant, product_id=product.product_id)
        client.post(line.path, data=form)
        with app.app_context(), tenant_context(tenant):
            review = services.review_of_line(line.line_id)
            assert (review.status, review.held_reason) == (status, reason)
    assert _product(app, tenant, product.product_id) == (Decimal("5.00"), 1)


def test_publish_reject_delete_and_report_keep_the_product_summary(app, make_tenant):
    tenant = make_tenant()
    first = buy(app, tenant)
    ids = []
    with app.test_request_context(), tenant_context(tenant):
        product = db.session.get(Product, first.product_id)
        for rating in (5, 4, 1):
            entry = services.ReviewInput(rating, "", "Fine.", "Sam")
            ids.append(services.write_review(product, entry, get_settings()).id)
        assert services.moderate(ids, "publish") == 3
    assert _product(app, tenant, first.product_id) == (Decimal("3.33"), 3)
    with app.app_context(), tenant_context(tenant):
        services.reject(db.session.get(Review, ids[2]))
    assert _product(app, tenant, first.product_id) == (Decimal("4.50"), 2)
    with app.app_context(), tenant_context(tenant):
        services.report(db.session.get(Review, ids[0]))
    assert _product(app, tenant, first.product_id) == (Decimal("4.00"), 1)
    with app.app_context(), tenant_context(tenant):
        review = db.session.get(Review, ids[0])
        assert (review.status, review.report_count) == (ReviewStatus.PENDING, 1)
        services.delete_review(db.session.get(Review, ids[1]))
    assert _product(app, tenant, first.product_id) == (Decimal("0.00"), 0)


def test_the_product_page_shows_published_reviews_only(app, make_tenant, shop_client):
    tenant = make_tenant()
    first = buy(app, tenant)
    with app.test_request_context(), tenant_context(tenant):
        product = db.session.get(Product, first.product_id)
        settings = get_settings()
        shown = services.write_review(
            product, services.ReviewInput(4, "Solid", "Good weight.", "Ann"), settings
        )
        services.publish(shown)
        services.set_reply(shown, "Thank you, Ann!")
        hidden = services.write_review(
            product, services.ReviewInput(1, "Awful", "Secret pending text.", "Bo"), settings
        )
        services.reject(hidden)
    page = shop_client(tenant).get(f"/products/{first.handle}")
    text = page.get_data(as_text=True)
    assert "Good weight." in text and "Thank you, Ann!" in text
    assert "Secret pending text." not in text
    assert "Based on 1 review" in text
    blocks = re.findall(r'<script type="application/ld\+json">(.*?)</script>', text, re.S)
    data = next(json.loads(b) for b in blocks if '"Product"' in b)
    assert data["aggregateRating"]["ratingValue"] == "4.00"
    assert data["aggregateRating"]["reviewCount"] == 1
    assert [r["reviewBody"] for r in data["review"]] == ["Good weight."]


def test_a_product_without_reviews_has_no_rating_in_its_data(app, bought, shop_client):
    text = shop_client(bought.tenant).get(f"/products/{bought.handle}").get_data(as_text=True)
    assert "No reviews yet." in text
    assert "aggregateRating" not in text


def test_sorts_and_pages_of_reviews(app, make_tenant, shop_client):
    tenant = make_tenant()
    first = buy(app, tenant)
    with app.test_request_context(), tenant_context(tenant):
        product = db.session.get(Product, first.product_id)
        for n in range(12):
            review = services.write_review(
                product,
                services.ReviewInput(1 + n % 5, f"Review {n}", f"Body {n}.", "Sam"),
                get_settings(),
            )
            services.publish(review)
    client = shop_client(tenant)
    newest = client.get(f"/products/{first.handle}").get_data(as_text=True)
    assert "Body 11." in newest and "Body 1." not in newest
    assert "Page 1 of 2" in newest
    older = client.get(f"/products/{first.handle}?reviews_page=2").get_data(as_text=True)
    assert "Body 1." in older and "Body 11." not in older
    lowest = client.get(f"/products/{first.handle}?reviews=lowest").get_data(as_text=True)
    assert lowest.index("Body 10.") < lowest.index("Body 3.") and "Body 4." not in lowest
    assert client.get(f"/products/{first.handle}?reviews_page=x").status_code == 200


def test_cards_show_stars_and_collections_sort_by_rating(app, make_tenant, shop_client):
    tenant = make_tenant()
    low, high = buy(app, tenant, "Low"), buy(app, tenant, "High")
    with app.test_request_context(), tenant_context(tenant):
        for item, rating in ((low, 2), (high, 5)):
            product = db.session.get(Product, item.product_id)
            review = services.write_review(
                product, services.ReviewInput(rating, "", "Text.", "Sam"), get_settings()
            )
            services.publish(review)
    text = shop_client(tenant).get("/collections/all?sort=rating").get_data(as_text=True)
    assert text.index(high.handle) < text.index(low.handle)
    assert 'aria-label="Rated 5.0 out of 5"' in text and "(1<span" in text


def test_non_buyers_review_only_when_the_shop_allows_it(app, bought, shop_client):
    client = shop_client(bought.tenant)
    new = f"/products/{bought.handle}/reviews/new"
    assert client.get(new).status_code == 404
    assert client.post(new, data={**GOOD, "email": "a@example.com"}).status_code == 404
    _settings(app, bought.tenant, reviews_allow_guests=True)
    assert "Write a review" in client.get(f"/products/{bought.handle}").get_data(as_text=True)
    assert client.post(new, data=GOOD).status_code == 400  # an email is needed
    assert client.post(new, data={**GOOD, "email": "a@example.com"}).status_code == 200
    assert _reviews(app, bought.tenant) == [(5, "pending", False, "Lovely mug", "Keeps tea warm.")]


def test_the_honeypot_saves_nothing(app, bought, shop_client):
    page = shop_client(bought.tenant).post(bought.path, data={**GOOD, "website": "spam"})
    assert page.status_code == 200
    assert _reviews(app, bought.tenant) == []


def test_reviews_are_rate_limited_per_order(app, bought, shop_client):
    client = shop_client(bought.tenant)
    statuses = [client.post(bought.path, data=GOOD).status_code for _ in range(11)]
    assert statuses[:10] == [200] * 10
    assert statuses[10] == 429


def test_unfulfilled_orders_and_bad_tokens_cannot_review(app, make_tenant, shop_client):
    tenant = make_tenant()
    waiting = buy(app, tenant, status="unfulfilled")
    client = shop_client(tenant)
    assert client.get(waiting.path).status_code == 404
    assert client.get("/reviews/write/nonsense").status_code == 404
    assert client.post(waiting.path, data=GOOD).status_code == 404
    assert _reviews(app, tenant) == []


def test_a_shopper_reports_a_review_with_a_confirmation(app, make_tenant, shop_client):
    tenant = make_tenant()
    first = buy(app, tenant)
    with app.test_request_context(), tenant_context(tenant):
        product = db.session.get(Product, first.product_id)
        review = services.write_review(
            product, services.ReviewInput(5, "", "Shown.", "Sam"), get_settings()
        )
        services.publish(review)
        review_id = review.id
    client = shop_client(tenant)
    ask = client.get(f"/reviews/{review_id}/report")
    assert ask.status_code == 200 and "Report this review?" in ask.get_data(as_text=True)
    done = client.post(f"/reviews/{review_id}/report")
    assert done.status_code == 302
    assert "Shown." not in client.get(f"/products/{first.handle}").get_data(as_text=True)
    assert client.get(f"/reviews/{review_id}/report").status_code == 404  # no longer shown
    assert _product(app, tenant, first.product_id) == (Decimal("0.00"), 0)


def test_order_pages_link_each_shipped_line_to_its_review(app, bought, shop_client):
    with app.app_context(), tenant_context(bought.tenant):
        from tenants.orders.models import Order

        token = db.session.get(Order, bought.order_id).token
    text = shop_client(bought.tenant).get(f"/orders/{token}").get_data(as_text=True)
    link = re.search(r'href="(/reviews/write/[^"]+)"', text)
    assert link is not None
    assert shop_client(bought.tenant).get(link.group(1)).status_code == 200
