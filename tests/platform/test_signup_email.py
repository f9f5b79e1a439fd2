"""Platform signup refuses an owner's address that cannot receive the welcome email, and
the owner logs in with the address however they type it."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from saas.db import db
from saas.models import Tenant
from saas.tenancy import tenant_context
from tenants.staff.models import Staff
from tests.email_cases import BAD_EMAILS
from tests.platform.test_signup import form, tenant_count


def test_signup_refuses_bad_addresses_by_the_field(app, platform_client):
    before = tenant_count(app)
    for raw, message in BAD_EMAILS:
        page = platform_client.post("/signup", data=form(email=raw, email_confirm=raw))
        assert page.status_code == 400, raw
        text = page.get_data(as_text=True)
        assert message in text and 'id="email-error"' in text, raw
    assert tenant_count(app) == before


def test_signup_stores_the_address_as_accounts_look_it_up(app, platform_client):
    slug = f"mail{uuid.uuid4().hex[:8]}"
    typed = f"  Fern.{slug}+Shop@Example.COM "
    stored = f"fern.{slug}+shop@example.com"
    data = form(slug=slug, email=typed, email_confirm=stored.upper())
    assert platform_client.post("/signup", data=data).status_code == 303
    with app.app_context():
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
        assert tenant.owner_email == stored
        with tenant_context(tenant):
            assert db.session.scalar(select(Staff.email)) == stored
