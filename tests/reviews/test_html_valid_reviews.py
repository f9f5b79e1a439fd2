"""The review pages are valid HTML in every theme (the Nu Html Checker, as
tests/shop/test_html_valid.py runs it on the other pages)."""

from __future__ import annotations

import io
import re

from PIL import Image

from saas.db import db
from saas.mail import send_email
from saas.tenancy import tenant_context
from tenants.reviews import services
from tenants.settings.services import get_settings
from tests.reviews.conftest import buy
from tests.shop.test_html_valid import assert_valid, check_html, checker_command, get, post

THEMES = ("base", "boutique", "midnight")
GOOD = {"rating": "4", "title": "Good", "body": "Line one.\nLine two.", "author_name": "Ann"}


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (700, 500), (20, 120, 200)).save(out, format="PNG")
    return out.getvalue()


def test_review_pages_are_valid_html(app, make_tenant, shop_client, staff_client, tmp_path):
    command = checker_command()
    pages: dict[str, str] = {}
    for theme in THEMES:
        tenant = make_tenant(theme=theme)
        with app.app_context(), tenant_context(tenant):
            get_settings().reviews_allow_guests = True
        item = buy(app, tenant)
        client = shop_client(tenant)
        pages[f"{theme} product, no reviews"] = get(client, f"/products/{item.handle}")
        pages[f"{theme} review form"] = get(client, item.path)
        pages[f"{theme} review form, mistakes"] = post(client, item.path, {"rating": "0"}, 400)
        sent = client.post(
            item.path,
            data={**GOOD, "photos": (io.BytesIO(_png()), "p.png")},
            content_type="multipart/form-data",
        )
        pages[f"{theme} review thanks"] = sent.get_data(as_text=True)
        with app.app_context(), tenant_context(tenant):
            review = services.review_of_line(item.line_id)
            services.publish(review)
            services.set_reply(review, "Thank you!")
            review_id = review.id
        for n in range(11):
            more = buy(app, tenant, product_id=item.product_id)
            client.post(more.path, data={**GOOD, "rating": str(1 + n % 5)})
        with app.app_context(), tenant_context(tenant):
            services.moderate(range(review_id, review_id + 20), "publish")
        pages[f"{theme} product, reviews"] = get(client, f"/products/{item.handle}")
        pages[f"{theme} product, reviews page 2"] = get(
            client, f"/products/{item.handle}?reviews=lowest&reviews_page=2"
        )
        pages[f"{theme} collection, rated cards"] = get(client, "/collections/all?sort=rating")
        pages[f"{theme} report"] = get(client, f"/reviews/{review_id}/report")
        pages[f"{theme} link problem"] = get(client, "/reviews/write/nope", 404)
        pages[f"{theme} non-buyer form"] = get(client, f"/products/{item.handle}/reviews/new")
        with app.app_context(), tenant_context(tenant):
            from tenants.orders.models import Order

            token = db.session.get(Order, item.order_id).token
        pages[f"{theme} order status, review links"] = get(client, f"/orders/{token}")
        if theme == "base":
            handle = item.handle.encode()
            owner = staff_client(tenant, role="owner")
            pages["admin reviews"] = get(owner, "/admin/reviews?status=all")
            pages["admin reviews, none"] = get(owner, "/admin/reviews")
            pages["admin review"] = get(owner, f"/admin/reviews/{review_id}")
            pages["admin review, delete"] = get(owner, f"/admin/reviews/{review_id}/delete")
            pages["admin reviews, bulk"] = post(
                owner, "/admin/reviews/bulk", {"action": "reject", "review": str(review_id)}
            )
            pages["admin review settings"] = get(owner, "/admin/reviews/settings")
            pages["admin review settings, mistakes"] = post(
                owner, "/admin/reviews/settings", {"request_days": "x"}, 400
            )
            pages["admin review import"] = get(owner, "/admin/reviews/import")
            upload = owner.post(
                "/admin/reviews/import",
                data={
                    "file": (
                        io.BytesIO(
                            b"Body,Rating,Author,Product Handle\nOk,9,Bo,"
                            + item.handle.encode()
                            + b"\n"
                        ),
                        "r.csv",
                    )
                },
                content_type="multipart/form-data",
            )
            pages["admin review import, problems"] = get(owner, upload.headers["Location"])
            clean = owner.post(
                "/admin/reviews/import",
                data={
                    "file": (
                        io.BytesIO(b"Body,Rating,Author,Product Handle\nOk,4,Bo," + handle + b"\n"),
                        "r.csv",
                    )
                },
                content_type="multipart/form-data",
            )
            pages["admin review import, dry run"] = get(owner, clean.headers["Location"])
            owner.post(clean.headers["Location"])  # queued: no worker runs here
            pages["admin review import, in progress"] = get(owner, clean.headers["Location"])
            with app.app_context(), tenant_context(tenant):
                send_email("a@example.com", "Themed", "Text", html="<!DOCTYPE html><p>Hi</p>")
            pages["admin outbox, an html email"] = get(owner, "/admin/outbox")
    assert re.search(r"Verified buyer", pages["base product, reviews"])
    messages = check_html(command, pages, tmp_path / "pages")
    assert_valid(messages, list(pages))
