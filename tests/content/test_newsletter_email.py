"""The storefront's newsletter form takes only addresses that can receive mail."""

from __future__ import annotations

from sqlalchemy import select

from saas.db import db
from saas.tenancy import tenant_context
from tenants.content.models import NewsletterSubscriber
from tests.email_cases import BAD_EMAILS, GOOD_EMAILS


def subscribers(app, tenant) -> set[str]:
    with app.app_context(), tenant_context(tenant):
        return set(db.session.scalars(select(NewsletterSubscriber.email)))


def test_newsletter_refuses_bad_addresses_with_the_message(
    app, make_tenant, shop_client, monkeypatch
):
    monkeypatch.setitem(app.config, "RATELIMIT_ENABLED", False)  # more tries than it allows
    tenant = make_tenant()
    shopper = shop_client(tenant)
    for raw, message in BAD_EMAILS:
        page = shopper.post("/newsletter", data={"email": raw})
        assert page.status_code == 400, raw
        assert message in page.text and 'role="alert"' in page.text, raw
    assert subscribers(app, tenant) == set()
    for raw, _stored in GOOD_EMAILS:
        page = shopper.post("/newsletter", data={"email": raw})
        assert page.status_code == 200 and "Thank you for subscribing" in page.text, raw
    assert subscribers(app, tenant) == {stored for _raw, stored in GOOD_EMAILS}
