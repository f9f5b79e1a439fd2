"""A new shop starts with a domestic flat rate for the merchant to review (issue 12)."""

from __future__ import annotations

from sqlalchemy import select

from saas.db import db
from saas.models import AuditEvent
from saas.tenancy import tenant_context
from tenants.settings.models import ShopSettings
from tenants.shipping import services as shipping
from tenants.shipping.defaults import can_deliver, default_rate_cents
from tenants.shipping.models import ShippingRate, ShippingZone
from tests.shipping.test_shipping_taxes import rate_form


def shipping_state(app, tenant) -> tuple[list[tuple], bool]:
    with app.app_context(), tenant_context(tenant):
        rates = [
            (z.name, z.countries, z.regions, r.name, r.kind, r.price_cents, r.free_over_cents)
            for z in db.session.scalars(select(ShippingZone).order_by(ShippingZone.id))
            for r in z.rates
        ]
        return rates, db.session.get(ShopSettings, 1).shipping_needs_review


def review_events(app, tenant) -> int:
    with app.app_context():
        return len(
            db.session.scalars(
                select(AuditEvent).where(
                    AuditEvent.tenant_id == tenant.id, AuditEvent.action == "shipping.reviewed"
                )
            ).all()
        )


def test_a_shop_awaiting_launch_starts_with_a_domestic_flat_rate_to_review(app, make_tenant):
    tenant = make_tenant(launched=False)
    rates, needs_review = shipping_state(app, tenant)
    assert rates == [("Domestic", ["US"], [], "Standard", "flat", 500, None)]
    assert needs_review is True
    # Shoppers in the US are offered it at checkout.
    with app.app_context(), tenant_context(tenant):
        settings = db.session.get(ShopSettings, 1)
        offered = shipping.options({"country": "US", "region": ""}, 1000, 0, settings)
        assert [(o.name, o.price_cents) for o in offered] == [("Standard", 500)]
        assert can_deliver(settings)


def test_a_shop_created_open_is_set_up_by_whoever_made_it(app, make_tenant):
    # The operator's `tenants create`, the demo and most tests make launched shops.
    assert shipping_state(app, make_tenant()) == ([], False)


def test_the_default_price_suits_currencies_without_cents():
    assert default_rate_cents("USD") == 500 and default_rate_cents("JPY") == 1000


def test_confirming_keeps_the_rate_and_ends_the_review(app, make_tenant, staff_client):
    tenant = make_tenant(launched=False)
    client = staff_client(tenant, permissions=["settings"])
    page = client.get("/admin/settings/shipping").text
    assert "Review your shipping rate" in page
    assert "To get you started we set up Standard, $5.00, to United States." in page
    done = client.post("/admin/settings/shipping/confirm", follow_redirects=True)
    assert "Shipping confirmed: shoppers can choose it at checkout." in done.text
    assert "Review your shipping rate" not in done.text
    rates, needs_review = shipping_state(app, tenant)
    assert len(rates) == 1 and needs_review is False
    again = client.post("/admin/settings/shipping/confirm", follow_redirects=True)
    assert "Your shipping was already confirmed." in again.text
    assert review_events(app, tenant) == 1


def test_editing_the_rate_counts_as_reviewing_it(app, make_tenant, staff_client):
    tenant = make_tenant(launched=False)
    with app.app_context(), tenant_context(tenant):
        rate_id = db.session.scalar(select(ShippingRate.id))
    client = staff_client(tenant, permissions=["settings"])
    # A refused form reviews nothing.
    bad = client.post(f"/admin/settings/shipping/rates/{rate_id}", data=rate_form(price="x"))
    assert bad.status_code == 400 and shipping_state(app, tenant)[1] is True
    client.post(f"/admin/settings/shipping/rates/{rate_id}", data=rate_form(price="7.50"))
    rates, needs_review = shipping_state(app, tenant)
    assert rates[0][5] == 750 and needs_review is False
    assert review_events(app, tenant) == 1


def test_turning_on_pickup_counts_as_reviewing(app, make_tenant, staff_client):
    tenant = make_tenant(launched=False)
    client = staff_client(tenant, permissions=["settings"])
    client.post(
        "/admin/settings/shipping/pickup",
        data={"local_pickup": "1", "pickup_instructions": "Counter, weekdays 9 to 5"},
    )
    assert shipping_state(app, tenant)[1] is False


def test_confirming_needs_the_settings_area(app, make_tenant, staff_client):
    tenant = make_tenant(launched=False)
    assert (
        staff_client(tenant, permissions=["orders"])
        .post("/admin/settings/shipping/confirm")
        .status_code
        == 403
    )
    assert shipping_state(app, tenant)[1] is True
