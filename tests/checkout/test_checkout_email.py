"""Checkout refuses what cannot receive the confirmation (`sam@example`, `sam@`...) next
to the Email field, and keeps a good address in the spelling accounts look up."""

from __future__ import annotations

import email_validator
from sqlalchemy import select

from saas.db import db
from saas.tenancy import tenant_context
from tenants.checkout.models import Cart
from tests.checkout.test_checkout import ADDRESS, add_to_cart, open_shop
from tests.email_cases import BAD_EMAILS, GOOD_EMAILS


def cart_email(app, tenant) -> str | None:
    with app.app_context(), tenant_context(tenant):
        return db.session.scalar(select(Cart.email))


def test_checkout_refuses_bad_addresses_by_the_field(app, make_tenant, shop_client):
    shop = make_tenant()
    add_to_cart(client := shop_client(shop), open_shop(app, shop))
    for raw, message in BAD_EMAILS:
        page = client.post("/checkout", data={**ADDRESS, "email": raw})
        assert page.status_code == 400, raw
        assert f'<span class="error" id="email-error">{message}</span>' in page.text, raw
        assert 'aria-describedby="email-error"' in page.text
        assert client.get("/checkout/shipping").location.endswith("/checkout")
    assert not cart_email(app, shop)
    for raw, stored in GOOD_EMAILS:
        assert client.post("/checkout", data={**ADDRESS, "email": raw}).status_code == 302, raw
        assert cart_email(app, shop) == stored


def test_checkout_asks_dns_only_when_configured(app, make_tenant, shop_client, monkeypatch):
    calls: list[bool] = []
    real = email_validator.validate_email

    def recording(email, **options):
        calls.append(options["check_deliverability"])
        return real(email, **{**options, "check_deliverability": False})

    monkeypatch.setattr(email_validator, "validate_email", recording)
    shop = make_tenant()
    add_to_cart(client := shop_client(shop), open_shop(app, shop))
    assert client.post("/checkout", data=ADDRESS).status_code == 302
    assert calls and not any(calls)
    calls.clear()
    monkeypatch.setitem(app.config, "EMAIL_CHECK_DELIVERABILITY", True)
    assert client.post("/checkout", data=ADDRESS).status_code == 302
    assert True in calls
