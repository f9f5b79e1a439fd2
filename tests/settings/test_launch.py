"""Launching waits until a shopper could really buy (issue 12), and the welcome email
says what is true of the shop."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from saas.db import db
from saas.models import AuditEvent, Tenant
from saas.tenancy import tenant_context
from tenants.catalog.products import create_product
from tenants.settings.launch import LaunchBlocked, launch_shop, missing_for_launch
from tenants.settings.models import ShopSettings
from tenants.settings.onboarding import welcome_text
from tenants.shipping.models import ShippingZone


def missing_keys(app, tenant) -> list[str]:
    with app.app_context(), tenant_context(tenant):
        return [m.key for m in missing_for_launch()]


def set_settings(app, tenant, **values) -> None:
    with app.app_context(), tenant_context(tenant):
        settings = db.session.get(ShopSettings, 1)
        for key, value in values.items():
            setattr(settings, key, value)


def test_a_new_shop_lacks_a_product_a_payment_method_and_a_shipping_review(app, make_tenant):
    tenant = make_tenant(launched=False)
    assert missing_keys(app, tenant) == ["product", "payments", "shipping_review"]
    with app.app_context(), tenant_context(tenant):
        messages = [m.message for m in missing_for_launch()]
    assert messages[0] == "Your shop has nothing to sell yet: add a product."
    assert "Standard, $5.00, to United States" in messages[2]


def test_each_fix_removes_its_item_until_nothing_is_missing(app, make_tenant):
    tenant = make_tenant(launched=False)
    with app.app_context(), tenant_context(tenant):
        create_product("Draft Mug", 1200, status="draft")
    assert missing_keys(app, tenant)[0] == "product"
    with app.app_context(), tenant_context(tenant):
        assert "make one active and in stock" in missing_for_launch()[0].message
        create_product("Sold Out Mug", 1200, inventory_quantity=0)
    assert "product" in missing_keys(app, tenant)
    with app.app_context(), tenant_context(tenant):
        create_product("Mug", 1200, inventory_quantity=3)
    assert missing_keys(app, tenant) == ["payments", "shipping_review"]
    set_settings(app, tenant, cash_on_delivery=True)
    assert missing_keys(app, tenant) == ["shipping_review"]
    set_settings(app, tenant, shipping_needs_review=False)
    assert missing_keys(app, tenant) == []


def test_no_zone_and_no_pickup_means_no_way_to_deliver(app, make_tenant):
    tenant = make_tenant(launched=False, products=[("Mug", 1200)])
    set_settings(app, tenant, bank_transfer=True, shipping_needs_review=False)
    with app.app_context(), tenant_context(tenant):
        for zone in db.session.scalars(select(ShippingZone)):
            db.session.delete(zone)
    assert missing_keys(app, tenant) == ["shipping"]
    # Local pickup alone is a way to deliver.
    set_settings(app, tenant, local_pickup=True, pickup_instructions="At the counter")
    assert missing_keys(app, tenant) == []


def test_launch_refuses_with_what_is_missing_and_changes_nothing(app, make_tenant):
    tenant = make_tenant(launched=False, products=[("Mug", 1200)])
    with pytest.raises(LaunchBlocked) as refused, app.app_context(), tenant_context(tenant):
        launch_shop()
    assert [m.key for m in refused.value.missing] == ["payments", "shipping_review"]
    set_settings(app, tenant, bank_transfer=True, shipping_needs_review=False)
    with app.app_context(), tenant_context(tenant):
        assert launch_shop() is True
        assert launch_shop() is False  # already live
    with app.app_context():
        assert db.session.get(Tenant, tenant.id).launched_at is not None
        actions = db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.tenant_id == tenant.id)
        ).all()
        assert actions.count("shop.launched") == 1


def test_welcome_email_says_coming_soon_until_launched():
    soon = welcome_text("Fern", "http://fern.test/", "http://fern.test/admin/", launched=False)
    assert "is live" not in soon
    assert "Until you launch it, visitors to http://fern.test/ see a “Coming soon” page." in soon
    assert "review your shipping rate, then launch your shop" in soon
    assert "http://fern.test/admin/" in soon
    live = welcome_text("Fern", "http://fern.test/", "http://fern.test/admin/", launched=True)
    assert "Your shop “Fern” is live at http://fern.test/" in live


def test_checklist_refusal_open_orders_and_review_pages_are_valid_html(
    app, make_tenant, staff_client, tmp_path
):
    from tests.orders.test_attention import ORDERS, add
    from tests.shop.test_html_valid import assert_valid, check_html, checker_command

    command = checker_command()
    tenant = make_tenant(launched=False, products=[("Mug", 1200)])
    add(app, tenant, *ORDERS)
    owner = staff_client(tenant, role="owner")
    refused = owner.post("/admin/launch")
    assert refused.status_code == 400
    pages = {
        "home, launch refused": refused.text,
        "home": owner.get("/admin/").text,
        "shipping, to review": owner.get("/admin/settings/shipping").text,
        "orders, to pay": owner.get("/admin/orders?payment=to_pay").text,
    }
    assert "Orders to handle" in pages["home"] and "Review your shipping rate" in pages["home"]
    assert_valid(check_html(command, pages, tmp_path), list(pages))
