"""The demo shops come with a few reviews, one of them waiting in the queue."""

from __future__ import annotations

from sqlalchemy import select

from saas.db import db
from saas.models import Tenant
from saas.tenancy import tenant_context
from tenants.reviews.models import Review
from tests.core.test_cli import run


def test_demo_shops_have_reviews_and_seeding_again_adds_none(app, shop_client):
    assert run(app, "demo").exit_code == 0
    assert run(app, "demo").exit_code == 0
    with app.app_context():
        acme = db.session.scalar(select(Tenant).where(Tenant.slug == "acme"))
        with tenant_context(acme):
            statuses = sorted(db.session.scalars(select(Review.status)))
    assert statuses == ["pending", "published", "published", "published"]
    page = shop_client("acme.localhost").get("/collections/all").text
    assert "out of 5" in page
