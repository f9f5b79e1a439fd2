"""Sent email (the outbox): linked from Settings in development, where it is the mail
transport; no link and no page in production."""

from __future__ import annotations

from saas.db import db
from saas.mail import send_email
from saas.tenancy import tenant_context
from tests.chromium import playwright_api


def test_development_settings_link_to_sent_email(app, make_tenant, staff_client):
    tenant = make_tenant()
    client = staff_client(tenant, role="owner")
    settings = client.get("/admin/settings").text
    assert '<a href="/admin/outbox">Sent email</a>' in settings


def test_with_a_mail_server_the_outbox_is_not_advertised(
    app, make_tenant, staff_client, monkeypatch
):
    monkeypatch.setitem(app.config, "SMTP_URL", "smtp://mail.invalid:25")
    client = staff_client(make_tenant(), role="owner")
    assert "Sent email" not in client.get("/admin/settings").text


def test_production_has_no_outbox(app, make_tenant, staff_client, monkeypatch):
    tenant = make_tenant()
    with app.app_context(), tenant_context(tenant):
        send_email("owner@example.com", "Reset your password", "https://example/secret")
        db.session.commit()
    client = staff_client(tenant, role="owner")
    monkeypatch.setitem(app.config, "SAAS_ENV", "production")
    assert "Sent email" not in client.get("/admin/settings").text
    response = client.get("/admin/outbox")
    assert response.status_code == 404 and "Reset your password" not in response.text


def test_merchant_finds_sent_email_from_settings(app, page, live_server, make_tenant, make_staff):
    expect = playwright_api.expect
    tenant = make_tenant(name="Letter Box")
    owner = make_staff(tenant, role="owner")
    with app.app_context(), tenant_context(tenant):
        send_email(owner.email, "Welcome to Letter Box", "Hello!")
        db.session.commit()
    host = f"{tenant.slug}.localhost"
    page.goto(live_server.url(host, "/admin/login"))
    page.get_by_label("Email").fill(owner.email)
    page.get_by_label("Password").fill(owner.password)
    page.get_by_role("button", name="Log in").click()
    page.goto(live_server.url(host, "/admin/settings"))
    page.get_by_role("navigation", name="More settings").get_by_role(
        "link", name="Sent email"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sent email")
    expect(page.get_by_role("heading", name="Welcome to Letter Box")).to_be_visible()
